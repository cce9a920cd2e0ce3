"""The whole flow as a merchant and a device run it: official SDK, real HTTP, a real RQ worker,
real models on real videos, and a real webhook receiver on loopback."""

from __future__ import annotations

import io
import json
import time

import pytest
import requests
from sqlalchemy import select

from tests.support import flows as drive
from tests.support import sdk
from tests.support.servers import LiveServer, WebhookReceiver, wait_until
from wxflow.crypto import verify_webhook_signature
from wxflow.db.models import WebhookDelivery

pytestmark = pytest.mark.slow


@pytest.fixture
def live(app, worker):
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def receiver():
    with WebhookReceiver() as hook:
        yield hook


def run_flow(live, merchant, rule_id, video, *, worker, image_b64=None, extra="order-1"):
    api = sdk.client(merchant.SecretId, merchant.SecretKey, live.host_port)
    fields = {"RuleId": rule_id, "RedirectUrl": "https://merchant.example/back?x=1", "Extra": extra}
    if image_b64:
        fields["ImageBase64"] = image_b64
    auth = api.DetectAuth(sdk.request("DetectAuthRequest", **fields))
    token = auth.BizToken
    device = f"{live.url}/api/v1/flows/{token}"
    challenge = requests.get(device, timeout=10).json()["challenge"]
    resp = requests.post(
        f"{device}/attempts",
        data={"challenge_id": challenge["id"]},
        files={"video": ("clip.mp4", io.BytesIO(video), "video/mp4")},
        timeout=30,
    )
    assert resp.status_code == 202, resp.text
    attempt_url = f"{device}/attempts/{resp.json()['attempt_id']}"
    state = {}

    def judged() -> bool:
        state.update(requests.get(attempt_url, timeout=10).json())
        return state["state"] in ("done", "failed")

    assert wait_until(judged, timeout=120, interval=0.5), f"not judged in time:\n{worker.log_text()[-3000:]}"
    info = api.GetDetectInfoEnhanced(
        sdk.request("GetDetectInfoEnhancedRequest", BizToken=token, RuleId=rule_id, BestFramesCount=2)
    )
    return token, state, info


def test_same_person_passes_and_the_merchant_is_told(live, worker, ctx, merchant, make_rule, receiver):
    rule_id = make_rule(compare="photo", callback_url=receiver.url + "/hook", max_attempts=1)
    token, state, info = run_flow(
        live, merchant, rule_id, drive.real_clip(3.0), worker=worker, image_b64=drive.same_person_photo_b64()
    )
    assert state["outcome"]["passed"] is True and state["flow_state"] == "passed"
    assert state["redirect_url"] == f"https://merchant.example/back?x=1&token={token}"
    text = info.Text
    assert text.ErrCode == 0 and text.LiveStatus == 0 and text.Comparestatus == 0
    assert float(text.Sim) >= 70
    assert text.Extra == "order-1" and text.LivenessMode == 3 and text.CompareLibType == "业务方自有库"
    assert len(text.LivenessDetail) == 1 and text.LivenessDetail[0].Errcode == 0
    assert info.BestFrame.BestFrame and len(info.BestFrame.BestFrames) >= 1
    assert info.VideoData.LivenessVideo
    # The legacy action carries the same verdict inside one JSON string.
    api = sdk.client(merchant.SecretId, merchant.SecretKey, live.host_port)
    legacy = json.loads(
        api.GetDetectInfo(sdk.request("GetDetectInfoRequest", BizToken=token, RuleId=rule_id, InfoType="1")).DetectInfo
    )
    assert legacy["Text"]["ErrCode"] == 0 and "BestFrame" not in legacy
    # Readable any number of times.
    again = api.GetDetectInfoEnhanced(
        sdk.request("GetDetectInfoEnhancedRequest", BizToken=token, RuleId=rule_id, InfoType="1")
    )
    assert again.Text.Sim == text.Sim and again.BestFrame is None

    hooks = receiver.wait_for(1, timeout=30, delivered=True)
    assert hooks, f"no webhook:\n{worker.log_text()[-3000:]}"
    hook = hooks[0]
    body = hook.json()
    assert body["Event"] == "flow.passed" and body["BizToken"] == token and body["ErrCode"] == 0
    assert body["RuleId"] == rule_id and body["Extra"] == "order-1" and float(body["Sim"]) >= 70
    assert set(body) == {
        "Event",
        "BizToken",
        "RuleId",
        "ErrCode",
        "ErrMsg",
        "Sim",
        "LiveStatus",
        "Comparestatus",
        "Extra",
        "FinishedAt",
    }
    assert hook.header("X-Wxflow-Delivery")
    assert verify_webhook_signature(
        merchant.WebhookSecret, hook.header("X-Wxflow-Signature"), hook.body, now=int(time.time())
    )
    assert not verify_webhook_signature(
        "wrong-secret", hook.header("X-Wxflow-Signature"), hook.body, now=int(time.time())
    )


def test_another_persons_photo_is_a_compare_failure(live, worker, merchant, make_rule):
    rule_id = make_rule(compare="photo", max_attempts=1)
    token, state, info = run_flow(
        live, merchant, rule_id, drive.real_clip(3.0), worker=worker, image_b64=drive.other_person_photo_b64()
    )
    assert state["outcome"]["passed"] is False and state["flow_state"] == "failed"
    assert info.Text.LiveStatus == 0
    assert info.Text.ErrCode == 2016 and info.Text.Comparestatus == 2016
    assert float(info.Text.Sim) < 70


def test_printed_photo_attack_fails_silent_liveness(live, worker, merchant, make_rule):
    rule_id = make_rule(compare="none", max_attempts=1)
    token, state, info = run_flow(live, merchant, rule_id, drive.printed_photo_attack(3.0), worker=worker)
    assert state["outcome"]["passed"] is False
    assert info.Text.ErrCode == 1301 and info.Text.LiveStatus == 1301
    assert "03" in info.Text.LivenessInfoTag


def test_webhook_receiver_down_at_first_gets_the_delivery_later(live, worker, ctx, merchant, make_rule, receiver):
    rule_id = make_rule(compare="none", max_attempts=1, callback_url=receiver.url + "/hook")
    receiver.down()
    token, state, info = run_flow(live, merchant, rule_id, drive.printed_photo_attack(2.5), worker=worker)
    assert state["flow_state"] == "failed"

    def failed_tries() -> int:
        with ctx.db.session() as s:
            return len(s.scalars(select(WebhookDelivery).where(WebhookDelivery.error.is_not(None))).all())

    assert wait_until(lambda: failed_tries() >= 1, timeout=30), worker.log_text()[-3000:]
    receiver.up()
    hooks = receiver.wait_for(1, timeout=60, delivered=True)
    assert hooks, worker.log_text()[-3000:]
    assert hooks[0].json()["BizToken"] == token and hooks[0].json()["Event"] == "flow.failed"
    delivery_ids = {h.header("X-Wxflow-Delivery") for h in receiver.requests}
    assert len(delivery_ids) == 1  # retries keep the delivery id, so the receiver can dedupe
