"""ID-card OCR actions: read the card (``wxflow.vision.idcard``), cross-check it, check it against the authority."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from wxflow.errors import ServiceError
from wxflow.logs import mask_id_card, mask_name
from wxflow.services import identity
from wxflow.services.context import ServiceContext
from wxflow.services.idformat import parse_id_card

log = logging.getLogger(__name__)

CONFIG_FLAGS = ("CopyWarn", "BorderCheckWarn", "ReshootWarn", "DetectPsWarn", "TempIdWarn", "Quality")
# Which Config flag enables each warning this service can detect. Recapture (-9103), edits (-9106),
# occlusion (-9105) and glare (-9107) have no detector here and are never reported.
_FLAG_OF = {-9101: "BorderCheckWarn", -9102: "CopyWarn", -9108: "CopyWarn", -9104: "TempIdWarn", -8001: "Quality"}


def _config(raw: str | None) -> dict[str, bool]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise ServiceError("InvalidParameter", "Config must be a JSON string of booleans") from None
    if not isinstance(value, dict):
        raise ServiceError("InvalidParameter", "Config must be a JSON object")
    return {k: bool(value.get(k)) for k in CONFIG_FLAGS}


def read(ctx: ServiceContext, image: bytes) -> Any:
    import cv2
    import numpy as np

    from wxflow.vision.idcard import read_card

    array = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
    if array is None:
        raise ServiceError("FailedOperation.ImageDecodeFailed", "the image could not be decoded")
    reading = read_card(array)
    if reading.side != "front" or not reading.id_number:
        raise ServiceError("FailedOperation.OcrFailed", "no ID card portrait side was found in the image")
    return reading


# --- the WeChat flow's card step: one side at a time, refused with a reason the user can act on -------

CARD_SIDES = ("front", "back")
SIDE_NAMES = {"front": "portrait side (人像面)", "back": "emblem side (国徽面)"}
# Phone photos are scaled to this long side before reading: the card still has ~1,000 px across,
# and the time to read stays about the same whatever the camera.
_CARD_LONG_SIDE = 1600
# The card's validity is a date in China.
_CHINA_OFFSET = timedelta(hours=8)


class CardRefused(ServiceError):
    """A card picture the user should take again: unreadable, the other side, or an impossible number.

    A refusal is not an attempt: it uses up none of the flow's tries.
    """


@dataclass(frozen=True)
class CardSide:
    side: str
    reading: Any  # wxflow.vision.idcard.CardReading
    image_jpeg: bytes  # the upload re-encoded: upright by EXIF, scaled, metadata dropped


def read_side(ctx: ServiceContext, image: bytes, side: str) -> CardSide:
    """Read one side of the user's card for the flow, or refuse it with a retake reason."""
    import cv2

    from wxflow.vision.errors import VisionError
    from wxflow.vision.idcard import read_card
    from wxflow.vision.image import decode_image

    try:
        array = decode_image(image, ctx.config.max_image_bytes)
    except VisionError as exc:
        status = 413 if exc.result == "FailedOperation.ImageSizeTooLarge" else 400
        raise CardRefused(exc.result, "the picture could not be used; take it again", http_status=status) from None
    scale = _CARD_LONG_SIDE / max(array.shape[:2])
    if scale < 1:
        array = cv2.resize(array, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    reading = read_card(array, today=(ctx.clock.now() + _CHINA_OFFSET).date())
    other = "back" if side == "front" else "front"
    if reading.side == other:
        raise CardRefused(
            "FailedOperation.IdCardWrongSide",
            f"this is the card's {SIDE_NAMES[other]}; photograph its {SIDE_NAMES[side]}",
        )
    readable = reading.side == side and (
        (reading.id_number and reading.name) if side == "front" else (reading.authority or reading.valid_date)
    )
    if not readable:
        raise CardRefused(
            "FailedOperation.OcrFailed",
            f"no ID card {SIDE_NAMES[side]} could be read; lay the card flat in good light, "
            "fill the frame with it and take the picture again",
        )
    if side == "front":
        parsed, why = parse_id_card(reading.id_number)
        if parsed is None:
            raise CardRefused(
                "FailedOperation.IdFormatError",
                f"the ID number read from the card is not valid ({why}); take the picture again, "
                "sharp and without glare",
            )
    ok, buf = cv2.imencode(".jpg", array, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return CardSide(side, reading, buf.tobytes())


def cross_check(reading: Any) -> list[str]:
    """Disagreements between the printed fields and the ID number (birth date, gender, check digit)."""
    problems = []
    parsed, why = parse_id_card(reading.id_number)
    if parsed is None:
        problems.append(f"ID number invalid: {why}")
        number = reading.id_number
        if len(number) == 18 and number[6:14].isdigit():
            printed = reading.birth.split("/")
            if len(printed) == 3 and (int(printed[0]), int(printed[1]), int(printed[2])) != (
                int(number[6:10]),
                int(number[10:12]),
                int(number[12:14]),
            ):
                problems.append("printed birth date differs from the ID number's")
        return problems
    if reading.birth and reading.birth != parsed.birth_slash:
        problems.append("printed birth date differs from the ID number's")
    if reading.gender and reading.gender != parsed.gender:
        problems.append("printed gender differs from the ID number's")
    return problems


def _warnings(reading: Any, config: dict[str, bool]) -> str | None:
    codes = [c for c in reading.warnings if config.get(_FLAG_OF.get(c, ""), False)]
    return "|".join(str(c) for c in codes) or None


def id_card_ocr_verification(
    ctx: ServiceContext,
    merchant_id: int | None,
    id_card: str | None,
    name: str | None,
    image: bytes | None,
    config_raw: str | None,
) -> dict[str, Any]:
    config = _config(config_raw)
    if id_card and name:  # name + ID number win over the image
        result = identity.id_card_verification(ctx, merchant_id, id_card, name, "IdCardOCRVerification")
        parsed, _ = parse_id_card(id_card)
        return {
            **result,
            "Name": name,
            "IdCard": id_card,
            "Sex": parsed.gender if parsed else None,
            "Nation": None,
            "Birth": parsed.birth_slash if parsed else None,
            "Address": None,
            "Portrait": None,
            "Warnings": None,
            "Quality": None,
        }
    reading = read(ctx, image or b"")
    result = identity.id_card_verification(ctx, merchant_id, reading.id_number, reading.name, "IdCardOCRVerification")
    problems = cross_check(reading)
    if problems:
        log.info("card %s %s: %s", mask_id_card(reading.id_number), mask_name(reading.name), "; ".join(problems))
        result["Description"] += "（" + "；".join(problems) + "）"
    return {
        **result,
        "Name": reading.name,
        "IdCard": reading.id_number,
        "Sex": reading.gender,
        "Nation": reading.nation,
        "Birth": reading.birth,
        "Address": reading.address,
        "Portrait": base64.b64encode(reading.portrait).decode() if reading.portrait else None,
        "Warnings": _warnings(reading, config),
        "Quality": reading.quality if config.get("Quality") else None,
    }


def check_id_card_information(
    ctx: ServiceContext, merchant_id: int | None, image: bytes | None, config_raw: str | None
) -> dict[str, Any]:
    """OCR fields plus the similarity of the card's portrait to the authority's photo of that person."""
    from wxflow.services import authority
    from wxflow.services.paas import describe

    config = _config(config_raw)
    reading = read(ctx, image or b"")
    out: dict[str, Any] = {
        "Name": reading.name,
        "Sex": reading.gender,
        "Nation": reading.nation,
        "Birth": reading.birth,
        "Address": reading.address,
        "IdNum": reading.id_number,
        "Portrait": base64.b64encode(reading.portrait).decode() if reading.portrait else None,
        "Warnings": _warnings(reading, config),
        "Quality": reading.quality if config.get("Quality") else None,
        "Encryption": None,
        "Sim": 0.0,
    }
    check = identity._check(
        ctx, merchant_id, "CheckIdCardInformation", [("id", reading.id_number), ("name", reading.name)]
    )
    parsed, _ = parse_id_card(reading.id_number)
    code = None
    if parsed is None:
        code = "FailedOperation.IdFormatError"
    elif cross_check(reading):
        code = "FailedOperation.IdFormatError"
    if code is None:
        check.provider = "local"
        try:
            with ctx.db.session() as s:
                match = authority.reference_for(ctx, s, parsed.number, reading.name)
        except authority.AuthorityMismatch as exc:
            code = exc.code
        else:
            code, sim = _compare_portrait(ctx, reading.portrait, match.embedding)
            out["Sim"] = sim
    check.finish(code, code not in ("FailedOperation.IdFormatError", "FailedOperation.IdNoExistSystem"))
    out.update(Result=code, Description=describe(code))
    return out


def _compare_portrait(ctx: ServiceContext, portrait: bytes | None, reference: Any) -> tuple[str, float]:
    from wxflow.services.merchants import THRESHOLDS
    from wxflow.vision.errors import VisionError
    from wxflow.vision.face import compare, reference_embedding
    from wxflow.vision.image import decode_image

    if not portrait:
        return "FailedOperation.LifePhotoDetectNoFaces", 0.0
    try:
        probe = reference_embedding(decode_image(portrait, ctx.config.max_image_bytes), ctx.engines())
    except VisionError as exc:
        return exc.result, 0.0
    score = compare(probe, reference, ctx.config.recogniser)
    sim = round(float(score.sim), 2)
    return ("Success" if sim >= THRESHOLDS["1e-3"] else "FailedOperation.CompareLowSimilarity"), sim
