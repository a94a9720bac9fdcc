"""Calendar periods of the quota rules (month, quarter, half-year, year) with their Chinese names.

Pure date arithmetic, no database and no clock: callers pass the day. Reminders, quota
standings and leaders' queries ("上季度", "2026年第三季度") all read periods from here.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.config import PERIOD_MONTHS, PeriodKind
from bot.dates import cn_int
from bot.vocabulary import alternation

if TYPE_CHECKING:
    from bot.config import QuotaRule

__all__ = [
    "PERIOD_WORDS",
    "WEEK_WORDS",
    "Period",
    "deadline",
    "next",
    "parse_period_word",
    "period_of",
    "previous",
    "spoken",
]

_QUARTER_NAMES = "一二三四"


@dataclass(frozen=True)
class Period:
    """One calendar period: `start` and `end` are both inclusive local dates."""

    kind: PeriodKind
    start: dt.date
    end: dt.date
    label: str  # 2026年11月, 2026年第四季度, 2026年下半年, 2026年

    def __contains__(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _label(kind: str, year: int, first_month: int) -> str:
    if kind == "month":
        return f"{year}年{first_month}月"
    if kind == "quarter":
        return f"{year}年第{_QUARTER_NAMES[(first_month - 1) // 3]}季度"
    if kind == "half":
        return f"{year}年{'上' if first_month == 1 else '下'}半年"
    return f"{year}年"


def period_of(kind: PeriodKind, day: dt.date) -> Period:
    """The period of `kind` that contains `day`."""
    months = PERIOD_MONTHS[kind]  # KeyError for an unknown kind: a bug, not user input
    first = (day.month - 1) // months * months + 1
    return Period(
        kind,
        dt.date(day.year, first, 1),
        _month_end(day.year, first + months - 1),
        _label(kind, day.year, first),
    )


def previous(period: Period) -> Period:
    return period_of(period.kind, period.start - dt.timedelta(days=1))


def next(period: Period) -> Period:  # noqa: A001 - the name the callers asked for
    return period_of(period.kind, period.end + dt.timedelta(days=1))


def deadline(rule: QuotaRule, period: Period) -> dt.date:
    """The rule's deadline in `period`: day `deadline.day` (clipped to the month) of its `deadline.month`-th month."""
    months = PERIOD_MONTHS[period.kind]
    nth = min(rule.deadline.month or months, months)
    month = period.start.month + nth - 1
    last = calendar.monthrange(period.start.year, month)[1]
    return dt.date(period.start.year, month, min(rule.deadline.day, last))


def spoken(period: Period, today: dt.date) -> str:
    """How people say `period` on `today`: 本月, 上季度, 下半年, 今年…; otherwise its label."""
    current = period_of(period.kind, today)
    if period == current:
        return {"month": "本月", "quarter": "本季度", "year": "今年"}.get(period.kind) or period.label[5:]
    if period == previous(current):
        if period.kind == "half":
            return "上半年" if period.start.year == today.year else "去年下半年"
        return {"month": "上月", "quarter": "上季度", "year": "去年"}[period.kind]
    return period.label


_RELATIVE: dict[str, tuple[PeriodKind, int]] = {
    # word -> (kind, how many periods back from the current one)
    "本月": ("month", 0),
    "这个月": ("month", 0),
    "这月": ("month", 0),
    "当月": ("month", 0),
    "本月份": ("month", 0),
    "上月": ("month", 1),
    "上个月": ("month", 1),
    "本季度": ("quarter", 0),
    "本季": ("quarter", 0),
    "这个季度": ("quarter", 0),
    "这季度": ("quarter", 0),
    "本季度内": ("quarter", 0),
    "上季度": ("quarter", 1),
    "上个季度": ("quarter", 1),
    "上一季度": ("quarter", 1),
    "这半年": ("half", 0),
    "本半年": ("half", 0),
    "今年": ("year", 0),
    "本年": ("year", 0),
    "本年度": ("year", 0),
    "今年以来": ("year", 0),
    "全年": ("year", 0),
    "去年": ("year", 1),
    "上年": ("year", 1),
    "上年度": ("year", 1),
    "上一年": ("year", 1),
}
# Words for a week: people ask about them, but no quota counts by the week.
WEEK_WORDS = ("本周", "这周", "这个星期", "本星期", "上周", "上个星期")

_NUM = r"(\d{1,2}|十[一二]?|[一二两三四五六七八九])"
_YEAR = r"(?:(\d{4})年|(今年|去年))?"
_QUARTER_RE = re.compile(rf"^{_YEAR}第?{_NUM}季度?$")
_MONTH_RE = re.compile(rf"^{_YEAR}{_NUM}月份?$")
_HALF_RE = re.compile(rf"^{_YEAR}([上下])半年度?$")
_YEAR_RE = re.compile(r"^(\d{4})年度?$")

# Every period word `parse_period_word` reads, as one regex for the parser to find it in a sentence.
PERIOD_WORDS = (
    r"(?:(?:\d{4}年|今年|去年)?第?[一二三四1-4]季度)"
    r"|(?:(?:\d{4}年|今年|去年)?[上下]半年度?)"
    r"|(?:\d{4}年(?:度|(?:\d{1,2}|十[一二]?|[一二三四五六七八九])月份?)?)"
    r"|(?:(?<![\d一二三四五六七八九十])(?:1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])月份?(?![\d一二三四五六七八九十日号]))"
    rf"|{alternation([*_RELATIVE, *WEEK_WORDS])}"
)


def _year(m: re.Match[str], today: dt.date) -> int:
    if m.group(1):
        return int(m.group(1))
    return today.year - 1 if m.group(2) == "去年" else today.year


def parse_period_word(word: str, today: dt.date) -> Period | None:
    """The period a word names, read on `today`; None if it names none.

    本月 上月 本季度 上季度 上半年 下半年 今年 去年, 2026年第三季度 / 2026年3季度, 2026年10月,
    第三季度 (this year), 10月 (this year), 2026年上半年, 2026年. 上半年/下半年 mean this year's.
    """
    w = re.sub(r"\s+", "", word or "")
    if w in _RELATIVE:
        kind, back = _RELATIVE[w]
        period = period_of(kind, today)
        for _ in range(back):
            period = previous(period)
        return period
    if m := _HALF_RE.match(w):
        return period_of("half", dt.date(_year(m, today), 1 if m.group(3) == "上" else 7, 1))
    if m := _YEAR_RE.match(w):
        return period_of("year", dt.date(int(m.group(1)), 1, 1))
    for pattern, kind, top in ((_QUARTER_RE, "quarter", 4), (_MONTH_RE, "month", 12)):
        m = pattern.match(w)
        if not m:
            continue
        n = cn_int(m.group(3))
        if n is None or not 1 <= n <= top:
            return None
        return period_of(kind, dt.date(_year(m, today), n if kind == "month" else 3 * n - 2, 1))
    return None
