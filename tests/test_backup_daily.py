"""The scheduler's daily backup: made once a day across a restart and racing schedulers (a
`backup_run` row per day), old archives pruned, a failure or days without a backup told to the
admins in chat."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

import app as app_module
from bot.backup_schedule import run_daily
from bot.config import settings_from_dict
from bot.scheduler import ReminderScheduler
from models import BackupRun
from tests.conftest import NOW, shipped_config
from tests.test_outbox import FakePush

TZ = NOW.tzinfo


@pytest.fixture
def daily_settings(config_dict):
    config_dict["backup"] = {**config_dict["backup"], "time": "03:00", "keep_daily": 2, "keep_monthly": 0}
    return settings_from_dict({**config_dict, "quotas": []}, "test")


def _scheduler(runtime, settings, client=None):
    platforms = app_module.PLATFORMS.with_clients({"wecom": client or FakePush("wecom")})
    return ReminderScheduler(runtime.engine, runtime.sessions, settings, platforms)


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def _daily_archives(settings) -> list[str]:
    return sorted(p.name for p in Path(settings.backup.dir).glob("lvzhi-daily-*.tar.gz"))


def test_the_daily_backup_is_made_once_a_day_across_a_restart_and_old_ones_are_pruned(
    runtime, daily_settings
):
    first = _scheduler(runtime, daily_settings)
    try:
        assert first.tick(_at(23, 2, 59)).backup is None  # not yet time
        made = first.tick(_at(23, 3, 0)).backup
        assert made.archive is not None and made.error is None
        assert first.tick(_at(23, 3, 1)).backup is None
    finally:
        first.shutdown()
    restarted = _scheduler(runtime, daily_settings)  # a new process: only the database remembers
    try:
        assert restarted.tick(_at(23, 10, 0)).backup is None
        assert _daily_archives(daily_settings) == ["lvzhi-daily-20261123-030000.tar.gz"]
        for day in (24, 25):
            assert restarted.tick(_at(day, 3, 0)).backup.archive is not None
            assert restarted.tick(_at(day, 3, 1)).backup is None
        # keep_daily 2: the 23rd's archive is pruned once the 25th's is made.
        assert restarted.tick(_at(25, 3, 2)).backup is None
    finally:
        restarted.shutdown()
    assert _daily_archives(daily_settings) == [
        "lvzhi-daily-20261124-030000.tar.gz",
        "lvzhi-daily-20261125-030000.tar.gz",
    ]
    with runtime.sessions() as s:
        runs = s.execute(select(BackupRun.day, BackupRun.status).order_by(BackupRun.day)).all()
    assert runs == [(dt.date(2026, 11, d), "done") for d in (23, 24, 25)]


def test_two_schedulers_racing_for_the_same_day_make_one_archive(runtime, daily_settings):
    results: list = []
    barrier = threading.Barrier(4)

    def race() -> None:
        barrier.wait()
        results.append(run_daily(runtime.engine, runtime.sessions, daily_settings, _at(23, 3, 0)))

    threads = [threading.Thread(target=race) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1
    assert len(_daily_archives(daily_settings)) == 1


def test_a_failed_daily_backup_is_told_to_the_admin_in_chat_once(runtime, roster, config_dict, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the backup directory should be")
    config_dict["backup"] = {**config_dict["backup"], "dir": str(blocker)}
    settings = settings_from_dict({**config_dict, "quotas": []}, "test")
    client = FakePush("wecom")
    sched = _scheduler(runtime, settings, client)
    try:
        outcome = sched.tick(_at(23, 3, 0)).backup
        assert outcome.archive is None and "not-a-directory" in outcome.error
        assert sched.tick(_at(23, 4, 0)).backup is None  # the day is not tried again and again
    finally:
        sched.shutdown()
    (told,) = client.sent
    assert told.kind == "member" and told.address == {"userid": "chen"}
    assert (
        told.text.startswith("【备份失败】11月23日的自动备份没有完成：")
        and "python3 app.py backup" in told.text
    )


def test_days_without_a_backup_are_told_when_the_scheduler_runs_again(runtime, roster, daily_settings):
    client = FakePush("wecom")
    sched = _scheduler(runtime, daily_settings, client)
    try:
        sched.tick(_at(20, 3, 0))
        # The scheduler was down from the 21st to the 23rd at noon.
        assert sched.tick(_at(23, 12, 0)).backup.archive is not None
    finally:
        sched.shutdown()
    (told,) = client.sent
    assert (
        told.text.startswith("【备份提醒】11月21日、11月22日没有自动备份") and "今天的备份已完成" in told.text
    )


def test_a_backup_left_running_by_a_process_that_died_is_taken_over(runtime, daily_settings):
    with runtime.sessions.begin() as s:
        s.add(BackupRun(kind="daily", day=dt.date(2026, 11, 23), status="running", started_at=_at(23, 3, 0)))
    sched = _scheduler(runtime, daily_settings)
    try:
        assert sched.tick(_at(23, 3, 30)).backup is None  # it may still be working
        assert sched.tick(_at(23, 4, 1)).backup.archive is not None
    finally:
        sched.shutdown()
    with runtime.sessions() as s:
        run = s.scalars(select(BackupRun)).one()
    assert (run.status, run.attempts) == ("done", 2)


# -- the command line --------------------------------------------------------------------------


def test_shipped_config_backs_up_daily_and_keeps_two_weeks_and_a_year():
    cfg = settings_from_dict(shipped_config()).backup
    assert (cfg.enabled, cfg.dir, cfg.time, cfg.keep_daily, cfg.keep_monthly) == (
        True,
        "data/backups",
        dt.time(3, 0),
        14,
        12,
    )
