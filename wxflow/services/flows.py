"""The WeChat-channel flow: a BizToken's life from DetectAuth to the merchant reading its result."""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from wxflow.clock import as_utc
from wxflow.db.models import Attempt, Challenge, Flow, Rule
from wxflow.errors import Conflict, Gone, NotFound, ServiceError, saas_message
from wxflow.logs import mask_id_card, mask_name
from wxflow.services import authority, binding, challenges, identity_ocr, inputs, webhooks
from wxflow.services.context import ServiceContext

log = logging.getLogger(__name__)

FINAL_STATES = ("passed", "failed", "expired")
LIVENESS_MODE_CODES = {"digit": 1, "action": 2, "silent": 3, "flash": 4, "light": 4}
COMPARE_LIB_TYPES = {"photo": "业务方自有库", "authority": "权威库", "none": ""}
_ID_CARD = re.compile(r"^\d{17}[\dX]$")
_BIZ_TOKEN = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")


# --- DetectAuth ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DetectAuthRequest:
    rule_id: str
    redirect_url: str | None = None
    extra: str | None = None
    image_base64: str | None = None
    id_card: str | None = None
    name: str | None = None


def rule_of(ctx: ServiceContext, merchant_id: int, rule_id: str) -> Rule:
    with ctx.db.session() as s:
        rule = s.get(Rule, rule_id)
        if rule is None or rule.merchant_id != merchant_id:
            raise ServiceError("InvalidParameterValue.RuleIdNotExist", f"RuleId {rule_id} does not exist")
        if rule.disabled:
            raise ServiceError("InvalidParameterValue.RuleIdDisabled", f"RuleId {rule_id} is disabled")
        return rule


def detect_auth(ctx: ServiceContext, merchant_id: int, req: DetectAuthRequest) -> dict[str, str]:
    rule = rule_of(ctx, merchant_id, req.rule_id)
    prefixes = list(rule.redirect_prefixes)

    if req.redirect_url is not None:
        if not req.redirect_url.startswith(("http://", "https://")):
            raise ServiceError("InvalidParameterValue", "RedirectUrl must start with http:// or https://")
        if not any(req.redirect_url.startswith(p) for p in prefixes):
            raise ServiceError("InvalidParameterValue", "RedirectUrl is not under one of the rule's redirect prefixes")
    if req.extra is not None and len(req.extra) > 1024:
        raise ServiceError("InvalidParameterValue", "Extra must be at most 1024 characters")
    if req.name is not None and len(req.name) > 32:
        raise ServiceError("InvalidParameterValue", "Name must be at most 32 characters")
    if req.id_card is not None and not _ID_CARD.match(req.id_card):
        raise ServiceError("InvalidParameterValue", "IdCard must be 18 characters with an upper-case X")

    biz_token = create_flow(
        ctx,
        merchant_id,
        req,
        rule_id=rule.id,
        mode=rule.liveness_mode,
        compare=rule.compare_source,
        max_attempts=rule.max_attempts,
        ttl=ctx.config.biztoken_ttl,
        channel="wechat",
        id_card_ocr=rule.id_card_ocr,
    )
    log.info("flow created rule=%s mode=%s id=%s", req.rule_id, rule.liveness_mode, mask_id_card(req.id_card))
    url = f"{ctx.config.public_url.rstrip('/')}/h5/verify?token={biz_token}"
    return {"Url": url, "BizToken": biz_token}


def create_flow(
    ctx: ServiceContext,
    merchant_id: int,
    req: DetectAuthRequest,
    *,
    rule_id: str | None,
    mode: str,
    compare: str,
    max_attempts: int,
    ttl: int,
    channel: str,
    id_card_ocr: bool = False,
) -> str:
    now = ctx.clock.now()
    biz_token = str(uuid.uuid4()).upper()
    reference_media = reference_embedding = None
    if compare == "photo":
        if not req.image_base64:
            raise ServiceError("MissingParameter", "a compare photo is required: ImageBase64")
        photo = inputs.decode_base64(req.image_base64, ctx.config.max_image_bytes)
        embedding = _reference_embedding(ctx, photo)
        reference_media = ctx.media.put(photo)
        reference_embedding = authority.seal_embedding(ctx, embedding, biz_token)

    if compare == "authority" and not (req.id_card or req.name) and id_card_ocr:
        pass  # the identity comes from the user's card: its reference is looked up at the card step
    elif compare == "authority":
        if not req.id_card or not req.name:
            raise ServiceError("MissingParameter", "the authority compare needs IdCard and Name")
        authority.check_identity_format(req.id_card, req.name)
        with ctx.db.session() as s:
            match = authority.reference_for(ctx, s, req.id_card, req.name)
        reference_embedding = authority.seal_embedding(ctx, match.embedding, biz_token)

    identity = None
    if req.name or req.id_card:
        identity = ctx.biometrics.seal_text(json.dumps({"name": req.name, "id_card": req.id_card}), aad=biz_token)

    with ctx.db.session() as s:
        flow = Flow(
            biz_token=biz_token,
            merchant_id=merchant_id,
            rule_id=rule_id,
            channel=channel,
            state="created",
            liveness_mode=mode,
            compare_source=compare,
            max_attempts=max_attempts,
            redirect_url=req.redirect_url,
            extra=req.extra,
            identity_sealed=identity,
            id_card_ocr=id_card_ocr,
            reference_media=reference_media,
            reference_embedding_sealed=reference_embedding,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
        s.add(flow)
        s.flush()
        challenges.issue(s, flow, now)
    return biz_token


def _reference_embedding(ctx: ServiceContext, photo: bytes) -> np.ndarray:
    from wxflow.vision.errors import VisionError
    from wxflow.vision.face import reference_embedding
    from wxflow.vision.image import decode_image

    try:
        image = decode_image(photo, ctx.config.max_image_bytes)
        return reference_embedding(image, ctx.engines())
    except VisionError as exc:
        raise ServiceError(exc.result, exc.message) from None


# --- loading and expiry -------------------------------------------------------------------------


def load_for_update(session: Session, biz_token: str) -> Flow | None:
    return _load_flow(session, biz_token)


def _load_flow(session: Session, biz_token: str) -> Flow | None:
    if not _BIZ_TOKEN.match(biz_token or ""):
        return None
    return session.get(Flow, biz_token, with_for_update=True)


def expire_if_due(ctx: ServiceContext, session: Session, flow: Flow) -> bool:
    """End a flow that ran out of time; the end is written once, with its webhook in the same transaction."""
    if flow.state in FINAL_STATES or as_utc(flow.expires_at) > ctx.clock.now():
        return False
    finish(ctx, session, flow, state="expired", err_code=15)
    return True


def finish(
    ctx: ServiceContext,
    session: Session,
    flow: Flow,
    *,
    state: str,
    err_code: int,
    attempt: Attempt | None = None,
) -> None:
    now = ctx.clock.now()
    flow.state = state
    flow.finished_at = now
    flow.purge_at = now + timedelta(seconds=ctx.config.result_retention)
    flow.err_code = err_code
    flow.err_msg = saas_message(err_code)
    if attempt is not None:
        flow.final_attempt_id = attempt.id
        flow.live_status, flow.live_msg = attempt.live_status, attempt.live_msg
        flow.compare_status, flow.compare_msg = attempt.compare_status, attempt.compare_msg
        flow.sim = attempt.sim
    webhooks.record_final(ctx, session, flow)


# --- device side --------------------------------------------------------------------------------


def _device_flow(ctx: ServiceContext, session: Session, biz_token: str, device_key: str | None) -> Flow:
    flow = _load_flow(session, biz_token)
    if flow is None:
        raise NotFound("InvalidParameterValue.BizTokenIllegal", "unknown verification token")
    binding.check_device(ctx, flow, device_key)
    return flow


def attempts_used(session: Session, flow: Flow) -> int:
    # A crashed attempt is the system's fault, so it does not use up one of the user's tries.
    return (
        session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.biz_token == flow.biz_token, Attempt.state != "error")
        )
        or 0
    )


def flow_for_device(ctx: ServiceContext, biz_token: str, device_key: str | None = None) -> dict[str, Any]:
    with ctx.db.session() as s:
        flow = _device_flow(ctx, s, biz_token, device_key)
        expire_if_due(ctx, s, flow)
        if flow.channel == "eid" and flow.state == "created":
            flow.state = "in_progress"  # E证通: an opened token is "doing" (CheckEidTokenStatus)
        used = attempts_used(s, flow)
        view: dict[str, Any] = {
            "biz_token": flow.biz_token,
            "state": flow.state,
            "liveness_mode": flow.liveness_mode,
            "attempts_left": max(flow.max_attempts - used, 0),
            "expires_at": as_utc(flow.expires_at).isoformat(),
            "challenge": None,
            "id_card": _card_step_view(flow),
        }
        if flow.state not in FINAL_STATES and used < flow.max_attempts and not _has_open_attempt(s, flow):
            view["challenge"] = challenges.public_view(challenges.current_or_issue(s, flow, ctx.clock.now()))
        if flow.state in FINAL_STATES:
            view["redirect_url"] = redirect_url_for(flow)
        return view


def _refuse_if_over(ctx: ServiceContext, session: Session, flow: Flow) -> None:
    """A device may add nothing to a flow that has ended (an expiry found now is written first)."""
    if expire_if_due(ctx, session, flow):
        session.commit()
        raise Gone("InvalidParameterValue.BizTokenExpired", "this verification has expired")
    if flow.state == "expired":
        raise Gone("InvalidParameterValue.BizTokenExpired", "this verification has expired")
    if flow.state in FINAL_STATES:
        raise Conflict("FailedOperation.FlowFinished", saas_message(14, "en-US"))


def _has_open_attempt(session: Session, flow: Flow) -> bool:
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.biz_token == flow.biz_token, Attempt.state.in_(("queued", "running")))
        )
    )


# --- the ID-card step (rules with ID-card OCR) ---------------------------------------------------

# What the flow keeps of each side's reading (sealed with the flow's token as associated data).
_OCR_FIELDS = {
    "front": ("name", "id_number", "gender", "nation", "birth", "address"),
    "back": ("authority", "valid_date"),
}
_AUTHORITY_BUSY = (2001, 2017)


def _card_step_view(flow: Flow) -> dict[str, Any]:
    """Whether the flow reads an ID card, which sides it holds, and whether the face step may begin."""
    media = flow.card_media or {}
    front, back = bool(media.get("front")), bool(media.get("back"))
    required = bool(flow.id_card_ocr)
    return {"required": required, "front": front, "back": back, "done": not required or (front and back)}


def ocr_of(ctx: ServiceContext, flow: Flow) -> dict[str, Any]:
    """The card's reading: {"front": {...fields, "warnings"}, "back": {...}}; empty when none."""
    if not flow.ocr_sealed:
        return {}
    return json.loads(ctx.biometrics.open_text(flow.ocr_sealed, aad=f"ocr:{flow.biz_token}"))


def _open_card_step(ctx: ServiceContext, session: Session, flow: Flow) -> None:
    """Refuse a card for a flow that is over, reads no card, or whose face step has begun."""
    _refuse_if_over(ctx, session, flow)
    if not flow.id_card_ocr:
        raise Conflict("UnsupportedOperation.IdCardStepOff", "this verification does not read an ID card")
    if session.scalar(select(func.count()).select_from(Attempt).where(Attempt.biz_token == flow.biz_token)):
        # The identity the face was compared against must stay the one the attempts were judged on.
        raise Conflict("FailedOperation.IdCardLocked", "the ID card cannot be changed once the face step has begun")


def submit_card_side(
    ctx: ServiceContext, biz_token: str, side: str, image: bytes, device_key: str | None = None
) -> dict[str, Any]:
    """Read one side of the user's ID card, keep it with the flow, and say what was read.

    Synchronous: the user waits for the reading anyway (they confirm it before the selfie), one
    read takes about a second, and a refusal (unreadable, other side, impossible number) must reach
    them at once so they can take the picture again. A refusal is not an attempt.
    """
    if side not in identity_ocr.CARD_SIDES:
        raise NotFound("InvalidParameterValue", "the card side is front or back")
    if not image:
        raise ServiceError("InvalidParameter", "the image file is empty")
    with ctx.db.session() as s:
        _open_card_step(ctx, s, _device_flow(ctx, s, biz_token, device_key))  # before spending OCR time
    card = identity_ocr.read_side(ctx, image, side)
    stored = {side: ctx.media.put(card.image_jpeg)}
    if card.reading.processed:
        stored[f"{side}_processed"] = ctx.media.put(card.reading.processed)
    if side == "front" and card.reading.portrait:
        stored["avatar"] = ctx.media.put(card.reading.portrait)
    try:
        view, replaced, ended_with = _record_card_side(ctx, biz_token, card, stored, device_key)
    except BaseException:
        for media_id in stored.values():
            ctx.media.delete(media_id)
        raise
    for media_id in replaced:
        ctx.media.delete(media_id)
    if ended_with is not None:
        raise Conflict("FailedOperation.IdentityNotVerified", saas_message(ended_with, "en-US"))
    return view


def _record_card_side(
    ctx: ServiceContext, biz_token: str, card: Any, stored: dict[str, str], device_key: str | None
) -> tuple[dict[str, Any], list[str], int | None]:
    reading = card.reading
    ended_with = None
    with ctx.db.session() as s:
        flow = _device_flow(ctx, s, biz_token, device_key)
        _open_card_step(ctx, s, flow)
        given = identity_of(ctx, flow)
        if card.side == "front" and given.get("id_card") and given["id_card"] != reading.id_number:
            # Spec code 301: the card is not the one the merchant named. Another picture may be of the right card.
            raise identity_ocr.CardRefused(
                "FailedOperation.IdCardMismatch", "this card's ID number differs from the one this verification is for"
            )
        ocr = ocr_of(ctx, flow)
        ocr[card.side] = {f: getattr(reading, f) for f in _OCR_FIELDS[card.side]} | {"warnings": reading.warnings}
        flow.ocr_sealed = ctx.biometrics.seal_text(json.dumps(ocr, ensure_ascii=False), aad=f"ocr:{flow.biz_token}")
        old = dict(flow.card_media or {})
        new = {**old, **stored}
        if card.side == "front" and "avatar" not in stored:
            new.pop("avatar", None)
        replaced = [m for key, m in old.items() if m and new.get(key) != m]
        flow.card_media = new
        if card.side == "front" and flow.compare_source == "authority" and not given:
            ended_with = _reference_from_card(ctx, s, flow, reading)
        # What was read, for the user to check (the device API names the number ``id_card``).
        shown = {("id_card" if f == "id_number" else f): getattr(reading, f) for f in _OCR_FIELDS[card.side]}
        view = {"side": card.side, **shown, "warnings": list(reading.warnings), "id_card_step": _card_step_view(flow)}
    log.info(
        "id card %s read: id=%s name=%s warnings=%s",
        card.side,
        mask_id_card(reading.id_number),
        mask_name(reading.name),
        reading.warnings,
    )
    return view, replaced, ended_with


def _reference_from_card(ctx: ServiceContext, session: Session, flow: Flow, reading: Any) -> int | None:
    """The authority's reference for the identity read from the card; the SaaS code when there is none.

    A definitive answer (no record, name mismatch, no photo) ends the flow with that code, as the
    E证通 identity step does; a busy or upgrading authority is a "try again", never a verdict.
    """
    try:
        authority.check_identity_format(reading.id_number, reading.name)
        match = authority.reference_for(ctx, session, reading.id_number, reading.name)
    except authority.AuthorityMismatch as exc:
        if exc.compare_status in _AUTHORITY_BUSY:
            raise ServiceError(exc.code, saas_message(exc.compare_status, "en-US"), http_status=503) from None
        flow.compare_status, flow.compare_msg = exc.compare_status, saas_message(exc.compare_status)
        finish(ctx, session, flow, state="failed", err_code=exc.compare_status)
        return exc.compare_status
    except ServiceError as exc:  # the name read is not a name: the picture is at fault
        raise identity_ocr.CardRefused(exc.code, "the name could not be read; take the picture again") from None
    flow.reference_embedding_sealed = authority.seal_embedding(ctx, match.embedding, flow.biz_token)
    return None


def submit_attempt(
    ctx: ServiceContext,
    biz_token: str,
    challenge_id: str | None,
    video: bytes,
    content_type: str,
    device_key: str | None = None,
) -> str:
    if not challenge_id:
        raise ServiceError("MissingParameter", "challenge_id is required: answer the challenge you were issued")
    if not video:
        raise ServiceError("InvalidParameter", "the video file is empty")
    if len(video) > ctx.config.max_video_bytes:
        raise ServiceError(
            "FailedOperation.VideoDurationExceeded", "the video is larger than the limit", http_status=413
        )
    inputs.probe_video(ctx, video)
    video_media = ctx.media.put(video)
    try:
        attempt_id, seq = _record_attempt(ctx, biz_token, challenge_id, video_media, content_type, device_key)
    except (IntegrityError, OperationalError):
        # Two uploads raced for one challenge: the database kept one (unique challenge and sequence, or
        # SQLite refusing the stale writer); the loser hears what happened instead of a 500.
        ctx.media.delete(video_media)
        raise Conflict(
            "InvalidParameterValue.ChallengeUsed", "this challenge was already used; ask for a new one"
        ) from None
    except BaseException:
        ctx.media.delete(video_media)
        raise
    ctx.queue.enqueue_judge(attempt_id, biz_token)
    log.info("attempt %s queued (seq %d)", attempt_id, seq)
    return attempt_id


def _record_attempt(
    ctx: ServiceContext,
    biz_token: str,
    challenge_id: str,
    video_media: str,
    content_type: str,
    device_key: str | None,
) -> tuple[str, int]:
    now = ctx.clock.now()
    with ctx.db.session() as s:
        flow = _device_flow(ctx, s, biz_token, device_key)
        _refuse_if_over(ctx, s, flow)
        if attempts_used(s, flow) >= flow.max_attempts:
            raise Conflict("LimitExceeded", saas_message(16, "en-US"))
        if _has_open_attempt(s, flow):
            raise Conflict("FailedOperation.AttemptInProgress", "the previous attempt is still being judged")
        if not _card_step_view(flow)["done"]:
            raise Conflict("FailedOperation.IdCardRequired", "photograph both sides of your ID card first")
        challenge = s.get(Challenge, challenge_id, with_for_update=True)
        if challenge is None or challenge.biz_token != flow.biz_token:
            raise ServiceError("InvalidParameterValue", "this challenge was not issued for this verification")
        if challenge.consumed_at is not None:
            raise Conflict("InvalidParameterValue.ChallengeUsed", "this challenge was already used; ask for a new one")
        seq = (s.scalar(select(func.max(Attempt.seq)).where(Attempt.biz_token == flow.biz_token)) or 0) + 1
        attempt = Attempt(
            id=str(uuid.uuid4()),
            biz_token=flow.biz_token,
            challenge_id=challenge.id,
            seq=seq,
            state="queued",
            video_media=video_media,
            video_type=content_type[:64] if content_type else None,
            created_at=now,
        )
        s.add(attempt)
        challenge.consumed_at = now
        challenge.attempt_id = attempt.id
        if flow.state == "created":
            flow.state = "in_progress"
        return attempt.id, seq


USER_OUTCOMES = {
    0: "passed",
    1002: "Please record yourself live, not a photo or a screen.",
    1102: "We could not see your face clearly. Face the camera in good light.",
    1104: "The video could not be read. Please record again.",
    1107: "The video is too long or too short. Record a few seconds.",
    1301: "Please record yourself live, not a photo or a screen, and blink naturally.",
    1303: "The video is too short. Record for more than 2 seconds.",
    2004: "We could not find a clear frame of your face. Please try again.",
    2012: "More than one face was seen. Make sure you are alone in the picture.",
    2016: "The face did not match. Please try again.",
}


def attempt_for_device(
    ctx: ServiceContext, biz_token: str, attempt_id: str, device_key: str | None = None
) -> dict[str, Any]:
    with ctx.db.session() as s:
        flow = _device_flow(ctx, s, biz_token, device_key)
        attempt = s.get(Attempt, attempt_id)
        if attempt is None or attempt.biz_token != flow.biz_token:
            raise NotFound("InvalidParameterValue", "unknown attempt")
        state = {"queued": "queued", "running": "running", "done": "done", "error": "failed"}[attempt.state]
        view: dict[str, Any] = {"attempt_id": attempt.id, "state": state, "outcome": None}
        if attempt.state == "done":
            code = attempt.err_code or 0
            view["outcome"] = {
                "passed": code == 0,
                "message": USER_OUTCOMES.get(code, "Verification did not succeed. Please try again."),
            }
        elif attempt.state == "error":
            view["outcome"] = {"passed": False, "message": "Something went wrong on our side. Please try again."}
        used = attempts_used(s, flow)
        view["attempts_left"] = max(flow.max_attempts - used, 0)
        view["flow_state"] = flow.state
        view["redirect_url"] = redirect_url_for(flow) if flow.state in FINAL_STATES else None
        return view


def redirect_url_for(flow: Flow) -> str | None:
    if not flow.redirect_url:
        return None
    parts = urlsplit(flow.redirect_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "token"]
    query.append(("token", flow.biz_token))
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- merchant results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DetectInfoRequest:
    biz_token: str
    rule_id: str
    info_type: str = "0"
    best_frames_count: int = 0
    cut_id_card_image: bool = False  # IsCutIdCardImage: add the deskewed cards (Processed*Image)
    need_id_card_avatar: bool = False  # IsNeedIdCardAvatar: add the card's portrait crop (Avatar)


def detect_info(ctx: ServiceContext, merchant_id: int, req: DetectInfoRequest) -> dict[str, Any]:
    if not re.fullmatch(r"[0-4]{1,5}", req.info_type or "0"):
        raise ServiceError("InvalidParameterValue", "InfoType is a concatenation of the digits 0-4")
    if not 0 <= req.best_frames_count <= 10:
        raise ServiceError("InvalidParameterValue", "BestFramesCount must be between 0 and 10")
    wanted = set(req.info_type or "0")
    everything = "0" in wanted
    with ctx.db.session() as s:
        flow = _load_flow(s, req.biz_token)
        if flow is None or flow.merchant_id != merchant_id or flow.rule_id != req.rule_id:
            raise ServiceError("InvalidParameterValue.BizTokenIllegal", "BizToken is not valid for this RuleId")
        expire_if_due(ctx, s, flow)
        # Past its retention a result is gone even if the purge sweep has not reached it yet.
        if flow.purged_at is not None or (flow.purge_at is not None and as_utc(flow.purge_at) <= ctx.clock.now()):
            raise ServiceError("InvalidParameterValue.BizTokenExpired", "the result's retention period has ended")
        attempts = list(s.scalars(select(Attempt).where(Attempt.biz_token == flow.biz_token).order_by(Attempt.seq)))
        final = flow.state in FINAL_STATES
        out: dict[str, Any] = {"Text": None, "IdCardData": None, "BestFrame": None, "VideoData": None}
        if everything or "1" in wanted:
            out["Text"] = _text(ctx, flow, attempts, final)
        if final and (everything or "2" in wanted):
            out["IdCardData"] = _id_card_data(ctx, flow, req.cut_id_card_image, req.need_id_card_avatar)
        if final and (everything or "3" in wanted):
            out["BestFrame"] = _best_frames(ctx, flow, attempts, req.best_frames_count)
        if final and (everything or "4" in wanted):
            out["VideoData"] = _video(ctx, flow, attempts)
        return out


def identity_of(ctx: ServiceContext, flow: Flow) -> dict[str, Any]:
    if not flow.identity_sealed:
        return {}
    return json.loads(ctx.biometrics.open_text(flow.identity_sealed, aad=flow.biz_token))


def _sim_text(sim: float | None) -> str | None:
    return None if sim is None else f"{sim:.2f}"


# IdInfoFrom: the merchant passed IdCard/Name in DetectAuth (the wording the spec gives), or the card was read.
ID_INFO_GIVEN, ID_INFO_OCR = "手动输入", "OCR"


def _identity_and_source(identity: dict[str, Any], ocr: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The identity the flow verified: the merchant's when given (it wins), else the one read from the card."""
    if identity:
        return identity, ID_INFO_GIVEN
    front = ocr.get("front")
    if front:
        return {"id_card": front.get("id_number"), "name": front.get("name")}, ID_INFO_OCR
    return {}, None


def _ocr_text(ocr: dict[str, Any]) -> dict[str, Any]:
    front, back = ocr.get("front", {}), ocr.get("back", {})
    return {
        "OcrNation": front.get("nation") or None,
        "OcrAddress": front.get("address") or None,
        "OcrBirth": front.get("birth") or None,
        "OcrAuthority": back.get("authority") or None,
        "OcrValidDate": back.get("valid_date") or None,
        "OcrName": front.get("name") or None,
        "OcrIdCard": front.get("id_number") or None,
        "OcrGender": front.get("gender") or None,
    }


def _text(ctx: ServiceContext, flow: Flow, attempts: list[Attempt], final: bool) -> dict[str, Any]:
    # What was read from the card is part of the result: null, like the verdict, until the flow ends.
    ocr = ocr_of(ctx, flow) if final else {}
    identity, source = _identity_and_source(identity_of(ctx, flow), ocr)
    final_attempt = next((a for a in attempts if a.id == flow.final_attempt_id), None)
    tags = sorted({t for a in attempts for t in (a.tags or [])})
    return {
        # Before a flow ends its verdict fields are null (spec section 3).
        "ErrCode": flow.err_code if final else None,
        "ErrMsg": flow.err_msg if final else None,
        "IdCard": identity.get("id_card"),
        "Name": identity.get("name"),
        "IdInfoFrom": source,
        **_ocr_text(ocr),
        "LiveStatus": flow.live_status if final else None,
        "LiveMsg": flow.live_msg if final else None,
        "Comparestatus": flow.compare_status if final else None,
        "Comparemsg": flow.compare_msg if final else None,
        "Sim": _sim_text(flow.sim) if final else None,
        "Location": None,
        "Extra": flow.extra,
        "Mobile": None,
        "CompareLibType": COMPARE_LIB_TYPES.get(flow.compare_source) or None,
        "LivenessMode": LIVENESS_MODE_CODES.get(flow.liveness_mode),
        "LivenessActionSequence": _action_sequence(final_attempt),
        "LivenessInfoTag": tags if final else None,
        "LivenessDetail": [_detect_detail(flow, a, identity) for a in attempts if a.state in ("done", "error")]
        if final
        else None,
    }


def _action_sequence(attempt: Attempt | None) -> str | None:
    if attempt is None or not attempt.details:
        return None
    actions = attempt.details.get("challenge", {}).get("actions")
    return ",".join(str(a) for a in actions) if actions else None


def _detect_detail(flow: Flow, attempt: Attempt, identity: dict[str, Any]) -> dict[str, Any]:
    return {
        "ReqTime": str(int(as_utc(attempt.created_at).timestamp() * 1000)),
        "Seq": attempt.id,
        "Idcard": identity.get("id_card"),
        "Name": identity.get("name"),
        "Sim": _sim_text(attempt.sim),
        "IsNeedCharge": attempt.state == "done",
        "Errcode": attempt.err_code,
        "Errmsg": attempt.err_msg,
        "Livestatus": attempt.live_status,
        "Livemsg": attempt.live_msg,
        "Comparestatus": attempt.compare_status,
        "Comparemsg": attempt.compare_msg,
        "CompareLibType": COMPARE_LIB_TYPES.get(flow.compare_source) or None,
        "LivenessMode": LIVENESS_MODE_CODES.get(flow.liveness_mode),
    }


def _chosen_attempt(flow: Flow, attempts: list[Attempt]) -> Attempt | None:
    chosen = next((a for a in attempts if a.id == flow.final_attempt_id), None)
    return chosen or next((a for a in reversed(attempts) if a.state == "done"), None)


def _id_card_data(ctx: ServiceContext, flow: Flow, cut: bool, avatar: bool) -> dict[str, Any] | None:
    media = flow.card_media or {}
    if not media:
        return None
    ocr = ocr_of(ctx, flow)

    def image(key: str) -> str | None:
        media_id = media.get(key)
        if not media_id or not ctx.media.exists(media_id):
            return None
        return base64.b64encode(ctx.media.get(media_id)).decode()

    return {
        "OcrFront": image("front"),
        "OcrBack": image("back"),
        "ProcessedFrontImage": image("front_processed") if cut else None,
        "ProcessedBackImage": image("back_processed") if cut else None,
        "Avatar": image("avatar") if avatar else None,
        "WarnInfos": ocr["front"]["warnings"] if "front" in ocr else None,
        "BackWarnInfos": ocr["back"]["warnings"] if "back" in ocr else None,
    }


def _best_frames(ctx: ServiceContext, flow: Flow, attempts: list[Attempt], count: int) -> dict[str, Any] | None:
    attempt = _chosen_attempt(flow, attempts)
    if attempt is None or not attempt.best_frame_media:
        return None
    frames = [base64.b64encode(ctx.media.get(m)).decode() for m in attempt.best_frame_media if ctx.media.exists(m)]
    if not frames:
        return None
    return {"BestFrame": frames[0], "BestFrames": frames[:count] if count else None}


def _video(ctx: ServiceContext, flow: Flow, attempts: list[Attempt]) -> dict[str, Any] | None:
    attempt = _chosen_attempt(flow, attempts)
    if attempt is None or not attempt.video_media or not ctx.media.exists(attempt.video_media):
        return None
    return {"LivenessVideo": base64.b64encode(ctx.media.get(attempt.video_media)).decode()}


def legacy_detect_info(ctx: ServiceContext, merchant_id: int, req: DetectInfoRequest) -> str:
    """GetDetectInfo: the same result, as one JSON string in the old shape."""
    full = detect_info(ctx, merchant_id, DetectInfoRequest(req.biz_token, req.rule_id, req.info_type, 1))
    legacy: dict[str, Any] = {}
    if full["Text"] is not None:
        legacy["Text"] = full["Text"]
    if full["IdCardData"] is not None:
        legacy["IdCardData"] = {k: full["IdCardData"][k] for k in ("OcrFront", "OcrBack")}
    if full["BestFrame"] is not None:
        legacy["BestFrame"] = {"BestFrame": full["BestFrame"]["BestFrame"]}
    if full["VideoData"] is not None:
        legacy["VideoData"] = full["VideoData"]
    return json.dumps(legacy, ensure_ascii=False)


# --- App SDK channel (GetFaceIdToken / GetFaceIdResult) -----------------------------------------

COMPARE_LIBS = {"LOCAL": "photo", "BUSINESS": "authority"}


def faceid_token(ctx: ServiceContext, merchant_id: int, compare_lib: str, req: DetectAuthRequest) -> str:
    """A single-use token for the merchant's own app: one upload within 10 minutes, result for 3 days."""
    compare = COMPARE_LIBS.get(compare_lib)
    if compare is None:
        raise ServiceError("InvalidParameterValue", "CompareLib must be LOCAL or BUSINESS")
    mode = "silent"
    if req.rule_id:
        mode = rule_of(ctx, merchant_id, req.rule_id).liveness_mode
    token = create_flow(
        ctx,
        merchant_id,
        req,
        rule_id=req.rule_id or None,
        mode=mode,
        compare=compare,
        max_attempts=1,
        ttl=ctx.config.faceid_token_ttl,
        channel="app",
    )
    log.info("app token created mode=%s compare=%s", mode, compare)
    return token


def faceid_result(
    ctx: ServiceContext, merchant_id: int, token: str, need_video: bool, need_best_frame: bool
) -> dict[str, Any]:
    with ctx.db.session() as s:
        flow = _load_flow(s, token)
        if flow is None or flow.merchant_id != merchant_id or flow.channel != "app":
            raise ServiceError("InvalidParameterValue.BizTokenIllegal", "FaceIdToken is not valid for this caller")
        expire_if_due(ctx, s, flow)
        if flow.purged_at is not None or (flow.purge_at is not None and as_utc(flow.purge_at) <= ctx.clock.now()):
            raise ServiceError("InvalidParameterValue.BizTokenExpired", "the result's retention period has ended")
        identity = identity_of(ctx, flow)
        attempts = list(s.scalars(select(Attempt).where(Attempt.biz_token == flow.biz_token)))
        final = flow.state in FINAL_STATES
        attempt = _chosen_attempt(flow, attempts)
        out: dict[str, Any] = {
            "Result": None,
            "Description": saas_message(17),
            "Similarity": None,
            "IdCard": identity.get("id_card"),
            "Name": identity.get("name"),
            "Extra": flow.extra,
            "VideoBase64": None,
            "BestFrameBase64": None,
            "LivenessInfoTag": None,
        }
        if not final:
            return out
        if flow.state == "expired":
            out.update(Result="FailedOperation.TokenExpired", Description=saas_message(15))
            return out
        out["Result"] = attempt.result if attempt else None
        out["Description"] = flow.err_msg
        out["Similarity"] = flow.sim
        out["LivenessInfoTag"] = sorted({t for a in attempts for t in (a.tags or [])})
        if need_best_frame:
            frames = _best_frames(ctx, flow, attempts, 1)
            out["BestFrameBase64"] = frames["BestFrame"] if frames else None
        if need_video:
            video = _video(ctx, flow, attempts)
            out["VideoBase64"] = video["LivenessVideo"] if video else None
        return out
