"""履职积分: every member's duty score for a year, by the rules of config.yaml's `scoring:` section.

Pure over the database and `now` (the caller's clock): five aggregate queries whatever the number of
members — the members, their check-ins, their group's activities missed (with leave or without),
their submissions with the adopted ones by level, and the 批示 — then arithmetic per member. The
year's activities count up to yesterday for an absence (today's may be ahead), as the quotas do.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from bot.config import ScoreCategory, ScoringSettings
from bot.periods import Period
from bot.quotas import ADOPTION_ORDER, period_bounds
from models import Activity, CheckIn, LeaveRequest, LiaisonGroup, Member, Submission, SubmissionEvent


@dataclass(slots=True)
class Tally:
    """What one category counted for one member."""

    attended: int = 0
    on_leave: int = 0
    absent: int = 0
    sent: int = 0
    adopted: tuple[tuple[str, int], ...] = ()  # (level, notes adopted at that level, highest)
    instructed: int = 0


@dataclass(slots=True)
class Part:
    category: ScoreCategory
    tally: Tally
    points: float
    uncapped: float

    @property
    def capped(self) -> bool:
        return self.category.cap is not None and self.uncapped >= self.category.cap


@dataclass(slots=True)
class MemberScore:
    member_id: int
    name: str
    group_id: int | None
    group_name: str | None
    parts: tuple[Part, ...]
    total: float
    grade: str
    passed: bool
    rank: int  # in the county (ties share a rank: 1, 1, 3)
    group_rank: int


def points(category: ScoreCategory, t: Tally) -> float:
    """The category's points before its cap."""
    if category.source == "activity":
        return t.attended * category.attended + t.on_leave * category.on_leave + t.absent * category.absent
    bonus = sum(category.adopted.get(level, 0) * n for level, n in t.adopted)
    return t.sent * category.each + bonus + t.instructed * category.instructed


def projected(rules: ScoringSettings, score: MemberScore, done: float) -> float:
    """The year's total at the pace so far, `done` the share of the year gone (0 < done ≤ 1): each
    category's points so far scaled up to the whole year, within its cap."""
    if done <= 0:
        return score.total
    total = rules.base
    for p in score.parts:
        scaled = p.uncapped / done if p.uncapped > 0 else p.uncapped
        total += min(scaled, p.category.cap) if p.category.cap is not None else scaled
    if rules.max_total is not None:
        total = min(total, rules.max_total)
    return round(total, 1)


def grade_of(rules: ScoringSettings, total: float) -> str:
    return next((g.name for g in rules.grades if total >= g.min), rules.lowest_grade)


def year_scores(
    session: Session,
    rules: ScoringSettings,
    year: Period,
    now: dt.datetime,
    tz: dt.tzinfo,
    group_id: int | None = None,
) -> list[MemberScore]:
    """Every active member's score for `year` (of one group, or of the county), best first; the
    ranks are the county's whatever `group_id` (a group's answer says 全县第N名)."""
    members = session.connection().execute(
        select(Member.id, Member.name, Member.group_id, LiaisonGroup.name)
        .outerjoin(LiaisonGroup, LiaisonGroup.id == Member.group_id)
        .where(Member.active.is_(True), Member.role != "admin")
        .order_by(Member.id)
    ).all()
    counted = _Counts(session, rules.categories, year, now, tz)
    scored = []
    for mid, name, gid, gname in members:
        parts = tuple(_part(c, counted.tally(mid, i)) for i, c in enumerate(rules.categories))
        total = rules.base + sum(p.points for p in parts)
        if rules.max_total is not None:
            total = min(total, rules.max_total)
        total = round(total, 1)
        scored.append((mid, name, gid, gname, parts, total))
    county = _ranks([s[5] for s in scored])
    by_group: dict[int | None, list[float]] = defaultdict(list)
    for s in scored:
        by_group[s[2]].append(s[5])
    group_ranks = {g: _ranks(totals) for g, totals in by_group.items()}
    seen: dict[int | None, int] = defaultdict(int)
    out = []
    for (mid, name, gid, gname, parts, total), rank in zip(scored, county, strict=True):
        group_rank = group_ranks[gid][seen[gid]]
        seen[gid] += 1
        if group_id is None or gid == group_id:
            grade = grade_of(rules, total)
            out.append(
                MemberScore(
                    mid, name, gid, gname, parts, total, grade, total >= rules.pass_mark, rank, group_rank
                )
            )
    return sorted(out, key=lambda s: (s.rank, s.member_id))


def _ranks(totals: Sequence[float]) -> list[int]:
    """Competition ranks (1, 1, 3) of `totals`, in their order: 1 + how many are higher."""
    ascending = sorted(totals)
    return [1 + len(ascending) - bisect_right(ascending, t) for t in totals]


def _part(category: ScoreCategory, tally: Tally) -> Part:
    raw = points(category, tally)
    capped = min(raw, category.cap) if category.cap is not None else raw
    return Part(category, tally, round(capped, 1), round(raw, 1))


class _Counts:
    """The year's counts per member and category, read in four aggregate queries and summed into
    each category of its kind as the rows arrive (30,000 members: no per-member lookups after)."""

    def __init__(
        self,
        session: Session,
        categories: Sequence[ScoreCategory],
        year: Period,
        now: dt.datetime,
        tz: dt.tzinfo,
    ):
        self._sums: dict[tuple[int, int], list] = {}
        self._of_kind: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, c in enumerate(categories):
            for k in c.kinds:
                self._of_kind[(c.source, k)].append(i)
        conn = session.connection()  # Core rows: the ORM's row processing is a third of the time
        start, end = period_bounds(year, tz)
        today = now.astimezone(tz).date()
        in_year = and_(Activity.date >= year.start, Activity.date <= year.end, Activity.cancelled.is_(False))
        for mid, kind, n in conn.execute(
            select(CheckIn.member_id, Activity.kind, func.count())
            .join(Activity, Activity.id == CheckIn.activity_id)
            .where(in_year)
            .group_by(CheckIn.member_id, Activity.kind)
        ):
            self._add(mid, "activity", kind, 0, n)
        # The member's group's activities missed: with approved leave, or (before today) without.
        excused = aliased(LeaveRequest)
        for mid, kind, on_leave, absent in conn.execute(
            select(
                Member.id,
                Activity.kind,
                func.count().filter(excused.id.is_not(None)),
                func.count().filter(excused.id.is_(None), Activity.date < today),
            )
            .join(Activity, Activity.group_id == Member.group_id)
            .outerjoin(CheckIn, and_(CheckIn.activity_id == Activity.id, CheckIn.member_id == Member.id))
            .outerjoin(
                excused,
                and_(
                    excused.activity_id == Activity.id,
                    excused.member_id == Member.id,
                    excused.status == "approved",
                ),
            )
            .where(in_year, CheckIn.id.is_(None), Member.active.is_(True))
            .group_by(Member.id, Activity.kind)
        ):
            self._add(mid, "activity", kind, 1, on_leave)
            self._add(mid, "activity", kind, 2, absent)
        kept = and_(
            Submission.status != "withdrawn", Submission.submitted_at >= start, Submission.submitted_at < end
        )
        for mid, kind, status, level, n in conn.execute(
            select(
                Submission.member_id,
                Submission.kind,
                Submission.status,
                Submission.adopted_level,
                func.count(),
            )
            .where(kept)
            .group_by(Submission.member_id, Submission.kind, Submission.status, Submission.adopted_level)
        ):
            self._add(mid, "submission", kind, 3, n)
            if status == "adopted" and level:
                for sums in self._each(mid, "submission", kind):
                    sums[5][level] = sums[5].get(level, 0) + n
        for mid, kind, n in conn.execute(
            select(Submission.member_id, Submission.kind, func.count())
            .join(SubmissionEvent, SubmissionEvent.submission_id == Submission.id)
            .where(SubmissionEvent.kind == "instructed", kept)
            .group_by(Submission.member_id, Submission.kind)
        ):
            self._add(mid, "submission", kind, 4, n)

    def _each(self, member_id: int, source: str, kind: str):
        for i in self._of_kind.get((source, kind), ()):
            sums = self._sums.get((member_id, i))
            if sums is None:
                sums = self._sums[(member_id, i)] = [0, 0, 0, 0, 0, {}]
            yield sums

    def _add(self, member_id: int, source: str, kind: str, slot: int, n: int) -> None:
        for sums in self._each(member_id, source, kind):
            sums[slot] += n

    def tally(self, member_id: int, index: int) -> Tally:
        sums = self._sums.get((member_id, index))
        if sums is None:
            return _NOTHING
        attended, on_leave, absent, sent, instructed, levels = sums
        adopted = tuple(sorted(levels.items(), key=lambda kv: _LEVEL_RANK.get(kv[0], 9)))
        return Tally(attended, on_leave, absent, sent, adopted, instructed)


_NOTHING = Tally()
_LEVEL_RANK = {level: i for i, level in enumerate(ADOPTION_ORDER)}
