"""The WeChat mini-program's login: a ``wx.login`` code for a flow -> the device key for that flow."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from wxflow.logs import biz_token_var
from wxflow.services import wechat_login

blueprint = Blueprint(
    "wechat_miniprogram",
    __name__,
    url_prefix="/api/v1/wechat/miniprogram",
    description="The WeChat mini-program binds a flow to its user before it uses the device API.",
)


class LoginSchema(ma.Schema):
    token = ma.fields.String(required=True, metadata={"description": "The BizToken the mini-program was opened with."})
    code = ma.fields.String(required=True, metadata={"description": "The code wx.login returned (single use)."})


class LoginResultSchema(ma.Schema):
    device_key = ma.fields.String(
        metadata={"description": "Send as the X-Wxflow-Device header on every /api/v1/flows call for this token."}
    )
    openid_bound = ma.fields.Boolean(metadata={"description": "Always true: the flow now belongs to this user."})


@blueprint.route("/login")
class MiniProgramLogin(MethodView):
    @blueprint.arguments(LoginSchema)
    @blueprint.response(200, LoginResultSchema)
    @blueprint.alt_response(400, description="Missing or used wx.login code; flow without WeChat credentials")
    @blueprint.alt_response(403, description="The flow is bound to another WeChat user")
    @blueprint.alt_response(404, description="Unknown token")
    @blueprint.alt_response(410, description="The verification expired")
    @blueprint.alt_response(502, description="WeChat refused the login or could not be reached")
    @blueprint.alt_response(503, description="WeChat is busy or rate-limited; try again")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Exchange the wx.login code with jscode2session and bind the flow to the user's openid."""
        biz_token_var.set(body["token"])
        key = wechat_login.login(current_app.extensions["wxflow"], body["token"], body["code"])
        return {"device_key": key, "openid_bound": True}
