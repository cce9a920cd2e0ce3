"""Judging one attempt: liveness for the rule's mode, then compare, then the flow's next state."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import numpy as np

from wxflow.db.models import Attempt, Challenge, Flow
from wxflow.errors import saas_message
from wxflow.services import authority, flows
from wxflow.services.context import ServiceContext
from wxflow.services.merchants import THRESHOLDS

log = logging.getLogger(__name__)


def vision_settings(ctx: ServiceContext) -> Any:
    from wxflow.vision.settings import VisionSettings

    return VisionSettings(
        max_image_bytes=ctx.config.max_image_bytes,
        max_video_bytes=ctx.config.max_video_bytes,
        max_video_seconds=ctx.config.max_video_seconds,
        digit_language=ctx.config.digit_language,
    )


def judge_attempt(ctx: ServiceContext, attempt_id: str) -> str:
    """Judge, store the verdict, move the flow on. Idempotent: a judged attempt is left as it is."""
    from wxflow.db.models import Rule

    with ctx.db.session() as s:
        attempt = s.get(Attempt, attempt_id, with_for_update=True)
        if attempt is None:
            raise LookupError(f"no attempt {attempt_id}")
        if attempt.state in ("done", "error"):
            return attempt_id
        attempt.state = "running"
        attempt.started_at = ctx.clock.now()
        flow = s.get(Flow, attempt.biz_token)
        challenge = s.get(Challenge, attempt.challenge_id)
        assert flow is not None and challenge is not None
        rule = s.get(Rule, flow.rule_id) if flow.rule_id else None
        threshold = THRESHOLDS[rule.threshold if rule else "1e-3"]
        mode, compare_source = flow.liveness_mode, flow.compare_source
        challenge_value = dict(challenge.value)
        video_media = attempt.video_media
        reference_sealed = flow.reference_embedding_sealed
        biz_token = flow.biz_token

    verdict = _judge(ctx, video_media, mode, challenge_value, compare_source, reference_sealed, biz_token, threshold)
    verdict["details"]["challenge"] = challenge_value
    best_media = [ctx.media.put(jpeg) for jpeg in verdict.pop("best_frames_jpeg")]

    with ctx.db.session() as s:
        attempt = s.get(Attempt, attempt_id, with_for_update=True)
        flow = s.get(Flow, biz_token, with_for_update=True)
        assert attempt is not None and flow is not None
        for key, value in verdict.items():
            setattr(attempt, key, value)
        attempt.best_frame_media = best_media
        attempt.state = "done"
        attempt.finished_at = ctx.clock.now()
        s.flush()
        if flow.state not in flows.FINAL_STATES:
            if attempt.err_code == 0:
                flows.finish(ctx, s, flow, state="passed", err_code=0, attempt=attempt)
            elif flows.attempts_used(s, flow) >= flow.max_attempts:
                # The cap ends the flow. ErrCode carries the last attempt's reason (what the merchant
                # needs to act on); every attempt stays in LivenessDetail, and the device is told 16.
                flows.finish(ctx, s, flow, state="failed", err_code=attempt.err_code or 4, attempt=attempt)
        log.info(
            "attempt %s judged: err=%s live=%s compare=%s",
            attempt_id,
            attempt.err_code,
            attempt.live_status,
            attempt.compare_status,
        )
    return attempt_id


def _judge(
    ctx: ServiceContext,
    video_media: str | None,
    mode: str,
    challenge: dict[str, Any],
    compare_source: str,
    reference_sealed: str | None,
    biz_token: str,
    threshold: float,
) -> dict[str, Any]:
    from wxflow.vision.errors import VisionError
    from wxflow.vision.face import compare
    from wxflow.vision.image import encode_jpeg
    from wxflow.vision.pipeline import judge_video
    from wxflow.vision.video import decode_video

    engines = ctx.engines()
    settings = vision_settings(ctx)
    out: dict[str, Any] = {
        "live_status": None,
        "live_msg": None,
        "compare_status": None,
        "compare_msg": None,
        "sim": None,
        "result": None,
        "tags": [],
        "details": {},
        "best_frames_jpeg": [],
    }
    try:
        video = decode_video(ctx.media.get(video_media or ""), settings)
        verdict = judge_video(video, mode, challenge or None, engines, settings)
    except VisionError as exc:
        return _fail(out, live_status=exc.err_code, result=exc.result)
    out["details"] = _jsonable(verdict.details)
    out["tags"] = list(verdict.tags)
    out["best_frames_jpeg"] = [encode_jpeg(frame) for frame in verdict.best_frames]
    if not verdict.passed:
        return _fail(out, live_status=verdict.live_status, result=verdict.result)
    out["live_status"], out["live_msg"] = 0, saas_message(0)
    if compare_source == "none":
        out.update(err_code=0, err_msg=saas_message(0), result="Success")
        return out
    if verdict.embedding is None or reference_sealed is None:
        return _fail(out, compare_status=2004, result="FailedOperation.LivessBestFrameError")
    reference = authority.open_embedding(ctx, reference_sealed, aad=biz_token)
    score = compare(verdict.embedding, reference, ctx.config.recogniser)
    out["sim"] = round(float(score.sim), 2)
    out["details"]["compare"] = {"cosine": round(float(score.cosine), 4), "threshold_sim": threshold}
    if score.sim < threshold:
        return _fail(out, compare_status=2016, result="FailedOperation.CompareLowSimilarity")
    out.update(compare_status=0, compare_msg=saas_message(0), err_code=0, err_msg=saas_message(0), result="Success")
    return out


def _fail(
    out: dict[str, Any], *, result: str, live_status: int | None = None, compare_status: int | None = None
) -> dict[str, Any]:
    if live_status is not None:
        out["live_status"], out["live_msg"] = live_status, saas_message(live_status)
    if compare_status is not None:
        out["compare_status"], out["compare_msg"] = compare_status, saas_message(compare_status)
    code = live_status if live_status is not None else compare_status
    out.update(err_code=code, err_msg=saas_message(code or 4), result=result)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def record_crash(ctx: ServiceContext, attempt_id: str, exc: BaseException) -> None:
    """A job that crashed for good: report a system error, never a spoof; the try is not counted."""
    summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
    with ctx.db.session() as s:
        attempt = s.get(Attempt, attempt_id, with_for_update=True)
        if attempt is None or attempt.state == "done":
            return
        attempt.state = "error"
        attempt.err_code, attempt.err_msg = 4, saas_message(4)
        attempt.finished_at = ctx.clock.now()
        attempt.error = summary
        # The challenge was spent on a crash: the user gets a fresh one with their next try.
    log.error("attempt %s crashed for good: %s", attempt_id, summary.splitlines()[-1] if summary else "")


def mark_requeued(ctx: ServiceContext, attempt_id: str) -> None:
    with ctx.db.session() as s:
        attempt = s.get(Attempt, attempt_id, with_for_update=True)
        if attempt is not None and attempt.state == "running":
            attempt.state = "queued"
