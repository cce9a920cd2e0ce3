"""Decisions behind the H5 verification page: whether to run WeChat web OAuth first, and its callback.

When the flow's rule carries WeChat credentials and the page is opened inside WeChat, the user goes
through ``snsapi_base`` OAuth once; the callback binds the flow to the openid (``binding.bind_user``)
and hands the browser the device key as a cookie. The OAuth ``state`` is signed (BizToken, expiry,
HMAC), so a callback cannot be pointed at another flow. WeChat may call the callback twice with the
same code: the first exchange's device key is remembered for the code's lifetime, so the second call
gets the same answer instead of WeChat's 40163 "code been used".
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass

from wxflow import wechat
from wxflow.crypto import constant_time_equal
from wxflow.db.models import Flow, Rule
from wxflow.errors import ServiceError
from wxflow.services import binding
from wxflow.services.context import ServiceContext
from wxflow.services.flows import FINAL_STATES

STATE_TTL = 600  # seconds the user has between leaving for WeChat's authorize page and coming back
CODE_TTL = 300  # WeChat's codes live about 5 minutes; the first answer is remembered that long
CODE_RACE_WAIT = 3.0  # a second callback racing the first waits this long for the first's answer
_TOKEN_RE = re.compile(r"[0-9A-F]{32}")


def in_wechat(user_agent: str | None) -> bool:
    """The WeChat in-app browser names itself ``MicroMessenger`` in its User-Agent."""
    return "micromessenger" in (user_agent or "").lower()


@dataclass(frozen=True)
class OAuthDone:
    biz_token: str
    device_key: str


def _state_key(ctx: ServiceContext) -> bytes:
    return ctx.keyring.derive("wxflow/h5-oauth-state/v1")


def sign_state(ctx: ServiceContext, biz_token: str) -> str:
    """An OAuth ``state`` naming the flow; WeChat allows only [A-Za-z0-9], at most 128 bytes."""
    compact = biz_token.replace("-", "").upper()
    expires = int(ctx.clock.timestamp()) + STATE_TTL
    mac = hmac.new(_state_key(ctx), f"{compact}{expires}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{compact}{expires}{mac}"


def open_state(ctx: ServiceContext, state: str) -> str:
    """The BizToken a state was signed for; refuses a forged, altered or stale one."""
    if not state or len(state) > 128 or not state.isalnum() or len(state) < 32 + 10 + 32:
        raise ServiceError("InvalidParameterValue", "the WeChat sign-in state is not valid", http_status=400)
    compact, expires, mac = state[:32], state[32:-32], state[-32:]
    good = hmac.new(_state_key(ctx), f"{compact}{expires}".encode(), hashlib.sha256).hexdigest()[:32]
    if not constant_time_equal(good, mac) or not _TOKEN_RE.fullmatch(compact) or not expires.isdigit():
        raise ServiceError("InvalidParameterValue", "the WeChat sign-in state is not valid", http_status=400)
    if int(expires) < ctx.clock.timestamp():
        raise ServiceError(
            "InvalidParameterValue", "the WeChat sign-in took too long; open the link again", http_status=400
        )
    c = compact
    return f"{c[:8]}-{c[8:12]}-{c[12:16]}-{c[16:20]}-{c[20:]}"


def _key_fits(ctx: ServiceContext, flow: Flow, device_key: str | None) -> bool:
    try:
        binding.check_device(ctx, flow, device_key)
    except binding.BoundToAnotherUser:
        return False
    return flow.openid_sealed is not None or not device_key


def oauth_redirect(
    ctx: ServiceContext, biz_token: str, user_agent: str | None, device_key: str | None, callback_url: str
) -> str | None:
    """The WeChat authorize URL the browser must visit first, or None to show the page now.

    OAuth runs only inside WeChat, for a live flow whose rule has WeChat credentials, and only while
    this browser holds no valid device key for it (so returning from the callback does not loop).
    """
    if not in_wechat(user_agent):
        return None
    with ctx.db.session() as s:
        flow = s.get(Flow, biz_token)
        if flow is None or flow.state in FINAL_STATES or flow.rule_id is None:
            return None
        rule = s.get(Rule, flow.rule_id)
        if rule is None or not rule.wechat_appid or not rule.wechat_secret_sealed:
            return None
        if device_key and flow.openid_sealed is not None and _key_fits(ctx, flow, device_key):
            return None
        app_id = rule.wechat_appid
    return wechat.authorize_url(app_id, callback_url, sign_state(ctx, biz_token), ctx.config.wechat_oauth_base)


def _code_cache_key(ctx: ServiceContext, code: str) -> str:
    return f"{ctx.config.queue_prefix}:h5:oauth-code:{hashlib.sha256(code.encode()).hexdigest()}"


def _remembered(ctx: ServiceContext, code: str, biz_token: str) -> str | None:
    raw = ctx.queue.connection.get(_code_cache_key(ctx, code))
    if raw is None:
        return None
    token, _, key = raw.decode().partition(" ")
    return key if token == biz_token else None


def complete_oauth(
    ctx: ServiceContext, state: str, code: str, device_key: str | None = None, callback_url: str = ""
) -> OAuthDone:
    """Exchange the code, bind the flow to the openid and return the device key (idempotent per code)."""
    biz_token = open_state(ctx, state)
    if not code:
        raise ServiceError("InvalidParameterValue", "WeChat sent no sign-in code", http_status=400)
    remembered = _remembered(ctx, code, biz_token)
    if remembered:
        return OAuthDone(biz_token, remembered)
    with ctx.db.session() as s:
        flow = s.get(Flow, biz_token)
        if flow is None:
            raise ServiceError("InvalidParameterValue.BizTokenIllegal", "unknown verification token", http_status=404)
        rule = s.get(Rule, flow.rule_id) if flow.rule_id else None
        if rule is None or not rule.wechat_appid or not rule.wechat_secret_sealed:
            raise ServiceError("InvalidParameterValue", "this verification does not use WeChat sign-in")
        app_id = rule.wechat_appid
        secret = ctx.secrets.open_text(rule.wechat_secret_sealed, aad=f"wechat:{rule.id}")
        key_fits = device_key is not None and flow.openid_sealed is not None and _key_fits(ctx, flow, device_key)
    try:
        user = wechat.exchange_oauth_code(app_id, secret, code, ctx.config.wechat_api_base, callback_url)
    except wechat.WeChatError as exc:
        if exc.errcode == wechat.CODE_BEEN_USED:
            # The same callback twice: the first may still be finishing; this browser may hold the key.
            deadline = time.monotonic() + CODE_RACE_WAIT
            while time.monotonic() < deadline:
                remembered = _remembered(ctx, code, biz_token)
                if remembered:
                    return OAuthDone(biz_token, remembered)
                time.sleep(0.1)
            if key_fits and device_key:
                return OAuthDone(biz_token, device_key)
            raise ServiceError(
                "FailedOperation.OAuthCodeUsed",
                "this WeChat sign-in was already used; open the link again",
                http_status=409,
            ) from None
        raise ServiceError(
            "FailedOperation.WeChatSignInFailed", f"WeChat sign-in failed ({exc.errcode})", http_status=502
        ) from None
    key = binding.bind_user(ctx, biz_token, user.openid, "oauth")
    ctx.queue.connection.set(_code_cache_key(ctx, code), f"{biz_token} {key}", ex=CODE_TTL)
    return OAuthDone(biz_token, key)
