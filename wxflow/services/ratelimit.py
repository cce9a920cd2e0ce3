"""Per-merchant request rate limits, answered as RequestLimitExceeded (the SDK backs off on that code)."""

from __future__ import annotations

import logging

from redis import RedisError

from wxflow.errors import ServiceError
from wxflow.services.context import ServiceContext

log = logging.getLogger(__name__)


def check(ctx: ServiceContext, secret_id: str) -> None:
    limit = ctx.config.rate_limit
    if limit <= 0:
        return
    second = int(ctx.clock.timestamp())
    key = f"{ctx.config.queue_prefix}:ratelimit:{secret_id}:{second}"
    try:
        pipe = ctx.queue.connection.pipeline()
        pipe.incr(key)
        pipe.expire(key, 5)
        count = pipe.execute()[0]
    except RedisError:
        # Fail open: a Redis outage must not take the verification API down with it.
        log.warning("rate limiter unavailable; request allowed")
        return
    if count > limit:
        raise ServiceError("RequestLimitExceeded", f"more than {limit} requests per second")
