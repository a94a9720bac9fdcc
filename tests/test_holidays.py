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


def test_a_year_without_holiday_data_keeps_weekends_and_fixed_date_holidays_and_says_so_once(caplog):
    cal = WorkCalendar(HolidaySettings())
    holidays._warned = False
    holidays._listed_workday.cache_clear()  # a year asked about before would not be asked again
    with caplog.at_level(logging.WARNING, logger="bot.holidays"):
        assert cal.is_workday(D(2031, 10, 8))  # a Wednesday: no data, so a workday
        assert not cal.is_workday(D(2031, 10, 4))  # Saturday
        assert not cal.is_workday(D(2031, 10, 1)) and not cal.is_workday(D(2031, 10, 3))  # 国庆, by law
        assert cal.deadline_day(D(2031, 10, 5)) == D(2031, 9, 30)
        assert not cal.is_workday(D(2032, 1, 1)) and not cal.is_workday(D(2032, 5, 1))  # 元旦, 劳动节
        assert cal.is_workday(D(2033, 3, 1))
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "2031" in warnings[0]  # once per process, not once per year or tick
    assert "python app.py holidays --year 2031" in warnings[0]


def test_new_years_day_2027_is_a_holiday_though_the_package_has_no_2027_data():
    assert not holidays.has_data(2027)  # chinese-calendar 1.11.0; renew this test with the package
    cal = WorkCalendar(HolidaySettings())
    assert not cal.is_workday(D(2027, 1, 1))
    assert cal.first_workday_from(D(2027, 1, 1)) == D(2027, 1, 4)  # Friday off, then the weekend


def test_the_office_lists_the_lunar_holidays_and_a_make_up_saturday():
    cal = WorkCalendar(
        HolidaySettings(extra_holidays=[D(2027, 2, 8), D(2027, 2, 9)], extra_workdays=[D(2027, 2, 20)])
    )
    plan = cal.year_plan(2027)
    assert not plan.has_data
    assert [d for d, _ in plan.holidays] == [D(2027, 1, 1), D(2027, 2, 8), D(2027, 2, 9), D(2027, 10, 1)]
    assert plan.workdays == ((D(2027, 2, 20), "config.yaml extra_workdays"),)
    assert dict(plan.holidays)[D(2027, 1, 1)] == "元旦（法定固定日期）"


def test_a_year_with_data_lists_the_states_weekday_holidays_and_make_up_weekends():
    plan = WorkCalendar(HolidaySettings()).year_plan(2026)
    assert plan.has_data
    assert (D(2026, 10, 7), "国庆节") in plan.holidays and (D(2026, 2, 16), "春节") in plan.holidays
    assert (D(2026, 10, 10), "国庆节") in plan.workdays and (D(2026, 1, 4), "元旦") in plan.workdays
    assert all(d.weekday() < 5 for d, _ in plan.holidays) and all(d.weekday() >= 5 for d, _ in plan.workdays)


def test_the_admin_is_asked_from_december_about_the_coming_year_unless_the_office_listed_it():
    cal = WorkCalendar(HolidaySettings())
    assert cal.notice_of_missing_year(D(2026, 11, 30)) is None
    assert cal.notice_of_missing_year(D(2026, 12, 1)) == 2027
    assert cal.notice_of_missing_year(D(2027, 3, 1)) == 2027  # still missing within the year
    assert cal.notice_of_missing_year(D(2026, 6, 1)) is None  # 2026 has data
    listed = WorkCalendar(HolidaySettings(extra_holidays=[D(2027, 2, 8)]))
    assert listed.notice_of_missing_year(D(2026, 12, 1)) is None
