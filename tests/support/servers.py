"""Real-network test helpers: a live WSGI server, a webhook receiver and a worker subprocess.

Everything here binds to 127.0.0.1 on an ephemeral port and talks real HTTP; nothing is mocked.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from wsgiref.types import WSGIApplication

from werkzeug.serving import BaseWSGIServer, make_server

REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """An ephemeral TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it is truthy; False if ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class LiveServer:
    """Serve a WSGI app (e.g. a Flask app) on 127.0.0.1:<ephemeral> from a daemon thread."""

    def __init__(self, app: WSGIApplication, host: str = LOOPBACK, port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self.host = host
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"live-server-{self.port}", daemon=True)
        self._thread.start()
        self._stopped = False

    @property
    def host_port(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host_port}"

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the receiver saw it, with the status it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    status: int

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """A merchant's webhook endpoint: records every POST (any path) and answers 200.

    ``fail_first(n)`` makes the next ``n`` POSTs answer 503 (still recorded, with that status);
    ``down()`` stops listening so connections are refused, ``up()`` listens on the same port again;
    ``set_delay(s)`` makes each answer wait ``s`` seconds (a slow receiver, for timeouts).
    """

    def __init__(self, host: str = LOOPBACK, port: int = 0) -> None:
        self.host = host
        self._lock = threading.Lock()
        self._requests: list[ReceivedRequest] = []
        self._failures_left = 0
        self._failure_status = 503
        self._delay = 0.0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = port
        self._listen()

    # -- lifecycle -------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self._read_body()
                status = receiver._record(self, body)
                if receiver._delay:
                    time.sleep(receiver._delay)
                payload = b"ok" if status < 400 else b"unavailable"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return Handler

    def _listen(self) -> None:
        deadline = time.monotonic() + 5
        while True:
            try:
                server = ThreadingHTTPServer((self.host, self.port), self._handler_class())
                break
            except OSError as exc:  # the old socket may linger briefly after down()
                if exc.errno != errno.EADDRINUSE or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
        server.daemon_threads = True
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(target=server.serve_forever, name=f"webhook-receiver-{self.port}", daemon=True)
        self._thread.start()

    def down(self) -> None:
        """Stop listening: new connections to ``url`` are refused until ``up()``."""
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def up(self) -> None:
        """Listen again on the same port."""
        if self._server is None:
            self._listen()

    @property
    def is_up(self) -> bool:
        return self._server is not None

    def stop(self) -> None:
        self.down()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- behaviour -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/webhook"

    def fail_first(self, n: int, status: int = 503) -> None:
        """Answer the next ``n`` POSTs with ``status`` (503 by default)."""
        with self._lock:
            self._failures_left = n
            self._failure_status = status

    def set_delay(self, seconds: float) -> None:
        self._delay = seconds

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes) -> int:
        with self._lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                status = self._failure_status
            else:
                status = 200
            self._requests.append(
                ReceivedRequest(
                    method=handler.command,
                    path=handler.path,
                    headers=dict(handler.headers.items()),
                    body=body,
                    received_at=time.time(),
                    status=status,
                )
            )
            return status

    # -- inspection ------------------------------------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every POST so far, failed ones included, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def delivered(self) -> list[ReceivedRequest]:
        """The POSTs answered with a 2xx status."""
        return [r for r in self.requests if 200 <= r.status < 300]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def wait_for(self, count: int, timeout: float = 10.0, *, delivered: bool = False) -> list[ReceivedRequest]:
        """Wait until ``count`` POSTs arrived (only 2xx ones if ``delivered``) and return them all.

        On timeout the shorter list is returned, so callers assert on its length.
        """

        def current() -> list[ReceivedRequest]:
            return self.delivered if delivered else self.requests

        wait_until(lambda: len(current()) >= count, timeout)
        return current()


class WorkerProcess:
    """``python -m flask --app app worker [args]`` in the repo root, as a real subprocess.

    ``env`` is merged over ``os.environ``. Output (stdout and stderr) goes to a log file,
    kept after ``stop()`` so a failing test can show it. The worker gets its own process group,
    so a forced stop also ends any children it forked.
    """

    def __init__(
        self,
        env: Mapping[str, str | os.PathLike[str] | int],
        args: list[str] | None = None,
        *,
        log_path: Path | None = None,
    ) -> None:
        self.argv = [sys.executable, "-m", "flask", "--app", "app", "worker", *(args or [])]
        merged = dict(os.environ)
        merged.update({k: os.fspath(v) if isinstance(v, os.PathLike) else str(v) for k, v in env.items()})
        merged.setdefault("PYTHONUNBUFFERED", "1")
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix="wxflow-worker-", suffix=".log")
            os.close(fd)
            log_path = Path(name)
        self.log_path = log_path
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=REPO_ROOT,
                env=merged,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM (RQ's warm shutdown), then SIGKILL to the whole group after ``timeout``."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._kill_group()
                self.process.wait(timeout=timeout)
        # A work horse or embedded server may outlive its parent; end what is left of our group.
        self._kill_group()
        return int(self.process.returncode)

    def _kill_group(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
