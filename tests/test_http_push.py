"""What both push clients share: trimming to a byte limit, the access-token cache with one refresh,
and a JSON answer or the failure to record, as WeCom's and DingTalk's clients expect them."""

from __future__ import annotations

import pytest
import requests

from bot.delivery import SendResult
from bot.platforms.http_push import TokenCache, json_answer, trim


def test_trim_keeps_short_text_and_never_splits_a_character():
    assert trim("签到", 2048) == "签到"
    for limit in range(4, 20):
        out = trim("一二三四五六七八九十", limit)
        assert len(out.encode()) <= limit
        out.encode().decode("utf-8")  # whole characters only


@pytest.mark.parametrize("budget", range(1, 12))
def test_trim_never_splits_a_character(budget):
    out = trim("签到😀ab", budget + 3)
    out.encode("utf-8")  # a split surrogate or partial sequence would not survive the round trip
    assert len(out.encode()) <= budget + 3
    assert trim("短", 100) == "短"


class Platform:
    """A token endpoint: hands out token-1, token-2, … valid `lifetime` seconds, or a refusal."""

    def __init__(self, lifetime: float = 7200) -> None:
        self.lifetime = lifetime
        self.fetches = 0
        self.refusal: SendResult | None = None

    def fetch(self) -> tuple[str, float] | SendResult:
        self.fetches += 1
        return self.refusal or (f"token-{self.fetches}", self.lifetime)


@pytest.fixture
def clock():
    class Clock:
        t = 1000.0

        def __call__(self) -> float:
            return self.t

    return Clock()


def test_a_token_is_fetched_once_and_reused_until_five_minutes_before_it_expires(clock):
    platform = Platform()
    tokens = TokenCache(platform.fetch, clock, name="test")
    assert [tokens.get(), tokens.get()] == ["token-1", "token-1"]
    clock.t += 7200 - 301
    assert tokens.get() == "token-1"
    clock.t += 2  # inside the margin: both platforms' tokens are replaced before they lapse
    assert tokens.get() == "token-2"
    assert platform.fetches == 2


def test_a_short_lived_token_is_kept_for_half_its_life_rather_than_not_at_all(clock):
    tokens = TokenCache(Platform(lifetime=200).fetch, clock, name="test")
    assert tokens.get() == "token-1"
    clock.t += 99
    assert tokens.get() == "token-1"
    clock.t += 2
    assert tokens.get() == "token-2"


def test_a_refused_token_is_fetched_again_once_and_the_second_answer_stands(clock):
    platform = Platform()
    tokens = TokenCache(platform.fetch, clock, name="test")
    sent: list[str] = []

    def send(token: str) -> str:
        sent.append(token)
        return "expired"

    assert tokens.call(send, expired=lambda answer: answer == "expired") == "expired"
    assert sent == ["token-1", "token-2"]  # one refresh, no loop
    assert tokens.call(lambda token: f"ok with {token}", expired=lambda a: False) == "ok with token-2"


def test_a_token_the_platform_will_not_give_is_the_failure_and_is_not_cached(clock):
    platform = Platform()
    platform.refusal = SendResult("failed", "errcode 40001 invalid credential")
    tokens = TokenCache(platform.fetch, clock, name="test")
    assert tokens.call(lambda token: "sent", expired=lambda a: False) == platform.refusal
    platform.refusal = None
    assert tokens.get() == "token-2"


def answer(status: int, body: bytes) -> requests.Response:
    resp = requests.Response()
    resp.status_code, resp._content = status, body
    return resp


def test_a_json_answer_is_read_whatever_the_status_below_500():
    assert json_answer(answer(200, b'{"errcode": 0}')) == {"errcode": 0}
    assert json_answer(answer(403, b'{"code": "QpsLimit"}')) == {"code": "QpsLimit"}  # DingTalk's 4xx


def test_server_errors_are_retried_and_unreadable_answers_mapped_as_the_client_asks():
    assert json_answer(answer(502, b"{}"), "accessToken") == SendResult("retry", "accessToken HTTP 502")
    assert json_answer(answer(200, b"<html>")) == SendResult("retry", "HTTP 200: not JSON")
    assert json_answer(answer(200, b"[1]"), unreadable="failed") == SendResult("failed", "HTTP 200: not JSON")
