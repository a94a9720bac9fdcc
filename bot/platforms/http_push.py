"""What the WeCom and DingTalk push clients share over HTTP: byte-safe trimming, the access-token
cache with one refresh, and reading a JSON answer or the failure to record instead."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import requests

from bot.delivery import SendResult

log = logging.getLogger(__name__)

T = TypeVar("T")
ELLIPSIS = "…"


def trim(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes, cut on a character boundary, with … when cut (both platforms
    count their limits in bytes, and a half character would be refused or shown as garbage)."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - len(ELLIPSIS.encode("utf-8"))].decode("utf-8", errors="ignore") + ELLIPSIS


def json_answer(
    resp: requests.Response, what: str = "", *, unreadable: Literal["retry", "failed"] = "retry"
) -> dict[str, Any] | SendResult:
    """The platform's JSON object, or the failure to record: a 5xx is the platform's trouble and is
    retried; a body that is not a JSON object is `unreadable`. 4xx answers are the caller's to map
    (DingTalk's carry a JSON code worth reading)."""
    prefix = f"{what} " if what else ""
    if resp.status_code >= 500:
        return SendResult("retry", f"{prefix}HTTP {resp.status_code}")
    try:
        data = resp.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return SendResult(unreadable, f"{prefix}HTTP {resp.status_code}: not JSON")
    return data


class TokenCache:
    """An app access token (WeCom gettoken, DingTalk oauth2/accessToken: 7200 s) fetched once and
    reused until shortly before it expires, as both platforms ask; one fetch at a time."""

    def __init__(
        self,
        fetch: Callable[[], tuple[str, float] | SendResult],
        clock: Callable[[], float],
        *,
        name: str,
        margin_seconds: float = 300,
    ) -> None:
        self._name = name  # for the log
        self._fetch = fetch  # -> (token, lifetime in seconds), or why there is none
        self._clock = clock
        self._margin = margin_seconds
        self._token: tuple[str, float] | None = None  # token, valid until (clock)
        self._lock = threading.Lock()

    def get(self, *, refresh: bool = False) -> str | SendResult:
        with self._lock:
            now = self._clock()
            if self._token and not refresh and now < self._token[1]:
                return self._token[0]
            fetched = self._fetch()
            if isinstance(fetched, SendResult):
                return fetched
            token, lifetime = fetched
            # Refresh a little early so that a token never expires in flight.
            self._token = (token, now + max(lifetime - self._margin, lifetime / 2))
            return token

    def call(self, send: Callable[[str], T], expired: Callable[[T], bool]) -> T | SendResult:
        """`send(token)`, once more with a fresh token when the platform says the token is no longer
        valid (revoked, or expired before its time); the second answer is returned whatever it is."""
        for attempt in (0, 1):
            token = self.get(refresh=attempt == 1)
            if isinstance(token, SendResult):
                return token
            answer = send(token)
            if attempt == 0 and expired(answer):
                log.info("%s access token refused; refreshing once", self._name)
                continue
            return answer
        raise AssertionError("unreachable")
