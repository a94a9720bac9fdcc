"""The duty record (履职档案) as an Excel workbook: an overview, one sheet per group, every submission.

Read-only and clock-free (the caller passes `now`); a handful of aggregate queries whatever the
number of members, plus one quota-standings pass per rule period in the range.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import QuotaRule, Settings
from bot.messages import SUBMISSION_KINDS
from bot.periods import Period, period_of
from bot.periods import next as next_period
from bot.quotas import group_standings, period_bounds
from models import ROLE_NAMES, Activity, CheckIn, LeaveRequest, LiaisonGroup, Member, Submission

__all__ = [
    "OVERVIEW",
    "SUBMISSIONS",
    "ExportError",
    "build_workbook",
    "period_for",
    "rule_periods",
    "write_file",
]

OVERVIEW = "总览"
SUBMISSIONS = "提交明细"
STATUS_WORDS = {"submitted": "已提交", "adopted": "已采用", "withdrawn": "已撤回"}
DATE_FORMAT = "yyyy-mm-dd"


class ExportError(ValueError):
    """A request the export cannot serve (an unknown group); str() is the line to show."""


def period_for(year: int, quarter: int | None = None) -> Period:
    if quarter is None:
        return period_of("year", dt.date(year, 1, 1))
    if not 1 <= quarter <= 4:
        raise ExportError(f"季度应为1-4（收到 {quarter}）")
    return period_of("quarter", dt.date(year, 3 * quarter - 2, 1))


def rule_periods(rule: QuotaRule, span: Period, today: dt.date) -> list[Period]:
    """The rule's periods that overlap `span` and have begun by `today` (a future month owes nothing yet)."""
    periods = []
    p = period_of(rule.period, span.start)
    while p.start <= span.end and p.start <= today:
        periods.append(p)
        p = next_period(p)
    return periods


@dataclass
class _Tally:
    attended: int = 0
    on_leave: int = 0
    absent: int = 0
    adopted: int = 0
    instructed: int = 0

    def __post_init__(self) -> None:
        self.kinds: dict[str, int] = defaultdict(int)


def build_workbook(
    session: Session, settings: Settings, span: Period, group_name: str | None, now: dt.datetime
) -> Workbook:
    tz = settings.tz
    today = now.astimezone(tz).date()
    group_stmt = select(LiaisonGroup).order_by(LiaisonGroup.id)
    if group_name:
        group_stmt = group_stmt.where(LiaisonGroup.name == group_name)
    groups = list(session.scalars(group_stmt))
    if group_name and not groups:
        raise ExportError(f"没有名为「{group_name}」的联络组")
    gids = [g.id for g in groups]
    members = list(
        session.scalars(select(Member).where(Member.group_id.in_(gids)).order_by(Member.group_id, Member.id))
    )
    tallies: dict[int, _Tally] = {m.id: _Tally() for m in members}

    start, end = period_bounds(span, tz)
    sub_stmt = (
        select(Submission, Member.name, LiaisonGroup.name)
        .join(Member, Member.id == Submission.member_id)
        .outerjoin(LiaisonGroup, LiaisonGroup.id == Submission.group_id)
        .where(Submission.submitted_at >= start, Submission.submitted_at < end)
        .order_by(Submission.submitted_at, Submission.id)
    )
    if group_name:
        sub_stmt = sub_stmt.where(Submission.group_id.in_(gids))
    submissions = session.execute(sub_stmt).all()
    for row, _name, _group in submissions:
        tally = tallies.get(row.member_id)
        if tally is None or row.status == "withdrawn":
            continue  # an admin's own notes have no group sheet; withdrawn ones count for nothing
        tally.kinds[row.kind] += 1
        tally.adopted += row.status == "adopted"
        tally.instructed += row.instruction is not None

    # Attendance at the member's own group's activities held so far in the span.
    activities = {
        aid: (gid, day)
        for aid, gid, day in session.execute(
            select(Activity.id, Activity.group_id, Activity.date).where(
                Activity.group_id.in_(gids),
                Activity.cancelled.is_(False),
                Activity.date >= span.start,
                Activity.date <= min(span.end, today),
            )
        )
    }
    present = set(
        session.execute(
            select(CheckIn.activity_id, CheckIn.member_id).where(CheckIn.activity_id.in_(activities))
        ).tuples()
    )
    excused = set(
        session.execute(
            select(LeaveRequest.activity_id, LeaveRequest.member_id).where(
                LeaveRequest.activity_id.in_(activities), LeaveRequest.status == "approved"
            )
        ).tuples()
    )
    held: dict[int, int] = defaultdict(int)
    for gid, _day in activities.values():
        held[gid] += 1
    for m in members:
        t = tallies[m.id]
        for aid, (gid, day) in activities.items():
            if gid != m.group_id:
                continue
            if (aid, m.id) in present:
                t.attended += 1
            elif (aid, m.id) in excused:
                t.on_leave += 1
            elif day < today:
                t.absent += 1  # today's activity may still be ahead

    # Quota attainment: per rule, how many of its periods each group (and member) met.
    rules = list(settings.quotas)
    rule_counts = {r.key: len(rule_periods(r, span, today)) for r in rules}
    group_met: dict[tuple[int, str], int] = defaultdict(int)
    member_met: dict[tuple[int, str], int] = defaultdict(int)
    for rule in rules:
        for p in rule_periods(rule, span, today):
            standings = group_standings(session, [rule], now, gids, lambda _r, p=p: p)
            for gid, rows in standings.items():
                s = rows[0]
                group_met[gid, rule.key] += s.met
                if rule.scope == "member":
                    below = {c.member_id for c in s.behind}
                    for m in members:
                        if m.group_id == gid and m.role == "member" and m.active and m.id not in below:
                            member_met[m.id, rule.key] += 1

    kinds = list(SUBMISSION_KINDS)
    member_rules = [r for r in rules if r.scope == "member"]
    wb = Workbook()
    ws = wb.active
    ws.title = OVERVIEW
    head = ["联络组", "组长", "委员人数", "活动次数", "出席人次", "请假人次", "缺席人次"]
    head += [SUBMISSION_KINDS[k] for k in kinds] + ["采用", "批示"]
    head += [f"{r.name}达标（共{rule_counts[r.key]}期）" for r in rules]
    overview = [head]
    by_group: dict[int, list[Member]] = defaultdict(list)
    for m in members:
        by_group[m.group_id].append(m)
    for g in groups:
        people = by_group[g.id]
        ts = [tallies[m.id] for m in people]
        row = [
            g.name,
            "、".join(m.name for m in people if m.role == "leader"),
            sum(1 for m in people if m.role == "member" and m.active),
            held[g.id],
            sum(t.attended for t in ts),
            sum(t.on_leave for t in ts),
            sum(t.absent for t in ts),
        ]
        row += [sum(t.kinds[k] for t in ts) for k in kinds]
        row += [sum(t.adopted for t in ts), sum(t.instructed for t in ts)]
        row += [group_met[g.id, r.key] for r in rules]
        overview.append(row)
    _fill(ws, overview)

    for g in groups:
        sheet = wb.create_sheet(_sheet_name(g.name, wb.sheetnames))
        head = ["姓名", "角色", "状态", "出席", "请假", "缺席"] + [SUBMISSION_KINDS[k] for k in kinds]
        head += ["采用", "批示"] + [f"{r.name}达标（共{rule_counts[r.key]}期）" for r in member_rules]
        rows = [head]
        for m in by_group[g.id]:
            t = tallies[m.id]
            row = [m.name, ROLE_NAMES.get(m.role, m.role), "在册" if m.active else "停用"]
            row += (
                [t.attended, t.on_leave, t.absent] + [t.kinds[k] for k in kinds] + [t.adopted, t.instructed]
            )
            row += [member_met[m.id, r.key] for r in member_rules]
            rows.append(row)
        _fill(sheet, rows)

    sheet = wb.create_sheet(SUBMISSIONS)
    rows = [
        [
            "编号",
            "联络组",
            "姓名",
            "类别",
            "标题",
            "内容",
            "提交日期",
            "状态",
            "采用级别",
            "采用日期",
            "批示",
            "批示日期",
        ]
    ]
    for s, name, gname in submissions:
        rows.append(
            [
                s.id,
                gname or "",
                name,
                SUBMISSION_KINDS.get(s.kind, s.kind),
                s.title,
                s.content,
                _local_date(s.submitted_at, tz),
                STATUS_WORDS.get(s.status, s.status),
                s.adopted_level or "",
                _local_date(s.adopted_at, tz),
                s.instruction or "",
                _local_date(s.instructed_at, tz),
            ]
        )
    _fill(sheet, rows)
    return wb


def _local_date(value: dt.datetime | None, tz: dt.tzinfo) -> dt.date | None:
    return value.astimezone(tz).date() if value is not None else None


def _sheet_name(name: str, taken: Sequence[str]) -> str:
    # Excel forbids []:*?/\ in sheet names and allows 31 characters.
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "组"
    candidate, n = base, 2
    while candidate in taken:
        candidate = f"{base[:28]}_{n}"
        n += 1
    return candidate


def _width(value) -> int:
    if isinstance(value, dt.date):
        return 11
    text = str(value if value is not None else "")
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


def _fill(ws, rows: list[list]) -> None:
    """Rows into the sheet: bold frozen header, dates as dates, widths that fit (capped at 60)."""
    for row in rows:
        ws.append(row)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.freeze_panes = "A2"
    for col in range(1, len(rows[0]) + 1):
        width = max(_width(r[col - 1]) for r in rows)
        ws.column_dimensions[get_column_letter(col)].width = min(max(width + 2, 6), 60)
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, dt.date):
                cell.number_format = DATE_FORMAT


def write_file(
    session: Session,
    settings: Settings,
    span: Period,
    group_name: str | None,
    now: dt.datetime,
    out: Path | None = None,
) -> Path:
    """Build the workbook and save it to `out`, or into settings.exports.dir under a dated name."""
    wb = build_workbook(session, settings, span, group_name, now)
    if out is None:
        stamp = now.astimezone(settings.tz).strftime("%Y%m%d-%H%M%S")
        out = Path(settings.exports.dir) / f"履职档案_{group_name or '全县'}_{span.label}_{stamp}.xlsx"
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out
