"""Rest days move reminders: deadline warnings to the workday before, others to the workday after."""

from __future__ import annotations

import datetime as dt
import logging

from bot import holidays
from bot.config import HolidaySettings
from bot.holidays import WorkCalendar

D = dt.date


def test_national_day_week_moves_deadline_warnings_before_it_and_others_after_it():
    cal = WorkCalendar(HolidaySettings())
    assert not cal.is_workday(D(2026, 10, 1)) and not cal.is_workday(D(2026, 10, 7))
    assert cal.deadline_day(D(2026, 10, 5)) == D(2026, 9, 30)
    assert cal.other_day(D(2026, 10, 5)) == D(2026, 10, 8)
    assert cal.first_workday_from(D(2026, 10, 1)) == D(2026, 10, 8)


def test_a_make_up_saturday_is_a_workday_and_nothing_moves_off_it():
    cal = WorkCalendar(HolidaySettings())
    assert D(2026, 10, 10).weekday() == 5 and cal.is_workday(D(2026, 10, 10))
    assert cal.deadline_day(D(2026, 10, 10)) == D(2026, 10, 10)
    assert cal.first_workday_from(D(2026, 1, 1)) == D(2026, 1, 4)  # a Sunday 调休 after 元旦


def test_config_overrides_win_over_the_package():
    cal = WorkCalendar(HolidaySettings(extra_holidays=[D(2026, 11, 23)], extra_workdays=[D(2026, 11, 22)]))
    assert not cal.is_workday(D(2026, 11, 23))
    assert cal.is_workday(D(2026, 11, 22))  # a Sunday declared a workday
    assert cal.deadline_day(D(2026, 11, 23)) == D(2026, 11, 22)


def test_shifting_can_be_switched_off():
    assert WorkCalendar(HolidaySettings(enabled=False)).deadline_day(D(2026, 10, 3)) == D(2026, 10, 3)
    assert WorkCalendar(HolidaySettings(deadline_shift="none")).deadline_day(D(2026, 10, 3)) == D(2026, 10, 3)
    assert WorkCalendar(HolidaySettings(other_shift="before")).other_day(D(2026, 10, 3)) == D(2026, 9, 30)


def test_a_year_without_holiday_data_falls_back_to_weekends_and_says_so_once(caplog):
    cal = WorkCalendar(HolidaySettings())
    holidays._warned_years.discard(2031)
    with caplog.at_level(logging.WARNING, logger="bot.holidays"):
        assert cal.is_workday(D(2031, 10, 1))  # a Wednesday: no data, so a workday
        assert not cal.is_workday(D(2031, 10, 4))  # Saturday
        assert cal.deadline_day(D(2031, 10, 5)) == D(2031, 10, 3)
    assert sum("2031" in r.getMessage() for r in caplog.records) == 1
