"""签到: a member checks in, on the day itself, to their group's activity of that day."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.messages import Command, Reply
from bot.router import Context, Router, UserError
from handlers.phrasing import describe_activity, describe_day, kind_word
from models import Activity, CheckIn, LeaveRequest, Member

router = Router()


@router.route("checkin")
def checkin(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    today = ctx.now.date()
    if command.date is not None and command.date != today:
        raise UserError(f"签到只能在活动当天进行；{describe_day(command.date)}的活动请联系组长补报。")
    if member.group_id is None:
        raise UserError("您不属于任何联络组，无需签到。")
    early = dt.timedelta(minutes=ctx.settings.checkin.opens_minutes_before)
    activity = _activity_now(session, member.group_id, today, command.kind, ctx.now, early)
    if activity.time is not None:
        # A check-in means "I am there": it counts from shortly before the start to the end of the day.
        opens = dt.datetime.combine(today, activity.time, ctx.now.tzinfo) - early
        if ctx.now < opens:
            raise UserError(f"{describe_activity(activity)}还没开始，{opens:%H:%M}起可以签到。")

    existing = session.scalars(
        select(CheckIn).where(CheckIn.activity_id == activity.id, CheckIn.member_id == member.id)
    ).first()
    if existing is not None:
        return _already(activity, existing, ctx)

    row = CheckIn(
        activity_id=activity.id,
        member_id=member.id,
        checked_in_at=ctx.now,
        source_message_id=ctx.inbound_id,
    )
    try:
        # Two deliveries of "签到" with different message ids can race; the unique
        # (activity, member) key decides, and the loser is answered like a repeat.
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        existing = session.scalars(
            select(CheckIn).where(CheckIn.activity_id == activity.id, CheckIn.member_id == member.id)
        ).one()
        return _already(activity, existing, ctx)

    text = f"签到成功：{describe_activity(activity)}，{ctx.now:%H:%M}。"
    leave = session.scalars(
        select(LeaveRequest).where(
            LeaveRequest.activity_id == activity.id,
            LeaveRequest.member_id == member.id,
            LeaveRequest.status.in_(("approved", "pending")),
        )
    ).first()
    if leave is not None:
        # Being there is what counts: attendance treats a check-in as present whatever the leave says.
        text += f"您有请假#{leave.id}，本次按出席记录。"
    return Reply(text)


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


def _already(activity: Activity, existing: CheckIn, ctx: Context) -> Reply:
    at = existing.checked_in_at.astimezone(ctx.now.tzinfo)
    return Reply(f"您已签到过了：{describe_activity(activity)}（{at:%H:%M}签到）。")


def _activity_now(
    session: Session, group_id: int, today: dt.date, kind: str | None, now: dt.datetime, early: dt.timedelta
) -> Activity:
    """Today's activity the member means: the stated kind, else the ongoing or next one."""
    rows = session.scalars(
        select(Activity).where(
            Activity.group_id == group_id, Activity.date == today, Activity.cancelled.is_(False)
        )
    )
    # Sorted here: SQLite and PostgreSQL disagree on where NULL times go; an untimed one counts as all-day.
    activities = sorted(rows, key=lambda a: (a.time or dt.time.min, a.id))
    if not activities:
        raise UserError(_nothing_today(session, group_id, today))
    if kind is not None:
        activities = [a for a in activities if a.kind == kind]
        if not activities:
            label = kind_word(kind)
            raise UserError(f"今天（{describe_day(today)}）本组没有{label}活动，请核对后再签到。")
    if len(activities) == 1:
        return activities[0]
    # Several that day: the last one that has started (or starts within the hour), else the first.
    soon_at = now + early
    soon = soon_at.time() if soon_at.date() == today else dt.time.max
    started = [a for a in activities if a.time is None or a.time <= soon]
    return started[-1] if started else activities[0]
