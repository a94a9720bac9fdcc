"""The duty record (履职档案) as an Excel workbook: an overview, one sheet per group, every submission.

Read-only and clock-free (the caller passes `now`); a handful of aggregate queries whatever the
number of members, plus one quota-standings pass per rule period in the range.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import ColumnElement, Row, and_, case, func, select
from sqlalchemy.orm import Session

from bot.config import QuotaRule, Settings
from bot.funnel import FUNNEL_HEAD, Funnel, note_funnel
from bot.messages import SUBMISSION_KINDS, SUBMISSION_STATUS_WORDS
from bot.periods import Period, period_of
from bot.periods import next as next_period
from bot.quotas import group_standings, period_bounds
from bot.scoring import MemberScore, year_scores
from models import ROLE_NAMES, Activity, Attachment, CheckIn, LeaveRequest, LiaisonGroup, Member, Submission

__all__ = [
    "OVERVIEW",
    "SCORES",
    "SUBMISSIONS",
    "ExportError",
    "build_workbook",
    "period_for",
    "rule_periods",
    "write_file",
]

OVERVIEW = "总览"
SUBMISSIONS = "提交明细"
SCORES = "积分"
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
    """One member's record in the span, or the sum of a group's."""

    attended: int = 0
    on_leave: int = 0
    absent: int = 0
    adopted: int = 0
    instructed: int = 0
    kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def __add__(self, other: _Tally) -> _Tally:
        kinds = defaultdict(int, self.kinds)
        for k, n in other.kinds.items():
            kinds[k] += n
        return _Tally(
            self.attended + other.attended,
            self.on_leave + other.on_leave,
            self.absent + other.absent,
            self.adopted + other.adopted,
            self.instructed + other.instructed,
            kinds,
        )

    def cells(self) -> list[int]:
        """出席, 请假, 缺席, one count per submission kind, 采用, 批示."""
        kinds = [self.kinds[k] for k in SUBMISSION_KINDS]
        return [self.attended, self.on_leave, self.absent, *kinds, self.adopted, self.instructed]


@dataclass(frozen=True)
class _Attainment:
    """Per rule, how many of its periods have begun in the span, and how many each group (and, for a
    member-scope rule, each member) met."""

    periods: dict[str, int]
    group_met: dict[tuple[int, str], int]
    member_met: dict[tuple[int, str], int]

    def heads(self, rules: Sequence[QuotaRule]) -> list[str]:
        return [f"{r.name}达标（共{self.periods[r.key]}期）" for r in rules]


_SUBMISSION_HEAD = [*SUBMISSION_KINDS.values(), "采用", "批示"]  # after attendance, as in _Tally.cells
_DETAIL_HEAD = [
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
    "附件",  # name (kind, pages) of each file, "；" between them
    "附件位置",  # where each is kept, relative to files.dir (content-addressed)
]


def build_workbook(
    session: Session,
    settings: Settings,
    span: Period,
    group_name: str | None,
    now: dt.datetime,
    member: Member | None = None,
) -> Workbook:
    """The span's duty record of one group (`group_name`) or of every group: 总览, a sheet per
    group, 提交明细; of one `member` (一人一档, the web page's export): their group's sheet with
    their row alone, their submissions and their score, without the groups' 总览."""
    tz = settings.tz
    today = now.astimezone(tz).date()
    if member is not None:
        group_name = session.scalar(select(LiaisonGroup.name).where(LiaisonGroup.id == member.group_id))
        if group_name is None:
            raise ExportError(f"{member.name}不在任何联络组")
    groups = _groups(session, group_name)
    gids = [g.id for g in groups]
    by_group: dict[int, list[Member]] = defaultdict(list)
    people = select(Member).where(Member.group_id.in_(gids)).order_by(Member.group_id, Member.id)
    for m in session.scalars(people if member is None else people.where(Member.id == member.id)):
        by_group[m.group_id].append(m)
    # A group's export counts and lists only what was filed in that group; the county's, everything.
    filed_in = gids if group_name else None
    tallies = _tallies(session, gids, span, tz, today, filed_in)
    held = _activities_held(session, gids, span, today)
    attainment = _attainment(session, settings.quotas, span, now, today, gids, by_group)
    submissions = _submissions(session, span, tz, filed_in)
    if member is not None:
        submissions = [row for row in submissions if row[0].member_id == member.id]

    funnel = note_funnel(session, span, tz, group_ids=gids)
    year = period_of("year", span.start)
    scores = [s for s in year_scores(session, settings.scoring, year, now, tz) if s.group_id in set(gids)]
    if member is not None:
        scores = [s for s in scores if s.member_id == member.id]

    wb = Workbook()
    _overview_sheet(wb.active, groups, by_group, tallies, held, settings.quotas, attainment, funnel)
    member_rules = [r for r in settings.quotas if r.scope == "member"]
    for g in groups:
        sheet = wb.create_sheet(_sheet_name(g.name, wb.sheetnames))
        _group_sheet(sheet, by_group[g.id], tallies, member_rules, attainment)
    _submissions_sheet(wb.create_sheet(SUBMISSIONS), submissions, tz, _attachments(session, submissions))
    _scores_sheet(wb.create_sheet(SCORES), scores, settings, year)
    if member is not None:
        wb.remove(wb[OVERVIEW])  # a group's totals, not the member's
    return wb


FUNNEL_COLUMNS = [f"社情民意{h}" for h in FUNNEL_HEAD] + ["社情民意采用级别"]


def _funnel_cells(f: Funnel) -> list:
    return [*f.cells(), f.levels()]


def _scores_sheet(ws: Worksheet, scores: list[MemberScore], settings: Settings, year: Period) -> None:
    """积分: every member of the exported groups, the year's points per category, total, grade, rank."""
    rules = settings.scoring
    head = ["排名", "组内排名", "联络组", "姓名", *(c.name for c in rules.categories), "总分", "等次", "是否合格"]
    rows: list[list] = [head]
    for s in scores:
        rows.append(
            [
                s.rank,
                s.group_rank,
                s.group_name or "",
                s.name,
                *(p.points for p in s.parts),
                s.total,
                s.grade,
                "合格" if s.passed else "不合格",
            ]
        )
    _fill(ws, rows)
    ws.cell(1, len(head) + 2, f"{year.label}，基础分{rules.base:g}，合格线{rules.pass_mark:g}分")


def _groups(session: Session, group_name: str | None) -> list[LiaisonGroup]:
    stmt = select(LiaisonGroup).order_by(LiaisonGroup.id)
    if group_name:
        stmt = stmt.where(LiaisonGroup.name == group_name)
    groups = list(session.scalars(stmt))
    if group_name and not groups:
        raise ExportError(f"没有名为「{group_name}」的联络组")
    return groups


def _held_so_far(span: Period, today: dt.date) -> list[ColumnElement[bool]]:
    """Activities held in the span up to today (today's counts as held, though not yet as missed)."""
    return [Activity.cancelled.is_(False), Activity.date >= span.start, Activity.date <= min(span.end, today)]


def _tallies(
    session: Session,
    gids: list[int],
    span: Period,
    tz: dt.tzinfo,
    today: dt.date,
    filed_in: list[int] | None,
) -> dict[int, _Tally]:
    """Each group member's attendance at their own group's activities held so far in the span, and
    their submissions in it (withdrawn ones count for nothing): two aggregate queries."""
    tallies: dict[int, _Tally] = defaultdict(_Tally)
    start, end = period_bounds(span, tz)
    submitted = (
        select(
            Submission.member_id,
            Submission.kind,
            func.count(),
            func.count(case((Submission.status == "adopted", 1))),
            func.count(Submission.instruction),
        )
        .join(Member, Member.id == Submission.member_id)
        .where(
            Member.group_id.in_(gids),
            Submission.status != "withdrawn",
            Submission.submitted_at >= start,
            Submission.submitted_at < end,
        )
        .group_by(Submission.member_id, Submission.kind)
    )
    if filed_in is not None:
        submitted = submitted.where(Submission.group_id.in_(filed_in))
    for mid, kind, n, adopted, instructed in session.execute(submitted):
        t = tallies[mid]
        t.kinds[kind] = n
        t.adopted += adopted
        t.instructed += instructed

    checked = select(CheckIn.id).where(CheckIn.activity_id == Activity.id, CheckIn.member_id == Member.id)
    excused = select(LeaveRequest.id).where(
        LeaveRequest.activity_id == Activity.id,
        LeaveRequest.member_id == Member.id,
        LeaveRequest.status == "approved",
    )
    there, off = checked.exists(), excused.exists()
    attendance = (
        select(
            Member.id,
            func.count(case((there, 1))),
            func.count(case((and_(~there, off), 1))),
            func.count(case((and_(~there, ~off, Activity.date < today), 1))),  # today's may be ahead
        )
        .join(Activity, Activity.group_id == Member.group_id)
        .where(Member.group_id.in_(gids), *_held_so_far(span, today))
        .group_by(Member.id)
    )
    for mid, attended, on_leave, absent in session.execute(attendance):
        t = tallies[mid]
        t.attended, t.on_leave, t.absent = attended, on_leave, absent
    return tallies


def _attainment(
    session: Session,
    rules: Sequence[QuotaRule],
    span: Period,
    now: dt.datetime,
    today: dt.date,
    gids: list[int],
    by_group: dict[int, list[Member]],
) -> _Attainment:
    """Quota attainment: one standings pass per rule period begun by today in the span."""
    periods: dict[str, int] = {}
    group_met: dict[tuple[int, str], int] = defaultdict(int)
    member_met: dict[tuple[int, str], int] = defaultdict(int)
    for rule in rules:
        judged = rule_periods(rule, span, today)
        periods[rule.key] = len(judged)
        for p in judged:
            for gid, (st,) in group_standings(session, [rule], now, gids, lambda _r, p=p: p).items():
                group_met[gid, rule.key] += st.met
                if rule.scope == "member":
                    below = {c.member_id for c in st.behind}
                    for m in by_group[gid]:
                        if _holds_quota(m) and m.id not in below:
                            member_met[m.id, rule.key] += 1
    return _Attainment(periods, group_met, member_met)


def _holds_quota(m: Member) -> bool:
    return m.role == "member" and m.active


def _activities_held(session: Session, gids: list[int], span: Period, today: dt.date) -> dict[int, int]:
    return dict(
        session.execute(
            select(Activity.group_id, func.count())
            .where(Activity.group_id.in_(gids), *_held_so_far(span, today))
            .group_by(Activity.group_id)
        )
        .tuples()
        .all()
    )


def _submissions(
    session: Session, span: Period, tz: dt.tzinfo, filed_in: list[int] | None
) -> Sequence[Row[tuple[Submission, str, str | None]]]:
    """Every submission of the span with its member's and group's names, oldest first."""
    start, end = period_bounds(span, tz)
    stmt = (
        select(Submission, Member.name, LiaisonGroup.name)
        .join(Member, Member.id == Submission.member_id)
        .outerjoin(LiaisonGroup, LiaisonGroup.id == Submission.group_id)
        .where(Submission.submitted_at >= start, Submission.submitted_at < end)
        .order_by(Submission.submitted_at, Submission.id)
    )
    if filed_in is not None:
        stmt = stmt.where(Submission.group_id.in_(filed_in))
    return session.execute(stmt).all()


def _overview_sheet(
    ws: Worksheet,
    groups: list[LiaisonGroup],
    by_group: dict[int, list[Member]],
    tallies: dict[int, _Tally],
    held: dict[int, int],
    rules: Sequence[QuotaRule],
    attainment: _Attainment,
    funnel: dict[int | None, Funnel],
) -> None:
    """总览: a row per group — its leaders, members, activities held, the sum of its members' tallies,
    each rule's attainment, and its 社情民意 funnel (as 社情民意流转情况 counts it)."""
    ws.title = OVERVIEW
    head = ["联络组", "组长", "委员人数", "活动次数", "出席人次", "请假人次", "缺席人次", *_SUBMISSION_HEAD]
    rows: list[list] = [head + attainment.heads(rules) + FUNNEL_COLUMNS]
    for g in groups:
        people = by_group[g.id]
        total = sum((tallies[m.id] for m in people), _Tally())
        rows.append(
            [
                g.name,
                "、".join(m.name for m in people if m.role == "leader"),
                sum(1 for m in people if _holds_quota(m)),
                held.get(g.id, 0),
                *total.cells(),
                *(attainment.group_met[g.id, r.key] for r in rules),
                *_funnel_cells(funnel.get(g.id, Funnel())),
            ]
        )
    _fill(ws, rows)


def _group_sheet(
    ws: Worksheet,
    people: list[Member],
    tallies: dict[int, _Tally],
    member_rules: Sequence[QuotaRule],
    attainment: _Attainment,
) -> None:
    """A group's sheet: a row per member, with the member-scope rules' attainment."""
    head = ["姓名", "角色", "状态", "出席", "请假", "缺席", *_SUBMISSION_HEAD]
    rows: list[list] = [head + attainment.heads(member_rules)]
    for m in people:
        rows.append(
            [
                m.name,
                ROLE_NAMES.get(m.role, m.role),
                "在册" if m.active else "停用",
                *tallies[m.id].cells(),
                *(attainment.member_met[m.id, r.key] for r in member_rules),
            ]
        )
    _fill(ws, rows)


def _attachments(
    session: Session, submissions: Sequence[Row[tuple[Submission, str, str | None]]]
) -> dict[int, list[Attachment]]:
    """The files of these submissions, by submission, in the order they came (one query)."""
    ids = [row[0].id for row in submissions]
    found: dict[int, list[Attachment]] = {}
    if not ids:
        return found
    stmt = select(Attachment).where(Attachment.submission_id.in_(ids)).order_by(Attachment.id)
    for attachment in session.scalars(stmt):
        found.setdefault(attachment.submission_id, []).append(attachment)
    return found


def _file_cells(files: list[Attachment]) -> list[str]:
    """附件 and 附件位置 of one submission."""
    label = {"application/pdf": "PDF"}
    shown = [
        f"{a.name}（{label.get(a.mime_type, '图片' if a.mime_type.startswith('image/') else 'Word')}"
        + (f"，{a.pages}页）" if a.pages else "）")
        for a in files
    ]
    return ["；".join(shown), "；".join(a.storage_path for a in files)]


def _submissions_sheet(
    ws: Worksheet,
    submissions: Sequence[Row[tuple[Submission, str, str | None]]],
    tz: dt.tzinfo,
    files: dict[int, list[Attachment]],
) -> None:
    """提交明细: every submission of the span, withdrawn ones too (the record never deletes), with its files."""
    rows: list[list] = [_DETAIL_HEAD]
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
                SUBMISSION_STATUS_WORDS.get(s.status, s.status),
                s.adopted_level or "",
                _local_date(s.adopted_at, tz),
                s.instruction or "",
                _local_date(s.instructed_at, tz),
                *_file_cells(files.get(s.id, [])),
            ]
        )
    _fill(ws, rows)


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


def _width(value: object) -> int:
    if isinstance(value, dt.date):
        return 11
    text = str(value if value is not None else "")
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


def _fill(ws: Worksheet, rows: list[list]) -> None:
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
    if out is not None and out.suffix.lower() != ".xlsx":
        # The workbook has several sheets and Excel dates: nothing else holds it.
        raise ExportError(f"只能导出为 .xlsx（Excel）文件，不能写成 {out.name}：请用 --out {out.stem}.xlsx")
    wb = build_workbook(session, settings, span, group_name, now)
    if out is None:
        stamp = now.astimezone(settings.tz).strftime("%Y%m%d-%H%M%S")
        out = Path(settings.exports.dir) / f"履职档案_{group_name or '全县'}_{span.label}_{stamp}.xlsx"
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out
