"""Challenges: what the user must do in one attempt, drawn from a CSPRNG and consumed once."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wxflow.db.models import Challenge, Flow

ACTION_NAMES = {1: "open_mouth", 2: "blink", 3: "nod", 4: "shake"}
# Actions the liveness engine judges today; nod and shake join when the engine does.
ISSUED_ACTIONS = (1, 2)
ACTIONS_PER_CHALLENGE = 2


def draw(mode: str) -> tuple[str, dict[str, Any]]:
    """A fresh challenge for ``mode``: (kind, value)."""
    if mode == "action":
        pool = list(ISSUED_ACTIONS)
        actions = [pool.pop(secrets.randbelow(len(pool))) for _ in range(min(ACTIONS_PER_CHALLENGE, len(pool)))]
        return "action", {"actions": actions}
    if mode == "digit":
        return "digit", {"code": "".join(str(secrets.randbelow(10)) for _ in range(4))}
    return "none", {}


def current(session: Session, flow: Flow) -> Challenge | None:
    return session.scalar(
        select(Challenge)
        .where(Challenge.biz_token == flow.biz_token, Challenge.consumed_at.is_(None))
        .order_by(Challenge.issued_at.desc())
        .limit(1)
    )


def issue(session: Session, flow: Flow, now: datetime) -> Challenge:
    kind, value = draw(flow.liveness_mode)
    challenge = Challenge(id=str(uuid.uuid4()), biz_token=flow.biz_token, kind=kind, value=value, issued_at=now)
    session.add(challenge)
    session.flush()
    return challenge


def current_or_issue(session: Session, flow: Flow, now: datetime) -> Challenge:
    return current(session, flow) or issue(session, flow, now)


def public_view(challenge: Challenge) -> dict[str, Any]:
    """What the device is shown; it never carries anything the server judges with beyond the task."""
    view: dict[str, Any] = {"id": challenge.id, "kind": challenge.kind}
    if challenge.kind == "action":
        actions = list(challenge.value["actions"])
        view.update(
            actions=actions, action_names=[ACTION_NAMES[a] for a in actions], sequence=",".join(str(a) for a in actions)
        )
    elif challenge.kind == "digit":
        view["code"] = challenge.value["code"]
    return view
