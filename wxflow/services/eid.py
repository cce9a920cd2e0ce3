"""E证通 (GetEidToken / GetEidResult / CheckEidTokenStatus): a flow on the BizToken spine.

An EidToken is a flow with channel ``eid``: created under the merchant's ``MerchantId`` (one of its
rules: liveness mode, attempts, redirect prefixes, callback), valid ``WXFLOW_EID_TOKEN_TTL`` seconds
(600), its result readable for ``WXFLOW_RESULT_RETENTION`` (3 days) after it ends. The identity step is
asked of the configured authority provider when the token is made; the person then does liveness and
the face compare against the authority's photo through the device API, as in the App SDK channel.
What a real eID upstream supplies and what wxflow fills instead: docs/identity.md, "E证通".
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from typing import Any

from wxflow.errors import ServiceError
from wxflow.logs import mask_id_card
from wxflow.services import authority, flows, identity
from wxflow.services.context import ServiceContext

log = logging.getLogger(__name__)

CHANNEL = "eid"
# Flow states as CheckEidTokenStatus names them.
STATUS = {"created": "init", "in_progress": "doing", "passed": "finished", "failed": "finished", "expired": "timeout"}
_INFO_TYPE = re.compile(r"^[0-3]{1,4}$")
MAX_BEST_FRAMES = 3


@dataclass(frozen=True)
class EidTokenRequest:
    merchant_id: str  # the E证通 MerchantId: one of the caller's RuleIds
    id_card: str | None = None
    name: str | None = None
    extra: str | None = None
    redirect_url: str | None = None
    config: dict[str, Any] | None = None


def _check_config(config: dict[str, Any] | None) -> None:
    """Only InputType "4" (the merchant's backend passes IdCard and Name) is served: no OCR or typing page."""
    config = config or {}
    input_type = config.get("InputType")
    if input_type not in (None, "", "4"):
        raise ServiceError(
            "UnsupportedOperation", 'only Config.InputType "4" (IdCard and Name passed by the merchant) is supported'
        )
    if config.get("UseIntentionVerify"):
        raise ServiceError("UnsupportedOperation", "intention verification (UseIntentionVerify) is not supported")


def get_eid_token(ctx: ServiceContext, merchant_id: int, req: EidTokenRequest) -> dict[str, str]:
    try:
        rule = flows.rule_of(ctx, merchant_id, req.merchant_id)
    except ServiceError as exc:
        raise ServiceError("InvalidParameterValue", f"MerchantId {req.merchant_id} is not usable: {exc}") from None
    _check_config(req.config)
    if req.redirect_url is not None:
        if len(req.redirect_url) > 1024 or not req.redirect_url.startswith(("http://", "https://")):
            raise ServiceError("InvalidParameterValue", "RedirectUrl must be an http(s) URL of at most 1024 characters")
        if not any(req.redirect_url.startswith(p) for p in rule.redirect_prefixes):
            raise ServiceError("InvalidParameterValue", "RedirectUrl is not under one of the redirect prefixes")
    if req.extra is not None and len(req.extra) > 1024:
        raise ServiceError("InvalidParameterValue", "Extra must be at most 1024 characters")
    if not req.id_card or not req.name:
        raise ServiceError("MissingParameter", "IdCard and Name are required (Config.InputType 4)")
    if len(req.id_card) > 32 or len(req.name) > 32:
        raise ServiceError("InvalidParameterValue", "IdCard and Name are at most 32 characters")
    authority.check_identity_format(req.id_card, req.name)

    code = identity.flow_identity_step(ctx, merchant_id, "GetEidToken", req.id_card, req.name)
    base = flows.DetectAuthRequest(
        rule_id=rule.id, redirect_url=req.redirect_url, extra=req.extra, id_card=req.id_card, name=req.name
    )
    options = dict(
        rule_id=rule.id,
        mode=rule.liveness_mode,
        max_attempts=rule.max_attempts,
        ttl=ctx.config.eid_token_ttl,
        channel=CHANNEL,
    )
    token = None
    if code == 0:
        try:
            # The face reference: the configured provider's photo of this person (registry or HTTP).
            token = flows.create_flow(ctx, merchant_id, base, compare="authority", **options)
        except authority.AuthorityMismatch as exc:
            code = exc.compare_status
    if token is None:
        token = flows.create_flow(ctx, merchant_id, base, compare="none", **options)
        _fail_identity_step(ctx, token, code)
    log.info("eid token created rule=%s id=%s identity=%d", rule.id, mask_id_card(req.id_card), code)
    return {"EidToken": token, "Url": f"{ctx.config.public_url.rstrip('/')}/h5/verify?token={token}"}


def _fail_identity_step(ctx: ServiceContext, token: str, code: int) -> None:
    """The identity step failed: the flow ends at once, its result saying why (no face step is run)."""
    with ctx.db.session() as s:
        flow = flows.load_for_update(s, token)
        assert flow is not None
        flow.compare_source = "authority"
        flow.compare_status = code
        flow.compare_msg = identity.FLOW_IDENTITY_CODES.get(code)
        flows.finish(ctx, s, flow, state="failed", err_code=code)
        flow.err_msg = flow.compare_msg


def _own_flow(ctx: ServiceContext, session: Any, merchant_id: int, token: str) -> Any:
    flow = flows.load_for_update(session, (token or "").strip())
    if flow is None or flow.merchant_id != merchant_id or flow.channel != CHANNEL:
        raise ServiceError("InvalidParameterValue.BizTokenIllegal", "EidToken is not valid for this caller")
    return flow


def check_eid_token_status(ctx: ServiceContext, merchant_id: int, token: str) -> dict[str, str]:
    with ctx.db.session() as s:
        flow = _own_flow(ctx, s, merchant_id, token)
        flows.expire_if_due(ctx, s, flow)
        return {"Status": STATUS[flow.state]}


def eid_code(ctx: ServiceContext, merchant_id: int, id_card: str) -> str:
    """A stable pseudonymous user identifier per merchant (what an eID centre's appeIDcode is for)."""
    key = ctx.keyring.derive("wxflow/eid-code/v1")
    return hmac.new(key, f"{merchant_id}:{id_card}".encode(), hashlib.sha256).hexdigest()


def get_eid_result(
    ctx: ServiceContext, merchant_id: int, token: str, info_type: str, best_frames_count: int
) -> dict[str, Any]:
    if not _INFO_TYPE.match(info_type or "0"):
        raise ServiceError("InvalidParameterValue", "InfoType is a concatenation of the digits 0-3")
    if best_frames_count < 0:
        raise ServiceError("InvalidParameterValue", "BestFramesCount must be between 0 and 3")
    best_frames_count = min(best_frames_count, MAX_BEST_FRAMES)  # Tencent: more than 3 gives 3
    token = (token or "").strip()
    with ctx.db.session() as s:
        rule_id = _own_flow(ctx, s, merchant_id, token).rule_id or ""
    # The DetectInfo machinery reads the result (expiry, retention, best frames); E证通 has no video.
    result = flows.detect_info(
        ctx, merchant_id, flows.DetectInfoRequest(token, rule_id, info_type or "0", best_frames_count)
    )
    with ctx.db.session() as s:
        flow = _own_flow(ctx, s, merchant_id, token)
        passed, id_card = flow.state == "passed", flows.identity_of(ctx, flow).get("id_card")
    eid_info = None
    if passed and id_card:  # only once the whole verification has passed
        eid_info = {"EidCode": eid_code(ctx, merchant_id, id_card), "EidSign": None, "DesKey": None, "UserInfo": None}
    text = result["Text"]
    return {
        "Text": text,
        "IdCardData": None,  # no ID-card OCR step in this flow (InputType 4)
        "BestFrame": result["BestFrame"],
        "EidInfo": eid_info,
        "IntentionVerifyData": None,
        "IntentionQuestionResult": None,
        "IntentionActionResult": None,
        "IsVerifyIntention": None,
        "IntentionVerifyType": None,
    }
