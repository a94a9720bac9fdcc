"""How answers say what several handlers say: a day, an activity, a kind, a list of names with its cap,
and a numbered question when a message could mean more than one thing.

One wording for each, so a member reads the same "12月3日（周四）09:00 视察 …" in a check-in, a
leave answer and the leader's status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.config import QuotaRule
from bot.conversation import Option, Question
from bot.messages import ACTIVITY_KINDS, SUBMISSION_KINDS, Command, Reply
from models import Activity

MAX_NAMES = 8  # names shown in one list; the rest become "…另有N人" (a phone screen shows about this many)
MAX_ROWS = 6  # activities or requests listed in one answer

_WEEKDAYS = "一二三四五六日"


def quota_unit(rule: QuotaRule) -> str:
    """How a rule's count is said: 次 of activities, 件 of 为民办实事, 篇 of the other submissions."""
    if rule.source == "activity":
        return "次"
    return "件" if set(rule.kinds) <= {"project"} else "篇"


def month_day(day: dt.date) -> str:
    """11月24日."""
    return f"{day.month}月{day.day}日"


def describe_day(day: dt.date) -> str:
    """11月24日（周二）: how every reply states the date of something to attend."""
    return f"{month_day(day)}（周{_WEEKDAYS[day.weekday()]}）"


def kind_word(kind: str) -> str:
    """社情民意 for "opinion", 视察 for "inspection": what members call a submission or activity kind."""
    return SUBMISSION_KINDS.get(kind) or ACTIVITY_KINDS.get(kind, kind)


def describe_activity(activity: Activity) -> str:
    """12月3日（周四）09:00 视察 城区污水处理厂 (the title is left out when it only repeats the kind)."""
    kind = kind_word(activity.kind)
    parts = [describe_day(activity.date)]
    if activity.time is not None:
        parts.append(activity.time.strftime("%H:%M"))
    parts.append(kind)
    if activity.title and activity.title != kind:
        parts.append(activity.title)
    return " ".join(parts)


def names(items: Sequence[str], limit: int = MAX_NAMES, *, unit: str = "人", total: bool = False) -> str:
    """张三、李四…另有3人: the first `limit` of a list, the rest counted; with `total`, （共11人） after."""
    shown = "、".join(items[:limit])
    more = f"…另有{len(items) - limit}{unit}" if len(items) > limit else ""
    return shown + more + (f"（共{len(items)}{unit}）" if total else "")


def how_to_decide(number: int, approve: str = "同意", reject: str = "驳回") -> str:
    """回复「同意 #3」或「驳回 #3 理由」: how a leader answers request #3 (补报: 确认补报 / 驳回补报)."""
    return f"回复「{approve} #{number}」或「{reject} #{number} 理由」"


def due_note(due: dt.date, today: dt.date) -> str:
    """（截止12月31日） while the deadline is ahead, （已过截止日12月31日） once it has passed."""
    return f"（截止{month_day(due)}）" if due >= today else f"（已过截止日{month_day(due)}）"


def numbered_choice(head: str, options: Sequence[tuple[str, str]], resume: Command, field: str) -> Reply:
    """Ask which one, by number ("请问是哪一次（回复数字）：1. … 2. …"); the answer resumes `resume`
    with the chosen value in `field` ("target", or a key of the handler's ctx.answer)."""
    shown = list(options)[:MAX_ROWS]
    lines = [f"{head}（回复数字）："] + [f"{i}. {label}" for i, (label, _value) in enumerate(shown, 1)]
    if len(options) > len(shown):
        lines.append(f"…另有{len(options) - len(shown)}个，可写明日期或编号")
    question = Question("choice", resume, tuple(Option(label, value) for label, value in shown), field)
    return Reply("\n".join(lines), question=question)
