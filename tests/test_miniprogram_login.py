"""The server side of the WeChat mini-program path, over real HTTP against the fake WeChat API.

What the mini-program does, request by request: ``wx.login`` -> POST /api/v1/wechat/miniprogram/login
(jscode2session on the fake WeChat server, binding) -> the device API with ``X-Wxflow-Device`` ->
``wx.uploadFile`` (multipart: the file under ``name``, ``formData`` as form fields) -> polling, judged
by a real worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support import flows as drive
from tests.support.fake_wechat import FakeWeChat
from tests.support.servers import LiveServer, wait_until
from wxflow.app import create_app
from wxflow.config import Config
from wxflow.services import flows as flow_service

DEVICE = "X-Wxflow-Device"


@pytest.fixture
def fake_wechat() -> Iterator[FakeWeChat]:
    with FakeWeChat(app_id="wx-merchant-mini", secret="mini-secret") as fake:
        yield fake


@pytest.fixture
def app(backend: Any, clock: Any, request: pytest.FixtureRequest, fake_wechat: FakeWeChat) -> Iterator[Any]:
    """The conftest app, with WeChat's API base pointed at the fake server on loopback."""
    overrides = dict(backend.overrides, wechat_api_base=fake_wechat.api_base)
    if "worker" not in request.fixturenames:
        overrides["queue_prefix"] = f"{backend.queue_prefix}-inproc"
    application = create_app(Config.from_env({}, **overrides), clock=clock)
    ctx = application.extensions["wxflow"]
    ctx.engines = lambda: request.getfixturevalue("engines")
    yield application
    ctx.close()


@pytest.fixture
def live(app: Any) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def mini_rule(make_rule: Any, fake_wechat: FakeWeChat) -> Any:
    def _make(**options: Any) -> str:
        return make_rule(wechat_appid=fake_wechat.app_id, wechat_secret=fake_wechat.secret, **options)

    return _make


def login(live: LiveServer, token: str, code: str) -> requests.Response:
    # wx.request({method: "POST", data: {...}}) sends JSON with header content-type application/json.
    return requests.post(f"{live.url}/api/v1/wechat/miniprogram/login", json={"token": token, "code": code}, timeout=10)


def flow(live: LiveServer, token: str, key: str | None) -> requests.Response:
    headers = {DEVICE: key} if key else {}
    return requests.get(f"{live.url}/api/v1/flows/{token}", headers=headers, timeout=10)


def upload_file(live: LiveServer, token: str, key: str, challenge_id: str, video: bytes) -> requests.Response:
    """What wx.uploadFile({url, filePath, name: "video", formData: {challenge_id}, header}) puts on the wire.

    The file part is named after the temp file (``tmp_<hash>.mp4``) and, on devices, often typed
    application/octet-stream rather than video/mp4; the server must judge the bytes, not the label.
    """
    return requests.post(
        f"{live.url}/api/v1/flows/{token}/attempts",
        headers={DEVICE: key},
        data={"challenge_id": challenge_id},
        files={"video": ("tmp_6f1c0e2a9b.mp4", video, "application/octet-stream")},
        timeout=60,
    )


def test_login_binds_the_flow_and_the_key_opens_the_device_api(live, ctx, merchant, mini_rule, fake_wechat):
    token = drive.start(ctx, merchant.id, mini_rule(liveness="action"))
    resp = login(live, token, fake_wechat.issue_code("o-alice"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["openid_bound"] is True and len(body["device_key"]) == 64
    assert fake_wechat.calls[-1]["path"] == "/sns/jscode2session"
    assert fake_wechat.calls[-1]["query"]["appid"] == "wx-merchant-mini"

    # Bound: the flow answers only the device holding the key.
    without = flow(live, token, None)
    assert without.status_code == 403 and without.json()["error_code"] == "FailedOperation.FlowBoundToAnotherUser"
    assert flow(live, token, "0" * 64).status_code == 403
    shown = flow(live, token, body["device_key"])
    assert shown.status_code == 200
    view = shown.json()
    assert view["state"] == "created" and view["liveness_mode"] == "action"
    assert view["challenge"]["kind"] == "action" and view["challenge"]["action_names"]

    # The same user opening it again (a new wx.login code) gets the same key.
    again = login(live, token, fake_wechat.issue_code("o-alice"))
    assert again.status_code == 200 and again.json()["device_key"] == body["device_key"]


def test_another_user_is_refused_and_the_owner_keeps_the_flow(live, ctx, merchant, mini_rule, fake_wechat):
    token = drive.start(ctx, merchant.id, mini_rule())
    key = login(live, token, fake_wechat.issue_code("o-alice")).json()["device_key"]
    mallory = login(live, token, fake_wechat.issue_code("o-mallory"))
    assert mallory.status_code == 403
    assert mallory.json()["error_code"] == "FailedOperation.FlowBoundToAnotherUser"
    assert "device_key" not in mallory.json()
    assert flow(live, token, key).status_code == 200


def test_reused_and_invalid_codes_are_refused_clearly(live, ctx, merchant, mini_rule, fake_wechat):
    token = drive.start(ctx, merchant.id, mini_rule())
    code = fake_wechat.issue_code("o-alice")
    key = login(live, token, code).json()["device_key"]
    reused = login(live, token, code)  # a retried request after a lost answer: WeChat says 40163
    assert reused.status_code == 400
    assert reused.json()["error_code"] == "InvalidParameterValue.WeChatCodeUsed"
    assert "wx.login again" in reused.json()["message"]
    # The mini-program's answer to that: a fresh wx.login, which gets the same key back.
    assert login(live, token, fake_wechat.issue_code("o-alice")).json()["device_key"] == key

    invalid = login(live, token, "not-a-code")
    assert invalid.status_code == 400 and invalid.json()["error_code"] == "InvalidParameterValue.WeChatCodeInvalid"
    empty = login(live, token, "  ")
    assert empty.status_code == 400 and empty.json()["error_code"] == "MissingParameter"
    missing = requests.post(f"{live.url}/api/v1/wechat/miniprogram/login", json={"token": token}, timeout=10)
    assert missing.status_code == 422


def test_a_code_never_reaches_wechat_for_a_flow_that_cannot_log_in(
    live, ctx, merchant, mini_rule, make_rule, fake_wechat
):
    unknown = login(live, "00000000-0000-0000-0000-000000000000", fake_wechat.issue_code("o-a"))
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "InvalidParameterValue.BizTokenIllegal"

    plain = drive.start(ctx, merchant.id, make_rule())  # a rule without WeChat credentials
    refused = login(live, plain, fake_wechat.issue_code("o-a"))
    assert refused.status_code == 400
    assert refused.json()["error_code"] == "UnsupportedOperation.WeChatNotConfigured"
    assert "appid and secret" in refused.json()["message"]

    app_token = flow_service.faceid_token(
        ctx,
        merchant.id,
        "LOCAL",
        flow_service.DetectAuthRequest(rule_id="", image_base64=drive.same_person_photo_b64()),
    )
    ruleless = login(live, app_token, fake_wechat.issue_code("o-a"))
    assert ruleless.status_code == 400 and ruleless.json()["error_code"] == "UnsupportedOperation.FlowWithoutRule"
    assert fake_wechat.calls == []


def test_expired_flow_answers_410(live, ctx, clock, merchant, mini_rule, fake_wechat):
    token = drive.start(ctx, merchant.id, mini_rule())
    clock.advance(7201)
    resp = login(live, token, fake_wechat.issue_code("o-alice"))
    assert resp.status_code == 410 and resp.json()["error_code"] == "InvalidParameterValue.BizTokenExpired"


def test_wechat_refusing_or_unreachable_is_a_502(live, ctx, merchant, make_rule, fake_wechat):
    wrong = make_rule(wechat_appid=fake_wechat.app_id, wechat_secret="not-the-secret")
    token = drive.start(ctx, merchant.id, wrong)
    resp = login(live, token, fake_wechat.issue_code("o-alice"))
    assert resp.status_code == 502 and resp.json()["error_code"] == "FailedOperation.WeChatLoginFailed"
    assert "40125" in resp.json()["message"]

    good = drive.start(ctx, merchant.id, make_rule(wechat_appid=fake_wechat.app_id, wechat_secret=fake_wechat.secret))
    code = fake_wechat.issue_code("o-alice")
    fake_wechat.close()  # WeChat down: the connection is refused
    down = login(live, good, code)
    assert down.status_code == 502 and down.json()["error_code"] == "FailedOperation.WeChatUnavailable"
    assert flow(live, good, None).status_code == 200  # nothing was bound


@pytest.mark.slow
def test_upload_as_wx_upload_file_sends_it_is_judged_and_redirects(live, worker, ctx, merchant, mini_rule, fake_wechat):
    rule_id = mini_rule(liveness="silent", max_attempts=2)
    token = drive.start(ctx, merchant.id, rule_id, redirect_url="https://merchant.example/done?order=9")
    key = login(live, token, fake_wechat.issue_code("o-alice")).json()["device_key"]
    view = flow(live, token, key).json()
    assert view["challenge"]["kind"] == "none" and view["attempts_left"] == 2

    # Without the device header even a correct upload is refused.
    anonymous = requests.post(
        f"{live.url}/api/v1/flows/{token}/attempts",
        data={"challenge_id": view["challenge"]["id"]},
        files={"video": ("tmp_x.mp4", drive.real_clip(3.0), "application/octet-stream")},
        timeout=60,
    )
    assert anonymous.status_code == 403

    resp = upload_file(live, token, key, view["challenge"]["id"], drive.real_clip(3.0))
    assert resp.status_code == 202, resp.text
    attempt_url = f"{live.url}/api/v1/flows/{token}/attempts/{resp.json()['attempt_id']}"
    state: dict[str, Any] = {}

    def judged() -> bool:
        answer = requests.get(attempt_url, headers={DEVICE: key}, timeout=10)
        assert answer.status_code == 200, answer.text
        state.update(answer.json())
        return state["state"] in ("done", "failed")

    assert wait_until(judged, timeout=120, interval=0.5), f"not judged in time:\n{worker.log_text()[-3000:]}"
    assert state["outcome"] == {"passed": True, "message": "passed"}
    assert state["flow_state"] == "passed"
    assert state["redirect_url"] == f"https://merchant.example/done?order=9&token={token}"
    assert requests.get(attempt_url, timeout=10).status_code == 403  # the result is the owner's too

    # A finished flow refuses another upload with 409, which the mini-program explains.
    again = upload_file(live, token, key, view["challenge"]["id"], drive.real_clip(3.0))
    assert again.status_code == 409


def test_login_is_documented(live):
    spec = requests.get(f"{live.url}/api/openapi.json", timeout=10).json()
    post = spec["paths"]["/api/v1/wechat/miniprogram/login"]["post"]
    assert {"200", "403", "410"} <= set(post["responses"])
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/Login")
    assert set(spec["components"]["schemas"]["Login"]["required"]) == {"token", "code"}
