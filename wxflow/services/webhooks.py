"""Merchant webhooks: an outbox row written with the flow's end, delivered with signed retries."""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from wxflow.clock import as_utc
from wxflow.crypto import webhook_signature
from wxflow.db.models import Flow, Merchant, Rule, WebhookDelivery, WebhookOutbox

if TYPE_CHECKING:
    from wxflow.services.context import ServiceContext

log = logging.getLogger(__name__)

EVENTS = {"passed": "flow.passed", "failed": "flow.failed", "expired": "flow.expired"}


def record_final(ctx: ServiceContext, session: Session, flow: Flow) -> WebhookOutbox | None:
    """Queue the end-of-flow webhook in the caller's transaction (no-op when the rule has no callback)."""
    rule = session.get(Rule, flow.rule_id) if flow.rule_id else None
    if rule is None or not rule.callback_url:
        return None
    payload = {
        "Event": EVENTS[flow.state],
        "BizToken": flow.biz_token,
        "RuleId": flow.rule_id,
        "ErrCode": flow.err_code,
        "ErrMsg": flow.err_msg,
        "Sim": None if flow.sim is None else f"{flow.sim:.2f}",
        "LiveStatus": flow.live_status,
        "Comparestatus": flow.compare_status,
        "Extra": flow.extra,
        "FinishedAt": as_utc(flow.finished_at).isoformat() if flow.finished_at else None,
    }
    row = WebhookOutbox(
        id=str(uuid.uuid4()),
        biz_token=flow.biz_token,
        merchant_id=flow.merchant_id,
        url=rule.callback_url,
        payload=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        status="pending",
        attempts=0,
        next_attempt_at=ctx.clock.now(),
        created_at=ctx.clock.now(),
    )
    session.add(row)
    # Handed to the queue only once the transaction commits (see ``enqueue_after_commit``).
    session.info.setdefault("outbox", []).append((row.id, row.biz_token))
    return row


def enqueue_after_commit(ctx: ServiceContext, session: Session) -> None:
    """Session hook: enqueue the deliveries a committed transaction wrote.

    If Redis is unreachable here the rows stay pending and the maintenance sweep enqueues them.
    """
    for outbox_id, biz_token in session.info.pop("outbox", []):
        try:
            ctx.queue.enqueue_webhook(outbox_id, biz_token, 1)
        except Exception:  # the sweep is the safety net; the flow's end is already durable
            log.exception("could not enqueue webhook %s; the sweep will retry", outbox_id)


def next_delay(ctx: ServiceContext, tries_done: int) -> float:
    return float(min(ctx.config.webhook_backoff * 2 ** max(tries_done - 1, 0), ctx.config.webhook_backoff_max))


def deliver(ctx: ServiceContext, outbox_id: str) -> float | None:
    """Try one delivery. Returns the delay before the next try, or None when done or given up."""
    from wxflow.services.merchants import webhook_secret

    with ctx.db.session() as s:
        row = s.get(WebhookOutbox, outbox_id, with_for_update=True)
        if row is None or row.status != "pending":
            return None
        merchant = s.get(Merchant, row.merchant_id)
        assert merchant is not None
        secret = webhook_secret(ctx, merchant)
        url, body = row.url, row.payload.encode()
    started = time.monotonic()
    status_code: int | None = None
    error: str | None = None
    now_ts = int(ctx.clock.timestamp())
    try:
        response = requests.post(
            url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "wxflow-webhook/1",
                "X-Wxflow-Delivery": outbox_id,
                "X-Wxflow-Signature": webhook_signature(secret, now_ts, body),
            },
            timeout=ctx.config.webhook_timeout,
            allow_redirects=False,
        )
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except requests.RequestException as exc:
        error = type(exc).__name__
    duration_ms = int((time.monotonic() - started) * 1000)
    with ctx.db.session() as s:
        row = s.get(WebhookOutbox, outbox_id, with_for_update=True)
        assert row is not None
        now = ctx.clock.now()
        row.attempts += 1
        s.add(
            WebhookDelivery(
                outbox_id=outbox_id, attempted_at=now, status_code=status_code, error=error, duration_ms=duration_ms
            )
        )
        if error is None:
            row.status, row.delivered_at, row.next_attempt_at = "delivered", now, None
            log.info("webhook %s delivered on try %d", outbox_id, row.attempts)
            return None
        delay = next_delay(ctx, row.attempts)
        if now + timedelta(seconds=delay) > as_utc(row.created_at) + timedelta(seconds=ctx.config.webhook_retry_window):
            row.status, row.next_attempt_at = "gave_up", None
            log.warning("webhook %s gave up after %d tries (%s)", outbox_id, row.attempts, error)
            return None
        row.next_attempt_at = now + timedelta(seconds=delay)
        log.info("webhook %s try %d failed (%s); next in %.0f s", outbox_id, row.attempts, error, delay)
        return delay


def sweep(ctx: ServiceContext) -> int:
    """Re-enqueue pending deliveries that are due and have no job (lost after a crash or a Redis loss)."""
    count = 0
    with ctx.db.session() as s:
        rows = s.scalars(
            select(WebhookOutbox).where(
                WebhookOutbox.status == "pending", WebhookOutbox.next_attempt_at <= ctx.clock.now()
            )
        ).all()
        for row in rows:
            if not ctx.queue.job_exists(f"webhook-{row.id}-{row.attempts + 1}"):
                ctx.queue.enqueue_webhook(row.id, row.biz_token, row.attempts + 1)
                count += 1
    return count
