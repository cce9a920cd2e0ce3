"""Video intake with PyAV: bytes in, time-stamped upright BGR frames (sampled on a time grid) and
the audio track as mono float PCM out."""

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


def _sampling_fps(settings: VisionSettings, duration: float | None) -> float:
    """Adaptive rate: ``sample_fps`` unless that would exceed ``max_sampled_frames`` over the
    recording's (header) duration; unknown durations keep ``sample_fps`` and are capped later."""
    fps = float(settings.sample_fps)
    if duration and duration > 0:
        fps = min(fps, settings.max_sampled_frames / duration)
    return max(1.0, fps)


def _audio_pcm(chunks: list[np.ndarray]) -> np.ndarray | None:
    if not chunks:
        return None
    pcm = np.concatenate([c.reshape(-1) for c in chunks]).astype(np.float32)
    # Decoders of lossy formats (mp2, aac) overshoot full scale a little; clip, as a DAC would.
    return np.clip(pcm, -1.0, 1.0)


def decode_video(data: bytes, settings: VisionSettings | None = None) -> DecodedVideo:
    """Decode a recording (webm VP8/VP9, mp4/mov H.264/HEVC, avi, mpg, flv) from memory.

    Frames are kept by their real presentation timestamps (variable frame rates included) on a
    regular time grid (``sample_fps``, lowered for long recordings so at most
    ``max_sampled_frames`` are kept), converted to BGR, downscaled to ``max_frame_side`` and
    rotated upright. ``Frame.t`` counts from the first frame. The first audio track, if any, is
    decoded in the same pass to mono float PCM at ``audio_rate``, with its offset on that clock.
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
        astream = container.streams.audio[0] if container.streams.audio else None
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
        fps = _sampling_fps(settings, header_duration)
        frames: list[Frame] = []
        step = 1.0 / fps
        next_t = 0.0
        t0: float | None = None
        last_t = 0.0
        n_decoded = 0
        rotation = 0
        audio_chunks: list[np.ndarray] = []
        audio_t0: float | None = None
        resampler = (
            av.AudioResampler(format="flt", layout="mono", rate=settings.audio_rate) if astream is not None else None
        )
        streams = [stream] + ([astream] if astream is not None else [])
        for packet in container.demux(*streams):
            if packet.stream.type == "audio":
                if resampler is None:
                    continue
                try:
                    decoded = packet.decode()
                except av.FFmpegError:
                    # A damaged audio packet costs its samples, not the recording.
                    continue
                for aframe in decoded:
                    if audio_t0 is None and aframe.time is not None:
                        audio_t0 = float(aframe.time)
                    for out in resampler.resample(aframe):
                        audio_chunks.append(out.to_ndarray())
                continue
            for frame in packet.decode():
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
                if t + 1e-6 < next_t or len(frames) >= settings.max_sampled_frames:
                    continue
                w, h = _scaled_size(frame.width, frame.height, settings.max_frame_side)
                if (w, h) != (frame.width, frame.height):
                    img = frame.to_ndarray(format="bgr24", width=w, height=h)
                else:
                    img = frame.to_ndarray(format="bgr24")
                frames.append(Frame(t=round(t, 4), image=_apply_rotation(img, rotation)))
                # Advance by whole steps so a 25 fps source sampled at 10 fps keeps a regular grid.
                next_t = (math.floor(t / step + 1e-6) + 1) * step
        if resampler is not None:
            for out in resampler.resample(None):
                audio_chunks.append(out.to_ndarray())
        if not frames:
            raise VideoDecodeFailed("video holds no decodable frame")
        # Duration from the frames themselves plus one source frame interval; headers lie.
        rate = float(stream.average_rate) if stream.average_rate else settings.sample_fps
        duration = last_t + 1.0 / max(rate, 1.0)
        if header_duration is not None and abs(header_duration - duration) < 0.5:
            duration = header_duration
        out_h, out_w = frames[0].image.shape[:2]
        audio = _audio_pcm(audio_chunks)
        return DecodedVideo(
            frames=frames,
            duration=round(duration, 4),
            width=int(out_w),
            height=int(out_h),
            codec=str(stream.codec_context.name),
            container=str(container.format.name),
            audio=audio,
            sample_rate=int(settings.audio_rate),
            audio_offset=round((audio_t0 or 0.0) - (t0 or 0.0), 4) if audio is not None else 0.0,
            sample_fps=round(fps, 3),
        )
    except (VideoDecodeFailed, VideoDurationExceeded, VideoSizeTooLarge):
        raise
    except (av.FFmpegError, ValueError, OSError, IndexError, TypeError) as exc:
        raise VideoDecodeFailed(f"video could not be decoded: {exc}") from exc
    finally:
        container.close()
