"""Challenges: what the user must do in one attempt, drawn from a CSPRNG and consumed once."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

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
    if mode in ("light", "flash"):
        return mode, _light_sequence(start_ms=2000 if mode == "flash" else 300)
    return "none", {}


# Saturated screen colours (#RRGGBB); consecutive colours always differ, so every change is a step.
LIGHT_PALETTE = ("#FF0000", "#00FF00", "#0000FF", "#FFFF00", "#FF00FF", "#00FFFF", "#FFFFFF")
LIGHT_COLOURS = 7


def _light_sequence(start_ms: int) -> dict[str, Any]:
    """A fresh colour sequence for light (reflect) and flash modes: 7 colours of 300-599 ms each
    from a CSPRNG, starting ``start_ms`` after recording starts (flash: time to blink first)."""
    colours: list[str] = []
    for _ in range(LIGHT_COLOURS):
        pool = [c for c in LIGHT_PALETTE if not colours or c != colours[-1]]
        colours.append(pool[secrets.randbelow(len(pool))])
    durations = [300 + secrets.randbelow(300) for _ in colours]
    return {"colours": colours, "durations_ms": durations, "start_ms": start_ms}


def current(session: Session, flow: Flow) -> Challenge | None:
    return session.scalar(
        select(Challenge)
        .where(Challenge.biz_token == flow.biz_token, Challenge.consumed_at.is_(None))
        .order_by(Challenge.issued_at.desc())
        .limit(1)
    )


# Test-only: a fixed action order, so a browser test's prerecorded clip can answer it. It lives in the
# session factory's ``info`` of one app, put there only by ``create_app(..., testing=...)``: no setting or
# environment variable reaches it, so a production process always draws from the CSPRNG.
FIXED_ACTIONS_KEY = "wxflow.testing.fixed_actions"


def fix_actions_for_tests(sessions: sessionmaker[Session], actions: Sequence[int]) -> None:
    fixed = [int(a) for a in actions]
    if len(fixed) != ACTIONS_PER_CHALLENGE or len(set(fixed)) != len(fixed) or not set(fixed) <= set(ISSUED_ACTIONS):
        raise ValueError(f"a fixed action sequence is {ACTIONS_PER_CHALLENGE} distinct actions of {ISSUED_ACTIONS}")
    sessions.configure(info={FIXED_ACTIONS_KEY: fixed})


def issue(session: Session, flow: Flow, now: datetime) -> Challenge:
    kind, value = draw(flow.liveness_mode)
    fixed = session.info.get(FIXED_ACTIONS_KEY)
    if kind == "action" and fixed:
        value = {"actions": list(fixed)}
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
    elif challenge.kind in ("light", "flash"):
        # The device must play exactly this: colours, their durations and the start offset.
        view.update(
            colours=list(challenge.value["colours"]),
            durations_ms=list(challenge.value["durations_ms"]),
            start_ms=int(challenge.value["start_ms"]),
        )
    return view
