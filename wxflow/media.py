"""Encrypted media store: videos, best frames and compare photos, AES-GCM sealed on disk."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from wxflow.crypto import Sealer


class MediaStore:
    def __init__(self, root: Path, sealer: Sealer) -> None:
        self.root = root
        self._sealer = sealer

    def _path(self, media_id: str) -> Path:
        if not media_id or not all(c in "0123456789abcdef-" for c in media_id):
            raise ValueError("malformed media id")
        return self.root / media_id[:2] / f"{media_id}.bin"

    def put(self, data: bytes) -> str:
        media_id = str(uuid.uuid4())
        path = self._path(media_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        # The id is the associated data, so a file swapped on disk for another fails to open.
        tmp.write_bytes(self._sealer.seal(data, aad=media_id))
        os.replace(tmp, path)
        return media_id

    def get(self, media_id: str) -> bytes:
        return self._sealer.open(self._path(media_id).read_bytes(), aad=media_id)

    def exists(self, media_id: str) -> bool:
        return self._path(media_id).exists()

    def delete(self, media_id: str) -> None:
        self._path(media_id).unlink(missing_ok=True)
