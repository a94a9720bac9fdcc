"""A callback's age on arrival, by the platform's own clock, and the deadlines it leaves.

WeCom signs each callback URL with `timestamp` (seconds) and DingTalk sends a `timestamp` header
(ms), both taken when the platform sends the request. A callback that waited in the web server's
queue arrives old: its reply and ack deadlines (bot/platforms/answering.py) are counted from the
platform's send, not from when the handler starts, so that an answer never comes after the
platform stopped waiting (WeCom re-delivers after 5 s, DingTalk after about 3 s), which would
only add re-deliveries to the queue that made it late.

- still in time: the usual deadlines, shortened by the age;
- too late for a passive answer: stored, answered empty at once, the answer by the late path
  (response_url, message/send, sessionWebhook: whatever the adapter's outbox address is);
- not stored within its short budget (`overload.late_store_seconds`): 503, and the platform
  delivers it again;
- older than `overload.refuse_after_seconds` (far past the deadline: the platform has sent its
  next copy already): 503 at once, not handled, so the copies behind it get the time.

Our clock and the platform's may differ: the age is (now − timestamp) less the least such
difference seen lately (`PlatformClock`), the time the quickest recent request took to reach us.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from bot.config import OverloadSettings
from bot.messages import Incoming, Reply
from bot.platforms.answering import NOT_YET, Answer, answer_within

if TYPE_CHECKING:
    from bot.pipeline import Outcome

log = logging.getLogger(__name__)

_BUCKETS = 10


class PlatformClock:
    """The offset between a platform's clock and ours: the least (now − timestamp) over the last
    `window_seconds`, kept as the minimum of each tenth of the window. Per process: a worker's
    first request is its own reference, so it cannot be late until a quicker one was seen."""

    def __init__(self, window_seconds: float, resolution: float) -> None:
        self.width = window_seconds / _BUCKETS
        self.resolution = resolution  # the timestamp's unit: WeCom's whole seconds hide up to 1 s
        self._least: dict[int, float] = {}
        self._lock = threading.Lock()

    def age(self, now: float, stamp: float) -> float:
        """Seconds the request took to reach us beyond the quickest one lately (≥ 0)."""
        delta = now - stamp
        bucket = int(now // self.width)
        with self._lock:
            self._least[bucket] = min(delta, self._least.get(bucket, delta))
            for old in [b for b in self._least if b <= bucket - _BUCKETS]:
                del self._least[old]
            offset = min(self._least.values())
        return max(0.0, delta - offset - self.resolution)


class Deadlines(NamedTuple):
    reply_seconds: float  # waiting for a passive answer
    ack_seconds: float  # waiting for the message to be stored
    late: bool = False  # no passive answer: stored, answered empty, the answer by the late path
    refused: bool = False  # 503 at once, not handled


def deadlines(age: float, reply_seconds: float, ack_seconds: float, overload: OverloadSettings) -> Deadlines:
    """The deadlines left to a callback `age` seconds old on arrival (the module says how)."""
    if overload.refuse_after_seconds and age > overload.refuse_after_seconds:
        return Deadlines(0.0, 0.0, late=True, refused=True)
    store = max(ack_seconds - age, overload.late_store_seconds)
    if reply_seconds - age <= 0:
        return Deadlines(store, store, late=True)
    return Deadlines(reply_seconds - age, ack_seconds - age)


def answer_arrived(
    pool: concurrent.futures.Executor,
    handle: Callable[[Incoming, dt.datetime], Outcome],
    incoming: Incoming,
    now: dt.datetime,
    *,
    age: float,
    reply_seconds: float,
    ack_seconds: float,
    overload: OverloadSettings,
    deliver_late: Callable[[Reply], None],
    again: Callable[[Reply], Reply | None] = lambda reply: None,
    passive: bool = True,
) -> Answer:
    """`answer_within` on the deadlines the callback's age leaves."""
    left = deadlines(age, reply_seconds, ack_seconds, overload)
    if left.refused:
        log.warning("%s/%s arrived %.1fs old; refused (503)", incoming.platform, incoming.msg_id, age)
        return Answer(NOT_YET)
    if left.late:
        log.info(
            "%s/%s arrived %.1fs old; answered by the late path", incoming.platform, incoming.msg_id, age
        )
    return answer_within(
        pool,
        handle,
        incoming,
        now,
        reply_seconds=left.reply_seconds,
        ack_seconds=left.ack_seconds,
        deliver_late=deliver_late,
        again=again,
        passive=passive and not left.late,
    )
