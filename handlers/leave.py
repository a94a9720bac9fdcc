"""请假: a member asks leave for one activity; the group's leader approves (同意) or rejects (驳回) it.

The leader learns of a request, and the member of the decision, through outbox notices
stored in the same transaction as the record, so each is sent exactly once. Who decides
(`deciders`), how they are told (`tell_deciders`) and how a request is found by its number
(`numbered_request`) serve 补报 (handlers/late.py) too.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.messages import ACTIVITY_KINDS, Command, Notice, Reply
from bot.router import Context, Router, UserError
from handlers.phrasing import describe_activity, describe_day, how_to_decide
from models import Activity, LateEntry, LeaveRequest, Member

router = Router()

Decided = TypeVar("Decided", LeaveRequest, LateEntry)  # a request a leader decides

_STATUS_WORDS = {"pending": "待组长审批", "approved": "已同意", "rejected": "已驳回", "withdrawn": "已撤回"}


@router.route("leave")
def request_leave(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    if member.group_id is None:
        raise UserError("您不属于任何联络组，无需请假。")
    activity = _activity_for(session, member.group_id, command, ctx.now)

    existing = session.scalars(
        select(LeaveRequest)
        .where(
            LeaveRequest.activity_id == activity.id,
            LeaveRequest.member_id == member.id,
            LeaveRequest.status.in_(("pending", "approved")),
        )
        .order_by(LeaveRequest.id)
        .limit(1)
    ).first()
    if existing is not None:
        return Reply(
            f"您已请过假了：#{existing.id} {describe_activity(activity)}，{_STATUS_WORDS[existing.status]}。"
        )

    reason = (command.reason or "").strip()[:500] or None
    leave = LeaveRequest(
        activity_id=activity.id,
        member_id=member.id,
        reason=reason,
        status="pending",
        requested_at=ctx.now,
        source_message_id=ctx.inbound_id,
    )
    session.add(leave)
    session.flush()

    because = f"，事由：{reason}" if reason else ""
    text = (
        f"{member.name}请假#{leave.id}：{describe_activity(activity)}{because}。{how_to_decide(leave.id)}。"
    )
    return Reply(
        f"已提交请假#{leave.id}：{describe_activity(activity)}{because}，等待组长审批。",
        notices=tell_deciders(session, member, f"leave:{leave.id}:requested", text),
    )


@router.route("approve", roles=("leader", "admin"))
def approve(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    return _decide(session, member, command, ctx, "approved")


@router.route("reject", roles=("leader", "admin"))
def reject(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    return _decide(session, member, command, ctx, "rejected")


def _activity_for(session: Session, group_id: int, command: Command, now: dt.datetime) -> Activity:
    """The activity a leave is for: on the stated date, else the group's next one (of the stated kind)."""
    today = now.date()
    stmt = select(Activity).where(Activity.group_id == group_id, Activity.cancelled.is_(False))
    if command.kind is not None:
        stmt = stmt.where(Activity.kind == command.kind)
    label = ACTIVITY_KINDS.get(command.kind, "") if command.kind else ""
    if command.date is not None:
        if command.date < today:
            raise UserError(f"{describe_day(command.date)}已经过去，不能再请假，请直接联系组长说明。")
        stmt = stmt.where(Activity.date == command.date)
        missing = f"{describe_day(command.date)}本组没有{label or '活动'}安排，无需请假。"
    else:
        # Still to come: a later day, or today's that has not started yet.
        stmt = stmt.where(
            or_(
                Activity.date > today,
                and_(Activity.date == today, or_(Activity.time.is_(None), Activity.time >= now.time())),
            )
        )
        missing = (
            f"本组近期没有{label or '活动'}安排，无需请假。如是其他日期，请写明，例如：请假 12月3日 单位开会"
        )
    candidates = sorted(session.scalars(stmt), key=lambda a: (a.date, a.time or dt.time.min, a.id))
    if not candidates:
        raise UserError(missing)
    return candidates[0]


def deciders(session: Session, member: Member) -> list[int]:
    """Who decides: the group's leaders (not the requester); the office when the leader asks leave."""
    leaders = session.scalars(
        select(Member.id).where(
            Member.group_id == member.group_id,
            Member.role == "leader",
            Member.active.is_(True),
            Member.id != member.id,
        )
    ).all()
    if leaders:
        return list(leaders)
    return list(
        session.scalars(select(Member.id).where(Member.role == "admin", Member.active.is_(True))).all()
    )


def tell_deciders(session: Session, member: Member, key: str, text: str) -> tuple[Notice, ...]:
    """`text` to each of the member's deciders, one notice each (keyed `key:<decider id>`)."""
    return tuple(
        Notice(key=f"{key}:{decider_id}", to_member_id=decider_id, text=text)
        for decider_id in deciders(session, member)
    )


def numbered_request(
    session: Session, model: type[Decided], number: int, decider: Member, *, noun: str, verb: str
) -> Decided:
    """Request #`number` of `model` (请假, 补报) if `decider` may decide it: an admin any, a leader
    only their group's."""
    row = session.get(model, number)
    if row is None:
        raise UserError(f"没有找到{noun}#{number}，请核对编号。")
    if decider.role != "admin" and row.member.group_id != decider.group_id:
        raise UserError(f"{noun}#{number}不是本组委员的，只能{verb}本组的{noun}。")
    return row


def _find_request(session: Session, decider: Member, command: Command) -> LeaveRequest:
    """The request the command names: #3 by number, 张三 by that member's soonest pending one, else
    the one pending request in the decider's scope."""
    in_scope = [] if decider.role == "admin" else [Member.group_id == decider.group_id]
    number, name = command.number, command.name
    if number is not None:
        return numbered_request(session, LeaveRequest, number, decider, noun="请假", verb="审批")

    stmt = (
        select(LeaveRequest)
        .join(Member, LeaveRequest.member_id == Member.id)
        .join(Activity, LeaveRequest.activity_id == Activity.id)
        .where(LeaveRequest.status == "pending", *in_scope)
    )
    if name:
        stmt = stmt.where(Member.name == name)
    pending = sorted(
        session.scalars(stmt), key=lambda r: (r.activity.date, r.activity.time or dt.time.min, r.id)
    )
    if name and not pending:
        raise UserError(f"{'本组' if in_scope else ''}没有{name}待审批的请假。")
    if not pending:
        raise UserError("没有待审批的请假。")
    if not name and len(pending) > 1:
        numbers = "、".join(f"#{r.id} {r.member.name}" for r in pending[:5])
        raise UserError(
            f"有{len(pending)}条待审批的请假（{numbers}），请写明编号，例如：同意 #{pending[0].id}"
        )
    return pending[0]


def _decide(session: Session, decider: Member, command: Command, ctx: Context, status: str) -> Reply:
    leave = _find_request(session, decider, command)
    activity = leave.activity
    verb = "同意" if status == "approved" else "驳回"
    if leave.status != "pending":
        by = f"由{leave.decided_by.name}" if leave.decided_by else ""
        return Reply(
            f"请假#{leave.id}（{leave.member.name}，{describe_day(activity.date)}）"
            f"已{by}处理过：{_STATUS_WORDS[leave.status]}，无需重复操作。"
        )

    leave.status = status
    leave.decided_by_id = decider.id
    leave.decided_at = ctx.now
    leave.decision_message_id = ctx.inbound_id
    reason = (command.reason or "").strip()
    if status == "rejected" and reason:
        leave.decision_reason = reason[:500]
    session.flush()

    what = f"请假#{leave.id}（{describe_activity(activity)}）"
    if status == "approved":
        told = f"您的{what}，{decider.name}已同意。"
    else:
        told = f"您的{what}未获批准（{decider.name}）{'，理由：' + reason if reason else ''}，请按时参加。"
    notice = Notice(key=f"leave:{leave.id}:{status}", to_member_id=leave.member_id, text=told)
    return Reply(f"已{verb}{leave.member.name}的{what}。", notices=(notice,))
