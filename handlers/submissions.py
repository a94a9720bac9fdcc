"""社情民意, 意见建议, 调研报告, 为民办实事, 提案: a member's written work, recorded as sent, and counted
in the period its quota rule counts it in (社情民意 the month, 调研报告 the half-year)."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.conversation import Question
from bot.messages import SUBMISSION_KINDS, Command, Reply
from bot.periods import Period, period_of, spoken
from bot.quotas import period_bounds
from bot.router import Context, Router
from handlers.phrasing import month_day
from models import Member, Submission

router = Router()

_TITLE_MAX = 30
_RESENT_WITHIN = dt.timedelta(minutes=10)
_UNITS = {"project": "件"}  # 为民办实事 is a thing done, not a text: 第1件
_CLAUSE_END = re.compile(r"[，。；！？,.;!?\n\r]")


def _title_from(content: str) -> str:
    """The first clause of the content, cut to 30 characters: enough to recognise the note."""
    for clause in _CLAUSE_END.split(content):
        clause = clause.strip()
        if clause:
            return clause[:_TITLE_MAX]
    return content.strip()[:_TITLE_MAX]


def _shown(title: str) -> str:
    return title if len(title) <= _TITLE_MAX else title[:_TITLE_MAX] + "…"


def _counting_period(ctx: Context, kind: str, scope: str) -> Period:
    """The period a kind is counted in: that of the quota rule counting it (调研报告: the half-year),
    preferring a rule of the asker's scope; a kind no rule counts: the month."""
    rules = [r for r in ctx.settings.quotas if r.source == "submission" and kind in r.kinds]
    rule = next((r for r in rules if r.scope == scope), rules[0] if rules else None)
    return period_of(rule.period if rule else "month", ctx.now.date())


def _submit(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    kind = command.intent
    label = SUBMISSION_KINDS[kind]
    title = (command.title or "").strip()
    content = command.content if command.content and command.content.strip() else None
    if not title and content is None:
        # "反映社情民意" and nothing more: ask for the text; the next message in this chat is the note.
        return Reply(
            f"请发来{label}的内容（第一句作标题），我收到后记下。",
            question=Question("content", command),
        )
    if not title:
        title = _title_from(content)
    if content is None:
        content = title  # a title-only note keeps its words as the content too

    # Once per note: the same text of the same kind sent again within minutes (a double tap, a
    # resend after a slow answer) is the note already recorded. The pipeline holds the member's
    # row for the message, so a second copy sent at the same moment sees the first.
    same = session.scalar(
        select(Submission)
        .where(
            Submission.member_id == member.id,
            Submission.kind == kind,
            Submission.title == title[:200],
            Submission.content == content,
            Submission.status != "withdrawn",
            Submission.submitted_at > ctx.now - _RESENT_WITHIN,
        )
        .limit(1)
    )
    if same is not None:
        return Reply(f"已收到过这篇{label}《{_shown(same.title)}》（编号#{same.id}），没有重复记录。")

    submission = Submission(
        member_id=member.id,
        group_id=member.group_id,
        kind=kind,
        title=title[:200],
        content=content,
        submitted_at=ctx.now,
        source_message_id=ctx.inbound_id,
    )
    session.add(submission)
    session.flush()

    whose = "本组" if member.group_id is not None else "您"
    period = _counting_period(ctx, kind, "group" if member.group_id is not None else "member")
    count = _count_in(session, member, kind, period, ctx.now)
    return Reply(
        f"已收到{label}《{_shown(title)}》（{month_day(ctx.now)}），"
        f"这是{spoken(period, ctx.now.date())}{whose}第{count}{_UNITS.get(kind, '篇')}，编号#{submission.id}。"
    )


def _count_in(session: Session, member: Member, kind: str, period: Period, now: dt.datetime) -> int:
    """How many of `kind` the member's group (or the member, outside any group) sent in `period`."""
    start, end = period_bounds(period, now.tzinfo)
    scope = (
        Submission.group_id == member.group_id
        if member.group_id is not None
        else Submission.member_id == member.id
    )
    return session.scalar(
        select(func.count(Submission.id)).where(
            scope,
            Submission.kind == kind,
            Submission.status != "withdrawn",
            Submission.submitted_at >= start,
            Submission.submitted_at < end,
        )
    )


for _kind in SUBMISSION_KINDS:
    router.route(_kind)(_submit)
