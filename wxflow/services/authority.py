"""The local registry: reference identities, bank cards and phone numbers an operator imports.

It is one of the authority providers (``wxflow.services.providers``); face compares read reference
embeddings from it. Rows are looked up by an HMAC of the ID number / card number / phone number; the
numbers, names, photo and embedding are sealed with the row's lookup key as associated data.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from wxflow.db.models import AuthorityBankCard, AuthorityPhone, AuthorityRecord, IdentityCheck
from wxflow.errors import ServiceError
from wxflow.services.context import ServiceContext
from wxflow.services.idformat import (
    bank_card_info,
    id_card_valid,
    luhn_valid,
    name_valid,
    normalise_name,
    parse_id_card,
    phone_info,
)

IDENTITY_STATUSES = ("valid", "expired", "cancelled", "dead", "invalid")
CARD_STATES = ("normal", "lost", "expired", "confiscated", "dormant", "restricted", "no_cardless", "cheat")


def lookup_key(ctx: ServiceContext, id_card: str) -> str:
    return hmac.new(ctx.keyring.derive("wxflow/authority-lookup/v1"), id_card.encode(), hashlib.sha256).hexdigest()


def _hmac(ctx: ServiceContext, purpose: str, value: str) -> str:
    return hmac.new(ctx.keyring.derive(purpose), value.encode(), hashlib.sha256).hexdigest()


def bank_card_key(ctx: ServiceContext, card: str) -> str:
    return _hmac(ctx, "wxflow/authority-bankcard/v1", card)


def phone_key(ctx: ServiceContext, phone: str) -> str:
    return _hmac(ctx, "wxflow/authority-phone/v1", phone)


def phone_digest_key(ctx: ServiceContext, algorithm: str, hex_digest: str) -> str:
    """Lookup key of a phone number given as md5/sha256/sm3 hex (EncryptedPhoneVerification)."""
    return _hmac(ctx, "wxflow/authority-phone-digest/v1", f"{algorithm}:{hex_digest.lower()}")


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
    """The reference embedding the authority holds for this person, or the spec's reason why not.

    The local registry keeps embeddings computed at import; a licensed HTTP provider returns the ID
    photo, which is embedded here. An outage is CompareFail with 2001 (busy) or 2017 (upgrading),
    never a mismatch.
    """
    if ctx.config.authority_provider == "http":
        return _reference_from_provider(ctx, id_card, name)
    key = lookup_key(ctx, id_card)
    record = session.scalar(select(AuthorityRecord).where(AuthorityRecord.lookup_key == key))
    if record is None:
        raise AuthorityMismatch("FailedOperation.IdNoExistSystem", "no identity record for this ID number", 2005)
    if not hmac.compare_digest(ctx.biometrics.open_text(record.name_sealed, aad=key).encode(), name.encode()):
        raise AuthorityMismatch("FailedOperation.IdNameMisMatch", "the name does not match the ID number", 2006)
    if not record.embedding_sealed:
        raise AuthorityMismatch("FailedOperation.IdPhotoNoExist", "the identity record has no photo", 2007)
    return AuthorityMatch(open_embedding(ctx, record.embedding_sealed, aad=key), key)


def _reference_from_provider(ctx: ServiceContext, id_card: str, name: str) -> AuthorityMatch:
    from wxflow.services.providers import AuthorityUnavailable, provider_for
    from wxflow.vision.errors import VisionError
    from wxflow.vision.face import reference_embedding
    from wxflow.vision.image import decode_image

    try:
        answer = provider_for(ctx).photo(id_card, name)
    except AuthorityUnavailable as exc:
        status = 2017 if exc.kind == "upgrading" else 2001
        raise AuthorityMismatch(
            "FailedOperation.CompareFail", f"the authority could not answer ({exc.kind})", status
        ) from None
    if not answer.found:
        raise AuthorityMismatch("FailedOperation.IdNoExistSystem", "no identity record for this ID number", 2005)
    if not answer.name_matches:
        raise AuthorityMismatch("FailedOperation.IdNameMisMatch", "the name does not match the ID number", 2006)
    if not answer.photo:
        raise AuthorityMismatch("FailedOperation.IdPhotoNoExist", "the identity record has no photo", 2007)
    try:
        embedding = reference_embedding(decode_image(answer.photo, ctx.config.max_image_bytes), ctx.engines())
    except VisionError:
        raise AuthorityMismatch(
            "FailedOperation.IdPhotoNoExist", "the authority's photo holds no usable face", 2008
        ) from None
    return AuthorityMatch(embedding, lookup_key(ctx, id_card))


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"added": self.added, "updated": self.updated, "errors": self.errors}

    def upsert(self, session: Session, model: type[Any], key: str, now: datetime) -> tuple[Any, bool]:
        """The registry row for ``key``, created if absent; counts it as added or updated."""
        row = session.scalar(select(model).where(model.lookup_key == key))
        if row is None:
            row = model(lookup_key=key, created_at=now)
            session.add(row)
            self.added += 1
            return row, True
        self.updated += 1
        return row, False


def _rows(csv_path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    with csv_path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ServiceError("InvalidParameter", f"the CSV lacks the column(s) {', '.join(missing)}")
        return [(line, {k: (v or "").strip() for k, v in row.items() if k}) for line, row in enumerate(reader, 2)]


def _date_ok(value: str, allow_long_term: bool = False) -> bool:
    if allow_long_term and value == "00000000":
        return True
    from datetime import date

    try:
        date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return False
    return len(value) == 8 and value.isdigit()


def import_csv(ctx: ServiceContext, csv_path: Path, photo_dir: Path | None = None) -> ImportReport:
    """Add or update identities from a CSV with columns ``id_card,name[,photo,validity_begin,validity_end,status]``.

    photo: a file in photo_dir; validity dates YYYYMMDD (end ``00000000`` = 长期); status one of
    IDENTITY_STATUSES (default valid). 15-digit numbers are stored in their 18-character form. Bad rows
    and repeated ID numbers are reported with their line number and reason; good rows are imported regardless.
    """
    from wxflow.vision.errors import VisionError
    from wxflow.vision.face import reference_embedding
    from wxflow.vision.image import decode_image

    report = ImportReport()
    seen: dict[str, int] = {}
    for line, row in _rows(csv_path, ("id_card", "name")):
        parsed, _ = parse_id_card(row.get("id_card", ""))
        id_card = parsed.number if parsed else row.get("id_card", "").upper()
        name = normalise_name(row.get("name", ""))
        photo_name = row.get("photo", "")
        begin, end = row.get("validity_begin", ""), row.get("validity_end", "")
        status = row.get("status", "") or "valid"
        try:
            check_identity_format(id_card, name)
        except ServiceError as exc:
            report.errors.append({"line": line, "reason": exc.code})
            continue
        if (begin and not _date_ok(begin)) or (end and not _date_ok(end, allow_long_term=True)):
            report.errors.append({"line": line, "reason": "validity dates must be YYYYMMDD (end 00000000 = 长期)"})
            continue
        if status not in IDENTITY_STATUSES:
            report.errors.append({"line": line, "reason": f"status must be one of {', '.join(IDENTITY_STATUSES)}"})
            continue
        if id_card in seen:
            report.errors.append({"line": line, "reason": f"duplicate ID number in this file (line {seen[id_card]})"})
            continue
        seen[id_card] = line
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
            record, created = report.upsert(s, AuthorityRecord, key, now)
            if not created and record.photo_media:
                ctx.media.delete(record.photo_media)
            record.id_card_sealed = ctx.biometrics.seal_text(id_card, aad=key)
            record.name_sealed = ctx.biometrics.seal_text(name, aad=key)
            record.photo_media = ctx.media.put(photo) if photo else None
            record.embedding_sealed = seal_embedding(ctx, embedding, key) if embedding is not None else None
            record.validity_begin = begin or None
            record.validity_end = end or None
            record.status = status
            record.updated_at = now
    return report


def import_bank_cards(ctx: ServiceContext, csv_path: Path) -> ImportReport:
    """Bank cards from a CSV ``card,name[,id_card,phone,bank,account_type,state]``.

    bank and account_type default to the BIN table's; state is one of CARD_STATES (default normal).
    """
    report = ImportReport()
    seen: dict[str, int] = {}
    for line, row in _rows(csv_path, ("card", "name")):
        card, name = row.get("card", "").replace(" ", ""), normalise_name(row.get("name", ""))
        id_card, phone = row.get("id_card", "").upper(), row.get("phone", "")
        state = row.get("state", "") or "normal"
        reason = None
        if not luhn_valid(card):
            reason = "card number fails the Luhn check"
        elif not name_valid(name):
            reason = "FailedOperation.NameFormatError"
        elif id_card and not id_card_valid(id_card):
            reason = "FailedOperation.IdFormatError"
        elif phone and phone_info(phone)[0] is None:
            reason = "not a mainland mobile number"
        elif state not in CARD_STATES:
            reason = f"state must be one of {', '.join(CARD_STATES)}"
        elif row.get("account_type", "") not in ("", "1", "2", "3", "4"):
            reason = "account_type must be 1 debit, 2 credit, 3 prepaid or 4 semi-credit"
        elif card in seen:
            reason = f"duplicate card number in this file (line {seen[card]})"
        if reason:
            report.errors.append({"line": line, "reason": reason})
            continue
        seen[card] = line
        info = bank_card_info(card)
        key = bank_card_key(ctx, card)
        now = ctx.clock.now()
        with ctx.db.session() as s:
            rec, _ = report.upsert(s, AuthorityBankCard, key, now)
            rec.card_sealed = ctx.biometrics.seal_text(card, aad=key)
            rec.name_sealed = ctx.biometrics.seal_text(name, aad=key)
            rec.id_card_sealed = ctx.biometrics.seal_text(id_card, aad=key) if id_card else None
            rec.phone_sealed = ctx.biometrics.seal_text(phone, aad=key) if phone else None
            rec.bank = row.get("bank") or (info.bank if info else None)
            rec.account_type = (
                int(row["account_type"]) if row.get("account_type") else (info.account_type if info else None)
            )
            rec.state = state
            rec.updated_at = now
    return report


def import_phones(ctx: ServiceContext, csv_path: Path) -> ImportReport:
    """Phone numbers from a CSV ``phone,name,id_card[,carrier,status,in_network_since]``.

    carrier defaults to the number range's; status is a MobileStatus StatusCode (default 0 normal);
    in_network_since YYYYMMDD.
    """
    from wxflow.services.providers.local import digest

    report = ImportReport()
    seen: dict[str, int] = {}
    for line, row in _rows(csv_path, ("phone", "name", "id_card")):
        info, _ = phone_info(row.get("phone", ""))
        name, id_card = normalise_name(row.get("name", "")), row.get("id_card", "").upper()
        since, status = row.get("in_network_since", ""), row.get("status", "") or "0"
        reason = None
        if info is None:
            reason = "not a mainland mobile number"
        elif not name_valid(name):
            reason = "FailedOperation.NameFormatError"
        elif not id_card_valid(id_card):
            reason = "FailedOperation.IdFormatError"
        elif status not in ("0", "1", "2", "4", "5", "99"):
            reason = "status must be a StatusCode: 0, 1, 2, 4, 5 or 99"
        elif since and not _date_ok(since):
            reason = "in_network_since must be YYYYMMDD"
        elif info.number in seen:
            reason = f"duplicate phone number in this file (line {seen[info.number]})"
        if reason or info is None:
            report.errors.append({"line": line, "reason": reason})
            continue
        phone = info.number
        seen[phone] = line
        key = phone_key(ctx, phone)
        now = ctx.clock.now()
        with ctx.db.session() as s:
            rec, _ = report.upsert(s, AuthorityPhone, key, now)
            rec.md5_key = phone_digest_key(ctx, "md5", digest("md5", phone))
            rec.sha256_key = phone_digest_key(ctx, "sha256", digest("sha256", phone))
            rec.sm3_key = phone_digest_key(ctx, "sm3", digest("sm3", phone))
            rec.phone_sealed = ctx.biometrics.seal_text(phone, aad=key)
            rec.name_sealed = ctx.biometrics.seal_text(name, aad=key)
            rec.id_card_sealed = ctx.biometrics.seal_text(id_card, aad=key)
            rec.carrier = row.get("carrier") or info.isp or None
            rec.status = int(status)
            rec.in_network_since = since or None
            rec.updated_at = now
    return report


AUDIT_COLUMNS = ("time", "merchant_id", "request_id", "action", "subject", "result", "billed", "provider")


def audit_rows(ctx: ServiceContext, since: object = None, merchant_id: int | None = None) -> list[dict[str, object]]:
    """Audit rows of identity checks, oldest first (subjects are stored masked)."""
    query = select(IdentityCheck).order_by(IdentityCheck.id)
    if since is not None:
        query = query.where(IdentityCheck.created_at >= since)
    if merchant_id is not None:
        query = query.where(IdentityCheck.merchant_id == merchant_id)
    with ctx.db.session() as s:
        return [
            {
                "time": r.created_at.isoformat(),
                "merchant_id": r.merchant_id,
                "request_id": r.request_id,
                "action": r.action,
                "subject": r.subject,
                "result": r.result,
                "billed": r.billed,
                "provider": r.provider,
            }
            for r in s.scalars(query)
        ]


def describe(report: ImportReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False)
