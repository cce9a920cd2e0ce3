"""Video intake with PyAV: bytes in, time-stamped upright BGR frames sampled at a fixed rate out."""

from __future__ import annotations

import io
import math

import numpy as np

from wxflow.vision.errors import VideoDecodeFailed, VideoDurationExceeded, VideoSizeTooLarge
from wxflow.vision.settings import VisionSettings
from wxflow.vision.types import DecodedVideo, Frame

# Slack on the duration limit: containers round durations and a 20.0 s recording often reads 20.04 s.
_DURATION_SLACK_S = 0.25


def _rotation_degrees(frame: object, stream: object) -> int:
    """Clockwise rotation to apply so the picture is upright, a multiple of 90.

    Phones record sideways and store a display matrix (ffmpeg exposes it as frame side data, PyAV
    as ``VideoFrame.rotation``, counter-clockwise degrees as av_display_rotation_get returns) or,
    in older files, a ``rotate`` stream tag (clockwise degrees).
    """
    ccw = getattr(frame, "rotation", None)
    if ccw:
        return int(round(-float(ccw) / 90.0)) * 90 % 360
    tag = getattr(stream, "metadata", {}).get("rotate") if hasattr(stream, "metadata") else None
    if tag:
        try:
            return int(round(float(tag) / 90.0)) * 90 % 360
        except ValueError:
            return 0
    return 0


def _apply_rotation(img: np.ndarray, clockwise: int) -> np.ndarray:
    if clockwise == 0:
        return img
    # np.rot90 turns counter-clockwise for positive k.
    return np.ascontiguousarray(np.rot90(img, k=-(clockwise // 90)))


def _scaled_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / float(longest)
    # Even sizes keep swscale's chroma handling exact.
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def decode_video(data: bytes, settings: VisionSettings | None = None) -> DecodedVideo:
    """Decode a recording (webm VP8/VP9, mp4/mov H.264/HEVC, avi, mpg, flv) from memory.

    Frames are kept by their real presentation timestamps at ``settings.sample_fps`` (a 30 fps
    phone clip and a 12 fps browser clip yield the same time grid), converted to BGR, downscaled
    to ``max_frame_side`` and rotated upright. ``Frame.t`` counts from the first frame.
    """
    import av

    settings = settings or VisionSettings()
    if not data:
        raise VideoDecodeFailed("empty video")
    if len(data) > settings.max_video_bytes:
        raise VideoSizeTooLarge(f"video is {len(data)} bytes, limit {settings.max_video_bytes}")
    limit_s = settings.max_video_seconds + _DURATION_SLACK_S
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise VideoDecodeFailed(f"video could not be opened: {exc}") from exc
    try:
        if not container.streams.video:
            raise VideoDecodeFailed("no video stream")
        stream = container.streams.video[0]
        # Frame threads make H.264 decode ~2x faster on 2 cores; the order of frames is unchanged.
        stream.thread_type = "AUTO"
        # The video stream's own duration first: the container's covers audio too, and a
        # recording with a long audio tail is not a long video.
        header_duration = None
        if stream.duration and stream.time_base:
            header_duration = float(stream.duration * stream.time_base)
        elif container.duration:
            header_duration = container.duration / 1_000_000.0
        if header_duration is not None and header_duration > limit_s:
            raise VideoDurationExceeded(
                f"video lasts {header_duration:.2f} s, limit {settings.max_video_seconds:.0f} s"
            )
        width, height = stream.codec_context.width, stream.codec_context.height
        if width and height and width * height > settings.max_video_pixels:
            raise VideoDecodeFailed(f"video is {width}x{height}, larger than accepted")
        frames: list[Frame] = []
        step = 1.0 / settings.sample_fps
        next_t = 0.0
        t0: float | None = None
        last_t = 0.0
        n_decoded = 0
        rotation = 0
        for frame in container.decode(stream):
            if frame.pts is None and frame.time is None:
                continue
            ts = float(frame.time) if frame.time is not None else n_decoded / float(stream.average_rate or 25)
            if t0 is None:
                t0 = ts
                rotation = _rotation_degrees(frame, stream)
            t = ts - t0
            n_decoded += 1
            if t < last_t - 1.0:
                # A timestamp jump backwards (broken muxing): fall back to the decode order.
                t = last_t + step
            last_t = max(last_t, t)
            if last_t > limit_s:
                raise VideoDurationExceeded(f"video lasts more than {settings.max_video_seconds:.0f} s")
            # Sample on the time grid: keep the first frame at or after each grid point.
            if t + 1e-6 < next_t:
                continue
            w, h = _scaled_size(frame.width, frame.height, settings.max_frame_side)
            img = (
                frame.to_ndarray(format="bgr24", width=w, height=h)
                if (w, h)
                != (
                    frame.width,
                    frame.height,
                )
                else frame.to_ndarray(format="bgr24")
            )
            frames.append(Frame(t=round(t, 4), image=_apply_rotation(img, rotation)))
            # Advance by whole steps so a 25 fps source sampled at 10 fps keeps a regular grid.
            next_t = (math.floor(t / step + 1e-6) + 1) * step
        if not frames:
            raise VideoDecodeFailed("video holds no decodable frame")
        # Duration from the frames themselves plus one source frame interval; headers lie.
        rate = float(stream.average_rate) if stream.average_rate else settings.sample_fps
        duration = last_t + 1.0 / max(rate, 1.0)
        if header_duration is not None and abs(header_duration - duration) < 0.5:
            duration = header_duration
        out_h, out_w = frames[0].image.shape[:2]
        return DecodedVideo(
            frames=frames,
            duration=round(duration, 4),
            width=int(out_w),
            height=int(out_h),
            codec=str(stream.codec_context.name),
            container=str(container.format.name),
        )
    except (VideoDecodeFailed, VideoDurationExceeded, VideoSizeTooLarge):
        raise
    except (av.FFmpegError, ValueError, OSError, IndexError, TypeError) as exc:
        raise VideoDecodeFailed(f"video could not be decoded: {exc}") from exc
    finally:
        container.close()
