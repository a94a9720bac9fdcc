"""A tick does not starve the web: it works stage by stage in chunks within its time budget, the
next tick going on where it stopped, every reminder queued exactly once; its thread runs niced."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import sys
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from app import PLATFORMS
from bot import reminders
from bot.config import settings_from_dict
from bot.scheduler import ReminderScheduler, lower_priority
from models import OutboxMessage
from tests.conftest import NOW
from tests.test_outbox import BINDINGS, FakePush

MONTH_END = dt.datetime(2026, 11, 30, 16, 0, tzinfo=NOW.tzinfo)  # quota reminders and period-end alerts


@pytest.fixture
def scheduler_with(runtime, config_dict):
    """scheduler_with(clock=…, **scheduler settings): a scheduler whose lock is let go after the
    test (on PostgreSQL an advisory lock outlives the test on its connection)."""
    made: list[ReminderScheduler] = []

    def make(*, clock=None, **scheduler) -> ReminderScheduler:
        data = {**config_dict, "groups": BINDINGS, "scheduler": {**config_dict["scheduler"], **scheduler}}
        platforms = PLATFORMS.with_clients({"wecom": FakePush("wecom")})
        extra = {"budget_clock": clock} if clock else {}
        made.append(
            ReminderScheduler(
                runtime.engine, runtime.sessions, settings_from_dict(data, "test"), platforms, **extra
            )
        )
        return made[-1]

    yield make
    for sched in made:
        sched.shutdown()


def due_keys(runtime, settings) -> list[str]:
    with runtime.sessions() as s:
        return [m.key for m in reminders.due(s, settings, MONTH_END)]


def queued(runtime) -> Counter:
    with runtime.sessions() as s:
        return Counter(s.scalars(select(OutboxMessage.key)))


def test_a_tick_in_chunks_of_one_queues_every_reminder_exactly_once(runtime, roster, scheduler_with):
    sched = scheduler_with(chunk_size=1)
    expected = due_keys(runtime, sched._settings)
    assert len(expected) >= 4 and len({k.split(":")[0] for k in expected}) >= 2  # two stages at least
    report = sched.tick(MONTH_END)
    assert report.finished and report.enqueued == len(expected)
    assert queued(runtime) == Counter(expected)
    assert sched.tick(MONTH_END + dt.timedelta(minutes=1)).enqueued == 0


def test_a_tick_that_spends_its_budget_stops_and_the_next_goes_on_until_all_are_queued_once(
    runtime, roster, scheduler_with
):
    seconds = itertools.count()  # each look at the budget clock: one second later
    sched = scheduler_with(clock=lambda: float(next(seconds)), chunk_size=1, tick_budget_seconds=1.5)
    expected = due_keys(runtime, sched._settings)
    reports = []
    while not reports or not reports[-1].finished:
        reports.append(sched.tick(MONTH_END + dt.timedelta(minutes=len(reports))))
        assert len(reports) <= len(expected) + len(reminders.STAGES)
    assert not reports[0].finished and 0 < reports[0].enqueued < len(expected)  # it stopped, having worked
    assert all(r.enqueued > 0 for r in reports[:-1])  # every tick got somewhere
    assert sum(r.enqueued for r in reports) == len(expected)
    assert queued(runtime) == Counter(expected)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="niceness per thread is Linux's")
def test_the_ticking_thread_runs_niced_and_the_others_do_not(runtime, roster, scheduler_with):
    sched = scheduler_with(nice=5)
    sched.tick = lambda now=None: None  # only the priority is asked about
    seen = {}

    def job() -> None:
        tid = threading.get_native_id()
        seen["before"] = os.getpriority(os.PRIO_PROCESS, tid)
        sched._tick_job()
        sched._tick_job()  # once per thread, not once per tick
        seen["after"] = os.getpriority(os.PRIO_PROCESS, tid)

    thread = threading.Thread(target=job)
    thread.start()
    thread.join()
    assert seen["after"] == min(19, seen["before"] + 5)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == seen["before"]  # this thread: not
    assert not lower_priority(0)
