"""履职积分 in chat: 我的积分 (a member's points by category, and what would raise them), 本组积分 (a
leader's ranking, who is below the pass mark), 全县积分排名 (the office's grades and top of the county).

Read-only: computed by `bot.scoring` for the year asked about (this year unless 去年 / 2025年 is
said; the score is yearly, so 本季度积分 is answered for the year that holds the quarter).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy.orm import Session

from bot.messages import Command, Reply
from bot.periods import Period, period_of
from bot.router import Context, Router, UserError
from bot.scoring import MemberScore, Part, year_scores
from handlers.people import asked_about
from handlers.phrasing import MAX_NAMES, month_day
from handlers.status import asked_period, group_asked
from models import LiaisonGroup, Member

router = Router()

TOP = 10  # the county's ranking in chat: its head; the export holds everyone


def _year(command: Command, ctx: Context) -> Period:
    today = ctx.now.date()
    asked = asked_period(command.period_word, today)
    return period_of("year", asked.start if asked else today)


def _pts(value: float) -> str:
    return f"{value:g}"


def _asof(year: Period, ctx: Context) -> str:
    today = ctx.now.date()
    return f"截至{month_day(today)}" if year.start <= today <= year.end else "全年"


@router.route("score")
def score(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    if command.target == "county":  # 全县积分: the county, whichever chat it is asked in
        if member.role != "admin":
            raise UserError("全县积分排名由县政协办公室查看；组长可发「本组积分」。")
        return _county(session, command, ctx)
    if command.target == "group" and member.role == "admin":
        gid = group_asked(session, member, command, ctx)
        return _group(session, gid, command, ctx) if gid is not None else _county(session, command, ctx)
    if command.target == "group":
        if member.role != "leader":
            raise UserError("本组积分由组长查看；您可以发「我的积分」。")
        return _group(session, group_asked(session, member, command, ctx), command, ctx)
    if command.name:  # 张三今年的积分: a leader's own group, the office anyone, a member only themself
        scored = asked_about(
            session,
            member,
            command.name,
            command,
            ctx,
            own_only="只能查看自己的积分，发送「我的积分」。",
            missing="{where}没有「{name}」，请核对姓名。",
        )
        return _mine(session, scored, command, ctx)
    if member.role == "admin":
        raise UserError("县政协办公室人员不计履职积分；可发「全县积分排名」或「第一联络组积分」。")
    return _mine(session, member, command, ctx)


def _scores(session: Session, ctx: Context, year: Period, group_id: int | None = None) -> list[MemberScore]:
    return year_scores(session, ctx.settings.scoring, year, ctx.now, ctx.settings.tz, group_id)


def _mine(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    year = _year(command, ctx)
    everyone = _scores(session, ctx, year)
    mine = next((s for s in everyone if s.member_id == member.id), None)
    if mine is None:
        raise UserError(f"{member.name}不在积分名单中（账号已停用或不计积分）。")
    rules = ctx.settings.scoring
    head = (
        f"{member.name}{year.label}履职积分：{_pts(mine.total)}分（{mine.grade}），"
        f"全县第{mine.rank}名、组内第{mine.group_rank}名（{_asof(year, ctx)}）"
    )
    lines = [
        head,
        "；".join(f"{p.category.name}{_pts(p.points)}{_cap(p)}（{_counted(p)}）" for p in mine.parts),
    ]
    if not mine.passed:
        lines.append(f"距合格线{_pts(rules.pass_mark)}分还差{_pts(rules.pass_mark - mine.total)}分。")
    raise_by = _what_raises(mine.parts)
    if raise_by:
        lines.append("提分：" + "；".join(raise_by))
    return Reply("\n".join(lines))


def _cap(p: Part) -> str:
    return f"/{_pts(p.category.cap)}" if p.category.cap is not None else ""


def _counted(p: Part) -> str:
    t = p.tally
    if p.category.source == "activity":
        words = [f"出席{t.attended}次"]
        words += [f"请假{t.on_leave}次"] if t.on_leave else []
        words += [f"缺席{t.absent}次"] if t.absent else []
        return "，".join(words)
    words = [f"{t.sent}件"]
    adopted = sum(n for _level, n in t.adopted)
    words += [f"采用{adopted}件"] if adopted else []
    words += [f"批示{t.instructed}次"] if t.instructed else []
    return "，".join(words)


def _what_raises(parts: tuple[Part, ...]) -> list[str]:
    """参加会议每次+10分, 提交提案每件+10分: the categories not yet at their cap, richest first."""
    offers = []
    for p in parts:
        c = p.category
        per = c.attended if c.source == "activity" else c.each
        if per <= 0 or p.capped:
            continue
        room = per if c.cap is None else min(per, c.cap - p.points)
        verb = "参加" if c.source == "activity" else "提交"
        unit = "每次" if c.source == "activity" else "每件"
        offers.append((room, f"{verb}{c.name}{unit}+{_pts(room)}分"))
    return [text for _room, text in sorted(offers, key=lambda o: -o[0])[:3]]


def _group(session: Session, group_id: int | None, command: Command, ctx: Context) -> Reply:
    if group_id is None:
        raise UserError("您还没有分到联络组，请联系县政协办公室。")
    year = _year(command, ctx)
    rows = _scores(session, ctx, year, group_id)
    name = session.get(LiaisonGroup, group_id).name
    rules = ctx.settings.scoring
    lines = [f"{name}{year.label}履职积分（{_asof(year, ctx)}，合格线{_pts(rules.pass_mark)}分）："]
    lines += [f"{s.group_rank}. {s.name} {_pts(s.total)}分 {s.grade}" for s in rows]
    below = [s.name for s in rows if not s.passed]
    if below:
        shown = "、".join(below[:MAX_NAMES]) + (f"等{len(below)}人" if len(below) > MAX_NAMES else "")
        lines.append(f"低于合格线：{shown}")
    return Reply("\n".join(lines))


def _county(session: Session, command: Command, ctx: Context) -> Reply:
    year = _year(command, ctx)
    rows = _scores(session, ctx, year)
    if not rows:
        return Reply("花名册里还没有委员。")
    rules = ctx.settings.scoring
    grades = Counter(s.grade for s in rows)
    names = [g.name for g in rules.grades] + [rules.lowest_grade]
    spread = "、".join(f"{g}{grades[g]}人" for g in names if grades[g])
    below = sum(not s.passed for s in rows)
    lines = [
        f"全县{year.label}履职积分（{_asof(year, ctx)}，共{len(rows)}人）：{spread}；低于合格线{_pts(rules.pass_mark)}分{below}人",
        f"前{min(TOP, len(rows))}名：",
    ]
    lines += [f"{s.rank}. {s.name}（{s.group_name or '未分组'}）{_pts(s.total)}分" for s in rows[:TOP]]
    return Reply("\n".join(lines))
