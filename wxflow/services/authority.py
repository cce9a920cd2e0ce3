"""The authority source of reference identities.

Until the identity issue brings pluggable providers, the authority is a local registry in the
service's own database that an operator fills from a CSV and a photo folder. Records are looked up by
an HMAC of the ID number; the number, name, photo and embedding are sealed.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from wxflow.db.models import AuthorityRecord
from wxflow.errors import ServiceError
from wxflow.services.context import ServiceContext
from wxflow.services.idformat import id_card_valid, name_valid


def lookup_key(ctx: ServiceContext, id_card: str) -> str:
    return hmac.new(ctx.keyring.derive("wxflow/authority-lookup/v1"), id_card.encode(), hashlib.sha256).hexdigest()


def seal_embedding(ctx: ServiceContext, embedding: np.ndarray, aad: str) -> str:
    return ctx.biometrics.seal_text(base64.b64encode(embedding.astype(np.float32).tobytes()).decode(), aad=aad)


def open_embedding(ctx: ServiceContext, sealed: str, aad: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(ctx.biometrics.open_text(sealed, aad=aad)), dtype=np.float32)


def check_identity_format(id_card: str | None, name: str | None) -> None:
    if not id_card or not id_card_valid(id_card):
        raise ServiceError("FailedOperation.IdFormatError", "IdCard is not a valid 18-character ID number")
    if not name or not name_valid(name):
        raise ServiceError("FailedOperation.NameFormatError", "Name is not a valid name")


@dataclass(frozen=True)
class AuthorityMatch:
    embedding: np.ndarray
    lookup_key: str


class AuthorityMismatch(ServiceError):
    """No usable record: ``compare_status`` is the SaaS compare code (2005-2007)."""

    def __init__(self, code: str, message: str, compare_status: int) -> None:
        super().__init__(code, message)
        self.compare_status = compare_status


def reference_for(ctx: ServiceContext, session: Session, id_card: str, name: str) -> AuthorityMatch:
    """The reference embedding the authority holds for this person, or the spec's reason why not."""
    key = lookup_key(ctx, id_card)
    record = session.scalar(select(AuthorityRecord).where(AuthorityRecord.lookup_key == key))
    if record is None:
        raise AuthorityMismatch("FailedOperation.IdNoExistSystem", "no identity record for this ID number", 2005)
    if not hmac.compare_digest(ctx.biometrics.open_text(record.name_sealed, aad=key).encode(), name.encode()):
        raise AuthorityMismatch("FailedOperation.IdNameMisMatch", "the name does not match the ID number", 2006)
    if not record.embedding_sealed:
        raise AuthorityMismatch("FailedOperation.IdPhotoNoExist", "the identity record has no photo", 2007)
    return AuthorityMatch(open_embedding(ctx, record.embedding_sealed, aad=key), key)


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"added": self.added, "updated": self.updated, "errors": self.errors}


def import_csv(ctx: ServiceContext, csv_path: Path, photo_dir: Path | None = None) -> ImportReport:
    """Add or update records from a CSV with columns ``id_card,name[,photo]`` (photo: a file in photo_dir).

    Bad rows are reported with their line number and reason; good rows are imported regardless.
    """
    from wxflow.vision.errors import VisionError
    from wxflow.vision.face import reference_embedding
    from wxflow.vision.image import decode_image

    report = ImportReport()
    seen: set[str] = set()
    with csv_path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    for line, row in enumerate(rows, start=2):
        id_card = (row.get("id_card") or "").strip().upper()
        name = (row.get("name") or "").strip()
        photo_name = (row.get("photo") or "").strip()
        try:
            check_identity_format(id_card, name)
        except ServiceError as exc:
            report.errors.append({"line": line, "reason": exc.code})
            continue
        if id_card in seen:
            report.errors.append({"line": line, "reason": "duplicate ID number in this file"})
            continue
        seen.add(id_card)
        photo = embedding = None
        if photo_name:
            path = (photo_dir or csv_path.parent) / photo_name
            try:
                photo = path.read_bytes()
                embedding = reference_embedding(decode_image(photo, ctx.config.max_image_bytes), ctx.engines())
            except OSError:
                report.errors.append({"line": line, "reason": f"photo {photo_name} not found"})
                continue
            except VisionError as exc:
                report.errors.append({"line": line, "reason": exc.result})
                continue
        key = lookup_key(ctx, id_card)
        now = ctx.clock.now()
        with ctx.db.session() as s:
            record = s.scalar(select(AuthorityRecord).where(AuthorityRecord.lookup_key == key))
            if record is None:
                record = AuthorityRecord(lookup_key=key, created_at=now)
                s.add(record)
                report.added += 1
            else:
                if record.photo_media:
                    ctx.media.delete(record.photo_media)
                report.updated += 1
            record.id_card_sealed = ctx.biometrics.seal_text(id_card, aad=key)
            record.name_sealed = ctx.biometrics.seal_text(name, aad=key)
            record.photo_media = ctx.media.put(photo) if photo else None
            record.embedding_sealed = seal_embedding(ctx, embedding, key) if embedding is not None else None
            record.updated_at = now
    return report


def describe(report: ImportReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False)
