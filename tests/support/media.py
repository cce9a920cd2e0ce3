"""Build test media in memory with PyAV, Pillow and OpenCV (used by vision and API tests).

Nothing here touches the repository's files: real clips are read where they lie and results are
returned as bytes.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

_FORMATS = {
    # fmt: (container format, codec, pixel format, file suffix)
    "mp4": ("mp4", "libx264", "yuv420p"),
    "mov": ("mov", "libx264", "yuv420p"),
    "webm": ("webm", "libvpx-vp9", "yuv420p"),
    "webm-vp8": ("webm", "libvpx", "yuv420p"),
    "mpg": ("mpeg", "mpeg1video", "yuv420p"),
    "avi": ("avi", "mpeg4", "yuv420p"),
    "flv": ("flv", "flv", "yuv420p"),
}


def encode_video(
    frames_bgr: Iterable[np.ndarray], fps: float = 25, fmt: str = "mp4", rotate: int | None = None
) -> bytes:
    """Encode BGR frames to a video file in memory. ``fmt``: mp4, mov, webm (VP9), webm-vp8, mpg,
    avi, flv. ``rotate`` (mp4/mov only) writes a display-matrix rotation, as phones do."""
    from fractions import Fraction

    import av

    container_fmt, codec, pix_fmt = _FORMATS[fmt]
    frames = list(frames_bgr)
    if not frames:
        raise ValueError("no frames")
    h, w = frames[0].shape[:2]
    # Encoders want even sizes.
    w2, h2 = w // 2 * 2, h // 2 * 2
    buf = io.BytesIO()
    rate = Fraction(fps).limit_denominator(1000)
    if fmt == "mpg":
        # MPEG-1 only allows a fixed set of frame rates.
        rate = Fraction(25) if fps not in (24, 25, 30, 50, 60) else Fraction(int(fps))
    with av.open(buf, mode="w", format=container_fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = w2, h2, pix_fmt
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "20"}
        elif codec.startswith("libvpx"):
            stream.options = {"deadline": "realtime", "cpu-used": "8", "crf": "32", "b": "0"}
        else:
            stream.bit_rate = 2_000_000
        for img in frames:
            img = np.ascontiguousarray(img[:h2, :w2])
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = buf.getvalue()
    if rotate:
        if fmt not in ("mp4", "mov"):
            raise ValueError("rotate is only supported for mp4/mov")
        data = _set_mp4_rotation(data, rotate)
    return data


def _set_mp4_rotation(data: bytes, clockwise: int) -> bytes:
    """Write a display rotation into the video track header (tkhd matrix), as a phone does.

    FFmpeg's muxers no longer take a ``rotate`` tag, so we patch the 3x3 fixed-point matrix that
    players (and FFmpeg's demuxer, as a display matrix) read.
    """
    import struct

    one, minus_one = 0x00010000, 0xFFFF0000
    matrices = {
        90: (0, one, 0, minus_one, 0, 0),
        180: (minus_one, 0, 0, 0, minus_one, 0),
        270: (0, minus_one, 0, one, 0, 0),
    }
    a, b, u_c, c, d, _ = matrices[clockwise % 360]
    # Matrix layout: a b u / c d v / x y w (u, v, w are 2.30 fixed point).
    matrix = struct.pack(">9I", a, b, 0, c, d, 0, 0, 0, 0x40000000)
    pos = data.find(b"tkhd")
    if pos < 0:
        raise ValueError("no tkhd box")
    version = data[pos + 4]
    # After type: version+flags(4), times and ids (v0: 4*5, v1: 8+8+4+4+8), reserved(8), layer etc.(8)
    offset = pos + 4 + 4 + (20 if version == 0 else 32) + 8 + 8
    return data[:offset] + matrix + data[offset + 36 :]


def read_frames(path: str | Path, start: float = 0.0, seconds: float | None = None) -> tuple[list[np.ndarray], float]:
    """BGR frames of a real file between ``start`` and ``start + seconds``, and its frame rate."""
    import av

    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 25)
        for frame in container.decode(stream):
            t = float(frame.time or 0.0)
            if t + 1e-6 < start:
                continue
            if seconds is not None and t >= start + seconds - 1e-6:
                break
            frames.append(frame.to_ndarray(format="bgr24"))
    return frames, fps


def clip_bytes(path: str | Path, start: float = 0.0, seconds: float | None = None, fmt: str = "mp4") -> bytes:
    """Re-encode a segment of a real recording (``seconds`` None: to the end) to mp4 bytes."""
    frames, fps = read_frames(path, start, seconds)
    if not frames:
        raise ValueError(f"no frames in {path} from {start} s")
    return encode_video(frames, fps=fps, fmt=fmt)


def frame_at(path: str | Path, t: float) -> np.ndarray:
    """The BGR frame shown at time ``t`` (seconds) of a real recording: a still for a compare photo."""
    import av

    last = None
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            last = frame
            if float(frame.time or 0.0) + 1e-6 >= t:
                break
    if last is None:
        raise ValueError(f"no frame in {path}")
    return last.to_ndarray(format="bgr24")


def photo_attack_video(
    image_bgr: np.ndarray,
    seconds: float = 3.0,
    fps: float = 25,
    seed: int = 0,
    fmt: str = "mp4",
    out_size: tuple[int, int] | None = (640, 480),
) -> bytes:
    """A still photo 'held to the camera': small smooth random rotation, scale and shift per frame.

    The jitter follows a slow random walk (a hand's tremor, a few pixels and under 2 degrees),
    so the face never stays pixel-identical while its texture remains that of the photo.
    ``out_size`` (w, h) letterboxes the image into a webcam-like frame.
    """
    rng = np.random.default_rng(seed)
    img = image_bgr
    if out_size is not None:
        ow, oh = out_size
        scale = min(ow / img.shape[1], oh / img.shape[0])
        resized = cv2.resize(img, (int(img.shape[1] * scale), int(img.shape[0] * scale)))
        canvas = np.full((oh, ow, 3), 40, dtype=np.uint8)
        y0, x0 = (oh - resized.shape[0]) // 2, (ow - resized.shape[1]) // 2
        canvas[y0 : y0 + resized.shape[0], x0 : x0 + resized.shape[1]] = resized
        img = canvas
    h, w = img.shape[:2]
    n = max(1, int(round(seconds * fps)))
    state = np.zeros(4)  # angle (deg), scale delta, dx, dy
    frames = []
    for _ in range(n):
        state = 0.9 * state + rng.normal(0, [0.25, 0.004, 0.8, 0.8])
        angle, ds, dx, dy = state
        m = cv2.getRotationMatrix2D((w / 2, h / 2), float(np.clip(angle, -2, 2)), 1.0 + float(np.clip(ds, -0.03, 0.03)))
        m[:, 2] += (float(np.clip(dx, -6, 6)), float(np.clip(dy, -6, 6)))
        frames.append(cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT))
    return encode_video(frames, fps=fps, fmt=fmt)


def side_by_side(a_bgr: np.ndarray, b_bgr: np.ndarray, height: int = 400) -> np.ndarray:
    """Two photos resized to the same height and placed side by side (a 'several faces' photo)."""

    def fit(img: np.ndarray) -> np.ndarray:
        return cv2.resize(img, (int(img.shape[1] * height / img.shape[0]), height))

    return np.hstack([fit(a_bgr), fit(b_bgr)])


def jpeg_bytes(img_bgr: np.ndarray, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", img_bgr, [int(cv2.IMWRITE_JPEG_QUALITY), quality])
    assert ok
    return buf.tobytes()


def png_bytes(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()
