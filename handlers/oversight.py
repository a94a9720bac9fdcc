"""What leaders and the office look at beyond the quota table: attendance at one kind of activity,
pending leave and 补报, the county ranking (全县情况), and whose record a leader may read.

Helpers of `handlers.queries` (the status and my intents); read-only, a few aggregate queries each.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import QuotaRule
from bot.messages import ACTIVITY_KINDS, SUBMISSION_KINDS, Command, Reply
from bot.periods import Period, period_of, spoken
from bot.quotas import group_standings
from bot.router import Context, UserError
from handlers.phrasing import MAX_ROWS, describe_activity, kind_word, month_day, names
from models import Activity, CheckIn, LateEntry, LeaveRequest, LiaisonGroup, Member

MAX_GROUPS = 10  # groups behind listed in 全县情况; a phone screen holds about this many lines

# Targets of status/my that are not a person's name.
_CODES = {*SUBMISSION_KINDS, *ACTIVITY_KINDS, "checkin", "leave", "county"}


# -- whose group, whose record -------------------------------------------------------------------


def group_asked(session: Session, member: Member, command: Command, ctx: Context) -> int | None:
    """The group a status query is about: a leader's own; for an admin the one named, else the
    group whose chat this is, else None (every group)."""
    named = (command.content or "").strip() or None
    if named is not None:
        gid = session.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == named))
        if member.role != "admin":
            if gid is None or gid != member.group_id:
                raise UserError("只能查看本组的情况。")
            return gid
        if gid is None:
            raise UserError(f"没有名为「{named}」的联络组。")
        return gid
    if member.role != "admin" or member.group_id is not None:
        return member.group_id
    return ctx.chat_group_id


def record_subject(session: Session, member: Member, command: Command) -> Member:
    """Whose record 我的履职 / 张三的履职 shows: members only their own, leaders their group's, admins any."""
    name = (command.target or "").strip()
    if not name or name in _CODES or name == member.name:
        return member
    if member.role == "member":
        raise UserError("只能查看自己的履职记录，发送「我的履职」。")
    stmt = select(Member).where(Member.name == name).order_by(Member.id)
    if member.role != "admin":
        stmt = stmt.where(Member.group_id == member.group_id)
    found = session.scalars(stmt).all()
    if not found:
        raise UserError(f"{'本组' if member.role != 'admin' else '花名册里'}没有「{name}」。")
    if len(found) > 1:
        raise UserError(f"有{len(found)}位「{name}」，请在其所在联络组的群里查询，或请组长查询。")
    return found[0]


# -- 本季度视察: activities of a kind with attendance --------------------------------------------


def default_period(rules: Sequence[QuotaRule], kind: str, today: dt.date) -> Period:
    """The period a kind's quota rule counts in (视察: the quarter); a kind no rule counts: the quarter."""
    rule = next((r for r in rules if r.source == "activity" and kind in r.kinds), None)
    return period_of(rule.period if rule else "quarter", today)


def attendance(session: Session, group_id: int | None, kind: str, period: Period, today: dt.date) -> Reply:
    """Each activity of `kind` in `period`: who was there, on leave, absent (activities before today)."""
    stmt = select(Activity).where(
        Activity.kind == kind,
        Activity.cancelled.is_(False),
        Activity.date >= period.start,
        Activity.date <= period.end,
    )
    if group_id is not None:
        stmt = stmt.where(Activity.group_id == group_id)
    activities = sorted(session.scalars(stmt), key=lambda a: (a.date, a.time or dt.time.min, a.id))
    label = kind_word(kind)
    when = spoken(period, today)
    if not activities:
        return Reply(f"{when}{'本组' if group_id else '各组'}没有{label}活动。")
    ids = [a.id for a in activities]
    present: dict[int, set[int]] = defaultdict(set)
    for aid, mid in session.execute(
        select(CheckIn.activity_id, CheckIn.member_id).where(CheckIn.activity_id.in_(ids))
    ):
        present[aid].add(mid)
    excused: dict[int, set[int]] = defaultdict(set)
    for aid, mid in session.execute(
        select(LeaveRequest.activity_id, LeaveRequest.member_id).where(
            LeaveRequest.activity_id.in_(ids), LeaveRequest.status == "approved"
        )
    ):
        excused[aid].add(mid)
    groups = {a.group_id for a in activities}
    holders: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for mid, name, gid in session.execute(
        select(Member.id, Member.name, Member.group_id)
        .where(Member.group_id.in_(groups), Member.active.is_(True), Member.role == "member")
        .order_by(Member.id)
    ):
        holders[gid].append((mid, name))
    group_names = (
        dict(
            session.execute(select(LiaisonGroup.id, LiaisonGroup.name).where(LiaisonGroup.id.in_(groups)))
            .tuples()
            .all()
        )
        if group_id is None
        else {}
    )

    lines = [f"{when}{label}{len(activities)}次（{period.label}）："]
    for a in activities[:MAX_ROWS]:
        away = [n for mid, n in holders[a.group_id] if mid in excused[a.id] and mid not in present[a.id]]
        rest = [n for mid, n in holders[a.group_id] if mid not in present[a.id] and mid not in excused[a.id]]
        prefix = f"{group_names[a.group_id]} " if group_names else ""
        # 出席 counts everyone who checked in (leaders too); absence is judged for members only.
        line = f"{prefix}{describe_activity(a)}：出席{len(present[a.id])}人"
        if away:
            line += f"，请假{len(away)}人（{names(away)}）"
        if a.date > today:
            line += "（未开始）"
        elif rest:
            word = "缺席" if a.date < today else "未签到"
            line += f"，{word}{len(rest)}人（{names(rest)}）"
        lines.append(line)
    if len(activities) > MAX_ROWS:
        lines.append(f"…另有{len(activities) - MAX_ROWS}次")
    return Reply("\n".join(lines))


# -- 待审批: pending leave and 补报 ----------------------------------------------------------------


def pending(session: Session, group_id: int | None, today: dt.date) -> Reply:
    """Pending leave and 补报 with their numbers, and leave already granted for coming activities."""
    in_group = [Member.group_id == group_id] if group_id is not None else []
    leaves = session.execute(
        select(LeaveRequest, Member.name, Activity)
        .join(Member, Member.id == LeaveRequest.member_id)
        .join(Activity, Activity.id == LeaveRequest.activity_id)
        .where(*in_group, LeaveRequest.status.in_(("pending", "approved")))
        .where((LeaveRequest.status == "pending") | (Activity.date >= today))
        .order_by(Activity.date, LeaveRequest.id)
    ).all()
    lates = session.execute(
        select(LateEntry, Member.name, Activity)
        .join(Member, Member.id == LateEntry.member_id)
        .join(Activity, Activity.id == LateEntry.activity_id)
        .where(*in_group, LateEntry.status == "pending")
        .order_by(LateEntry.id)
    ).all()
    waiting = [(r, n, a) for r, n, a in leaves if r.status == "pending"]
    granted = [(r, n, a) for r, n, a in leaves if r.status == "approved"]
    if not waiting and not lates and not granted:
        return Reply(f"{'本组' if group_id else '各组'}没有待审批的请假或补报。")
    lines: list[str] = []
    if waiting:
        lines.append(f"待审批请假{len(waiting)}条：")
        for r, n, a in waiting[:MAX_ROWS]:
            lines.append(f"#{r.id} {n} {describe_activity(a)}" + (f"，事由：{r.reason}" if r.reason else ""))
        if len(waiting) > MAX_ROWS:
            lines.append(f"…另有{len(waiting) - MAX_ROWS}条")
        lines.append(f"回复「同意 #{waiting[0][0].id}」或「驳回 #{waiting[0][0].id} 理由」")
    if lates:
        lines.append(f"待确认补报{len(lates)}条：")
        for r, n, a in lates[:MAX_ROWS]:
            lines.append(f"#{r.id} {n} {describe_activity(a)}")
        if len(lates) > MAX_ROWS:
            lines.append(f"…另有{len(lates) - MAX_ROWS}条")
        lines.append(f"回复「确认补报 #{lates[0][0].id}」或「驳回补报 #{lates[0][0].id} 理由」")
    if granted:
        shown = [f"{n}（{month_day(a.date)}{ACTIVITY_KINDS.get(a.kind, '')}）" for _r, n, a in granted]
        lines.append(f"已准假：{names(shown, 5)}")
    return Reply("\n".join(lines))


# -- 全县情况 ----------------------------------------------------------------------------------------


def county(
    session: Session,
    rules: Sequence[QuotaRule],
    now: dt.datetime,
    picker: Callable[[QuotaRule], Period | None] | None,
) -> Reply:
    """Every group on the quota rules, groups behind first (most rules missed, then least done)."""
    if not rules:
        raise UserError("还没有配置履职任务（quotas），请联系县政协办公室。")
    standings = group_standings(session, rules, now, None, picker)
    group_names = dict(session.execute(select(LiaisonGroup.id, LiaisonGroup.name)).tuples().all())
    if not standings:
        return Reply("还没有联络组。")

    def progress(gid: int) -> float:
        rows = standings[gid]
        return sum(min(s.done / s.required, 1) if s.required else 1 for s in rows) / max(len(rows), 1)

    behind = [gid for gid, rows in standings.items() if any(not s.met for s in rows)]
    behind.sort(key=lambda gid: (-sum(not s.met for s in standings[gid]), progress(gid), gid))
    done = [gid for gid in standings if gid not in behind]  # roster order
    today = now.date()
    lines = [f"全县{len(standings)}个联络组履职情况（截至{month_day(today)}）：{len(behind)}个组有未完成任务"]
    for rank, gid in enumerate(behind[:MAX_GROUPS], 1):
        rows = standings[gid]
        missing = "、".join(s.rule.name for s in rows if not s.met)
        lines.append(
            f"{rank}. ❌ {group_names[gid]} {len(rows) - sum(not s.met for s in rows)}/{len(rows)}项（欠：{missing}）"
        )
    if len(behind) > MAX_GROUPS:
        lines.append(f"…另有{len(behind) - MAX_GROUPS}个组未完成")
    if done:
        lines.append(f"✅ 全部完成：{names([group_names[g] for g in done], unit='个组')}")
    return Reply("\n".join(lines))
