"""The real-name element checks: format checks first (not billed), then the configured authority.

Every check writes one audit row (``identity_checks``): merchant, action, masked subject, result, billed
or not, which provider answered. An unreachable authority gives the action's busy / upgrading code,
never a mismatch. Result tables are per action; docs/identity.md lists them with their sources.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, select

from wxflow.clock import as_utc
from wxflow.db.models import IdentityCheck
from wxflow.errors import ServiceError
from wxflow.logs import mask_id_card, mask_name, request_id_var
from wxflow.services.context import ServiceContext
from wxflow.services.idformat import (
    IdNumber,
    bank_card_info,
    luhn_valid,
    name_valid,
    normalise_name,
    parse_id_card,
    phone_info,
)
from wxflow.services.providers import AuthorityUnavailable, PhoneAnswer, Provider, provider_for

log = logging.getLogger(__name__)


def mask_phone(value: str | None) -> str:
    return value[:3] + "****" + value[-4:] if value and len(value) >= 8 else "*" * len(value or "")


def mask_card(value: str | None) -> str:
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if value and len(value) > 10 else "*" * len(value or "")


@dataclass
class Check:
    """One check in progress: what to audit once its result is known."""

    ctx: ServiceContext
    merchant_id: int | None
    action: str
    subject: str  # masked
    subject_key: str
    provider: str = "none"

    def finish(self, result: str, billed: bool) -> None:
        with self.ctx.db.session() as s:
            s.add(
                IdentityCheck(
                    merchant_id=self.merchant_id,
                    request_id=request_id_var.get(),
                    action=self.action,
                    subject=self.subject[:128],
                    subject_key=self.subject_key,
                    result=result,
                    billed=billed,
                    provider=self.provider,
                    created_at=self.ctx.clock.now(),
                )
            )
        log.info("%s %s -> %s (billed=%s, provider=%s)", self.action, self.subject, result, billed, self.provider)

    def over_daily_limit(self) -> bool:
        limit = self.ctx.config.identity_daily_limit
        if limit <= 0:
            return False
        midnight = datetime.combine(self.ctx.clock.now().date(), time(0), tzinfo=self.ctx.clock.now().tzinfo)
        with self.ctx.db.session() as s:
            used = s.scalar(
                select(func.count(IdentityCheck.id)).where(
                    IdentityCheck.merchant_id == self.merchant_id,
                    IdentityCheck.subject_key == self.subject_key,
                    IdentityCheck.billed.is_(True),
                    IdentityCheck.created_at >= midnight,
                )
            )
        return (used or 0) >= limit


def _check(ctx: ServiceContext, merchant_id: int | None, action: str, parts: list[tuple[str, str | None]]) -> Check:
    masks = {"id": mask_id_card, "name": mask_name, "phone": mask_phone, "card": mask_card, "hash": lambda v: "#"}
    subject = " ".join(masks[kind](value) for kind, value in parts if value)
    full = "|".join(f"{kind}={value or ''}" for kind, value in parts)
    key = hmac.new(ctx.keyring.derive("wxflow/identity-subject/v1"), full.encode(), hashlib.sha256).hexdigest()
    return Check(ctx, merchant_id, action, subject or "-", key)


def _provider(ctx: ServiceContext, check: Check) -> Provider:
    provider = provider_for(ctx)
    check.provider = provider.name
    return provider


def _done(check: Check, table: dict[str, str], billed: set[str], result: str, **fields: Any) -> dict[str, Any]:
    check.finish(result, result in billed)
    return {"Result": result, "Description": table[result], **fields}


# --- ID number + name ------------------------------------------------------------------------------

ID_RESULTS = {
    "0": "姓名和身份证号一致",
    "-1": "姓名和身份证号不一致",
    "-2": "非法身份证号（长度、校验位等不正确）",
    "-3": "非法姓名（长度、格式等不正确）",
    "-4": "证件库服务异常",
    "-5": "证件库中无此身份证记录",
    "-6": "权威比对系统升级中，请稍后再试",
    "-7": "认证次数超过当日限制",
}
ID_BILLED = {"0", "-1"}


def id_card_verification(
    ctx: ServiceContext, merchant_id: int | None, id_card: str, name: str, action: str = "IdCardVerification"
) -> dict[str, Any]:
    """IdCardVerification's Result and Description (also the identity step of OCR verification)."""
    check = _check(ctx, merchant_id, action, [("id", id_card), ("name", name)])
    parsed, _ = parse_id_card(id_card)
    if parsed is None or len(id_card.strip()) != 18:
        return _done(check, ID_RESULTS, ID_BILLED, "-2")
    if not name_valid(normalise_name(name)):
        return _done(check, ID_RESULTS, ID_BILLED, "-3")
    if check.over_daily_limit():
        return _done(check, ID_RESULTS, ID_BILLED, "-7")
    try:
        answer = _provider(ctx, check).identity(parsed.number, normalise_name(name))
    except AuthorityUnavailable as exc:
        return _done(check, ID_RESULTS, ID_BILLED, "-6" if exc.kind == "upgrading" else "-4")
    if not answer.found:
        return _done(check, ID_RESULTS, ID_BILLED, "-5")
    return _done(check, ID_RESULTS, ID_BILLED, "0" if answer.name_matches else "-1")


DATE_RESULTS = {
    "0": "姓名、身份证号、有效期一致",
    "-1": "姓名、身份证号或有效期不一致",
    "-2": "非法身份证号（长度、校验位等不正确）",
    "-3": "非法姓名（长度、格式等不正确）",
    "-4": "非法有效期（长度、格式等不正确）",
    "-5": "身份信息无效",
    "-6": "证件库服务异常",
    "-7": "证件库中无此身份证记录",
    "-8": "认证次数超过当日限制，请次日重试",
}


def _yyyymmdd(value: str, long_term_ok: bool) -> bool:
    if long_term_ok and value == "00000000":
        return True
    if not re.fullmatch(r"\d{8}", value or ""):
        return False
    try:
        date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return True


def check_id_name_date(
    ctx: ServiceContext, merchant_id: int | None, name: str, id_card: str, begin: str, end: str
) -> dict[str, Any]:
    check = _check(ctx, merchant_id, "CheckIdNameDate", [("id", id_card), ("name", name)])
    parsed, _ = parse_id_card(id_card)
    if parsed is None or len(id_card.strip()) != 18:
        return _done(check, DATE_RESULTS, ID_BILLED, "-2")
    if not name_valid(normalise_name(name)):
        return _done(check, DATE_RESULTS, ID_BILLED, "-3")
    if not _yyyymmdd(begin, False) or not _yyyymmdd(end, True) or (end != "00000000" and end <= begin):
        return _done(check, DATE_RESULTS, ID_BILLED, "-4")
    if check.over_daily_limit():
        return _done(check, DATE_RESULTS, ID_BILLED, "-8")
    try:
        answer = _provider(ctx, check).identity(parsed.number, normalise_name(name))
    except AuthorityUnavailable:
        return _done(check, DATE_RESULTS, ID_BILLED, "-6")
    if not answer.found:
        return _done(check, DATE_RESULTS, ID_BILLED, "-7")
    if answer.status != "valid":
        return _done(check, DATE_RESULTS, ID_BILLED, "-5")  # not billed, as the SDK's table says
    if answer.validity_begin is None or answer.validity_end is None:
        # The authority holds the identity but not this card's dates: it cannot confirm them.
        return _done(check, DATE_RESULTS, ID_BILLED, "-7")
    same = answer.name_matches and (answer.validity_begin, answer.validity_end) == (begin, end)
    return _done(check, DATE_RESULTS, ID_BILLED, "0" if same else "-1")


# --- bank cards ------------------------------------------------------------------------------------

# Result codes are positions in these lists ("0", "-1", ...), as in the SDK's tables: 2E is name + card;
# 3E inserts the ID-number code after the name code and 4E also the phone code after the card code; 3E
# and 4E add the certificate-type code after the limit code, and all end with 卡状态异常或卡号错误.
_BANK_CARD = [("card", "银行卡号格式有误")]
_BANK_TAIL = [
    ("holder", "持卡人信息有误"),
    ("no_cardless", "未开通无卡支付"),
    ("confiscated", "此卡被没收"),
    ("invalid", "无效卡号"),
    ("no_issuer", "此卡无对应发卡行"),
    ("dormant", "该卡未初始化或睡眠卡"),
    ("cheat", "作弊卡、吞卡"),
    ("lost", "此卡已挂失"),
    ("expired", "该卡已过期"),
    ("restricted", "受限制的卡"),
    ("pin", "密码错误次数超限"),
    ("unsupported", "发卡行不支持此交易"),
    ("busy", "验证中心服务繁忙"),
    ("limit", "验证次数超限，请次日重试"),
]
_BANK_HEAD = [("ok", "认证通过"), ("fail", "认证未通过"), ("name", "姓名校验不通过")]
_ID = [("id", "身份证号码有误")]
_CERT = [("cert_type", "该证件号暂不支持核验，当前仅支持二代身份证")]
_ABNORMAL = [("abnormal", "卡状态异常或卡号错误")]
BANK_TABLES = {
    2: _BANK_HEAD + _BANK_CARD + _BANK_TAIL + _ABNORMAL,
    3: _BANK_HEAD + _ID + _BANK_CARD + _BANK_TAIL + _CERT + _ABNORMAL,
    4: _BANK_HEAD + _ID + _BANK_CARD + [("phone", "手机号码不合法")] + _BANK_TAIL + _CERT + _ABNORMAL,
}
# Not billed (the SDK's 不收费 codes): format failures, busy, the daily limit, an unsupported certificate.
# Everything the authority says about the card is billed, "no such card" (无效卡号 / 无对应发卡行) included.
BANK_NOT_BILLED = {"name", "id", "card", "phone", "busy", "limit", "cert_type"}
# Card states a provider may report, each with its own code; any other state is 卡状态异常或卡号错误.
BANK_STATES = {key for key, _ in _BANK_TAIL} - BANK_NOT_BILLED


def bank_card_verification(
    ctx: ServiceContext,
    merchant_id: int | None,
    action: str,
    name: str,
    card: str,
    id_card: str | None = None,
    phone: str | None = None,
    cert_type: int = 0,
) -> dict[str, Any]:
    elements = 2 + (id_card is not None) + (phone is not None)
    table = BANK_TABLES[elements]
    codes = {key: ("0" if i == 0 else f"-{i}") for i, (key, _) in enumerate(table)}
    texts = {codes[key]: text for key, text in table}
    billed = {code for key, code in codes.items() if key not in BANK_NOT_BILLED}
    card = (card or "").replace(" ", "")
    check = _check(ctx, merchant_id, action, [("card", card), ("name", name), ("id", id_card), ("phone", phone)])

    def done(key: str) -> dict[str, Any]:
        return _done(check, texts, billed, codes[key])

    if not name_valid(normalise_name(name)):
        return done("name")
    parsed: IdNumber | None = None
    if id_card is not None:
        if cert_type != 0:
            return done("cert_type")
        parsed, _ = parse_id_card(id_card)
        if parsed is None:
            return done("id")
        if parsed.converted:  # a valid 15-digit (first-generation) number
            return done("cert_type")
    if not luhn_valid(card):
        return done("card")
    if phone is not None and phone_info(phone)[0] is None:
        return done("phone")
    if check.over_daily_limit():
        return done("limit")
    try:
        answer = _provider(ctx, check).bank_card(
            card,
            normalise_name(name),
            parsed.number if parsed else None,
            phone_info(phone)[0].number if phone else None,
        )
    except AuthorityUnavailable:
        return done("busy")
    if not answer.found:
        return done("invalid" if bank_card_info(card) else "no_issuer")
    if answer.state != "normal":
        return done(answer.state if answer.state in BANK_STATES else "abnormal")
    matches = [answer.name_matches, answer.id_matches, answer.phone_matches]
    return done("ok" if all(m is not False for m in matches) and answer.name_matches else "fail")


CARD_INFO_RESULTS = {
    "0": "查询成功",
    "-1": "未查到信息",
    "-2": "验证中心服务繁忙",
    "-3": "银行卡不存在",
    "-4": "认证次数超过当日限制，请次日重试",
    "-5": "卡号无效",
    "-6": "暂不支持该银行卡种",
}
CARD_INFO_BILLED = {"0", "-1", "-5"}


def check_bank_card_information(ctx: ServiceContext, merchant_id: int | None, card: str) -> dict[str, Any]:
    """Issuing bank and card type from the BIN table: no authority call.

    The SDK bills "-5" 卡号无效 (here: the number fails the Luhn check) and "-1" 未查到信息 (no BIN
    matches), so the daily limit ("-4") is checked before either.
    """
    card = (card or "").replace(" ", "")
    check = _check(ctx, merchant_id, "CheckBankCardInformation", [("card", card)])

    def done(result: str, bank: str | None = None, kind: int | None = None) -> dict[str, Any]:
        return _done(check, CARD_INFO_RESULTS, CARD_INFO_BILLED, result, AccountBank=bank, AccountType=kind)

    if check.over_daily_limit():
        return done("-4")
    if not luhn_valid(card):
        return done("-5")
    info = bank_card_info(card)
    if info is None:
        return done("-1")
    return done("0", info.bank, info.account_type)


# --- mobile operator -------------------------------------------------------------------------------

PHONE_RESULTS = {
    "0": "三要素信息一致",
    "-4": "三要素信息不一致",
    "-6": "手机号码不合法",
    "-7": "身份证号码有误",
    "-8": "姓名校验不通过",
    "-9": "没有记录",
    "-11": "验证中心服务繁忙",
    "-12": "认证次数超过当日限制，请次日重试",
    "-13": "该号段不支持验证",
}
PHONE_BILLED = {"0", "-4"}
# The single-carrier actions' table: PhoneVerification's without "-12" and with their own texts for 0 / -4.
CARRIER_RESULTS = {
    **{k: v for k, v in PHONE_RESULTS.items() if k != "-12"},
    "0": "认证通过",
    "-4": "信息不一致（手机号已实名，但姓名和身份证号与实名信息不一致）",
}
CARRIER_ACTIONS = {"PhoneVerificationCMCC": "移动", "PhoneVerificationCTCC": "电信", "PhoneVerificationCUCC": "联通"}
# Isp / ISP take these values only (the SDK's range); 广电, virtual operators and unknown ranges give "".
ISPS = ("移动", "电信", "联通")

LIMIT_ERROR = "FailedOperation.IdentityAuthLimitExceeded"


def _isp(value: str | None) -> str:
    return value if value in ISPS else ""


def _limit_error(check: Check) -> ServiceError:
    """The daily limit where the action's Result table has no code for it: the SDK's error code instead."""
    check.finish(LIMIT_ERROR, False)
    return ServiceError(LIMIT_ERROR, "认证次数超过当日限制，请次日重试")


def _detail(answer: PhoneAnswer) -> str:
    """ResultDetail of a "-4" in VerifyMode "1" (详版)."""
    if answer.name_matches is False and answer.id_matches is False:
        return "PhoneNameIdCardMismatch"
    if answer.id_matches is False:
        return "PhoneIdCardMismatch"
    if answer.name_matches is False:
        return "PhoneNameMismatch"
    return "OtherMismatch"


def phone_verification(
    ctx: ServiceContext,
    merchant_id: int | None,
    action: str,
    id_card: str,
    name: str,
    phone: str,
    verify_mode: str = "0",
) -> dict[str, Any]:
    check = _check(ctx, merchant_id, action, [("phone", phone), ("id", id_card), ("name", name)])
    info, why = phone_info(phone)
    isp = _isp(info.isp if info else None)
    table = CARRIER_RESULTS if action in CARRIER_ACTIONS else PHONE_RESULTS

    def done(result: str, detail: str | None = None) -> dict[str, Any]:
        out = _done(check, table, PHONE_BILLED, result, Isp=isp)
        if action == "PhoneVerification":
            out["ResultDetail"] = detail if verify_mode == "1" else None
        return out

    if info is None:
        return done("-6" if why == "format" else "-13")
    if action in CARRIER_ACTIONS and info.isp != CARRIER_ACTIONS[action]:
        return done("-13")
    parsed, _ = parse_id_card(id_card)
    if parsed is None or len(id_card.strip()) != 18:
        return done("-7")
    if not name_valid(normalise_name(name)):
        return done("-8")
    if check.over_daily_limit():
        if action in CARRIER_ACTIONS:
            raise _limit_error(check)
        return done("-12")
    try:
        answer = _provider(ctx, check).phone(info.number, normalise_name(name), parsed.number)
    except AuthorityUnavailable:
        return done("-11")
    if not answer.found:
        return done("-9")
    isp = _isp(answer.carrier or isp)
    if answer.name_matches and answer.id_matches:
        return done("0")
    return done("-4", _detail(answer))


ENCRYPTED_PHONE_RESULTS = {
    "0": "三要素信息一致",
    "-4": "三要素信息不一致",
    "-7": "身份证号码有误",
    "-8": "参数错误",
    "-9": "没有记录",
    "-11": "验证中心服务繁忙",
}
# EncryptionMode: "0" plain text, "1" MD5, "2" SHA256, "3" SM3 (the SDK's request docstring).
ENCRYPTION_MODES = {"0": None, "1": "md5", "2": "sha256", "3": "sm3"}
_HEX_LENGTH = {"md5": 32, "sha256": 64, "sm3": 64}


def encrypted_phone_verification(
    ctx: ServiceContext, merchant_id: int | None, id_card: str, name: str, phone: str, mode: str
) -> dict[str, Any]:
    """PhoneVerification with the three elements in plain text or as hex digests (md5 / sha256 / sm3).

    Its table has no phone / name / range / limit codes: a bad phone number (format or range) or name is
    "-8" 参数错误, the daily limit ``FailedOperation.IdentityAuthLimitExceeded``.
    """
    if mode not in ENCRYPTION_MODES:
        raise ServiceError(
            "InvalidParameterValue", "EncryptionMode must be 0 (plain text), 1 (MD5), 2 (SHA256) or 3 (SM3)"
        )
    algorithm = ENCRYPTION_MODES[mode]

    def done(check: Check, result: str, isp: str | None = None) -> dict[str, Any]:
        return _done(check, ENCRYPTED_PHONE_RESULTS, PHONE_BILLED, result, ISP=_isp(isp))

    if algorithm is None:
        check = _check(
            ctx, merchant_id, "EncryptedPhoneVerification", [("phone", phone), ("id", id_card), ("name", name)]
        )
        info, _ = phone_info(phone)
        parsed, _ = parse_id_card(id_card)
        if parsed is None or len(id_card.strip()) != 18:
            return done(check, "-7")
        if info is None or not name_valid(normalise_name(name)):
            return done(check, "-8")
        if check.over_daily_limit():
            raise _limit_error(check)
        try:
            answer = _provider(ctx, check).phone(info.number, normalise_name(name), parsed.number)
        except AuthorityUnavailable:
            return done(check, "-11")
        carrier = answer.carrier or info.isp
    else:
        check = _check(ctx, merchant_id, "EncryptedPhoneVerification", [("hash", phone)])
        check.subject = f"{algorithm}:{(phone or '')[:6]}…"
        hexes = {"phone": phone, "id": id_card, "name": name}
        bad = [k for k, v in hexes.items() if not re.fullmatch(rf"[0-9a-fA-F]{{{_HEX_LENGTH[algorithm]}}}", v or "")]
        if bad:
            return done(check, "-7" if "id" in bad else "-8")
        if check.over_daily_limit():
            raise _limit_error(check)
        try:
            answer = _provider(ctx, check).phone_hashed(algorithm, phone.lower(), name.lower(), id_card.lower())
        except AuthorityUnavailable:
            return done(check, "-11")
        carrier = answer.carrier
    if not answer.found:
        return done(check, "-9")
    return done(check, "0" if answer.name_matches and answer.id_matches else "-4", carrier)


NAME_PHONE_RESULTS = {
    "0": "验证结果一致",
    "1": "验证结果不一致",
    "-1": "查无记录",
    "-2": "引擎未知错误",
    "-3": "引擎服务异常",
    "-4": "姓名校验不通过",
    "-5": "手机号码不合法",
    "-6": "认证次数超过当日限制，请次日重试",
    "-13": "该号段不支持验证",
}
NAME_PHONE_BILLED = {"0", "1"}


def check_phone_and_name(ctx: ServiceContext, merchant_id: int | None, mobile: str, name: str) -> dict[str, Any]:
    check = _check(ctx, merchant_id, "CheckPhoneAndName", [("phone", mobile), ("name", name)])

    def done(result: str) -> dict[str, Any]:
        return _done(check, NAME_PHONE_RESULTS, NAME_PHONE_BILLED, result)

    info, why = phone_info(mobile)
    if info is None:
        return done("-5" if why == "format" else "-13")
    if not name_valid(normalise_name(name)):
        return done("-4")
    if check.over_daily_limit():
        return done("-6")
    try:
        answer = _provider(ctx, check).phone(info.number, normalise_name(name), None)
    except AuthorityUnavailable:
        return done("-3")
    if not answer.found:
        return done("-1")
    return done("0" if answer.name_matches else "1")


STATUS_RESULTS = {
    "0": "成功",
    "-1": "未查询到结果",
    "-2": "手机号格式不正确",
    "-3": "验证中心服务繁忙",
    "-4": "认证次数超过当日限制，请次日重试",
    "-13": "该号段不支持验证",
}


def mobile_status(ctx: ServiceContext, merchant_id: int | None, mobile: str) -> dict[str, Any]:
    check = _check(ctx, merchant_id, "MobileStatus", [("phone", mobile)])

    def done(result: str, status: int | None = None) -> dict[str, Any]:
        return _done(check, STATUS_RESULTS, {"0"}, result, StatusCode=status)

    info, why = phone_info(mobile)
    if info is None:
        return done("-2" if why == "format" else "-13")
    if check.over_daily_limit():
        return done("-4")
    try:
        answer = _provider(ctx, check).phone(info.number, None, None)
    except AuthorityUnavailable:
        return done("-3")
    if not answer.found:
        return done("-1", 99)
    return done("0", answer.status)


NETWORK_TIME_RESULTS = {
    "0": "成功",
    "-1": "手机号格式不正确",
    "-2": "手机号不存在",
    "-3": "手机号存在，但无法查询到在网时长",
    "-4": "验证中心服务繁忙",
    "-5": "认证次数超过当日限制，请次日重试",
    "-13": "该号段不支持验证",
}
NETWORK_TIME_BILLED = {"0", "-2", "-3"}
RANGES = ((3, "[0,3)"), (6, "[3,6)"), (12, "[6,12)"), (24, "[12,24)"))
CANCELLED = 2  # StatusCode 销号


def _months_between(since: date, today: date) -> int:
    return (today.year - since.year) * 12 + today.month - since.month - (today.day < since.day)


def mobile_network_time(ctx: ServiceContext, merchant_id: int | None, mobile: str) -> dict[str, Any]:
    check = _check(ctx, merchant_id, "MobileNetworkTimeVerification", [("phone", mobile)])

    def done(result: str, label: str | None = None) -> dict[str, Any]:
        return _done(check, NETWORK_TIME_RESULTS, NETWORK_TIME_BILLED, result, Range=label)

    info, why = phone_info(mobile)
    if info is None:
        return done("-1" if why == "format" else "-13")
    if check.over_daily_limit():
        return done("-5")
    try:
        answer = _provider(ctx, check).phone(info.number, None, None)
    except AuthorityUnavailable:
        return done("-4")
    if not answer.found or answer.status == CANCELLED:
        return done("-2")
    if answer.status != 0 or not answer.in_network_since:
        return done("-3")
    s = answer.in_network_since
    months = _months_between(date(int(s[:4]), int(s[4:6]), int(s[6:])), as_utc(ctx.clock.now()).date())
    return done("0", next((text for bound, text in RANGES if months < bound), "[24,+)"))


MINOR_RESULTS = {
    "0": "成年",
    "-1": "未成年",
    "-2": "未查询到手机号信息",
    "-3": "姓名和身份证号不一致",
    "-4": "非法身份证号（长度、校验位等不正确）",
    "-5": "非法姓名（长度、格式等不正确）",
    "-6": "权威数据源服务异常",
    "-7": "未查询到身份信息",
    "-8": "权威数据源升级中，请稍后再试",
}
MINOR_BILLED = {"0", "-1", "-3"}
AGE_RANGES = ((8, "[0,8)"), (16, "[8,16)"), (18, "[16,18)"))


def minors_verification(
    ctx: ServiceContext,
    merchant_id: int | None,
    kind: str,
    mobile: str | None,
    id_card: str | None,
    name: str | None,
) -> dict[str, Any]:
    """Type "0": Mobile (age from the holder's ID number; a Name given is checked against the holder's);
    Type "1": IdCard + Name. The SDK's table has no daily-limit code: that is
    ``FailedOperation.IdentityAuthLimitExceeded``."""
    if kind not in ("0", "1"):
        raise ServiceError("InvalidParameterValue", 'Type must be "0" (Mobile) or "1" (IdCard and Name)')
    if kind == "1" and not (id_card and name):
        raise ServiceError("MissingParameter", 'Type "1" needs IdCard and Name')
    subject = [("phone", mobile)] if kind == "0" else [("id", id_card)]
    check = _check(ctx, merchant_id, "MinorsVerification", [*subject, ("name", name)])

    def done(result: str, label: str | None = None) -> dict[str, Any]:
        return _done(check, MINOR_RESULTS, MINOR_BILLED, result, AgeRange=label)

    if kind == "1":
        parsed, _ = parse_id_card(id_card)
        if parsed is None:
            return done("-4")
    else:
        info, _ = phone_info(mobile)
        if info is None:
            return done("-2")
    if name is not None and not name_valid(normalise_name(name)):
        return done("-5")
    if check.over_daily_limit():
        raise _limit_error(check)
    try:
        provider = _provider(ctx, check)
        if kind == "1":
            id_answer = provider.identity(parsed.number, normalise_name(name))
            found, matches, birth = id_answer.found, id_answer.name_matches, parsed.birth
            if not found:
                return done("-7")
        else:
            ph = provider.phone(info.number, normalise_name(name) if name is not None else None, None)
            if not ph.found:
                return done("-2")
            matches = ph.name_matches is not False
            b = ph.holder_birth or ""
            birth = date(int(b[:4]), int(b[4:6]), int(b[6:])) if len(b) == 8 else None
    except AuthorityUnavailable as exc:
        return done("-8" if exc.kind == "upgrading" else "-6")
    if birth is None:
        return done("-7")
    if not matches:
        return done("-3")
    today = as_utc(ctx.clock.now()).date()
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    return done("0" if age >= 18 else "-1", next((text for bound, text in AGE_RANGES if age < bound), "[18,+)"))


# --- the identity step of a flow (E证通) -------------------------------------------------------------

# SaaS compare codes (spec section 6) for the identity step, with their texts.
FLOW_IDENTITY_CODES = {
    0: "成功",
    302: "身份证已过期",
    2001: "权威比对服务繁忙，请稍后再试",
    2005: "公民身份信息库中无此身份证记录或身份信息无效",
    2006: "姓名和身份证号不一致",
    2007: "权威库中无此人照片",
    2017: "权威比对系统升级中，请稍后再试",
}


def flow_identity_step(ctx: ServiceContext, merchant_id: int | None, action: str, id_card: str, name: str) -> int:
    """Ask the configured authority whether this identity exists and is valid: 0, or a SaaS compare code.

    The caller has already checked the formats. Billed when the authority answered about the person
    (found: 0, 302, 2006, or 2005 for a cancelled identity); not for no record, busy (2001) or upgrading
    (2017). One audit row, like every check.
    """
    check = _check(ctx, merchant_id, action, [("id", id_card), ("name", name)])
    billed = False
    try:
        answer = _provider(ctx, check).identity(id_card, normalise_name(name))
    except AuthorityUnavailable as exc:
        code = 2017 if exc.kind == "upgrading" else 2001
    else:
        billed = answer.found
        if not answer.found or answer.status in ("cancelled", "dead", "invalid"):
            code = 2005
        elif not answer.name_matches:
            code = 2006
        elif answer.status == "expired":
            code = 302
        else:
            code = 0
    check.finish(str(code), billed)
    return code
