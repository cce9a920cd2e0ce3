"""The real-network helpers in tests/support/servers.py, checked over real HTTP."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests
from flask import Flask, jsonify, request

from tests.support.servers import REPO_ROOT, LiveServer, WebhookReceiver, WorkerProcess, free_port, wait_until


def tiny_app() -> Flask:
    app = Flask("tiny")

    @app.get("/hello")
    def hello():
        return jsonify(hello=request.args.get("name", "world"), host=request.host)

    @app.post("/echo")
    def echo():
        return request.get_data(), 201, {"Content-Type": "application/octet-stream"}

    return app


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_wait_until_true_and_timeout() -> None:
    start = time.monotonic()
    assert wait_until(lambda: time.monotonic() - start > 0.1, timeout=2, interval=0.01)
    start = time.monotonic()
    assert not wait_until(lambda: False, timeout=0.2, interval=0.05)
    assert 0.2 <= time.monotonic() - start < 1.5


def test_live_server_serves_flask_app() -> None:
    with LiveServer(tiny_app()) as server:
        assert server.url == f"http://{server.host_port}"
        assert server.host_port.startswith("127.0.0.1:")
        resp = requests.get(f"{server.url}/hello", params={"name": "wx"}, timeout=5)
        assert resp.status_code == 200
        assert resp.json() == {"hello": "wx", "host": server.host_port}
        body = bytes(range(256)) * 10
        resp = requests.post(f"{server.url}/echo", data=body, timeout=5)
        assert resp.status_code == 201
        assert resp.content == body
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/hello", timeout=2)
    server.stop()  # idempotent


def test_live_server_handles_concurrent_requests() -> None:
    import concurrent.futures

    with LiveServer(tiny_app()) as server, concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: requests.get(f"{server.url}/hello", timeout=5).status_code, range(16)))
    assert codes == [200] * 16


def test_receiver_records_headers_and_raw_body() -> None:
    with WebhookReceiver() as receiver:
        raw = json.dumps({"Event": "flow.finished", "Name": "张三"}, ensure_ascii=False).encode()
        resp = requests.post(
            receiver.url,
            data=raw,
            headers={"Content-Type": "application/json", "X-Wxflow-Delivery": "d-1"},
            timeout=5,
        )
        assert resp.status_code == 200
        (got,) = receiver.wait_for(1, timeout=5)
        assert got.method == "POST"
        assert got.body == raw
        assert got.json()["Name"] == "张三"
        assert got.header("x-wxflow-delivery") == "d-1"
        assert got.headers["Content-Type"] == "application/json"
        assert got.status == 200
        assert abs(got.received_at - time.time()) < 5


def test_receiver_fail_first_then_succeeds() -> None:
    with WebhookReceiver() as receiver:
        receiver.fail_first(2)
        codes = [requests.post(receiver.url, data=b"{}", timeout=5).status_code for _ in range(3)]
        assert codes == [503, 503, 200]
        assert [r.status for r in receiver.requests] == [503, 503, 200]
        assert len(receiver.wait_for(1, timeout=1, delivered=True)) == 1


def test_receiver_down_refuses_and_up_rebinds_same_port() -> None:
    with WebhookReceiver() as receiver:
        url = receiver.url
        receiver.down()
        assert not receiver.is_up
        with pytest.raises(requests.ConnectionError):
            requests.post(url, data=b"lost", timeout=2)
        receiver.up()
        assert receiver.url == url
        assert requests.post(url, data=b"kept", timeout=5).status_code == 200
        assert [r.body for r in receiver.wait_for(1, timeout=5)] == [b"kept"]


def test_receiver_wait_for_times_out_with_what_arrived() -> None:
    with WebhookReceiver() as receiver:
        start = time.monotonic()
        assert receiver.wait_for(1, timeout=0.2) == []
        assert time.monotonic() - start < 2


def test_receiver_slow_answer_trips_client_timeout() -> None:
    with WebhookReceiver() as receiver:
        receiver.set_delay(1.0)
        with pytest.raises(requests.Timeout):
            requests.post(receiver.url, data=b"x", timeout=0.3)
        assert receiver.wait_for(1, timeout=5)[0].body == b"x"


@pytest.mark.skipif(not (REPO_ROOT / "app.py").exists(), reason="app.py (the Flask entry point) not written yet")
def test_worker_process_starts_logs_and_stops(tmp_path) -> None:
    worker = WorkerProcess({"WXFLOW_VAR_DIR": tmp_path / "var"}, log_path=tmp_path / "worker.log")
    with worker:
        assert wait_until(lambda: worker.log_text().strip() or not worker.alive, timeout=60)
    assert not worker.alive
    assert worker.returncode is not None
    assert worker.log_text() == (tmp_path / "worker.log").read_text()
