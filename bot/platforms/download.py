"""Fetching a file a member sent, at once (the platforms' links live minutes), bounded in size and
time, with the platforms' errors mapped; and the one place every adapter hands a message with
files to the pipeline (`FileIntake`), so that a redelivery during a download waits for it instead
of fetching the file again, and a message already stored is never fetched again.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

import requests

from bot import files
from bot.config import FileSettings
from bot.messages import FileRef, FileRefused, Incoming

if TYPE_CHECKING:
    from bot.pipeline import Outcome

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_EXPIRED = (403, 404, 410)  # a link past its life: WeCom's url after 5 minutes, DingTalk's downloadUrl
_FILENAME_STAR = re.compile(r"filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)")
_FILENAME = re.compile(r'filename\s*=\s*"?([^";]+)"?')


@dataclass(frozen=True)
class Fetched:
    data: bytes
    name: str | None  # from Content-Disposition, when the platform names the file there


class _TooLarge(Exception):
    pass


def name_in(disposition: str | None) -> str | None:
    """The file name of a Content-Disposition header (RFC 6266 filename*, else filename, maybe %-encoded)."""
    if not disposition:
        return None
    found = _FILENAME_STAR.search(disposition) or _FILENAME.search(disposition)
    return unquote(found.group(1).strip()) if found else None


def _read(resp: requests.Response, max_bytes: int, deadline: float) -> bytes:
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _TooLarge
    body = bytearray()
    for chunk in resp.iter_content(_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise _TooLarge
        if time.monotonic() > deadline:
            raise requests.Timeout("download took too long")
    return bytes(body)


def fetch(
    http: requests.Session,
    url: str,
    *,
    max_mb: float,
    seconds: float,
    attempts: int,
    pause: float = 0.3,
    slack: int = 0,
) -> Fetched | FileRefused:
    """GET `url`: its bytes, or why not (too large, expired, failed). A 5xx, 429, a timeout or a
    dropped connection is tried again while `attempts` and `seconds` last; a 403/404/410 means the
    link expired and is not. `slack`: bytes allowed beyond the limit (an encryption's padding)."""
    deadline = time.monotonic() + seconds
    max_bytes = int(max_mb * 1024 * 1024) + slack
    reason = "failed"
    for attempt in range(attempts):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            with http.get(url, stream=True, timeout=min(left, 10.0)) as resp:
                if resp.status_code == 200:
                    return Fetched(
                        _read(resp, max_bytes, deadline), name_in(resp.headers.get("Content-Disposition"))
                    )
                if resp.status_code in _EXPIRED:
                    return files.refused("expired")
                if resp.status_code != 429 and resp.status_code < 500:
                    log.warning("file download refused: HTTP %s", resp.status_code)
                    return files.refused("failed")
                log.warning("file download attempt %d: HTTP %s", attempt + 1, resp.status_code)
        except _TooLarge:
            return files.refused("too_large", limit_mb=max_mb)
        except (requests.Timeout, requests.ConnectionError) as err:
            log.warning("file download attempt %d: %s", attempt + 1, type(err).__name__)
        if attempt + 1 < attempts:  # a pause between tries of a server that failed, not a wait for a thread
            time.sleep(min(pause * (2**attempt), max(0.0, deadline - time.monotonic())))
    return files.refused(reason)


# What an adapter knows how to fetch: one callable per file of the message, giving its bytes.
Fetcher = Callable[[], Fetched | FileRefused]


class FileIntake:
    """Runs a message with files through the pipeline: fetch each file, check and store it
    (bot/files.py), then `handle`. One message at a time per (platform, msg id) in this process,
    and a message already stored answers as it did without fetching anything."""

    def __init__(self, settings: FileSettings, previous: Callable[[Incoming], Outcome | None]) -> None:
        self._settings = settings
        self._previous = previous
        self._busy: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, incoming: Incoming) -> threading.Lock:
        with self._guard:
            return self._busy.setdefault((incoming.platform, incoming.msg_id), threading.Lock())

    def run(
        self,
        handle: Callable[[Incoming, dt.datetime], Outcome],
        incoming: Incoming,
        now: dt.datetime,
        fetchers: list[Fetcher],
    ) -> Outcome:
        lock = self._lock(incoming)
        with lock:  # a redelivery waits here for the first delivery's download and store
            try:
                first = self._previous(incoming)
                if first is not None:
                    return first
                return handle(replace(incoming, attachments=self.receive(fetchers)), now)
            finally:
                with self._guard:
                    self._busy.pop((incoming.platform, incoming.msg_id), None)

    def receive(self, fetchers: list[Fetcher]) -> tuple[FileRef | FileRefused, ...]:
        """Each file fetched and checked; stored only when none of them is refused, so a message
        refused for its second file leaves nothing of its first (the first refusal ends the fetching)."""
        checked: list[tuple[FileRef, bytes]] = []
        for fetcher in fetchers:
            got = fetcher()
            ref = (
                files.check(got.data, got.name, max_mb=self._settings.max_mb)
                if isinstance(got, Fetched)
                else got
            )
            if isinstance(ref, FileRefused):
                log.info("file refused: %s", ref.reason)
                return (ref,)
            checked.append((ref, got.data))
        root = Path(self._settings.dir)
        for _ref, data in checked:
            files.store(root, data)
        return tuple(ref for ref, _ in checked)
