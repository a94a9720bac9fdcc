"""A check-in means "I am there": it counts from shortly before the activity to the end of its day
(checkin.opens_minutes_before); too early, nothing is recorded; the day after, 补报 is the way."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.config import settings_from_dict
from bot.runtime import build_runtime
from models import Activity, CheckIn, Member
from tests.conftest import NOW

TZ = NOW.tzinfo


def at(hour: int, minute: int = 0, day: int = 23) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def afternoon(runtime, roster) -> int:
    with runtime.sessions.begin() as s:
        group = s.get(Member, roster["王组长"]).group_id
        a = Activity(
            group_id=group,
            kind="meeting",
            title="座谈会",
            date=NOW.date(),
            time=dt.time(14, 30),
            created_at=NOW,
        )
        s.add(a)
        s.flush()
        return a.id


def checkins(runtime) -> list[tuple[int, dt.datetime]]:
    with runtime.sessions() as s:
        return [(c.activity_id, c.checked_in_at) for c in s.scalars(select(CheckIn))]


def test_too_early_is_told_when_check_in_opens_and_records_nothing(say, runtime, afternoon):
    assert (
        say("张三", "签到", now=at(10))
        == "11月23日（周一） 14:30 会议/座谈 座谈会还没开始，13:30起可以签到。"
    )
    assert checkins(runtime) == []


@pytest.mark.parametrize("when", [at(13, 30), at(14, 50), at(23, 50)])
def test_from_an_hour_before_to_the_end_of_the_day_a_check_in_counts(say, runtime, afternoon, when):
    assert say("张三", "签到", now=when).startswith("签到成功：11月23日（周一） 14:30 会议/座谈 座谈会")
    assert checkins(runtime) == [(afternoon, when)]


def test_the_day_after_the_member_is_pointed_to_late_entry(say, runtime, afternoon):
    reply = say("张三", "签到", now=at(9, day=24))
    assert reply == (
        "今天（11月24日（周二））本组没有活动安排，无需签到。"
        "如是11月23日（周一） 14:30 会议/座谈 座谈会的活动，请联系组长补报。"
    )
    assert checkins(runtime) == []


def test_the_window_is_the_countys_to_set(config_dict, engine, runtime, afternoon):
    import app as app_module
    from bot.messages import Incoming

    narrow = build_runtime(
        settings_from_dict({**config_dict, "checkin": {"opens_minutes_before": 15}}),
        app_module.ROUTERS,
        engine=engine,
        platforms=runtime.platforms,
    )

    def check_in(now: dt.datetime, msg_id: str) -> str:
        incoming = Incoming("console", None, "张三", "张三", "签到", msg_id, now, False)
        return narrow.pipeline.handle(incoming, now).reply.text

    assert "14:15起可以签到" in check_in(at(14), "w1")
    assert check_in(at(14, 20), "w2").startswith("签到成功")
