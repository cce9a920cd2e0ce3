"""Deliver one webhook try; schedule the next on failure."""

from __future__ import annotations

from rq import get_current_job

from wxflow.jobs.runtime import context
from wxflow.logs import bound
from wxflow.services import webhooks


def deliver_webhook(outbox_id: str) -> str:
    ctx = context()
    job = get_current_job()
    meta = job.meta if job else {}
    with bound(biz_token=meta.get("biz_token", "-"), request_id=f"job:{job.id if job else outbox_id}"):
        delay = webhooks.deliver(ctx, outbox_id)
        if delay is not None:
            # A receiver that is down is not a crash: the job succeeds and the next try is scheduled.
            ctx.queue.enqueue_webhook(outbox_id, meta.get("biz_token", "-"), int(meta.get("try", 1)) + 1, delay)
    return outbox_id
