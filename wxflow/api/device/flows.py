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


class FlowSchema(ma.Schema):
    biz_token = ma.fields.String()
    state = ma.fields.String(metadata={"description": "created, in_progress, passed, failed, expired"})
    liveness_mode = ma.fields.String()
    attempts_left = ma.fields.Integer()
    expires_at = ma.fields.String(metadata={"description": "ISO 8601, UTC"})
    challenge = ma.fields.Nested(ChallengeSchema, allow_none=True)
    redirect_url = ma.fields.String(allow_none=True)


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


@blueprint.route("/<biz_token>")
class FlowResource(MethodView):
    @blueprint.response(200, FlowSchema)
    @blueprint.alt_response(404, description="Unknown token")
    def get(self, biz_token: str) -> dict[str, Any]:
        """State, liveness mode, the current challenge, attempts left and expiry."""
        biz_token_var.set(biz_token)
        return flows.flow_for_device(_ctx(), biz_token, _device_key())


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
        limit = _ctx().config.max_video_bytes
        data = upload.stream.read(limit + 1)
        if len(data) > limit:
            raise ServiceError(
                "FailedOperation.VideoDurationExceeded", "the video is larger than 8 MB", http_status=413
            )
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
