"""撤回, 更正: changing a submission or a leave request after the fact, by status, never by deleting.

Every change writes `RecordChange` rows (old value, new value, who, when, the message that asked),
so the office can tell what a record said before and who changed it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.messages import SUBMISSION_KINDS, Command, Reply
from bot.router import Context, Router, UserError
from handlers import journey
from handlers.phrasing import describe_activity, kind_word
from models import Activity, LeaveRequest, Member, Submission
from models.records import ChangedBy, audit

router = Router()

# -- 撤回 / 更正 ----------------------------------------------------------------------------------


def _submission_to_change(session: Session, member: Member, command: Command, ctx: Context) -> Submission:
    """The submission a 撤回/更正 is about, if this sender may change it now.

    A member: their own, within settings.submissions.withdraw_minutes of sending it. A leader: any
    of the group's by number. An admin: any by number. Without a number: the sender's latest.
    """
    number = command.number
    if number is None:
        stmt = select(Submission).where(Submission.member_id == member.id, Submission.status != "withdrawn")
        if command.target in SUBMISSION_KINDS:
            stmt = stmt.where(Submission.kind == command.target)
        row = session.scalars(
            stmt.order_by(Submission.submitted_at.desc(), Submission.id.desc()).limit(1)
        ).first()
        if row is None:
            raise UserError("您还没有可以撤回或更正的材料。")
    else:
        row = session.get(Submission, number)
        if row is None:
            raise UserError(f"没有找到材料#{number}，请核对编号。")
    mine = row.member_id == member.id
    if member.role == "admin" or (member.role == "leader" and row.group_id == member.group_id):
        return row
    if not mine:
        raise UserError(f"材料#{row.id}不是您提交的，只能撤回或更正自己的材料。")
    if row.status == "returned":
        return row  # sent back for revision (退回): its author corrects it whenever ready
    limit = ctx.settings.submissions.withdraw_minutes
    if ctx.now - row.submitted_at > dt.timedelta(minutes=limit):
        raise UserError(f"材料#{row.id}提交已超过{limit}分钟，不能自行撤回或更正，请联系组长或县政协办公室。")
    return row


def _label(row: Submission) -> str:
    return f"{kind_word(row.kind)}#{row.id}《{row.title[:30]}》"


@router.route("withdraw")
def withdraw(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    if command.target == "leave":
        return _withdraw_leave(session, member, ctx, _latest_leave(session, member, ctx))
    if command.target is None and (leave := _leave_sent_last(session, member, ctx)) is not None:
        return _withdraw_leave(session, member, ctx, leave)
    row = _submission_to_change(session, member, command, ctx)
    if row.status == "withdrawn":
        return Reply(f"{_label(row)}已经撤回过了。")
    if row.status == "adopted":
        raise UserError(
            f"{_label(row)}已被{row.adopted_level or ''}采用，不能撤回；如有错误请联系县政协办公室。"
        )
    audit(session, row, "status", row.status, "withdrawn", ChangedBy(member.id, ctx.now, ctx.inbound_id))
    row.status = "withdrawn"
    return Reply(f"已撤回{_label(row)}，不再计入履职统计（记录保留备查）。")


def _leave_sent_last(session: Session, member: Member, ctx: Context) -> LeaveRequest | None:
    """撤回 / 刚才那条不算 (no number, no kind) right after a 请假: the leave, when it is what was sent
    last rather than a note."""
    if (leave := _latest_leave(session, member, ctx)) is None:
        return None
    sent = session.scalar(
        select(func.max(Submission.submitted_at)).where(
            Submission.member_id == member.id, Submission.status != "withdrawn"
        )
    )
    return leave if sent is None or leave.requested_at > sent else None


def _withdraw_leave(session: Session, member: Member, ctx: Context, leave: LeaveRequest | None) -> Reply:
    if leave is None:
        raise UserError("您没有可以撤回的请假。")
    audit(session, leave, "status", leave.status, "withdrawn", ChangedBy(member.id, ctx.now, ctx.inbound_id))
    leave.status = "withdrawn"
    return Reply(f"已撤回请假#{leave.id}（{describe_activity(leave.activity)}），请按时参加。")


def _latest_leave(session: Session, member: Member, ctx: Context) -> LeaveRequest | None:
    """The member's own latest leave request for an activity still to come."""
    return session.scalars(
        select(LeaveRequest)
        .join(Activity, Activity.id == LeaveRequest.activity_id)
        .where(
            LeaveRequest.member_id == member.id,
            LeaveRequest.status.in_(("pending", "approved")),
            Activity.date >= ctx.now.date(),
        )
        .order_by(LeaveRequest.requested_at.desc(), LeaveRequest.id.desc())
        .limit(1)
    ).first()


def _relabel(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """刚才那条是调研报告: the note counted as that kind from now on, the change audited."""
    kind = command.content or ""
    row = _submission_to_change(session, member, command, ctx)
    if row.status == "withdrawn":
        raise UserError(f"{_label(row)}已撤回，请重新提交。")
    if row.kind == kind:
        return Reply(f"{_label(row)}已按{kind_word(kind)}记录，无需更改。")
    before = _label(row)
    audit(session, row, "kind", row.kind, kind, ChangedBy(member.id, ctx.now, ctx.inbound_id))
    row.kind = kind
    return Reply(f"已把{before}改记为{kind_word(kind)}#{row.id}，按{kind_word(kind)}计入统计。")


@router.route("correct")
def correct(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    if command.reason == "kind" and command.content in SUBMISSION_KINDS:
        return _relabel(session, member, command, ctx)
    if not (command.title or command.content):
        raise UserError("请把更正后的内容一起发来，例如：更正 关于……的建议。正文……")
    row = _submission_to_change(session, member, command, ctx)
    if row.status == "withdrawn":
        raise UserError(f"{_label(row)}已撤回，请重新提交。")
    title = (command.title or "").strip()[:200] or row.title
    # 标题应该是… (reason "title"): the new title, the text as it was.
    content = row.content if command.reason == "title" else (command.content or "").strip() or title
    changed = [
        (f, old, new)
        for f, old, new in (("title", row.title, title), ("content", row.content, content))
        if old != new
    ]
    if not changed:
        return Reply(f"{_label(row)}内容没有变化。")
    by = ChangedBy(member.id, ctx.now, ctx.inbound_id)
    for field, old, new in changed:
        audit(session, row, field, old, new, by)
        setattr(row, field, new)
    if row.status == "returned" and row.member_id == member.id:
        journey.resubmit(session, row, member, ctx)
        return Reply(f"已更正{_label(row)}，已重新提交县政协办公室（原内容已留档）。")
    return Reply(f"已更正{_label(row)}（原内容已留档）。")
