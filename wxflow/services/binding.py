"""Binding a flow to the WeChat user who opened it (web OAuth or mini-program login).

Once bound, the device API serves the flow only to a device holding the key issued at binding, so a
link forwarded to someone else cannot be continued by them.
"""

from __future__ import annotations

import hashlib
import hmac

from wxflow.crypto import constant_time_equal
from wxflow.db.models import Flow
from wxflow.errors import ServiceError
from wxflow.services.context import ServiceContext

DEVICE_HEADER = "X-Wxflow-Device"
DEVICE_COOKIE = "wxflow_device"


class BoundToAnotherUser(ServiceError):
    def __init__(self) -> None:
        super().__init__(
            "FailedOperation.FlowBoundToAnotherUser",
            "this verification belongs to another WeChat user",
            http_status=403,
        )


def device_key(ctx: ServiceContext, biz_token: str, openid: str) -> str:
    mac = hmac.new(ctx.keyring.derive("wxflow/device-key/v1"), f"{biz_token}:{openid}".encode(), hashlib.sha256)
    return mac.hexdigest()


def bind_user(ctx: ServiceContext, biz_token: str, openid: str, via: str) -> str:
    """Bind the flow to ``openid`` (idempotent for the same user) and return the device key."""
    from wxflow.services.flows import load_for_update

    if not openid:
        raise ServiceError("InvalidParameterValue", "WeChat returned no openid")
    with ctx.db.session() as s:
        flow = load_for_update(s, biz_token)
        if flow is None:
            raise ServiceError("InvalidParameterValue.BizTokenIllegal", "unknown verification token", http_status=404)
        if flow.openid_sealed is None:
            flow.openid_sealed = ctx.biometrics.seal_text(openid, aad=f"openid:{biz_token}")
            flow.bound_via = via
        elif not constant_time_equal(ctx.biometrics.open_text(flow.openid_sealed, aad=f"openid:{biz_token}"), openid):
            raise BoundToAnotherUser()
    return device_key(ctx, biz_token, openid)


def check_device(ctx: ServiceContext, flow: Flow, key: str | None) -> None:
    """A bound flow answers only the device that holds its key."""
    if flow.openid_sealed is None:
        return
    openid = ctx.biometrics.open_text(flow.openid_sealed, aad=f"openid:{flow.biz_token}")
    if not key or not constant_time_equal(device_key(ctx, flow.biz_token, openid), key):
        raise BoundToAnotherUser()
