"""Where each liaison group (or member) stands on the quota rules (六个至少) in a period.

A pure function of a session, the rules and `now`: no clock, no writes. Counting uses one
aggregate query per rule (two for activity rules) plus one roster query, whatever the number
of groups or members, so a province (3,000 groups, 30,000 members) costs a dozen queries.

What counts:
- submission rules: submissions of the rule's kinds, not withdrawn, submitted within the period
  (local dates of the settings' timezone, taken from `now`);
- activity rules: activities of the rule's kinds, not cancelled, dated within the period and not
  after today. A group-scope rule counts the activities the group held; a member-scope rule counts
  the member's check-ins at such activities (of any group).

Who owes: the quota holders of a group are its active members with role "member". Leaders
(组长, 联络员) are reminded for the group and their own submissions still count toward the group's
total, but they are never listed as behind; inactive members never are either.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from bot.config import QuotaRule
from bot.periods import Period, deadline, period_of
from models import Activity, CheckIn, LeaveRequest, LiaisonGroup, Member, Submission

__all__ = [
    "ADOPTION_ORDER",
    "QUOTA_ROLES",
    "MemberCount",
    "RuleStanding",
    "MemberStanding",
    "PeriodRecord",
    "MemberRecord",
    "group_standings",
    "member_standings",
    "period_bounds",
]

QUOTA_ROLES = ("member",)  # roles that hold a personal share of the quotas

PeriodFor = Callable[[QuotaRule], Period | None]


@dataclass(frozen=True)
class MemberCount:
    member_id: int
    name: str
    count: int


@dataclass(frozen=True)
class RuleStanding:
    """One rule for one group in one period.

    Group scope: `done` is the group's total and `required` the rule's minimum.
    Member scope: `done` is how many quota holders reached the minimum and `required` how many
    quota holders there are (so 3/4 reads "three of four members"); `met` means all of them did.
    """

    rule: QuotaRule
    group_id: int
    period: Period
    deadline: dt.date
    done: int
    required: int
    met: bool
    behind: tuple[MemberCount, ...]  # member scope: holders below the minimum; group scope: ()
    remind: tuple[int, ...]  # member ids to remind while not met: the leaders, or the members behind
    # What `behind_members` is built from, only when someone asks: at province scale building it
    # for every group and rule was most of the time of a county-wide standing.
    _holders: Sequence[_Holder] = field(default=(), repr=False, compare=False)
    _by_member: Mapping[int, int] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def behind_members(self) -> tuple[MemberCount, ...]:
        """Quota holders who contributed nothing in the period (谁还没交…)."""
        return tuple(
            MemberCount(h.member_id, h.name, 0) for h in self._holders if not self._by_member.get(h.member_id)
        )

    @property
    def owing(self) -> tuple[MemberCount, ...]:
        """The names to list for "who has not …": members below their share, or who gave nothing."""
        return self.behind if self.rule.scope == "member" else self.behind_members


@dataclass(frozen=True)
class MemberStanding:
    """One member-scope rule for one member in the period containing `now`."""

    rule: QuotaRule
    period: Period
    deadline: dt.date
    count: int
    required: int
    met: bool


@dataclass(frozen=True)
class PeriodRecord:
    """A member's record in one period (activities up to today only)."""

    period: Period
    submissions: tuple[tuple[str, int], ...]  # (kind, count) for kinds with count > 0, in rule order
    adopted: tuple[tuple[str, str, int], ...]  # (kind, level, count) of those adopted, highest level first
    attended: int  # check-ins
    on_leave: int  # group activities missed with approved leave
    missed: int  # group activities before today with neither check-in nor approved leave


@dataclass(frozen=True)
class MemberRecord:
    member_id: int
    periods: tuple[PeriodRecord, ...]
    standings: tuple[MemberStanding, ...]  # every member-scope rule, in its current period


def period_bounds(period: Period, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The period as aware datetimes [start, end) in `tz` (for timestamp columns)."""
    return _midnight(period.start, tz), _midnight(period.end + dt.timedelta(days=1), tz)


def _midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tz)


@dataclass(frozen=True)
class _Holder:
    member_id: int
    name: str
    group_id: int
    role: str


def group_standings(
    session: Session,
    rules: Sequence[QuotaRule],
    now: dt.datetime,
    group_ids: Iterable[int] | None = None,
    period_for: PeriodFor | None = None,
) -> dict[int, list[RuleStanding]]:
    """Each group's standing on each rule, in rule order: {group_id: [RuleStanding, …]}.

    `group_ids` None means every group. `period_for(rule)` picks the period to judge a rule in
    (default: the rule's period containing `now`); returning None leaves the rule out.
    """
    tz = now.tzinfo
    today = now.date()
    pick = period_for or (lambda rule: period_of(rule.period, today))
    wanted = sorted(set(group_ids)) if group_ids is not None else None

    group_stmt = select(LiaisonGroup.id).order_by(LiaisonGroup.id)
    if wanted is not None:
        group_stmt = group_stmt.where(LiaisonGroup.id.in_(wanted))
    groups = list(session.scalars(group_stmt))
    holders, leaders = _holders_and_leaders(session, wanted)

    result: dict[int, list[RuleStanding]] = {gid: [] for gid in groups}
    for rule in rules:
        period = pick(rule)
        if period is None:
            continue
        by_group, by_member = _counts(session, rule, period, tz, today, wanted)
        due = deadline(rule, period)
        for gid in groups:
            result[gid].append(
                _standing(rule, gid, period, due, holders[gid], leaders[gid], by_group, by_member)
            )
    return result


def _holders_and_leaders(
    session: Session, wanted: list[int] | None
) -> tuple[dict[int, list[_Holder]], dict[int, list[int]]]:
    """Per group: its quota holders, and its leaders' member ids (one roster query)."""
    stmt = select(Member.id, Member.name, Member.group_id, Member.role).where(
        Member.active.is_(True), Member.group_id.is_not(None), Member.role.in_(("member", "leader"))
    )
    if wanted is not None:
        stmt = stmt.where(Member.group_id.in_(wanted))
    holders: dict[int, list[_Holder]] = defaultdict(list)
    leaders: dict[int, list[int]] = defaultdict(list)
    for mid, name, gid, role in session.execute(stmt.order_by(Member.id)):
        if role in QUOTA_ROLES:
            holders[gid].append(_Holder(mid, name, gid, role))
        if role == "leader":
            leaders[gid].append(mid)
    return holders, leaders


def _standing(
    rule: QuotaRule,
    gid: int,
    period: Period,
    due: dt.date,
    holders: list[_Holder],
    leaders: list[int],
    by_group: dict[int, int],
    by_member: dict[int, int],
) -> RuleStanding:
    if rule.scope == "member":
        counted = [MemberCount(h.member_id, h.name, by_member.get(h.member_id, 0)) for h in holders]
        behind = tuple(c for c in counted if c.count < rule.minimum)
        done, required = len(counted) - len(behind), len(counted)
        met = not behind
        remind = tuple(c.member_id for c in behind)
    else:
        behind = ()
        done, required = by_group.get(gid, 0), rule.minimum
        met = done >= required
        remind = () if met else tuple(leaders)
    return RuleStanding(rule, gid, period, due, done, required, met, behind, remind, holders, by_member)


def _in_period_submissions(rule: QuotaRule, period: Period, tz: dt.tzinfo) -> list[ColumnElement[bool]]:
    start, end = period_bounds(period, tz)
    return [
        Submission.kind.in_(rule.kinds),
        Submission.status != "withdrawn",
        Submission.submitted_at >= start,
        Submission.submitted_at < end,
    ]


def _in_period_activities(rule: QuotaRule, period: Period, today: dt.date) -> list[ColumnElement[bool]]:
    return [
        Activity.kind.in_(rule.kinds),
        Activity.cancelled.is_(False),
        Activity.date >= period.start,
        Activity.date <= min(period.end, today),
    ]


def _counts(
    session: Session,
    rule: QuotaRule,
    period: Period,
    tz: dt.tzinfo,
    today: dt.date,
    wanted: list[int] | None,
) -> tuple[dict[int, int], dict[int, int]]:
    """(count per group, count per member) for one rule in one period, by aggregate queries."""
    in_groups = select(Member.id).where(Member.group_id.in_(wanted)) if wanted is not None else None
    by_group: dict[int, int] = defaultdict(int)
    by_member: dict[int, int] = defaultdict(int)
    if rule.source == "submission":
        # One query: (group, member) pairs give both the group's total and each member's share.
        stmt = select(Submission.group_id, Submission.member_id, func.count()).where(
            *_in_period_submissions(rule, period, tz)
        )
        if wanted is not None:
            stmt = stmt.where(or_(Submission.group_id.in_(wanted), Submission.member_id.in_(in_groups)))
        for gid, mid, n in session.execute(stmt.group_by(Submission.group_id, Submission.member_id)):
            if gid is not None:
                by_group[gid] += n
            by_member[mid] += n
        return by_group, by_member

    # Activity rules need two queries: activities held per group, and check-ins per member.
    held = select(Activity.group_id, func.count()).where(*_in_period_activities(rule, period, today))
    if wanted is not None:
        held = held.where(Activity.group_id.in_(wanted))
    by_group.update(session.execute(held.group_by(Activity.group_id)).tuples().all())
    attended = (
        select(CheckIn.member_id, func.count())
        .join(Activity, Activity.id == CheckIn.activity_id)
        .where(*_in_period_activities(rule, period, today))
    )
    if wanted is not None:
        attended = attended.where(CheckIn.member_id.in_(in_groups))
    by_member.update(session.execute(attended.group_by(CheckIn.member_id)).tuples().all())
    return by_group, by_member


def member_standings(
    session: Session,
    rules: Sequence[QuotaRule],
    member_id: int,
    periods: Sequence[Period],
    now: dt.datetime,
) -> MemberRecord:
    """A member's own record (for 我的履职): counts per submission kind and attendance in each of
    `periods`, and their standing on every member-scope rule in the period containing `now`.

    Three queries over the span of all periods involved; a member's year is a few dozen rows.
    """
    today = now.date()
    mine = [r for r in rules if r.scope == "member"]
    rule_periods = [period_of(r.period, today) for r in mine]
    span = [*periods, *rule_periods]
    if not span:
        return MemberRecord(member_id, (), ())
    first = min(p.start for p in span)
    last = max(p.end for p in span)
    sent = _sent(session, member_id, first, last, now.tzinfo)
    group_id = session.scalar(select(Member.group_id).where(Member.id == member_id))
    activities = _activities_seen(session, member_id, group_id, first, min(last, today))
    order = _kind_order(rules)
    records = tuple(_period_record(p, sent, activities, group_id, today, order) for p in periods)
    standings = tuple(
        _member_standing(r, p, sent, activities) for r, p in zip(mine, rule_periods, strict=True)
    )
    return MemberRecord(member_id, records, standings)


@dataclass(frozen=True)
class _Seen:
    """An activity as one member saw it."""

    kind: str
    date: dt.date
    group_id: int
    was_there: bool
    was_excused: bool


@dataclass(frozen=True)
class _Sent:
    """A submission as its author's record counts it."""

    kind: str
    day: dt.date  # local date submitted
    adopted_level: str | None  # 县级…全国 once adopted (采用)


ADOPTION_ORDER = ("全国", "省级", "市级", "县级")  # highest first, as a record lists them


def _sent(session: Session, member_id: int, first: dt.date, last: dt.date, tz: dt.tzinfo) -> list[_Sent]:
    """The member's submissions, not withdrawn, from `first` to `last`."""
    return [
        _Sent(kind, at.astimezone(tz).date(), level if status == "adopted" else None)
        for kind, at, status, level in session.execute(
            select(
                Submission.kind, Submission.submitted_at, Submission.status, Submission.adopted_level
            ).where(
                Submission.member_id == member_id,
                Submission.status != "withdrawn",
                Submission.submitted_at >= _midnight(first, tz),
                Submission.submitted_at < _midnight(last + dt.timedelta(days=1), tz),
            )
        )
    ]


def _activities_seen(
    session: Session, member_id: int, group_id: int | None, first: dt.date, last: dt.date
) -> list[_Seen]:
    """The activities, not cancelled, from `first` to `last`, of the member's group or checked in at."""
    checked = select(CheckIn.id).where(CheckIn.activity_id == Activity.id, CheckIn.member_id == member_id)
    excused = select(LeaveRequest.id).where(
        LeaveRequest.activity_id == Activity.id,
        LeaveRequest.member_id == member_id,
        LeaveRequest.status == "approved",
    )
    own_group = Activity.group_id == group_id if group_id is not None else Activity.id.is_(None)
    rows = session.execute(
        select(Activity.kind, Activity.date, Activity.group_id, checked.exists(), excused.exists()).where(
            Activity.cancelled.is_(False),
            Activity.date >= first,
            Activity.date <= last,
            or_(own_group, checked.exists()),
        )
    )
    return [_Seen(*row) for row in rows]


def _period_record(
    period: Period,
    sent: list[_Sent],
    activities: list[_Seen],
    group_id: int | None,
    today: dt.date,
    order: dict[str, int],
) -> PeriodRecord:
    kinds: dict[str, int] = defaultdict(int)
    adopted: dict[tuple[str, str], int] = defaultdict(int)
    for note in sent:
        if note.day in period:
            kinds[note.kind] += 1
            if note.adopted_level:
                adopted[(note.kind, note.adopted_level)] += 1
    attended = on_leave = missed = 0
    for a in activities:
        if a.date not in period:
            continue
        if a.was_there:
            attended += 1
        elif a.group_id == group_id and a.was_excused:
            on_leave += 1
        elif a.group_id == group_id and a.date < today:
            missed += 1  # today's activity may still be ahead: not missed yet
    counts = tuple(sorted(kinds.items(), key=lambda kv: order.get(kv[0], len(order))))
    return PeriodRecord(period, counts, _by_level(adopted, order), attended, on_leave, missed)


def _by_level(
    adopted: Mapping[tuple[str, str], int], order: dict[str, int]
) -> tuple[tuple[str, str, int], ...]:
    def rank(item: tuple[tuple[str, str], int]) -> tuple[int, int]:
        (kind, level), _n = item
        levels = ADOPTION_ORDER.index(level) if level in ADOPTION_ORDER else len(ADOPTION_ORDER)
        return order.get(kind, len(order)), levels

    return tuple((kind, level, n) for (kind, level), n in sorted(adopted.items(), key=rank))


def _member_standing(
    rule: QuotaRule, period: Period, sent: list[_Sent], activities: list[_Seen]
) -> MemberStanding:
    if rule.source == "submission":
        n = sum(1 for note in sent if note.kind in rule.kinds and note.day in period)
    else:
        n = sum(1 for a in activities if a.was_there and a.kind in rule.kinds and a.date in period)
    return MemberStanding(rule, period, deadline(rule, period), n, rule.minimum, n >= rule.minimum)


def _kind_order(rules: Sequence[QuotaRule]) -> dict[str, int]:
    # Submission kinds in a stable, familiar order: the usual five first, then any in the rules.
    order = ["opinion", "suggestion", "report", "project", "proposal"]
    for rule in rules:
        order.extend(k for k in rule.kinds if k not in order)
    return {k: i for i, k in enumerate(order)}
