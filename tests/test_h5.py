"""The H5 page without a browser: WeChat OAuth (fake WeChat on loopback), language choice, assets.

The browser-driven tests of the same page are in tests/browser/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support import flows as drive
from tests.support.fake_wechat import FakeWeChat
from wxflow.app import create_app
from wxflow.config import SETTINGS, Config
from wxflow.h5.i18n import OUTCOMES_ZH, STRINGS, pick_lang
from wxflow.services import binding, h5
from wxflow.services.flows import USER_OUTCOMES

WECHAT_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.47 NetType/WIFI"
STATIC = Path(__file__).resolve().parents[1] / "wxflow" / "h5" / "static"


def boot_of(html: str) -> dict[str, Any]:
    match = re.search(r'<script id="boot" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the page carries its boot data"
    return json.loads(match.group(1))


# --- page, language, assets -------------------------------------------------------------------------


def test_page_is_chinese_by_default_english_by_header_or_switch(client, ctx, merchant, make_rule):
    token = drive.start(ctx, merchant.id, make_rule(liveness="action"))
    page = client.get(f"/h5/verify?token={token}")
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text and "开始人脸核身" in page.text
    boot = boot_of(page.text)
    assert boot["lang"] == "zh-CN" and boot["initial"]["liveness_mode"] == "action"
    assert boot["initial"]["challenge"]["kind"] == "action" and boot["api"] == f"/api/v1/flows/{token}"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]

    en = client.get(f"/h5/verify?token={token}", headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"})
    assert '<html lang="en-US">' in en.text and "Verify it&#39;s you" in en.text

    switched = client.get(f"/h5/verify?token={token}&lang=en-US")
    assert "Verify it&#39;s you" in switched.text and "wxflow_lang=en-US" in switched.headers["Set-Cookie"]
    # The choice sticks (cookie) even against the browser's language.
    again = client.get(f"/h5/verify?token={token}", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en-US">' in again.text


def test_pick_lang_respects_quality_values():
    assert pick_lang(None, None, "en;q=0.3, zh-TW;q=0.8") == "zh-CN"
    assert pick_lang(None, None, "fr, en-US;q=0.7") == "en-US"
    assert pick_lang(None, None, "fr, de") == "zh-CN"
    assert pick_lang("en-US", "zh-CN", "zh") == "en-US"
    assert pick_lang("xx", None, "en;q=0") == "zh-CN"


def test_every_text_exists_in_both_languages_and_every_outcome_is_translated():
    assert set(STRINGS["zh-CN"]) == set(STRINGS["en-US"])
    missing = [m for m in USER_OUTCOMES.values() if m not in OUTCOMES_ZH]
    assert not missing, f"outcome messages without a Chinese text: {missing}"


def test_unknown_token_gets_the_invalid_screen(client):
    page = client.get("/h5/verify?token=00000000-0000-0000-0000-000000000000")
    assert page.status_code == 404 and boot_of(page.text)["initial"] == {
        "error": 404,
        "error_code": "InvalidParameterValue.BizTokenIllegal",
    }


def test_assets_are_served_locally_and_reference_no_other_origin(client, ctx, merchant, make_rule):
    token = drive.start(ctx, merchant.id, make_rule())
    html = client.get(f"/h5/verify?token={token}").text
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(r.startswith(("/", "#")) for r in refs), refs
    for name in ("verify.js", "verify.css", "shield.svg"):
        asset = client.get(f"/h5/static/{name}")
        assert asset.status_code == 200 and len(asset.data) > 100
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        external = [u for u in re.findall(r"https?://[^\s\"')]+", text) if "www.w3.org/2000/svg" not in u]
        assert not external, f"{path.name} references {external}"


# --- the test-only action order ----------------------------------------------------------------------


def test_fixed_action_order_is_a_create_app_keyword_only(backend, clock):
    assert not any("action" in name and "seq" in name for name in SETTINGS)  # no setting reaches it
    config = Config.from_env({}, **backend.overrides)
    app = create_app(config, clock=clock, testing={"action_sequence": [2, 1]})
    ctx = app.extensions["wxflow"]
    try:
        from wxflow.services import merchants

        m = merchants.create_merchant(ctx, "fixed-order")
        rule = merchants.create_rule(
            ctx, merchant_secret_id=m.SecretId, liveness="action", compare="none", redirect_prefixes=["https://m.x/"]
        )
        client = app.test_client()
        for _ in range(4):
            token = drive.start(ctx, m.id, rule)
            assert client.get(f"/api/v1/flows/{token}").get_json()["challenge"]["sequence"] == "2,1"
        with pytest.raises(ValueError):
            create_app(config, clock=clock, testing={"action_sequence": [1, 1]})
        with pytest.raises(ValueError):
            create_app(config, clock=clock, testing={"anything_else": True})
    finally:
        ctx.close()


# --- WeChat web OAuth ----------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    with FakeWeChat() as server:
        yield server


@pytest.fixture
def wx(backend, clock, fake) -> Iterator[Any]:
    """An app whose WeChat base URLs point at the fake WeChat, and a rule with WeChat credentials."""
    from wxflow.services import merchants

    config = Config.from_env({}, **backend.overrides, wechat_api_base=fake.api_base, wechat_oauth_base=fake.oauth_base)
    app = create_app(config, clock=clock)
    ctx = app.extensions["wxflow"]
    m = merchants.create_merchant(ctx, "wx-merchant")
    rule = merchants.create_rule(
        ctx,
        merchant_secret_id=m.SecretId,
        liveness="silent",
        compare="none",
        redirect_prefixes=["https://merchant.example/"],
        wechat_appid=fake.app_id,
        wechat_secret=fake.secret,
    )
    yield app, ctx, m, rule
    ctx.close()


def _to_wechat_and_back(client: Any, token: str) -> str:
    """Open the page in WeChat, follow the authorize redirect through the fake WeChat; return the callback path."""
    page = client.get(f"/h5/verify?token={token}", headers={"User-Agent": WECHAT_UA})
    assert page.status_code == 302
    authorize = page.headers["Location"]
    parts = urlsplit(authorize)
    query = parse_qs(parts.query)
    assert authorize.startswith(client.application.extensions["wxflow"].config.wechat_oauth_base)
    assert query["scope"] == ["snsapi_base"] and query["redirect_uri"] == ["http://testserver/h5/oauth/callback"]
    assert re.fullmatch(r"[A-Za-z0-9]{1,128}", query["state"][0])
    back = requests.get(authorize, allow_redirects=False, timeout=5).headers["Location"]
    back_parts = urlsplit(back)
    return f"{back_parts.path}?{back_parts.query}"


def test_wechat_oauth_binds_the_flow_and_the_callback_is_idempotent(wx, fake):
    app, ctx, m, rule = wx
    token = drive.start(ctx, m.id, rule)
    client = app.test_client()
    callback = _to_wechat_and_back(client, token)

    first = client.get(callback)
    assert first.status_code == 302 and first.headers["Location"] == f"/h5/verify?token={token}"
    cookie = client.get_cookie(binding.DEVICE_COOKIE)
    assert cookie is not None and cookie.http_only and cookie.value == binding.device_key(ctx, token, "o-fake-user")

    # WeChat calls the callback a second time with the same code: same answer, no error screen.
    fresh = app.test_client()
    second = fresh.get(callback)
    assert second.status_code == 302 and fresh.get_cookie(binding.DEVICE_COOKIE).value == cookie.value
    exchanges = [c for c in fake.calls if c["path"].endswith("/oauth2/access_token")]
    assert len(exchanges) == 1  # the second call was answered from the first, not sent to WeChat again

    # Back on the page, inside WeChat, with the key: no second trip to WeChat; the device API answers.
    page = client.get(f"/h5/verify?token={token}", headers={"User-Agent": WECHAT_UA})
    assert page.status_code == 200 and boot_of(page.text)["initial"]["challenge"]["kind"] == "none"
    assert client.get(f"/api/v1/flows/{token}").status_code == 200

    # Without the key (a forwarded link opened in an ordinary browser) the flow is refused, with a screen.
    stranger = app.test_client()
    assert stranger.get(f"/api/v1/flows/{token}").status_code == 403
    refused = stranger.get(f"/h5/verify?token={token}")
    assert refused.status_code == 403 and boot_of(refused.text)["initial"]["error"] == 403


def test_a_reused_code_without_a_remembered_answer_is_answered_gracefully(wx, fake):
    app, ctx, m, rule = wx
    token = drive.start(ctx, m.id, rule)
    client = app.test_client()
    callback = _to_wechat_and_back(client, token)
    assert client.get(callback).status_code == 302
    # Forget the remembered answer (as after its 5 minutes): WeChat now answers 40163 "code been used".
    ctx.queue.connection.delete(*ctx.queue.connection.keys(f"{ctx.config.queue_prefix}:h5:oauth-code:*"))

    holder = client.get(callback)  # the browser that already holds the key goes on to the page
    assert holder.status_code == 302 and holder.headers["Location"] == f"/h5/verify?token={token}"

    other = app.test_client().get(callback)  # anyone else gets a screen that offers to open the link again
    assert other.status_code == 409
    boot = boot_of(other.text)
    assert boot["initial"]["oauth"] is True and boot["initial"]["error_code"] == "FailedOperation.OAuthCodeUsed"
    assert boot["token"] == token


def test_another_wechat_user_cannot_take_over_a_bound_flow(wx, fake):
    app, ctx, m, rule = wx
    token = drive.start(ctx, m.id, rule)
    assert app.test_client().get(_to_wechat_and_back(app.test_client(), token)).status_code == 302
    fake.next_openid = "o-someone-else"
    intruder = app.test_client()
    answer = intruder.get(_to_wechat_and_back(intruder, token))
    assert answer.status_code == 403 and intruder.get_cookie(binding.DEVICE_COOKIE) is None
    assert boot_of(answer.text)["initial"]["error_code"] == "FailedOperation.FlowBoundToAnotherUser"


def test_oauth_only_inside_wechat_and_state_cannot_be_forged(wx, fake):
    app, ctx, m, rule = wx
    token = drive.start(ctx, m.id, rule)
    client = app.test_client()
    assert client.get(f"/h5/verify?token={token}").status_code == 200  # an ordinary browser goes straight on

    state = h5.sign_state(ctx, token)
    assert h5.open_state(ctx, state) == token
    forged = state[:-1] + ("0" if state[-1] != "0" else "1")
    other_flow = drive.start(ctx, m.id, rule).replace("-", "")
    swapped = other_flow + state[32:]
    for bad in (forged, swapped, "", "x" * 200):
        code = fake.issue_code("o-fake-user")
        answer = client.get(f"/h5/oauth/callback?code={code}&state={bad}")
        assert answer.status_code == 400 and client.get_cookie(binding.DEVICE_COOKIE) is None
    ctx.clock.advance(h5.STATE_TTL + 1)
    answer = client.get(f"/h5/oauth/callback?code={fake.issue_code('o-fake-user')}&state={state}")
    assert answer.status_code == 400


def test_a_rule_with_id_card_ocr_boots_the_page_on_the_card_step(client, ctx, merchant, make_rule):
    token = drive.start(ctx, merchant.id, make_rule(id_card_ocr=True))
    page = client.get(f"/h5/verify?token={token}")
    boot = boot_of(page.text)
    assert boot["initial"]["id_card"] == {"required": True, "front": False, "back": False, "done": False}
    assert 'id="screen-card"' in page.text and 'capture="environment"' in page.text
    assert "拍摄身份证人像面" in page.text and boot["strings"]["card_bad_number"]
    plain = boot_of(client.get(f"/h5/verify?token={drive.start(ctx, merchant.id, make_rule())}").text)
    assert plain["initial"]["id_card"]["required"] is False and plain["initial"]["id_card"]["done"] is True
