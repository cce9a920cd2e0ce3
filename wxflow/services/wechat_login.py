"""Mini-program login: a ``wx.login`` code for a flow becomes a binding to the user's openid.

The flow's rule holds the merchant's mini-program appid and (sealed) secret; the code is exchanged
with WeChat's ``jscode2session`` and the flow is bound to the openid it returns. What comes back is the
device key the mini-program sends as ``X-Wxflow-Device`` on every later device-API call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from wxflow import wechat
from wxflow.db.models import Rule
from wxflow.errors import Gone, NotFound, ServiceError
from wxflow.services import binding
from wxflow.services.context import ServiceContext

log = logging.getLogger(__name__)

VIA = "miniprogram"

# jscode2session errcodes (spec section 7) the user or the mini-program can act on.
_BUSY = -1
_RATE_LIMITED = 45011


@dataclass(frozen=True)
class MiniProgramCredentials:
    app_id: str
    secret: str


def credentials_for(ctx: ServiceContext, biz_token: str) -> MiniProgramCredentials:
    """The WeChat appid and secret of the rule that started the flow; refuses flows that cannot log in."""
    from wxflow.services.flows import expire_if_due, load_for_update

    with ctx.db.session() as s:
        flow = load_for_update(s, biz_token)
        if flow is None:
            raise NotFound("InvalidParameterValue.BizTokenIllegal", "unknown verification token")
        if expire_if_due(ctx, s, flow):
            s.commit()
            raise Gone("InvalidParameterValue.BizTokenExpired", "this verification has expired")
        if flow.state == "expired":
            raise Gone("InvalidParameterValue.BizTokenExpired", "this verification has expired")
        rule = s.get(Rule, flow.rule_id) if flow.rule_id else None
        if rule is None:
            raise ServiceError(
                "UnsupportedOperation.FlowWithoutRule",
                "this verification was not started from a rule, so it has no WeChat mini-program to log in with",
            )
        if not rule.wechat_appid or not rule.wechat_secret_sealed:
            raise ServiceError(
                "UnsupportedOperation.WeChatNotConfigured",
                f"rule {rule.id} has no WeChat mini-program appid and secret; the merchant must set them",
            )
        secret = ctx.secrets.open_text(rule.wechat_secret_sealed, aad=f"wechat:{rule.id}")
        return MiniProgramCredentials(app_id=rule.wechat_appid, secret=secret)


def login(ctx: ServiceContext, biz_token: str, js_code: str) -> str:
    """Exchange a ``wx.login`` code and bind the flow to that user; returns the device key.

    Idempotent for the same user (a new code from the same openid gets the same key); a flow already
    bound to another openid answers 403. WeChat is called outside any transaction, so no row lock is
    held across the network.
    """
    if not js_code or not js_code.strip():
        raise ServiceError("MissingParameter", "code is required: the code wx.login returned")
    creds = credentials_for(ctx, biz_token)
    try:
        user = wechat.code_to_session(creds.app_id, creds.secret, js_code.strip(), ctx.config.wechat_api_base)
    except wechat.WeChatError as exc:
        raise _refusal(exc) from None
    key = binding.bind_user(ctx, biz_token, user.openid, VIA)
    log.info("flow bound via mini-program login")
    return key


def _refusal(exc: wechat.WeChatError) -> ServiceError:
    if exc.errcode == wechat.CODE_BEEN_USED:
        return ServiceError(
            "InvalidParameterValue.WeChatCodeUsed", "this wx.login code was already used; call wx.login again"
        )
    if exc.errcode == wechat.INVALID_CODE:
        return ServiceError(
            "InvalidParameterValue.WeChatCodeInvalid", "the wx.login code is invalid or expired; call wx.login again"
        )
    if exc.errcode == wechat.HTTP_FAILURE:
        log.warning("jscode2session unreachable: %s", exc.errmsg)
        return ServiceError(
            "FailedOperation.WeChatUnavailable", "WeChat could not be reached; try again", http_status=502
        )
    if exc.errcode in (_BUSY, _RATE_LIMITED):
        return ServiceError("FailedOperation.WeChatBusy", "WeChat is busy; try again shortly", http_status=503)
    log.warning("jscode2session refused: errcode=%s", exc.errcode)
    return ServiceError(
        "FailedOperation.WeChatLoginFailed",
        f"WeChat refused the login (errcode {exc.errcode}); check the rule's appid and secret",
        http_status=502,
    )
