"""Compare-photo intake: bytes or base64 in, a BGR uint8 array out, or a VisionError."""

from __future__ import annotations

import base64
import binascii
import io
import warnings

import numpy as np

from wxflow.vision.errors import ImageDecodeFailed, ImageSizeTooLarge

ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "MPO"})  # MPO: phone JPEGs with a depth map
DEFAULT_MAX_PIXELS = 40_000_000


def decode_image(data: bytes, max_bytes: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode a jpg/png/webp/bmp photo into an upright BGR uint8 array.

    EXIF orientation is applied (phones store portrait shots sideways plus a tag). Grey, palette and
    alpha images become 3-channel BGR; alpha is composited on white so a transparent background
    does not turn black and confuse the detector. Oversize input (bytes, or header pixel count: a
    decompression bomb) raises ImageSizeTooLarge before any pixel is decoded.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise ImageDecodeFailed("empty image")
    if len(data) > max_bytes:
        raise ImageSizeTooLarge(f"image is {len(data)} bytes, limit {max_bytes}")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning becomes an error here; our explicit check below is stricter.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            if im.format not in ALLOWED_FORMATS:
                raise ImageDecodeFailed(f"unsupported image format {im.format}")
            width, height = im.size
            if width * height > max_pixels:
                raise ImageSizeTooLarge(f"image is {width}x{height} pixels, limit {max_pixels} pixels")
            im.load()
            im = ImageOps.exif_transpose(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageSizeTooLarge(f"image too large: {exc}") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        # Truncated files raise OSError; corrupt headers SyntaxError/ValueError in some plugins.
        raise ImageDecodeFailed(f"image could not be decoded: {exc}") from exc
    return _to_bgr(im)


def _to_bgr(im: object) -> np.ndarray:
    from PIL import Image

    assert isinstance(im, Image.Image)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, rgba)
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        # 16-bit / float greys: scale to 8 bits rather than letting convert() clip at 255.
        arr = np.asarray(im, dtype=np.float64)
        peak = float(arr.max()) or 1.0
        grey = np.clip(arr * (255.0 / peak), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def decode_base64_image(text: str | bytes, max_bytes: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode a base64 photo (optionally a ``data:image/...;base64,`` URL) as :func:`decode_image`.

    Bad base64 raises ImageDecodeFailed. The byte limit applies to the decoded bytes; we refuse
    text obviously too long before decoding it so a huge string costs nothing.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError as exc:
            raise ImageDecodeFailed("base64 image is not ASCII") from exc
    text = text.strip()
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    if len(text) > (max_bytes * 4) // 3 + 8 + len(text) // 76 * 2:
        raise ImageSizeTooLarge(f"base64 image is {len(text)} characters, limit {max_bytes} bytes decoded")
    compact = "".join(text.split())
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        # Some clients send URL-safe base64; accept it rather than fail a real photo.
        try:
            data = base64.urlsafe_b64decode(compact)
        except (binascii.Error, ValueError):
            raise ImageDecodeFailed(f"bad base64 image: {exc}") from exc
    return decode_image(data, max_bytes, max_pixels)


def encode_jpeg(image_bgr: np.ndarray, quality: int = 90) -> bytes:
    """BGR array -> JPEG bytes (best frames travel as jpg base64 in the API)."""
    import cv2

    ok, buf = cv2.imencode(".jpg", image_bgr, [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()
