"""A callback's answer against the platform's clock, shared by the WeCom and DingTalk HTTP adapters.

The platform waits a few seconds for the HTTP answer and delivers the callback again when it gets
none or a 5xx. So the adapter:

- answers passively when the pipeline is done within `reply_seconds`;
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
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

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
) -> Answer:
    """Run `handle(incoming, now)` in `pool` and decide the HTTP answer as the module says."""
    fut = pool.submit(handle, incoming, now)
    try:
        outcome = fut.result(timeout=reply_seconds)
    except concurrent.futures.TimeoutError:
        pass
    except Exception:
        log.exception("%s/%s failed; not acknowledged", incoming.platform, incoming.msg_id)
        return Answer(FAILED)
    else:
        # A redelivery was answered the first time (passively or through the outbox): stay silent.
        return Answer(STORED, None if outcome.duplicate else outcome.reply)

    # Too late for a passive answer: whenever the run finishes, its answer goes through the outbox.
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
    if outcome.reply is None or outcome.duplicate:
        return
    try:
        deliver(outcome.reply)
    except Exception:  # a worker thread: nobody else would see it
        log.exception("%s/%s: deferred answer lost", incoming.platform, incoming.msg_id)
