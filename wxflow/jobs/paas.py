"""Judge one synchronous PaaS request (the web process is waiting for it)."""

from __future__ import annotations

from rq import get_current_job

from wxflow.jobs.runtime import context
from wxflow.logs import bound
from wxflow.services import paas


def judge_paas_request(request_id: str) -> str:
    job = get_current_job()
    with bound(request_id=f"job:{job.id if job else request_id}"):
        return paas.judge(context(), request_id)
