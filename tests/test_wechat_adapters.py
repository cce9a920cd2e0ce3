"""wechatpy adapters against the fake WeChat API on loopback."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support.fake_wechat import FakeWeChat
from wxflow import wechat


@pytest.fixture
def fake():
    with FakeWeChat() as server:
        yield server


def test_oauth_round_trip_and_reused_code(fake):
    link = wechat.authorize_url(fake.app_id, "http://127.0.0.1:9/cb?token=T", "s1", fake.oauth_base)
    assert link.startswith(fake.oauth_base + "oauth2/authorize?") and "snsapi_base" in link
    back = requests.get(link, allow_redirects=False, timeout=5).headers["Location"]
    query = parse_qs(urlsplit(back).query)
    assert query["state"] == ["s1"] and query["token"] == ["T"]
    user = wechat.exchange_oauth_code(fake.app_id, fake.secret, query["code"][0], fake.api_base)
    assert user.openid == "o-fake-user"
    with pytest.raises(wechat.WeChatError) as info:
        wechat.exchange_oauth_code(fake.app_id, fake.secret, query["code"][0], fake.api_base)
    assert info.value.errcode == wechat.CODE_BEEN_USED


def test_code_to_session_without_fetching_an_access_token(fake):
    code = fake.issue_code("o-mini")
    assert wechat.code_to_session(fake.app_id, fake.secret, code, fake.api_base).openid == "o-mini"
    assert [c["path"] for c in fake.calls] == ["/sns/jscode2session"]  # no token fetch went anywhere
    with pytest.raises(wechat.WeChatError) as info:
        wechat.code_to_session(fake.app_id, fake.secret, "nope", fake.api_base)
    assert info.value.errcode == wechat.INVALID_CODE
