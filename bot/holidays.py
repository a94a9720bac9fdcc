"""Workdays and rest days (chinese-calendar plus config overrides), and moving a reminder off a rest day.

A year chinese-calendar has no data for falls back to weekends only, logged once per year.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import Literal

import chinese_calendar

from bot.config import HolidaySettings

log = logging.getLogger(__name__)

Shift = Literal["before", "after", "none"]
_warned_years: set[int] = set()
_MAX_SHIFT_DAYS = 40  # longer than any Chinese holiday run; a guard against an all-rest override list


@functools.lru_cache(maxsize=4096)
def _listed_workday(day: dt.date) -> bool:
    """chinese-calendar's answer (a scheduler asks about the same few weeks every tick)."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        # chinese-calendar ships one year ahead at most; until the package is renewed,
        # weekends are the only rest days (add the year's holidays under holidays.extra_*).
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning(
                "chinese-calendar has no holiday data for %s: using weekends only "
                "(upgrade chinese-calendar or list the days under holidays: in config.yaml)",
                day.year,
            )
        return day.weekday() < 5


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
