"""What the services need, built once per process by the app factory or the worker."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event

from wxflow.clock import Clock
from wxflow.config import Config
from wxflow.crypto import Keyring, Sealer, load_or_create_master_key
from wxflow.db import Database
from wxflow.media import MediaStore
from wxflow.queue import JobQueue


@dataclass
class ServiceContext:
    config: Config
    db: Database
    keyring: Keyring
    clock: Clock
    media: MediaStore
    queue: JobQueue
    _engines: Any = field(default=None, repr=False)
    _engines_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def secrets(self) -> Sealer:
        return self.keyring.sealer("wxflow/secrets/v1")

    @property
    def biometrics(self) -> Sealer:
        return self.keyring.sealer("wxflow/biometrics/v1")

    def engines(self) -> Any:
        """The ML models, loaded once per process on first use (workers call this before their loop)."""
        if self._engines is None:
            with self._engines_lock:
                if self._engines is None:
                    from models.loader import load_engines

                    self._engines = load_engines(
                        self.config.model_dir, threads=self.config.ort_threads, recogniser=self.config.recogniser
                    )
        return self._engines

    def close(self) -> None:
        self.db.dispose()


def build_context(config: Config, clock: Clock | None = None) -> ServiceContext:
    from wxflow.services import webhooks

    keyring = Keyring(load_or_create_master_key(config.master_key_file))
    ctx = ServiceContext(
        config=config,
        db=Database(config.database_url),
        keyring=keyring,
        clock=clock or Clock(),
        media=MediaStore(config.media_dir, keyring.sealer("wxflow/media/v1")),
        queue=JobQueue(config),
    )
    event.listen(ctx.db.sessions, "after_commit", lambda session: webhooks.enqueue_after_commit(ctx, session))
    event.listen(ctx.db.sessions, "after_rollback", lambda session: session.info.pop("outbox", None))
    return ctx
