"""我的履职 (the my intent): a member's own duty record this month, quarter and year, with their
member-scope quotas; a leader's look at one member of the group (张三的履职), an admin's at anyone.

Read-only: the record is computed from the database by `bot.quotas`, for `ctx.now`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.messages import ACTIVITY_KINDS, SUBMISSION_KINDS, SUBMISSION_STATUS_WORDS, Command, Reply
from bot.periods import period_of, spoken
from bot.quotas import MemberRecord, PeriodRecord, group_standings, member_standings
from bot.router import Context, Router
from handlers.leave import STATUS_WORDS as LEAVE_STATUS_WORDS
from handlers.people import asked_about
from handlers.phrasing import MAX_ROWS, describe_activity, due_note, kind_word, month_day, quota_unit
from handlers.status import asked_period
from models import Activity, LeaveRequest, Member, Submission, SubmissionEvent

router = Router()

# Targets of status/my that are not a person's name.
_CODES = {*SUBMISSION_KINDS, *ACTIVITY_KINDS, "checkin", "leave", "county"}


@router.route("my", read_only=True)
def my(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """The member's own record this month, quarter and year, and their member-scope quotas; asked
    about one kind (我今年交了几篇社情民意), that kind's count."""
    today = ctx.now.date()
    asked = asked_period(command.period_word, today)
    member = record_subject(session, member, command, ctx)  # 张三的履职: a leader's look at one member
    if command.target == "leave":
        return _leave_requests(session, member, ctx)
    periods = [asked] if asked else [period_of(k, today) for k in ("month", "quarter", "year")]
    record = member_standings(session, ctx.settings.quotas, member.id, member.group_id, periods, ctx.now)
    if command.target in SUBMISSION_KINDS:
        if command.content == "owed":  # 这个月还要交几篇社情民意: the count and what is required of it
            return Reply(_kind_count(record, command.target, today) + _required(session, member, record, command.target, ctx))
        listed = _notes(session, member, command.target, ctx) if command.content == "notes" else []
        return Reply("\n".join([_kind_count(record, command.target, today), *listed]))
    lines = [f"{member.name}的履职记录（截至{month_day(today)}）："]
    for p in record.periods:
        sent = "、".join(f"{kind_word(k)}{n}件" for k, n in p.submissions) or "未提交材料"
        adopted = f"；{_adopted(p)}" if p.adopted else ""
        lines.append(
            f"{spoken(p.period, today)}：{sent}{adopted}；活动出席{p.attended}次，请假{p.on_leave}次，缺席{p.missed}次"
        )
    personal = [
        f"{'✅' if s.met else '❌'} {s.rule.name} {spoken(s.period, today)} {s.count}/{s.required}"
        + ("" if s.met else due_note(s.deadline, today))
        for s in record.standings
    ]
    if len(lines) + len(personal) > 8:
        personal = ["个人任务：" + "；".join(personal)]
    if command.content == "owed":  # 我这个月还有什么没完成: the group's open tasks too
        personal.append(_group_open(session, member, ctx))
    return Reply("\n".join(lines + personal))


def _group_open(session: Session, member: Member, ctx: Context) -> str:
    """本组还差：意见建议1篇（截止12月20日）、…: the group-scope tasks not yet met, each in its period."""
    rules = [r for r in ctx.settings.quotas if r.scope == "group"]
    if not rules or member.group_id is None:
        return "本组没有按组统计的任务。"
    today = ctx.now.date()
    rows = group_standings(session, rules, ctx.now, group_ids=[member.group_id], leaders={}).get(member.group_id, [])
    owed = [
        f"{s.rule.name}{s.required - s.done}{quota_unit(s.rule)}{due_note(s.deadline, today)}"
        for s in rows
        if not s.met
    ]
    if not owed:
        return "本组各项任务本期都已完成。"
    return f"本组还差：{'、'.join(owed)}（按组统计，任一位委员完成即算）"


def _leave_requests(session: Session, member: Member, ctx: Context) -> Reply:
    """我请的假批了没: the member's leave requests for activities of the last 30 days and to come,
    latest activity first, each with what became of it (one query)."""
    since = ctx.now.date() - dt.timedelta(days=30)
    rows = session.execute(
        select(LeaveRequest, Activity, Member.name)
        .join(Activity, Activity.id == LeaveRequest.activity_id)
        .outerjoin(Member, Member.id == LeaveRequest.decided_by_id)
        .where(LeaveRequest.member_id == member.id, Activity.date >= since)
        .order_by(Activity.date.desc(), LeaveRequest.id.desc())
        .limit(MAX_ROWS)
    ).all()
    if not rows:
        return Reply("您近30天和今后没有请假记录。请假请发：请假 活动日期 事由，例如「请假 明天的视察 家里有事」。")
    lines = ["您的请假："]
    for leave, activity, decider in rows:
        state = LEAVE_STATUS_WORDS.get(leave.status, leave.status)
        if leave.status in ("approved", "rejected") and decider:
            state += f"（{decider}）"
        if leave.status == "rejected" and leave.decision_reason:
            state += f"：{leave.decision_reason}"
        lines.append(f"#{leave.id} {describe_activity(activity)} {state}")
    return Reply("\n".join(lines))


def _adopted(p: PeriodRecord, kind: str | None = None, unit: str = "件") -> str:
    """采用2件（市级1件、县级1件）: the period's adopted submissions (of one kind), by level."""
    levels: dict[str, int] = {}
    for k, level, n in p.adopted:
        if kind is None or k == kind:
            levels[level] = levels.get(level, 0) + n
    total = sum(levels.values())
    return f"采用{total}{unit}（{'、'.join(f'{lv}{n}{unit}' for lv, n in levels.items())}）" if total else ""


def _kind_count(record: MemberRecord, kind: str, today: dt.date) -> str:
    """您今年交了社情民意5篇，采用2件（市级1件、县级1件）: one kind in each period asked about."""
    unit = "件" if kind == "project" else "篇"
    parts = []
    for p in record.periods:
        n = dict(p.submissions).get(kind, 0)
        adopted = _adopted(p, kind, unit)
        parts.append(f"{spoken(p.period, today)}{n}{unit}" + (f"，{adopted}" if adopted else ""))
    if len(record.periods) == 1 and not dict(record.periods[0].submissions).get(kind):
        return f"您{spoken(record.periods[0].period, today)}还没有交{kind_word(kind)}。"
    return f"您交的{kind_word(kind)}：{'；'.join(parts)}。"


def _required(session: Session, member: Member, record: MemberRecord, kind: str, ctx: Context) -> str:
    """What the quotas ask of `kind`, each in its own period: the member's own (member-scope rules)
    and the group's (group scope: anyone's note counts), with what is done and what is missing."""
    today, unit = ctx.now.date(), "件" if kind == "project" else "篇"  # as the count before it says
    rules = [r for r in ctx.settings.quotas if r.source == "submission" and kind in r.kinds]
    if not rules:
        return f"县里对{kind_word(kind)}没有数量要求。"
    own = {s.rule.key: s for s in record.standings}
    group = [r for r in rules if r.scope == "group"]
    standings = (
        group_standings(session, group, ctx.now, group_ids=[member.group_id], leaders={})
        if group and member.group_id is not None
        else {}
    ).get(member.group_id, [])
    parts = []
    for s in standings:
        state = "已完成" if s.met else f"还差{s.required - s.done}{unit}{due_note(s.deadline, today)}，任一位委员交了即算"
        parts.append(f"本组{spoken(s.period, today)}要求至少{s.required}{unit}，已交{s.done}{unit}，{state}")
    for r in rules:
        if (s := own.get(r.key)) is not None:
            state = "已完成" if s.met else f"还差{s.required - s.count}{unit}{due_note(s.deadline, today)}"
            parts.append(f"每人{spoken(s.period, today)}至少{s.required}{unit}，您已交{s.count}{unit}，{state}")
    return "；".join(parts) + "。" if parts else ""


def _notes(session: Session, member: Member, kind: str, ctx: Context) -> list[str]:
    """#12《关于路灯的建议》已采用（省级，批示2次）: the member's latest notes of `kind` and their state."""
    rows = session.scalars(
        select(Submission)
        .where(Submission.member_id == member.id, Submission.kind == kind)
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())
        .limit(MAX_ROWS + 1)
    ).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    steps = dict.fromkeys(ids, 0)
    for sid, n in session.execute(
        select(SubmissionEvent.submission_id, func.count())
        .where(SubmissionEvent.submission_id.in_(ids), SubmissionEvent.kind == "instructed")
        .group_by(SubmissionEvent.submission_id)
    ):
        steps[sid] = n
    lines = []
    for r in rows[:MAX_ROWS]:
        notes = [r.adopted_level] if r.status == "adopted" and r.adopted_level else []
        notes += [f"批示{steps[r.id]}次"] if steps[r.id] else []
        more = f"（{'，'.join(notes)}）" if notes else ""
        day = r.submitted_at.astimezone(ctx.settings.tz).date()
        when = month_day(day) if day.year == ctx.now.year else f"{day.year}年{month_day(day)}"
        lines.append(f"#{r.id}《{r.title[:20]}》{when} {SUBMISSION_STATUS_WORDS.get(r.status, r.status)}{more}")
    if len(rows) > MAX_ROWS:
        lines.append("……更早的见履职档案（导出）")
    return lines


def record_subject(session: Session, member: Member, command: Command, ctx: Context) -> Member:
    """Whose record 我的履职 / 张三的履职 shows: members only their own, leaders their group's, admins any."""
    name = None if command.name in _CODES else command.name
    own_only = "只能查看自己的履职记录，发送「我的履职」。"
    return asked_about(session, member, name, command, ctx, own_only=own_only, missing="{where}没有「{name}」。")
