"""A licensed-provider stand-in: a real HTTP server on loopback that speaks wxflow's authority protocol.

Paths: ``/v1/identity`` and ``/v1/photo`` answer from ``records`` (keyed by ID number), ``/v1/bankcard``
from ``bank_cards`` (keyed by card number: ``name``, ``id_card``, ``phone``, ``state``), ``/v1/phone`` and
``/v1/phone-hashed`` from ``phones`` (keyed by phone number: ``name``, ``id_card``, ``carrier``, ``status``,
``in_network_since``, ``holder_birth``; a field left out is one the record does not hold, so its match is
``null``; ``holder_birth`` defaults to the birth date in ``id_card``). Tests may edit the dicts while it runs.

Modes: ``ok`` (answers from the records), ``slow`` (sleeps past the client's timeout), ``failing`` (500),
``upgrading`` (503 {"code": "upgrading"}), ``down`` (the socket is closed: connection refused).
Requests with a wrong signature get 401. ``calls`` counts the requests that reached it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _matches(record: dict[str, Any], field: str, asked: Any) -> bool | None:
    """None when the request did not ask or the record does not hold the field."""
    if asked is None or record.get(field) is None:
        return None
    return record[field] == asked


def _phone_answer(record: dict[str, Any] | None, payload: dict[str, Any]) -> dict[str, Any]:
    if record is None:
        return {"found": False}
    id_card = record.get("id_card") or ""
    birth = record.get("holder_birth") or (id_card[6:14] if len(id_card) == 18 else None)
    return {
        "found": True,
        "name_matches": _matches(record, "name", payload.get("name")),
        "id_matches": _matches(record, "id_card", payload.get("id_card")),
        "carrier": record.get("carrier"),
        "status": record.get("status", 0),
        "in_network_since": record.get("in_network_since"),
        "holder_birth": birth,
    }


class Upstream:
    def __init__(
        self,
        secret: str,
        records: dict[str, dict[str, Any]] | None = None,
        bank_cards: dict[str, dict[str, Any]] | None = None,
        phones: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.secret = secret
        self.records = records or {}  # id_card -> {"name": ..., "validity_begin": ..., ...}
        self.bank_cards = bank_cards or {}  # card -> {"name": ..., "id_card": ..., "phone": ..., "state": ...}
        self.phones = phones or {}  # phone -> {"name": ..., "id_card": ..., "carrier": ..., "status": ...}
        self.mode = "ok"
        self.delay = 2.0
        self.calls = 0
        self.bad_signatures = 0
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                upstream.calls += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                message = "\n".join(
                    [
                        self.headers.get("X-Authority-Timestamp", ""),
                        self.headers.get("X-Authority-Nonce", ""),
                        hashlib.sha256(body).hexdigest(),
                    ]
                )
                expected = hmac.new(upstream.secret.encode(), message.encode(), hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, self.headers.get("X-Authority-Signature", "")):
                    upstream.bad_signatures += 1
                    return self._send(401, {"code": "signature"})
                if upstream.mode == "slow":
                    time.sleep(upstream.delay)
                if upstream.mode == "failing":
                    return self._send(500, {"code": "internal"})
                if upstream.mode == "upgrading":
                    return self._send(503, {"code": "upgrading"})
                payload = json.loads(body)
                if self.path == "/v1/identity":
                    record = upstream.records.get(payload["id_card"])
                    if record is None:
                        return self._send(200, {"found": False})
                    return self._send(
                        200,
                        {
                            "found": True,
                            "name_matches": record["name"] == payload["name"],
                            "status": record.get("status", "valid"),
                            "validity_begin": record.get("validity_begin"),
                            "validity_end": record.get("validity_end"),
                        },
                    )
                if self.path == "/v1/photo":
                    record = upstream.records.get(payload["id_card"])
                    if record is None:
                        return self._send(200, {"found": False})
                    photo = record.get("photo")
                    return self._send(
                        200,
                        {
                            "found": True,
                            "name_matches": record["name"] == payload["name"],
                            "photo": base64.b64encode(photo).decode() if photo else None,
                        },
                    )
                if self.path == "/v1/bankcard":
                    card = upstream.bank_cards.get(payload["card"])
                    if card is None:
                        return self._send(200, {"found": False})
                    return self._send(
                        200,
                        {
                            "found": True,
                            "name_matches": card["name"] == payload["name"],
                            "id_matches": _matches(card, "id_card", payload.get("id_card")),
                            "phone_matches": _matches(card, "phone", payload.get("phone")),
                            "state": card.get("state", "normal"),
                        },
                    )
                if self.path == "/v1/phone":
                    return self._send(200, _phone_answer(upstream.phones.get(payload["phone"]), payload))
                if self.path == "/v1/phone-hashed":
                    # Every input is a lower-case hex digest: find the record whose digests match.
                    def digest(text: Any) -> str | None:
                        return hashlib.new(payload["algorithm"], str(text).encode()).hexdigest() if text else None

                    number = next((n for n in upstream.phones if digest(n) == payload["phone"]), None)
                    record = upstream.phones.get(number) if number else None
                    answer = _phone_answer(record, {})
                    if record is not None:
                        for field, key in (("name", "name_matches"), ("id_card", "id_matches")):
                            held = digest(record.get(field))
                            answer[key] = None if held is None else held == payload[field]
                    return self._send(200, answer)
                return self._send(404, {"code": "unknown path"})

            def _send(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Upstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop and close the socket: from now on connections are refused ("down")."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None  # type: ignore[assignment]
