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
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    Subquery,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from bot.config import ADOPTION_LEVEL_NAMES, PERIOD_MONTHS, QuotaRule
from bot.periods import Period, deadline, period_of
from models import Activity, CheckIn, LeaveRequest, LiaisonGroup, Member, Submission, among_wanted, read

__all__ = [
    "ADOPTION_ORDER",
    "QUOTA_ROLES",
    "MemberCount",
    "RuleStanding",
    "MemberStanding",
    "PeriodRecord",
    "MemberRecord",
    "group_standings",
    "leaders_by_group",
    "judged_in",
    "read_gave_nothing",
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


class RuleStanding:
    """One rule for one group in one period.

    Group scope: `done` is the group's total and `required` the rule's minimum.
    Member scope: `done` is how many quota holders reached the minimum and `required` how many
    quota holders there are (so 3/4 reads "three of four members"); `met` means all of them did.

    A small object over what its rule shares (`_Judged`): a province's standing is 18,000 of them.
    """

    __slots__ = ("_judged", "group_id", "done", "required", "behind")

    def __init__(
        self, judged: _Judged, group_id: int, done: int, required: int, behind: tuple[MemberCount, ...]
    ) -> None:
        self._judged = judged
        self.group_id = group_id
        self.done = done
        self.required = required
        self.behind = behind  # member scope: holders below the minimum; group scope: ()

    def __repr__(self) -> str:
        return (
            f"RuleStanding({self.rule.key!r}, group {self.group_id}, {self.period.label}, "
            f"{self.done}/{self.required}, met={self.met})"
        )

    @property
    def rule(self) -> QuotaRule:
        return self._judged.rule

    @property
    def period(self) -> Period:
        return self._judged.period

    @property
    def deadline(self) -> dt.date:
        return self._judged.deadline

    @property
    def met(self) -> bool:
        return not self.behind if self.rule.scope == "member" else self.done >= self.required

    @property
    def remind(self) -> tuple[int, ...]:
        """Member ids to remind while not met: the members behind, or the group's leaders."""
        if self.rule.scope == "member":
            return tuple(c.member_id for c in self.behind)
        return () if self.met else self._judged.leaders.get(self.group_id, ())

    @property
    def behind_members(self) -> tuple[MemberCount, ...]:
        """Quota holders who contributed nothing in the period (谁还没交…)."""
        return self._judged.gave_nothing(self.group_id)

    @property
    def owing(self) -> tuple[MemberCount, ...]:
        """The names to list for "who has not …": members below their share, or who gave nothing."""
        return self.behind if self.rule.scope == "member" else self.behind_members

    def holders(self) -> tuple[MemberCount, ...]:
        """Every quota holder of the group with their own count on the rule (谁交了…), one query."""
        return self._judged.holders(self.group_id)


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


def judged_in(asked: Period | None, today: dt.date) -> PeriodFor | None:
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


def period_bounds(period: Period, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The period as aware datetimes [start, end) in `tz` (for timestamp columns)."""
    return _midnight(period.start, tz), _midnight(period.end + dt.timedelta(days=1), tz)


def _midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tz)


def group_standings(
    session: Session,
    rules: Sequence[QuotaRule],
    now: dt.datetime,
    group_ids: Iterable[int] | None = None,
    period_for: PeriodFor | None = None,
    leaders: Mapping[int, tuple[int, ...]] | None = None,
) -> dict[int, list[RuleStanding]]:
    """Each group's standing on each rule, in rule order: {group_id: [RuleStanding, …]}.

    `group_ids` None means every group. `period_for(rule)` picks the period to judge a rule in
    (default: the rule's period containing `now`); returning None leaves the rule out. `leaders`:
    every group's, as `leaders_by_group` read them, if the caller has them already.

    Two queries for any number of groups and rules (every group's counts on every rule, the
    leaders), one more per member-scope rule (its members below the minimum); `behind_members`
    costs one more per rule on first use.
    """
    today = now.date()
    pick = period_for or (lambda rule: period_of(rule.period, today))
    wanted = sorted(set(group_ids)) if group_ids is not None else None
    chosen = [(rule, period) for rule in rules if (period := pick(rule)) is not None]
    scope = _Scope(session, now.tzinfo, today, wanted)
    if leaders is None:
        leaders = leaders_by_group(session, wanted)
    judged = [_Judged(scope, rule, period, leaders) for rule, period in chosen]
    rows = read(session, _counts_statement(scope.dialect, scope.form, _shapes(judged)), _values(judged))
    behind = [_below_minimum(j) if j.rule.scope == "member" else None for j in judged]
    result: dict[int, list[RuleStanding]] = {}
    for gid, holders, *counts in rows:
        standings = []
        for j, done, below in zip(judged, counts, behind, strict=True):
            if below is None:
                standings.append(RuleStanding(j, gid, done, j.rule.minimum, ()))
            else:
                late = below.get(gid, ())
                standings.append(RuleStanding(j, gid, holders - len(late), holders, late))
        result[gid] = standings
    return result


@dataclass(frozen=True)
class _Scope:
    """What every rule of one `group_standings` call shares."""

    session: Session
    tz: dt.tzinfo
    today: dt.date
    wanted: list[int] | None  # group ids, None for every group

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    @property
    def form(self) -> _Form:
        return _form(self.wanted)


# A rule's form in a statement: its slot (which names its period's parameters), its table, its
# scope and its kinds. The statements are built once per form, with the periods, the groups and
# the minimum as bind parameters: building them anew for each 本组情况 cost more than running them.
_Shape = tuple[int, str, str, tuple[str, ...]]
# Which groups a statement reads: every group (None), one (`= :wanted_one`, which PostgreSQL plans
# once for all), or several (`= ANY(:wanted)`).
_Form = str | None


def _form(group_ids: Sequence[int] | None) -> _Form:
    return None if group_ids is None else "one" if len(group_ids) == 1 else "many"


def _wanted(group_ids: Sequence[int] | None) -> dict[str, object]:
    return {"wanted": group_ids, "wanted_one": group_ids[0] if group_ids else None}


class _Judged:
    """One rule in one period for one `group_standings` call, shared by its groups' standings."""

    def __init__(self, scope: _Scope, rule: QuotaRule, period: Period, leaders: dict[int, tuple[int, ...]]):
        self.scope = scope
        self.rule = rule
        self.period = period
        self.deadline = deadline(rule, period)
        self.leaders = leaders
        self._gave_nothing: dict[int, tuple[MemberCount, ...]] | None = None

    def shape(self, slot: int) -> _Shape:
        return (slot, self.rule.source, self.rule.scope, tuple(self.rule.kinds))

    def values(self, slot: int) -> dict[str, object]:
        """The parameters of this rule's period in `slot` (see `_counted`), and its minimum."""
        if self.rule.source == "submission":
            start, end = period_bounds(self.period, self.scope.tz)
        else:
            start, end = self.period.start, min(self.period.end, self.scope.today)
        return {f"since{slot}": start, f"until{slot}": end, f"minimum{slot}": self.rule.minimum}

    def read(self, stmt: Select, group_ids: list[int] | None) -> dict[int, tuple[MemberCount, ...]]:
        """The rows of one of the holders' statements below for this rule (in slot 0), by group."""
        params = {**self.values(0), **_wanted(group_ids)}
        return _by_group(read(self.scope.session, stmt, params))

    def holders(self, group_id: int) -> tuple[MemberCount, ...]:
        """The group's quota holders, each with their count on the rule, in member order."""
        stmt = _holders_counted(self.scope.dialect, "one", self.shape(0))
        return self.read(stmt, [group_id]).get(group_id, ())

    def gave_nothing(self, group_id: int) -> tuple[MemberCount, ...]:
        """The group's quota holders with nothing toward the rule: one query for all groups, on first use."""
        if self._gave_nothing is None:
            stmt = _holders_without(self.scope.dialect, self.scope.form, self.shape(0))
            self._gave_nothing = self.read(stmt, self.scope.wanted)
        return self._gave_nothing.get(group_id, ())


def _shapes(judged: Sequence[_Judged]) -> tuple[_Shape, ...]:
    return tuple(j.shape(slot) for slot, j in enumerate(judged))


def _values(judged: Sequence[_Judged]) -> dict[str, object]:
    values: dict[str, object] = _wanted(judged[0].scope.wanted) if judged else {}
    for slot, j in enumerate(judged):
        values.update(j.values(slot))
    return values


def _counted(shape: _Shape) -> ColumnElement[bool]:
    """A row of the rule's table counts toward the rule in the period of the parameters since{slot}
    and until{slot}: a submission of its kinds submitted in [since, until), an activity of its
    kinds held on a day from since to until (the period's end or today, whichever is first)."""
    slot, source, _scope, kinds = shape
    if source == "submission":
        at = Submission.submitted_at
        return and_(
            Submission.kind.in_(kinds),
            at >= bindparam(f"since{slot}", type_=at.type),
            at < bindparam(f"until{slot}", type_=at.type),
        )
    day = Activity.date
    return and_(
        Activity.kind.in_(kinds),
        day >= bindparam(f"since{slot}", type_=day.type),
        day <= bindparam(f"until{slot}", type_=day.type),
    )


def _member_count(shape: _Shape) -> ScalarSelect[int]:
    """The member's own count on the rule: submissions, or check-ins (at any group's activity)."""
    if shape[1] == "submission":
        stmt = select(func.count()).where(
            Submission.member_id == Member.id, Submission.status != "withdrawn", _counted(shape)
        )
    else:
        stmt = (
            select(func.count())
            .select_from(CheckIn)
            .join(Activity, Activity.id == CheckIn.activity_id)
            .where(CheckIn.member_id == Member.id, Activity.cancelled.is_(False), _counted(shape))
        )
    return stmt.scalar_subquery()


def _of_wanted(dialect: str, column: ColumnElement[int], groups: _Form) -> ColumnElement[bool]:
    """`column` among the groups wanted, in the statement's form (`_Form`)."""
    if groups == "one":
        return column == bindparam("wanted_one")
    return among_wanted(dialect, column, "wanted") if groups else true()


def _holders(dialect: str, groups: _Form) -> Select:
    """(group id, member id, name) of the quota holders (of the groups `wanted`), in member order."""
    return (
        select(Member.group_id, Member.id, Member.name)
        .where(
            Member.active.is_(True),
            Member.group_id.is_not(None),
            Member.role.in_(QUOTA_ROLES),
            _of_wanted(dialect, Member.group_id, groups),
        )
        .order_by(Member.id)
    )


@lru_cache(maxsize=64)
def _holders_counted(dialect: str, groups: _Form, shape: _Shape) -> Select:
    return _holders(dialect, groups).add_columns(_member_count(shape))


@lru_cache(maxsize=64)
def _holders_without(dialect: str, groups: _Form, shape: _Shape) -> Select:
    return _holders(dialect, groups).add_columns(literal(0)).where(_member_count(shape) == 0)


@lru_cache(maxsize=64)
def _holders_below(dialect: str, groups: _Form, shape: _Shape) -> Select:
    n = _member_count(shape)
    return _holders(dialect, groups).add_columns(n).where(n < bindparam(f"minimum{shape[0]}"))


@lru_cache(maxsize=64)
def _holders_side_by_side(dialect: str, groups: _Form, shapes: tuple[_Shape, ...]) -> Select:
    return _holders(dialect, groups).add_columns(*(_member_count(s).label(f"n{s[0]}") for s in shapes))


def read_gave_nothing(standings: Sequence[RuleStanding]) -> None:
    """Read `behind_members` of every rule these standings judge in one query (each rule's first
    use would otherwise cost one): each quota holder's count on each rule, side by side."""
    judged = list({id(s._judged): s._judged for s in standings if s._judged._gave_nothing is None}.values())
    if not judged:
        return
    scope = judged[0].scope
    stmt = _holders_side_by_side(scope.dialect, scope.form, _shapes(judged))
    rows = read(scope.session, stmt, _values(judged))
    for i, j in enumerate(judged):
        j._gave_nothing = _by_group((gid, mid, name, 0) for gid, mid, name, *ns in rows if ns[i] == 0)


def _by_group(rows: Iterable[tuple[int, int, str, int]]) -> dict[int, tuple[MemberCount, ...]]:
    out: dict[int, list[MemberCount]] = defaultdict(list)
    for gid, mid, name, n in rows:
        out[gid].append(MemberCount(mid, name, n))
    return {gid: tuple(counts) for gid, counts in out.items()}


def _below_minimum(judged: _Judged) -> dict[int, tuple[MemberCount, ...]]:
    """A member-scope rule's quota holders below its minimum, per group (one query)."""
    stmt = _holders_below(judged.scope.dialect, judged.scope.form, judged.shape(0))
    return judged.read(stmt, judged.scope.wanted)


@lru_cache(maxsize=8)
def _leaders_query(dialect: str, groups: _Form) -> Select:
    return (
        select(Member.group_id, Member.id)
        .where(
            Member.active.is_(True),
            Member.group_id.is_not(None),
            Member.role == "leader",
            _of_wanted(dialect, Member.group_id, groups),
        )
        .order_by(Member.id)
    )


def leaders_by_group(session: Session, wanted: list[int] | None = None) -> dict[int, tuple[int, ...]]:
    """Each group's active leaders' member ids, in member order (one query)."""
    stmt = _leaders_query(session.get_bind().dialect.name, _form(wanted))
    out: dict[int, list[int]] = defaultdict(list)
    for gid, mid in read(session, stmt, _wanted(wanted)):
        out[gid].append(mid)
    return {gid: tuple(ids) for gid, ids in out.items()}


@lru_cache(maxsize=64)
def _counts_statement(dialect: str, groups: _Form, shapes: tuple[_Shape, ...]) -> Select:
    """One row per group: (group id, quota holders, then each rule's group count), in group order.

    Submissions and activities are each aggregated once with a FILTER per rule, over the span of
    all the rules' periods (what the bench's single query does). A member-scope rule's column is
    unused (its members are counted by `_below_minimum`).
    """
    by_slot: dict[int, ColumnElement[int]] = {}
    joins = []
    for source, table in (("submission", Submission), ("activity", Activity)):
        mine = [shape for shape in shapes if shape[1] == source and shape[2] == "group"]
        if not mine:
            continue
        live = Submission.status != "withdrawn" if table is Submission else Activity.cancelled.is_(False)
        agg = select(
            table.group_id.label("group_id"),
            *(func.count().filter(_counted(shape)).label(f"r{shape[0]}") for shape in mine),
        ).where(
            live,
            table.group_id.is_not(None),
            or_(*(_counted(shape) for shape in mine)),
            _of_wanted(dialect, table.group_id, groups),
        )
        sub = agg.group_by(table.group_id).subquery()
        joins.append(sub)
        by_slot.update({shape[0]: func.coalesce(sub.c[f"r{shape[0]}"], 0) for shape in mine})
    columns = [by_slot.get(shape[0], literal(0)) for shape in shapes]
    if not any(shape[2] == "member" for shape in shapes):
        return _per_group(select(LiaisonGroup.id, literal(0), *columns), joins, dialect, groups)
    holders = (
        select(Member.group_id.label("group_id"), func.count().label("n"))
        .where(Member.active.is_(True), Member.role.in_(QUOTA_ROLES))
        .group_by(Member.group_id)
        .subquery()
    )
    stmt = select(LiaisonGroup.id, func.coalesce(holders.c.n, 0), *columns).outerjoin(
        holders, holders.c.group_id == LiaisonGroup.id
    )
    return _per_group(stmt, joins, dialect, groups)


def _per_group(stmt: Select, joins: list[Subquery], dialect: str, groups: _Form) -> Select:
    """The groups (those wanted), each with its aggregates joined, in group order."""
    for sub in joins:
        stmt = stmt.outerjoin(sub, sub.c.group_id == LiaisonGroup.id)
    return stmt.where(_of_wanted(dialect, LiaisonGroup.id, groups)).order_by(LiaisonGroup.id)


def member_standings(
    session: Session,
    rules: Sequence[QuotaRule],
    member_id: int,
    group_id: int | None,
    periods: Sequence[Period],
    now: dt.datetime,
) -> MemberRecord:
    """A member's own record (for 我的履职): counts per submission kind and attendance in each of
    `periods`, and their standing on every member-scope rule in the period containing `now`.
    `group_id`: the member's group (None: outside groups).

    Two queries over the span of all periods involved; a member's year is a few dozen rows.
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


ADOPTION_ORDER = ADOPTION_LEVEL_NAMES[::-1]  # highest first, as a record lists them


# 我的履职's two queries, built once with bind parameters (making them anew for each message cost
# more than running them).
_SENT = select(Submission.kind, Submission.submitted_at, Submission.status, Submission.adopted_level).where(
    Submission.member_id == bindparam("member_id"),
    Submission.status != "withdrawn",
    Submission.submitted_at >= bindparam("since", type_=Submission.submitted_at.type),
    Submission.submitted_at < bindparam("before", type_=Submission.submitted_at.type),
)


def _sent(session: Session, member_id: int, first: dt.date, last: dt.date, tz: dt.tzinfo) -> list[_Sent]:
    """The member's submissions, not withdrawn, from `first` to `last`."""
    since, before = _midnight(first, tz), _midnight(last + dt.timedelta(days=1), tz)
    return [
        _Sent(kind, at.astimezone(tz).date(), level if status == "adopted" else None)
        for kind, at, status, level in read(
            session, _SENT, {"member_id": member_id, "since": since, "before": before}
        )
    ]


def _seen_query(in_group: bool) -> Select:
    member_id = bindparam("member_id")
    checked = select(CheckIn.id).where(CheckIn.activity_id == Activity.id, CheckIn.member_id == member_id)
    excused = select(LeaveRequest.id).where(
        LeaveRequest.activity_id == Activity.id,
        LeaveRequest.member_id == member_id,
        LeaveRequest.status == "approved",
    )
    own_group = Activity.group_id == bindparam("group_id") if in_group else Activity.id.is_(None)
    return select(Activity.kind, Activity.date, Activity.group_id, checked.exists(), excused.exists()).where(
        Activity.cancelled.is_(False),
        Activity.date >= bindparam("first", type_=Activity.date.type),
        Activity.date <= bindparam("last", type_=Activity.date.type),
        or_(own_group, checked.exists()),
    )


_SEEN = {in_group: _seen_query(in_group) for in_group in (True, False)}


def _activities_seen(
    session: Session, member_id: int, group_id: int | None, first: dt.date, last: dt.date
) -> list[_Seen]:
    """The activities, not cancelled, from `first` to `last`, of the member's group or checked in at."""
    values = {"member_id": member_id, "group_id": group_id, "first": first, "last": last}
    return [_Seen(*row) for row in read(session, _SEEN[group_id is not None], values)]


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
