"""The 社情民意 funnel: of the notes submitted in a period, how many were returned for revision, put in
the office's bulletin (编报), reported upward (报送), adopted (by level), given a 批示, and answered
by a department (反馈) — per group, in two aggregate queries. The chat's 社情民意流转情况 and the
export's overview count the same way.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from bot.periods import Period
from bot.quotas import ADOPTION_ORDER, period_bounds
from models import Submission, SubmissionEvent

FUNNEL_HEAD = ("提交", "退回修改", "编报", "报送", "采用", "批示", "反馈")


@dataclass
class Funnel:
    submitted: int = 0
    returned: int = 0  # still waiting for the author's 更正
    in_bulletin: int = 0
    reported: int = 0
    adopted: dict[str, int] = field(default_factory=dict)  # level -> notes adopted (at their highest)
    instructed: int = 0  # notes with at least one 批示
    feedback: int = 0

    @property
    def adopted_total(self) -> int:
        return sum(self.adopted.values())

    def __add__(self, other: Funnel) -> Funnel:
        levels = defaultdict(int, self.adopted)
        for level, n in other.adopted.items():
            levels[level] += n
        return Funnel(
            self.submitted + other.submitted,
            self.returned + other.returned,
            self.in_bulletin + other.in_bulletin,
            self.reported + other.reported,
            dict(levels),
            self.instructed + other.instructed,
            self.feedback + other.feedback,
        )

    def cells(self) -> list[int]:
        """As FUNNEL_HEAD."""
        return [
            self.submitted,
            self.returned,
            self.in_bulletin,
            self.reported,
            self.adopted_total,
            self.instructed,
            self.feedback,
        ]

    def levels(self) -> str:
        """市级2、县级1: the adoptions by level, highest first."""
        order = sorted(self.adopted, key=lambda lv: ADOPTION_ORDER.index(lv) if lv in ADOPTION_ORDER else 9)
        return "、".join(f"{lv}{self.adopted[lv]}" for lv in order if self.adopted[lv])


def _reached(kind: str):
    return exists().where(SubmissionEvent.submission_id == Submission.id, SubmissionEvent.kind == kind)


def note_funnel(
    session: Session,
    period: Period,
    tz: dt.tzinfo,
    kinds: Sequence[str] = ("opinion",),
    group_ids: Sequence[int] | None = None,
) -> dict[int | None, Funnel]:
    """The funnel of each group's notes of `kinds` submitted in `period` (withdrawn ones excluded),
    keyed by the group the note was filed in."""
    start, end = period_bounds(period, tz)
    where = [
        Submission.kind.in_(kinds),
        Submission.status != "withdrawn",
        Submission.submitted_at >= start,
        Submission.submitted_at < end,
    ]
    if group_ids is not None:
        where.append(Submission.group_id.in_(group_ids))
    out: dict[int | None, Funnel] = defaultdict(Funnel)
    for gid, n, returned, bulletin, reported, instructed, answered in session.execute(
        select(
            Submission.group_id,
            func.count(),
            func.count().filter(Submission.status == "returned"),
            func.count().filter(_reached("bulletin")),
            func.count().filter(_reached("reported")),
            func.count().filter(_reached("instructed")),
            func.count().filter(_reached("feedback")),
        )
        .where(*where)
        .group_by(Submission.group_id)
    ):
        out[gid] = Funnel(n, returned, bulletin, reported, {}, instructed, answered)
    for gid, level, n in session.execute(
        select(Submission.group_id, Submission.adopted_level, func.count())
        .where(*where, Submission.status == "adopted")
        .group_by(Submission.group_id, Submission.adopted_level)
    ):
        out[gid].adopted[level or "未注明"] = n
    return dict(out)
