"""Real-browser fixtures: Debian's Chromium driven by Playwright, a fake camera playing a real clip,
the real app on a live port, the real RQ worker and a fake WeChat on loopback.

Chromium comes from apt (``/usr/bin/chromium``), never from ``playwright install``. Screenshots of
each screen, at 375x812 and 1280x800, go to ``var/artifacts/h5/`` (gitignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.camera import write_y4m
from tests.support.data import data_path
from tests.support.fake_wechat import FakeWeChat
from tests.support.servers import REPO_ROOT, LiveServer, free_port
from wxflow.app import create_app
from wxflow.config import Config

CHROMIUM = os.environ.get("WXFLOW_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "var" / "artifacts" / "h5"
SIZES = {"375": (375, 812), "1280": (1280, 800)}
# The issued action order the action clip performs: d18 opens its mouth (2.2-3.1 s), then blinks (3.1 s).
FIXED_ACTIONS = [1, 2]
CLIPS = {
    # name: (path under the shared data, start s, seconds)
    "silent": (("videos", "sadtalker_hdtf", "WDA_KatieHill_000.mp4"), 0.0, 4.0),
    "action": (("videos", "liveportrait", "d18.mp4"), 0.0, 4.5),
}
BASE_ARGS = [
    "--no-sandbox",
    "--use-fake-device-for-media-stream",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    "--disable-quic",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def camera_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The fake cameras' y4m files, written once per session (about 10-40 MB each, never committed)."""
    folder = tmp_path_factory.mktemp("camera")
    return {
        name: write_y4m(data_path(*parts), folder / f"{name}.y4m", start, seconds)
        for name, (parts, start, seconds) in CLIPS.items()
    }


@pytest.fixture
def launch(playwright_driver: Any, camera_files: dict[str, Path]) -> Iterator[Callable[[str], Any]]:
    """``launch(clip)``: a headless Chromium whose camera plays that clip (one browser per clip)."""
    browsers: list[Any] = []

    def _launch(clip: str) -> Any:
        browser = playwright_driver.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[*BASE_ARGS, f"--use-file-for-fake-video-capture={camera_files[clip]}"],
            timeout=60_000,
        )
        browsers.append(browser)
        return browser

    yield _launch
    for browser in browsers:
        browser.close()


@pytest.fixture
def fake_wechat() -> Iterator[FakeWeChat]:
    with FakeWeChat() as server:
        yield server


@dataclass
class Live:
    url: str
    host_port: str
    app: Any
    ctx: Any


@pytest.fixture
def live(backend: Any, clock: Any, worker: Any, fake_wechat: FakeWeChat, engines: Any) -> Iterator[Live]:
    """The real app on 127.0.0.1:<port> (its public URL, so OAuth comes back here), judged by the real worker."""
    port = free_port()
    overrides = dict(backend.overrides)
    overrides.update(
        public_url=f"http://127.0.0.1:{port}",
        wechat_api_base=fake_wechat.api_base,
        wechat_oauth_base=fake_wechat.oauth_base,
    )
    app = create_app(Config.from_env({}, **overrides), clock=clock, testing={"action_sequence": FIXED_ACTIONS})
    ctx = app.extensions["wxflow"]
    ctx.engines = lambda: engines  # DetectAuth's compare photo is embedded in this process
    with LiveServer(app, port=port) as server:
        yield Live(server.url, server.host_port, app, ctx)
    ctx.close()


class Shots:
    """Screenshots of one screen at both sizes; names are recorded so a test can check they exist."""

    def __init__(self, test_name: str) -> None:
        self.folder = ARTIFACTS
        self.folder.mkdir(parents=True, exist_ok=True)
        self.prefix = test_name
        self.taken: list[Path] = []

    def __call__(self, page: Any, screen: str) -> None:
        original = page.viewport_size
        for label, (w, h) in SIZES.items():
            page.set_viewport_size({"width": w, "height": h})
            page.wait_for_timeout(150)
            path = self.folder / f"{self.prefix}-{screen}-{label}.png"
            page.screenshot(path=str(path), full_page=False)
            self.taken.append(path)
        if original:
            page.set_viewport_size(original)


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.originalname.removeprefix("test_"))
