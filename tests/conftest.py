"""Shared fixtures: real Redis, SQLite and PostgreSQL, real models, real HTTP.

Every app-level test runs once per database backend. Each backend gets its own var dir (master key,
media), database and RQ queue prefix, so a worker subprocess started for it sees only its jobs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.data import model_dir
from wxflow.app import create_app
from wxflow.clock import Clock
from wxflow.config import Config
from wxflow.db import Database
from wxflow.services import merchants

REDIS_URL = os.environ.get("WXFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
PG_ADMIN_URL = os.environ.get("WXFLOW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    # Under CI a missing service is a broken setup, not a reason to pass quietly.
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class Backend:
    name: str
    database_url: str
    var_dir: Path
    queue_prefix: str
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """The same settings as environment variables, for worker subprocesses."""
        from wxflow.config import SETTINGS

        env = {SETTINGS[k].env: str(v) for k, v in self.overrides.items() if k in SETTINGS}
        env["WXFLOW_LOG_LEVEL"] = "INFO"
        return env


def _create_pg_database() -> tuple[str, str]:
    import psycopg2
    from sqlalchemy.engine import make_url

    admin = make_url(PG_ADMIN_URL)
    name = f"wxflow_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = psycopg2.connect(
            host=admin.host, port=admin.port, user=admin.username, dbname=admin.database, connect_timeout=5
        )
    except psycopg2.OperationalError as exc:
        _unavailable(f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {exc}")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return name, str(admin.set(database=name).render_as_string(hide_password=False))


def _drop_pg_database(name: str) -> None:
    import psycopg2
    from sqlalchemy.engine import make_url

    admin = make_url(PG_ADMIN_URL)
    conn = psycopg2.connect(host=admin.host, port=admin.port, user=admin.username, dbname=admin.database)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis at {REDIS_URL} is unreachable: {exc}")
    return REDIS_URL


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[Backend]:
    var_dir = tmp_path_factory.mktemp(f"var-{request.param}")
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite:///{var_dir / 'wxflow.db'}"
    else:
        pg_name, url = _create_pg_database()
    database = Database(url)
    database.upgrade()
    database.dispose()
    prefix = f"wxtest-{uuid.uuid4().hex[:8]}"
    overrides: dict[str, Any] = dict(
        var_dir=str(var_dir),
        database_url=url,
        redis_url=redis_url,
        model_dir=str(model_dir()),
        queue_prefix=prefix,
        public_url="http://testserver",
        maintenance_interval=1,
        webhook_backoff=1,
        webhook_backoff_max=2,
        webhook_timeout=3,
        job_retries=1,
    )
    yield Backend(request.param, url, var_dir, prefix, overrides)
    if pg_name:
        _drop_pg_database(pg_name)


@pytest.fixture(scope="session")
def engines() -> Any:
    """The real models, loaded once for the whole test session."""
    from models.loader import load_engines

    return load_engines(model_dir(), threads=2)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(backend: Backend, clock: Clock, request: pytest.FixtureRequest) -> Iterator[Any]:
    overrides = dict(backend.overrides)
    if "worker" not in request.fixturenames:
        # Without a worker in the test, jobs go to a queue no worker reads, so the test judges in-process.
        overrides["queue_prefix"] = f"{backend.queue_prefix}-inproc"
    config = Config.from_env({}, **overrides)
    application = create_app(config, clock=clock)
    ctx = application.extensions["wxflow"]
    # Reuse the session's models instead of loading them again for every app.
    ctx.engines = lambda: request.getfixturevalue("engines")
    yield application
    ctx.close()


@pytest.fixture
def ctx(app: Any) -> Any:
    return app.extensions["wxflow"]


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def merchant(ctx: Any) -> merchants.MerchantCredentials:
    return merchants.create_merchant(ctx, f"merchant-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def make_rule(ctx: Any, merchant: merchants.MerchantCredentials) -> Any:
    def _make(**options: Any) -> str:
        params: dict[str, Any] = dict(
            merchant_secret_id=merchant.SecretId,
            liveness="silent",
            compare="none",
            redirect_prefixes=["https://merchant.example/"],
        )
        params.update(options)
        return merchants.create_rule(ctx, **params)

    return _make


@pytest.fixture(scope="session")
def worker(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real RQ worker subprocess (`flask worker`) on this backend's database, Redis queues and keys."""
    from rq import Worker

    from tests.support.servers import WorkerProcess, wait_until

    log_path = tmp_path_factory.mktemp("worker") / f"worker-{backend.name}.log"
    proc = WorkerProcess(backend.env, log_path=log_path)
    conn = redis.Redis.from_url(REDIS_URL)

    def registered() -> bool:
        return any(q.startswith(backend.queue_prefix) for w in Worker.all(connection=conn) for q in w.queue_names())

    if not wait_until(lambda: registered() or not proc.alive, timeout=120, interval=0.5) or not proc.alive:
        text = proc.log_text()
        proc.stop()
        pytest.fail(f"the worker did not start:\n{text[-4000:]}")
    yield proc
    proc.stop()
