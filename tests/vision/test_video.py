"""Video intake: containers and codecs, timestamps, rotation, garbage, limits."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.data import data_path
from tests.support.media import encode_video
from wxflow.vision.errors import VideoDecodeFailed, VideoDurationExceeded, VideoSizeTooLarge
from wxflow.vision.settings import VisionSettings
from wxflow.vision.video import decode_video


def _frames(n: int, w: int = 320, h: int = 240) -> list[np.ndarray]:
    out = []
    for i in range(n):
        img = np.full((h, w, 3), 30, dtype=np.uint8)
        img[:60, :60] = 255  # white marker top-left
        img[100:140, (i * 5) % (w - 40) :][:, :40] = (0, 0, 200)
        out.append(img)
    return out


@pytest.mark.parametrize(
    "fmt,codec",
    [("mp4", "h264"), ("webm", "vp9"), ("webm-vp8", "vp8"), ("mpg", "mpeg1video"), ("mov", "h264"), ("avi", "mpeg4")],
)
def test_formats_sampled_by_time(fmt, codec):
    data = encode_video(_frames(75), fps=25, fmt=fmt)  # 3 s
    v = decode_video(data, VisionSettings(sample_fps=10))
    assert v.codec == codec
    assert (v.width, v.height) == (320, 240)
    assert 2.9 <= v.duration <= 3.1
    ts = [f.t for f in v.frames]
    assert ts[0] == 0.0 and ts == sorted(ts)
    assert 28 <= len(ts) <= 31  # 10 fps over 3 s, by timestamps
    assert v.frames[0].image.dtype == np.uint8 and v.frames[0].image.shape == (240, 320, 3)


def test_frame_rate_independent_sampling():
    s = VisionSettings(sample_fps=10)
    a = decode_video(encode_video(_frames(90), fps=30), s)
    b = decode_video(encode_video(_frames(36), fps=12), s)
    assert abs(len(a.frames) - len(b.frames)) <= 2


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_rotation_metadata_honoured(rotate):
    v = decode_video(encode_video(_frames(10), fps=10, rotate=rotate), VisionSettings())
    img = v.frames[0].image
    corners = {
        "tl": img[:20, :20].mean(),
        "tr": img[:20, -20:].mean(),
        "bl": img[-20:, :20].mean(),
        "br": img[-20:, -20:].mean(),
    }
    expected = {90: "tr", 180: "br", 270: "bl"}[rotate]
    assert max(corners, key=corners.get) == expected
    assert (v.width, v.height) == ((240, 320) if rotate in (90, 270) else (320, 240))


def test_real_mpg_clip():
    data = data_path("videos", "grid", "lrwp9a.mpg").read_bytes()
    v = decode_video(data, VisionSettings(sample_fps=10))
    assert v.container == "mpeg" and v.codec == "mpeg1video"
    assert 2.9 <= v.duration <= 3.1 and (v.width, v.height) == (360, 288)


def test_garbage_and_limits():
    with pytest.raises(VideoDecodeFailed):
        decode_video(b"\x00garbage" * 500, VisionSettings())
    with pytest.raises(VideoDecodeFailed):
        decode_video(b"", VisionSettings())
    data = encode_video(_frames(75), fps=25)
    with pytest.raises(VideoSizeTooLarge):
        decode_video(data, VisionSettings(max_video_bytes=len(data) - 1))
    with pytest.raises(VideoDurationExceeded):
        decode_video(data, VisionSettings(max_video_seconds=2.0))
    # 21 s of tiny frames: over the default 20 s limit.
    long = encode_video([np.zeros((64, 64, 3), np.uint8)] * 105, fps=5)
    with pytest.raises(VideoDurationExceeded):
        decode_video(long, VisionSettings())
