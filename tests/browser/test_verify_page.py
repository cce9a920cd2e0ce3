"""The H5 page in a real Chromium with a fake camera playing real clips: the whole flow from DetectAuth
(official SDK, real HTTP) through WeChat OAuth (fake WeChat on loopback), recording, upload, the real
worker's verdict and the redirect, to the merchant reading the result; then every failure screen.

Runs on SQLite only: the browser, not the database, is what these tests exercise, and Chromium on two
cores is slow. The same service paths run on both databases in tests/test_h5.py and tests/test_flows.py.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import expect

from tests.support import flows as drive
from tests.support import sdk
from wxflow.services import merchants

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)
MERCHANT = "https://merchant.example/"
JUDGE_TIMEOUT_MS = 150_000
SCREEN_TIMEOUT_MS = 20_000


def new_rule(live: Any, merchant: Any, **options: Any) -> str:
    params: dict[str, Any] = dict(
        merchant_secret_id=merchant.SecretId, liveness="silent", compare="none", redirect_prefixes=[MERCHANT]
    )
    params.update(options)
    return merchants.create_rule(live.ctx, **params)


def detect_auth(live: Any, merchant: Any, rule_id: str, **fields: Any) -> Any:
    api = sdk.client(merchant.SecretId, merchant.SecretKey, live.host_port)
    return api, api.DetectAuth(sdk.request("DetectAuthRequest", RuleId=rule_id, **fields))


def open_page(browser: Any, url: str, *, camera: bool = True, lang: str = "zh-CN", **context: Any) -> Any:
    ctx = browser.new_context(viewport={"width": 375, "height": 812}, locale=lang, **context)
    if camera:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        ctx.grant_permissions(["camera", "microphone"], origin=origin)
    ctx.set_default_timeout(SCREEN_TIMEOUT_MS)
    page = ctx.new_page()
    # The merchant's RedirectUrl is not reachable from here: answer it in the browser, like its site would.
    page.route(f"{MERCHANT}**", lambda route: route.fulfill(body="<h1>merchant</h1>", content_type="text/html"))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.goto(url)
    return page


def screen(page: Any, name: str, timeout: int = SCREEN_TIMEOUT_MS) -> None:
    page.wait_for_selector(f'body[data-screen="{name}"]', timeout=timeout)


def wait_judged(page: Any, *names: str) -> str:
    """Wait for one of the result screens; return which."""
    selector = ", ".join(f'body[data-screen="{n}"]' for n in names)
    page.wait_for_selector(selector, timeout=JUDGE_TIMEOUT_MS)
    return str(page.get_attribute("body", "data-screen"))


def uploaded(page: Any) -> None:
    """Recording ends, the upload's progress bar reaches 100%, then the page waits for the verdict."""
    page.wait_for_selector('body[data-screen="waiting"], body[data-screen="upload"]', timeout=30_000)
    # A locator assertion, not wait_for_function: that evaluates a string in the page, which the
    # page's CSP (script-src 'self') refuses whenever the first check is not already true.
    expect(page.locator("#upload-pct")).to_have_text("100%", timeout=30_000)


def consent_and_camera(page: Any) -> None:
    screen(page, "consent")
    assert page.is_disabled("#start")  # nothing starts before consent
    page.check("#agree")
    page.click("#start")
    screen(page, "camera")
    page.wait_for_selector("#hint[data-hint]")  # a live hint is computed from the preview


def test_silent_flow_inside_wechat_to_the_merchant(launch, live, merchant, fake_wechat, worker, shots):
    rule_id = new_rule(
        live, merchant, compare="photo", wechat_appid=fake_wechat.app_id, wechat_secret=fake_wechat.secret
    )
    api, auth = detect_auth(
        live,
        merchant,
        rule_id,
        RedirectUrl=f"{MERCHANT}done?order=42",
        ImageBase64=drive.same_person_photo_b64(),
    )
    page = open_page(launch("silent"), auth.Url, user_agent=WECHAT_UA)
    # WeChat OAuth ran first (snsapi_base through the fake WeChat) and bound the flow to this browser.
    assert [c["path"] for c in fake_wechat.calls] == ["/connect/oauth2/authorize", "/sns/oauth2/access_token"]
    assert any(c["name"] == "wxflow_device" for c in page.context.cookies())
    assert requests.get(f"{live.url}/api/v1/flows/{auth.BizToken}", timeout=10).status_code == 403

    screen(page, "consent")
    assert page.inner_text("h1:visible") == "开始人脸核身"
    shots(page, "consent")
    consent_and_camera(page)
    shots(page, "camera")
    page.click("#record")
    uploaded(page)
    assert wait_judged(page, "pass", "retry", "fail") == "pass", page.inner_text("main")
    shots(page, "pass")

    page.wait_for_url(f"{MERCHANT}**", timeout=15_000)
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"order": ["42"], "token": [auth.BizToken]}
    assert not page.js_errors  # type: ignore[attr-defined]

    info = api.GetDetectInfoEnhanced(
        sdk.request("GetDetectInfoEnhancedRequest", BizToken=auth.BizToken, RuleId=rule_id)
    ).Text
    assert info.ErrCode == 0 and info.LiveStatus == 0 and info.Comparestatus == 0 and float(info.Sim) >= 70
    assert info.LivenessMode == 3  # silent


def test_action_flow_in_english_to_the_merchant(launch, live, merchant, worker, shots):
    rule_id = new_rule(live, merchant, liveness="action")
    api, auth = detect_auth(live, merchant, rule_id, RedirectUrl=f"{MERCHANT}back")
    page = open_page(launch("action"), auth.Url, lang="en-US")
    screen(page, "consent")
    assert page.inner_text("h1:visible") == "Verify it's you" and "Do the actions shown" in page.inner_text("main")
    consent_and_camera(page)
    steps = page.locator("#challenge li")
    assert steps.all_inner_texts() == ["Open your mouth", "Blink"]  # the issued order, shown in order
    shots(page, "camera")
    page.click("#record")
    page.wait_for_selector("#challenge li.now")  # prompts advance while recording
    uploaded(page)
    assert wait_judged(page, "pass", "retry", "fail") == "pass", page.inner_text("main")
    page.wait_for_url(f"{MERCHANT}back?token={auth.BizToken}", timeout=15_000)

    info = api.GetDetectInfoEnhanced(
        sdk.request("GetDetectInfoEnhancedRequest", BizToken=auth.BizToken, RuleId=rule_id)
    ).Text
    assert info.ErrCode == 0 and info.LivenessMode == 2 and info.LivenessActionSequence == "1,2"


def test_light_mode_with_a_prerecorded_clip_fails(launch, live, merchant, worker, shots):
    import dataclasses

    # Light mode is experimental (its positives are synthesised): this deployment opts in.
    live.ctx.config = dataclasses.replace(live.ctx.config, experimental_liveness="light")
    rule_id = new_rule(live, merchant, liveness="light", max_attempts=1)
    api, auth = detect_auth(live, merchant, rule_id, RedirectUrl=f"{MERCHANT}back")
    page = open_page(launch("silent"), auth.Url)
    screen(page, "consent")
    assert page.is_visible("#photosensitive") and page.is_visible("#brightness-tip")
    consent_and_camera(page)
    page.click("#record")
    page.wait_for_selector("#light[data-colour]")  # the screen plays the issued colours
    assert wait_judged(page, "pass", "retry", "fail") == "fail", page.inner_text("main")
    shots(page, "light-fail")
    info = api.GetDetectInfoEnhanced(
        sdk.request("GetDetectInfoEnhancedRequest", BizToken=auth.BizToken, RuleId=rule_id)
    ).Text
    assert info.ErrCode != 0 and info.LiveStatus != 0


def test_failure_screens(launch, live, merchant, worker, clock, shots):
    browser = launch("silent")
    rule_id = new_rule(live, merchant, max_attempts=1)

    # Camera denied: no permission granted in this context.
    _, auth = detect_auth(live, merchant, rule_id, RedirectUrl=f"{MERCHANT}back")
    page = open_page(browser, auth.Url, camera=False)
    screen(page, "consent")
    page.check("#agree")
    page.click("#start")
    screen(page, "denied")
    shots(page, "camera-denied")
    page.context.close()

    # No getUserMedia/MediaRecorder (an old WeChat on iOS): the file-input fallback records elsewhere.
    page = open_page(browser, auth.Url)
    page.context.add_init_script("delete window.MediaRecorder;")
    page.reload()
    screen(page, "consent")
    page.check("#agree")
    page.click("#start")
    screen(page, "unsupported")
    assert page.get_attribute("#fallback-file", "capture") == "user"
    shots(page, "unsupported")
    page.context.close()

    # Upload interrupted: the first POST dies on the wire; "upload again" re-sends the same recording.
    page = open_page(browser, auth.Url)
    posts: list[str] = []

    def cut_first(route: Any) -> None:
        posts.append(route.request.method)
        if len(posts) == 1:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/attempts", cut_first)
    consent_and_camera(page)
    page.click("#record")
    screen(page, "network", timeout=30_000)
    shots(page, "network-lost")
    page.click("#network-retry")
    screen(page, "waiting")
    assert posts == ["POST", "POST"]
    # The re-sent recording is judged like any other and the user goes back to the merchant.
    assert wait_judged(page, "pass", "retry", "fail") == "pass", page.inner_text("main")
    page.wait_for_url(f"{MERCHANT}back?token={auth.BizToken}", timeout=15_000)
    page.context.close()

    # The same link opened again once the flow has ended.
    page = open_page(browser, auth.Url)
    screen(page, "ended")
    assert page.get_attribute("#ended-back", "href") == f"{MERCHANT}back?token={auth.BizToken}"
    page.context.close()

    # Used up by a failed attempt: a printed photo, uploaded by another device, used the only try.
    _, spoofed = detect_auth(live, merchant, rule_id, RedirectUrl=f"{MERCHANT}back")
    device = f"{live.url}/api/v1/flows/{spoofed.BizToken}"
    challenge = requests.get(device, timeout=10).json()["challenge"]
    sent = requests.post(
        f"{device}/attempts",
        data={"challenge_id": challenge["id"]},
        files={"video": ("v.mp4", io.BytesIO(drive.printed_photo_attack()), "video/mp4")},
        timeout=30,
    )
    assert sent.status_code == 202
    page = open_page(browser, spoofed.Url)
    page.wait_for_selector('body[data-screen="usedup"], body[data-screen="waiting"]')
    screen(page, "usedup", timeout=JUDGE_TIMEOUT_MS)
    assert page.get_attribute("#usedup-back", "href") == f"{MERCHANT}back?token={spoofed.BizToken}"
    shots(page, "used-up")
    page.context.close()

    # An unknown link.
    page = open_page(browser, f"{live.url}/h5/verify?token=00000000-0000-0000-0000-000000000000")
    screen(page, "invalid")
    page.context.close()

    # Token expired (last: it moves the app's clock past every flow's 7,200 s).
    _, late = detect_auth(live, merchant, rule_id, RedirectUrl=f"{MERCHANT}back")
    clock.advance(7201)
    page = open_page(browser, late.Url)
    screen(page, "expired")
    shots(page, "expired")
    assert not page.js_errors  # type: ignore[attr-defined]
    page.context.close()


def test_id_card_step_before_the_selfie(launch, live, merchant, worker, shots):
    """A rule with ID-card OCR: both sides of the card, refusals with a retake, then the selfie.

    The portrait side is the real specimen (read in place); the back is rendered (tests/support/cards.py).
    """
    from tests.support import cards

    rule_id = new_rule(live, merchant, id_card_ocr=True)
    api, auth = detect_auth(live, merchant, rule_id, RedirectUrl=f"{MERCHANT}back")
    page = open_page(launch("silent"), auth.Url)
    screen(page, "consent")
    page.check("#agree")
    page.click("#start")
    screen(page, "card")
    assert page.get_attribute("body", "data-card-side") == "front"
    assert page.get_attribute("#card-file", "capture") == "environment"
    shots(page, "card-front")

    def send(side: str, image: bytes) -> None:
        page.set_input_files("#card-file", files=[{"name": f"{side}.jpg", "mimeType": "image/jpeg", "buffer": image}])
        # Reading takes a second or more: the page is busy, then shows the reading or the refusal.
        page.wait_for_selector("body[data-card-busy]", state="attached")
        page.wait_for_selector("body:not([data-card-busy])", state="attached", timeout=60_000)

    # A card whose number fails its check digit is refused with a reason; nothing moves on.
    send("front", cards.specimen_bytes(cards.DAIYONGMING_FRONT))
    assert page.is_visible("#card-error") and "号码无效" in page.inner_text("#card-error")
    assert page.is_hidden("#card-next")
    shots(page, "card-refused")
    send("front", cards.specimen_bytes(cards.XIAOJING_FRONT))
    page.wait_for_selector('body[data-card-read="front"]')
    read = page.inner_text("#card-fields")
    assert "小静" in read and "370782198709170246" in read
    shots(page, "card-front-read")
    page.click("#card-next")
    assert page.get_attribute("body", "data-card-side") == "back"
    send("back", cards.rendered_back_jpeg(rotation=90))
    page.wait_for_selector('body[data-card-read="back"]')
    assert cards.BACK_VALIDITY in page.inner_text("#card-fields")
    page.click("#card-next")
    screen(page, "camera")
    page.wait_for_selector("#hint[data-hint]")
    page.click("#record")
    uploaded(page)
    assert wait_judged(page, "pass", "retry", "fail") == "pass", page.inner_text("main")
    assert not page.js_errors  # type: ignore[attr-defined]

    text = api.GetDetectInfoEnhanced(
        sdk.request("GetDetectInfoEnhancedRequest", BizToken=auth.BizToken, RuleId=rule_id)
    ).Text
    assert (text.ErrCode, text.IdInfoFrom, text.OcrName, text.OcrIdCard) == (0, "OCR", "小静", "370782198709170246")
    assert text.OcrValidDate == cards.BACK_VALIDITY
