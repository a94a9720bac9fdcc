"""What the office's web page shows (issue 20), read in a few aggregate queries per page.

Pure functions of a session, the settings and `now`, like the chat's answers: no Flask, no clock.
Each page costs a fixed number of queries whatever the number of groups, members or notes (none
per row); the counts are the export's and the chat's own definitions (bot/quotas.py for the
rules, the export's attendance: one's own group's activities held so far, absent = neither a
check-in nor approved leave, before today).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from bot.config import QuotaRule, Settings
from bot.funnel import Funnel, note_funnel
from bot.periods import Period, period_of
from bot.quotas import RuleStanding, group_standings, judged_in, period_bounds
from bot.scoring import MemberScore, year_scores
from models import (
    Activity,
    Attachment,
    CheckIn,
    LateEntry,
    LeaveRequest,
    LiaisonGroup,
    Member,
    Submission,
    SubmissionEvent,
)

__all__ = [
    "CELL_WORDS",
    "Cell",
    "GroupRow",
    "Overview",
    "cell_state",
    "overview",
    "GroupPage",
    "group_page",
    "member_page",
    "NoteFilter",
    "notes_page",
    "note_detail",
    "pending",
    "scores",
    "member_score",
    "grade_counts",
]

# A quota cell's state, worst last: met; not met but the reminders have not begun (the rule's
# longest remind_days_before); within the reminders' window; past the deadline.
CELL_WORDS = {"done": "已完成", "on_track": "进行中", "behind": "落后", "overdue": "逾期"}
_STATE_ORDER = {s: i for i, s in enumerate(CELL_WORDS)}


@dataclass(frozen=True)
class Column:
    """One quota rule as the overview judges it: the same period and deadline for every group."""

    rule: QuotaRule
    period: Period
    deadline: dt.date
    overdue: bool  # past the deadline
    reminding: bool  # within the rule's reminders (its longest remind_days_before)

    @classmethod
    def of(cls, s: RuleStanding, today: dt.date) -> Column:
        window = max(s.rule.remind_days_before, default=0)
        return cls(s.rule, s.period, s.deadline, today > s.deadline, (s.deadline - today).days <= window)

    def state(self, met: bool) -> str:
        if met:
            return "done"
        return "overdue" if self.overdue else "behind" if self.reminding else "on_track"


def cell_state(s: RuleStanding, today: dt.date) -> str:
    """done / on_track / behind / overdue: how the overview colours one group on one rule."""
    return Column.of(s, today).state(s.met)


class Cell:
    """One group on one rule: done of required, and its state (a province's overview is 18,000 of
    them: a small object, no dataclass machinery)."""

    __slots__ = ("done", "required", "state")

    def __init__(self, done: int, required: int, state: str) -> None:
        self.done, self.required, self.state = done, required, state

    @property
    def word(self) -> str:
        return CELL_WORDS[self.state]


@dataclass(frozen=True)
class GroupRow:
    group_id: int
    name: str
    holders: int  # members holding a quota share (role member, active)
    took_part: int  # distinct members with a check-in or a submission in the span
    cells: tuple[Cell | None, ...]  # in the columns' order; None: the group has nobody to judge

    def sort_key(self, column: int | str) -> tuple:
        """Worst first for a rule's column (state, then the share done); most first for counts."""
        if column == "name":
            return (self.name,)
        if column == "took_part":
            return (-self.took_part, self.name)
        c = self.cells[column] if isinstance(column, int) else None
        if c is None:
            return (1, 0.0, self.name)
        share = c.done / c.required if c.required else 1.0
        return (-_STATE_ORDER[c.state], share, self.name)


@dataclass(frozen=True)
class Overview:
    span: Period  # the span "took part" counts over (the chosen period, or this year)
    asked: Period | None  # the period chosen (None: each rule in its current period)
    columns: tuple[Column, ...]
    rows: tuple[GroupRow, ...]
    members_total: int
    took_part_total: int

    def column(self, rule_key: str) -> int | None:
        return next((i for i, c in enumerate(self.columns) if c.rule.key == rule_key), None)

    def states(self, index: int) -> dict[str, int]:
        """How many groups are in each state on one column (the overview's last row)."""
        counts = dict.fromkeys(CELL_WORDS, 0)
        for row in self.rows:
            c = row.cells[index]
            if c is not None:
                counts[c.state] += 1
        return counts


def overview(
    session: Session,
    settings: Settings,
    now: dt.datetime,
    asked: Period | None = None,
    group_ids: Sequence[int] | None = None,
) -> Overview:
    """Every group (or `group_ids`) on every quota rule, judged as 本组情况 judges them (`asked`
    None: each rule in its period containing today), and how many members took part."""
    today = now.date()
    picked = judged_in(asked, today)
    standings = group_standings(session, settings.quotas, now, group_ids, picked)
    names = _group_names(session, group_ids)
    span = asked or period_of("year", today)
    took_part, holders, members = _took_part(session, span, settings.tz, today, group_ids)
    first = next(iter(standings.values()), [])
    columns = tuple(Column.of(s, today) for s in first)
    blank = (None,) * len(columns)
    rows = []
    for gid, name in names.items():
        judged = standings.get(gid)
        cells = blank
        if judged is not None:
            cells = tuple(
                Cell(s.done, s.required, col.state(s.met)) for s, col in zip(judged, columns, strict=True)
            )
        rows.append(GroupRow(gid, name, holders.get(gid, 0), took_part.get(gid, 0), cells))
    return Overview(span, asked, columns, tuple(rows), members, sum(took_part.values()))


def _group_names(session: Session, group_ids: Sequence[int] | None) -> dict[int, str]:
    stmt = select(LiaisonGroup.id, LiaisonGroup.name).order_by(LiaisonGroup.id)
    if group_ids is not None:
        stmt = stmt.where(LiaisonGroup.id.in_(group_ids))
    return dict(session.execute(stmt).tuples().all())


def _took_part(
    session: Session, span: Period, tz: dt.tzinfo, today: dt.date, group_ids: Sequence[int] | None
) -> tuple[dict[int, int], dict[int, int], int]:
    """Per group, the distinct active members who attended an activity held in the span or sent a
    submission in it (withdrawn ones do not count); per group, the quota holders; the county's
    active members. One query over the roster, each member tested against the two sets (hashed:
    at province scale the year's 220,000 check-ins are most of the overview's SQL)."""
    start, end = period_bounds(span, tz)
    attended = (
        select(CheckIn.member_id)
        .join(Activity, Activity.id == CheckIn.activity_id)
        .where(Activity.cancelled.is_(False), Activity.date >= span.start, Activity.date <= min(span.end, today))
    )
    sent = select(Submission.member_id).where(
        Submission.status != "withdrawn", Submission.submitted_at >= start, Submission.submitted_at < end
    )
    took_part = or_(Member.id.in_(attended), Member.id.in_(sent))
    roster = (
        select(Member.group_id, func.count().filter(took_part), func.count().filter(Member.role == "member"), func.count())
        .where(Member.active.is_(True), Member.role != "admin", Member.group_id.is_not(None))
        .group_by(Member.group_id)
    )
    if group_ids is not None:
        roster = roster.where(Member.group_id.in_(group_ids))
    took, holders, members = {}, {}, 0
    for gid, n_took, n_holders, n_members in session.execute(roster):
        took[gid], holders[gid] = n_took, n_holders
        members += n_members
    return took, holders, members


# -- 联络组 and 委员: members × months ------------------------------------------------------------------


@dataclass
class Tally:
    """One member's month (or year): submissions (not withdrawn), attendance at the group's
    activities held, approved leave, unexcused absences (before today)."""

    submitted: int = 0
    attended: int = 0
    on_leave: int = 0
    absent: int = 0

    def add(self, other: Tally) -> None:
        self.submitted += other.submitted
        self.attended += other.attended
        self.on_leave += other.on_leave
        self.absent += other.absent


@dataclass(frozen=True)
class MemberMonths:
    member_id: int
    name: str
    role: str
    active: bool
    months: tuple[Tally, ...]  # January … December of the year
    year: Tally
    longest_absence: int  # the longest run of consecutive unexcused absences in the year
    current_absence: int  # the run ending at the group's latest activity held


@dataclass(frozen=True)
class ActivityRow:
    activity: Activity
    attended: tuple[tuple[int, str], ...]  # (member id, name)
    on_leave: tuple[tuple[int, str], ...]
    absent: tuple[tuple[int, str], ...]  # before today only; today's and later ones are not missed yet


@dataclass(frozen=True)
class PendingItem:
    """A leave request or a 补报 waiting for the leader: what the 待处理 list shows."""

    id: int
    member: str
    group: str | None
    group_id: int | None
    activity: Activity
    reason: str | None
    requested_at: dt.datetime
    requested_by: str | None = None  # a 补报 made by someone else (a leader for a member)


@dataclass(frozen=True)
class GroupPage:
    group_id: int
    name: str
    year: int
    members: tuple[MemberMonths, ...]
    activities: tuple[ActivityRow, ...]
    leave: tuple[PendingItem, ...]
    late: tuple[PendingItem, ...]
    months: tuple[Tally, ...] = field(default=())  # the group's sum per month (the chart)


def group_page(session: Session, settings: Settings, group_id: int, year: int, now: dt.datetime) -> GroupPage | None:
    """One group's year: members × months, the activities with who came, what waits for the leader."""
    name = session.scalar(select(LiaisonGroup.name).where(LiaisonGroup.id == group_id))
    if name is None:
        return None
    members = session.execute(
        select(Member.id, Member.name, Member.role, Member.active)
        .where(Member.group_id == group_id, Member.role != "admin")
        .order_by(Member.role != "leader", Member.id)
    ).all()
    months, activities = _record(session, settings, group_id, [m.id for m in members], year, now)
    per_month = tuple(Tally() for _ in range(12))
    rows = []
    for mid, mname, role, active in members:
        tallies, longest, current = months.get(mid, (tuple(Tally() for _ in range(12)), 0, 0))
        whole = Tally()
        for i, t in enumerate(tallies):
            whole.add(t)
            per_month[i].add(t)
        rows.append(MemberMonths(mid, mname, role, active, tallies, whole, longest, current))
    waiting = pending(session, [group_id])
    return GroupPage(group_id, name, year, tuple(rows), activities, waiting.leave, waiting.late, per_month)


@dataclass(frozen=True)
class MemberPage:
    member: Member
    group: str | None
    year: int
    months: MemberMonths
    activities: tuple[tuple[Activity, str], ...]  # each group activity of the year and what the member did
    submissions: tuple[Submission, ...]


_DID = {"attended": "出席", "on_leave": "请假", "absent": "缺席", "ahead": "未开始"}


def member_page(session: Session, settings: Settings, member_id: int, year: int, now: dt.datetime) -> MemberPage | None:
    """One member's duty record of the year (一人一档): the months, each of the group's activities
    and what the member did, every submission with its state."""
    member = session.get(Member, member_id)
    if member is None:
        return None
    group = session.scalar(select(LiaisonGroup.name).where(LiaisonGroup.id == member.group_id))
    months, activities = _record(session, settings, member.group_id, [member_id], year, now)
    tallies, longest, current = months.get(member_id, (tuple(Tally() for _ in range(12)), 0, 0))
    whole = Tally()
    for t in tallies:
        whole.add(t)
    shown = MemberMonths(member.id, member.name, member.role, member.active, tallies, whole, longest, current)
    today = now.date()
    did = []
    for row in activities:
        if any(mid == member_id for mid, _ in row.attended):
            what = "attended"
        elif any(mid == member_id for mid, _ in row.on_leave):
            what = "on_leave"
        elif row.activity.date >= today:
            what = "ahead"
        else:
            what = "absent"
        did.append((row.activity, _DID[what]))
    start, end = period_bounds(period_of("year", dt.date(year, 1, 1)), settings.tz)
    submissions = session.scalars(
        select(Submission)
        .where(Submission.member_id == member_id, Submission.submitted_at >= start, Submission.submitted_at < end)
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())
    ).all()
    return MemberPage(member, group, year, shown, tuple(did), tuple(submissions))


def _record(
    session: Session,
    settings: Settings,
    group_id: int | None,
    member_ids: list[int],
    year: int,
    now: dt.datetime,
) -> tuple[dict[int, tuple[tuple[Tally, ...], int, int]], tuple[ActivityRow, ...]]:
    """Per member, the twelve months, the longest and the current run of absences; the group's
    activities of the year with who came. Four queries (activities, check-ins, approved leave,
    submissions), whatever the number of members and activities."""
    tz = settings.tz
    today = now.date()
    span = period_of("year", dt.date(year, 1, 1))
    months: dict[int, list[Tally]] = {mid: [Tally() for _ in range(12)] for mid in member_ids}
    names = dict(
        session.execute(select(Member.id, Member.name).where(Member.id.in_(member_ids))).tuples().all()
    )
    activities = (
        session.scalars(
            select(Activity)
            .where(
                Activity.group_id == group_id,
                Activity.cancelled.is_(False),
                Activity.date >= span.start,
                Activity.date <= span.end,
            )
            .order_by(Activity.date, Activity.time, Activity.id)
        ).all()
        if group_id is not None
        else []
    )
    ids = [a.id for a in activities]
    there: set[tuple[int, int]] = set()
    excused: set[tuple[int, int]] = set()
    if ids and member_ids:
        there = set(
            session.execute(
                select(CheckIn.activity_id, CheckIn.member_id).where(
                    CheckIn.activity_id.in_(ids), CheckIn.member_id.in_(member_ids)
                )
            ).tuples()
        )
        excused = set(
            session.execute(
                select(LeaveRequest.activity_id, LeaveRequest.member_id).where(
                    LeaveRequest.activity_id.in_(ids),
                    LeaveRequest.member_id.in_(member_ids),
                    LeaveRequest.status == "approved",
                )
            ).tuples()
        )
    runs = {mid: [0, 0] for mid in member_ids}  # longest, current
    rows = []
    for a in activities:
        came, off, missed = [], [], []
        for mid in member_ids:
            key = (a.id, mid)
            tally = months[mid][a.date.month - 1]
            run = runs[mid]
            if a.date > today:
                continue
            if key in there:
                tally.attended += 1
                came.append((mid, names[mid]))
                run[1] = 0
            elif key in excused:
                tally.on_leave += 1
                off.append((mid, names[mid]))
                run[1] = 0
            elif a.date < today:
                tally.absent += 1
                missed.append((mid, names[mid]))
                run[1] += 1
                run[0] = max(run)
        rows.append(ActivityRow(a, tuple(came), tuple(off), tuple(missed)))
    start, end = period_bounds(span, tz)
    if member_ids:
        for mid, at in session.execute(
            select(Submission.member_id, Submission.submitted_at).where(
                Submission.member_id.in_(member_ids),
                Submission.status != "withdrawn",
                Submission.submitted_at >= start,
                Submission.submitted_at < end,
            )
        ):
            months[mid][at.astimezone(tz).month - 1].submitted += 1
    out = {mid: (tuple(months[mid]), runs[mid][0], runs[mid][1]) for mid in member_ids}
    return out, tuple(rows)


# -- 待处理 ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    leave: tuple[PendingItem, ...]
    late: tuple[PendingItem, ...]


def pending(session: Session, group_ids: Sequence[int] | None = None) -> Pending:
    """Leave requests and 补报 waiting for a decision (of `group_ids`, or every group), oldest
    first: two queries."""
    leave_stmt = (
        select(LeaveRequest, Member.name, LiaisonGroup.name, Activity)
        .join(Member, Member.id == LeaveRequest.member_id)
        .join(Activity, Activity.id == LeaveRequest.activity_id)
        .outerjoin(LiaisonGroup, LiaisonGroup.id == Activity.group_id)
        .where(LeaveRequest.status == "pending")
        .order_by(LeaveRequest.requested_at, LeaveRequest.id)
    )
    by = aliased(Member)
    asker = select(by.name).where(by.id == LateEntry.requested_by_id).scalar_subquery()
    late_stmt = (
        select(LateEntry, Member.name, LiaisonGroup.name, Activity, asker)
        .join(Member, Member.id == LateEntry.member_id)
        .join(Activity, Activity.id == LateEntry.activity_id)
        .outerjoin(LiaisonGroup, LiaisonGroup.id == Activity.group_id)
        .where(LateEntry.status == "pending")
        .order_by(LateEntry.requested_at, LateEntry.id)
    )
    if group_ids is not None:
        leave_stmt = leave_stmt.where(Activity.group_id.in_(group_ids))
        late_stmt = late_stmt.where(Activity.group_id.in_(group_ids))
    leave = tuple(
        PendingItem(r.id, name, gname, a.group_id, a, r.reason, r.requested_at)
        for r, name, gname, a in session.execute(leave_stmt)
    )
    late = tuple(
        PendingItem(r.id, name, gname, a.group_id, a, r.reason, r.requested_at, by if by != name else None)
        for r, name, gname, a, by in session.execute(late_stmt)
    )
    return Pending(leave, late)


# -- 社情民意 ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteFilter:
    """The list's filters, as the page's form gives them (None: any)."""

    group_id: int | None = None
    kind: str | None = None
    status: str | None = None
    period: Period | None = None
    member_id: int | None = None


@dataclass(frozen=True)
class NoteRow:
    submission: Submission
    member: str
    group: str | None
    files: int


@dataclass(frozen=True)
class NotesPage:
    period: Period  # the filter's, or this year
    funnel: Funnel  # the notes (社情民意) of the filter's groups and period
    rows: tuple[NoteRow, ...]
    total: int  # rows matching, over every page
    page: int
    pages: int


def notes_page(
    session: Session,
    settings: Settings,
    now: dt.datetime,
    wanted: NoteFilter,
    group_ids: Sequence[int] | None = None,
    page: int = 1,
    per_page: int = 50,
) -> NotesPage:
    """The funnel and one page of the submissions the filter picks, newest first (of `group_ids`
    only when given: a leader's group). Four queries."""
    tz = settings.tz
    period = wanted.period or period_of("year", now.date())
    start, end = period_bounds(period, tz)
    where = [Submission.submitted_at >= start, Submission.submitted_at < end]
    groups = list(group_ids) if group_ids is not None else None
    if wanted.group_id is not None:
        groups = [g for g in (groups or [wanted.group_id]) if g == wanted.group_id]
    if groups is not None:
        where.append(Submission.group_id.in_(groups))
    if wanted.kind:
        where.append(Submission.kind == wanted.kind)
    if wanted.status:
        where.append(Submission.status == wanted.status)
    if wanted.member_id is not None:
        where.append(Submission.member_id == wanted.member_id)
    total = session.scalar(select(func.count()).select_from(Submission).where(*where)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    files = (
        select(func.count()).where(Attachment.submission_id == Submission.id).correlate(Submission).scalar_subquery()
    )
    rows = tuple(
        NoteRow(s, name, gname, n)
        for s, name, gname, n in session.execute(
            select(Submission, Member.name, LiaisonGroup.name, files)
            .join(Member, Member.id == Submission.member_id)
            .outerjoin(LiaisonGroup, LiaisonGroup.id == Submission.group_id)
            .where(*where)
            .order_by(Submission.submitted_at.desc(), Submission.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    funnel = sum(note_funnel(session, period, tz, group_ids=groups).values(), Funnel())
    return NotesPage(period, funnel, rows, total, page, pages)


@dataclass(frozen=True)
class NoteDetail:
    submission: Submission
    member: Member
    group: str | None
    events: tuple[tuple[SubmissionEvent, str | None], ...]  # each step and who took it
    attachments: tuple[Attachment, ...]


def note_detail(session: Session, submission_id: int) -> NoteDetail | None:
    s = session.get(Submission, submission_id)
    if s is None:
        return None
    group = session.scalar(select(LiaisonGroup.name).where(LiaisonGroup.id == s.group_id))
    events = tuple(
        session.execute(
            select(SubmissionEvent, Member.name)
            .outerjoin(Member, Member.id == SubmissionEvent.by_id)
            .where(SubmissionEvent.submission_id == s.id)
            .order_by(SubmissionEvent.at, SubmissionEvent.id)
        ).tuples()
    )
    files = tuple(
        session.scalars(select(Attachment).where(Attachment.submission_id == s.id).order_by(Attachment.id))
    )
    return NoteDetail(s, s.member, group, events, files)


def grade_counts(scores: Iterable, grades: Sequence[str]) -> dict[str, int]:
    """How many members have each grade, in the scheme's order (the 积分 page's chart)."""
    counts = dict.fromkeys(grades, 0)
    for s in scores:
        counts[s.grade] = counts.get(s.grade, 0) + 1
    return counts


def scores(
    session: Session, settings: Settings, year: int, now: dt.datetime, group_id: int | None = None
) -> list[MemberScore]:
    """The year's ranking (of one group, with the county's ranks), as 全县积分排名 gives it."""
    return year_scores(session, settings.scoring, period_of("year", dt.date(year, 1, 1)), now, settings.tz, group_id)


def member_score(
    session: Session, settings: Settings, member_id: int, year: int, now: dt.datetime
) -> MemberScore | None:
    group_id = session.scalar(select(Member.group_id).where(Member.id == member_id))
    if group_id is None:
        return None
    return next((s for s in scores(session, settings, year, now, group_id) if s.member_id == member_id), None)


# -- who the page's user is, and what they may read -------------------------------------------------------


def roster_member(session: Session, member_id: int, *, active: bool = False) -> Member | None:
    """The roster entry behind a page's member id (only while active, with `active`)."""
    member = session.get(Member, member_id)
    return None if member is None or (active and not member.active) else member


def may_read_note(reader: Member, note: Submission) -> bool:
    """A note (its text, journey, files) is read by its author, the leader of the group it was filed
    in, and the office: on the web page and in chat (#12到哪一步了) alike."""
    if reader.role == "admin" or note.member_id == reader.id:
        return True
    return reader.role == "leader" and note.group_id is not None and note.group_id == reader.group_id


def attachment_of(session: Session, attachment_id: int) -> tuple[Attachment, Submission] | None:
    """A file and the note it belongs to (one query)."""
    found = session.execute(
        select(Attachment, Submission)
        .join(Submission, Submission.id == Attachment.submission_id)
        .where(Attachment.id == attachment_id)
    ).first()
    return (found[0], found[1]) if found is not None else None


def group_names(session: Session, group_ids: Sequence[int] | None = None) -> dict[int, str]:
    """{id: name} of every group (or of `group_ids`), in id order."""
    return _group_names(session, group_ids)
