"""Merchants (API credentials) and their rules (one business flow each)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from wxflow.crypto import new_secret, new_secret_id
from wxflow.db.models import Merchant, Rule
from wxflow.errors import ServiceError
from wxflow.services.context import ServiceContext

# Liveness modes measured on real recordings and offered to every rule.
IMPLEMENTED_LIVENESS = ("silent", "action")
# Modes the engine judges for real but whose accuracy is not yet measured on real recordings (digit:
# Mandarin only on synthetic speech; light and flash: synthesised positives). A deployment opts in
# with WXFLOW_EXPERIMENTAL_LIVENESS; otherwise they are refused, never faked.
PLANNED_LIVENESS = ("digit", "light", "flash")


def liveness_available(ctx: ServiceContext, mode: str) -> bool:
    return mode in IMPLEMENTED_LIVENESS or (mode in PLANNED_LIVENESS and mode in ctx.config.experimental_modes)


IMPLEMENTED_COMPARE = ("photo", "authority", "none")
PLANNED_COMPARE: tuple[str, ...] = ()
THRESHOLDS = {"1e-3": 70.0, "1e-4": 80.0}  # Sim pass marks: 千一 and 万一 (spec section 5)


@dataclass(frozen=True)
class MerchantCredentials:
    id: int
    SecretId: str
    SecretKey: str
    WebhookSecret: str


def create_merchant(ctx: ServiceContext, name: str) -> MerchantCredentials:
    name = name.strip()
    if not name or len(name) > 128:
        raise ServiceError("InvalidParameterValue", "a merchant name of 1-128 characters is required")
    secret_id, secret_key, webhook_secret = new_secret_id(), new_secret(30), new_secret(32)
    with ctx.db.session() as s:
        merchant = Merchant(
            name=name,
            secret_id=secret_id,
            secret_key_sealed=ctx.secrets.seal_text(secret_key, aad=secret_id),
            webhook_secret_sealed=ctx.secrets.seal_text(webhook_secret, aad=f"webhook:{secret_id}"),
            disabled=False,
            created_at=ctx.clock.now(),
        )
        s.add(merchant)
        s.flush()
        return MerchantCredentials(merchant.id, secret_id, secret_key, webhook_secret)


@dataclass(frozen=True)
class MerchantAuth:
    merchant_id: int
    secret_key: str


def credentials_for(ctx: ServiceContext, secret_id: str) -> MerchantAuth | None:
    """The SecretKey to check a TC3 signature with, or None for an unknown or disabled SecretId."""
    with ctx.db.session() as s:
        merchant = s.scalar(select(Merchant).where(Merchant.secret_id == secret_id))
        if merchant is None or merchant.disabled:
            return None
        return MerchantAuth(merchant.id, ctx.secrets.open_text(merchant.secret_key_sealed, aad=secret_id))


def webhook_secret(ctx: ServiceContext, merchant: Merchant) -> str:
    return ctx.secrets.open_text(merchant.webhook_secret_sealed, aad=f"webhook:{merchant.secret_id}")


def _check_url(url: str, what: str) -> str:
    if not url.startswith(("http://", "https://")) or len(url) > 1024:
        raise ServiceError("InvalidParameterValue", f"{what} must be an http:// or https:// URL of at most 1024 chars")
    return url


def create_rule(
    ctx: ServiceContext,
    *,
    merchant_secret_id: str,
    liveness: str,
    compare: str,
    redirect_prefixes: list[str],
    callback_url: str | None = None,
    max_attempts: int | None = None,
    threshold: str = "1e-3",
    wechat_appid: str | None = None,
    wechat_secret: str | None = None,
    id_card_ocr: bool = False,
) -> str:
    if liveness in PLANNED_LIVENESS and not liveness_available(ctx, liveness):
        raise ServiceError(
            "UnsupportedOperation",
            f"liveness mode {liveness!r} is not implemented for production yet "
            "(not measured on real recordings; a deployment may opt in with WXFLOW_EXPERIMENTAL_LIVENESS)",
        )
    if not liveness_available(ctx, liveness):
        raise ServiceError("InvalidParameterValue", f"unknown liveness mode {liveness!r}")
    if compare in PLANNED_COMPARE:
        raise ServiceError("UnsupportedOperation", f"compare source {compare!r} is not implemented yet")
    if compare not in IMPLEMENTED_COMPARE:
        raise ServiceError("InvalidParameterValue", f"unknown compare source {compare!r}")
    if threshold not in THRESHOLDS:
        raise ServiceError("InvalidParameterValue", "threshold must be 1e-3 or 1e-4")
    if not redirect_prefixes:
        raise ServiceError("MissingParameter", "at least one redirect prefix is required")
    prefixes = [_check_url(p, "a redirect prefix") for p in redirect_prefixes]
    if callback_url:
        _check_url(callback_url, "the callback URL")
    attempts = ctx.config.max_attempts if max_attempts is None else max_attempts
    if not 1 <= attempts <= 20:
        raise ServiceError("InvalidParameterValue", "max attempts must be between 1 and 20")
    if bool(wechat_appid) != bool(wechat_secret):
        raise ServiceError("InvalidParameterValue", "give both the WeChat appid and its secret, or neither")
    with ctx.db.session() as s:
        merchant = s.scalar(select(Merchant).where(Merchant.secret_id == merchant_secret_id))
        if merchant is None:
            raise ServiceError("AuthFailure.SecretIdNotFound", f"no merchant with SecretId {merchant_secret_id}")
        rule_id = _new_rule_id(s)
        s.add(
            Rule(
                id=rule_id,
                merchant_id=merchant.id,
                liveness_mode=liveness,
                compare_source=compare,
                redirect_prefixes=prefixes,
                callback_url=callback_url or None,
                max_attempts=attempts,
                threshold=threshold,
                wechat_appid=wechat_appid or None,
                wechat_secret_sealed=ctx.secrets.seal_text(wechat_secret, aad=f"wechat:{rule_id}")
                if wechat_secret
                else None,
                id_card_ocr=id_card_ocr,
                disabled=False,
                created_at=ctx.clock.now(),
            )
        )
    return rule_id


def _new_rule_id(session: Any) -> str:
    # Tencent's RuleIds are short digit strings; random ones do not leak how many rules exist.
    while True:
        candidate = str(secrets.randbelow(9 * 10**8) + 10**8)
        if session.get(Rule, candidate) is None:
            return candidate


def rule_summary(rule: Rule, secret_id: str) -> dict[str, Any]:
    return {
        "RuleId": rule.id,
        "Merchant": secret_id,
        "Liveness": rule.liveness_mode,
        "Compare": rule.compare_source,
        "RedirectPrefixes": list(rule.redirect_prefixes),
        "CallbackUrl": rule.callback_url,
        "MaxAttempts": rule.max_attempts,
        "Threshold": rule.threshold,
        "WechatAppId": rule.wechat_appid,
        "IdCardOcr": rule.id_card_ocr,
        "Disabled": rule.disabled,
    }


def list_rules(ctx: ServiceContext, merchant_secret_id: str | None = None) -> list[dict[str, Any]]:
    with ctx.db.session() as s:
        query = select(Rule, Merchant.secret_id).join(Merchant, Merchant.id == Rule.merchant_id)
        if merchant_secret_id:
            query = query.where(Merchant.secret_id == merchant_secret_id)
        return [rule_summary(rule, sid) for rule, sid in s.execute(query.order_by(Rule.created_at))]


def set_id_card_ocr(ctx: ServiceContext, rule_id: str, enabled: bool) -> None:
    """Turn the rule's ID-card OCR step on or off; flows already started keep what they began with."""
    with ctx.db.session() as s:
        rule = s.get(Rule, rule_id)
        if rule is None:
            raise ServiceError("InvalidParameterValue.RuleIdNotExist", f"no rule {rule_id}")
        rule.id_card_ocr = enabled


def disable_rule(ctx: ServiceContext, rule_id: str) -> None:
    with ctx.db.session() as s:
        rule = s.get(Rule, rule_id)
        if rule is None:
            raise ServiceError("InvalidParameterValue.RuleIdNotExist", f"no rule {rule_id}")
        rule.disabled = True
