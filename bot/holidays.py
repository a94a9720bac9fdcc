"""Workdays and rest days (chinese-calendar plus config overrides), and moving a reminder off a rest day.

chinese-calendar knows each year's State Council schedule only once the package is renewed. For a
year it has no data for, the weekends and the fixed-date public holidays (元旦, 劳动节, 国庆) are the
rest days; the lunar ones (春节, 清明, 端午, 中秋) and the make-up workdays (调休) need the office's
list in config.yaml. That is said once per process in the log, and once a year in the admin's chat
(`notice_of_missing_year`); `python app.py holidays --year Y` prints what the bot will use.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from typing import Literal

import chinese_calendar

from bot.config import HolidaySettings

log = logging.getLogger(__name__)

Shift = Literal["before", "after", "none"]
_MAX_SHIFT_DAYS = 40  # longer than any Chinese holiday run; a guard against an all-rest override list

# 《全国年节及纪念日放假办法》(2024 revision, in force 2025): the public holidays fixed on the solar
# calendar, safe to assume in a year chinese-calendar does not know yet.
FIXED_DATE_HOLIDAYS: dict[tuple[int, int], str] = {
    (1, 1): "元旦",
    (5, 1): "劳动节",
    (5, 2): "劳动节",
    (10, 1): "国庆节",
    (10, 2): "国庆节",
    (10, 3): "国庆节",
}
LUNAR_HOLIDAYS = "春节、清明节、端午节、中秋节"  # what a year without data still needs from the office
# From this day of a year (month, day) the admin is told when the next year has no data: the State
# Council's notice comes out in the autumn, chinese-calendar some weeks later.
ASK_FROM = (12, 1)

_warned = False  # the log says it once per process, whatever the year


def has_data(year: int) -> bool:
    """chinese-calendar carries the State Council's schedule for `year`."""
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _warn_once(year: int) -> None:
    global _warned
    if _warned:
        return
    _warned = True
    log.warning(
        "chinese-calendar has no holiday data for %s: using weekends and the fixed-date holidays "
        "(元旦, 劳动节, 国庆) only; list the year's other holidays and make-up workdays under holidays: "
        "in config.yaml and check them with: python app.py holidays --year %s",
        year,
        year,
    )


@functools.lru_cache(maxsize=4096)
def _listed_workday(day: dt.date) -> bool:
    """chinese-calendar's answer (a scheduler asks about the same few weeks every tick)."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        _warn_once(day.year)
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_DATE_HOLIDAYS


_CHINESE_NAMES = {h.value: h.chinese for h in chinese_calendar.Holiday}  # "National Day" -> 国庆节


def _holiday_name(day: dt.date) -> str:
    """What chinese-calendar (or the fixed-date table) calls the holiday a day belongs to (a make-up
    workday too: the holiday it makes up for)."""
    try:
        _is_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return FIXED_DATE_HOLIDAYS.get((day.month, day.day), "")
    return _CHINESE_NAMES.get(name, name or "")


@dataclass(frozen=True)
class YearPlan:
    """The days of a year the bot treats otherwise than by the weekend: weekday rest days and
    weekend workdays, each with where that comes from."""

    year: int
    has_data: bool
    holidays: tuple[tuple[dt.date, str], ...]  # weekdays off
    workdays: tuple[tuple[dt.date, str], ...]  # Saturdays and Sundays at work (调休)


class WorkCalendar:
    """Answers "is this a workday" from chinese-calendar, the config's overrides and the weekend."""

    def __init__(self, settings: HolidaySettings) -> None:
        self._settings = settings
        self._holidays = frozenset(settings.extra_holidays)
        self._workdays = frozenset(settings.extra_workdays)

    def is_workday(self, day: dt.date) -> bool:
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        return _listed_workday(day)

    def year_plan(self, year: int) -> YearPlan:
        """What `python app.py holidays --year` prints, for the office to check against the notice."""
        days = [dt.date(year, 1, 1) + dt.timedelta(days=i) for i in range(366)]
        days = [d for d in days if d.year == year]
        off = tuple((d, self._source(d)) for d in days if d.weekday() < 5 and not self.is_workday(d))
        on = tuple((d, self._source(d)) for d in days if d.weekday() >= 5 and self.is_workday(d))
        return YearPlan(year, has_data(year), off, on)

    def _source(self, day: dt.date) -> str:
        if day in self._workdays:
            return "config.yaml extra_workdays"
        if day in self._holidays:
            return "config.yaml extra_holidays"
        name = _holiday_name(day)
        return name if has_data(day.year) else f"{name}（法定固定日期）"

    def notice_of_missing_year(self, today: dt.date) -> int | None:
        """The year the admin should be told has no holiday data, from ASK_FROM on (the coming
        year) or within the year itself; None when the data is there or config.yaml lists the
        year's holidays already."""
        years = [today.year + 1] if (today.month, today.day) >= ASK_FROM else []
        for year in [today.year, *years]:
            if not has_data(year) and not any(d.year == year for d in self._holidays):
                return year
        return None

    def shift(self, day: dt.date, direction: Shift) -> dt.date:
        """`day` if it is a workday (or shifting is off), else the previous/next workday."""
        if not self._settings.enabled or direction == "none" or self.is_workday(day):
            return day
        step = dt.timedelta(days=-1 if direction == "before" else 1)
        moved = day
        for _ in range(_MAX_SHIFT_DAYS):
            moved += step
            if self.is_workday(moved):
                return moved
        return day

    def deadline_day(self, day: dt.date) -> dt.date:
        """Where a deadline warning nominally on `day` is sent (config: holidays.deadline_shift)."""
        return self.shift(day, self._settings.deadline_shift)

    def other_day(self, day: dt.date) -> dt.date:
        """Where any other reminder nominally on `day` is sent (config: holidays.other_shift)."""
        return self.shift(day, self._settings.other_shift)

    def first_workday_from(self, day: dt.date) -> dt.date:
        """The first workday on or after `day` (e.g. of a new quarter)."""
        return self.shift(day, "after") if self._settings.enabled else day


def missing_year_text(year: int) -> str:
    """The admin's notice that `year` has no holiday data (short, for a phone screen)."""
    return (
        f"【节假日提醒】程序还没有{year}年的放假安排，目前只按周末和元旦、劳动节、国庆的法定日期推迟提醒。"
        f"请对照国务院办公厅的{year}年放假通知，把{LUNAR_HOLIDAYS}和调休上班日写进 config.yaml 的 "
        f"holidays.extra_holidays / extra_workdays（或升级 chinese-calendar），"
        f"再用 python3 app.py holidays --year {year} 核对。"
    )


_WEEKDAYS = "一二三四五六日"


def plan_lines(plan: YearPlan, *, enabled: bool = True) -> list[str]:
    """`python app.py holidays --year` as lines: the weekday holidays, the weekend workdays, and
    what the office still has to list when chinese-calendar has no data for the year."""
    source = (
        "chinese-calendar 数据和 config.yaml"
        if plan.has_data
        else (
            f"chinese-calendar 没有{plan.year}年的数据：只有周末、法定固定日期（元旦、劳动节、国庆）和 config.yaml 所列"
        )
    )
    lines = [f"{plan.year}年节假日（提醒遇休息日会移动）；来源：{source}"]
    for title, days in (("放假（工作日休息）", plan.holidays), ("调休上班（周末上班）", plan.workdays)):
        lines.append(f"{title}共 {len(days)} 天：")
        lines += [f"  {d.isoformat()} 周{_WEEKDAYS[d.weekday()]} {why}" for d, why in days] or ["  （无）"]
    if not plan.has_data:
        lines.append(
            f"请对照国务院办公厅的{plan.year}年放假通知，把{LUNAR_HOLIDAYS}和调休上班日写进 config.yaml 的 "
            "holidays.extra_holidays / extra_workdays。"
        )
    if not enabled:
        lines.append("注意：config.yaml 里 holidays.enabled 为 false，提醒不会因节假日移动。")
    return lines
