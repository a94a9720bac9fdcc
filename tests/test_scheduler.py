"""One scheduler at a time: the lock, ticks that enqueue and deliver, a crash mid-tick, two processes."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import app as app_module
from app import PLATFORMS
from bot import outbox
from bot.delivery import Delivery, SendResult
from bot.scheduler import ReminderScheduler, RowLock
from models import LiaisonGroup, OutboxMessage
from tests.conftest import NOW, ROOT
from tests.test_outbox import BINDINGS, FakePush

ACTIVITY_EVE = dt.datetime(2026, 11, 24, 18, 0, tzinfo=NOW.tzinfo)


def announce(runtime, roster, day=dt.date(2026, 11, 25)) -> None:
    from models import Activity

    with runtime.sessions.begin() as s:
        gid = s.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == "第一联络组"))
        s.add(
            Activity(
                group_id=gid,
                kind="collective",
                title="学习会",
                date=day,
                time=dt.time(14, 30),
                place="县政协三楼",
                announced_by_id=roster["王组长"],
                created_at=NOW,
            )
        )


def sent_keys(runtime) -> list[str]:
    with runtime.sessions() as s:
        return list(s.scalars(select(OutboxMessage.key).where(OutboxMessage.status == "sent")))


def test_a_second_lock_holder_idles_until_the_first_stops_heartbeating(runtime):
    ttl = dt.timedelta(seconds=180)
    first, second = RowLock(runtime.sessions, ttl, "a"), RowLock(runtime.sessions, ttl, "b")
    assert first.acquire(NOW)
    assert not second.acquire(NOW + dt.timedelta(seconds=1))
    first.heartbeat(NOW + dt.timedelta(seconds=100))
    assert not second.acquire(NOW + dt.timedelta(seconds=200))  # the heartbeat kept it alive
    assert second.acquire(NOW + dt.timedelta(seconds=400))  # first died: taken over
    first.heartbeat(NOW + dt.timedelta(seconds=401))
    assert not first.held  # the old holder notices and goes idle
    second.release()
    assert first.acquire(NOW + dt.timedelta(seconds=402))


def test_only_the_lock_holder_ticks_and_its_tick_enqueues_and_delivers(runtime, roster, bound_settings):
    announce(runtime, roster)
    client = FakePush("wecom")
    one = ReminderScheduler(
        runtime.engine, runtime.sessions, bound_settings, PLATFORMS.with_clients({"wecom": client})
    )
    two = ReminderScheduler(
        runtime.engine, runtime.sessions, bound_settings, PLATFORMS.with_clients({"wecom": client})
    )
    try:
        first = one.tick(ACTIVITY_EVE)
        assert first.leader and first.enqueued == 1 and first.delivery.sent == 1
        assert not two.tick(ACTIVITY_EVE + dt.timedelta(minutes=1)).leader
        again = one.tick(ACTIVITY_EVE + dt.timedelta(minutes=1))
        assert again.leader and again.enqueued == 0
        (d,) = client.sent
        assert d.key.startswith("activity:") and {p.name for p in d.mentions} == {"张三", "李四", "赵六"}
        assert "明天（11月25日） 14:30" in d.text and "县政协三楼" in d.text
    finally:
        one.shutdown()
        two.shutdown()


class Killed(BaseException):
    """The scheduler process dying (kill -9) mid-tick."""


def test_a_scheduler_killed_mid_tick_and_restarted_sends_everything_once(runtime, roster, bound_settings):
    announce(runtime, roster, dt.date(2026, 11, 25))
    announce(runtime, roster, dt.date(2026, 11, 25))  # two reminders due in the same tick
    delivered: list[str] = []

    class DiesBeforeTheSecondSend:
        platform = "wecom"

        def send(self, delivery: Delivery) -> SendResult:
            if delivered:
                raise Killed  # before the request leaves: the platform never saw it
            delivered.append(delivery.key)
            return SendResult("sent", "ok")

    dying = ReminderScheduler(
        runtime.engine,
        runtime.sessions,
        bound_settings,
        PLATFORMS.with_clients({"wecom": DiesBeforeTheSecondSend()}),
    )
    with pytest.raises(Killed):
        dying.tick(ACTIVITY_EVE)
    dying.lock.release()  # what the database does when the process is gone (connection closed / row stale)

    client = FakePush("wecom")
    restarted = ReminderScheduler(
        runtime.engine, runtime.sessions, bound_settings, PLATFORMS.with_clients({"wecom": client})
    )
    try:
        lease = dt.timedelta(seconds=bound_settings.outbox.claim_lease_seconds)
        for minutes in range(0, 12):  # a tick a minute, past the dead claim's lease
            restarted.tick(
                ACTIVITY_EVE + dt.timedelta(minutes=minutes) + (lease if minutes > 5 else dt.timedelta())
            )
    finally:
        restarted.shutdown()
    everything = Counter(delivered + [d.key for d in client.sent])
    assert len(everything) == 2 and set(everything.values()) == {1}
    assert sorted(sent_keys(runtime)) == sorted(everything)


def test_the_background_scheduler_ticks_at_once_and_stops_cleanly(runtime, roster, bound_settings):
    outbox_rows = []
    with runtime.sessions.begin() as s:
        gid = s.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == "第一联络组"))
        outbox.enqueue(
            s, key="x", target_kind="group", text="测试", now=dt.datetime.now(NOW.tzinfo), group_id=gid
        )
    client = FakePush("wecom")
    sched = ReminderScheduler(
        runtime.engine, runtime.sessions, bound_settings, PLATFORMS.with_clients({"wecom": client})
    )
    sched.start()
    try:
        deadline = time.monotonic() + 10
        while not client.sent and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sched.shutdown()
    # On the real clock: from December the admin may also be told the next year has no holiday data.
    outbox_rows = [k for k in sent_keys(runtime) if not k.startswith("holidays:")]
    assert outbox_rows == ["x"] and [d.key for d in client.sent if d.key in outbox_rows] == ["x"]


@pytest.fixture
def bound_settings(config_dict):
    from bot.config import settings_from_dict

    # Activity reminders only, so that each tick's messages are few and known.
    return settings_from_dict({**config_dict, "groups": BINDINGS, "quotas": []}, "test")


def test_remind_dry_run_prints_and_a_real_run_enqueues_once(runtime, roster, write_config):
    announce(runtime, roster)
    path = write_config(quotas=[])
    cli = CliRunner()
    dry = cli.invoke(
        app_module.cli, ["--config", str(path), "remind", "--now", "2026-11-24T18:30", "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert "【活动提醒】" in dry.output and "@张三" in dry.output and "共 1 条（未发送）" in dry.output
    assert "→ 第一联络组群:" in dry.output
    assert sent_keys(runtime) == []
    for expected in ("新加入发送队列 1 条", "新加入发送队列 0 条"):
        run = cli.invoke(app_module.cli, ["--config", str(path), "remind", "--now", "2026-11-24T18:30"])
        assert run.exit_code == 0 and expected in run.output
    listing = cli.invoke(app_module.cli, ["--config", str(path), "outbox"])
    assert listing.exit_code == 0 and "pending\tactivity:" in listing.output


def _start_scheduler(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--config", str(config), "scheduler"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _wait_sent(runtime, n: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(sent_keys(runtime)) >= n:
            return True
        time.sleep(0.2)
    return False


def test_two_scheduler_processes_on_postgresql_only_one_sends(runtime, roster, write_config, tmp_path):
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's; SQLite is covered by the lock-row test")
    # On the real clock; holidays off, so that December's question about next year's holidays is
    # not one more message in the count.
    config = write_config(
        quotas=[],
        scheduler={"enabled": True, "tick_seconds": 5, "misfire_grace_seconds": 60},
        holidays={"enabled": False},
    )

    def queue(prefix: str, n: int) -> None:
        with runtime.sessions.begin() as s:
            gid = s.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == "第一联络组"))
            for i in range(n):
                outbox.enqueue(
                    s,
                    key=f"{prefix}{i}",
                    target_kind="group",
                    text=f"消息{prefix}{i}",
                    now=dt.datetime.now(NOW.tzinfo),
                    group_id=gid,
                )

    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [_start_scheduler(config, logs[0]), _start_scheduler(config, logs[1])]
    try:
        queue("first", 3)
        assert _wait_sent(runtime, 3, 30)
        time.sleep(6)  # one more tick each: a second sender would show now
        sends = [log.read_text(encoding="utf-8").count("[console]") for log in logs]
        assert sorted(sends) == [0, 3]
        leader = sends.index(3)
        procs[leader].send_signal(signal.SIGKILL)  # no goodbye: PostgreSQL frees the lock with the connection
        procs[leader].wait(timeout=10)
        queue("second", 2)
        assert _wait_sent(runtime, 5, 30)
        other = logs[1 - leader].read_text(encoding="utf-8")
        assert other.count("[console]") == 2 and "second0" in other
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
    keys = sent_keys(runtime)
    assert len(keys) == len(set(keys)) == 5


def test_the_web_runtime_and_its_scheduler_send_through_one_set_of_push_clients(sqlite_config):
    from bot.config import DingtalkSettings, WecomSettings, load_settings

    settings = load_settings(sqlite_config).model_copy(
        update={
            "wecom": WecomSettings(corp_id="ww1"),
            "dingtalk": DingtalkSettings(app_key="k", app_secret="s"),
        }
    )
    runtime = app_module.make_runtime(settings, migrate=False)
    sched = app_module._reminder_scheduler(runtime)
    assert set(runtime.platforms.clients) == {"wecom", "dingtalk"}
    # One client per platform in the process, so one access-token cache, not one per user of it.
    for family, client in runtime.platforms.clients.items():
        assert sched.platforms.clients[family] is client
    runtime.engine.dispose()
