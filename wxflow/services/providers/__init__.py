"""The identity authority behind one interface: the local registry or a licensed HTTP provider.

A provider answers facts (is there a record, do the name / ID number / phone match, what state is the
card or number in); the identity service turns them into each action's result codes. A provider that
cannot answer raises ``AuthorityUnavailable``; that is never reported as a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from wxflow.services.context import ServiceContext


class AuthorityUnavailable(Exception):
    """The authority could not answer. ``kind``: ``busy`` (timeouts, 5xx, breaker open), ``upgrading``
    (the provider says it is under maintenance) or ``error`` (it refused our request: configuration)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class IdentityAnswer:
    found: bool
    name_matches: bool = False
    status: str = "valid"  # valid | expired | cancelled | dead | invalid
    validity_begin: str | None = None  # YYYYMMDD
    validity_end: str | None = None  # YYYYMMDD, "00000000" = 长期


@dataclass(frozen=True)
class BankCardAnswer:
    found: bool
    name_matches: bool = False
    id_matches: bool | None = None  # None when not asked
    phone_matches: bool | None = None
    state: str = "normal"  # normal | lost | expired | confiscated | dormant | restricted | no_cardless | cheat


@dataclass(frozen=True)
class PhoneAnswer:
    found: bool
    name_matches: bool | None = None
    id_matches: bool | None = None
    carrier: str | None = None
    status: int = 0  # MobileStatus StatusCode: 0 normal, 1 suspended, 2 cancelled, 4 not in network, 5 unusable
    in_network_since: str | None = None  # YYYYMMDD
    holder_birth: str | None = None  # YYYYMMDD, from the holder's ID number (MinorsVerification)


@dataclass(frozen=True)
class PhotoAnswer:
    found: bool
    name_matches: bool = False
    photo: bytes | None = None  # the authority's reference photo (JPEG/PNG), when it holds one


class Provider(Protocol):
    name: str

    def identity(self, id_card: str, name: str) -> IdentityAnswer: ...

    def bank_card(self, card: str, name: str, id_card: str | None, phone: str | None) -> BankCardAnswer: ...

    def phone(self, phone: str, name: str | None, id_card: str | None) -> PhoneAnswer: ...

    def phone_hashed(self, algorithm: str, phone: str, name: str, id_card: str) -> PhoneAnswer:
        """As ``phone`` with every input a lower-case hex digest (md5 | sha256 | sm3)."""
        ...

    def photo(self, id_card: str, name: str) -> PhotoAnswer:
        """The reference photo for a face compare (licensed sources return the ID photo)."""
        ...


def provider_for(ctx: ServiceContext) -> Provider:
    kind = ctx.config.authority_provider
    if kind == "http":
        from wxflow.services.providers.http import HttpProvider

        return HttpProvider.for_config(ctx)
    from wxflow.services.providers.local import LocalRegistry

    return LocalRegistry(ctx)
