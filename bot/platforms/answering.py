"""A callback's answer against the platform's clock, shared by the WeCom and DingTalk HTTP adapters.

The platform waits a few seconds for the HTTP answer and delivers the callback again when it gets
none or a 5xx. So the adapter:

- answers passively when the pipeline is done within `reply_seconds`;
- answers a redelivery of a stored message with the stored answer (the platform delivers again
  only when it did not get the first), unless that answer is queued in the outbox (`again`);
- otherwise keeps waiting, up to `ack_seconds`, for the message to be stored: stored, it answers
  empty (200) and the pipeline's answer goes through the outbox (`deliver_late`);
- never answers 200 for a message that is not stored: a database error is a 500, a message
  still not stored at `ack_seconds` (a database that hangs) a 503, and the platform delivers
  again. If the slow run commits after all, the redelivery is a duplicate and the answer follows
  through the outbox; if it fails, the redelivery records the message. Nothing is lost, nothing
  is recorded twice.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy.exc import DBAPIError

from bot.messages import Incoming, Reply

if TYPE_CHECKING:
    from bot.pipeline import Outcome

log = logging.getLogger(__name__)

STORED, FAILED, NOT_YET = 200, 500, 503


class Answer(NamedTuple):
    status: int  # STORED, FAILED or NOT_YET
    reply: Reply | None = None  # with STORED: the passive answer (None: answer empty)


def answer_within(
    pool: concurrent.futures.Executor,
    handle: Callable[[Incoming, dt.datetime], Outcome],
    incoming: Incoming,
    now: dt.datetime,
    *,
    reply_seconds: float,
    ack_seconds: float,
    deliver_late: Callable[[Reply], None],
    again: Callable[[Reply], Reply | None] = lambda reply: None,
    passive: bool = True,
) -> Answer:
    """Run `handle(incoming, now)` in `pool` and decide the HTTP answer as the module says. Not
    `passive` (a platform that documents no answer in the response): every answer goes to
    `deliver_late`, and the HTTP answer only says whether the message is stored. `again(reply)`:
    the answer to give a redelivery passively (None: answer empty)."""
    fut = pool.submit(handle, incoming, now)
    if not passive:
        fut.add_done_callback(lambda f: _late(f, incoming, deliver_late))
    try:
        outcome = fut.result(timeout=reply_seconds)
    except concurrent.futures.TimeoutError:
        pass
    except Exception:
        log.exception("%s/%s failed; not acknowledged", incoming.platform, incoming.msg_id)
        return Answer(FAILED)
    else:
        if not passive or outcome.reply is None:
            return Answer(STORED)
        return Answer(STORED, again(outcome.reply) if outcome.duplicate else outcome.reply)

    # Too late for a passive answer: whenever the run finishes, its answer goes through the outbox.
    if passive:
        fut.add_done_callback(lambda f: _late(f, incoming, deliver_late))
    try:
        fut.result(timeout=max(0.0, ack_seconds - reply_seconds))
    except concurrent.futures.TimeoutError:
        log.warning(
            "%s/%s not stored within %.1fs; not acknowledged (the platform delivers again)",
            incoming.platform,
            incoming.msg_id,
            ack_seconds,
        )
        return Answer(NOT_YET)
    except Exception:
        return Answer(FAILED)  # logged by _late
    log.info(
        "%s/%s stored after the %.1fs reply deadline; answer deferred",
        incoming.platform,
        incoming.msg_id,
        reply_seconds,
    )
    return Answer(STORED)


def _late(fut: concurrent.futures.Future, incoming: Incoming, deliver: Callable[[Reply], None]) -> None:
    try:
        outcome: Outcome = fut.result()
    except Exception:
        log.exception("%s/%s failed after the reply deadline; not stored", incoming.platform, incoming.msg_id)
        return
    if outcome.reply is None:
        return
    try:  # a redelivery's answer too (the first was lost): `deliver` queues it once, by its key
        deliver(outcome.reply)
    except Exception:  # a worker thread: nobody else would see it
        log.exception("%s/%s: deferred answer lost", incoming.platform, incoming.msg_id)


def handle_stored(
    handle: Callable[[Incoming, dt.datetime], Outcome],
    incoming: Incoming,
    clock: Callable[[], dt.datetime],
    *,
    within_seconds: float,
    pause_seconds: float,
    stop: threading.Event | None = None,
) -> Outcome | None:
    """`handle(incoming, now)`, tried again after a database error (which stored nothing) until
    `within_seconds` have passed; None if it never got stored. For a channel the platform does not
    deliver again (DingTalk Stream after a non-200 ACK, the WeCom long connection): the adapter then
    tells the member that the message was not recorded, rather than losing it in silence."""
    deadline = time.monotonic() + within_seconds
    pause = pause_seconds
    while True:
        try:
            return handle(incoming, clock())
        except DBAPIError:
            left = deadline - time.monotonic()
            if left <= 0:
                log.error(
                    "%s/%s not stored: the database stayed unavailable", incoming.platform, incoming.msg_id
                )
                return None
            log.warning("%s/%s: database unavailable; trying again", incoming.platform, incoming.msg_id)
        # A pause between tries of a database that is down, not a wait for another thread.
        if (stop or threading.Event()).wait(min(pause, max(left, 0.0))):
            return None
        pause = min(pause * 2, 5.0)
