"""Flows as the device sees them: the challenge, the attempts, and where to go when it is over."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload

from wxflow.errors import ServiceError
from wxflow.logs import biz_token_var
from wxflow.services import binding, flows

blueprint = Blueprint(
    "flows", __name__, url_prefix="/api/v1/flows", description="A verification as the user's device sees it."
)


class ChallengeSchema(ma.Schema):
    id = ma.fields.String(metadata={"description": "Send this back with the attempt; it is accepted once."})
    kind = ma.fields.String(metadata={"description": "none (silent), action, digit"})
    actions = ma.fields.List(ma.fields.Integer(), metadata={"description": "1 open mouth, 2 blink, in order"})
    action_names = ma.fields.List(ma.fields.String())
    sequence = ma.fields.String(metadata={"example": "2,1"})
    code = ma.fields.String(metadata={"description": "Digits to read aloud (digit mode)"})
    colours = ma.fields.List(
        ma.fields.String(), metadata={"description": "Light/flash: #RRGGBB colours to show full screen, in order"}
    )
    durations_ms = ma.fields.List(ma.fields.Integer(), metadata={"description": "How long each colour is shown"})
    start_ms = ma.fields.Integer(metadata={"description": "When the first colour starts, after recording starts"})


class IdCardStepSchema(ma.Schema):
    required = ma.fields.Boolean(metadata={"description": "The rule reads the user's ID card before the selfie."})
    front = ma.fields.Boolean(metadata={"description": "The portrait side (人像面) was read and kept."})
    back = ma.fields.Boolean(metadata={"description": "The emblem side (国徽面) was read and kept."})
    done = ma.fields.Boolean(metadata={"description": "The face step may begin (always true when not required)."})


class FlowSchema(ma.Schema):
    biz_token = ma.fields.String()
    state = ma.fields.String(metadata={"description": "created, in_progress, passed, failed, expired"})
    liveness_mode = ma.fields.String()
    attempts_left = ma.fields.Integer()
    expires_at = ma.fields.String(metadata={"description": "ISO 8601, UTC"})
    challenge = ma.fields.Nested(ChallengeSchema, allow_none=True)
    id_card = ma.fields.Nested(IdCardStepSchema)
    redirect_url = ma.fields.String(allow_none=True)


class IdCardFileSchema(ma.Schema):
    image = Upload(required=True, metadata={"description": "A photo of that side of the card: jpg or png, <= 3 MB"})


class IdCardReadingSchema(ma.Schema):
    side = ma.fields.String(metadata={"description": "front or back"})
    name = ma.fields.String(metadata={"description": "Front: the name read, for the user to check"})
    id_card = ma.fields.String(metadata={"description": "Front: the ID number read (its check digit is valid)"})
    gender = ma.fields.String()
    nation = ma.fields.String()
    birth = ma.fields.String(metadata={"example": "1987/9/17"})
    address = ma.fields.String()
    authority = ma.fields.String(metadata={"description": "Back: 签发机关"})
    valid_date = ma.fields.String(metadata={"example": "2015.01.01-2035.01.01"})
    warnings = ma.fields.List(ma.fields.Integer(), metadata={"description": "Card warning codes, e.g. -9101"})
    id_card_step = ma.fields.Nested(IdCardStepSchema)


class AttemptFormSchema(ma.Schema):
    challenge_id = ma.fields.String(required=True, metadata={"description": "The id of the challenge answered."})


class AttemptFileSchema(ma.Schema):
    video = Upload(required=True, metadata={"description": "webm, mp4 or mov; at most 8 MB and 20 s"})


class AttemptCreatedSchema(ma.Schema):
    attempt_id = ma.fields.String()


class OutcomeSchema(ma.Schema):
    passed = ma.fields.Boolean()
    message = ma.fields.String(metadata={"description": "Safe to show the user; never a score."})


class AttemptSchema(ma.Schema):
    attempt_id = ma.fields.String()
    state = ma.fields.String(metadata={"description": "queued, running, done, failed"})
    outcome = ma.fields.Nested(OutcomeSchema, allow_none=True)
    attempts_left = ma.fields.Integer()
    flow_state = ma.fields.String()
    redirect_url = ma.fields.String(
        allow_none=True, metadata={"description": "The merchant's RedirectUrl with token=<BizToken>, once final."}
    )


def _ctx() -> Any:
    return current_app.extensions["wxflow"]


def _device_key() -> str | None:
    # Issued when the flow was bound to a WeChat user: a header (mini-program) or a cookie (H5 page).
    return request.headers.get(binding.DEVICE_HEADER) or request.cookies.get(binding.DEVICE_COOKIE)


def _read_upload(upload: Any, limit: int, too_large: str, what: str) -> bytes:
    """The uploaded file's bytes, read no further than one byte past the limit."""
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise ServiceError(too_large, f"{what} is larger than {limit // (1024 * 1024)} MB", http_status=413)
    return data


@blueprint.route("/<biz_token>")
class FlowResource(MethodView):
    @blueprint.response(200, FlowSchema)
    @blueprint.alt_response(404, description="Unknown token")
    def get(self, biz_token: str) -> dict[str, Any]:
        """State, liveness mode, the current challenge, attempts left and expiry."""
        biz_token_var.set(biz_token)
        return flows.flow_for_device(_ctx(), biz_token, _device_key())


@blueprint.route("/<biz_token>/id-card/<side>")
class IdCardSideResource(MethodView):
    @blueprint.arguments(IdCardFileSchema, location="files")
    @blueprint.response(200, IdCardReadingSchema)
    @blueprint.alt_response(400, description="Unreadable card, the other side, or an ID number that cannot be valid")
    @blueprint.alt_response(404, description="Unknown token, or a side other than front and back")
    @blueprint.alt_response(409, description="No card step in this flow, the face step has begun, or it ended")
    @blueprint.alt_response(410, description="The verification expired")
    @blueprint.alt_response(413, description="The image is over the size limit")
    @blueprint.alt_response(503, description="The identity authority is busy; try again")
    def post(self, files: dict[str, Any], biz_token: str, side: str) -> dict[str, Any]:
        """Photograph one side of the ID card (front, then back): it is read at once and shown to the user.

        A refused picture uses up no attempt; take it again. Sending a side again replaces it until the
        first recording is uploaded. POST, multipart: what ``wx.uploadFile`` sends.
        """
        biz_token_var.set(biz_token)
        limit = _ctx().config.max_image_bytes
        data = _read_upload(files["image"], limit, "FailedOperation.ImageSizeTooLarge", "the image")
        return flows.submit_card_side(_ctx(), biz_token, side, data, _device_key())


@blueprint.route("/<biz_token>/attempts")
class AttemptCollection(MethodView):
    @blueprint.arguments(AttemptFormSchema, location="form")
    @blueprint.arguments(AttemptFileSchema, location="files")
    @blueprint.response(202, AttemptCreatedSchema)
    @blueprint.alt_response(400, description="Bad or missing video or challenge")
    @blueprint.alt_response(409, description="Challenge already used, flow finished, or no attempts left")
    @blueprint.alt_response(410, description="The verification expired")
    @blueprint.alt_response(413, description="The video is over the size or duration limit")
    def post(self, form: dict[str, Any], files: dict[str, Any], biz_token: str) -> dict[str, Any]:
        """Upload one recording answering the issued challenge; it is judged asynchronously."""
        biz_token_var.set(biz_token)
        upload = files["video"]
        data = _read_upload(upload, _ctx().config.max_video_bytes, "FailedOperation.VideoDurationExceeded", "the video")
        attempt_id = flows.submit_attempt(
            _ctx(), biz_token, form.get("challenge_id"), data, upload.mimetype or "", _device_key()
        )
        return {"attempt_id": attempt_id}


@blueprint.route("/<biz_token>/attempts/<attempt_id>")
class AttemptResource(MethodView):
    @blueprint.response(200, AttemptSchema)
    @blueprint.alt_response(404, description="Unknown token or attempt")
    def get(self, biz_token: str, attempt_id: str) -> dict[str, Any]:
        """The attempt's state, a user-safe outcome, and the redirect once the flow is final."""
        biz_token_var.set(biz_token)
        return flows.attempt_for_device(_ctx(), biz_token, attempt_id, _device_key())
