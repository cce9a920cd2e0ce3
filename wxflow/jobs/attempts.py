"""Judge one attempt."""

from __future__ import annotations

from rq import get_current_job

from wxflow.jobs.runtime import context
from wxflow.logs import bound
from wxflow.services import verification


def judge_attempt(attempt_id: str) -> str:
    ctx = context()
    job = get_current_job()
    biz_token = (job.meta.get("biz_token") if job else None) or "-"
    with bound(biz_token=biz_token, request_id=f"job:{job.id if job else attempt_id}"):
        try:
            return verification.judge_attempt(ctx, attempt_id)
        except Exception as exc:
            # Only crashes get here. While RQ still has retries, leave the attempt for the next run;
            # on the last one, record a system error so the user is never told they are a spoof.
            if job is not None and (job.retries_left or 0) > 0:
                verification.mark_requeued(ctx, attempt_id)
            else:
                verification.record_crash(ctx, attempt_id, exc)
            raise
