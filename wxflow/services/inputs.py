"""Media inputs of the TC3 actions: base64 text or a URL, with the spec's limits and codes."""

from __future__ import annotations

import base64
import binascii

from wxflow.errors import ServiceError
from wxflow.services import fetch
from wxflow.services.context import ServiceContext

_CODES = {
    "image": ("FailedOperation.ImageDecodeFailed", "FailedOperation.ImageSizeTooLarge"),
    "video": ("FailedOperation.VideoDecodeFailed", "FailedOperation.VideoDurationExceeded"),
}


def decode_base64(text: str, max_bytes: int, kind: str = "image") -> bytes:
    decode_failed, too_large = _CODES[kind]
    # base64 grows data by 4/3: refuse before decoding anything too large.
    if len(text) > max_bytes * 4 // 3 + 4:
        raise ServiceError(too_large, f"the {kind} is over the size limit")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError(decode_failed, f"the {kind} is not valid base64") from None
    if not data:
        raise ServiceError(decode_failed, f"the {kind} is empty")
    return data


def media(ctx: ServiceContext, b64: str | None, url: str | None, kind: str, *, required: bool = True) -> bytes | None:
    """The bytes of an ``<Kind>Base64`` or ``<Kind>Url`` parameter; base64 wins when both are given."""
    limit = ctx.config.max_image_bytes if kind == "image" else ctx.config.max_video_bytes
    if b64:
        return decode_base64(b64, limit, kind)
    if url:
        return fetch.fetch(ctx, url, limit)
    if required:
        name = "ImageBase64 or ImageUrl" if kind == "image" else "VideoBase64 or VideoUrl"
        raise ServiceError("MissingParameter", f"{name} is required")
    return None


def probe_video(ctx: ServiceContext, video: bytes) -> None:
    """Refuse what cannot be a usable video before it is stored or queued, so the caller hears at once."""
    from wxflow.vision.errors import VisionError
    from wxflow.vision.probe import probe_video as probe

    try:
        probe(video, max_seconds=ctx.config.max_video_seconds)
    except VisionError as exc:
        status = 413 if exc.result == "FailedOperation.VideoDurationExceeded" else 400
        raise ServiceError(exc.result, exc.message, http_status=status) from None
