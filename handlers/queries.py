"""本组情况 and 我的履职: a leader's view of the group's quotas and who is behind, a member's own record.

Read-only: every answer is computed from the database by `bot.quotas`, for `ctx.now`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import PERIOD_MONTHS, QuotaRule
from bot.messages import ACTIVITY_KINDS, SUBMISSION_KINDS, Command, Person, Reply
from bot.periods import Period, parse_period_word, period_of, spoken
from bot.quotas import MemberCount, RuleStanding, group_standings, member_standings
from bot.router import Context, Router, UserError
from handlers import oversight
from handlers.phrasing import due_note, kind_word, month_day, names
from models import Activity, CheckIn, LeaveRequest, LiaisonGroup, Member

router = Router()

NO_GROUP = "您还没有分到联络组，请联系县政协办公室。"
NO_RULES = "还没有配置履职任务（quotas），请联系县政协办公室。"
UNKNOWN_TARGET = "暂时不能这样查询。发送「本组情况」查看各项任务，或「谁还没交社情民意」「谁没签到」。"
UNKNOWN_PERIOD = "没看懂「{word}」是哪个时期，可以说：本月、上季度、今年、2026年第三季度。"


@router.route("status", roles=("leader", "admin"))
def status(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """The group's standing on each quota rule, or on one (target), or today's check-ins."""
    today = ctx.now.date()
    asked = _asked_period(command.title, today)
    if command.target == "county":  # 全县情况: the office's ranking of every group
        if member.role != "admin":
            raise UserError("只有县政协办公室的管理员可以查看全县情况。")
        return oversight.county(session, ctx.settings.quotas, ctx.now, _period_picker(asked, today))
    group_id = oversight.group_asked(session, member, command, ctx)  # an admin may name any group
    if command.target == "leave":
        return oversight.pending(session, group_id, today)
    if command.target in ACTIVITY_KINDS:
        period = asked or oversight.default_period(ctx.settings.quotas, command.target, today)
        return oversight.attendance(session, group_id, command.target, period, today)
    if group_id is None:
        if member.role != "admin":
            raise UserError(NO_GROUP)
        return _overview(session, command, ctx, asked)
    if command.target == "checkin":
        return _not_checked_in(session, group_id, today)
    if command.target:
        rule = _rule_for(ctx.settings.quotas, command.target)
        if rule is None:
            raise UserError(UNKNOWN_TARGET)
        return _who_owes(session, rule, group_id, ctx, asked)
    if not ctx.settings.quotas:
        raise UserError(NO_RULES)
    standings = group_standings(
        session, ctx.settings.quotas, ctx.now, [group_id], _period_picker(asked, today)
    )[group_id]
    group_name = session.scalar(select(LiaisonGroup.name).where(LiaisonGroup.id == group_id))
    if asked and asked.end < today:
        lines = [f"{group_name}{spoken(asked, today)}履职情况："]
    else:
        lines = [f"{group_name}履职情况（截至{month_day(today)}）："]
    lines += [_rule_line(s, today) for s in standings]
    lines += _behind_lines(standings)
    return Reply("\n".join(lines))


@router.route("my")
def my(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """The member's own record this month, quarter and year, and their member-scope quotas."""
    today = ctx.now.date()
    asked = _asked_period(command.title, today)
    member = oversight.record_subject(session, member, command)  # 张三的履职: a leader's look at one member
    periods = [asked] if asked else [period_of(k, today) for k in ("month", "quarter", "year")]
    record = member_standings(session, ctx.settings.quotas, member.id, periods, ctx.now)
    lines = [f"{member.name}的履职记录（截至{month_day(today)}）："]
    for p in record.periods:
        sent = "、".join(f"{kind_word(k)}{n}件" for k, n in p.submissions) or "未提交材料"
        lines.append(
            f"{spoken(p.period, today)}：{sent}；活动出席{p.attended}次，请假{p.on_leave}次，缺席{p.missed}次"
        )
    personal = [
        f"{'✅' if s.met else '❌'} {s.rule.name} {spoken(s.period, today)} {s.count}/{s.required}"
        + ("" if s.met else due_note(s.deadline, today))
        for s in record.standings
    ]
    if len(lines) + len(personal) > 8:
        personal = ["个人任务：" + "；".join(personal)]
    return Reply("\n".join(lines + personal))


# -- status helpers -------------------------------------------------------------------------------


def _asked_period(word: str | None, today: dt.date) -> Period | None:
    if not word:
        return None
    period = parse_period_word(word, today)
    if period is None and word not in ("本周", "上周", "这周"):
        raise UserError(UNKNOWN_PERIOD.format(word=word))
    return period  # 本周/上周 name no quota period: answer for the current ones


def _period_picker(asked: Period | None, today: dt.date):
    """Which period to judge each rule in when the leader named one (上季度, 今年…).

    A rule of the same kind is judged in the named period; a shorter rule in its period that
    holds the named period's last day seen so far; a longer rule is left out (上月 says nothing
    about the year's project).
    """
    if asked is None:
        return None
    anchor = min(asked.end, today)

    def pick(rule: QuotaRule) -> Period | None:
        if PERIOD_MONTHS[rule.period] > PERIOD_MONTHS[asked.kind]:
            return None
        return asked if rule.period == asked.kind else period_of(rule.period, anchor)

    return pick


def _rule_for(rules: Sequence[QuotaRule], target: str) -> QuotaRule | None:
    """The rule a target names: a quota key, or the first rule counting that kind; a submission
    kind no rule counts (提案 under the 六个至少) is asked about for this year, member by member."""
    for rule in rules:
        if rule.key == target:
            return rule
    for rule in rules:
        if target in rule.kinds:
            return rule
    if target in SUBMISSION_KINDS:
        name = SUBMISSION_KINDS[target]
        return QuotaRule(
            key=f"ad_hoc_{target}",
            name=name,
            source="submission",
            kinds=[target],
            period="year",
            scope="member",
        )
    return None


def _who_owes(session: Session, rule: QuotaRule, group_id: int, ctx: Context, asked: Period | None) -> Reply:
    today = ctx.now.date()
    # The leader asked "who has not …" in a period: judge the rule over exactly that period.
    standing = group_standings(
        session, [rule], ctx.now, [group_id], (lambda _rule: asked) if asked else None
    )[group_id][0]
    when = spoken(standing.period, today)
    verb, what = _verb_and_name(rule)
    owing = standing.owing
    if not owing:
        return Reply(f"{when}全组都{verb}了{what}。")
    return Reply(
        f"{when}还没{verb}{what}的：{names([c.name for c in owing], total=True)}",
        mentions=_persons(session, [c.member_id for c in owing]),
    )


def _verb_and_name(rule: QuotaRule) -> tuple[str, str]:
    if rule.source == "activity":
        return "参加", rule.name
    if len(rule.kinds) == 1:
        return "交", SUBMISSION_KINDS.get(rule.kinds[0], rule.name)  # 社情民意, as members say it
    return "交", rule.name


def _rule_line(s: RuleStanding, today: dt.date) -> str:
    unit = "人" if s.rule.scope == "member" else ""
    line = f"{'✅' if s.met else '❌'} {s.rule.name} {spoken(s.period, today)} {s.done}/{s.required}{unit}"
    return line if s.met else line + due_note(s.deadline, today)


def _behind_lines(standings: Sequence[RuleStanding]) -> list[str]:
    """Who is behind on the unmet rules, one line per distinct list of names.

    A group-scope activity rule names nobody: the group owes the activity, not its members.
    """
    by_names: dict[tuple[int, ...], tuple[list[str], tuple[MemberCount, ...]]] = {}
    for s in standings:
        if s.met or (s.rule.scope == "group" and s.rule.source == "activity") or not s.owing:
            continue
        key = tuple(c.member_id for c in s.owing)
        by_names.setdefault(key, ([], s.owing))[0].append(s.rule.name)
    return [
        f"未完成{'、'.join(rules)}的：{names([c.name for c in owing], total=True)}"
        for rules, owing in by_names.values()
    ]


def _persons(session: Session, member_ids: Sequence[int]) -> tuple[Person, ...]:
    rows = session.scalars(select(Member).where(Member.id.in_(member_ids))).all()
    by_id = {m.id: m for m in rows}
    return tuple(Person.of(m) for m in (by_id[i] for i in member_ids if i in by_id))


def _not_checked_in(session: Session, group_id: int, today: dt.date) -> Reply:
    """Who has neither checked in to nor been excused from each of today's activities."""
    activities = session.scalars(
        select(Activity)
        .where(Activity.group_id == group_id, Activity.date == today, Activity.cancelled.is_(False))
        .order_by(Activity.time, Activity.id)
    ).all()
    if not activities:
        return Reply("今天本组没有活动。")
    ids = [a.id for a in activities]
    present = set(
        session.execute(select(CheckIn.activity_id, CheckIn.member_id).where(CheckIn.activity_id.in_(ids)))
        .tuples()
        .all()
    )
    excused = set(
        session.execute(
            select(LeaveRequest.activity_id, LeaveRequest.member_id).where(
                LeaveRequest.activity_id.in_(ids), LeaveRequest.status == "approved"
            )
        )
        .tuples()
        .all()
    )
    members = session.execute(
        select(Member.id, Member.name)
        .where(Member.group_id == group_id, Member.active.is_(True), Member.role == "member")
        .order_by(Member.id)
    ).all()
    lines, mentioned = [], []
    for a in activities:
        absent = [(mid, name) for mid, name in members if (a.id, mid) not in present | excused]
        title = a.title or ACTIVITY_KINDS.get(a.kind, "活动")
        if absent:
            lines.append(f"今天「{title}」还没签到的：{names([n for _, n in absent], total=True)}")
            mentioned += [mid for mid, _ in absent if mid not in mentioned]
        else:
            lines.append(f"今天「{title}」全员已签到或请假。")
    return Reply("\n".join(lines), mentions=_persons(session, mentioned))


def _overview(session: Session, command: Command, ctx: Context, asked: Period | None) -> Reply:
    """An admin without a group: one line per group (a fuller county view comes later)."""
    today = ctx.now.date()
    rules = list(ctx.settings.quotas)
    if command.target and command.target != "checkin":
        rule = _rule_for(rules, command.target)
        if rule is None:
            raise UserError(UNKNOWN_TARGET)
        rules = [rule]
        picker = (lambda _rule: asked) if asked else None
    else:
        picker = _period_picker(asked, today)
    if not rules:
        raise UserError(NO_RULES)
    standings = group_standings(session, rules, ctx.now, None, picker)
    group_names = dict(session.execute(select(LiaisonGroup.id, LiaisonGroup.name)).tuples().all())
    if len(rules) == 1:
        s0 = next((v[0] for v in standings.values() if v), None)
        head = f"各联络组{rules[0].name}（{spoken(s0.period, today)}）：" if s0 else "还没有联络组。"
        lines = [head] + [
            f"{'✅' if s[0].met else '❌'} {group_names[gid]} {s[0].done}/{s[0].required}"
            + (f"，{len(s[0].owing)}人未{_verb_and_name(rules[0])[0]}" if s[0].owing else "")
            for gid, s in standings.items()
            if s
        ]
        return Reply("\n".join(lines))
    lines = [f"各联络组履职情况（截至{month_day(today)}，共{len(standings)}组）："]
    for gid, group in standings.items():
        missing = [s.rule.name for s in group if not s.met]
        done = len(group) - len(missing)
        line = f"{'✅' if not missing else '❌'} {group_names[gid]} {done}/{len(group)}项"
        lines.append(line + (f"（欠：{'、'.join(missing)}）" if missing else ""))
    return Reply("\n".join(lines))
