"""Compare-photo intake: formats, colour modes, EXIF rotation, bad and oversize input."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from wxflow.vision.errors import ImageDecodeFailed, ImageSizeTooLarge
from wxflow.vision.image import decode_base64_image, decode_image

MB = 1024 * 1024


def _pattern(w: int = 64, h: int = 48) -> Image.Image:
    # Top-left quadrant red, rest blue: orientation and channel order are both visible.
    arr = np.zeros((h, w, 3), dtype=np.uint8)
    arr[:, :] = (0, 0, 255)
    arr[: h // 2, : w // 2] = (255, 0, 0)
    return Image.fromarray(arr, "RGB")


def _save(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP"])
def test_formats_decode_to_bgr(fmt):
    img = decode_image(_save(_pattern(), fmt), 3 * MB)
    assert img.shape == (48, 64, 3) and img.dtype == np.uint8
    b, g, r = img[5, 5]
    assert r > 200 and b < 60  # red stays red: channels are BGR
    assert img[40, 60, 0] > 200  # blue


def test_grey_and_rgba():
    grey = decode_image(_save(_pattern().convert("L"), "PNG"), 3 * MB)
    assert grey.shape == (48, 64, 3)
    assert np.array_equal(grey[..., 0], grey[..., 2])
    rgba = _pattern().convert("RGBA")
    alpha = np.array(rgba)
    alpha[:, 32:, 3] = 0  # right half transparent -> white
    out = decode_image(_save(Image.fromarray(alpha, "RGBA"), "PNG"), 3 * MB)
    assert out.shape == (48, 64, 3)
    assert (out[30, 60] > 250).all()


def test_exif_orientation_applied():
    im = _pattern(64, 48)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    out = decode_image(_save(im, "JPEG", exif=exif), 3 * MB)
    assert out.shape == (64, 48, 3)
    # The red top-left quadrant moves to the top-right after a clockwise turn.
    assert out[5, 40, 2] > 200 and out[5, 5, 2] < 60


def test_bad_bytes_and_base64():
    with pytest.raises(ImageDecodeFailed):
        decode_image(b"not an image at all", 3 * MB)
    with pytest.raises(ImageDecodeFailed):
        decode_image(b"", 3 * MB)
    with pytest.raises(ImageDecodeFailed):
        decode_image(_save(_pattern(), "JPEG")[:200], 3 * MB)  # truncated
    with pytest.raises(ImageDecodeFailed):
        decode_base64_image("@@@ not base64 @@@", 3 * MB)
    good = base64.b64encode(_save(_pattern(), "PNG")).decode()
    assert decode_base64_image(good, 3 * MB).shape == (48, 64, 3)
    assert decode_base64_image("data:image/png;base64," + good, 3 * MB).shape == (48, 64, 3)


def test_oversize_refused():
    data = _save(_pattern(), "PNG")
    with pytest.raises(ImageSizeTooLarge):
        decode_image(data, max_bytes=len(data) - 1)
    with pytest.raises(ImageSizeTooLarge):
        decode_base64_image(base64.b64encode(data).decode(), max_bytes=len(data) // 2)
    # A decompression bomb: tiny file, huge canvas.
    bomb = _save(Image.new("L", (9000, 9000)), "PNG")
    assert len(bomb) < 3 * MB
    with pytest.raises(ImageSizeTooLarge):
        decode_image(bomb, 3 * MB, max_pixels=40_000_000 // 2)
