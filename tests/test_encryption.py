"""The Encryption object: fields sealed by the merchant with AES-256-CBC under an RSA-OAEP-wrapped key."""

from __future__ import annotations

import base64
import json
import os

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.support import sdk
from tests.support.servers import LiveServer
from wxflow import crypto

ID_CARD, NAME = "370782198709170246", "小静"


@pytest.fixture
def live(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def public_pem(app):
    result = app.test_cli_runner().invoke(args=["encryption", "public-key"])
    assert result.exit_code == 0 and result.output.startswith("-----BEGIN PUBLIC KEY-----")
    return result.output


def envelope(public_pem, fields, algorithm="AES-256-CBC"):
    key, iv = os.urandom(32), "0123456789abcdef"
    spec = {
        "EncryptList": fields,
        "CiphertextBlob": base64.b64encode(crypto.rsa_wrap(public_pem, key)).decode(),
        "Iv": iv,
        "Algorithm": algorithm,
    }
    return key, iv.encode(), spec


def seal(key, iv, text):
    return base64.b64encode(crypto.aes_cbc_encrypt(key, iv, text.encode())).decode()


def unseal(key, iv, text):
    return crypto.aes_cbc_decrypt(key, iv, base64.b64decode(text)).decode()


def test_encrypted_fields_in_and_out(live, merchant, make_rule, public_pem):
    rule_id = make_rule()
    api = sdk.client(merchant.SecretId, merchant.SecretKey, live.host_port)
    key, iv, spec = envelope(public_pem, ["IdCard", "Name"])
    token = api.DetectAuth(
        sdk.request(
            "DetectAuthRequest",
            RuleId=rule_id,
            IdCard=seal(key, iv, ID_CARD),
            Name=seal(key, iv, NAME),
            Encryption=spec,
        )
    ).BizToken

    plain = api.GetDetectInfoEnhanced(sdk.request("GetDetectInfoEnhancedRequest", BizToken=token, RuleId=rule_id))
    assert plain.Text.IdCard == ID_CARD and plain.Text.Name == NAME  # stored decrypted, returned as asked

    key2, iv2, spec2 = envelope(public_pem, [])
    fields = api.GetDetectInfoEnhanced(
        sdk.request("GetDetectInfoEnhancedRequest", BizToken=token, RuleId=rule_id, Encryption=spec2)
    )
    assert fields.Text.IdCard != ID_CARD and unseal(key2, iv2, fields.Text.IdCard) == ID_CARD
    assert unseal(key2, iv2, fields.Text.Name) == NAME

    whole = api.GetDetectInfoEnhanced(
        sdk.request(
            "GetDetectInfoEnhancedRequest", BizToken=token, RuleId=rule_id, Encryption=spec2, IsEncryptResponse=True
        )
    )
    assert whole.Text is None and whole.EncryptedBody
    body = json.loads(unseal(key2, iv2, whole.EncryptedBody))
    assert body["Text"]["IdCard"] == ID_CARD and body["Text"]["Extra"] is None


def test_bad_envelopes_are_refused(live, merchant, make_rule, public_pem):
    rule_id = make_rule()
    api = sdk.client(merchant.SecretId, merchant.SecretKey, live.host_port)
    key, iv, spec = envelope(public_pem, ["IdCard"])

    def code(**fields):
        with pytest.raises(TencentCloudSDKException) as info:
            api.DetectAuth(sdk.request("DetectAuthRequest", RuleId=rule_id, **fields))
        return info.value.code

    assert code(IdCard=seal(key, iv, ID_CARD), Encryption={**spec, "CiphertextBlob": "AAAA"}) == (
        "InvalidParameterValue"
    )
    assert code(IdCard=seal(key, iv, ID_CARD), Encryption={**spec, "Algorithm": "SM4-GCM"}) == (
        "InvalidParameter.UnsupportEncryptField"
    )
    assert code(IdCard="not-encrypted", Encryption=spec) == "InvalidParameterValue"
    assert code(IdCard=seal(key, iv, ID_CARD), Encryption={**spec, "Iv": "short"}) == "InvalidParameterValue"
    with pytest.raises(TencentCloudSDKException) as info:
        api.GetDetectInfoEnhanced(
            sdk.request("GetDetectInfoEnhancedRequest", BizToken="x", RuleId=rule_id, IsEncryptResponse=True)
        )
    assert info.value.code == "MissingParameter"
