"""The TC3 endpoint as the official SDK and a hand-rolled client see it: signatures, envelopes, codes."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest
import requests
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.support import sdk
from tests.support.servers import LiveServer
from wxflow.crypto import tc3_signature


@pytest.fixture
def server(app):
    with LiveServer(app) as live:
        yield live


def signed_post(server, merchant, action, params, *, timestamp=None, secret_key=None, tamper=None, headers=None):
    body = json.dumps(params).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    content_type = "application/json; charset=utf-8"
    signature = tc3_signature(
        secret_key or merchant.SecretKey,
        service="faceid",
        timestamp=timestamp,
        content_type=content_type,
        host=server.host_port,
        payload=body,
    )
    date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    hdrs = {
        "Authorization": f"TC3-HMAC-SHA256 Credential={merchant.SecretId}/{date}/faceid/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={signature}",
        "Content-Type": content_type,
        "Host": server.host_port,
        "X-TC-Action": action,
        "X-TC-Version": "2018-03-01",
        "X-TC-Timestamp": str(timestamp),
    }
    hdrs.update(headers or {})
    if tamper:
        body = tamper(body)
    return requests.post(server.url + "/", data=body, headers=hdrs, timeout=30)


def error_code(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    payload = response.json()["Response"]
    assert payload["RequestId"]
    return payload.get("Error", {}).get("Code")


def test_sdk_detect_auth_returns_token_and_url(server, merchant, make_rule):
    rule_id = make_rule()
    client = sdk.client(merchant.SecretId, merchant.SecretKey, server.host_port)
    resp = client.DetectAuth(
        sdk.request("DetectAuthRequest", RuleId=rule_id, RedirectUrl="https://merchant.example/done")
    )
    assert resp.BizToken == resp.BizToken.upper() and len(resp.BizToken) == 36
    assert resp.Url == f"http://testserver/h5/verify?token={resp.BizToken}"
    assert resp.RequestId


def test_the_verification_url_resolves_to_a_page_saying_what_to_do(server, client, merchant, make_rule):
    rule_id = make_rule(liveness="action")
    api = sdk.client(merchant.SecretId, merchant.SecretKey, server.host_port)
    token = api.DetectAuth(sdk.request("DetectAuthRequest", RuleId=rule_id)).BizToken
    page = client.get(f"/h5/verify?token={token}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<title>人脸核身</title>" in text
    boot = json.loads(text.split('<script id="boot" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert boot["strings"]["mode_action"] == "请按提示依次完成动作。" and boot["token"] == token
    assert client.get("/h5/verify?token=nope").status_code == 404


def test_wrong_secret_key_is_a_signature_failure_through_the_sdk(server, merchant, make_rule):
    client = sdk.client(merchant.SecretId, "not-the-key", server.host_port)
    with pytest.raises(TencentCloudSDKException) as info:
        client.DetectAuth(sdk.request("DetectAuthRequest", RuleId=make_rule()))
    assert info.value.code == "AuthFailure.SignatureFailure"
    assert info.value.requestId


def test_unknown_secret_id_through_the_sdk(server):
    client = sdk.client("AKIDdoesnotexist", "key", server.host_port)
    with pytest.raises(TencentCloudSDKException) as info:
        client.DetectAuth(sdk.request("DetectAuthRequest", RuleId="1"))
    assert info.value.code == "AuthFailure.SecretIdNotFound"


def test_tampered_body_is_refused(server, merchant, make_rule):
    rule_id = make_rule()
    ok = signed_post(server, merchant, "DetectAuth", {"RuleId": rule_id})
    assert error_code(ok) is None
    tampered = signed_post(
        server, merchant, "DetectAuth", {"RuleId": rule_id}, tamper=lambda b: b.replace(b"RuleId", b"RuleID")
    )
    assert error_code(tampered) == "AuthFailure.SignatureFailure"


def test_stale_timestamp_is_refused(server, merchant, make_rule):
    stale = signed_post(server, merchant, "DetectAuth", {"RuleId": make_rule()}, timestamp=int(time.time()) - 301)
    assert error_code(stale) == "AuthFailure.SignatureExpire"
    future = signed_post(server, merchant, "DetectAuth", {"RuleId": make_rule()}, timestamp=int(time.time()) + 400)
    assert error_code(future) == "AuthFailure.SignatureExpire"


def test_stale_by_server_clock_through_the_sdk(server, clock, merchant, make_rule):
    rule_id = make_rule()
    clock.advance(301)  # the server's clock runs ahead: the SDK's fresh timestamp is now stale
    client = sdk.client(merchant.SecretId, merchant.SecretKey, server.host_port)
    with pytest.raises(TencentCloudSDKException) as info:
        client.DetectAuth(sdk.request("DetectAuthRequest", RuleId=rule_id))
    assert info.value.code == "AuthFailure.SignatureExpire"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Basic abc",
        "TC3-HMAC-SHA256 Credential=x",
        "TC3-HMAC-SHA256 Credential=a/2020-01-01/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=" + "0" * 64,
    ],
)
def test_malformed_authorization(server, merchant, header):
    resp = signed_post(server, merchant, "DetectAuth", {"RuleId": "1"}, headers={"Authorization": header})
    assert error_code(resp) == "AuthFailure.InvalidAuthorization"


def test_language_header_selects_english(server, merchant):
    resp = signed_post(server, merchant, "NoSuchAction", {}, headers={"X-TC-Language": "en-US"})
    assert error_code(resp) == "InvalidAction"
    assert "does not exist" in resp.json()["Response"]["Error"]["Message"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "MissingParameter"),
        ({"RuleId": 5}, "InvalidParameter"),
        ({"RuleId": "999"}, "InvalidParameterValue.RuleIdNotExist"),
        ({"RuleId": "RULE", "RedirectUrl": "ftp://x"}, "InvalidParameterValue"),
        ({"RuleId": "RULE", "RedirectUrl": "https://evil.example/"}, "InvalidParameterValue"),
        ({"RuleId": "RULE", "Extra": "x" * 1025}, "InvalidParameterValue"),
        ({"RuleId": "RULE", "IdCard": "12345"}, "InvalidParameterValue"),
        ({"RuleId": "PHOTO"}, "MissingParameter"),
        ({"RuleId": "PHOTO", "ImageBase64": "***not base64***"}, "FailedOperation.ImageDecodeFailed"),
        (
            {"RuleId": "PHOTO", "ImageBase64": base64.b64encode(b"not an image").decode()},
            "FailedOperation.ImageDecodeFailed",
        ),
    ],
)
def test_detect_auth_bad_input(server, merchant, make_rule, params, code):
    rule_id, photo_rule = make_rule(), make_rule(compare="photo")
    params = {k: (rule_id if v == "RULE" else photo_rule if v == "PHOTO" else v) for k, v in params.items()}
    assert error_code(signed_post(server, merchant, "DetectAuth", params)) == code


def test_disabled_rule_is_refused(server, ctx, merchant, make_rule):
    from wxflow.services import merchants

    rule_id = make_rule()
    merchants.disable_rule(ctx, rule_id)
    assert error_code(signed_post(server, merchant, "DetectAuth", {"RuleId": rule_id})) == (
        "InvalidParameterValue.RuleIdDisabled"
    )


def test_body_that_is_not_json(server, merchant):
    resp = signed_post(server, merchant, "DetectAuth", {}, tamper=lambda b: b)  # valid first
    assert error_code(resp) == "MissingParameter"
    raw = b"{not json"
    ts = int(time.time())
    sig = tc3_signature(
        merchant.SecretKey,
        service="faceid",
        timestamp=ts,
        content_type="application/json",
        host=server.host_port,
        payload=raw,
    )
    date = time.strftime("%Y-%m-%d", time.gmtime(ts))
    resp = requests.post(
        server.url + "/",
        data=raw,
        headers={
            "Authorization": f"TC3-HMAC-SHA256 Credential={merchant.SecretId}/{date}/faceid/tc3_request, "
            f"SignedHeaders=content-type;host, Signature={sig}",
            "Content-Type": "application/json",
            "X-TC-Action": "DetectAuth",
            "X-TC-Timestamp": str(ts),
            "X-TC-Version": "2018-03-01",
        },
        timeout=10,
    )
    assert error_code(resp) == "InvalidParameter"
    assert hashlib.sha256(raw).hexdigest()  # the payload hash covered the broken body too


def test_other_merchants_token_is_illegal(server, ctx, merchant, make_rule):
    from wxflow.services import merchants

    rule_id = make_rule()
    owner = sdk.client(merchant.SecretId, merchant.SecretKey, server.host_port)
    token = owner.DetectAuth(sdk.request("DetectAuthRequest", RuleId=rule_id)).BizToken

    other = merchants.create_merchant(ctx, "someone else")
    other_rule = merchants.create_rule(
        ctx,
        merchant_secret_id=other.SecretId,
        liveness="silent",
        compare="none",
        redirect_prefixes=["https://other.example/"],
    )
    intruder = sdk.client(other.SecretId, other.SecretKey, server.host_port)
    for rule in (rule_id, other_rule):
        with pytest.raises(TencentCloudSDKException) as info:
            intruder.GetDetectInfoEnhanced(sdk.request("GetDetectInfoEnhancedRequest", BizToken=token, RuleId=rule))
        assert info.value.code == "InvalidParameterValue.BizTokenIllegal"
    # and the owner cannot use another merchant's RuleId to mint tokens
    with pytest.raises(TencentCloudSDKException) as info:
        owner.DetectAuth(sdk.request("DetectAuthRequest", RuleId=other_rule))
    assert info.value.code == "InvalidParameterValue.RuleIdNotExist"


def test_unfinished_flow_reads_as_nulls(server, merchant, make_rule):
    rule_id = make_rule()
    client = sdk.client(merchant.SecretId, merchant.SecretKey, server.host_port)
    token = client.DetectAuth(sdk.request("DetectAuthRequest", RuleId=rule_id, Extra="order-42")).BizToken
    info = client.GetDetectInfoEnhanced(sdk.request("GetDetectInfoEnhancedRequest", BizToken=token, RuleId=rule_id))
    assert info.Text.ErrCode is None and info.Text.Sim is None
    assert info.Text.Extra == "order-42" and info.Text.LivenessMode == 3
    legacy = client.GetDetectInfo(sdk.request("GetDetectInfoRequest", BizToken=token, RuleId=rule_id))
    assert json.loads(legacy.DetectInfo)["Text"]["ErrCode"] is None
