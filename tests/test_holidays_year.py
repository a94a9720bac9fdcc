"""A year chinese-calendar does not know yet (2027 for 1.11.0): the quarter summary waits for the
first workday, the office is told once in chat, and `python app.py holidays` shows the days."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from sqlalchemy import select

import app as app_module
from app import PLATFORMS
from bot import reminders
from bot.scheduler import ReminderScheduler
from models import OutboxMessage
from tests.conftest import TZ


def summaries_at(runtime, settings, when: dt.datetime) -> list[reminders.Message]:
    with runtime.sessions() as s:
        return [m for m in reminders.due(s, settings, when) if m.kind == "summary"]


def test_with_the_shipped_config_the_quarter_summary_skips_new_years_day_2027(runtime, roster, settings):
    assert summaries_at(runtime, settings, dt.datetime(2027, 1, 1, 9, 30, tzinfo=TZ)) == []
    assert summaries_at(runtime, settings, dt.datetime(2027, 1, 2, 9, 30, tzinfo=TZ)) == []  # Saturday
    sent = summaries_at(runtime, settings, dt.datetime(2027, 1, 4, 9, 30, tzinfo=TZ))
    assert {m.member_id for m in sent} == {roster["王组长"], roster["孙组长"]}
    assert all("2026年第四季度" in m.text for m in sent)


def admin_notices(runtime) -> list[OutboxMessage]:
    with runtime.sessions() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.key.like("holidays:%"))))


def scheduler(runtime, settings) -> ReminderScheduler:
    return ReminderScheduler(runtime.engine, runtime.sessions, settings, PLATFORMS.with_clients({}))


def test_the_admin_is_told_once_in_chat_that_2027_has_no_holiday_data(runtime, roster, settings):
    first = scheduler(runtime, settings)
    try:
        first.tick(dt.datetime(2026, 11, 30, 10, 0, tzinfo=TZ))
        assert admin_notices(runtime) == []  # not before December
        first.tick(dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ))
        first.tick(dt.datetime(2026, 12, 1, 10, 1, tzinfo=TZ))
        first.tick(dt.datetime(2026, 12, 2, 10, 0, tzinfo=TZ))
    finally:
        first.shutdown()
    restarted = scheduler(runtime, settings)
    try:
        restarted.tick(dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ))
        restarted.tick(dt.datetime(2027, 1, 4, 10, 0, tzinfo=TZ))
    finally:
        restarted.shutdown()
    (notice,) = admin_notices(runtime)
    assert notice.key == f"holidays:nodata:2027:m{roster['陈主任']}"
    assert notice.target_kind == "member" and notice.member_id == roster["陈主任"]
    assert "2027年" in notice.text and "extra_holidays" in notice.text and "春节" in notice.text
    assert "holidays --year 2027" in notice.text


def test_no_notice_once_the_office_has_listed_the_years_holidays(runtime, roster, config_dict):
    from bot.config import settings_from_dict

    config_dict["holidays"] = {**config_dict["holidays"], "extra_holidays": ["2027-02-08"]}
    listed = settings_from_dict(config_dict, "test")
    sched = scheduler(runtime, listed)
    try:
        sched.tick(dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ))
    finally:
        sched.shutdown()
    assert admin_notices(runtime) == []


def test_holidays_command_prints_the_weekday_holidays_and_weekend_workdays_to_check(
    write_config, config_dict
):
    path = write_config(
        holidays={
            **config_dict["holidays"],
            "extra_holidays": ["2027-02-08"],
            "extra_workdays": ["2027-02-20"],
        }
    )
    result = CliRunner().invoke(app_module.cli, ["--config", str(path), "holidays", "--year", "2027"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "2027-01-01 周五 元旦（法定固定日期）" in out
    assert "2027-02-08 周一 config.yaml extra_holidays" in out
    assert "2027-02-20 周六 config.yaml extra_workdays" in out
    assert "2027-10-01 周五 国庆节" in out
    assert "放假（工作日休息）共 3 天" in out and "调休上班（周末上班）共 1 天" in out
    assert "春节、清明节、端午节、中秋节" in out  # the office must list the lunar ones


def test_holidays_command_for_a_year_with_data_needs_no_list_from_the_office(write_config):
    result = CliRunner().invoke(
        app_module.cli, ["--config", str(write_config()), "holidays", "--year", "2026"]
    )
    assert result.exit_code == 0, result.output
    assert "2026-10-07 周三 国庆节" in result.output and "2026-10-10 周六 国庆节" in result.output
    assert "请对照" not in result.output
