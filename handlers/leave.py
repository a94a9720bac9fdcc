"""请假: a member asks leave for one activity; the group's leader approves (同意) or rejects (驳回) it.

The leader learns of a request, and the member of the decision, through outbox notices
stored in the same transaction as the record, so each is sent exactly once. Who decides
(`deciders`), how they are told (`tell_deciders`) and how a request is found by its number
(`numbered_request`) serve 补报 (handlers/late.py) too.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TypeVar

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from bot import cards
from bot.messages import ACTIVITY_KINDS, Button, CardView, Command, Notice, Reply
from bot.periods import period_of
from bot.router import Context, Router, UserError
from handlers.activities import coming_span, in_span, moved_from
from handlers.people import named, one_named, shown_as, where
from handlers.phrasing import (
    describe_activity,
    describe_day,
    how_to_decide,
    kind_word,
    month_day,
    names,
    numbered_choice,
)
from models import Activity, CheckIn, LateEntry, LeaveRequest, Member

router = Router()

Decided = TypeVar("Decided", LeaveRequest, LateEntry)  # a request a leader decides

# A leave request's state as every answer names it (handlers/record.py lists one's own with it).
STATUS_WORDS = {"pending": "待组长审批", "approved": "已同意", "rejected": "已驳回", "withdrawn": "已撤回"}


@router.route("leave")
def request_leave(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    asker = member
    if command.target:  # 帮周七请个假: for another member, whose own request it becomes
        member = _for_whom(session, asker, command, ctx)
    if member.group_id is None:
        raise UserError("您不属于任何联络组，无需请假。")
    days = stretch_days(command.title or "", ctx.now.date()) if command.date is None else None
    if days is not None and asker is member:
        return _leave_stretch(session, member, command, ctx, days)
    activity = _activity_for(session, member.group_id, command, ctx)
    if isinstance(activity, Reply):
        return activity  # which one of several: asked, the answer resumes here
    if activity.date < ctx.now.date() or (activity.date == ctx.now.date() and _begun(activity, ctx.now)):
        done = session.scalar(
            select(CheckIn.id).where(CheckIn.activity_id == activity.id, CheckIn.member_id == member.id)
        )
        if done is not None:
            raise UserError(f"{_you(member, asker)}已签到参加了{describe_activity(activity)}，无需请假。")

    # Once per member and activity: the pipeline holds the member's row for the message (SQLite: the
    # write lock), so a second 请假 sent at the same moment waits and finds this one.
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
            f"{_you(member, asker)}已请过假了：#{existing.id} {describe_activity(activity)}，"
            f"{STATUS_WORDS[existing.status]}。"
        )
    if asker is not member:
        return _leave_for(session, asker, member, activity, command, ctx)

    reason = _without_own_name(command.reason or "", member.name)[:500] or None
    leave, notices = _ask(session, member, activity, reason, ctx)
    because = f"，事由：{reason}" if reason else ""
    after = "（事后请假）" if activity.date < ctx.now.date() else ""
    card = None
    if cards.can_show(ctx):  # in the group: [同意] [驳回] for the leader, the typed way still works
        offered = cards.offer(session, "leave", leave.id, ctx.now, ctx.inbound_id)
        card = leave_card(leave, offered.task_id, f"待组长审批，{how_to_decide(leave.id)}", cards.BUTTONS)
    return Reply(
        f"已提交请假#{leave.id}{after}：{describe_activity(activity)}{because}，等待组长审批。",
        notices=notices,
        card=card,
    )


def _ask(
    session: Session, member: Member, activity: Activity, reason: str | None, ctx: Context
) -> tuple[LeaveRequest, tuple[Notice, ...]]:
    """The member's pending leave for `activity`, and the notice to each of their deciders."""
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
    # An excuse after the fact (没去成) is a leave the leader may still approve: then not an absence.
    after = "（事后请假）" if activity.date < ctx.now.date() else ""
    text = f"{member.name}请假#{leave.id}{after}：{describe_activity(activity)}{because}。{how_to_decide(leave.id)}。"
    buttons = (("同意", f"同意 #{leave.id}"), ("驳回", f"驳回 #{leave.id}"))
    return leave, tell_deciders(session, member, f"leave:{leave.id}:requested", text, buttons)


_STRETCH_DAYS = {"一周": 7, "两周": 14, "两天": 2, "三天": 3, "四天": 4, "五天": 5, "十天": 10, "半个月": 15, "一个月": 30}


def stretch_days(word: str, today: dt.date) -> tuple[dt.date, dt.date, str] | None:
    """(first, last, how to say it) of the stretch a leave names (bot/reading/leave._stretch), or None."""
    if word in _STRETCH_DAYS:
        return today, today + dt.timedelta(days=_STRETCH_DAYS[word] - 1), f"今后{word}"
    if word in ("本周", "下周", "本月", "下个月"):
        return coming_span(word, today)
    month_end = period_of("month", today).end
    spans = {
        "到月底": (today, month_end, "月底前"),
        "到下个月": (today, month_end + dt.timedelta(days=1), "下个月前"),
        "到年底": (today, dt.date(today.year, 12, 31), "年底前"),
        "近期": (today, today + dt.timedelta(days=6), "近一周"),
    }
    return spans.get(word)


def _leave_stretch(
    session: Session, member: Member, command: Command, ctx: Context, days: tuple[dt.date, dt.date, str]
) -> Reply:
    """这周的活动都参加不了 / 请假一周: a leave for each of the group's activities still to come in the
    stretch (those asked already kept as they are), the leaders told of each."""
    first, last, said = days
    started = ctx.now.time()
    coming = [
        a
        for a in session.scalars(in_span(member.group_id, command.kind, first, last))
        if a.date > ctx.now.date() or a.time is None or a.time >= started
    ]
    if not coming:
        what = ACTIVITY_KINDS.get(command.kind, "活动") if command.kind else "活动"
        return Reply(f"{said}（{month_day(first)}—{month_day(last)}）本组没有{what}安排，无需请假。")
    asked = set(
        session.scalars(
            select(LeaveRequest.activity_id).where(
                LeaveRequest.member_id == member.id,
                LeaveRequest.activity_id.in_([a.id for a in coming]),
                LeaveRequest.status.in_(("pending", "approved")),
            )
        )
    )
    reason = _without_own_name(command.reason or "", member.name)[:500] or None
    because = f"，事由：{reason}" if reason else ""
    lines, notices = [], []
    for a in coming:
        if a.id in asked:
            lines.append(f"{describe_activity(a)}：已请过假")
            continue
        leave, told = _ask(session, member, a, reason, ctx)
        lines.append(f"#{leave.id} {describe_activity(a)}")
        notices += told
    made = len(lines) - len(asked)
    if not made:
        return Reply("\n".join([f"{said}本组的{len(coming)}项活动您都已请过假：", *lines]))
    head = f"已为{said}本组的{len(coming)}项活动提交请假{made}条{because}，等待组长审批："
    return Reply("\n".join([head, *lines]), notices=tuple(notices))


def _you(member: Member, asker: Member) -> str:
    return "您" if member is asker else member.name


def _for_whom(session: Session, asker: Member, command: Command, ctx: Context) -> Member:
    """The member a 帮X请假 is for: in the asker's group (the county, for the office), their row held
    like a sender's, so that two such requests at one moment make one leave."""
    found = one_named(session, command.target, asker, command, ctx)
    if found is None or (asker.role != "admin" and found.group_id != asker.group_id):
        raise UserError(f"{where(asker)}没有叫{command.target}的委员，请核对姓名。")
    session.execute(select(Member.id).where(Member.id == found.id).with_for_update(key_share=True))
    return found


def _without_own_name(reason: str, name: str) -> str:
    """12月10日座谈会 李四 请假 陪老人看病: the sender signing with their name is not the reason."""
    pieces = [p for p in re.split(r"[，,\s]+", reason.strip()) if p and p not in (name, f"{name}委员")]
    return "，".join(pieces) if len(pieces) < len(re.split(r"[，,\s]+", reason.strip())) else reason.strip()


def _leave_for(
    session: Session, asker: Member, member: Member, activity: Activity, command: Command, ctx: Context
) -> Reply:
    """A leave asked by someone else: the leader's (or the office's) is approved as asked, the member
    told; a fellow member's waits for the leader like the member's own, the member told too."""
    said = (command.reason or "").strip()
    reason = (f"{said}（{asker.name}代请）" if said else f"{asker.name}代请")[:500]
    decides = asker.role == "admin" or (asker.role == "leader" and asker.group_id == member.group_id)
    leave = LeaveRequest(
        activity_id=activity.id,
        member_id=member.id,
        reason=reason,
        status="approved" if decides else "pending",
        requested_at=ctx.now,
        decided_by_id=asker.id if decides else None,
        decided_at=ctx.now if decides else None,
        source_message_id=ctx.inbound_id,
        decision_message_id=ctx.inbound_id if decides else None,
    )
    session.add(leave)
    session.flush()
    what = describe_activity(activity)
    if decides:
        told = Notice(
            key=f"leave:{leave.id}:by-leader",
            to_member_id=member.id,
            text=f"{asker.name}已为您请假#{leave.id}：{what}，已批准。如能参加，请发「不请假了」。",
        )
        return Reply(f"已为{member.name}请假#{leave.id}：{what}，已批准，并已告诉{member.name}。", notices=(told,))
    told = Notice(
        key=f"leave:{leave.id}:by-member",
        to_member_id=member.id,
        text=f"{asker.name}为您请了假#{leave.id}：{what}，等待组长审批。如不需要，请发「不请假了」。",
    )
    asked = tell_deciders(
        session,
        member,
        f"leave:{leave.id}:requested",
        f"{member.name}请假#{leave.id}（{asker.name}代请）：{what}。{how_to_decide(leave.id)}。",
        (("同意", f"同意 #{leave.id}"), ("驳回", f"驳回 #{leave.id}")),
    )
    return Reply(
        f"已为{member.name}提交请假#{leave.id}：{what}，等待组长审批，并已告诉{member.name}。",
        notices=(told, *asked),
    )


def leave_card(leave: LeaveRequest, task_id: str, text: str, buttons: tuple[Button, ...] = ()) -> CardView:
    """What the card of request `leave` shows: who, which activity, why, its state line `text`."""
    return CardView(
        task_id=task_id,
        title=f"请假#{leave.id} · {leave.member.name}",
        desc=describe_activity(leave.activity),
        text=text,
        fields=tuple((k, v) for k, v in (("事由", leave.reason), ("驳回理由", leave.decision_reason)) if v),
        buttons=buttons,
    )


def state_line(leave: LeaveRequest, tz: dt.tzinfo | None) -> str:
    """已同意 · 王建国 10:05: a decided request's state as its card shows it (the time in `tz`)."""
    words = STATUS_WORDS[leave.status]
    if leave.decided_by is None or leave.decided_at is None:
        return words
    return f"{words} · {leave.decided_by.name} {leave.decided_at.astimezone(tz):%H:%M}"


def decide(
    session: Session,
    leave: LeaveRequest,
    decider: Member,
    ctx: Context,
    status: str,
    reason: str | None = None,
) -> Reply:
    """Decide pending request `leave` as the typed 同意 #3 / 驳回 #3 does (the same record, the same
    notice to the member); a tap on its card comes here (handlers/cards.py)."""
    intent = "approve" if status == "approved" else "reject"
    return _decide_one(session, leave, decider, Command(intent, reason=reason), ctx, status)


def claim(session: Session, row: LeaveRequest | LateEntry, status: str, **decided) -> bool:
    """Decide pending request `row` as `status` in one conditional UPDATE (pending → status, with
    who, when, which message): False when another decision got there first — a leader's 同意 #3
    and another's tap at once (PostgreSQL makes the later one wait, then finds it decided); the
    caller refuses, and the transaction with whatever it wrote goes."""
    model = type(row)
    won = session.execute(
        update(model)
        .where(model.id == row.id, model.status == "pending")
        .values(status=status, **decided)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(row)
    return won == 1


def _begun(activity: Activity, now: dt.datetime) -> bool:
    return activity.time is not None and activity.time <= now.time()


@router.route("approve", roles=("leader", "admin"))
def approve(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    return _decide(session, member, command, ctx, "approved")


@router.route("reject", roles=("leader", "admin"))
def reject(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    return _decide(session, member, command, ctx, "rejected")


def _activity_for(session: Session, group_id: int, command: Command, ctx: Context) -> Activity | Reply:
    """The activity a leave is for: the one chosen, the one on the stated date (a past one too: an
    excuse after the fact), else the group's coming one (of the stated kind); several: asked which."""
    now, today = ctx.now, ctx.now.date()
    if chosen := ctx.answer.get("activity_id"):
        activity = session.get(Activity, int(chosen))
        if activity is None or activity.cancelled or activity.group_id != group_id:
            raise UserError("这个活动已经取消或不存在，请重新发送请假。")
        return activity
    stmt = select(Activity).where(Activity.group_id == group_id, Activity.cancelled.is_(False))
    if command.kind is not None:
        stmt = stmt.where(Activity.kind == command.kind)
    label = ACTIVITY_KINDS.get(command.kind, "") if command.kind else ""
    if command.date is not None:
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
    if not candidates and command.date is not None:
        moved = moved_from(session, group_id, command.date, command.kind)
        if moved is not None:  # 改期: the member still has the old day in mind
            day = moved.date
            missing = (
                f"原定{describe_day(command.date)}的活动已改到{describe_activity(moved)}；"
                f"如那天也去不了，请发「请假 {day.month}月{day.day}日 事由」。"
            )
    if not candidates:
        raise UserError(missing)
    if len(candidates) == 1 or (command.title == "这次" and candidates[0].date == today):
        return candidates[0]  # 这次视察我去不了了 said on its day: today's
    if command.title == "下次":
        return candidates[0]  # 下次活动我去不了: the first one coming
    options = [(describe_activity(a), str(a.id)) for a in candidates]
    return numbered_choice("请问是哪一次", options, command, "activity_id")


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


def tell_deciders(
    session: Session, member: Member, key: str, text: str, actions: tuple[tuple[str, str], ...] = ()
) -> tuple[Notice, ...]:
    """`text` to each of the member's deciders, one notice each (keyed `key:<decider id>`), with the
    one-tap answers `actions` where their platform has them."""
    return tuple(
        Notice(key=f"{key}:{decider_id}", to_member_id=decider_id, text=text, actions=actions)
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


def _pending(session: Session, decider: Member, member_ids: list[int] | None = None) -> list[LeaveRequest]:
    """The pending requests in the decider's scope (of these members), soonest activity first."""
    stmt = (
        select(LeaveRequest)
        .join(Member, LeaveRequest.member_id == Member.id)
        .join(Activity, LeaveRequest.activity_id == Activity.id)
        .where(LeaveRequest.status == "pending", Activity.cancelled.is_(False))
    )
    if decider.role != "admin":
        stmt = stmt.where(Member.group_id == decider.group_id)
    if member_ids is not None:
        stmt = stmt.where(LeaveRequest.member_id.in_(member_ids))
    return sorted(
        session.scalars(stmt), key=lambda r: (r.activity.date, r.activity.time or dt.time.min, r.id)
    )


def _find_request(session: Session, decider: Member, command: Command) -> LeaveRequest | Reply:
    """The request the command names: #3 by number; 张三 (or 张山, the same sound) by that member's
    pending ones; else the one pending in the decider's scope. Several: asked which, by number."""
    if command.number is not None:
        return numbered_request(session, LeaveRequest, command.number, decider, noun="请假", verb="审批")
    name = command.name
    if name:
        people = named(session, name, decider)
        pending = _pending(session, decider, [m.id for m in people])
        if not pending:
            raise UserError(f"{where(decider)}没有{name}待审批的请假。")
    else:
        pending = _pending(session, decider)
        if not pending:
            raise UserError("没有待审批的请假。")
    if len(pending) == 1:
        return pending[0]
    among = [r.member for r in pending]  # two 张三 with a request each: told apart
    options = [
        (f"#{r.id} {shown_as(r.member, among)} {describe_activity(r.activity)}", str(r.id)) for r in pending
    ]
    verb = "同意" if command.intent == "approve" else "驳回"
    return numbered_choice(f"有{len(pending)}条待审批的请假，请问{verb}哪一条", options, command, "target")


def _decide_all(session: Session, decider: Member, command: Command, ctx: Context, status: str) -> Reply:
    """都同意: every pending request in the decider's scope, each decided and told as one alone."""
    pending = _pending(session, decider)
    if not pending:
        raise UserError("没有待审批的请假。")
    notices: list[Notice] = []
    for leave in pending:
        notices += _decide_one(session, leave, decider, command, ctx, status).notices
    verb = "同意" if status == "approved" else "驳回"
    listed = names(
        [f"{r.member.name}（{month_day(r.activity.date)}{kind_word(r.activity.kind)}）" for r in pending],
        unit="条",
    )
    return Reply(f"已{verb}{len(pending)}条请假：{listed}。", notices=tuple(notices))


def _decide(session: Session, decider: Member, command: Command, ctx: Context, status: str) -> Reply:
    if command.everyone:
        return _decide_all(session, decider, command, ctx, status)
    leave = _find_request(session, decider, command)
    if isinstance(leave, Reply):
        return leave  # which one: asked
    return _decide_one(session, leave, decider, command, ctx, status)


def _decide_one(
    session: Session, leave: LeaveRequest, decider: Member, command: Command, ctx: Context, status: str
) -> Reply:
    activity = leave.activity
    verb = "同意" if status == "approved" else "驳回"
    if leave.status != "pending":
        by = f"由{leave.decided_by.name}" if leave.decided_by else ""
        return Reply(
            f"请假#{leave.id}（{leave.member.name}，{describe_day(activity.date)}）"
            f"已{by}处理过：{STATUS_WORDS[leave.status]}，无需重复操作。"
        )

    reason = (command.reason or "").strip()
    decided = {"decided_by_id": decider.id, "decided_at": ctx.now, "decision_message_id": ctx.inbound_id}
    if status == "rejected" and reason:
        decided["decision_reason"] = reason[:500]
    if not claim(session, leave, status, **decided):
        raise UserError(f"请假#{leave.id}刚刚已由他人处理，无需重复操作。")

    what = f"请假#{leave.id}（{describe_activity(activity)}）"
    if status == "approved":
        told = f"您的{what}，{decider.name}已同意。"
    else:
        told = f"您的{what}未获批准（{decider.name}）{'，理由：' + reason if reason else ''}，请按时参加。"
    notice = Notice(key=f"leave:{leave.id}:{status}", to_member_id=leave.member_id, text=told)
    return Reply(f"已{verb}{leave.member.name}的{what}。", notices=(notice,))
