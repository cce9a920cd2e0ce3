"""The periodic sweep: expire flows, purge retained data, recover lost jobs, then schedule the next."""

from __future__ import annotations

import logging

from wxflow.jobs.runtime import context
from wxflow.logs import bound
from wxflow.services import retention, webhooks

log = logging.getLogger(__name__)


def run_maintenance(slot: int) -> int:
    ctx = context()
    with bound(request_id=f"maintenance:{slot}"):
        try:
            expired = retention.expire_due(ctx)
            purged = retention.purge_due(ctx) + retention.purge_paas(ctx)
            requeued = retention.requeue_lost_attempts(ctx)
            swept = webhooks.sweep(ctx)
            if expired or purged or requeued or swept:
                log.info("maintenance: expired=%d purged=%d requeued=%d webhooks=%d", expired, purged, requeued, swept)
        finally:
            schedule_next(slot)
    return slot


def schedule_next(after_slot: int | None = None) -> None:
    """Keep exactly one sweep scheduled per interval slot; several workers collapse onto one job id."""
    ctx = context()
    interval = max(ctx.config.maintenance_interval, 1)
    current = int(ctx.clock.timestamp() // interval)
    slot = max(current + 1, (after_slot or 0) + 1)
    ctx.queue.enqueue_maintenance(slot, delay=max(slot * interval - ctx.clock.timestamp(), 0))
