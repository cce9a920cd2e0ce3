"""The application factory: wires extensions and blueprints, nothing at import time."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask, g, request
from flask_smorest import Api
from werkzeug.http import HTTP_STATUS_CODES

from wxflow import logs
from wxflow.clock import Clock
from wxflow.config import Config
from wxflow.errors import ServiceError
from wxflow.services.context import ServiceContext, build_context


class WxflowApi(Api):
    """flask-smorest's one error shape, plus ``error_code``; the TC3 endpoint keeps Tencent's envelope."""

    def handle_http_exception(self, error: Any) -> Any:
        if request.path == "/" and request.method == "POST":
            from wxflow.api.faceid.endpoint import error_envelope

            return error_envelope("InvalidParameter", error.description or error.name, g.get("request_id", "-"))
        payload, status, headers = super().handle_http_exception(error)
        data = getattr(error, "data", None) or {}
        if "error_code" in data:
            payload["error_code"] = data["error_code"]
        return payload, status, headers


def _service_error(exc: ServiceError) -> Any:
    """A domain refusal on the device API, in flask-smorest's error shape."""
    payload = {
        "code": exc.http_status,
        "status": HTTP_STATUS_CODES.get(exc.http_status, "Error"),
        "message": exc.message("en-US"),
        "error_code": exc.code,
    }
    return payload, exc.http_status


def create_app(
    config: Config | dict[str, Any] | None = None, *, clock: Clock | None = None, testing: dict[str, Any] | None = None
) -> Flask:
    """``testing`` holds test-only hooks (``action_sequence``: issue this action order, never a random
    one); no setting or environment variable reaches it, so a served or worker process never has it."""
    if not isinstance(config, Config):
        config = Config.from_env(**(config or {}))
    logs.configure(config.log_level)
    app = Flask(__name__)
    app.config.update(
        WXFLOW=config,
        MAX_CONTENT_LENGTH=max(config.max_body_bytes, config.max_video_bytes + 256 * 1024),
        API_TITLE="wxflow",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
        JSON_AS_ASCII=False,
    )
    ctx: ServiceContext = build_context(config, clock=clock)
    app.extensions["wxflow"] = ctx
    for hook, value in (testing or {}).items():
        if hook != "action_sequence":
            raise ValueError(f"unknown test hook {hook!r}")
        from wxflow.services.challenges import fix_actions_for_tests

        fix_actions_for_tests(ctx.db.sessions, value)

    api = WxflowApi(app)

    from wxflow.api.device import blueprint as device_bp
    from wxflow.api.device.wechat import blueprint as wechat_bp
    from wxflow.api.faceid import blueprint as faceid_bp
    from wxflow.h5 import blueprint as h5_bp

    api.register_blueprint(device_bp)
    api.register_blueprint(wechat_bp)
    from wxflow.api.faceid.actions import ACTIONS
    from wxflow.api.faceid.openapi import document

    app.register_blueprint(faceid_bp)
    tc3_rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "faceid.tc3_endpoint")
    document(api.spec, tc3_rule, sorted(ACTIONS))
    app.register_blueprint(h5_bp)
    app.register_error_handler(ServiceError, _service_error)

    @app.before_request
    def _bind_request_id() -> None:
        g.request_id = request.headers.get("X-Request-Id") or str(uuid.uuid4())
        logs.request_id_var.set(g.request_id)
        logs.biz_token_var.set("-")

    @app.after_request
    def _echo_request_id(response: Any) -> Any:
        response.headers.setdefault("X-Request-Id", g.get("request_id", ""))
        return response

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    from wxflow import cli

    cli.register(app)
    return app
