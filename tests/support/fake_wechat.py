"""A fake WeChat API on loopback: web OAuth (authorize, access_token) and jscode2session.

Codes are single use and expire like WeChat's: a second exchange answers 40163 "code been used",
an unknown one 40029. ``issue_code(openid)`` mints a code as WeChat would after the user consents.
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


class FakeWeChat:
    def __init__(self, app_id: str = "wx-test-app", secret: str = "wx-test-secret") -> None:
        self.app_id, self.secret = app_id, secret
        self._codes: dict[str, str] = {}
        self._used: set[str] = set()
        self._lock = threading.Lock()
        self.calls: list[dict[str, Any]] = []
        self.next_openid = "o-fake-user"
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.calls.append({"path": url.path, "query": query})
                if url.path.endswith("/oauth2/authorize"):
                    # The WeChat browser: the user consents silently (snsapi_base) and is sent back.
                    code = fake.issue_code(fake.next_openid)
                    target = query["redirect_uri"]
                    sep = "&" if "?" in target else "?"
                    self.send_response(302)
                    self.send_header(
                        "Location", f"{target}{sep}{urlencode({'code': code, 'state': query.get('state', '')})}"
                    )
                    self.end_headers()
                    return
                if url.path.endswith("/sns/oauth2/access_token") or url.path.endswith("/sns/jscode2session"):
                    code = query.get("code") or query.get("js_code") or ""
                    self._json(fake.exchange(query.get("appid", ""), query.get("secret", ""), code))
                    return
                self._json({"errcode": 40001, "errmsg": "unknown path"})

            def _json(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def api_base(self) -> str:
        return self.url

    @property
    def oauth_base(self) -> str:
        return self.url + "connect/"

    def issue_code(self, openid: str) -> str:
        code = secrets.token_hex(8)
        with self._lock:
            self._codes[code] = openid
        return code

    def exchange(self, app_id: str, secret: str, code: str) -> dict[str, Any]:
        with self._lock:
            if app_id != self.app_id or secret != self.secret:
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            if code in self._used:
                return {"errcode": 40163, "errmsg": "code been used"}
            openid = self._codes.pop(code, None)
            if openid is None:
                return {"errcode": 40029, "errmsg": "invalid code"}
            self._used.add(code)
        return {
            "openid": openid,
            "session_key": secrets.token_hex(8),
            "access_token": "at",
            "expires_in": 7200,
            "refresh_token": "rt",
            "scope": "snsapi_base",
        }

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeWeChat:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
