"""本组情况 and the leaders' other questions (the status intent): the group's quotas and who is behind,
who owes one kind of work, who has not checked in today, attendance at one kind of activity
(本季度视察), pending leave and 补报 (待审批), the office's county ranking (全县情况), and which group
a question is about.

Read-only: every answer is computed from the database for `ctx.now`, the quota standings by
`bot.quotas`, the rest with one query per question.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bot.config import QuotaRule
from bot.funnel import Funnel, note_funnel
from bot.messages import ACTIVITY_KINDS, SUBMISSION_KINDS, Command, Person, Reply
from bot.periods import Period, parse_period_word, period_of, spoken
from bot.quotas import MemberCount, RuleStanding, group_standings, judged_in, read_gave_nothing
from bot.roster import group_key
from bot.router import Context, Router, UserError
from handlers.phrasing import (
    MAX_ROWS,
    describe_activity,
    describe_day,
    due_note,
    how_to_decide,
    kind_word,
    month_day,
    names,
    quota_unit,
)
from models import Activity, CheckIn, LateEntry, LeaveRequest, LiaisonGroup, Member

router = Router()

MAX_GROUPS = 10  # groups behind listed in 全县情况; a phone screen holds about this many lines
NO_GROUP = "您还没有分到联络组，请联系县政协办公室。"
NO_RULES = "还没有配置履职任务（quotas），请联系县政协办公室。"
UNKNOWN_TARGET = "暂时不能这样查询。发送「本组情况」查看各项任务，或「谁还没交社情民意」「谁没签到」。"
UNKNOWN_PERIOD = "没看懂「{word}」是哪个时期，可以说：本月、上季度、今年、2026年第三季度。"

PeriodPicker = Callable[[QuotaRule], Period | None]


def _members_own(command: Command) -> Command | None:
    """本组情况 / 任务完成了吗 from a member: their own record and the group's open tasks (my, owed);
    a question that names others (谁还没交, 第二联络组, 全县) stays the leaders'."""
    if command.target is None and command.group_name is None and command.reason is None:
        return Command("my", title=command.title, content="owed")
    return None


@router.route("my_group", read_only=True)
def my_group(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """我是哪个组的 / 我们组长是谁 / 组里有几个人: the sender's group, its leaders and its members
    (names only, in roster order; inactive members left out)."""
    if member.group_id is None:
        if member.role == "admin":
            return Reply("您是县政协办公室的管理员，不属于联络组；各组名单见后台（私聊发「后台」）。")
        return Reply("花名册上您还不在任何联络组，请联系县政协办公室。")
    people = session.scalars(
        select(Member).where(Member.group_id == member.group_id, Member.active.is_(True)).order_by(Member.id)
    ).all()
    leaders = "、".join(m.name for m in people if m.role == "leader") or "暂无"
    members = [m.name for m in people if m.role != "leader"]
    group = session.get(LiaisonGroup, member.group_id)
    return Reply(
        f"您在{group.name if group else '本组'}。组长（联络员）：{leaders}；"
        f"委员：{'、'.join(members) or '暂无'}（共{len(members)}人）。"
    )


@router.route("status", roles=("leader", "admin"), read_only=True, others=_members_own)
def status(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """The group's standing on each quota rule, or on one (target), or today's check-ins."""
    today = ctx.now.date()
    asked = asked_period(command.period_word, today)
    if command.target == "county" or (command.target == "journey" and command.group_name == "全县"):
        return _of_the_county(session, member, command, ctx, asked)
    group_id = group_asked(session, member, command, ctx)  # an admin may name any group
    if command.target == "journey":
        return _journey(session, group_id, ctx, asked)
    if command.target == "leave":
        return _pending(session, group_id, today)
    if command.target in ACTIVITY_KINDS:
        period = asked or _default_period(ctx.settings.quotas, command.target, today)
        return _attendance(session, group_id, command.target, period, today)
    if command.target == "attendance":  # 12月8日的座谈会谁没来 / 这个月谁缺席了
        if command.date is not None:
            period = Period("month", command.date, command.date, describe_day(command.date))
        else:
            period = asked or period_of("month", today)
        return _attendance(session, group_id, command.kind, period, today)
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
        if command.reason == "given":  # 本月谁交了社情民意
            return _who_gave(session, rule, group_id, ctx, asked)
        return _who_owes(session, rule, group_id, ctx, asked)
    return _standing(session, group_id, ctx, asked)


def _of_the_county(session: Session, member: Member, command: Command, ctx: Context, asked: Period | None) -> Reply:
    """全县情况 (the ranking of every group, on the rules counting a kind if one is named) and
    全县社情民意采用情况 (the county's funnel): the office's, whichever chat it is asked in."""
    if command.target == "journey":
        if member.role != "admin":
            raise UserError("全县的社情民意流转情况由县政协办公室查看；组长可发「社情民意流转情况」。")
        return _journey(session, None, ctx, asked)
    if member.role != "admin":
        raise UserError("只有县政协办公室的管理员可以查看全县情况。")
    rules = ctx.settings.quotas
    if command.kind:  # 全县这个月社情民意交了多少篇: the rules that count that kind
        rules = [r for r in rules if command.kind in r.kinds]
        if not rules:
            raise UserError(f"县里对{kind_word(command.kind)}没有数量要求，各组情况可发「全县情况」。")
    return _county(session, rules, ctx.now, judged_in(asked, ctx.now.date()), kind=command.kind)


# -- which group, which period -------------------------------------------------------------------


def group_asked(session: Session, member: Member, command: Command, ctx: Context) -> int | None:
    """The group a status query (or an export) is about: a leader's own; for an admin the one
    named, else the group whose chat this is, else None (every group)."""
    named = command.group_name
    if named is not None:
        gid = _group_named(session, named)
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


def _group_named(session: Session, name: str) -> int | None:
    """The group of that name, written either way (第2联络组 is 第二联络组)."""
    gid = session.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == name))
    if gid is not None:
        return gid
    key = group_key(name)
    return next(
        (g for g, n in session.execute(select(LiaisonGroup.id, LiaisonGroup.name)) if group_key(n) == key),
        None,
    )


def asked_period(word: str | None, today: dt.date) -> Period | None:
    """The period a question names (上季度, 今年…); None when it names none."""
    if not word:
        return None
    period = parse_period_word(word, today)
    if period is None and word not in ("本周", "上周", "这周"):
        raise UserError(UNKNOWN_PERIOD.format(word=word))
    return period  # 本周/上周 name no quota period: answer for the current ones


def _default_period(rules: Sequence[QuotaRule], kind: str, today: dt.date) -> Period:
    """The period a kind's quota rule counts in (视察: the quarter); a kind no rule counts: the quarter."""
    rule = next((r for r in rules if r.source == "activity" and kind in r.kinds), None)
    return period_of(rule.period if rule else "quarter", today)


# -- 本组情况: the quota rules, and who owes -----------------------------------------------------------


def _standing(session: Session, group_id: int, ctx: Context, asked: Period | None) -> Reply:
    """The group's line on every quota rule, then who is behind on the unmet ones."""
    if not ctx.settings.quotas:
        raise UserError(NO_RULES)
    today = ctx.now.date()
    standings = group_standings(
        session, ctx.settings.quotas, ctx.now, [group_id], judged_in(asked, today)
    )[group_id]
    group_name = session.scalar(select(LiaisonGroup.name).where(LiaisonGroup.id == group_id))
    if asked and asked.end < today:
        lines = [f"{group_name}{spoken(asked, today)}履职情况："]
    else:
        lines = [f"{group_name}履职情况（截至{month_day(today)}）："]
    lines += [_rule_line(s, today) for s in standings]
    lines += _behind_lines(standings)
    return Reply("\n".join(lines))


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
    standing = _one_standing(session, rule, group_id, ctx, asked)
    when = spoken(standing.period, today)
    verb, what = _verb_and_name(rule)
    owing = standing.owing
    if not owing:
        return Reply(f"{when}全组都{verb}了{what}。")
    return Reply(
        f"{when}还没{verb}{what}的：{names([c.name for c in owing], total=True)}",
        mentions=_persons(session, [c.member_id for c in owing]),
    )


def _one_standing(session: Session, rule: QuotaRule, group_id: int, ctx: Context, asked: Period | None) -> RuleStanding:
    """The group's standing on one rule; a period asked about (谁还没交… 上个月) judges the rule over exactly it."""
    return group_standings(session, [rule], ctx.now, [group_id], (lambda _rule: asked) if asked else None)[group_id][0]


def _who_gave(session: Session, rule: QuotaRule, group_id: int, ctx: Context, asked: Period | None) -> Reply:
    """本月谁交了社情民意: who sent toward the rule in its period, most first, each with their count,
    then who sent nothing — named, not @-ed: a leader's question, not a reminder."""
    standing = _one_standing(session, rule, group_id, ctx, asked)
    when = spoken(standing.period, ctx.now.date())
    verb, what = _verb_and_name(rule)
    counts = standing.holders()
    gave = sorted((c for c in counts if c.count), key=lambda c: -c.count)
    if not gave:
        return Reply(f"{when}本组还没有人{verb}{what}。")
    unit = quota_unit(rule)
    shown = names([f"{c.name}{c.count}{unit}" for c in gave])
    lines = [f"{when}{verb}了{what}的：{shown}（共{len(gave)}人，{sum(c.count for c in gave)}{unit}）"]
    if none := [c.name for c in counts if not c.count]:
        lines.append(f"还没{verb}的：{names(none, total=True)}")
    return Reply("\n".join(lines))


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
    """What the group still owes, and who is behind: the group's submissions as one line (the group
    owes them, not each member) with who has sent nothing this period; each member-scope rule's names.

    A group-scope activity rule names nobody: the group owes the activity, not its members.
    """
    lines = _group_owes([s for s in standings if s.rule.scope == "group" and s.rule.source == "submission"])
    by_names: dict[tuple[int, ...], tuple[list[str], tuple[MemberCount, ...]]] = {}
    for s in standings:
        if not s.met and s.rule.scope == "member" and s.owing:
            key = tuple(c.member_id for c in s.owing)
            by_names.setdefault(key, ([], s.owing))[0].append(s.rule.name)
    return lines + [
        f"未完成{'、'.join(rules)}的：{names([c.name for c in owing], total=True)}"
        for rules, owing in by_names.values()
    ]


def _group_owes(counted: Sequence[RuleStanding]) -> list[str]:
    """本组还差：调研报告1篇 (the group owes it: anyone's counts), then the members who sent nothing
    toward any of the group's submission rules, each in its period (本期还没交过任何材料的)."""
    owed = [s for s in counted if not s.met]
    if not owed:
        return []
    items = "、".join(f"{s.rule.name}{s.required - s.done}{quota_unit(s.rule)}" for s in owed)
    lines = [f"本组还差：{items}（任一位委员交了即算）"]
    read_gave_nothing(counted)  # one query for every rule's members who sent nothing
    silent = [c for c in counted[0].behind_members if all(_gave_none(s, c.member_id) for s in counted[1:])]
    if silent:
        lines.append(f"本期还没交过任何材料的：{names([c.name for c in silent], total=True)}")
    return lines


def _gave_none(standing: RuleStanding, member_id: int) -> bool:
    return any(c.member_id == member_id for c in standing.behind_members)


def _persons(session: Session, member_ids: Sequence[int]) -> tuple[Person, ...]:
    rows = session.scalars(select(Member).where(Member.id.in_(member_ids))).all()
    by_id = {m.id: m for m in rows}
    return tuple(Person.of(m) for m in (by_id[i] for i in member_ids if i in by_id))


# -- who was there: today's check-ins, and attendance at one kind of activity ------------------------

Attendees = dict[int, set[int]]  # activity id -> member ids


def _attendees(session: Session, query: Select[tuple[int, int]]) -> Attendees:
    """The (activity id, member id) pairs `query` selects, by activity."""
    by_activity: Attendees = defaultdict(set)
    for activity_id, member_id in session.execute(query):
        by_activity[activity_id].add(member_id)
    return by_activity


def _checked_in(session: Session, activity_ids: Sequence[int]) -> Attendees:
    """Who checked in to each of the activities (leaders too)."""
    return _attendees(
        session, select(CheckIn.activity_id, CheckIn.member_id).where(CheckIn.activity_id.in_(activity_ids))
    )


def _excused(session: Session, activity_ids: Sequence[int]) -> Attendees:
    """Who has approved leave for each of the activities."""
    return _attendees(
        session,
        select(LeaveRequest.activity_id, LeaveRequest.member_id).where(
            LeaveRequest.activity_id.in_(activity_ids), LeaveRequest.status == "approved"
        ),
    )


def _members_of(session: Session, group_ids: set[int]) -> dict[int, list[tuple[int, str]]]:
    """Each group's active members (id, name) in roster order: those whose absence counts."""
    members: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for member_id, name, group_id in session.execute(
        select(Member.id, Member.name, Member.group_id)
        .where(Member.group_id.in_(group_ids), Member.active.is_(True), Member.role == "member")
        .order_by(Member.id)
    ):
        members[group_id].append((member_id, name))
    return members


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
    present, excused = _checked_in(session, ids), _excused(session, ids)
    members = _members_of(session, {group_id})[group_id]
    lines, mentioned = [], []
    for a in activities:
        absent = [(mid, name) for mid, name in members if mid not in present[a.id] | excused[a.id]]
        title = a.title or ACTIVITY_KINDS.get(a.kind, "活动")
        if absent:
            lines.append(f"今天「{title}」还没签到的：{names([n for _, n in absent], total=True)}")
            mentioned += [mid for mid, _ in absent if mid not in mentioned]
        else:
            lines.append(f"今天「{title}」全员已签到或请假。")
    return Reply("\n".join(lines), mentions=_persons(session, mentioned))


def _attendance(
    session: Session, group_id: int | None, kind: str | None, period: Period, today: dt.date
) -> Reply:
    """Each activity of `kind` (None: any) in `period`: who was there, on leave, absent (activities
    before today). A single day's period is said as that day."""
    activities = _activities_of_kind(session, group_id, kind, period)
    label = kind_word(kind) if kind else ""
    when = period.label if period.start == period.end else spoken(period, today)
    if not activities:
        return Reply(f"{when}{'本组' if group_id else '各组'}没有{label}活动。")
    if not label:
        label = "活动"
    ids = [a.id for a in activities]
    present, excused = _checked_in(session, ids), _excused(session, ids)
    groups = {a.group_id for a in activities}
    members = _members_of(session, groups)
    group_names = _group_names(session, groups) if group_id is None else {}
    span = "" if period.start == period.end else f"（{period.label}）"
    lines = [f"{when}{label}{len(activities)}次{span}："]
    for a in activities[:MAX_ROWS]:
        prefix = f"{group_names[a.group_id]} " if group_names else ""
        lines.append(prefix + _attendance_line(a, present[a.id], excused[a.id], members[a.group_id], today))
    if len(activities) > MAX_ROWS:
        lines.append(f"…另有{len(activities) - MAX_ROWS}次")
    return Reply("\n".join(lines))


def _activities_of_kind(
    session: Session, group_id: int | None, kind: str | None, period: Period
) -> list[Activity]:
    """The activities of `kind` (None: any) held in `period` (in one group, or in all), in date order."""
    stmt = select(Activity).where(
        Activity.kind == kind if kind else Activity.id.is_not(None),
        Activity.cancelled.is_(False),
        Activity.date >= period.start,
        Activity.date <= period.end,
    )
    if group_id is not None:
        stmt = stmt.where(Activity.group_id == group_id)
    return sorted(session.scalars(stmt), key=lambda a: (a.date, a.time or dt.time.min, a.id))


def _group_names(session: Session, group_ids: set[int]) -> dict[int, str]:
    return dict(
        session.execute(select(LiaisonGroup.id, LiaisonGroup.name).where(LiaisonGroup.id.in_(group_ids)))
        .tuples()
        .all()
    )


def _attendance_line(
    activity: Activity,
    present: set[int],
    excused: set[int],
    members: Sequence[tuple[int, str]],
    today: dt.date,
) -> str:
    """12月3日（周四） 视察：出席5人，请假1人（李四），缺席2人（王五、赵六）."""
    away = [n for mid, n in members if mid in excused and mid not in present]
    rest = [n for mid, n in members if mid not in present and mid not in excused]
    # 出席 counts everyone who checked in (leaders too); absence is judged for members only.
    line = f"{describe_activity(activity)}：出席{len(present)}人"
    if away:
        line += f"，请假{len(away)}人（{names(away)}）"
    if activity.date > today:
        line += "（未开始）"
    elif rest:
        word = "缺席" if activity.date < today else "未签到"
        line += f"，{word}{len(rest)}人（{names(rest)}）"
    return line


# -- 待审批: pending leave and 补报 ----------------------------------------------------------------


def _pending(session: Session, group_id: int | None, today: dt.date) -> Reply:
    """Pending leave and 补报 with their numbers, and leave already granted for coming activities."""
    in_group = [Member.group_id == group_id] if group_id is not None else []
    leaves = session.execute(
        select(LeaveRequest, Member.name, Activity)
        .join(Member, Member.id == LeaveRequest.member_id)
        .join(Activity, Activity.id == LeaveRequest.activity_id)
        .where(*in_group, LeaveRequest.status.in_(("pending", "approved")), Activity.cancelled.is_(False))
        .where((LeaveRequest.status == "pending") | (Activity.date >= today))
        .order_by(Activity.date, LeaveRequest.id)
    ).all()
    lates = session.execute(
        select(LateEntry, Member.name, Activity)
        .join(Member, Member.id == LateEntry.member_id)
        .join(Activity, Activity.id == LateEntry.activity_id)
        .where(*in_group, LateEntry.status == "pending", Activity.cancelled.is_(False))
        .order_by(LateEntry.id)
    ).all()
    waiting = [(r, n, a) for r, n, a in leaves if r.status == "pending"]
    granted = [(r, n, a) for r, n, a in leaves if r.status == "approved"]
    if not waiting and not lates and not granted:
        return Reply(f"{'本组' if group_id else '各组'}没有待审批的请假或补报。")
    lines: list[str] = []
    if waiting:
        lines += _numbered(
            f"待审批请假{len(waiting)}条：",
            [
                f"#{r.id} {n} {describe_activity(a)}" + (f"，事由：{r.reason}" if r.reason else "")
                for r, n, a in waiting
            ],
            how_to_decide(waiting[0][0].id),
        )
    if lates:
        lines += _numbered(
            f"待确认补报{len(lates)}条：",
            [f"#{r.id} {n} {describe_activity(a)}" for r, n, a in lates],
            how_to_decide(lates[0][0].id, "确认补报", "驳回补报"),
        )
    if granted:
        shown = [f"{n}（{month_day(a.date)}{ACTIVITY_KINDS.get(a.kind, '')}）" for _r, n, a in granted]
        lines.append(f"已准假：{names(shown, 5)}")
    return Reply("\n".join(lines))


def _numbered(head: str, rows: Sequence[str], how_to_answer: str) -> list[str]:
    """A heading, the first MAX_ROWS requests (…另有N条 for the rest), and how to answer them."""
    more = [f"…另有{len(rows) - MAX_ROWS}条"] if len(rows) > MAX_ROWS else []
    return [head, *rows[:MAX_ROWS], *more, how_to_answer]


# -- every group: 全县情况, and an admin's overview --------------------------------------------------


def _county(
    session: Session,
    rules: Sequence[QuotaRule],
    now: dt.datetime,
    picker: PeriodPicker | None,
    kind: str | None = None,
) -> Reply:
    """Every group on the quota rules, groups behind first (most rules missed, then least done);
    asked about one kind, the county's total of it first."""
    if not rules:
        raise UserError(NO_RULES)
    standings = group_standings(session, rules, now, None, picker)
    group_names = dict(session.execute(select(LiaisonGroup.id, LiaisonGroup.name)).tuples().all())
    if not standings:
        return Reply("还没有联络组。")

    behind = _behind_first(standings)
    done = [gid for gid in standings if gid not in behind]  # roster order
    today = now.date()
    counted = [s for rows in standings.values() for s in rows if s.rule is rules[0] and s.rule.scope == "group"]
    one_kind = bool(kind and counted)  # the group's count of the kind, and the county's total
    unit = quota_unit(rules[0])
    if one_kind:
        what = f"{kind_word(kind)}{spoken(counted[0].period, today)}共{sum(s.done for s in counted)}{unit}"
        lines = [f"全县{what}（截至{month_day(today)}，{rules[0].name}）：{len(behind)}个组未完成"]
    else:
        lines = [f"全县{len(standings)}个联络组履职情况（截至{month_day(today)}）：{len(behind)}个组有未完成任务"]
    lines += [
        f"{rank}. ❌ {group_names[gid]} {_county_cell(standings[gid], unit if one_kind else None)}"
        for rank, gid in enumerate(behind[:MAX_GROUPS], 1)
    ]
    if len(behind) > MAX_GROUPS:
        lines.append(f"…另有{len(behind) - MAX_GROUPS}个组未完成")
    if done:
        lines.append(f"✅ 全部完成：{names([group_names[g] for g in done], unit='个组')}")
    return Reply("\n".join(lines))


def _behind_first(standings: dict[int, list[RuleStanding]]) -> list[int]:
    """The groups with a rule not met: most rules missed first, then the least done."""

    def progress(gid: int) -> float:
        rows = standings[gid]
        return sum(min(s.done / s.required, 1) if s.required else 1 for s in rows) / max(len(rows), 1)

    behind = [gid for gid, rows in standings.items() if any(not s.met for s in rows)]
    return sorted(behind, key=lambda gid: (-sum(not s.met for s in standings[gid]), progress(gid), gid))


def _county_cell(rows: Sequence[RuleStanding], unit: str | None) -> str:
    """A group behind: its count of the one kind asked about (2/3篇), or the rules met and the missed."""
    if unit is not None and len(rows) == 1:
        return f"{rows[0].done}/{rows[0].required}{unit}"
    missing = "、".join(s.rule.name for s in rows if not s.met)
    return f"{len(rows) - sum(not s.met for s in rows)}/{len(rows)}项（欠：{missing}）"


def _journey(session: Session, group_id: int | None, ctx: Context, asked: Period | None) -> Reply:
    """社情民意流转情况: the funnel of the group's (or, for the office, the county's) notes this year."""
    today = ctx.now.date()
    period = asked or period_of("year", today)
    by_group = note_funnel(session, period, ctx.settings.tz, group_ids=None if group_id is None else [group_id])
    f = sum(by_group.values(), Funnel())
    whose = session.get(LiaisonGroup, group_id).name if group_id is not None else "全县"
    if not f.submitted:
        return Reply(f"{whose}{spoken(period, today)}还没有社情民意。")
    levels = f"（{f.levels()}）" if f.adopted_total else ""
    return Reply(
        f"{whose}{spoken(period, today)}社情民意：提交{f.submitted}篇，退回修改{f.returned}篇，编报{f.in_bulletin}篇，"
        f"报送{f.reported}篇，采用{f.adopted_total}篇{levels}，获批示{f.instructed}篇，有办理反馈{f.feedback}篇。"
    )


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
        picker = judged_in(asked, today)
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
