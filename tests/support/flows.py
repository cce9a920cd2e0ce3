"""Driving a flow from tests: start it as a merchant, upload as a device."""

from __future__ import annotations

import base64
import io
from typing import Any

from tests.support.data import data_path
from tests.support.media import clip_bytes, frame_at, jpeg_bytes, photo_attack_video
from wxflow.services import flows

# A real talking-head recording; its later frames give a same-person compare photo.
REAL_CLIP = ("videos", "sadtalker_hdtf", "WDA_KatieHill_000.mp4")
OTHER_PERSON_CLIP = ("videos", "sadtalker_hdtf", "WDA_BobMenendez_000.mp4")


def real_clip(seconds: float = 3.0, start: float = 0.0) -> bytes:
    return clip_bytes(data_path(*REAL_CLIP), start, seconds)


def same_person_photo_b64() -> str:
    return base64.b64encode(jpeg_bytes(frame_at(data_path(*REAL_CLIP), 6.5))).decode()


def other_person_photo_b64() -> str:
    return base64.b64encode(jpeg_bytes(frame_at(data_path(*OTHER_PERSON_CLIP), 4.0))).decode()


def printed_photo_attack(seconds: float = 3.0) -> bytes:
    """The printed-photo still of the PAD set, moved like a hand-held photo (see tests/support/media.py)."""
    import cv2

    image = cv2.imread(str(data_path("pad", "silent_face", "image_F1.jpg")))
    return photo_attack_video(image, seconds=seconds, seed=7)


def start(ctx: Any, merchant_id: int, rule_id: str, **fields: Any) -> str:
    return flows.detect_auth(ctx, merchant_id, flows.DetectAuthRequest(rule_id=rule_id, **fields))["BizToken"]


def upload(client: Any, token: str, video: bytes, challenge_id: str | None = None, filename: str = "v.mp4") -> Any:
    if challenge_id is None:
        challenge_id = client.get(f"/api/v1/flows/{token}").get_json()["challenge"]["id"]
    data: dict[str, Any] = {"video": (io.BytesIO(video), filename, "video/mp4")}
    if challenge_id:
        data["challenge_id"] = challenge_id
    return client.post(f"/api/v1/flows/{token}/attempts", data=data, content_type="multipart/form-data")
