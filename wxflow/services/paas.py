"""PaaS face actions (LivenessCompare, LivenessRecognition, Liveness, ImageRecognition): synchronous for
the caller, judged by a worker that holds the models. The request is stored, a job is enqueued, and the
web process waits for the job's verdict."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from sqlalchemy import select, update

from wxflow.db.models import PaasChallenge, PaasRequest
from wxflow.errors import ServiceError
from wxflow.services import authority, challenges, inputs
from wxflow.services.context import ServiceContext
from wxflow.services.merchants import THRESHOLDS, liveness_available

log = logging.getLogger(__name__)

LIVENESS_TYPES = {"LIP": "digit", "ACTION": "action", "SILENT": "silent"}
DESCRIPTIONS = {
    "Success": "成功",
    "FailedOperation.CompareLowSimilarity": "比对相似度未达到通过标准",
    "FailedOperation.LivessBestFrameError": "人脸检测失败，无法提取比对照",
    "FailedOperation.SilentPictureLiveFail": "翻拍或合成攻击，活体检测未通过",
    "FailedOperation.SilentTooShort": "视频时长过短，请录制 2 秒以上",
    "FailedOperation.SilentMultiFaceFail": "检测到多张人脸",
    "FailedOperation.ActionNodetectFace": "未检测到完整人脸",
    "FailedOperation.ActionCloseEye": "未检测到眨眼动作",
    "FailedOperation.ActionOpenMouth": "未检测到张嘴动作",
    "FailedOperation.ActionFirstAction": "动作顺序不正确",
    "FailedOperation.IdNoExistSystem": "权威库中没有此身份证号",
    "FailedOperation.IdNameMisMatch": "姓名和身份证号不一致",
    "FailedOperation.IdPhotoNoExist": "权威库中没有此人照片",
    "FailedOperation.LifePhotoDetectNoFaces": "照片中未检测到人脸",
    "FailedOperation.LifePhotoDetectFaces": "照片中检测到多张人脸",
    "FailedOperation.VideoDecodeFailed": "视频解码失败",
}


def describe(result: str) -> str:
    return DESCRIPTIONS.get(result, "核验未通过")


# --- challenges ---------------------------------------------------------------------------------


def issue_challenge(ctx: ServiceContext, merchant_id: int, kind: str) -> str:
    """A LiveCode (kind digit) or ActionSequence (kind action), remembered for this merchant."""
    _, value = challenges.draw(kind)
    text = value["code"] if kind == "digit" else ",".join(str(a) for a in value["actions"])
    now = ctx.clock.now()
    with ctx.db.session() as s:
        s.add(
            PaasChallenge(
                id=str(uuid.uuid4()),
                merchant_id=merchant_id,
                kind=kind,
                value=text,
                issued_at=now,
                expires_at=now + timedelta(seconds=ctx.config.paas_challenge_ttl),
            )
        )
    return text


def _consume_challenge(ctx: ServiceContext, merchant_id: int, kind: str, value: str) -> None:
    """Spend one issued, unexpired challenge; a compare-and-set UPDATE, so two racing calls cannot both win."""
    now = ctx.clock.now()
    with ctx.db.session() as s:
        candidates = s.scalars(
            select(PaasChallenge.id).where(
                PaasChallenge.merchant_id == merchant_id,
                PaasChallenge.kind == kind,
                PaasChallenge.value == value,
                PaasChallenge.used_at.is_(None),
                PaasChallenge.expires_at > now,
            )
        ).all()
        for challenge_id in candidates:
            spent = s.execute(
                update(PaasChallenge)
                .where(PaasChallenge.id == challenge_id, PaasChallenge.used_at.is_(None))
                .values(used_at=now)
            )
            if spent.rowcount == 1:
                return
    raise ServiceError(
        "InvalidParameterValue", "ValidateData was not issued to this caller, has expired, or was already used"
    )


# --- requests -----------------------------------------------------------------------------------


@dataclass
class LivenessRequest:
    action: str  # LivenessCompare | LivenessRecognition | Liveness
    liveness_type: str
    validate_data: str
    video: bytes
    image: bytes | None = None
    id_card: str | None = None
    name: str | None = None
    best_frame_num: int = 0


def liveness(ctx: ServiceContext, merchant_id: int, req: LivenessRequest) -> dict[str, Any]:
    mode = LIVENESS_TYPES.get(req.liveness_type)
    if mode is None:
        raise ServiceError("InvalidParameterValue", "LivenessType must be LIP, ACTION or SILENT")
    if not liveness_available(ctx, mode):
        raise ServiceError("UnsupportedOperation", f"LivenessType {req.liveness_type} is not implemented yet")
    if not 0 <= req.best_frame_num <= 10 or req.best_frame_num == 1:
        raise ServiceError("InvalidParameterValue", "Optional.BestFrameNum must be between 2 and 10")
    if len(req.video) > ctx.config.max_video_bytes:
        raise ServiceError("FailedOperation.VideoDurationExceeded", "the video is larger than 8 MB")
    inputs.probe_video(ctx, req.video)
    challenge: dict[str, Any] = {}
    if mode == "digit":
        _consume_challenge(ctx, merchant_id, "digit", req.validate_data)
        # The language is fixed here, in the process that took the request, and travels with it.
        challenge = {"code": req.validate_data, "language": ctx.config.digit_language}
    elif mode == "action":
        _consume_challenge(ctx, merchant_id, "action", req.validate_data)
        challenge = {"actions": [int(a) for a in req.validate_data.split(",")]}

    identity = None
    if req.action == "LivenessRecognition":
        authority.check_identity_format(req.id_card, req.name)
        identity = {"id_card": req.id_card, "name": req.name}
    elif req.action == "LivenessCompare" and not req.image:
        raise ServiceError("MissingParameter", "ImageBase64 or ImageUrl is required")

    params = {"mode": mode, "challenge": challenge, "best_frame_num": req.best_frame_num}
    return _run(ctx, merchant_id, req.action, params, video=req.video, image=req.image, identity=identity)


def image_recognition(
    ctx: ServiceContext, merchant_id: int, action: str, image: bytes, id_card: str | None, name: str | None
) -> dict[str, Any]:
    authority.check_identity_format(id_card, name)
    return _run(ctx, merchant_id, action, {}, video=None, image=image, identity={"id_card": id_card, "name": name})


def _run(
    ctx: ServiceContext,
    merchant_id: int,
    action: str,
    params: dict[str, Any],
    *,
    video: bytes | None,
    image: bytes | None,
    identity: dict[str, Any] | None,
) -> dict[str, Any]:
    request_id = str(uuid.uuid4())
    now = ctx.clock.now()
    with ctx.db.session() as s:
        s.add(
            PaasRequest(
                id=request_id,
                merchant_id=merchant_id,
                action=action,
                state="queued",
                params=params,
                video_media=ctx.media.put(video) if video else None,
                image_media=ctx.media.put(image) if image else None,
                identity_sealed=ctx.biometrics.seal_text(json.dumps(identity), aad=request_id) if identity else None,
                created_at=now,
                purge_at=now + timedelta(seconds=ctx.config.result_retention),
            )
        )
    job = ctx.queue.enqueue_paas(request_id)
    # The caller waits: PaaS actions answer synchronously, like the service they mirror.
    job.latest_result(timeout=ctx.config.job_timeout)
    with ctx.db.session() as s:
        row = s.get(PaasRequest, request_id)
        assert row is not None
        if row.state != "done" or row.result is None:
            log.error("paas request %s not judged in time (state %s)", request_id, row.state)
            raise ServiceError("InternalError", "the request could not be judged in time")
        result = dict(row.result)
        frames = [base64.b64encode(ctx.media.get(m)).decode() for m in row.best_frame_media or []]
    error = result.pop("error", None)
    if error:
        raise ServiceError(error["code"], error["message"])
    result["BestFrames"] = frames
    return result


# --- the job's side -----------------------------------------------------------------------------


def judge(ctx: ServiceContext, request_id: str) -> str:
    """Run one stored request and store its verdict (idempotent)."""
    with ctx.db.session() as s:
        row = s.get(PaasRequest, request_id, with_for_update=True)
        if row is None:
            raise LookupError(f"no request {request_id}")
        if row.state == "done":
            return request_id
        row.state = "running"
        action, params = row.action, dict(row.params)
        video_media, image_media, identity_sealed = row.video_media, row.image_media, row.identity_sealed
    identity = json.loads(ctx.biometrics.open_text(identity_sealed, aad=request_id)) if identity_sealed else None
    result, frames = _judge(ctx, action, params, video_media, image_media, identity)
    media = [ctx.media.put(f) for f in frames]
    with ctx.db.session() as s:
        row = s.get(PaasRequest, request_id, with_for_update=True)
        assert row is not None
        row.result, row.best_frame_media = result, media
        row.state, row.finished_at = "done", ctx.clock.now()
    return request_id


def _judge(
    ctx: ServiceContext,
    action: str,
    params: dict[str, Any],
    video_media: str | None,
    image_media: str | None,
    identity: dict[str, Any] | None,
) -> tuple[dict[str, Any], list[bytes]]:
    from wxflow.services.verification import vision_settings
    from wxflow.vision.errors import VisionError
    from wxflow.vision.face import reference_embedding
    from wxflow.vision.image import decode_image, encode_jpeg
    from wxflow.vision.pipeline import judge_video
    from wxflow.vision.video import decode_video

    engines = ctx.engines()
    settings = vision_settings(ctx)
    reference: np.ndarray | None = None
    try:
        if identity is not None:
            with ctx.db.session() as s:
                reference = authority.reference_for(ctx, s, identity["id_card"], identity["name"]).embedding
        elif image_media:
            reference = reference_embedding(
                decode_image(ctx.media.get(image_media), ctx.config.max_image_bytes), engines
            )
    except authority.AuthorityMismatch as exc:
        return {"Result": exc.code, "Description": describe(exc.code), "Sim": 0.0}, []
    except VisionError as exc:
        return {"error": {"code": exc.result, "message": exc.message}}, []

    if video_media is None:  # ImageRecognition: the photo against the authority's reference
        assert reference is not None and image_media is not None
        try:
            photo = reference_embedding(decode_image(ctx.media.get(image_media), ctx.config.max_image_bytes), engines)
        except VisionError as exc:
            return {"error": {"code": exc.result, "message": exc.message}}, []
        return _compared(ctx, photo, reference, {}), []

    try:
        video = decode_video(ctx.media.get(video_media), settings)
        verdict = judge_video(video, params["mode"], params["challenge"] or None, engines, settings)
    except VisionError as exc:
        return {"error": {"code": exc.result, "message": exc.message}}, []
    frames = [encode_jpeg(f) for f in verdict.best_frames[: max(params.get("best_frame_num") or 1, 1)]]
    out: dict[str, Any] = {
        "Result": verdict.result,
        "Description": describe(verdict.result),
        "Sim": 0.0,
        "LivenessInfoTag": list(verdict.tags),
    }
    if not verdict.passed or reference is None:
        return out, frames
    if verdict.embedding is None:
        code = "FailedOperation.LivessBestFrameError"
        out.update(Result=code, Description=describe(code))
        return out, frames
    return _compared(ctx, verdict.embedding, reference, out), frames


def _compared(ctx: ServiceContext, probe: np.ndarray, reference: np.ndarray, out: dict[str, Any]) -> dict[str, Any]:
    from wxflow.vision.face import compare

    score = compare(probe, reference, ctx.config.recogniser)
    # PaaS actions pass at the 千一 mark (Sim 70), the mark Tencent's newer documents fix.
    code = "Success" if score.sim >= THRESHOLDS["1e-3"] else "FailedOperation.CompareLowSimilarity"
    out.update(Result=code, Description=describe(code), Sim=round(float(score.sim), 2))
    return out
