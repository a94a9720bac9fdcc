"""补报: attendance at a past activity, reported afterwards (the check-in missed on the day, see
handlers/checkin.py); it counts once a leader confirms it (确认补报) and not if they reject it (驳回补报).

A member's 补报 waits for the group's leaders, told by notice; a leader's 补报 for a member is
confirmed at once. Confirming creates the check-in, marked late_entry, and leaves both changes in the
audit trail.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import cards
from bot.messages import ACTIVITY_KINDS, Button, CardView, Command, Notice, Reply
from bot.periods import parse_period_word
from bot.router import Ask, Context, Router, UserError
from handlers.activities import in_span
from handlers.leave import claim, numbered_request, tell_deciders
from handlers.people import named, one_named, shown_as, where
from handlers.phrasing import describe_activity, describe_day, how_to_decide, kind_word, numbered_choice
from models import Activity, CheckIn, LateEntry, Member
from models.records import ChangedBy, audit

router = Router()

_LEADERS = ("leader", "admin")


def _subject(session: Session, member: Member, command: Command, ctx: Context) -> Member:
    name = command.name
    if (not name or name == member.name) and not ctx.answer.get("member_id"):
        return member
    if member.role not in _LEADERS:
        raise UserError("只能为自己补报；为他人补报请由组长操作。")
    found = one_named(session, name or "", member, command, ctx)
    if found is None:
        raise UserError(f"{where(member)}没有「{name}」，请核对姓名。")
    return found


_LOOKED_BACK = 14  # 上次的学习: the days looked back over for the last activity


def _span(word: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The days before today a span word (bot/reading/text.past_span) names."""
    monday = today - dt.timedelta(days=today.weekday())
    if word == "上周":
        return monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)
    if word == "本周":
        return monday, today - dt.timedelta(days=1)
    period = parse_period_word(word, today)
    if period is not None:
        return period.start, min(period.end, today - dt.timedelta(days=1))
    return today - dt.timedelta(days=_LOOKED_BACK), today - dt.timedelta(days=1)


def _in_span(session: Session, group_id: int, command: Command, today: dt.date) -> Activity:
    """上周的座谈会 / 上次的学习: the one past activity the span holds, else ask for its day."""
    first, last = _span(command.title or "", today)
    found = list(session.scalars(in_span(group_id, command.kind, first, last)))
    what = ACTIVITY_KINDS.get(command.kind, "活动") if command.kind else "活动"
    named = "近两周" if command.title == "上次" else command.title
    if not found:
        raise UserError(f"{named}本组没有{what}，请写明活动日期，例如：补报 11月5日 视察 签到")
    if len(found) > 1 and command.title != "上次":
        days = "、".join(f"{describe_day(a.date)}{kind_word(a.kind)}" for a in found[:5])
        raise UserError(f"{named}本组有{len(found)}个{what}（{days}），请写明日期，例如：补报 {found[0].date.month}月{found[0].date.day}日 签到")
    return found[-1]


def _past_activity(session: Session, group_id: int | None, command: Command, today: dt.date) -> Activity:
    if command.date is None and command.title and group_id is not None:
        return _in_span(session, group_id, command, today)
    if command.date is None:
        raise UserError("请写明活动日期，例如：补报 11月5日 视察 签到")
    if command.date > today:
        raise UserError(f"{describe_day(command.date)}还没到，不能补报；活动当天请直接签到。")
    if group_id is None:
        raise UserError("不属于任何联络组，无需补报。")
    stmt = select(Activity).where(
        Activity.group_id == group_id, Activity.date == command.date, Activity.cancelled.is_(False)
    )
    if command.kind:
        stmt = stmt.where(Activity.kind == command.kind)
    found = sorted(session.scalars(stmt), key=lambda a: (a.time or dt.time.min, a.id))
    if not found:
        what = ACTIVITY_KINDS.get(command.kind, "活动") if command.kind else "活动"
        raise UserError(f"{describe_day(command.date)}本组没有{what}，请核对日期。")
    if len(found) > 1 and not command.kind:
        kinds = "、".join(kind_word(a.kind) for a in found)
        raise UserError(f"{describe_day(command.date)}有{len(found)}个活动（{kinds}），请写明是哪一个。")
    return found[0]


@router.route("late")
def late(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """A member's 补报 waits for the leader; a leader's 补报 for a member is recorded at once."""
    subject = _subject(session, member, command, ctx)
    activity = _past_activity(session, subject.group_id, command, ctx.now.date())
    done = session.scalar(
        select(CheckIn.id).where(CheckIn.activity_id == activity.id, CheckIn.member_id == subject.id)
    )
    if done is not None:
        return Reply(f"{subject.name}已有{describe_activity(activity)}的出席记录，无需补报。")
    entry = session.scalars(
        select(LateEntry).where(
            LateEntry.activity_id == activity.id,
            LateEntry.member_id == subject.id,
            LateEntry.status == "pending",
        )
    ).first()
    by_leader = member.role in _LEADERS and (subject.id != member.id or member.role == "admin")
    if entry is None:
        entry = LateEntry(
            activity_id=activity.id,
            member_id=subject.id,
            requested_by_id=member.id,
            reason=(command.reason or "")[:500] or None,
            status="pending",
            requested_at=ctx.now,
            source_message_id=ctx.inbound_id,
        )
        session.add(entry)
        session.flush()
    elif not by_leader:
        return Reply(f"您已提交补报#{entry.id}（{describe_activity(activity)}），等待组长确认。")
    if by_leader:
        _confirm(session, entry, ChangedBy(member.id, ctx.now, ctx.inbound_id))
        return Reply(f"已为{subject.name}补报#{entry.id}：{describe_activity(activity)}，计为出席。")
    decide = how_to_decide(entry.id, "确认补报", "驳回补报")
    text = f"{subject.name}补报#{entry.id}：{describe_activity(activity)}出席。{decide}。"
    card = None
    if cards.can_show(ctx):  # in the group: [确认] [驳回] for the leader, the typed way still works
        offered = cards.offer(session, "late", entry.id, ctx.now, ctx.inbound_id)
        card = late_card(entry, offered.task_id, f"待组长确认，{decide}", BUTTONS)
    return Reply(
        f"已提交补报#{entry.id}：{describe_activity(activity)}，等待组长确认。",
        notices=tell_deciders(
            session,
            subject,
            f"late:{entry.id}:requested",
            text,
            (("确认", f"确认补报 #{entry.id}"), ("驳回", f"驳回补报 #{entry.id}")),
        ),
        card=card,
    )


BUTTONS = (Button(cards.APPROVE, "确认"), Button(cards.REJECT, "驳回"))
DECISIONS = {cards.APPROVE: "confirmed", cards.REJECT: "rejected"}
_STATUS_WORDS = {"pending": "待组长确认", "confirmed": "已确认", "rejected": "已驳回"}


def late_card(entry: LateEntry, task_id: str, text: str, buttons: tuple[Button, ...] = ()) -> CardView:
    """What the card of 补报 `entry` shows: who, which activity, why, its state line `text`."""
    return CardView(
        task_id=task_id,
        title=f"补报#{entry.id} · {entry.member.name}",
        desc=describe_activity(entry.activity),
        text=text,
        fields=tuple((k, v) for k, v in (("说明", entry.reason), ("驳回理由", entry.decision_reason)) if v),
        buttons=buttons,
    )


def state_line(session: Session, entry: LateEntry, tz: dt.tzinfo | None) -> str:
    """已确认 · 王建国 10:05: a decided 补报's state as its card shows it (the time in `tz`)."""
    words = _STATUS_WORDS[entry.status]
    decider = session.get(Member, entry.decided_by_id) if entry.decided_by_id else None
    if decider is None or entry.decided_at is None:
        return words
    return f"{words} · {decider.name} {entry.decided_at.astimezone(tz):%H:%M}"


def decide(session: Session, entry: LateEntry, decider: Member, ctx: Context, status: str) -> Reply:
    """Decide pending `entry` as the typed 确认补报 #3 / 驳回补报 #3 does; a tap comes here."""
    if status == "confirmed":
        return _confirmed(session, entry, decider, ctx)
    return _rejected(session, entry, decider, ctx, None)


def _confirm(session: Session, entry: LateEntry, by: ChangedBy) -> None:
    """The check-in the 补报 asked for, marked late_entry, and the trail of both changes."""
    checkin = session.scalars(
        select(CheckIn).where(CheckIn.activity_id == entry.activity_id, CheckIn.member_id == entry.member_id)
    ).first()
    if checkin is None:
        checkin = CheckIn(
            activity_id=entry.activity_id,
            member_id=entry.member_id,
            checked_in_at=by.at,
            late_entry=True,
            source_message_id=by.message_id,
        )
        session.add(checkin)
        session.flush()
        audit(session, checkin, "created", None, f"补报#{entry.id}", by)
    _decide(session, entry, "confirmed", by)
    entry.checkin_id = checkin.id


def _decide(session: Session, entry: LateEntry, status: str, by: ChangedBy) -> None:
    """Close the 补报 as `status` (confirmed, rejected), keeping who decided, when and on which message."""
    audit(session, entry, "status", entry.status, status, by)
    decided = {"decided_by_id": by.member_id, "decided_at": by.at, "decision_message_id": by.message_id}
    if not claim(session, entry, status, **decided):
        raise UserError(f"补报#{entry.id}刚刚已由他人处理，无需重复操作。")


def _find_entry(session: Session, decider: Member, command: Command) -> LateEntry:
    """The 补报 the command names: #3 by number, 张三 (or 张山, the same sound) by that member's pending
    one, else the one pending 补报 in the decider's scope. Several: asked which, by number."""
    number, name = command.number, command.name
    if number is not None:
        return numbered_request(session, LateEntry, number, decider, noun="补报", verb="确认")
    stmt = (
        select(LateEntry).join(Member, Member.id == LateEntry.member_id).where(LateEntry.status == "pending")
    )
    if decider.role != "admin":
        stmt = stmt.where(Member.group_id == decider.group_id)
    if name:
        stmt = stmt.where(Member.id.in_([m.id for m in named(session, name, decider)]))
    found = session.scalars(stmt.order_by(LateEntry.id)).all()
    if not found:
        raise UserError(f"没有{name}待确认的补报。" if name else "没有待确认的补报。")
    if len(found) > 1:
        among = [e.member for e in found]
        options = [
            (f"#{e.id} {shown_as(e.member, among)} {describe_activity(e.activity)}", str(e.id)) for e in found
        ]
        verb = "确认" if command.intent == "confirm_late" else "驳回"
        raise Ask(
            numbered_choice(f"有{len(found)}条待确认的补报，请问{verb}哪一条", options, command, "target")
        )
    return found[0]


def _described(entry: LateEntry) -> str:
    """补报#3（张三，11月5日（周三） 视察）."""
    return f"补报#{entry.id}（{entry.member.name}，{describe_activity(entry.activity)}）"


def _already_decided(entry: LateEntry) -> Reply:
    return Reply(f"{_described(entry)}已处理过：{'已确认' if entry.status == 'confirmed' else '已驳回'}。")


@router.route("confirm_late", roles=_LEADERS)
def confirm_late(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    entry = _find_entry(session, member, command)
    if entry.status != "pending":
        return _already_decided(entry)
    return _confirmed(session, entry, member, ctx)


def _confirmed(session: Session, entry: LateEntry, member: Member, ctx: Context) -> Reply:
    _confirm(session, entry, ChangedBy(member.id, ctx.now, ctx.inbound_id))
    what = _described(entry)
    notice = Notice(
        key=f"late:{entry.id}:confirmed",
        to_member_id=entry.member_id,
        text=f"您的{what}，{member.name}已确认，计为出席。",
    )
    return Reply(f"已确认{what}，计为出席。", notices=(notice,))


@router.route("reject_late", roles=_LEADERS)
def reject_late(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    entry = _find_entry(session, member, command)
    if entry.status != "pending":
        return _already_decided(entry)
    return _rejected(session, entry, member, ctx, command.reason)


def _rejected(session: Session, entry: LateEntry, member: Member, ctx: Context, reason: str | None) -> Reply:
    reason = (reason or "").strip()[:500] or None
    _decide(session, entry, "rejected", ChangedBy(member.id, ctx.now, ctx.inbound_id))
    entry.decision_reason = reason
    what = _described(entry)
    because = f"，理由：{reason}" if reason else ""
    notice = Notice(
        key=f"late:{entry.id}:rejected",
        to_member_id=entry.member_id,
        text=f"您的{what}未获确认（{member.name}）{because}。",
    )
    return Reply(f"已驳回{what}{because}。", notices=(notice,))
