"""发布活动: a leader announces an activity (date, time, kind, title, place) for their group."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.messages import Command, Reply
from bot.router import Context, Router, UserError
from handlers.phrasing import describe_activity, describe_day, kind_word
from models import Activity, Member

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
    if command.date is None:
        raise UserError("请说明活动日期，例如：发布活动 12月3日上午9点 视察 城区污水处理厂 地点：…")
    today = ctx.now.date()
    if command.date < today:
        raise UserError(f"{describe_day(command.date)}已经过去，不能发布这一天的活动，请核对日期。")
    group_id = _group_for(session, member, ctx)
    kind = command.kind or _DEFAULT_KIND
    label = kind_word(kind)
    title = (command.title or "").strip()
    if title.startswith(label) and title != label:
        title = title[len(label) :].strip()  # "视察 城区污水处理厂": the kind is already recorded
    title = title[:200] or label
    place = (command.content or "").strip()[:200] or None

    # A leader who re-sends the same announcement (or a platform retry with a new id)
    # must not create a second activity that members would then be counted absent from.
    same = session.scalars(
        select(Activity)
        .where(
            Activity.group_id == group_id,
            Activity.date == command.date,
            Activity.kind == kind,
            Activity.time.is_(None) if command.time is None else Activity.time == command.time,
            Activity.title == title,
            Activity.cancelled.is_(False),
        )
        .order_by(Activity.id)
        .limit(1)
    ).first()
    if same is not None:
        return Reply(f"活动#{same.id}已发布过：{describe_activity(same)}{_place(same)}。")

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
    return Reply(f"已发布活动#{activity.id}：{describe_activity(activity)}{_place(activity)}{note}。")


def _place(activity: Activity) -> str:
    return f"，地点：{activity.place}" if activity.place else ""
