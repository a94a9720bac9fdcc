"""Find and resolve the date and time a Chinese message states (明天, 下周三, 12月3日上午9点, 25号) against `now`.

A rule layer handles the forms members write every day, quickly and with future-leaning
resolution (a past month-day means next year, a past "25号" next month, a bare "周三" the
next Wednesday, today included); jionlp's time NER is the fallback for the rest (下个月3号,
两天后, 元旦), loaded lazily and with its import banner swallowed so CLI output stays clean.
A stated date that does not exist (2月30日, 13月1日, 11月31日, 25点) raises `DateError`
with a Chinese message naming it; nothing is ever shifted to a neighbouring day.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["DateError", "When", "find_when"]


class DateError(ValueError):
    """A date or time the user stated that does not exist; str() is one Chinese line for the user.

    `start`/`end` locate the offending expression in the searched text (set by `find_when`), so
    a caller can still cut it out of a reason or title.
    """

    start: int = -1
    end: int = -1


@dataclass(frozen=True)
class When:
    """One date/time expression found in a text: what it means and where it stands."""

    date: dt.date | None
    time: dt.time | None
    start: int
    end: int
    text: str
    dated: bool = True  # False for a time alone ("下午3点"), whose date is today's by default


_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
# Arabic or Chinese digits, never the two run together: 李四12月10日 is 12月10日 after a name ending in 四.
_NUM = r"(?:[0-9]{1,2}|[零〇一二两三四五六七八九十]{1,3})"
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_WEEKDAYS.update({str(i): i - 1 for i in range(1, 8)})
_REL_DAYS = {
    "今天": 0,
    "今日": 0,
    "今儿": 0,
    "明天": 1,
    "明日": 1,
    "明儿": 1,
    "明个": 1,
    "明儿个": 1,
    "今个": 0,
    "后天": 2,
    "后儿": 2,
    "后个": 2,
    "后儿个": 2,
    "大后天": 3,
    "昨天": -1,
    "昨儿": -1,
    "前天": -2,
}
# 明早/明晚/今晚 are one word for a day plus a part of the day, which jionlp rejects.
_DAY_PARTS = {"明早": (1, "早上"), "明晚": (1, "晚上"), "今早": (0, "早上"), "今晚": (0, "晚上")}
# "12.18" is a date only when no unit follows (2.5公里, 3.5万元 are quantities).
_NOT_A_UNIT = (
    r"(?![\d.]|\s*(?:[公千厘毫]?米|公里|里|万|亿|元|块|斤|吨|亩|%|％|倍|个|人|户|次|年|岁|度|小时|分钟|平方))"
)

_DATE_RE = (
    r"(?P<ymd>(?P<y>\d{4})\s*[年/.-]\s*(?P<ym>\d{1,2})\s*[月/.-]\s*(?P<yd>\d{1,2})\s*[日号]?)"
    rf"|(?P<md>(?P<m>{_NUM})\s*月\s*(?P<d>{_NUM})\s*[日号]?)"
    r"|(?P<slash>(?<![\d/])(?P<sm>\d{1,2})/(?P<sd>\d{1,2})(?![\d/]))"
    rf"|(?P<dot>(?<![\d.])(?P<pm>1[0-2]|0?[1-9])\.(?P<pd>3[01]|[12]\d|0?[1-9])\s*[日号]?{_NOT_A_UNIT})"
    rf"|(?P<mdom>(?P<mp>本月|这个月|这月|下个?月|上个?月)\s*(?P<md2>{_NUM})\s*[日号])"
    rf"|(?P<dom>(?<![0-9零〇一二两三四五六七八九十月第])(?P<dd>{_NUM})\s*[日号](?!会议室|[楼馆厅室院线路门栋房]))"
    r"|(?P<week>(?P<wp>(?<!一)下下个?|下个?|本|这个?|上个?)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7]))"
    r"|(?P<wkend>(?P<ep>下下个?|下个?|本|这个?)?周末)"
    r"|(?P<rel>大后天|后天|后儿个|后儿|(?<![前以之然最往今落背])后个(?![别人月体性子儿])|明天|明日|明儿个|明儿|明个|今天|今日|今儿|今个|昨天|昨儿|前天)"
    r"|(?P<dpart>明早|明晚|今早|今晚)"
    r"|(?P<mend>(?:本月|这个月|本|这)?月底(?:前)?)"
    r"|(?P<qend>(?:本季度|这个季度|本季)?(?:季度末|季度底|季末)(?:前)?)"
    r"|(?P<yend>(?:今年)?年底(?:前)?)"
)
# "12月16日（周三）下午两点半": the weekday people write between a date and its time says nothing new.
_WEEKDAY_NOTE_RE = r"(?:\s*[（(]?\s*(?:周|星期|礼拜)[一二三四五六日天1-7]\s*[)）]?)?"
_PART_RE = r"(?P<part>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里|晚)"
_CLOCK_RE = (
    r"(?P<hm>(?P<hh>\d{1,2})[:：](?P<mm>\d{2}))"
    rf"|(?P<clock>(?P<h>{_NUM})\s*[点时](?:\s*(?P<half>半)|\s*(?P<q>一刻|三刻)|\s*(?P<min>{_NUM})\s*分?)?)"
)
# One expression: an optional date, part of the day and clock time, in that order (finditer skips
# the empty and part-only matches).
_WHEN_RE = re.compile(
    rf"(?:(?:{_DATE_RE}){_WEEKDAY_NOTE_RE})?(?:\s*的?\s*{_PART_RE})?(?:\s*(?:{_CLOCK_RE}))?"
)
_DATE_GROUPS = (
    "ymd",
    "md",
    "slash",
    "dot",
    "mdom",
    "dom",
    "week",
    "wkend",
    "rel",
    "dpart",
    "mend",
    "qend",
    "yend",
)
# Characters that suggest a time expression the rules above did not catch: only then is jionlp asked.
_HINT_RE = re.compile(r"[月周天日号节旦夕年]|后|初|中旬|下旬")


def cn_int(text: str) -> int | None:
    """A small numeral (0-99) in Arabic or Chinese digits: 25, 二十五, 十二, 两, 三十一; None if not one.

    The one numeral reader of the parser, dates and periods (dates and quarters need no more; cn2an
    was weighed and costs 0.7 s of import for this).
    """
    if text.isdigit():
        return int(text)
    if not text or any(c not in _CN_DIGITS and c != "十" for c in text):
        return None
    if "十" not in text:
        return int("".join(str(_CN_DIGITS[c]) for c in text)) if len(text) <= 2 else None
    tens, _, units = text.partition("十")
    if len(tens) > 1 or len(units) > 1 or "十" in units:
        return None
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)


def _num(text: str) -> int:
    n = cn_int(text)
    return -1 if n is None else n  # an unreadable numeral is an impossible date, refused as such


def _make_date(year: int, month: int, day: int, label: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise DateError(f"没有{label}这一天") from None


def _check_month_day(month: int, day: int, label: str) -> None:
    # 2月29日 is fine as words; whether the resolved year has it is checked in _make_date.
    if not 1 <= month <= 12 or not 1 <= day <= 31 or day > calendar.monthrange(2024, month)[1]:
        raise DateError(f"没有{label}这一天")


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + n
    return index // 12, index % 12 + 1


def _full_date(g: dict[str, str], today: dt.date) -> dt.date:
    year, month, day = int(g["y"]), int(g["ym"]), int(g["yd"])
    return _make_date(year, month, day, f"{year}年{month}月{day}日")


def _month_day(g: dict[str, str], today: dt.date) -> dt.date:
    if g["md"]:
        month, day = _num(g["m"]), _num(g["d"])
    elif g["slash"]:
        month, day = int(g["sm"]), int(g["sd"])
    else:
        month, day = int(g["pm"]), int(g["pd"])
    label = f"{month}月{day}日"
    _check_month_day(month, day, label)
    # Future-leaning: a month-day already past this year is next year's (12-28: 1月5日 -> next year).
    year = today.year if (month, day) >= (today.month, today.day) else today.year + 1
    return _make_date(year, month, day, f"{year}年{label}")


def _day_of_month(g: dict[str, str], today: dt.date) -> dt.date:
    day = _num(g["dd"])
    year, month = today.year, today.month
    if not 1 <= day <= 31:
        raise DateError(f"没有{g['dd']}号这一天")
    if day < today.day:  # already past: the coming month's
        year, month = _add_months(year, month, 1)
    return _make_date(year, month, day, f"{month}月{day}日")


def _month_named_day(g: dict[str, str], today: dt.date) -> dt.date:
    """本月22日 / 下个月5号: the month is said, so the day is taken as it stands."""
    day = _num(g["md2"])
    shift = 1 if g["mp"].startswith("下") else -1 if g["mp"].startswith("上") else 0
    year, month = _add_months(today.year, today.month, shift)
    if not 1 <= day <= 31:
        raise DateError(f"没有{month}月{g['md2']}日这一天")
    return _make_date(year, month, day, f"{month}月{day}日")


def _weekday(g: dict[str, str], today: dt.date) -> dt.date:
    prefix = (g["wp"] if g["week"] else g["ep"]) or ""
    weekday = _WEEKDAYS[g["wd"]] if g["week"] else 5
    monday = today - dt.timedelta(days=today.weekday())
    weeks = {"下下": 2, "下": 1, "上": -1}.get(prefix[:2] if prefix.startswith("下下") else prefix[:1])
    if weeks is not None:
        return monday + dt.timedelta(days=7 * weeks + weekday)
    if prefix:  # 本周三 / 这周三: this week's, as said, even if it has passed
        return monday + dt.timedelta(days=weekday)
    return today + dt.timedelta(days=(weekday - today.weekday()) % 7)  # the next one, today counts


def _period_end(g: dict[str, str], today: dt.date) -> dt.date:
    if g["mend"]:
        return dt.date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
    if g["qend"]:
        last_month = (today.month - 1) // 3 * 3 + 3
        return dt.date(today.year, last_month, calendar.monthrange(today.year, last_month)[1])
    return dt.date(today.year, 12, 31)  # yend


_RESOLVERS = {
    "ymd": _full_date,
    "md": _month_day,
    "slash": _month_day,
    "dot": _month_day,
    "mdom": _month_named_day,
    "dom": _day_of_month,
    "week": _weekday,
    "wkend": _weekday,
    "rel": lambda g, today: today + dt.timedelta(days=_REL_DAYS[g["rel"]]),
    "dpart": lambda g, today: today + dt.timedelta(days=_DAY_PARTS[g["dpart"]][0]),
    "mend": _period_end,
    "qend": _period_end,
    "yend": _period_end,
}


def _resolve_date(m: re.Match[str], today: dt.date) -> dt.date:
    g = m.groupdict()
    form = next(k for k in _DATE_GROUPS if g[k])
    return _RESOLVERS[form](g, today)


def _resolve_time(m: re.Match[str]) -> dt.time | None:
    g = m.groupdict()
    part = g["part"] or (_DAY_PARTS[g["dpart"]][1] if g.get("dpart") else None)
    if g["hm"]:
        hour, minute = int(g["hh"]), int(g["mm"])
    elif g["clock"]:
        hour = _num(g["h"])
        minute = 30 if g["half"] else 15 if g["q"] == "一刻" else 45 if g["q"] else 0
        if g["min"]:
            minute = _num(g["min"])
    else:
        return None  # a date, or a part of the day without a clock time (明早): no time
    afternoon = part in ("下午", "傍晚", "晚上", "夜里", "晚") and hour < 12
    # 中午1点 is 13:00; nobody meets at 3 a.m., so a bare "3点" in an office chat is 15:00.
    if afternoon or (part == "中午" and hour < 3) or (part is None and 1 <= hour <= 6):
        hour += 12
    if hour == 24 and minute == 0:
        hour = 0
    if not 0 <= hour <= 23 or not 0 <= minute <= 59:
        raise DateError(f"没有{m.group(0).strip()}这个时间")
    return dt.time(hour, minute)


_jionlp: Any = None


def _jio() -> Any:
    """jionlp, imported on first use: it prints a banner to stdout on import, which we swallow."""
    global _jionlp
    if _jionlp is None:
        with contextlib.redirect_stdout(io.StringIO()):
            import jionlp

        _jionlp = jionlp
    return _jionlp


def _jionlp_when(text: str, now: dt.datetime) -> When | None:
    """The first time point jionlp's NER finds, leaned to the future when no year was written."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            found = _jio().ner.extract_time(text, time_base=now.replace(tzinfo=None), with_parsing=True)
    except Exception:  # jionlp raises on odd input; a missed date is better than a failed message
        return None
    for item in found:
        if item.get("type") != "time_point":
            continue
        try:
            start_s, end_s = item["detail"]["time"][:2]
            start = dt.datetime.fromisoformat(start_s)
            end = dt.datetime.fromisoformat(end_s)
        except (KeyError, TypeError, ValueError):
            continue
        date = start.date()
        if date < now.date() and not re.search(r"\d{4}|年|昨|前|上", item["text"]):
            with contextlib.suppress(ValueError):  # e.g. 元旦 resolved in the current year
                date = date.replace(year=date.year + 1)
        # A whole-day span (00:00-23:59) or a multi-day one carries no clock time.
        has_time = (end - start) < dt.timedelta(hours=2) and start.time() != dt.time(0)
        t0, t1 = item["offset"]
        return When(date, start.time().replace(second=0) if has_time else None, t0, t1, item["text"])
    return None


def find_when(text: str, now: dt.datetime, *, fallback: bool = True) -> When | None:
    """The first date/time expression in `text`, resolved against `now` (timezone-aware, local).

    Returns None when the text states no date or time. A time without a date ("下午3点")
    means today. Raises DateError for a stated date or time that does not exist.
    """
    today = now.date()
    for m in _WHEN_RE.finditer(text):
        g = m.groupdict()
        has_date = any(g[k] for k in _DATE_GROUPS)
        has_clock = bool(g["hm"] or g["clock"])
        if not has_date and not has_clock:
            continue
        if not has_date and not g["part"] and g["h"] == "一" and not (g["half"] or g["min"] or g["q"]):
            continue  # "快一点" / "早一点到" is not 13:00
        start = m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
        try:
            date = _resolve_date(m, today) if has_date else today
            return When(date, _resolve_time(m), start, m.end(), m.group(0).strip(), has_date)
        except DateError as err:
            err.start, err.end = start, m.end()
            raise
    # jionlp's NER costs ~0.5 ms per short message; a long note is not worth scanning for a date.
    if fallback and len(text) <= 300 and _HINT_RE.search(text):
        return _jionlp_when(text, now)
    return None
