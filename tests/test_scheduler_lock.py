"""After a restart the scheduler does not wait out the old lock when its holder is gone; when the
holder lives (or may live, on another host) it waits and says who holds the lock and until when."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import subprocess
import sys

import pytest
from sqlalchemy import select

from bot import scheduler as bot_scheduler
from bot.scheduler import AdvisoryLock, RowLock, holder_is_gone, process_alive
from models import SchedulerLock
from tests.conftest import NOW

TTL = dt.timedelta(seconds=180)


def finished_pid() -> int:
    """The pid of a process that has run and exited (reaped: no such process any more)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_pid_that_exited_is_not_alive_and_this_process_is():
    assert not process_alive(finished_pid())
    assert process_alive(os.getpid())


def test_a_lock_left_by_a_dead_process_of_this_host_is_taken_over_at_once(runtime, caplog):
    here = socket.gethostname()
    old = RowLock(runtime.sessions, TTL, f"{here}:{finished_pid()}:deadbeef")
    assert old.acquire(NOW)  # the scheduler before the restart, its heartbeat fresh

    restarted = RowLock(runtime.sessions, TTL, f"{here}:{os.getpid()}:cafe0001")
    with caplog.at_level(logging.WARNING, logger="bot.scheduler"):
        assert restarted.acquire(NOW + dt.timedelta(seconds=5))  # not 180 s later
    with runtime.sessions() as s:
        assert s.scalar(select(SchedulerLock.holder)) == restarted.holder
    assert any("no longer runs" in r.getMessage() and old.holder in r.getMessage() for r in caplog.records)


def test_a_live_holder_on_another_host_is_waited_for_and_named_once_with_its_expiry(runtime, caplog):
    # A pid that is dead here says nothing about a process on another machine.
    other = RowLock(runtime.sessions, TTL, f"other-host-{socket.gethostname()}:{finished_pid()}:0badf00d")
    assert other.acquire(NOW)
    waiting = RowLock(runtime.sessions, TTL)
    with caplog.at_level(logging.WARNING, logger="bot.scheduler"):
        assert not waiting.acquire(NOW + dt.timedelta(seconds=5))
        assert not waiting.acquire(NOW + dt.timedelta(seconds=65))
    said = [r.getMessage() for r in caplog.records if "held by" in r.getMessage()]
    assert len(said) == 1  # once, not every tick
    assert other.holder in said[0] and "2026-11-23T10:03:00+08:00" in said[0]  # heartbeat + 180 s
    with runtime.sessions() as s:
        assert s.scalar(select(SchedulerLock.holder)) == other.holder
    assert waiting.acquire(NOW + dt.timedelta(seconds=181))  # it stopped renewing: taken over


def test_a_live_process_of_this_host_keeps_its_lock():
    here = socket.gethostname()
    assert not holder_is_gone(f"{here}:{os.getppid()}:00000000")  # the test runner's parent runs
    assert not holder_is_gone("a")  # a holder written otherwise is not known to be gone
    assert holder_is_gone(f"{here}:{finished_pid()}:00000000")
    assert not holder_is_gone(f"{here}:{finished_pid()}:00000000", host="elsewhere")


def test_on_postgresql_a_waiting_scheduler_names_the_session_holding_the_advisory_lock(runtime, caplog):

    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's")
    first, second = AdvisoryLock(runtime.engine, key=7_219_999), AdvisoryLock(runtime.engine, key=7_219_999)
    try:
        assert first.acquire(NOW)
        with caplog.at_level(logging.WARNING, logger="bot.scheduler"):
            assert not second.acquire(NOW)
            assert not second.acquire(NOW + dt.timedelta(minutes=1))
        said = [r.getMessage() for r in caplog.records if "held by" in r.getMessage()]
        assert len(said) == 1 and first.holder in said[0]
        first.release()
        assert second.acquire(NOW + dt.timedelta(minutes=2))
    finally:
        first.release()
        second.release()


def test_a_lock_left_by_an_earlier_run_with_this_very_pid_is_taken_over_at_once(runtime):
    # A container's scheduler restarts as pid 1 on the same host name: the pid is ours, the id not.
    earlier = RowLock(runtime.sessions, TTL, f"{socket.gethostname()}:{os.getpid()}:0e0e0e0e")
    assert earlier.acquire(NOW)
    bot_scheduler._OURS.discard(earlier.holder)  # as if written by the process before the restart
    restarted = RowLock(runtime.sessions, TTL)
    assert restarted.acquire(NOW + dt.timedelta(seconds=1))
    second_in_this_process = RowLock(runtime.sessions, TTL)  # this process's own holder is alive
    assert not second_in_this_process.acquire(NOW + dt.timedelta(seconds=2))
