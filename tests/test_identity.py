"""Identity checks through the official SDK against the running app, with a seeded local registry."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.support import sdk
from tests.support.servers import LiveServer
from wxflow.services import authority, idformat

PERSON_ID, PERSON = "370782198709170246", "小静"
MINOR_ID = sdk.valid_id_card("11010520150101001")
OTHER_ID = sdk.valid_id_card("44030019900101123")
GONE_ID = sdk.valid_id_card("11010519491231002")
UNKNOWN_ID = sdk.valid_id_card("32010219800101001")
CARD_OK = "6222020200112345678"[:-1]
PHONE_CMCC, PHONE_CUCC = "13800138000", "13012345678"


def luhn_complete(prefix: str) -> str:
    return next(prefix + d for d in "0123456789" if idformat.luhn_valid(prefix + d))


CARD_OK = luhn_complete("622202020011234567")  # 工商银行 BIN 622202
CARD_LOST = luhn_complete("622202020011234568")
CARD_UNKNOWN = luhn_complete("622202020099999999")


@pytest.fixture
def seeded(ctx, tmp_path):
    ids = tmp_path / "ids.csv"
    ids.write_text(
        "id_card,name,photo,validity_begin,validity_end,status\n"
        f"{PERSON_ID},{PERSON},,20150101,20350101,valid\n"
        f"{MINOR_ID},王小明,,,,valid\n"
        f"{OTHER_ID},阿依古丽•买买提,,20100101,00000000,valid\n"
        f"{GONE_ID},张三,,20000101,20200101,cancelled\n"
        f"{PERSON_ID},重复,,,,valid\n"
        "370782198709170247,坏号,,,,valid\n"
        f"{UNKNOWN_ID},李四,,2015,,valid\n",
        encoding="utf-8",
    )
    report = authority.import_csv(ctx, ids)
    assert report.added + report.updated == 4
    assert [e["line"] for e in report.errors] == [6, 7, 8]
    assert "duplicate ID number in this file (line 2)" in report.errors[0]["reason"]
    cards = tmp_path / "cards.csv"
    cards.write_text(
        "card,name,id_card,phone,state\n"
        f"{CARD_OK},{PERSON},{PERSON_ID},{PHONE_CMCC},normal\n"
        f"{CARD_LOST},{PERSON},{PERSON_ID},,lost\n"
        "6222020200112345670,坏卡,,,normal\n",
        encoding="utf-8",
    )
    report = authority.import_bank_cards(ctx, cards)
    assert (report.added + report.updated, report.errors) == (
        2,
        [{"line": 4, "reason": "card number fails the Luhn check"}],
    )
    phones = tmp_path / "phones.csv"
    phones.write_text(
        "phone,name,id_card,status,in_network_since\n"
        f"{PHONE_CMCC},{PERSON},{PERSON_ID},0,20100301\n"
        f"{PHONE_CUCC},王小明,{MINOR_ID},1,\n",
        encoding="utf-8",
    )
    report = authority.import_phones(ctx, phones)
    assert report.added + report.updated == 2
    return ctx


@pytest.fixture
def call(app, ctx, merchant, seeded):
    ctx.config = dataclasses.replace(ctx.config, rate_limit=0)
    with LiveServer(app) as server:
        common = sdk.common(merchant.SecretId, merchant.SecretKey, server.host_port)

        def _call(action: str, **params):
            return common.call_json(action, params)["Response"]

        _call.typed = sdk.client(merchant.SecretId, merchant.SecretKey, server.host_port)
        yield _call


def test_format_checks_need_no_authority():
    parsed, _ = idformat.parse_id_card(PERSON_ID)
    assert (parsed.division, parsed.birth_slash, parsed.gender) == ("山东省潍坊市诸城市", "1987/9/17", "女")
    assert idformat.parse_id_card("430512198908131367") == (None, "the check digit is wrong")
    assert "administrative division" in idformat.parse_id_card(sdk.valid_id_card("99010519491231002"))[1]
    assert "birth date" in idformat.parse_id_card(sdk.valid_id_card("11010520990101001"))[1]
    legacy, _ = idformat.parse_id_card("370782870917024")
    assert legacy.number == PERSON_ID and legacy.converted
    assert idformat.name_valid("阿依古丽·买买提") and not idformat.name_valid("阿依古丽··买买提")
    assert not idformat.name_valid("小") and not idformat.name_valid("小静1")
    assert idformat.luhn_valid(CARD_OK) and not idformat.luhn_valid(CARD_OK[:-1] + str((int(CARD_OK[-1]) + 1) % 10))
    info = idformat.bank_card_info(CARD_OK)
    assert info.bank == "工商银行" and info.account_type == 1
    assert idformat.phone_info(PHONE_CMCC)[0].isp == "移动" and idformat.phone_info(PHONE_CUCC)[0].isp == "联通"
    assert idformat.phone_info("12345678901") == (None, "range")
    assert idformat.phone_info("1380013800") == (None, "format")


def test_id_card_verification_codes_and_audit(call, ctx, app, merchant):
    typed = call.typed.IdCardVerification(sdk.request("IdCardVerificationRequest", IdCard=PERSON_ID, Name=PERSON))
    assert typed.Result == "0"
    assert call("IdCardVerification", IdCard=PERSON_ID, Name="小敬")["Result"] == "-1"
    assert call("IdCardVerification", IdCard="430512198908131367", Name="代用名")["Result"] == "-2"
    assert call("IdCardVerification", IdCard=PERSON_ID, Name="小静2")["Result"] == "-3"
    assert call("IdCardVerification", IdCard=UNKNOWN_ID, Name="李四")["Result"] == "-5"
    # The middle dot's look-alikes compare equal.
    assert call("IdCardVerification", IdCard=OTHER_ID, Name="阿依古丽·买买提")["Result"] == "0"
    rows = authority.audit_rows(ctx, merchant_id=merchant.id)
    assert [(r["result"], r["billed"]) for r in rows] == [
        ("0", True),
        ("-1", True),
        ("-2", False),
        ("-3", False),
        ("-5", False),
        ("0", True),
    ]
    assert rows[0]["subject"] == "3707**********0246 小*" and rows[0]["provider"] == "local"
    assert rows[2]["provider"] == "none"
    out = app.test_cli_runner().invoke(args=["registry", "audit"]).output
    assert out.splitlines()[0] == "time,merchant_id,request_id,action,subject,result,billed,provider"
    assert PERSON_ID not in out and PERSON not in out and "3707**********0246" in out


def test_daily_limit_is_not_billed(call, ctx, merchant):
    ctx.config = dataclasses.replace(ctx.config, identity_daily_limit=1)
    assert call("IdCardVerification", IdCard=PERSON_ID, Name=PERSON)["Result"] == "0"
    assert call("IdCardVerification", IdCard=PERSON_ID, Name=PERSON)["Result"] == "-7"
    assert call("IdCardVerification", IdCard=OTHER_ID, Name="阿依古丽·买买提")["Result"] == "0"
    assert [r["billed"] for r in authority.audit_rows(ctx, merchant_id=merchant.id)] == [True, False, True]


def test_check_id_name_date(call, ctx, merchant):
    def result(**kw):
        params = {"Name": PERSON, "IdCard": PERSON_ID, "ValidityBegin": "20150101", "ValidityEnd": "20350101"}
        return call("CheckIdNameDate", **{**params, **kw})["Result"]

    assert result() == "0"
    assert result(ValidityEnd="20250101") == "-1"
    assert result(IdCard="430512198908131367") == "-2"
    assert result(Name="X") == "-3"
    assert result(ValidityBegin="2015-01-01") == "-4"
    assert result(IdCard=GONE_ID, Name="张三", ValidityBegin="20000101", ValidityEnd="20200101") == "-5"
    assert result(IdCard=UNKNOWN_ID, Name="李四") == "-7"
    long_term = {"IdCard": OTHER_ID, "Name": "阿依古丽·买买提", "ValidityBegin": "20100101"}
    assert result(**long_term, ValidityEnd="00000000") == "0"
    # The SDK bills only "0" and "-1": "-5" 身份信息无效 is not billed.
    rows = authority.audit_rows(ctx, merchant_id=merchant.id)
    assert [(r["result"], r["billed"]) for r in rows] == [
        ("0", True), ("-1", True), ("-2", False), ("-3", False), ("-4", False), ("-5", False), ("-7", False),
        ("0", True),
    ]  # fmt: skip


def billed(ctx, merchant, since: int = 0) -> list[tuple[str, bool]]:
    return [(r["result"], r["billed"]) for r in authority.audit_rows(ctx, merchant_id=merchant.id)][since:]


AUTHORITY_SECRET = "s3cret"


@pytest.fixture
def upstream():
    """The loopback HTTP authority, holding the seeded registry's people, bank cards and phone numbers."""
    from tests.support.upstream import Upstream

    records = {PERSON_ID: {"name": PERSON, "validity_begin": "20150101", "validity_end": "20350101"}}
    bank_cards = {
        CARD_OK: {"name": PERSON, "id_card": PERSON_ID, "phone": PHONE_CMCC, "state": "normal"},
        CARD_LOST: {"name": PERSON, "id_card": PERSON_ID, "state": "lost"},
    }
    phones = {
        PHONE_CMCC: {
            "name": PERSON,
            "id_card": PERSON_ID,
            "carrier": "移动",
            "status": 0,
            "in_network_since": "20100301",
        },
        PHONE_CUCC: {"name": "王小明", "id_card": MINOR_ID, "carrier": "联通", "status": 1},
    }
    with Upstream(AUTHORITY_SECRET, records, bank_cards, phones) as server:
        yield server


def use_http_authority(ctx, upstream) -> None:
    """From now on the app asks ``upstream`` over HTTP: no retries, a breaker that stays closed."""
    from wxflow.services.providers import http

    http._BREAKERS.pop(upstream.url, None)  # a port reused from an earlier test starts with a fresh breaker
    ctx.config = dataclasses.replace(
        ctx.config, authority_provider="http", authority_url=upstream.url, authority_secret=AUTHORITY_SECRET,
        authority_key_id="wxflow-test", authority_timeout=2.0, authority_retries=0, authority_breaker_failures=50,
    )  # fmt: skip


def test_bank_cards(call, ctx, merchant, upstream):
    # The codes and billing of the SDK's BankCard2EVerification / BankCardVerification / BankCard4EVerification tables.
    two = call.typed.BankCard2EVerification(sdk.request("BankCard2EVerificationRequest", Name=PERSON, BankCard=CARD_OK))
    assert (two.Result, two.Description) == ("0", "认证通过")
    assert call("BankCard2EVerification", Name="小敬", BankCard=CARD_OK)["Result"] == "-1"
    assert call("BankCard2EVerification", Name="X", BankCard=CARD_OK)["Result"] == "-2"
    bad_luhn = call("BankCard2EVerification", Name=PERSON, BankCard="6222020200112345670")
    assert (bad_luhn["Result"], bad_luhn["Description"]) == ("-3", "银行卡号格式有误")
    assert call("BankCard2EVerification", Name=PERSON, BankCard=CARD_LOST)["Result"] == "-11"
    assert call("BankCard2EVerification", Name=PERSON, BankCard=CARD_UNKNOWN)["Result"] == "-7"
    assert billed(ctx, merchant) == [
        ("0", True), ("-1", True), ("-2", False), ("-3", False), ("-11", True), ("-7", True),
    ]  # fmt: skip
    three = call.typed.BankCardVerification(
        sdk.request("BankCardVerificationRequest", Name=PERSON, BankCard=CARD_OK, IdCard=PERSON_ID, CertType=0)
    )
    assert three.Result == "0"
    three = dict(Name=PERSON, BankCard=CARD_OK)
    assert call("BankCardVerification", **three, IdCard=OTHER_ID)["Result"] == "-1"
    assert call("BankCardVerification", Name="X", BankCard=CARD_OK, IdCard=PERSON_ID)["Result"] == "-2"
    assert call("BankCardVerification", **three, IdCard="123")["Result"] == "-3"
    assert call("BankCardVerification", Name=PERSON, BankCard="6222020200112345670", IdCard=PERSON_ID)["Result"] == "-4"
    assert call("BankCardVerification", Name=PERSON, BankCard=CARD_LOST, IdCard=PERSON_ID)["Result"] == "-12"
    assert call("BankCardVerification", Name=PERSON, BankCard=CARD_UNKNOWN, IdCard=PERSON_ID)["Result"] == "-8"
    # Only second-generation (18-digit) resident ID numbers, CertType 0: otherwise "-19", not billed.
    assert call("BankCardVerification", **three, IdCard=PERSON_ID, CertType=1)["Result"] == "-19"
    first_gen = call("BankCardVerification", **three, IdCard="370782870917024")
    assert (first_gen["Result"], first_gen["Description"]) == ("-19", "该证件号暂不支持核验，当前仅支持二代身份证")
    four = dict(Name=PERSON, BankCard=CARD_OK, IdCard=PERSON_ID)
    typed = call.typed.BankCard4EVerification(sdk.request("BankCard4EVerificationRequest", **four, Phone=PHONE_CMCC))
    assert typed.Result == "0"
    assert call("BankCard4EVerification", **four, Phone=PHONE_CUCC)["Result"] == "-1"
    assert call("BankCard4EVerification", **{**four, "IdCard": "123"}, Phone=PHONE_CMCC)["Result"] == "-3"
    assert (
        call("BankCard4EVerification", **{**four, "BankCard": "6222020200112345670"}, Phone=PHONE_CMCC)["Result"]
        == "-4"
    )
    assert call("BankCard4EVerification", **four, Phone="12345")["Result"] == "-5"
    assert call("BankCard4EVerification", **{**four, "BankCard": CARD_UNKNOWN}, Phone=PHONE_CMCC)["Result"] == "-9"
    lost = call("BankCard4EVerification", **{**four, "BankCard": CARD_LOST}, Phone=PHONE_CMCC)
    assert (lost["Result"], lost["Description"]) == ("-13", "此卡已挂失")
    assert call("BankCard4EVerification", **four, Phone=PHONE_CMCC, CertType=2)["Result"] == "-20"
    assert billed(ctx, merchant, 6) == [
        ("0", True), ("-1", True), ("-2", False), ("-3", False), ("-4", False), ("-12", True), ("-8", True),
        ("-19", False), ("-19", False),
        ("0", True), ("-1", True), ("-3", False), ("-4", False), ("-5", False), ("-9", True), ("-13", True),
        ("-20", False),
    ]  # fmt: skip
    with pytest.raises(TencentCloudSDKException) as err:
        call("BankCardVerification", Name=PERSON, BankCard=CARD_OK)
    assert err.value.code == "MissingParameter"
    # Card states each have their code; a state the table does not name is 卡状态异常或卡号错误.
    use_http_authority(ctx, upstream)
    for state, codes in (
        ("expired", ("-12", "-13", "-14")),
        ("pin", ("-14", "-15", "-16")),
        ("odd", ("-18", "-20", "-21")),
    ):
        upstream.bank_cards[CARD_OK]["state"] = state
        got = (
            call("BankCard2EVerification", Name=PERSON, BankCard=CARD_OK)["Result"],
            call("BankCardVerification", Name=PERSON, BankCard=CARD_OK, IdCard=PERSON_ID)["Result"],
            call("BankCard4EVerification", **four, Phone=PHONE_CMCC)["Result"],
        )
        assert got == codes, state
    upstream.mode = "failing"
    busy = call("BankCard4EVerification", **four, Phone=PHONE_CMCC)
    assert (busy["Result"], busy["Description"]) == ("-18", "验证中心服务繁忙")
    assert call("BankCardVerification", Name=PERSON, BankCard=CARD_OK, IdCard=PERSON_ID)["Result"] == "-17"
    assert call("BankCard2EVerification", Name=PERSON, BankCard=CARD_OK)["Result"] == "-16"
    ctx.config = dataclasses.replace(ctx.config, identity_daily_limit=1)
    limit = call("BankCard4EVerification", **four, Phone=PHONE_CMCC)  # billed once today already
    assert (limit["Result"], limit["Description"]) == ("-19", "验证次数超限，请次日重试")
    assert call("BankCardVerification", Name=PERSON, BankCard=CARD_OK, IdCard=PERSON_ID)["Result"] == "-18"
    assert call("BankCard2EVerification", Name=PERSON, BankCard=CARD_OK)["Result"] == "-17"
    assert billed(ctx, merchant, -15) == [
        ("-12", True), ("-13", True), ("-14", True), ("-14", True), ("-15", True), ("-16", True),
        ("-18", True), ("-20", True), ("-21", True),
        ("-18", False), ("-17", False), ("-16", False), ("-19", False), ("-18", False), ("-17", False),
    ]  # fmt: skip


def test_check_bank_card_information(call, ctx, merchant):
    typed = call.typed.CheckBankCardInformation(sdk.request("CheckBankCardInformationRequest", BankCard=CARD_OK))
    assert (typed.Result, typed.Description, typed.AccountBank, typed.AccountType) == ("0", "查询成功", "工商银行", 1)
    invalid = call("CheckBankCardInformation", BankCard="6222020200112345670")
    assert (invalid["Result"], invalid["Description"], invalid["AccountBank"]) == ("-5", "卡号无效", None)
    assert call("CheckBankCardInformation", BankCard=luhn_complete("100000000000000000"))["Result"] == "-1"
    ctx.config = dataclasses.replace(ctx.config, identity_daily_limit=1)
    assert call("CheckBankCardInformation", BankCard=CARD_OK)["Result"] == "-4"
    assert billed(ctx, merchant) == [("0", True), ("-5", True), ("-1", True), ("-4", False)]


def test_mobile_operator(call, ctx, merchant, upstream):
    ok = call("PhoneVerification", IdCard=PERSON_ID, Name=PERSON, Phone=PHONE_CMCC, VerifyMode="1")
    assert (ok["Result"], ok["Description"], ok["Isp"], ok["ResultDetail"]) == ("0", "三要素信息一致", "移动", None)
    typed = call.typed.PhoneVerification(
        sdk.request("PhoneVerificationRequest", IdCard=PERSON_ID, Name="小敬", Phone=PHONE_CMCC, VerifyMode="1")
    )
    assert (typed.Result, typed.ResultDetail) == ("-4", "PhoneNameMismatch")
    quiet = call("PhoneVerification", IdCard=OTHER_ID, Name=PERSON, Phone=PHONE_CMCC)
    assert (quiet["Result"], quiet["ResultDetail"]) == ("-4", None)
    detailed = call("PhoneVerification", IdCard=OTHER_ID, Name=PERSON, Phone=PHONE_CMCC, VerifyMode="1")
    assert detailed["ResultDetail"] == "PhoneIdCardMismatch"
    both = call("PhoneVerification", IdCard=OTHER_ID, Name="小敬", Phone=PHONE_CMCC, VerifyMode="1")
    assert both["ResultDetail"] == "PhoneNameIdCardMismatch"
    bad_phone = call("PhoneVerification", IdCard=PERSON_ID, Name=PERSON, Phone="1380013800")
    assert (bad_phone["Result"], bad_phone["Isp"]) == ("-6", "")  # Isp is one of "", 移动, 电信, 联通
    assert call("PhoneVerification", IdCard="123", Name=PERSON, Phone=PHONE_CMCC)["Result"] == "-7"
    assert call("PhoneVerification", IdCard=PERSON_ID, Name="1", Phone=PHONE_CMCC)["Result"] == "-8"
    assert call("PhoneVerification", IdCard=PERSON_ID, Name=PERSON, Phone="13900139000")["Result"] == "-9"
    assert call("PhoneVerification", IdCard=PERSON_ID, Name=PERSON, Phone="12345678901")["Result"] == "-13"
    cmcc = call.typed.PhoneVerificationCMCC(
        sdk.request("PhoneVerificationCMCCRequest", IdCard=PERSON_ID, Name=PERSON, Phone=PHONE_CMCC)
    )
    assert (cmcc.Result, cmcc.Description, cmcc.Isp) == ("0", "认证通过", "移动")
    mismatch = call("PhoneVerificationCMCC", IdCard=OTHER_ID, Name=PERSON, Phone=PHONE_CMCC)
    assert (mismatch["Result"], "ResultDetail" in mismatch) == ("-4", False)
    assert call("PhoneVerificationCUCC", IdCard=PERSON_ID, Name=PERSON, Phone=PHONE_CMCC)["Result"] == "-13"
    assert call("PhoneVerificationCUCC", IdCard=MINOR_ID, Name="王小明", Phone=PHONE_CUCC)["Result"] == "0"
    use_http_authority(ctx, upstream)

    def sha(text):
        return hashlib.sha256(text.encode()).hexdigest()

    hashed = dict(IdCard=sha(PERSON_ID), Name=sha(PERSON), Phone=sha(PHONE_CMCC), EncryptionMode="2")
    out = call("EncryptedPhoneVerification", **hashed)
    assert (out["Result"], out["ISP"]) == ("0", "移动")
    assert call("EncryptedPhoneVerification", **{**hashed, "IdCard": sha(OTHER_ID)})["Result"] == "-4"
    assert call("EncryptedPhoneVerification", **{**hashed, "Phone": sha("13900139000")})["Result"] == "-9"
    # A 广电 number whose record holds no ID number: the provider does not say which element differs.
    upstream.phones[PHONE_CMCC] = {"name": PERSON, "carrier": "广电"}
    other = call("PhoneVerification", IdCard=PERSON_ID, Name=PERSON, Phone=PHONE_CMCC, VerifyMode="1")
    assert (other["Result"], other["ResultDetail"], other["Isp"]) == ("-4", "OtherMismatch", "")
    upstream.mode = "failing"
    assert call("PhoneVerificationCTCC", IdCard=PERSON_ID, Name=PERSON, Phone="13300000000")["Result"] == "-11"
    # The single-carrier tables have no daily-limit code: the SDK's error code instead (not billed).
    ctx.config = dataclasses.replace(ctx.config, identity_daily_limit=1)
    assert call("PhoneVerification", IdCard=PERSON_ID, Name=PERSON, Phone=PHONE_CMCC)["Result"] == "-12"
    with pytest.raises(TencentCloudSDKException) as err:
        call("PhoneVerificationCMCC", IdCard=PERSON_ID, Name=PERSON, Phone=PHONE_CMCC)
    assert err.value.code == "FailedOperation.IdentityAuthLimitExceeded"
    assert billed(ctx, merchant)[-3:] == [
        ("-11", False), ("-12", False), ("FailedOperation.IdentityAuthLimitExceeded", False),
    ]  # fmt: skip


def test_check_phone_and_name(call, ctx, merchant, upstream):
    typed = call.typed.CheckPhoneAndName(sdk.request("CheckPhoneAndNameRequest", Mobile=PHONE_CMCC, Name=PERSON))
    assert (typed.Result, typed.Description) == ("0", "验证结果一致")
    assert call("CheckPhoneAndName", Mobile=PHONE_CMCC, Name="小敬")["Result"] == "1"
    assert call("CheckPhoneAndName", Mobile="13900139000", Name=PERSON)["Result"] == "-1"
    assert call("CheckPhoneAndName", Mobile=PHONE_CMCC, Name="1")["Result"] == "-4"
    assert call("CheckPhoneAndName", Mobile="1380013800", Name=PERSON)["Result"] == "-5"
    assert call("CheckPhoneAndName", Mobile="12345678901", Name=PERSON)["Result"] == "-13"
    use_http_authority(ctx, upstream)
    upstream.mode = "failing"
    assert call("CheckPhoneAndName", Mobile=PHONE_CMCC, Name=PERSON)["Result"] == "-3"
    assert (upstream.calls, upstream.bad_signatures) == (1, 0)  # the outage was the provider's 500
    ctx.config = dataclasses.replace(ctx.config, identity_daily_limit=1)
    assert call("CheckPhoneAndName", Mobile=PHONE_CMCC, Name=PERSON)["Result"] == "-6"
    assert billed(ctx, merchant) == [
        ("0", True), ("1", True), ("-1", False), ("-4", False), ("-5", False), ("-13", False), ("-3", False),
        ("-6", False),
    ]  # fmt: skip


def test_mobile_status_and_network_time(call, ctx, merchant, upstream):
    status = call.typed.MobileStatus(sdk.request("MobileStatusRequest", Mobile=PHONE_CUCC))
    assert (status.Result, status.StatusCode) == ("0", 1)
    assert call("MobileStatus", Phone=PHONE_CMCC)["StatusCode"] == 0  # wxflow's earlier name for Mobile
    missing = call("MobileStatus", Mobile="13900139000")
    assert (missing["Result"], missing["StatusCode"]) == ("-1", 99)
    assert call("MobileStatus", Mobile="1380013800")["Result"] == "-2"
    assert call("MobileStatus", Mobile="12345678901")["Result"] == "-13"
    network = call.typed.MobileNetworkTimeVerification(
        sdk.request("MobileNetworkTimeVerificationRequest", Mobile=PHONE_CMCC)
    )
    assert (network.Result, network.Range) == ("0", "[24,+)")
    assert call("MobileNetworkTimeVerification", Mobile="1380013800")["Result"] == "-1"
    assert call("MobileNetworkTimeVerification", Mobile="13900139000")["Result"] == "-2"
    unknown = call("MobileNetworkTimeVerification", Mobile=PHONE_CUCC)  # suspended, no in-network date
    assert (unknown["Result"], unknown["Description"], unknown["Range"]) == (
        "-3", "手机号存在，但无法查询到在网时长", None,
    )  # fmt: skip
    assert call("MobileNetworkTimeVerification", Mobile="12345678901")["Result"] == "-13"
    use_http_authority(ctx, upstream)
    upstream.mode = "failing"
    assert call("MobileStatus", Mobile=PHONE_CMCC)["Result"] == "-3"
    assert call("MobileNetworkTimeVerification", Mobile=PHONE_CMCC)["Result"] == "-4"
    assert (upstream.calls, upstream.bad_signatures) == (2, 0)
    ctx.config = dataclasses.replace(ctx.config, identity_daily_limit=1)
    assert call("MobileStatus", Mobile=PHONE_CUCC)["Result"] == "-4"
    assert call("MobileNetworkTimeVerification", Mobile=PHONE_CMCC)["Result"] == "-5"
    assert billed(ctx, merchant) == [
        ("0", True), ("0", True), ("-1", False), ("-2", False), ("-13", False),
        ("0", True), ("-1", False), ("-2", True), ("-3", True), ("-13", False),
        ("-3", False), ("-4", False), ("-4", False), ("-5", False),
    ]  # fmt: skip


def test_encrypted_phone_verification(call, ctx, merchant):
    for mode, algorithm in (("1", "md5"), ("2", "sha256"), ("3", "sm3")):

        def h(text, algorithm=algorithm):
            return hashlib.new(algorithm, text.encode()).hexdigest()

        hashed = call.typed.EncryptedPhoneVerification(
            sdk.request(
                "EncryptedPhoneVerificationRequest",
                IdCard=h(PERSON_ID),
                Name=h(PERSON),
                Phone=h(PHONE_CMCC),
                EncryptionMode=mode,
            )  # fmt: skip
        )
        assert (hashed.Result, hashed.Description, hashed.ISP) == ("0", "三要素信息一致", "移动"), algorithm
        wrong = call(
            "EncryptedPhoneVerification", IdCard=h(OTHER_ID), Name=h(PERSON), Phone=h(PHONE_CMCC), EncryptionMode=mode
        )
        assert wrong["Result"] == "-4"
    plain = dict(IdCard=PERSON_ID, Name=PERSON, Phone=PHONE_CMCC, EncryptionMode="0")  # "0": plain text
    assert call("EncryptedPhoneVerification", **plain)["Result"] == "0"
    assert call("EncryptedPhoneVerification", **{**plain, "Name": "小敬"})["Result"] == "-4"
    assert call("EncryptedPhoneVerification", **{**plain, "IdCard": "123"})["Result"] == "-7"
    bad = call("EncryptedPhoneVerification", **{**plain, "Phone": "12345"})
    assert (bad["Result"], bad["Description"], bad["ISP"]) == ("-8", "参数错误", "")
    assert call("EncryptedPhoneVerification", **{**plain, "Phone": "13900139000"})["Result"] == "-9"
    sha = dict(IdCard="0" * 64, Name="0" * 64, Phone="0" * 64, EncryptionMode="2")
    assert call("EncryptedPhoneVerification", **{**sha, "Phone": "xyz"})["Result"] == "-8"
    assert call("EncryptedPhoneVerification", **{**sha, "IdCard": "0" * 32})["Result"] == "-7"
    assert call("EncryptedPhoneVerification", **sha)["Result"] == "-9"
    with pytest.raises(TencentCloudSDKException) as err:
        call("EncryptedPhoneVerification", **{**plain, "EncryptionMode": "4"})
    assert err.value.code == "InvalidParameterValue"
    ctx.config = dataclasses.replace(ctx.config, identity_daily_limit=1)
    with pytest.raises(TencentCloudSDKException) as err:
        call("EncryptedPhoneVerification", **plain)
    assert err.value.code == "FailedOperation.IdentityAuthLimitExceeded"
    assert billed(ctx, merchant, 6) == [
        ("0", True), ("-4", True), ("-7", False), ("-8", False), ("-9", False), ("-8", False), ("-7", False),
        ("-9", False), ("FailedOperation.IdentityAuthLimitExceeded", False),
    ]  # fmt: skip


def test_minors_verification(call, ctx, merchant, upstream):
    # Type "0": Mobile (the holder's age); Type "1": IdCard + Name.
    adult = call.typed.MinorsVerification(
        sdk.request("MinorsVerificationRequest", Type="1", IdCard=PERSON_ID, Name=PERSON)
    )
    assert (adult.Result, adult.Description, adult.AgeRange) == ("0", "成年", "[18,+)")
    minor = call("MinorsVerification", Type="0", Mobile=PHONE_CUCC)
    assert minor["Result"] == "-1" and minor["AgeRange"] in ("[8,16)", "[0,8)")
    assert call("MinorsVerification", Type="0", Mobile=PHONE_CMCC, Name=PERSON)["AgeRange"] == "[18,+)"
    mismatch = call("MinorsVerification", Type="1", IdCard=PERSON_ID, Name="小敬")
    assert (mismatch["Result"], mismatch["Description"], mismatch["AgeRange"]) == ("-3", "姓名和身份证号不一致", None)
    assert call("MinorsVerification", Type="0", Mobile=PHONE_CMCC, Name="小敬")["Result"] == "-3"
    assert call("MinorsVerification", Type="0", Mobile="13900139000")["Result"] == "-2"
    assert call("MinorsVerification", Type="0", Mobile="1380013800")["Result"] == "-2"
    assert call("MinorsVerification", Type="1", IdCard="430512198908131367", Name=PERSON)["Result"] == "-4"
    assert call("MinorsVerification", Type="1", IdCard=PERSON_ID, Name="小静2")["Result"] == "-5"
    assert call("MinorsVerification", Type="1", IdCard=UNKNOWN_ID, Name="李四")["Result"] == "-7"
    for bad in ({"Type": "2", "IdCard": PERSON_ID, "Name": PERSON}, {"Type": "1", "IdCard": PERSON_ID}):
        with pytest.raises(TencentCloudSDKException) as err:
            call("MinorsVerification", **bad)
        assert err.value.code in ("InvalidParameterValue", "MissingParameter")
    use_http_authority(ctx, upstream)
    upstream.mode = "failing"
    assert call("MinorsVerification", Type="1", IdCard=PERSON_ID, Name=PERSON)["Result"] == "-6"
    upstream.mode = "upgrading"
    assert call("MinorsVerification", Type="1", IdCard=PERSON_ID, Name=PERSON)["Result"] == "-8"
    ctx.config = dataclasses.replace(ctx.config, identity_daily_limit=1)
    with pytest.raises(TencentCloudSDKException) as err:
        call("MinorsVerification", Type="1", IdCard=PERSON_ID, Name=PERSON)
    assert err.value.code == "FailedOperation.IdentityAuthLimitExceeded"
    assert billed(ctx, merchant) == [
        ("0", True), ("-1", True), ("0", True), ("-3", True), ("-3", True), ("-2", False), ("-2", False),
        ("-4", False), ("-5", False), ("-7", False), ("-6", False), ("-8", False),
        ("FailedOperation.IdentityAuthLimitExceeded", False),
    ]  # fmt: skip


def test_http_provider_outages_are_busy_never_mismatch(call, ctx, merchant):
    from tests.support.upstream import Upstream

    with Upstream("s3cret", {PERSON_ID: {"name": PERSON}}) as upstream:
        ctx.config = dataclasses.replace(
            ctx.config,
            authority_provider="http",
            authority_url=upstream.url,
            authority_secret="s3cret",
            authority_key_id="wxflow-test",
            authority_timeout=0.5,
            authority_retries=1,
            authority_breaker_failures=2,
            authority_breaker_reset=30,
        )
        assert call("IdCardVerification", IdCard=PERSON_ID, Name=PERSON)["Result"] == "0"
        assert call("IdCardVerification", IdCard=PERSON_ID, Name="小敬")["Result"] == "-1"
        assert call("IdCardVerification", IdCard=UNKNOWN_ID, Name="李四")["Result"] == "-5"
        assert upstream.bad_signatures == 0
        upstream.mode = "upgrading"
        assert call("IdCardVerification", IdCard=PERSON_ID, Name=PERSON)["Result"] == "-6"
        upstream.mode = "failing"
        before = upstream.calls
        assert call("IdCardVerification", IdCard=PERSON_ID, Name=PERSON)["Result"] == "-4"
        assert upstream.calls - before == 2  # one retry
        upstream.mode = "slow"
        upstream.delay = 1.0
        assert call("IdCardVerification", IdCard=PERSON_ID, Name=PERSON)["Result"] == "-4"
        # Two failed calls opened the breaker: no request reaches the provider now.
        upstream.mode = "ok"
        before = upstream.calls
        assert call("IdCardVerification", IdCard=PERSON_ID, Name=PERSON)["Result"] == "-4"
        assert (
            call("CheckIdNameDate", Name=PERSON, IdCard=PERSON_ID, ValidityBegin="20150101", ValidityEnd="20350101")[
                "Result"
            ]
            == "-6"
        )
        assert upstream.calls == before
        ctx.clock.advance(31)  # half-open: one trial call, which succeeds and closes it
        assert call("IdCardVerification", IdCard=PERSON_ID, Name=PERSON)["Result"] == "0"
        assert upstream.calls == before + 1
        upstream.stop()  # down: connection refused
        for _ in range(2):
            assert call("IdCardVerification", IdCard=PERSON_ID, Name=PERSON)["Result"] == "-4"
    ctx.config = dataclasses.replace(ctx.config, authority_secret="wrong", authority_url=upstream.url + "0")
    results = [r["result"] for r in authority.audit_rows(ctx, merchant_id=merchant.id)]
    assert "-1" not in results[3:]  # no outage was reported as a mismatch


def test_every_identity_action_has_an_example(app):
    from wxflow.api.faceid.identity_actions import IDENTITY_ACTIONS
    from wxflow.api.faceid.openapi import EXAMPLES

    assert set(IDENTITY_ACTIONS) <= set(EXAMPLES)
    assert json.dumps(EXAMPLES["PhoneVerification"], ensure_ascii=False)
    assert base64


SPECIMENS = "idcard/chineseocr"


@pytest.mark.slow
def test_ocr_reads_the_specimen_cards_in_any_orientation(call):
    import cv2

    from tests.support.data import data_path

    xiaojing = cv2.imread(str(data_path(SPECIMENS, "card_front_specimen_xiaojing_horizontal.png")))
    rotated = cv2.imencode(".png", cv2.rotate(xiaojing, cv2.ROTATE_90_CLOCKWISE))[1].tobytes()
    out = call(
        "IdCardOCRVerification",
        ImageBase64=base64.b64encode(rotated).decode(),
        Config='{"BorderCheckWarn": true, "Quality": true, "CopyWarn": true}',
    )
    assert (out["Result"], out["Name"], out["IdCard"], out["Sex"], out["Nation"], out["Birth"]) == (
        "0", PERSON, PERSON_ID, "女", "汉", "1987/9/17",
    )  # fmt: skip
    assert out["Address"] == "北京市海淀区西北旺东路100号中关村科技园"
    assert out["Portrait"] and 0 < out["Quality"] <= 100
    assert "-9108" not in (out["Warnings"] or "")  # a colour card is no black-and-white copy
    grey = cv2.cvtColor(cv2.cvtColor(xiaojing, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    copy = call(
        "IdCardOCRVerification",
        ImageBase64=base64.b64encode(cv2.imencode(".png", grey)[1].tobytes()).decode(),
        Config='{"CopyWarn": true}',
    )
    assert copy["Warnings"] and "-9108" in copy["Warnings"].split("|") and copy["Quality"] is None
    upside_down = data_path(SPECIMENS, "idcard-demo_front_specimen_daiyongming_rotated180.jpeg").read_bytes()
    card = call("IdCardOCRVerification", ImageBase64=base64.b64encode(upside_down).decode())
    assert (card["Result"], card["Name"], card["IdCard"], card["Sex"]) == ("-2", "代用名", "430512198908131367", "男")
    assert card["Address"] == "湖南省长沙市开福区巡道街幸福小区居民组"
    assert "check digit" in card["Description"] and card["Warnings"] is None
    info = call("CheckIdCardInformation", ImageBase64=base64.b64encode(upside_down).decode())
    assert (info["Result"], info["IdNum"]) == ("FailedOperation.IdFormatError", "430512198908131367")


@pytest.mark.slow
def test_check_id_card_information_compares_the_card_portrait_with_the_registry_photo(call, ctx, tmp_path):
    import cv2

    from tests.support import flows as drive
    from tests.support.data import data_path
    from tests.support.media import frame_at, jpeg_bytes
    from wxflow.vision.idcard import read_card

    card_path = data_path(SPECIMENS, "card_front_specimen_xiaojing_horizontal.png")
    card = base64.b64encode(card_path.read_bytes()).decode()
    photos = tmp_path / "photos"
    photos.mkdir()
    # The registry's photo is first someone else, then the card's own portrait crop (temp files only).
    (photos / "other.jpg").write_bytes(jpeg_bytes(frame_at(data_path(*drive.REAL_CLIP), 6.5)))
    (photos / "card.jpg").write_bytes(read_card(cv2.imread(str(card_path))).portrait)
    for photo, expected in (("other.jpg", "FailedOperation.CompareLowSimilarity"), ("card.jpg", "Success")):
        ids = tmp_path / f"ids-{photo}.csv"
        ids.write_text(f"id_card,name,photo\n{PERSON_ID},{PERSON},{photo}\n", encoding="utf-8")
        assert authority.import_csv(ctx, ids, photos).errors == []
        out = call("CheckIdCardInformation", ImageBase64=card)
        assert (out["Result"], out["IdNum"], out["Name"]) == (expected, PERSON_ID, PERSON), out["Description"]
        if expected == "Success":
            assert out["Sim"] >= 90  # the very crop it was registered with
        else:
            assert 0 < out["Sim"] < 70


def test_face_compares_take_the_reference_photo_from_the_http_provider(ctx, merchant, make_rule):
    from tests.support import flows as drive
    from tests.support.upstream import Upstream
    from wxflow.vision.face import compare, reference_embedding
    from wxflow.vision.image import decode_image

    photo = base64.b64decode(drive.same_person_photo_b64())
    records = {PERSON_ID: {"name": PERSON, "photo": photo}, UNKNOWN_ID: {"name": "李四"}}
    with Upstream("s3cret", records) as upstream:
        ctx.config = dataclasses.replace(
            ctx.config, authority_provider="http", authority_url=upstream.url, authority_secret="s3cret",
            authority_key_id="wxflow-test", authority_timeout=0.5, authority_retries=0,
            authority_breaker_failures=50,
        )  # fmt: skip
        with ctx.db.session() as s:
            match = authority.reference_for(ctx, s, PERSON_ID, PERSON)
            probe = reference_embedding(decode_image(photo, ctx.config.max_image_bytes), ctx.engines())
            assert compare(match.embedding, probe).sim > 95  # the provider's own photo, embedded here
            for id_card, name, status in ((PERSON_ID, "小敬", 2006), (UNKNOWN_ID, "李四", 2007)):
                with pytest.raises(authority.AuthorityMismatch) as info:
                    authority.reference_for(ctx, s, id_card, name)
                assert info.value.compare_status == status
            upstream.mode = "upgrading"
            with pytest.raises(authority.AuthorityMismatch) as info:
                authority.reference_for(ctx, s, PERSON_ID, PERSON)
            assert info.value.code == "FailedOperation.CompareFail" and info.value.compare_status == 2017
        # A flow comparing against the authority is started from the provider's answer too.
        upstream.mode = "ok"
        rule_id = make_rule(compare="authority")
        token = drive.start(ctx, merchant.id, rule_id, id_card=PERSON_ID, name=PERSON)
        assert len(token) == 36
        upstream.mode = "failing"
        with pytest.raises(authority.AuthorityMismatch) as info:
            drive.start(ctx, merchant.id, rule_id, id_card=PERSON_ID, name=PERSON)
        assert info.value.compare_status == 2001
