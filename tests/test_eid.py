"""E证通 (GetEidToken / CheckEidTokenStatus / GetEidResult) through the official SDK, judged by a real worker."""

from __future__ import annotations

import dataclasses
import io
import re
import time

import pytest
import requests
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.support import flows as drive
from tests.support import sdk
from tests.support.data import data_path
from tests.support.media import frame_at, jpeg_bytes
from tests.support.servers import LiveServer, wait_until
from wxflow.services import authority, eid, merchants

PERSON_ID, PERSON = "370782198709170246", "小静"
NO_PHOTO_ID = sdk.valid_id_card("11010519491231002")
GONE_ID = sdk.valid_id_card("44030019900101123")
UNKNOWN_ID = sdk.valid_id_card("32010219800101001")
BACK = "https://merchant.example/back"


@pytest.fixture
def registry(ctx, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "person.jpg").write_bytes(jpeg_bytes(frame_at(data_path(*drive.REAL_CLIP), 6.5)))
    ids = tmp_path / "ids.csv"
    ids.write_text(
        "id_card,name,photo,status\n"
        f"{PERSON_ID},{PERSON},person.jpg,valid\n"
        f"{NO_PHOTO_ID},张三,,valid\n"
        f"{GONE_ID},李四,,cancelled\n",
        encoding="utf-8",
    )
    report = authority.import_csv(ctx, ids, photos)
    assert report.errors == [] and report.added + report.updated == 3
    return report


@pytest.fixture
def rule(make_rule):
    return make_rule(liveness="silent", compare="none", redirect_prefixes=["https://merchant.example/"])


def _server(app, merchant):
    server = LiveServer(app)
    server.__enter__()
    server.api = sdk.client(merchant.SecretId, merchant.SecretKey, server.host_port)
    server.common = sdk.common(merchant.SecretId, merchant.SecretKey, server.host_port)
    return server


@pytest.fixture
def live(app, merchant, ctx, worker):
    ctx.config = dataclasses.replace(ctx.config, rate_limit=0)
    server = _server(app, merchant)
    yield server
    server.__exit__(None, None, None)


@pytest.fixture
def quick(app, merchant, ctx):
    """No worker: for what is decided before anyone uploads a video."""
    ctx.config = dataclasses.replace(ctx.config, rate_limit=0)
    server = _server(app, merchant)
    yield server
    server.__exit__(None, None, None)


def sdk_code(call):
    with pytest.raises(TencentCloudSDKException) as info:
        call()
    return info.value.code


def token_for(api, rule, id_card=PERSON_ID, name=PERSON, **extra):
    resp = api.GetEidToken(
        sdk.request("GetEidTokenRequest", MerchantId=rule, IdCard=id_card, Name=name, RedirectUrl=BACK, **extra)
    )
    return resp.EidToken, resp.Url


def status(api, token):
    return api.CheckEidTokenStatus(sdk.request("CheckEidTokenStatusRequest", EidToken=token)).Status


def test_eid_flow_runs_end_to_end_against_the_registry(live, rule, registry, ctx, merchant):
    api = live.api
    token, url = token_for(api, rule, Extra="eid-1", Config={"InputType": "4"})
    assert re.fullmatch(r"[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}", token)
    assert url == f"http://testserver/h5/verify?token={token}"
    assert status(api, token) == "init"
    pending = api.GetEidResult(sdk.request("GetEidResultRequest", EidToken=token))
    assert pending.Text.ErrCode is None and pending.EidInfo is None and pending.BestFrame is None
    assert (pending.Text.IdCard, pending.Text.Name, pending.Text.Extra) == (PERSON_ID, PERSON, "eid-1")

    device = f"{live.url}/api/v1/flows/{token}"
    challenge = requests.get(device, timeout=10).json()["challenge"]["id"]
    assert status(api, token) == "doing"  # the user opened it
    upload = requests.post(
        f"{device}/attempts",
        data={"challenge_id": challenge},
        files={"video": ("v.mp4", io.BytesIO(drive.real_clip(3.0)), "video/mp4")},
        timeout=30,
    )
    assert upload.status_code == 202
    assert wait_until(lambda: status(api, token) == "finished", timeout=90, interval=0.5)

    result = api.GetEidResult(sdk.request("GetEidResultRequest", EidToken=token, InfoType="0", BestFramesCount=5))
    text = result.Text
    assert (text.ErrCode, text.LiveStatus, text.Comparestatus) == (0, 0, 0), text.ErrMsg
    assert float(text.Sim) >= 70 and text.CompareLibType == "权威库" and text.Extra == "eid-1"
    assert 1 <= len(result.BestFrame.BestFrames) <= 3 and result.BestFrame.BestFrame
    assert result.IdCardData is None
    assert result.EidInfo.EidCode == eid.eid_code(ctx, merchant.id, PERSON_ID)
    assert re.fullmatch(r"[0-9a-f]{64}", result.EidInfo.EidCode) and result.EidInfo.EidSign is None
    assert eid.eid_code(ctx, merchant.id + 1, PERSON_ID) != result.EidInfo.EidCode  # per merchant
    text_only = api.GetEidResult(sdk.request("GetEidResultRequest", EidToken=token, InfoType="1"))
    assert text_only.BestFrame is None and text_only.Text.ErrCode == 0
    # Finished: a second upload is refused, and the result stays readable.
    again = requests.get(device, timeout=10).json()
    assert again["state"] == "passed" and again["redirect_url"] == f"{BACK}?token={token}"

    # Another merchant can neither read nor poll it.
    other = merchants.create_merchant(ctx, "other")
    foreign = sdk.client(other.SecretId, other.SecretKey, live.host_port)
    assert sdk_code(lambda: status(foreign, token)) == "InvalidParameterValue.BizTokenIllegal"
    assert (
        sdk_code(lambda: foreign.GetEidResult(sdk.request("GetEidResultRequest", EidToken=token)))
        == "InvalidParameterValue.BizTokenIllegal"
    )
    audit = [r for r in authority.audit_rows(ctx, merchant_id=merchant.id) if r["action"] == "GetEidToken"]
    assert [(r["result"], r["billed"], r["provider"]) for r in audit] == [("0", True, "local")]


def test_identity_step_failures_end_the_token_with_their_code(quick, rule, registry, ctx, merchant):
    api = quick.api
    cases = {
        (PERSON_ID, "小敬"): 2006,
        (UNKNOWN_ID, "赵六"): 2005,
        (GONE_ID, "李四"): 2005,
        (NO_PHOTO_ID, "张三"): 2007,
    }
    for (id_card, name), code in cases.items():
        token, _ = token_for(api, rule, id_card, name)
        assert status(api, token) == "finished", (id_card, name)
        text = api.GetEidResult(sdk.request("GetEidResultRequest", EidToken=token)).Text
        assert (text.ErrCode, text.Comparestatus, text.LiveStatus) == (code, code, None), (id_card, name)
        assert text.Comparemsg and text.ErrMsg == text.Comparemsg
        device = requests.get(f"{quick.url}/api/v1/flows/{token}", timeout=10).json()
        assert device["state"] == "failed" and device["challenge"] is None
    audit = [(r["result"], r["billed"]) for r in authority.audit_rows(ctx, merchant_id=merchant.id)]
    assert audit == [("2006", True), ("2005", False), ("2005", True), ("0", True)]


def test_an_upstream_outage_is_the_upgrading_or_busy_code(quick, rule, registry, ctx):
    from tests.support.upstream import Upstream

    photo = jpeg_bytes(frame_at(data_path(*drive.REAL_CLIP), 6.5))
    with Upstream("s3cret", {PERSON_ID: {"name": PERSON, "photo": photo}}) as upstream:
        ctx.config = dataclasses.replace(
            ctx.config,
            authority_provider="http",
            authority_url=upstream.url,
            authority_secret="s3cret",
            authority_key_id="wxflow-test",
            authority_timeout=0.5,
            authority_retries=0,
            authority_breaker_failures=5,
        )
        ok, _ = token_for(quick.api, rule)
        assert status(quick.api, ok) == "init"  # the provider knew the person and sent the reference photo
        upstream.mode = "upgrading"
        token, _ = token_for(quick.api, rule)
        assert quick.api.GetEidResult(sdk.request("GetEidResultRequest", EidToken=token)).Text.ErrCode == 2017
        upstream.mode = "failing"
        token, _ = token_for(quick.api, rule)
        assert quick.api.GetEidResult(sdk.request("GetEidResultRequest", EidToken=token)).Text.ErrCode == 2001


def test_an_unused_token_times_out(quick, rule, registry, ctx):
    # The 600 s TTL shortened, so the SDK's signatures stay fresh instead of moving the server clock.
    ctx.config = dataclasses.replace(ctx.config, eid_token_ttl=1)
    token, _ = token_for(quick.api, rule)
    assert status(quick.api, token) == "init"
    time.sleep(1.2)
    assert status(quick.api, token) == "timeout"
    text = quick.api.GetEidResult(sdk.request("GetEidResultRequest", EidToken=token)).Text
    assert text.ErrCode == 15
    late = requests.post(
        f"{quick.url}/api/v1/flows/{token}/attempts",
        data={"challenge_id": "x"},
        files={"video": ("v.mp4", io.BytesIO(drive.real_clip(1.0)), "video/mp4")},
        timeout=30,
    )
    assert late.status_code == 410


def test_other_tokens_are_not_eid_tokens(quick, rule, registry):
    biz = quick.common.call_json("DetectAuth", {"RuleId": rule})["Response"]["BizToken"]
    assert sdk_code(lambda: status(quick.api, biz)) == "InvalidParameterValue.BizTokenIllegal"
    assert sdk_code(lambda: status(quick.api, "not-a-token")) == "InvalidParameterValue.BizTokenIllegal"


def test_bad_input_codes(quick, rule, registry, ctx):
    other = merchants.create_merchant(ctx, "other")
    foreign_rule = merchants.create_rule(
        ctx,
        merchant_secret_id=other.SecretId,
        liveness="silent",
        compare="none",
        redirect_prefixes=["https://other.example/"],
    )
    good = {"MerchantId": rule, "IdCard": PERSON_ID, "Name": PERSON}

    def code(action, params):
        return sdk_code(lambda: quick.common.call_json(action, params))

    assert code("GetEidToken", {"IdCard": PERSON_ID, "Name": PERSON}) == "MissingParameter"
    assert code("GetEidToken", {**good, "MerchantId": "nope"}) == "InvalidParameterValue"
    assert code("GetEidToken", {**good, "MerchantId": foreign_rule}) == "InvalidParameterValue"
    assert code("GetEidToken", {"MerchantId": rule}) == "MissingParameter"
    assert code("GetEidToken", {**good, "IdCard": "370782198709170247"}) == "FailedOperation.IdFormatError"
    assert code("GetEidToken", {**good, "Name": "小静2"}) == "FailedOperation.NameFormatError"
    assert code("GetEidToken", {**good, "RedirectUrl": "ftp://merchant.example/"}) == "InvalidParameterValue"
    assert code("GetEidToken", {**good, "RedirectUrl": "https://evil.example/"}) == "InvalidParameterValue"
    assert code("GetEidToken", {**good, "Extra": "x" * 1025}) == "InvalidParameterValue"
    assert code("GetEidToken", {**good, "Config": {"InputType": "1"}}) == "UnsupportedOperation"
    assert code("GetEidToken", {**good, "Config": {"UseIntentionVerify": True}}) == "UnsupportedOperation"
    token = quick.common.call_json("GetEidToken", good)["Response"]["EidToken"]
    assert code("GetEidResult", {"EidToken": token, "InfoType": "5"}) == "InvalidParameterValue"
    assert code("GetEidResult", {"EidToken": token, "BestFramesCount": -1}) == "InvalidParameterValue"
    assert code("GetEidResult", {"EidToken": token, "BestFramesCount": "2"}) == "InvalidParameter"
    assert code("GetEidResult", {}) == "MissingParameter"
    assert code("CheckEidTokenStatus", {}) == "MissingParameter"
