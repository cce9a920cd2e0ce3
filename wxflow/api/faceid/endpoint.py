"""``POST /``: authenticate, dispatch the action named in ``X-TC-Action``, render the envelope."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, g, request

from wxflow.api.faceid.actions import ACTIONS
from wxflow.api.faceid.auth import authenticate
from wxflow.errors import ServiceError
from wxflow.logs import request_id_var
from wxflow.services import envelope, ratelimit

log = logging.getLogger(__name__)
blueprint = Blueprint("faceid", __name__)
VERSION = "2018-03-01"


def _envelope(body: dict[str, Any]) -> Response:
    # Exactly "application/json": with a charset parameter the official SDK silently drops errors.
    response = Response(json.dumps({"Response": body}, ensure_ascii=False), status=200)
    response.headers["Content-Type"] = "application/json"
    return response


def error_envelope(code: str, message: str, request_id: str) -> Response:
    return _envelope({"Error": {"Code": code, "Message": message}, "RequestId": request_id})


@blueprint.post("/")
def tc3_endpoint() -> Response:
    request_id = getattr(g, "request_id", None) or str(uuid.uuid4())
    request_id_var.set(request_id)
    language = "en-US" if request.headers.get("X-TC-Language") == "en-US" else "zh-CN"
    ctx = current_app.extensions["wxflow"]
    action = request.headers.get("X-TC-Action", "")
    try:
        if (request.content_length or 0) > ctx.config.max_body_bytes:
            raise ServiceError("InvalidParameter", "the request body is larger than 10 MB")
        body = request.get_data(cache=True)
        caller = authenticate(ctx, request, body)
        ratelimit.check(ctx, caller.secret_id)
        if request.headers.get("X-TC-Version", VERSION) != VERSION:
            raise ServiceError("NoSuchVersion", f"faceid speaks version {VERSION}")
        handler = ACTIONS.get(action)
        if handler is None:
            raise ServiceError("InvalidAction", f"the action {action!r} does not exist")
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            raise ServiceError("InvalidParameter", "the request body is not JSON") from None
        if not isinstance(params, dict):
            raise ServiceError("InvalidParameter", "the request body must be a JSON object")
        params, sealed = envelope.decrypt_params(ctx, params)
        encrypt_whole = bool(params.get("IsEncryptResponse"))
        if encrypt_whole and sealed is None:
            raise ServiceError("MissingParameter", "IsEncryptResponse needs an Encryption object")
        result = handler(ctx, caller, params)
        if sealed is not None:
            result = envelope.encrypt_response(sealed, result, whole_body=encrypt_whole)
    except ServiceError as exc:
        log.info("%s refused: %s", action or "-", exc.code)
        return error_envelope(exc.code, exc.message(language), request_id)
    except Exception:
        log.exception("%s crashed", action or "-")
        return error_envelope("InternalError", "internal error" if language == "en-US" else "内部错误", request_id)
    result["RequestId"] = request_id
    return _envelope(result)
