"""The local registry as an authority: the ``authority_*`` tables an operator fills from CSV."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select

from wxflow.db.models import AuthorityBankCard, AuthorityPhone, AuthorityRecord
from wxflow.services import authority
from wxflow.services.context import ServiceContext
from wxflow.services.idformat import normalise_name
from wxflow.services.providers import BankCardAnswer, IdentityAnswer, PhoneAnswer, PhotoAnswer


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())


def digest(algorithm: str, text: str) -> str:
    return hashlib.new(algorithm, text.encode()).hexdigest()


class LocalRegistry:
    name = "local"

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def _open(self, sealed: str | None, aad: str) -> str | None:
        return self.ctx.biometrics.open_text(sealed, aad=aad) if sealed else None

    def _name_matches(self, sealed: str | None, key: str, name: str) -> bool:
        """The stored (sealed) name against the asked one, both normalised, in constant time."""
        return _same(normalise_name(self._open(sealed, key) or ""), normalise_name(name))

    def photo(self, id_card: str, name: str) -> PhotoAnswer:
        key = authority.lookup_key(self.ctx, id_card)
        with self.ctx.db.session() as s:
            record = s.scalar(select(AuthorityRecord).where(AuthorityRecord.lookup_key == key))
            if record is None:
                return PhotoAnswer(found=False)
            same = self._name_matches(record.name_sealed, key, name)
            photo = self.ctx.media.get(record.photo_media) if record.photo_media else None
            return PhotoAnswer(found=True, name_matches=same, photo=photo)

    def identity(self, id_card: str, name: str) -> IdentityAnswer:
        key = authority.lookup_key(self.ctx, id_card)
        with self.ctx.db.session() as s:
            record = s.scalar(select(AuthorityRecord).where(AuthorityRecord.lookup_key == key))
            if record is None:
                return IdentityAnswer(found=False)
            return IdentityAnswer(
                found=True,
                name_matches=self._name_matches(record.name_sealed, key, name),
                status=record.status or "valid",
                validity_begin=record.validity_begin,
                validity_end=record.validity_end,
            )

    def bank_card(self, card: str, name: str, id_card: str | None, phone: str | None) -> BankCardAnswer:
        key = authority.bank_card_key(self.ctx, card)
        with self.ctx.db.session() as s:
            row = s.scalar(select(AuthorityBankCard).where(AuthorityBankCard.lookup_key == key))
            if row is None:
                return BankCardAnswer(found=False)
            return BankCardAnswer(
                found=True,
                name_matches=self._name_matches(row.name_sealed, key, name),
                id_matches=None if id_card is None else _same(self._open(row.id_card_sealed, key), id_card),
                phone_matches=None if phone is None else _same(self._open(row.phone_sealed, key), phone),
                state=row.state,
            )

    def _phone_answer(self, row: AuthorityPhone, key: str, name_ok: bool | None, id_ok: bool | None) -> PhoneAnswer:
        holder = self._open(row.id_card_sealed, key) or ""
        return PhoneAnswer(
            holder_birth=holder[6:14] or None,
            found=True,
            name_matches=name_ok,
            id_matches=id_ok,
            carrier=row.carrier,
            status=row.status,
            in_network_since=row.in_network_since,
        )

    def phone(self, phone: str, name: str | None, id_card: str | None) -> PhoneAnswer:
        key = authority.phone_key(self.ctx, phone)
        with self.ctx.db.session() as s:
            row = s.scalar(select(AuthorityPhone).where(AuthorityPhone.lookup_key == key))
            if row is None:
                return PhoneAnswer(found=False)
            name_ok = None
            if name is not None:
                name_ok = self._name_matches(row.name_sealed, key, name)
            id_ok = None if id_card is None else _same(self._open(row.id_card_sealed, key), id_card)
            return self._phone_answer(row, key, name_ok, id_ok)

    def phone_hashed(self, algorithm: str, phone: str, name: str, id_card: str) -> PhoneAnswer:
        column = {"md5": AuthorityPhone.md5_key, "sha256": AuthorityPhone.sha256_key, "sm3": AuthorityPhone.sm3_key}
        hashed_key = authority.phone_digest_key(self.ctx, algorithm, phone.lower())
        with self.ctx.db.session() as s:
            row = s.scalar(select(AuthorityPhone).where(column[algorithm] == hashed_key))
            if row is None:
                return PhoneAnswer(found=False)
            key = row.lookup_key
            stored_name = normalise_name(self._open(row.name_sealed, key) or "")
            stored_id = self._open(row.id_card_sealed, key) or ""
            return self._phone_answer(
                row,
                key,
                _same(digest(algorithm, stored_name), name.lower()),
                _same(digest(algorithm, stored_id), id_card.lower()),
            )
