"""发布活动: a leader announces an activity (date, time, kind, title, place) for their group, and may
take it back (取消活动 #2) or move it (#2 改到12月18日下午3点)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, select, true
from sqlalchemy.orm import Session

from bot.messages import Command, Notice, Reply
from bot.periods import next as next_period
from bot.periods import parse_period_word, period_of
from bot.router import Ask, Context, Router, UserError
from handlers.phrasing import describe_activity, describe_day, kind_word, month_day, numbered_choice
from models import Activity, LeaveRequest, Member, RecordChange
from models.records import ChangedBy, audit

router = Router()

_DEFAULT_KIND = "collective"


def _group_for(session: Session, member: Member, ctx: Context) -> int:
    """The leader's own group; an admin (no group) may announce inside a group's bound chat."""
    if member.group_id is not None:
        return member.group_id
    if ctx.chat_group_id is not None:
        return ctx.chat_group_id
    raise UserError("您不属于任何联络组，请在要发布活动的联络组群里发送，或请该组组长发布。")


@router.route("announce", roles=("leader", "admin"))
def announce(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    if command.items:
        return _announce_several(session, member, command.items, ctx)
    return Reply(_announce_one(session, member, command, ctx))


def _announce_several(session: Session, member: Member, items: tuple[Command, ...], ctx: Context) -> Reply:
    """本周活动安排：…，…: each activity of the notice on its own line, recorded or why not."""
    _group_for(session, member, ctx)  # a sender with no group is refused once, not once per activity
    lines = []
    for item in items:
        try:
            lines.append(_announce_one(session, member, item, ctx))
        except UserError as err:
            lines.append(f"未发布：{err}")
    recorded = sum(line.startswith("已发布活动#") for line in lines)
    if recorded:
        head = f"这条通知有{len(items)}项活动，已发布{recorded}项："
    elif all(line.startswith("活动#") for line in lines):
        head = f"这条通知的{len(items)}项活动都已发布过："
    else:
        head = f"这条通知有{len(items)}项活动，都没有发布："
    return Reply("\n".join([head, *lines]))


def _announce_one(session: Session, member: Member, command: Command, ctx: Context) -> str:
    if command.date is None:
        raise UserError("请说明活动日期，例如：发布活动 12月3日上午9点 视察 城区污水处理厂 地点：…")
    today = ctx.now.date()
    if command.date < today:
        raise UserError(f"{describe_day(command.date)}已经过去，不能发布这一天的活动，请核对日期。")
    group_id = _group_for(session, member, ctx)
    kind = command.kind or _DEFAULT_KIND
    label = kind_word(kind)
    title = (command.title or "").strip()
    rest = title[len(label) :].strip() if title.startswith(label) else ""
    if rest and rest not in ("会", "会议", "活动"):  # "视察 城区污水处理厂": the kind is already recorded
        title = rest  # (学习会 stays 学习会)
    title = title[:200] or label
    place = (command.content or "").strip()[:200] or None

    # A leader who re-sends the same announcement (or a platform retry with a new id) must not create a
    # second activity that members would then be counted absent from. The pipeline holds the sender's
    # row for the message, so sixteen copies sent at once are read one after the other.
    # "提醒：明天上午9点视察，请准时参加" names no more than the kind: the group's activity of that kind
    # at that hour is the one reminded of, whatever its title.
    generic = title == label and command.time is not None
    same = session.scalars(
        select(Activity)
        .where(
            Activity.group_id == group_id,
            Activity.date == command.date,
            Activity.kind == kind,
            Activity.time.is_(None) if command.time is None else Activity.time == command.time,
            true() if generic else Activity.title == title,
            Activity.cancelled.is_(False),
        )
        .order_by(Activity.id)
        .limit(1)
    ).first()
    if same is not None:
        return f"活动#{same.id}已发布过：{describe_activity(same)}{_place(same)}。"

    activity = Activity(
        group_id=group_id,
        kind=kind,
        title=title,
        date=command.date,
        time=command.time,
        place=place,
        announced_by_id=member.id,
        created_at=ctx.now,
        source_message_id=ctx.inbound_id,
    )
    session.add(activity)
    session.flush()
    note = "" if command.kind else "（未注明类型，按集体活动记录）"
    if (activity.date - ctx.now.date()).days > 180:  # 11月22日 said on 11月23日: next year's, said so
        note += f"。注意是{activity.date.year}年的{month_day(activity.date)}，如是今年的请写明年份"
    return f"已发布活动#{activity.id}：{describe_activity(activity)}{_place(activity)}{note}。"


def _place(activity: Activity) -> str:
    return f"，地点：{activity.place}" if activity.place else ""


def _place_untitled(activity: Activity) -> str:
    """The place, unless the title says it already (视察 城区水厂, 地点：城区水厂)."""
    return _place(activity) if activity.place and activity.place not in (activity.title or "") else ""


# -- a leader's undo: 取消活动 / 改期 ----------------------------------------------------------------


def _activity_meant(
    session: Session, member: Member, command: Command, ctx: Context, day: dt.date | None
) -> Activity:
    """The activity a leader's undo is about: the one chosen, #N, or the group's one on `day` (of the
    kind named); with no day, the coming ones. Several: asked which (ctx.answer["activity_id"])."""
    chosen = ctx.answer.get("activity_id") or (str(command.number) if command.number else None)
    if chosen:
        activity = session.get(Activity, int(chosen))
        if activity is None:
            raise UserError(f"没有找到活动#{chosen}，请核对编号（见发布活动时的回复）。")
        if member.role != "admin" and activity.group_id != member.group_id:
            raise UserError(f"活动#{activity.id}不是本组的活动，只能更改本组的活动。")
        return activity
    group_id = _group_for(session, member, ctx)
    stmt = select(Activity).where(Activity.group_id == group_id, Activity.cancelled.is_(False))
    if day is not None:
        stmt = stmt.where(Activity.date == day)
    else:
        stmt = stmt.where(Activity.date >= ctx.now.date())
    if command.kind:
        stmt = stmt.where(Activity.kind == command.kind)
    found = sorted(session.scalars(stmt), key=lambda a: (a.date, a.time or dt.time.min, a.id))
    if not found:
        when = describe_day(day) if day else "近期"
        raise UserError(
            f"{when}本组没有{kind_word(command.kind) if command.kind else ''}活动，请核对，或写明活动编号，例如：取消活动 #12"
        )
    if len(found) > 1:
        options = [(f"#{a.id} {describe_activity(a)}", str(a.id)) for a in found]
        raise Ask(numbered_choice("请问是哪一个活动", options, command, "activity_id"))
    return found[0]


def _tell_group(activity: Activity, key: str, text: str) -> Notice:
    return Notice(key=f"activity:{activity.id}:{key}", to_group_id=activity.group_id, text=text)


@router.route("cancel_activity", roles=("leader", "admin"))
def cancel_activity(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """取消活动 #2: the activity leaves the quotas, attendance, absences, reminders and the export; the
    group is told; the audit trail keeps it. A past activity may be cancelled too (one announced by
    mistake must not count anyone absent)."""
    activity = _activity_meant(session, member, command, ctx, command.date)
    what = f"活动#{activity.id}（{describe_activity(activity)}）"
    if activity.cancelled:
        return Reply(f"{what}已经取消过了。")
    audit(session, activity, "cancelled", False, True, ChangedBy(member.id, ctx.now, ctx.inbound_id))
    activity.cancelled = True
    notice = _tell_group(
        activity, "cancelled", f"【活动取消】{describe_activity(activity)}{_place(activity)}已取消。"
    )
    return Reply(f"已取消{what}，已通知本组委员。", notices=(notice,))


@router.route("change_activity", roles=("leader", "admin"))
def change_activity(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """#2 改到12月18日下午3点 / 改地点: the activity moves, its leave follows it (same activity), its
    reminders go out again for the new schedule (a new revision), the group is told, the trail kept."""
    activity = _activity_meant(session, member, command, ctx, command.ref_date)
    if activity.cancelled:
        raise UserError(f"活动#{activity.id}已经取消，不能改期；请重新发布活动。")
    new_date = command.date or activity.date
    new_time = command.time if command.time is not None else activity.time  # a new day keeps its hour
    new_place = (command.content or "").strip()[:200] or activity.place
    if command.date is None and command.time is None and not command.content:
        raise UserError(
            f"请说明活动#{activity.id}改到哪天、几点或什么地点，例如：#{activity.id} 改到12月18日下午3点"
        )
    if new_date < ctx.now.date():
        raise UserError(f"{describe_day(new_date)}已经过去，不能改到这一天，请核对日期。")
    changes = [
        (field, old, new)
        for field, old, new in (
            ("date", activity.date, new_date),
            ("time", activity.time, new_time),
            ("place", activity.place, new_place),
        )
        if old != new
    ]
    if not changes:
        return Reply(f"活动#{activity.id}没有变化：{describe_activity(activity)}{_place(activity)}。")
    before = f"{describe_activity(activity)}{_place(activity)}"
    by = ChangedBy(member.id, ctx.now, ctx.inbound_id)
    for field, old, new in changes:
        audit(session, activity, field, old, new, by)
        setattr(activity, field, new)
    audit(session, activity, "revision", activity.revision, activity.revision + 1, by)
    activity.revision += 1
    after = f"{describe_activity(activity)}{_place(activity)}"
    notice = _tell_group(
        activity, f"changed:r{activity.revision}", f"【活动变更】原定{before}，改为{after}。"
    )
    return Reply(f"已将活动#{activity.id}改为：{after}（原定{before}），已通知本组委员。", notices=(notice,))


_WEEK_OFFSET = {"这周": 0, "本周": 0, "这个星期": 0, "这礼拜": 0, "下周": 1, "下个星期": 1, "下礼拜": 1}
_COMING_DAYS = 14
_AFTER_DAYS = 30  # 元旦以后: a month from the day
_AHEAD_DAYS = 92  # 后面还有什么安排: the next three months
_SHOWN = 5


def in_span(group_id: int, kind: str | None, first: dt.date, last: dt.date) -> Select[tuple[Activity]]:
    """The group's activities (of `kind`) not cancelled, dated `first`..`last`, in time order: what
    活动安排 questions and 会参加 (handlers/checkin.py) look up."""
    stmt = (
        select(Activity)
        .where(
            Activity.group_id == group_id,
            Activity.cancelled.is_(False),
            Activity.date >= first,
            Activity.date <= last,
        )
        .order_by(Activity.date, Activity.time, Activity.id)
    )
    return stmt.where(Activity.kind == kind) if kind else stmt


def asked_span(command: Command, today: dt.date) -> tuple[dt.date, dt.date, str]:
    """The days a question about activities names (a day, this or next week, a period; else the
    next two weeks), and how to say them."""
    if command.title == "以后":  # 元旦以后 / 后面还有什么安排: from the day on, or all that is coming
        if command.date is None:
            return today, today + dt.timedelta(days=_AHEAD_DAYS), "接下来"
        first = max(command.date, today)
        return first, command.date + dt.timedelta(days=_AFTER_DAYS), f"{month_day(command.date)}以后"
    if command.date is not None:
        return command.date, command.date, describe_day(command.date)
    return coming_span(command.title or "", today) or (today, today + dt.timedelta(days=_COMING_DAYS), "近两周")


def coming_span(word: str, today: dt.date) -> tuple[dt.date, dt.date, str] | None:
    """The days still to come that a week or period word names (这周, 下周, 本月, 下个月, 本季度), and
    how to say them; None for any other word."""
    if word in _WEEK_OFFSET:
        monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=_WEEK_OFFSET[word])
        return max(monday, today), monday + dt.timedelta(days=6), word
    if word in ("下个月", "下月"):
        ahead = next_period(period_of("month", today))
        return ahead.start, ahead.end, "下个月"
    period = parse_period_word(word, today) if word else None
    if period is not None and period.end >= today:
        return max(period.start, today), period.end, word
    return None


@router.route("schedule")
def schedule(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """下次活动是什么时候 / 这周有什么活动 / 明天有视察吗: the group's coming activities (not
    cancelled), each with the asker's own leave if any, and how to take part (签到 on the day)."""
    if member.group_id is None and ctx.chat_group_id is None:
        raise UserError("您不在任何联络组；活动安排请问所在联络组的组长。")
    group_id = ctx.chat_group_id or member.group_id
    today = ctx.now.date()
    first, last, named = asked_span(command, today)
    stmt = (
        in_span(group_id, command.kind, first, last)
        .add_columns(LeaveRequest.status)
        .outerjoin(
            LeaveRequest,
            (LeaveRequest.activity_id == Activity.id)
            & (LeaveRequest.member_id == member.id)
            & LeaveRequest.status.in_(("pending", "approved")),
        )
    )
    started = ctx.now.time()
    rows = [(a, leave) for a, leave in session.execute(stmt) if a.date > today or a.time is None or a.time >= started]
    what = kind_word(command.kind) if command.kind else "活动"
    if not rows and command.date is not None and (gone := _called_off(session, group_id, command.date, command.kind)):
        return Reply(gone)
    if not rows:
        return Reply(f"{named}本组没有{what}安排。" + _next_after(session, group_id, command, last))
    lines = [f"{named}本组的{what}："]
    for a, leave in rows[:_SHOWN]:
        mine = {"pending": "（您已请假，待审批）", "approved": "（您已请假）"}.get(leave or "", "")
        lines.append(f"#{a.id} {describe_activity(a)}{_place_untitled(a)}{mine}")
    if len(rows) > _SHOWN:
        lines.append(f"…另有{len(rows) - _SHOWN}项")
    lines.append("当天到场后@我「签到」；去不了请发「请假 日期 事由」。")
    return Reply("\n".join(lines))


def _next_after(session: Session, group_id: int, command: Command, last: dt.date) -> str:
    """下次活动是什么时候, with nothing in the next two weeks: the first one after them, if any."""
    if command.date is not None or command.title:
        return ""
    stmt = in_span(group_id, command.kind, last + dt.timedelta(days=1), last + dt.timedelta(days=366))
    if (a := session.scalars(stmt.limit(1)).first()) is None:
        return ""
    return f"下一次是：#{a.id} {describe_activity(a)}{_place_untitled(a)}"


def _called_off(session: Session, group_id: int, day: dt.date, kind: str | None) -> str | None:
    """周五的视察取消了吗: the day's activity that was cancelled, or moved to another day, said so."""
    stmt = select(Activity).where(Activity.group_id == group_id, Activity.date == day, Activity.cancelled.is_(True))
    if kind:
        stmt = stmt.where(Activity.kind == kind)
    if cancelled := session.scalars(stmt.order_by(Activity.id.desc()).limit(1)).first():
        return f"{describe_activity(cancelled)}已取消。"
    if moved := moved_from(session, group_id, day, kind):
        return f"{describe_day(day)}的{kind_word(moved.kind)}已改到{describe_activity(moved)}{_place(moved)}。"
    return None


def moved_from(session: Session, group_id: int, day: dt.date, kind: str | None = None) -> Activity | None:
    """The group's activity (of `kind`) that was on `day` and has been moved (改期), if any: a
    member asking about the old day is told where it went (one query, the audit trail's old date)."""
    stmt = (
        select(Activity)
        .join(RecordChange, (RecordChange.table_name == "activity") & (RecordChange.row_id == Activity.id))
        .where(
            Activity.group_id == group_id,
            Activity.cancelled.is_(False),
            Activity.date != day,
            RecordChange.field == "date",
            RecordChange.old_value == day.isoformat(),
        )
        .order_by(RecordChange.id.desc())
        .limit(1)
    )
    if kind is not None:
        stmt = stmt.where(Activity.kind == kind)
    return session.scalar(stmt)
