"""Time-driven ends: flows that ran out of time, and biometric data past its retention."""

from __future__ import annotations

import logging

from sqlalchemy import select

from wxflow.db.models import Attempt, Flow, PaasChallenge, PaasRequest
from wxflow.services import flows
from wxflow.services.context import ServiceContext

log = logging.getLogger(__name__)


def expire_due(ctx: ServiceContext, limit: int = 500) -> int:
    with ctx.db.session() as s:
        due = s.scalars(
            select(Flow)
            .where(Flow.state.not_in(flows.FINAL_STATES), Flow.expires_at <= ctx.clock.now())
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for flow in due:
            flows.expire_if_due(ctx, s, flow)
        return len(due)


def purge_due(ctx: ServiceContext, limit: int = 500) -> int:
    """Delete media and biometric fields whose retention ended; keep a minimal audit row."""
    with ctx.db.session() as s:
        due = s.scalars(
            select(Flow)
            .where(Flow.purge_at <= ctx.clock.now(), Flow.purged_at.is_(None))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for flow in due:
            # The ID card's pictures (original, deskewed, portrait crop) go with the face media.
            media = [flow.reference_media, *(flow.card_media or {}).values()]
            for attempt in s.scalars(select(Attempt).where(Attempt.biz_token == flow.biz_token)):
                media.append(attempt.video_media)
                media.extend(attempt.best_frame_media or [])
                attempt.video_media = None
                attempt.best_frame_media = None
                attempt.details = None
            for media_id in filter(None, media):
                ctx.media.delete(media_id)
            flow.reference_media = None
            flow.reference_embedding_sealed = None
            flow.identity_sealed = None
            flow.ocr_sealed = None
            flow.card_media = None
            flow.extra = None
            flow.purged_at = ctx.clock.now()
        if due:
            log.info("purged biometric data of %d flows", len(due))
        return len(due)


def requeue_lost_attempts(ctx: ServiceContext, older_than_seconds: int = 120) -> int:
    """Attempts whose job vanished (Redis lost, enqueue failed after commit) are enqueued again."""
    from datetime import timedelta

    cutoff = ctx.clock.now() - timedelta(seconds=older_than_seconds)
    count = 0
    with ctx.db.session() as s:
        rows = s.scalars(select(Attempt).where(Attempt.state == "queued", Attempt.created_at <= cutoff)).all()
        for attempt in rows:
            if not ctx.queue.job_exists(f"judge-{attempt.id}"):
                ctx.queue.enqueue_judge(attempt.id, attempt.biz_token)
                count += 1
    return count


def purge_paas(ctx: ServiceContext, limit: int = 500) -> int:
    """PaaS requests keep their media for the retention period too; used or stale challenges go."""
    now = ctx.clock.now()
    with ctx.db.session() as s:
        due = s.scalars(
            select(PaasRequest).where(PaasRequest.purge_at <= now).limit(limit).with_for_update(skip_locked=True)
        ).all()
        for row in due:
            for media_id in filter(None, [row.video_media, row.image_media, *(row.best_frame_media or [])]):
                ctx.media.delete(media_id)
            s.delete(row)
        s.execute(PaasChallenge.__table__.delete().where(PaasChallenge.expires_at <= now))
        return len(due)
