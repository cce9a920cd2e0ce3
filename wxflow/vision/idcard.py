"""The resident ID card (居民身份证): find and deskew the card, read its fields, judge the picture.

Pure: a BGR array in, a plain result out. The portrait side gives name, gender, nation, birth date,
address, ID number and the portrait crop; the back gives the issuing authority and validity dates.
Warnings are only those this module can detect honestly (see ``CardReading.warnings``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date

import cv2
import numpy as np

from wxflow.vision.ocr import TextBox, read_text

CARD_W, CARD_H = 856, 540  # 85.6 x 54 mm
_ID = re.compile(r"(\d{17}[\dXx])")
_BIRTH = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
# The recogniser reads the validity's dash as a hyphen, a dash or 一 (the character for one).
_VALID = re.compile(r"(\d{4})[.\-](\d{2})[.\-](\d{2})\s*[-—一~至]+\s*(长期|\d{4}[.\-]\d{2}[.\-]\d{2})")
_VALID_DATE = re.compile(r"(\d{4})\.(\d{2})\.(\d{2})-(?:(长期)|(\d{4})\.(\d{2})\.(\d{2}))")
# A resident ID card is valid 5, 10 or 20 years from its issue date (GB/T 11643 and the ID card law),
# or for life (长期); temporary cards (临时) run three months and are flagged -9104 instead.
_VALIDITY_YEARS = (5, 10, 20)

WARN_BORDER = -9101
WARN_BW_COPY = -9108
WARN_TEMP_ID = -9104
WARN_VALIDITY = -9100  # the printed validity is missing, malformed or impossible
WARN_EXPIRED = -9109  # a well-formed validity that ended before today (spec: "invalid validity date")
WARN_BLUR = -8001


@dataclass
class CardReading:
    side: str  # front | back | unknown
    name: str = ""
    gender: str = ""
    nation: str = ""
    birth: str = ""  # YYYY/M/D as printed
    address: str = ""
    id_number: str = ""
    authority: str = ""
    valid_date: str = ""  # YYYY.MM.DD-YYYY.MM.DD or YYYY.MM.DD-长期
    portrait: bytes | None = None  # JPEG
    processed: bytes | None = None  # JPEG of the card found, deskewed and turned upright
    rotation: int = 0  # degrees clockwise applied to make the card upright
    border_found: bool = False
    quality: float = 0.0  # 0-100, sharpness
    colourless: bool = False  # looks like a black-and-white copy
    temporary: bool = False
    warnings: list[int] = field(default_factory=list)  # every detectable one; callers filter by Config


def _find_card(image: np.ndarray) -> tuple[np.ndarray, bool]:
    """The card warped to CARD_W x CARD_H when its four edges are found inside the frame, else the image."""
    h, w = image.shape[:2]
    grey = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (5, 5), 0)
    edges = cv2.dilate(cv2.Canny(grey, 40, 120), np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
        area = cv2.contourArea(contour)
        if area < 0.25 * w * h:
            break
        quad = cv2.approxPolyDP(contour, 0.02 * cv2.arcLength(contour, True), True)
        if len(quad) != 4:
            continue
        pts = quad.reshape(4, 2).astype(np.float32)
        margin = 2
        if (pts[:, 0] <= margin).any() or (pts[:, 1] <= margin).any():
            continue
        if (pts[:, 0] >= w - 1 - margin).any() or (pts[:, 1] >= h - 1 - margin).any():
            continue
        s, d = pts.sum(axis=1), np.diff(pts, axis=1).ravel()
        ordered = np.array([pts[s.argmin()], pts[d.argmin()], pts[s.argmax()], pts[d.argmax()]], np.float32)
        width = np.linalg.norm(ordered[1] - ordered[0])
        height = np.linalg.norm(ordered[3] - ordered[0])
        size = (CARD_W, CARD_H) if width >= height else (CARD_H, CARD_W)
        target = np.array([[0, 0], [size[0] - 1, 0], [size[0] - 1, size[1] - 1], [0, size[1] - 1]], np.float32)
        return cv2.warpPerspective(image, cv2.getPerspectiveTransform(ordered, target), size), True
    return image, False


_ROTATIONS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def _upright_rotation(boxes: list[TextBox]) -> int | None:
    """Degrees clockwise that bring the text upright, from where the ID number lies relative to the rest.

    On the portrait side the ID number is the lowest line; on the back the validity line is. Text the
    angle classifier read is enough to find those lines in any of the four orientations.
    """
    anchor = next((b for b in boxes if _ID.search(b.text.replace(" ", ""))), None)
    anchor = anchor or next((b for b in boxes if _VALID.search(b.text) or "有效期" in b.text), None)
    others = [b for b in boxes if b is not anchor]
    if anchor is None or not others:
        return None
    # Text lines are long: wider than tall when the card is upright or upside down.
    spans = sorted((b.right - b.left) / max(b.height, 1.0) for b in boxes if len(b.text) >= 4)
    horizontal = (spans[len(spans) // 2] if spans else 2.0) >= 1.0
    ax, ay = anchor.center
    ox = sum(b.center[0] for b in others) / len(others)
    oy = sum(b.center[1] for b in others) / len(others)
    if horizontal:
        return 0 if ay >= oy else 180
    return 90 if ax >= ox else 270  # "down" points right: turn clockwise


def _lines(boxes: list[TextBox]) -> list[str]:
    rows: list[list[TextBox]] = []
    for box in sorted(boxes, key=lambda b: b.center[1]):
        if rows and abs(rows[-1][0].center[1] - box.center[1]) < 0.5 * max(box.height, rows[-1][0].height):
            rows[-1].append(box)
        else:
            rows.append([box])
    return ["".join(b.text for b in sorted(row, key=lambda b: b.left)).replace(" ", "") for row in rows]


def _quality(card: np.ndarray) -> float:
    grey = cv2.cvtColor(cv2.resize(card, (CARD_W, int(CARD_W * card.shape[0] / card.shape[1]))), cv2.COLOR_BGR2GRAY)
    sharpness = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    return round(100.0 * (1.0 - math.exp(-sharpness / 250.0)), 2)


def _colourless(card: np.ndarray) -> bool:
    hsv = cv2.cvtColor(card, cv2.COLOR_BGR2HSV)
    return float(np.percentile(hsv[:, :, 1], 90)) < 25.0


def _parse_front(lines: list[str], reading: CardReading) -> None:
    text = "".join(lines)
    id_match = _ID.search(text)
    reading.id_number = id_match.group(1).upper() if id_match else ""
    for i, line in enumerate(lines):
        if "姓名" in line and not reading.name:
            reading.name = line.split("姓名", 1)[1]
            if not reading.name and i + 1 < len(lines):
                reading.name = lines[i + 1]
        if m := re.search(r"性别([男女])", line):
            reading.gender = m.group(1)
        if m := re.search(r"民族(\S+)", line):
            reading.nation = m.group(1)
        if m := _BIRTH.search(line):
            reading.birth = f"{int(m.group(1))}/{int(m.group(2))}/{int(m.group(3))}"
    start = next((i for i, line in enumerate(lines) if "住址" in line), None)
    if start is not None:
        parts = []
        for line in lines[start:]:
            if "号码" in line or _ID.search(line):
                break
            parts.append(line.replace("住址", "", 1) if not parts else line)
        reading.address = "".join(parts)


def _parse_back(lines: list[str], reading: CardReading) -> None:
    for line in lines:
        if "签发机关" in line:
            reading.authority = line.split("签发机关", 1)[1]
        if m := _VALID.search(line):
            end = m.group(4).replace("-", ".")
            reading.valid_date = f"{m.group(1)}.{m.group(2)}.{m.group(3)}-{end}"


def validity_warnings(valid_date: str, today: date | None = None) -> list[int]:
    """-9100 for a validity that cannot be a resident card's, -9109 for one that ended before ``today``."""
    m = _VALID_DATE.fullmatch(valid_date or "")
    if m is None:
        return [WARN_VALIDITY]
    try:
        begin = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        end = None if m.group(4) else date(int(m.group(5)), int(m.group(6)), int(m.group(7)))
    except ValueError:  # a date that does not exist (2015.02.30)
        return [WARN_VALIDITY]
    if today is not None and begin > today:
        return [WARN_VALIDITY]  # issued in the future
    if end is None:
        return []
    same_day = (end.month, end.day) == (begin.month, begin.day) or (
        (begin.month, begin.day) == (2, 29) and (end.month, end.day) in ((2, 28), (3, 1))
    )
    if not same_day or end.year - begin.year not in _VALIDITY_YEARS:
        return [WARN_VALIDITY]
    if today is not None and end < today:
        return [WARN_EXPIRED]
    return []


def read_card(image: np.ndarray, today: date | None = None) -> CardReading:
    """Read one side of a resident ID card from a BGR image (any of the four orientations).

    ``today`` lets the back's validity be judged expired (-9109); without it only its form is checked.
    """
    card, border_found = _find_card(image)
    boxes = read_text(card)
    rotation = _upright_rotation(boxes) or 0
    if rotation:
        card = cv2.rotate(card, _ROTATIONS[rotation])
        boxes = read_text(card)
    lines = _lines(boxes)
    text = "".join(lines)
    side = (
        "front"
        if ("姓名" in text or _ID.search(text))
        else ("back" if "签发机关" in text or "有效期" in text else "unknown")
    )
    reading = CardReading(side=side, rotation=rotation, border_found=border_found)
    if side == "front":
        _parse_front(lines, reading)
        reading.portrait = _portrait(card, boxes)
    elif side == "back":
        _parse_back(lines, reading)
    reading.processed = _jpeg(card)
    reading.quality = _quality(card)
    reading.colourless = _colourless(card)
    reading.temporary = "临时" in text
    if not border_found:
        reading.warnings.append(WARN_BORDER)
    if reading.temporary:
        reading.warnings.append(WARN_TEMP_ID)
    if reading.colourless:
        reading.warnings.append(WARN_BW_COPY)
    if side == "back" and not reading.temporary:
        reading.warnings.extend(validity_warnings(reading.valid_date, today))
    if reading.quality < 50:
        reading.warnings.append(WARN_BLUR)
    return reading


def _portrait(card: np.ndarray, boxes: list[TextBox]) -> bytes | None:
    """The photo: right of the name/address text, above the ID number line."""
    h, w = card.shape[:2]
    id_box = next((b for b in boxes if _ID.search(b.text.replace(" ", ""))), None)
    bottom = int(min(b[1] for b in id_box.points)) if id_box else int(0.8 * h)
    upper_text = [b for b in boxes if b is not id_box and b.center[1] < bottom]
    left = int(max((b.right for b in upper_text if b.right < 0.8 * w), default=0.55 * w))
    left = max(left, int(0.55 * w))
    top = int(0.08 * h)
    crop = card[top:bottom, left : int(0.97 * w)]
    return _jpeg(crop) if crop.size else None


def _jpeg(image: np.ndarray) -> bytes | None:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return buf.tobytes() if ok else None
