"""An adapter for a licensed upstream authority reached over HTTP(S).

Wire protocol (docs/identity.md): ``POST <url>/v1/<identity|bankcard|phone|phone-hashed>`` with a JSON
body, signed ``X-Authority-Signature: hex(HMAC-SHA256(secret, "<timestamp>\\n<nonce>\\n<sha256(body)>"))``
plus ``X-Authority-Key``, ``X-Authority-Timestamp``, ``X-Authority-Nonce``. 200 carries the answer's
fields; 503 with ``{"code": "upgrading"}`` is planned maintenance; timeouts, refused connections and other
5xx are retried, then reported busy; 4xx means the provider refused us (a configuration error).
A circuit breaker per provider URL fails fast for ``authority_breaker_reset`` seconds after
``authority_breaker_failures`` consecutive failed calls, then lets one trial call through.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, fields
from typing import Any

import requests

from wxflow.clock import Clock
from wxflow.services.context import ServiceContext
from wxflow.services.providers import (
    AuthorityUnavailable,
    BankCardAnswer,
    IdentityAnswer,
    PhoneAnswer,
    PhotoAnswer,
)

log = logging.getLogger(__name__)


def sign(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = f"{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


@dataclass
class Breaker:
    """Closed -> open after ``threshold`` consecutive failures -> half-open after ``reset`` seconds."""

    threshold: int
    reset: float
    failures: int = 0
    opened_at: float | None = None
    trial_running: bool = False

    def __post_init__(self) -> None:
        self.lock = threading.Lock()

    @property
    def state(self) -> str:
        return "closed" if self.opened_at is None else "open"

    def allow(self, now: float) -> bool:
        with self.lock:
            if self.opened_at is None:
                return True
            if now - self.opened_at >= self.reset and not self.trial_running:
                self.trial_running = True  # half-open: one trial call
                return True
            return False

    def success(self) -> None:
        with self.lock:
            self.failures, self.opened_at, self.trial_running = 0, None, False

    def failure(self, now: float) -> None:
        with self.lock:
            self.failures += 1
            if self.trial_running or self.failures >= self.threshold:
                if self.opened_at is None or self.trial_running:
                    log.warning("authority circuit breaker opened after %d failures", self.failures)
                self.opened_at = now
            self.trial_running = False


_BREAKERS: dict[str, Breaker] = {}
_BREAKERS_LOCK = threading.Lock()


def breaker_for(url: str, threshold: int, reset: float) -> Breaker:
    with _BREAKERS_LOCK:
        breaker = _BREAKERS.get(url)
        if breaker is None or (breaker.threshold, breaker.reset) != (threshold, reset):
            breaker = _BREAKERS[url] = Breaker(threshold, reset)
        return breaker


def _answer(cls: type, data: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


class HttpProvider:
    name = "http"

    def __init__(
        self,
        url: str,
        key_id: str,
        secret: str,
        timeout: float,
        retries: int,
        breaker: Breaker,
        clock: Clock,
    ) -> None:
        self.url = url.rstrip("/")
        self.key_id = key_id
        self.secret = secret
        self.timeout = timeout
        self.retries = retries
        self.breaker = breaker
        self.clock = clock

    @classmethod
    def for_config(cls, ctx: ServiceContext) -> HttpProvider:
        c = ctx.config
        if not c.authority_url:
            raise AuthorityUnavailable("error", "WXFLOW_AUTHORITY_URL is not set")
        breaker = breaker_for(c.authority_url, c.authority_breaker_failures, float(c.authority_breaker_reset))
        return cls(
            c.authority_url, c.authority_key_id, c.authority_secret, c.authority_timeout, c.authority_retries,
            breaker, ctx.clock,
        )  # fmt: skip

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        if not self.breaker.allow(self.clock.timestamp()):
            raise AuthorityUnavailable("busy", "circuit breaker open")
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        last = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(0.1 * 2 ** (attempt - 1), 1.0))
            timestamp, nonce = str(int(self.clock.timestamp())), secrets.token_hex(8)
            headers = {
                "Content-Type": "application/json",
                "X-Authority-Key": self.key_id,
                "X-Authority-Timestamp": timestamp,
                "X-Authority-Nonce": nonce,
                "X-Authority-Signature": sign(self.secret, timestamp, nonce, body),
            }
            try:
                response = requests.post(f"{self.url}{path}", data=body, headers=headers, timeout=self.timeout)
            except requests.Timeout:
                last = "timeout"
                continue
            except requests.RequestException as exc:
                last = f"unreachable ({type(exc).__name__})"
                continue
            if response.status_code == 200:
                try:
                    data = response.json()
                except ValueError:
                    last = "malformed answer"
                    continue
                self.breaker.success()
                return data
            if response.status_code == 503 and _code(response) == "upgrading":
                # Planned maintenance is an answer, not a failure of the link: no retry, no breaker count.
                raise AuthorityUnavailable("upgrading", "the provider is under maintenance")
            if 400 <= response.status_code < 500:
                self.breaker.success()
                raise AuthorityUnavailable("error", f"the provider refused the request ({response.status_code})")
            last = f"HTTP {response.status_code}"
        self.breaker.failure(self.clock.timestamp())
        log.warning("authority provider %s failed after %d tries: %s", path, self.retries + 1, last)
        raise AuthorityUnavailable("busy", last)

    def identity(self, id_card: str, name: str) -> IdentityAnswer:
        return _answer(IdentityAnswer, self._post("/v1/identity", {"id_card": id_card, "name": name}))

    def bank_card(self, card: str, name: str, id_card: str | None, phone: str | None) -> BankCardAnswer:
        payload = {"card": card, "name": name, "id_card": id_card, "phone": phone}
        return _answer(BankCardAnswer, self._post("/v1/bankcard", payload))

    def phone(self, phone: str, name: str | None, id_card: str | None) -> PhoneAnswer:
        return _answer(PhoneAnswer, self._post("/v1/phone", {"phone": phone, "name": name, "id_card": id_card}))

    def phone_hashed(self, algorithm: str, phone: str, name: str, id_card: str) -> PhoneAnswer:
        payload = {"algorithm": algorithm, "phone": phone, "name": name, "id_card": id_card}
        return _answer(PhoneAnswer, self._post("/v1/phone-hashed", payload))

    def photo(self, id_card: str, name: str) -> PhotoAnswer:
        data = self._post("/v1/photo", {"id_card": id_card, "name": name})
        raw = data.get("photo")
        try:
            photo = base64.b64decode(raw, validate=True) if raw else None
        except (ValueError, TypeError):
            raise AuthorityUnavailable("error", "the provider sent a malformed photo") from None
        return PhotoAnswer(bool(data.get("found")), bool(data.get("name_matches")), photo)


def _code(response: requests.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data.get("code") if isinstance(data, dict) else None
