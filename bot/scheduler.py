"""The reminder scheduler: every tick, what is due goes into the outbox and the outbox is delivered;
once a day, from `backup.time`, the tick also makes the day's backup (bot/backup_schedule.py).

A tick must not starve the web callbacks: it works stage by stage in chunks within its time
budget (`scheduler.tick_budget_seconds`), the next tick going on where it stopped, and its threads
run at a lower priority (`scheduler.nice`; per thread on Linux, so also inside a web process).

Exactly one runs across all processes and hosts: it holds a PostgreSQL advisory lock on a
dedicated connection (or, on SQLite, a lock row kept alive by a heartbeat); any other idles, and
says once who holds the lock and until when. A lock row left by a process of this host that no
longer runs is taken over at once, not after `scheduler.lock_ttl_seconds`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection, Engine, insert, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import backup_schedule, holidays, locks, outbox, reminders
from bot.config import Settings
from bot.descriptor import Platforms
from models import SchedulerLock

log = logging.getLogger(__name__)

LOCK_NAME = "reminders"


# Every holder id this process uses: a lock row with this process's pid but none of these ids was
# left by an earlier run that had the same pid (a container's scheduler restarts as pid 1).
_OURS: set[str] = set()


def holder_id() -> str:
    """Who holds a lock: host, process and a random part (a pid is reused across restarts)."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    _OURS.add(holder)
    return holder


def _holder_process(holder: str) -> tuple[str, int] | None:
    """(host, pid) of a `holder_id`; None for a holder written otherwise."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


def process_alive(pid: int) -> bool:
    """Does a process `pid` run on this machine? (Windows: os.kill would terminate it, so ask
    OpenProcess/GetExitCodeProcess instead.)"""
    if pid <= 0:
        return False
    if os.name == "nt":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it runs, under another user
    return True


def _windows_process_alive(pid: int) -> bool:
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return kernel32.GetLastError() == 5  # ERROR_ACCESS_DENIED: it exists
    try:
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def holder_is_gone(holder: str, host: str | None = None) -> bool:
    """The holder ran on this host (`host`, default this machine's name) and its process no longer
    runs: its lock can be taken at once. A holder on another host, or written otherwise, is not
    known to be gone."""
    found = _holder_process(holder)
    if found is None or found[0] != (host or socket.gethostname()):
        return False
    if found[1] == os.getpid():
        return holder not in _OURS
    return not process_alive(found[1])


class AdvisoryLock:
    """pg_try_advisory_lock on a connection kept for the process lifetime.

    PostgreSQL releases the lock when that connection ends, so a dead scheduler frees it
    without any timeout of ours; a live one checks its connection before each tick.
    """

    def __init__(self, engine: Engine, key: int = locks.REMINDER_SCHEDULER) -> None:
        self._engine = engine
        self._key = key
        self._conn: Connection | None = None
        self.held = False
        self.holder = holder_id()
        self._waiting_for: str | None = None

    def acquire(self, now: dt.datetime) -> bool:
        try:
            if self._conn is None:
                self._conn = self._engine.connect()
                # Who holds the lock, for a waiting scheduler to name (pg_stat_activity).
                self._conn.execute(
                    text("SELECT set_config('application_name', :n, false)"), {"n": self.holder}
                )
            if self.held:
                self._conn.execute(text("SELECT 1"))  # still ours as long as the session lives
                self._conn.commit()
                return True
            self.held = bool(
                self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar()
            )
            if not self.held:
                self._say_who_holds_it()
            self._conn.commit()  # the lock is session-level: it outlives this transaction
        except DBAPIError:
            log.warning("scheduler lock connection lost; will try again", exc_info=True)
            self._drop()
        return self.held

    def _say_who_holds_it(self) -> None:
        """Once per holder: which session holds the advisory lock (it is freed when that session ends)."""
        assert self._conn is not None
        row = self._conn.execute(
            text(
                "SELECT a.application_name, a.client_addr, a.pid FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = :k"
            ),
            {"k": self._key},
        ).first()
        holder = (
            f"{row[0] or '?'} (client {row[1] or 'local'}, backend {row[2]})" if row else "another session"
        )
        if holder != self._waiting_for:
            self._waiting_for = holder
            log.warning(
                "scheduler lock held by %s; this scheduler waits until that database session ends", holder
            )

    def heartbeat(self, now: dt.datetime) -> None:
        """Nothing to refresh: the lock lives as long as the connection."""

    def release(self) -> None:
        if self._conn is not None and self.held:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                self._conn.commit()
            except DBAPIError:
                log.warning("could not unlock the scheduler lock; closing its connection frees it")
        self._drop()

    def _drop(self) -> None:
        self.held = False
        if self._conn is not None:
            try:
                self._conn.close()
            except DBAPIError:
                log.debug("closing a broken lock connection failed", exc_info=True)
            self._conn = None


class RowLock:
    """A row in scheduler_lock, taken over by another process once its heartbeat is older than `ttl`,
    or at once when its holder ran on this host and its process is gone (a restart)."""

    def __init__(self, sessions: sessionmaker[Session], ttl: dt.timedelta, holder: str | None = None) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self.holder = holder or holder_id()
        _OURS.add(self.holder)
        self.held = False
        self._waiting_for: str | None = None  # the holder last logged as the one this lock waits for

    def acquire(self, now: dt.datetime) -> bool:
        taken = self._renew_or_take_stale(now) or self._insert(now) or self._take_from_gone(now)
        if taken and not self.held:
            log.info("scheduler lock taken by %s", self.holder)
            self._waiting_for = None
        self.held = taken
        return self.held

    def _renew_or_take_stale(self, now: dt.datetime) -> bool:
        stale = SchedulerLock.heartbeat_at < now - self._ttl
        return self._update((SchedulerLock.holder == self.holder) | stale, now)

    def _update(self, condition, now: dt.datetime) -> bool:
        with self._sessions.begin() as session:
            return bool(
                session.execute(
                    update(SchedulerLock)
                    .where(SchedulerLock.name == LOCK_NAME, condition)
                    .values(holder=self.holder, heartbeat_at=now)
                    .execution_options(synchronize_session=False)
                ).rowcount
            )

    def _insert(self, now: dt.datetime) -> bool:
        try:
            with self._sessions.begin() as session:
                session.execute(
                    insert(SchedulerLock).values(
                        name=LOCK_NAME, holder=self.holder, acquired_at=now, heartbeat_at=now
                    )
                )
        except IntegrityError:
            return False  # someone else's live row
        return True

    def _take_from_gone(self, now: dt.datetime) -> bool:
        """Take the row of a holder whose process on this host no longer runs; else say, once per
        holder, who holds it and until when."""
        with self._sessions() as session:
            row = session.get(SchedulerLock, LOCK_NAME)
            if row is None:
                return False  # released between our insert and this read: the next tick takes it
            holder, heartbeat_at = row.holder, row.heartbeat_at
        if holder_is_gone(holder):
            # Compared on the holder: a third process that took it meanwhile keeps it.
            if self._update(SchedulerLock.holder == holder, now):
                log.warning("scheduler lock: %s no longer runs on this host; taken over at once", holder)
                return True
            return False
        if holder != self._waiting_for:
            self._waiting_for = holder
            until = (heartbeat_at + self._ttl).astimezone(now.tzinfo)
            log.warning(
                "scheduler lock held by %s (last heartbeat %s); this scheduler waits and takes over "
                "if it stops renewing it by %s",
                holder,
                heartbeat_at.astimezone(now.tzinfo).isoformat(timespec="seconds"),
                until.isoformat(timespec="seconds"),
            )
        return False

    def heartbeat(self, now: dt.datetime) -> None:
        if not self.held:
            return
        with self._sessions.begin() as session:
            kept = session.execute(
                update(SchedulerLock)
                .where(SchedulerLock.name == LOCK_NAME, SchedulerLock.holder == self.holder)
                .values(heartbeat_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
        if not kept:
            log.warning("scheduler lock was taken over; %s goes idle", self.holder)
            self.held = False

    def release(self) -> None:
        if not self.held:
            return
        with self._sessions.begin() as session:
            session.execute(
                update(SchedulerLock)
                .where(SchedulerLock.name == LOCK_NAME, SchedulerLock.holder == self.holder)
                .values(heartbeat_at=dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
                .execution_options(synchronize_session=False)
            )
        self.held = False


def make_lock(engine: Engine, sessions: sessionmaker[Session], settings: Settings) -> AdvisoryLock | RowLock:
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine)
    return RowLock(sessions, dt.timedelta(seconds=settings.scheduler.lock_ttl_seconds))


@dataclass(frozen=True)
class TickReport:
    leader: bool  # False: another scheduler holds the lock, this one did nothing
    due: int = 0
    enqueued: int = 0
    finished: bool = True  # False: the time budget ran out, the next tick goes on
    delivery: outbox.DeliveryReport | None = None
    backup: backup_schedule.DailyOutcome | None = None  # the day's backup, when this tick made or tried it


def enqueue_due(sessions: sessionmaker[Session], settings: Settings, now: dt.datetime) -> tuple[int, int]:
    """What `reminders.due` says at `now`, into the outbox in one transaction: (due, newly enqueued)."""
    with sessions.begin() as session:
        messages = reminders.due(session, settings, now)
        return len(messages), outbox.enqueue_many(session, messages, now)


@dataclass(frozen=True)
class Progress:
    """How far one tick's budget took `enqueue_due_within`."""

    due: int
    enqueued: int
    finished: bool  # every stage done; else the next tick resumes at `next_stage`
    next_stage: int = 0


def enqueue_due_within(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: dt.datetime,
    *,
    start_stage: int = 0,
    clock: Callable[[], float] = time.monotonic,
) -> Progress:
    """`enqueue_due` spread out: one reminder stage at a time from `start_stage`, its messages
    enqueued `scheduler.chunk_size` to a transaction, stopping between chunks once
    `scheduler.tick_budget_seconds` have passed (at least one chunk is done). Stopping is safe at
    any point: the stage is computed again next time and the outbox skips the keys it has."""
    cfg = settings.scheduler
    deadline = clock() + cfg.tick_budget_seconds
    stages = reminders.STAGES
    due = enqueued = 0
    worked = False
    for i in range(len(stages)):
        at = (start_stage + i) % len(stages)
        with sessions() as session:  # reading only
            messages = reminders.due_in_stage(session, settings, now, stages[at])
            # Only what is not queued yet is chunked: a tick resuming a stage starts where it stopped.
            known = outbox.known_keys(session, [m.key for m in messages])
        due += len(messages)
        messages = [m for m in messages if m.key not in known]
        for first in range(0, len(messages), cfg.chunk_size):
            if worked and clock() >= deadline:
                return Progress(due, enqueued, finished=False, next_stage=at)
            with sessions.begin() as session:
                enqueued += outbox.enqueue_many(session, messages[first : first + cfg.chunk_size], now)
            worked = True
    return Progress(due, enqueued, finished=True)


def lower_priority(niceness: int) -> bool:
    """Lower the calling thread's CPU priority by `niceness`: on Linux a thread has its own
    niceness (setpriority on its thread id), so this works for the scheduler thread inside a web
    process (`python app.py`) and for `app.py scheduler` alike. Elsewhere, or when refused: False."""
    if niceness <= 0 or not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + niceness))
    except OSError as err:
        log.warning("scheduler priority not lowered: %s", err)
        return False
    return True


def tell_missing_holidays(
    sessions: sessionmaker[Session], settings: Settings, now: dt.datetime
) -> int | None:
    """The admins told, once a year (the outbox key), that the coming year (or this one) has no
    holiday data: the year told of, or None when nothing is missing."""
    if not settings.holidays.enabled:
        return None
    year = holidays.WorkCalendar(settings.holidays).notice_of_missing_year(now.date())
    if year is None:
        return None
    with sessions.begin() as session:
        outbox.enqueue_to_admins(session, f"holidays:nodata:{year}", holidays.missing_year_text(year), now)
    return year


class ReminderScheduler:
    """Ticks (APScheduler, the configured timezone) while holding the single-scheduler lock; sends
    through the push clients of `platforms` (in the web process, the same ones the runtime has)."""

    def __init__(
        self,
        engine: Engine,
        sessions: sessionmaker[Session],
        settings: Settings,
        platforms: Platforms,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        lock: AdvisoryLock | RowLock | None = None,
        deliverer: outbox.Deliverer | None = None,
        budget_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._settings = settings
        self._clock = clock or (lambda: dt.datetime.now(settings.tz))
        self.lock = lock or make_lock(engine, sessions, settings)
        self.platforms = platforms
        # The process's own deliverer when it has one (one rate-limit window per push target).
        self.deliverer = deliverer or outbox.Deliverer(sessions, settings, platforms)
        self._scheduler: BackgroundScheduler | None = None
        self._tick_guard = threading.Lock()
        self._holidays_asked_on: dt.date | None = None
        self._budget_clock = budget_clock
        self._next_stage = 0  # where the last tick's budget ran out
        self._lowered: set[int] = set()  # threads whose priority is lowered already

    def tick(self, now: dt.datetime | None = None) -> TickReport:
        """One round: take or keep the lock, make the day's backup when it is due, enqueue what is due,
        deliver the outbox (a backup failure told to the admins goes out in the same round)."""
        now = (now or self._clock()).astimezone(self._settings.tz)
        with self._tick_guard:
            if not self.lock.acquire(now):
                return TickReport(leader=False)
            backed_up = backup_schedule.run_daily(self._engine, self._sessions, self._settings, now)
            self._tell_missing_holidays(now)
            done = enqueue_due_within(
                self._sessions, self._settings, now, start_stage=self._next_stage, clock=self._budget_clock
            )
            self._next_stage = done.next_stage
            report = self.deliverer.deliver(now)
            if done.enqueued or report.handled or not done.finished:
                log.info(
                    "tick %s: %d due, %d new%s, sent %d, retry %d, failed %d, deferred %d",
                    now.isoformat(timespec="seconds"),
                    done.due,
                    done.enqueued,
                    "" if done.finished else " (budget spent: the next tick goes on)",
                    report.sent,
                    report.retried,
                    report.failed,
                    report.deferred,
                )
            return TickReport(True, done.due, done.enqueued, done.finished, report, backed_up)

    def _tell_missing_holidays(self, now: dt.datetime) -> None:
        """Asked once a day in a process; the outbox key makes it one message a year."""
        if self._holidays_asked_on != now.date():
            tell_missing_holidays(self._sessions, self._settings, now)
            self._holidays_asked_on = now.date()

    def _tick_job(self) -> None:
        tid = threading.get_native_id()
        if tid not in self._lowered:  # APScheduler's pool may run a tick in any of its threads
            self._lowered.add(tid)
            lower_priority(self._settings.scheduler.nice)
        try:
            self.tick()
        except Exception:  # a scheduled job must survive a bad tick (the DB away, a bug): log, go on
            log.exception("reminder tick failed")

    def _heartbeat_job(self) -> None:
        try:
            self.lock.heartbeat(self._clock())
        except Exception:  # same reason: the next heartbeat or tick tries again
            log.exception("scheduler heartbeat failed")

    def start(self) -> None:
        """Start ticking in a background thread (first tick at once)."""
        cfg = self._settings.scheduler
        sched = BackgroundScheduler(
            timezone=self._settings.tz,
            job_defaults={
                "coalesce": True,  # after a pause, one tick, not one per missed interval
                "misfire_grace_time": cfg.misfire_grace_seconds,
                "max_instances": 1,
            },
        )
        sched.add_job(
            self._tick_job,
            IntervalTrigger(seconds=cfg.tick_seconds, timezone=self._settings.tz),
            id="reminder_tick",
            next_run_time=dt.datetime.now(self._settings.tz),
        )
        # The heartbeat runs beside a long tick (slow pushes), so the lock row never looks dead.
        sched.add_job(
            self._heartbeat_job,
            IntervalTrigger(seconds=max(1, cfg.lock_ttl_seconds // 3), timezone=self._settings.tz),
            id="scheduler_heartbeat",
        )
        sched.start()
        self._scheduler = sched
        log.info("reminder scheduler started (every %ss, %s)", cfg.tick_seconds, self._settings.timezone)

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        self.lock.release()
