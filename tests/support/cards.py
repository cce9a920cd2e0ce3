"""ID-card images for tests: the real portrait-side specimens (read in place) and rendered back sides.

There is no back-side (国徽面) specimen in the shared data, so the back is *rendered* here with PIL and
the WenQuanYi Micro Hei font (Debian ``fonts-wqy-microhei``): a card-sized, coloured background with
the title and the two labelled lines (签发机关, 有效期限), optionally on a darker table so the card's
edge is inside the frame, and optionally rotated. Rendered images are test inputs only; no accuracy
figure is ever drawn from them.
"""

from __future__ import annotations

import base64
from pathlib import Path

import cv2
import numpy as np

from tests.support.data import data_path

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
SPECIMENS = ("idcard", "chineseocr")
XIAOJING_FRONT = (*SPECIMENS, "card_front_specimen_xiaojing_horizontal.png")
# 代用名's specimen: its printed number 430512198908131367 fails the GB 11643 check digit.
DAIYONGMING_FRONT = (*SPECIMENS, "idcard-demo_front_specimen_daiyongming_rotated180.jpeg")
XIAOJING = {"name": "小静", "id_card": "370782198709170246", "gender": "女", "nation": "汉", "birth": "1987/9/17"}
XIAOJING_ADDRESS = "北京市海淀区西北旺东路100号中关村科技园"
BACK_AUTHORITY = "北京市公安局海淀分局"
BACK_VALIDITY = "2015.01.01-2035.01.01"
_ROTATIONS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def _font_or_skip() -> Path:
    if not FONT.exists():
        from tests.support.data import _missing

        _missing(f"{FONT} (apt-get install fonts-wqy-microhei)")
    return FONT


def rendered_back(
    authority: str = BACK_AUTHORITY,
    validity: str = BACK_VALIDITY,
    *,
    rotation: int = 0,
    on_table: bool = True,
    blur: int = 0,
) -> np.ndarray:
    """A rendered back side (BGR): 856x540 card, coloured background, title and the two labelled lines."""
    from PIL import Image, ImageDraw, ImageFont

    font_path = str(_font_or_skip())
    card = Image.new("RGB", (856, 540), (214, 232, 240))
    draw = ImageDraw.Draw(card)
    # A coloured band and emblem disc, like the real card's printing: a colour photo, not a copy.
    for y in range(540):
        draw.line([(0, y), (856, y)], fill=(200 + y // 20, 226, 238 - y // 30))
    draw.ellipse((60, 50, 200, 190), fill=(205, 40, 40))
    draw.ellipse((100, 90, 160, 150), fill=(240, 200, 60))
    title = ImageFont.truetype(font_path, 52)
    label = ImageFont.truetype(font_path, 30)
    draw.text((280, 70), "中华人民共和国", font=title, fill=(20, 20, 20))
    draw.text((300, 150), "居民身份证", font=title, fill=(20, 20, 20))
    draw.text((140, 380), f"签发机关  {authority}", font=label, fill=(20, 20, 20))
    draw.text((140, 440), f"有效期限  {validity}", font=label, fill=(20, 20, 20))
    image = cv2.cvtColor(np.asarray(card), cv2.COLOR_RGB2BGR)
    if blur:
        image = cv2.GaussianBlur(image, (0, 0), blur)
    if on_table:
        table = np.full((740, 1100, 3), (60, 70, 80), np.uint8)
        table[100:640, 122:978] = image
        image = table
    if rotation:
        image = cv2.rotate(image, _ROTATIONS[rotation])
    return image


def jpeg(image: np.ndarray, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def rendered_back_jpeg(**options: object) -> bytes:
    return jpeg(rendered_back(**options))  # type: ignore[arg-type]


def specimen_bytes(parts: tuple[str, ...]) -> bytes:
    """A specimen's file, read in place from the shared data (never copied)."""
    return data_path(*parts).read_bytes()


def blank_jpeg() -> bytes:
    """A plain grey picture: no card, no text."""
    return jpeg(np.full((540, 856, 3), 200, np.uint8))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
