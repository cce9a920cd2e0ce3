"""One-call entry points: bytes in, a LivenessVerdict out (what a worker job calls)."""

from __future__ import annotations

import time
from typing import Any

from wxflow.vision.liveness import judge_video
from wxflow.vision.settings import VisionSettings
from wxflow.vision.types import LivenessVerdict
from wxflow.vision.video import decode_video

__all__ = ["judge_bytes", "judge_video"]


def judge_bytes(
    data: bytes,
    mode: str,
    challenge: dict[str, Any] | None,
    engines: Any,
    settings: VisionSettings | None = None,
) -> LivenessVerdict:
    """Decode a recording and judge it. Decode problems raise VisionError subclasses
    (VideoDecodeFailed, VideoDurationExceeded, VideoSizeTooLarge) for the caller to map."""
    settings = settings or VisionSettings()
    t0 = time.perf_counter()
    video = decode_video(data, settings)
    decode_ms = round((time.perf_counter() - t0) * 1000.0, 1)
    verdict = judge_video(video, mode, challenge, engines, settings)
    timings = verdict.details.setdefault("timings_ms", {})
    timings["decode"] = decode_ms
    return verdict
