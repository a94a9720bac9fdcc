"""签到: a member checks in, on the day itself, to their group's activity of that day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import Date, Select, bindparam, select
from sqlalchemy.orm import Session

from bot.messages import Command, Reply
from bot.router import Context, Prefetch, Router, UserError, prefetched
from handlers.activities import asked_span, in_span
from handlers.phrasing import describe_activity, describe_day, kind_word
from models import Activity, CheckIn, LeaveRequest, Member, insert_or_skip

if TYPE_CHECKING:
    from collections.abc import Hashable

    from bot.config import Settings

router = Router()


def _today_joined(dialect: str, stmt: Select, shape: Hashable) -> Select:
    """Today's activities of the member's group, each with their check-in time and leave, if any:
    read with the sender, a check-in needs nothing else before it is written."""
    group_id, member_id, today = Member.group_id, Member.id, bindparam("pf_today", type_=Date)
    return (
        stmt.add_columns(Activity, CheckIn.checked_in_at, LeaveRequest.id)
        .outerjoin(
            Activity,
            (Activity.group_id == group_id) & (Activity.date == today) & Activity.cancelled.is_(False),
        )
        .outerjoin(CheckIn, (CheckIn.activity_id == Activity.id) & (CheckIn.member_id == member_id))
        .outerjoin(
            LeaveRequest,
            (LeaveRequest.activity_id == Activity.id)
            & (LeaveRequest.member_id == member_id)
            & LeaveRequest.status.in_(("approved", "pending")),
        )
    )


def _today(command: Command, now: dt.datetime, settings: Settings) -> dict:
    return {"pf_today": now.date()}


_prefetch_today = Prefetch(build=_today_joined, values=_today)


@dataclass(frozen=True)
class _Slot:
    """One of today's activities as this member stands towards it."""

    activity: Activity
    checked_in_at: dt.datetime | None
    leave_id: int | None


def _slots(session: Session, member: Member, command: Command, ctx: Context) -> list[_Slot]:
    rows = prefetched(session, ctx, member, command, _prefetch_today)
    slots: dict[int, _Slot] = {}
    for activity, checked_in_at, leave_id in rows:
        if activity is not None and activity.id not in slots:
            slots[activity.id] = _Slot(activity, checked_in_at, leave_id)
    return list(slots.values())


@router.route("checkin", prefetch=_prefetch_today)
def checkin(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    today = ctx.now.date()
    if command.date is not None and command.date > today:
        raise UserError(f"{describe_day(command.date)}的活动还没到，没有签到；请当天到场后再发「签到」。")
    if command.date is not None and command.date != today:
        raise UserError(f"签到只能在活动当天进行；{describe_day(command.date)}的活动请联系组长补报。")
    if member.group_id is None:
        raise UserError("您不属于任何联络组，无需签到。")
    early = dt.timedelta(minutes=ctx.settings.checkin.opens_minutes_before)
    slot = _slot_now(
        session, member.group_id, _slots(session, member, command, ctx), command.kind, ctx.now, early
    )
    activity = slot.activity
    if command.target == "asked":  # 今天的调研我签过了吗: answered, nothing recorded
        if slot.checked_in_at is not None:
            return _already(activity, slot.checked_in_at, ctx)
        leave = f"您有请假#{slot.leave_id}；" if slot.leave_id is not None else ""
        return Reply(f"您还没有签到{describe_activity(activity)}。{leave}到场后发「签到」即可。")
    if activity.time is not None:
        # A check-in means "I am there": it counts from shortly before the start to the end of the day.
        opens = dt.datetime.combine(today, activity.time, ctx.now.tzinfo) - early
        if ctx.now < opens:
            raise UserError(f"{describe_activity(activity)}还没开始，{opens:%H:%M}起可以签到。")
    if slot.checked_in_at is not None:
        return _already(activity, slot.checked_in_at, ctx)
    text = f"签到成功：{describe_activity(activity)}，{ctx.now:%H:%M}。"
    if slot.leave_id is not None:
        # Being there is what counts: attendance treats a check-in as present whatever the leave says.
        text += f"您有请假#{slot.leave_id}，本次按出席记录。"
    if command.content == "also_note":  # 我签到了，另外交一篇社情民意：…: one message, one record
        text += "这条消息里的社情民意没有记录，请单独发一条「社情民意：标题。正文」。"
    return Reply(text, then=partial(_record, activity, member.id, ctx))


def _record(
    activity: Activity, member_id: int, ctx: Context, session: Session, inbound_id: int
) -> Reply | None:
    """The check-in, once: the unique (activity, member) decides. The sender's row lock keeps the
    member's own messages apart; a leader's 补报 for them at the same moment is answered as a repeat."""
    values = {
        "activity_id": activity.id,
        "member_id": member_id,
        "checked_in_at": ctx.now,
        "late_entry": False,
        "source_message_id": inbound_id,
    }
    if insert_or_skip(session, CheckIn.__table__, values, ("activity_id", "member_id")) is not None:
        return None
    at = session.scalar(
        select(CheckIn.checked_in_at).where(
            CheckIn.activity_id == activity.id, CheckIn.member_id == member_id
        )
    )
    return _already(activity, at, ctx)


def _nothing_today(session: Session, group_id: int, today: dt.date) -> str:
    """No activity today: say so, and point a late check-in for a recent one to 补报."""
    recent = session.scalars(
        select(Activity)
        .where(
            Activity.group_id == group_id,
            Activity.cancelled.is_(False),
            Activity.date < today,
            Activity.date >= today - dt.timedelta(days=7),
        )
        .order_by(Activity.date.desc(), Activity.id.desc())
        .limit(1)
    ).first()
    text = f"今天（{describe_day(today)}）本组没有活动安排，无需签到。"
    if recent is not None:
        text += f"如是{describe_activity(recent)}的活动，请联系组长补报。"
    return text


def _already(activity: Activity, checked_in_at: dt.datetime, ctx: Context) -> Reply:
    at = checked_in_at.astimezone(ctx.now.tzinfo)
    return Reply(f"您已签到过了：{describe_activity(activity)}（{at:%H:%M}签到）。")


def _slot_now(
    session: Session,
    group_id: int,
    slots: list[_Slot],
    kind: str | None,
    now: dt.datetime,
    early: dt.timedelta,
) -> _Slot:
    """Today's activity the member means: the stated kind, else the ongoing or next one."""
    today = now.date()
    # Sorted here: SQLite and PostgreSQL disagree on where NULL times go; an untimed one counts as all-day.
    slots = sorted(slots, key=lambda s: (s.activity.time or dt.time.min, s.activity.id))
    if not slots:
        raise UserError(_nothing_today(session, group_id, today))
    if kind is not None:
        slots = [s for s in slots if s.activity.kind == kind]
        if not slots:
            label = kind_word(kind)
            raise UserError(f"今天（{describe_day(today)}）本组没有{label}活动，请核对后再签到。")
    if len(slots) == 1:
        return slots[0]
    # Several that day: the last one that has started (or starts within the hour), else the first.
    soon_at = now + early
    soon = soon_at.time() if soon_at.date() == today else dt.time.max
    started = [s for s in slots if s.activity.time is None or s.activity.time <= soon]
    return started[-1] if started else slots[0]


@router.route("will_attend")
def will_attend(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """8号的座谈我准时到: nothing to record — attendance is the 签到 on the day; the member learns
    which activity the bot understood and what to do then (a pending leave for it stays pending)."""
    if member.group_id is None:
        raise UserError("您不在任何联络组，活动签到请联系政协办公室。")
    today = ctx.now.date()
    first, last, when = asked_span(command, today)
    coming = session.scalars(in_span(member.group_id, command.kind, first, last).limit(3)).all()
    what = kind_word(command.kind) if command.kind else "活动"
    if not coming:
        return Reply(f"{when}本组没有{what}安排，不用报名；有活动时当天到场后@我「签到」即可。")
    past = [a for a in coming if a.date < today]
    if past:
        day = f"{past[0].date.month}月{past[0].date.day}日"
        return Reply(f"{describe_activity(past[0])}已经过去了；如当时到场，请@我「补报 {day} 签到」。")
    listed = "；".join(describe_activity(a) for a in coming)
    if command.content == "late":  # coming late: the check-in stays open until the day ends
        return Reply(f"好的：{listed}。到场后@我「签到」即可，当天都能签到。")
    return Reply(f"好的，不用报名：{listed}。当天到场后@我「签到」即可。")
