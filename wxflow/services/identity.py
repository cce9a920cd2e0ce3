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
    "-4": "非法有效期（格式不正确）",
    "-5": "身份信息无效",
    "-6": "证件库服务异常",
    "-7": "证件库中无此身份证记录",
    "-8": "认证次数超过当日限制",
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
        return _done(check, DATE_RESULTS, ID_BILLED | {"-5"}, "-5")
    if answer.validity_begin is None or answer.validity_end is None:
        # The authority holds the identity but not this card's dates: it cannot confirm them.
        return _done(check, DATE_RESULTS, ID_BILLED, "-7")
    same = answer.name_matches and (answer.validity_begin, answer.validity_end) == (begin, end)
    return _done(check, DATE_RESULTS, ID_BILLED, "0" if same else "-1")


# --- bank cards ------------------------------------------------------------------------------------

# Result codes are positions in these lists ("0", "-1", ...). 2E is the spec's; 3E inserts the ID-number
# code after the name code and 4E also the phone code after the card code, as Tencent's tables do.
_BANK_CARD = [("card", "银行卡号码有误")]
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
    ("busy", "服务繁忙"),
    ("limit", "验证次数超限"),
]
_BANK_HEAD = [("ok", "认证通过"), ("fail", "认证未通过"), ("name", "姓名校验不通过")]
_ID = [("id", "身份证号码有误")]
BANK_TABLES = {
    2: _BANK_HEAD + _BANK_CARD + _BANK_TAIL,
    3: _BANK_HEAD + _ID + _BANK_CARD + _BANK_TAIL,
    4: _BANK_HEAD + _ID + _BANK_CARD + [("phone", "手机号码不合法")] + _BANK_TAIL,
}
# Billed: the authority answered about this card. Not billed: format failures, no record, busy, limit.
BANK_BILLED = {
    "ok",
    "fail",
    "holder",
    "no_cardless",
    "confiscated",
    "dormant",
    "cheat",
    "lost",
    "expired",
    "restricted",
}


def bank_card_verification(
    ctx: ServiceContext,
    merchant_id: int | None,
    action: str,
    name: str,
    card: str,
    id_card: str | None = None,
    phone: str | None = None,
) -> dict[str, Any]:
    elements = 2 + (id_card is not None) + (phone is not None)
    table = BANK_TABLES[elements]
    codes = {key: ("0" if i == 0 else f"-{i}") for i, (key, _) in enumerate(table)}
    texts = {codes[key]: text for key, text in table}
    billed = {codes[k] for k in BANK_BILLED}
    card = (card or "").replace(" ", "")
    check = _check(ctx, merchant_id, action, [("card", card), ("name", name), ("id", id_card), ("phone", phone)])

    def done(key: str) -> dict[str, Any]:
        return _done(check, texts, billed, codes[key])

    if not name_valid(normalise_name(name)):
        return done("name")
    parsed: IdNumber | None = None
    if id_card is not None:
        parsed, _ = parse_id_card(id_card)
        if parsed is None or len(id_card.strip()) != 18:
            return done("id")
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
        return done(answer.state if answer.state in codes else "restricted")
    matches = [answer.name_matches, answer.id_matches, answer.phone_matches]
    return done("ok" if all(m is not False for m in matches) and answer.name_matches else "fail")


CARD_INFO_RESULTS = {"0": "查询成功", "-1": "未查询到银行卡信息", "-2": "银行卡号码有误"}


def check_bank_card_information(ctx: ServiceContext, merchant_id: int | None, card: str) -> dict[str, Any]:
    """Issuing bank and card type from the BIN table: no authority call."""
    card = (card or "").replace(" ", "")
    check = _check(ctx, merchant_id, "CheckBankCardInformation", [("card", card)])
    if not luhn_valid(card):
        return _done(check, CARD_INFO_RESULTS, {"0"}, "-2", AccountBank=None, AccountType=None)
    info = bank_card_info(card)
    if info is None:
        return _done(check, CARD_INFO_RESULTS, {"0"}, "-1", AccountBank=None, AccountType=None)
    return _done(check, CARD_INFO_RESULTS, {"0"}, "0", AccountBank=info.bank, AccountType=info.account_type)


# --- mobile operator -------------------------------------------------------------------------------

PHONE_RESULTS = {
    "0": "认证一致",
    "-4": "三要素信息不一致",
    "-6": "手机号码不合法",
    "-7": "身份证号码有误",
    "-8": "姓名校验不通过",
    "-9": "没有记录",
    "-11": "验证中心服务繁忙",
    "-12": "认证次数超过当日限制",
    "-13": "号段不支持（不是该运营商或非大陆手机号段）",
}
PHONE_BILLED = {"0", "-4"}
CARRIER_ACTIONS = {"PhoneVerificationCMCC": "移动", "PhoneVerificationCTCC": "电信", "PhoneVerificationCUCC": "联通"}


def _detail(answer: PhoneAnswer) -> str | None:
    if answer.name_matches is False and answer.id_matches is False:
        return "PhoneNameIdCardMismatch"
    if answer.id_matches is False:
        return "PhoneIdCardMismatch"
    if answer.name_matches is False:
        return "PhoneNameMismatch"
    return None


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
    isp = info.isp if info else None

    def done(result: str, detail: str | None = None) -> dict[str, Any]:
        out = _done(check, PHONE_RESULTS, PHONE_BILLED, result, Isp=isp)
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
        return done("-12")
    try:
        answer = _provider(ctx, check).phone(info.number, normalise_name(name), parsed.number)
    except AuthorityUnavailable:
        return done("-11")
    if not answer.found:
        return done("-9")
    isp = answer.carrier or isp
    if answer.name_matches and answer.id_matches:
        return done("0")
    return done("-4", _detail(answer))


ENCRYPTION_MODES = {"0": "md5", "1": "sha256", "2": "sm3"}
_HEX_LENGTH = {"md5": 32, "sha256": 64, "sm3": 64}


def encrypted_phone_verification(
    ctx: ServiceContext, merchant_id: int | None, id_card: str, name: str, phone: str, mode: str
) -> dict[str, Any]:
    """PhoneVerification with the three elements given as hex digests (md5 / sha256 / sm3)."""
    algorithm = ENCRYPTION_MODES.get(mode)
    if algorithm is None:
        raise ServiceError("InvalidParameterValue", "EncryptionMode must be 0 (MD5), 1 (SHA256) or 2 (SM3)")
    check = _check(ctx, merchant_id, "EncryptedPhoneVerification", [("hash", phone)])
    check.subject = f"{algorithm}:{(phone or '')[:6]}…"
    hexes = {"phone": phone, "id": id_card, "name": name}
    bad = [k for k, v in hexes.items() if not re.fullmatch(rf"[0-9a-fA-F]{{{_HEX_LENGTH[algorithm]}}}", v or "")]
    code_for = {"phone": "-6", "id": "-7", "name": "-8"}
    if bad:
        return _done(check, PHONE_RESULTS, PHONE_BILLED, code_for[bad[0]], ISP=None)
    if check.over_daily_limit():
        return _done(check, PHONE_RESULTS, PHONE_BILLED, "-12", ISP=None)
    try:
        answer = _provider(ctx, check).phone_hashed(algorithm, phone.lower(), name.lower(), id_card.lower())
    except AuthorityUnavailable:
        return _done(check, PHONE_RESULTS, PHONE_BILLED, "-11", ISP=None)
    if not answer.found:
        return _done(check, PHONE_RESULTS, PHONE_BILLED, "-9", ISP=None)
    result = "0" if answer.name_matches and answer.id_matches else "-4"
    return _done(check, PHONE_RESULTS, PHONE_BILLED, result, ISP=answer.carrier)


NAME_PHONE_RESULTS = {
    "0": "手机号与姓名一致",
    "-1": "手机号与姓名不一致",
    "-2": "手机号码不合法",
    "-3": "姓名校验不通过",
    "-4": "没有记录",
    "-5": "验证中心服务繁忙",
    "-6": "认证次数超过当日限制",
}


def check_phone_and_name(ctx: ServiceContext, merchant_id: int | None, mobile: str, name: str) -> dict[str, Any]:
    check = _check(ctx, merchant_id, "CheckPhoneAndName", [("phone", mobile), ("name", name)])
    info, _ = phone_info(mobile)
    if info is None:
        return _done(check, NAME_PHONE_RESULTS, {"0", "-1"}, "-2")
    if not name_valid(normalise_name(name)):
        return _done(check, NAME_PHONE_RESULTS, {"0", "-1"}, "-3")
    if check.over_daily_limit():
        return _done(check, NAME_PHONE_RESULTS, {"0", "-1"}, "-6")
    try:
        answer = _provider(ctx, check).phone(info.number, normalise_name(name), None)
    except AuthorityUnavailable:
        return _done(check, NAME_PHONE_RESULTS, {"0", "-1"}, "-5")
    if not answer.found:
        return _done(check, NAME_PHONE_RESULTS, {"0", "-1"}, "-4")
    return _done(check, NAME_PHONE_RESULTS, {"0", "-1"}, "0" if answer.name_matches else "-1")


STATUS_RESULTS = {"0": "成功", "-1": "未查询到结果", "-2": "手机号格式不正确", "-3": "验证中心服务繁忙"}


def mobile_status(ctx: ServiceContext, merchant_id: int | None, phone: str) -> dict[str, Any]:
    check = _check(ctx, merchant_id, "MobileStatus", [("phone", phone)])
    info, _ = phone_info(phone)
    if info is None:
        return _done(check, STATUS_RESULTS, {"0"}, "-2", StatusCode=None)
    try:
        answer = _provider(ctx, check).phone(info.number, None, None)
    except AuthorityUnavailable:
        return _done(check, STATUS_RESULTS, {"0"}, "-3", StatusCode=None)
    if not answer.found:
        return _done(check, STATUS_RESULTS, {"0"}, "-1", StatusCode=99)
    return _done(check, STATUS_RESULTS, {"0"}, "0", StatusCode=answer.status)


NETWORK_TIME_RESULTS = {
    "0": "成功",
    "-1": "手机号不在网",
    "-2": "手机号不存在",
    "-3": "手机号格式不正确",
    "-4": "验证中心服务繁忙",
}
RANGES = ((3, "[0,3)"), (6, "[3,6)"), (12, "[6,12)"), (24, "[12,24)"))


def _months_between(since: date, today: date) -> int:
    return (today.year - since.year) * 12 + today.month - since.month - (today.day < since.day)


def mobile_network_time(ctx: ServiceContext, merchant_id: int | None, mobile: str) -> dict[str, Any]:
    check = _check(ctx, merchant_id, "MobileNetworkTimeVerification", [("phone", mobile)])
    info, _ = phone_info(mobile)
    if info is None:
        return _done(check, NETWORK_TIME_RESULTS, {"0"}, "-3", Range=None)
    try:
        answer = _provider(ctx, check).phone(info.number, None, None)
    except AuthorityUnavailable:
        return _done(check, NETWORK_TIME_RESULTS, {"0"}, "-4", Range=None)
    if not answer.found:
        return _done(check, NETWORK_TIME_RESULTS, {"0"}, "-2", Range=None)
    if answer.status != 0 or not answer.in_network_since:
        return _done(check, NETWORK_TIME_RESULTS, {"0"}, "-1", Range=None)
    s = answer.in_network_since
    months = _months_between(date(int(s[:4]), int(s[4:6]), int(s[6:])), as_utc(ctx.clock.now()).date())
    label = next((text for bound, text in RANGES if months < bound), "[24,+)")
    return _done(check, NETWORK_TIME_RESULTS, {"0"}, "0", Range=label)


MINOR_RESULTS = {
    "0": "成年",
    "-1": "未成年",
    "-2": "手机号码不合法",
    "-3": "身份证号码不合法",
    "-4": "姓名校验不通过",
    "-5": "身份信息不一致",
    "-6": "权威数据源服务异常",
    "-7": "没有记录",
    "-8": "认证次数超过当日限制",
}
AGE_RANGES = ((8, "[0,8)"), (16, "[8,16)"), (18, "[16,18)"))


def minors_verification(
    ctx: ServiceContext, merchant_id: int | None, kind: str, mobile: str | None, id_card: str | None, name: str
) -> dict[str, Any]:
    """Type "1": Mobile + Name (age from the holder's ID number); Type "2": IdCard + Name."""
    if kind not in ("1", "2"):
        raise ServiceError("InvalidParameterValue", 'Type must be "1" (mobile) or "2" (ID number)')
    subject = [("phone", mobile)] if kind == "1" else [("id", id_card)]
    check = _check(ctx, merchant_id, "MinorsVerification", [*subject, ("name", name)])
    billed = {"0", "-1", "-5"}

    def by_birth(birth: date) -> dict[str, Any]:
        today = as_utc(ctx.clock.now()).date()
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        label = next((text for bound, text in AGE_RANGES if age < bound), "[18,+)")
        return _done(check, MINOR_RESULTS, billed, "0" if age >= 18 else "-1", AgeRange=label)

    if not name_valid(normalise_name(name)):
        return _done(check, MINOR_RESULTS, billed, "-4", AgeRange=None)
    if kind == "2":
        parsed, _ = parse_id_card(id_card)
        if parsed is None:
            return _done(check, MINOR_RESULTS, billed, "-3", AgeRange=None)
    else:
        info, _ = phone_info(mobile)
        if info is None:
            return _done(check, MINOR_RESULTS, billed, "-2", AgeRange=None)
    if check.over_daily_limit():
        return _done(check, MINOR_RESULTS, billed, "-8", AgeRange=None)
    try:
        provider = _provider(ctx, check)
        if kind == "2":
            id_answer = provider.identity(parsed.number, normalise_name(name))
            found, matches, birth = id_answer.found, id_answer.name_matches, parsed.birth
        else:
            ph = provider.phone(info.number, normalise_name(name), None)
            found, matches = ph.found, bool(ph.name_matches)
            b = ph.holder_birth or ""
            birth = date(int(b[:4]), int(b[4:6]), int(b[6:])) if len(b) == 8 else None
    except AuthorityUnavailable:
        return _done(check, MINOR_RESULTS, billed, "-6", AgeRange=None)
    if not found or birth is None:
        return _done(check, MINOR_RESULTS, billed, "-7", AgeRange=None)
    if not matches:
        return _done(check, MINOR_RESULTS, billed, "-5", AgeRange=None)
    return by_birth(birth)


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
