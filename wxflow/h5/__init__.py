"""The H5 verification page a BizToken's Url points at, its WeChat OAuth callback and its assets.

A thin transport: it reads the request, asks ``services.h5`` (WeChat OAuth) and ``services.flows``
(the flow as the device sees it), and renders. Everything after the first paint runs in the browser
(``static/verify.js``) against the device API, the same one the mini-program uses.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, make_response, redirect, render_template, request, url_for

from wxflow.errors import ServiceError
from wxflow.services import binding, flows, h5
from wxflow.services.challenges import ACTION_NAMES

from .i18n import LANG_COOKIE, LANGS, STRINGS, outcome_texts, pick_lang

blueprint = Blueprint(
    "h5", __name__, url_prefix="/h5", template_folder="templates", static_folder="static", static_url_path="/static"
)

# Seconds recorded per mode (light and flash: derived from the issued sequence in the browser).
RECORD_MS = {"silent": 3500, "action": 5000, "digit": 5000}
# Everything is served from this origin; the camera preview and recording are blob:/MediaStream.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def _ctx() -> Any:
    return current_app.extensions["wxflow"]


def _lang() -> str:
    return pick_lang(request.args.get("lang"), request.cookies.get(LANG_COOKIE), request.headers.get("Accept-Language"))


def _callback_url() -> str:
    return f"{_ctx().config.public_url.rstrip('/')}{url_for('h5.oauth_callback')}"


def _page(token: str, lang: str, initial: dict[str, Any], status: int) -> Response:
    other = next(code for code in LANGS if code != lang)
    boot = {
        "token": token,
        "lang": lang,
        "api": f"/api/v1/flows/{token}",
        "strings": STRINGS[lang],
        "outcomes": outcome_texts(lang),
        "action_names": ACTION_NAMES,
        "record_ms": RECORD_MS,
        "initial": initial,
    }
    html = render_template(
        "verify.html",
        t=STRINGS[lang],
        lang=lang,
        boot=boot,
        switch_href=f"{url_for('h5.verify')}?{urlencode({'token': token, 'lang': other})}",
    )
    response = make_response(html, status)
    if request.args.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="Lax", httponly=True)
    return _secure(response)


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.get("/verify")
def verify() -> Response:
    token = request.args.get("token", "").strip().upper()
    lang = _lang()
    key = request.cookies.get(binding.DEVICE_COOKIE)
    authorize = h5.oauth_redirect(_ctx(), token, request.headers.get("User-Agent"), key, _callback_url())
    if authorize:
        return _secure(redirect(authorize, code=302))
    try:
        view = flows.flow_for_device(_ctx(), token, key)
    except ServiceError as exc:
        return _page(token, lang, {"error": exc.http_status, "error_code": exc.code}, exc.http_status)
    return _page(token, lang, view, 200)


@blueprint.get("/oauth/callback")
def oauth_callback() -> Response:
    """WeChat sends the user back here with ``code`` and ``state``; safe to call twice."""
    lang = _lang()
    try:
        done = h5.complete_oauth(
            _ctx(),
            request.args.get("state", ""),
            request.args.get("code", ""),
            request.cookies.get(binding.DEVICE_COOKIE),
            _callback_url(),
        )
    except ServiceError as exc:
        try:
            token = h5.open_state(_ctx(), request.args.get("state", ""))
        except ServiceError:
            token = ""
        initial = {"error": exc.http_status, "error_code": exc.code, "oauth": True}
        return _page(token, lang, initial, exc.http_status)
    response = redirect(f"{url_for('h5.verify')}?{urlencode({'token': done.biz_token})}", code=302)
    response.set_cookie(
        binding.DEVICE_COOKIE,
        done.device_key,
        max_age=_ctx().config.biztoken_ttl,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
        path="/",
    )
    return _secure(response)
