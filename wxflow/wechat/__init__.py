"""WeChat adapters over wechatpy: web OAuth (snsapi_base) and mini-program login (jscode2session).

Base URLs are set per instance from the settings, never by changing wechatpy's class attributes, so
a test pointing them at a fake server changes nothing else in the process. Clients are given a
placeholder access token: neither call needs one, and without it wechatpy would first fetch one from
a hard-coded WeChat URL that no base-URL setting reaches.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import requests
from wechatpy.exceptions import WeChatClientException, WeChatOAuthException


class WeChatError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


CODE_BEEN_USED = 40163
INVALID_CODE = 40029
HTTP_FAILURE = -2  # WeChat answered with a non-2xx status: wechatpy reports no errcode then
TIMEOUT = 5  # seconds: a hung WeChat call must not hold a request forever


def _errcode(value: object) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return HTTP_FAILURE


@dataclass(frozen=True)
class WeChatUser:
    openid: str
    unionid: str | None = None


def authorize_url(app_id: str, redirect_uri: str, state: str, oauth_base: str) -> str:
    """The snsapi_base authorize link the H5 page sends a WeChat user through."""
    from wechatpy.oauth import WeChatOAuth

    oauth = WeChatOAuth(app_id, "", redirect_uri, scope="snsapi_base", state=state)
    oauth.OAUTH_BASE_URL = oauth_base
    return oauth.authorize_url


def exchange_oauth_code(app_id: str, secret: str, code: str, api_base: str, redirect_uri: str = "") -> WeChatUser:
    from wechatpy.oauth import WeChatOAuth

    oauth = WeChatOAuth(app_id, secret, redirect_uri, scope="snsapi_base")
    oauth.API_BASE_URL = api_base
    oauth._http.request = functools.partial(oauth._http.request, timeout=TIMEOUT)  # no timeout option exists
    try:
        data = oauth.fetch_access_token(code)
    except WeChatOAuthException as exc:
        raise WeChatError(_errcode(exc.errcode), str(exc.errmsg)) from None
    except requests.RequestException as exc:
        raise WeChatError(HTTP_FAILURE, f"WeChat unreachable ({type(exc).__name__})") from None
    return WeChatUser(openid=data["openid"], unionid=data.get("unionid"))


def code_to_session(app_id: str, secret: str, js_code: str, api_base: str) -> WeChatUser:
    from wechatpy import WeChatClient

    client = WeChatClient(app_id, secret, access_token="unused-by-jscode2session", timeout=TIMEOUT)
    client.wxa.API_BASE_URL = api_base
    try:
        data = client.wxa.code_to_session(js_code)
    except WeChatClientException as exc:
        raise WeChatError(_errcode(exc.errcode), str(exc.errmsg)) from None
    except requests.RequestException as exc:
        raise WeChatError(HTTP_FAILURE, f"WeChat unreachable ({type(exc).__name__})") from None
    return WeChatUser(openid=data["openid"], unionid=data.get("unionid"))
