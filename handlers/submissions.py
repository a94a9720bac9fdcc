"""社情民意, 意见建议, 调研报告, 为民办实事, 提案: a member's written work, recorded as sent."""

from __future__ import annotations

import datetime as dt
import re
from functools import partial

from sqlalchemy import Select, and_, func, insert, or_, select
from sqlalchemy.orm import Session

from bot.conversation import Question
from bot.messages import SUBMISSION_KINDS, Command, Reply
from bot.router import Context, Router, prefetched
from handlers.phrasing import month_day
from models import Member, Submission, next_id

router = Router()

_TITLE_MAX = 30
_RESENT_WITHIN = dt.timedelta(minutes=10)
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


def _month_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """This calendar month in the configured timezone (quotas count by local month)."""
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, nxt


def _title_and_content(command: Command) -> tuple[str, str] | None:
    """The note's title and content as recorded, None when the message brought neither."""
    title = (command.title or "").strip()
    content = command.content if command.content and command.content.strip() else None
    if not title and content is None:
        return None
    if not title:
        title = _title_from(content)
    if content is None:
        content = title  # a title-only note keeps its words as the content too
    return title[:200], content


def _prefetch_note(session: Session, stmt: Select, command: Command, now: dt.datetime) -> Select:
    """Read with the sender: the same note sent within minutes, this month's count so far (of the
    group, or of a member outside groups), and the id the note will take, so that the answer,
    which names it, is known before anything is written."""
    fields = _title_and_content(command)
    if fields is None:
        return stmt
    title, content = fields
    same = select(Submission.id).where(
        Submission.member_id == Member.id,
        Submission.kind == command.intent,
        Submission.title == title,
        Submission.content == content,
        Submission.status != "withdrawn",
        Submission.submitted_at > now - _RESENT_WITHIN,
    )
    start, end = _month_bounds(now)
    scope = or_(
        and_(Member.group_id.is_not(None), Submission.group_id == Member.group_id),
        and_(Member.group_id.is_(None), Submission.member_id == Member.id),
    )
    count = select(func.count(Submission.id)).where(
        scope,
        Submission.kind == command.intent,
        Submission.status != "withdrawn",
        Submission.submitted_at >= start,
        Submission.submitted_at < end,
    )
    return stmt.add_columns(
        same.limit(1).scalar_subquery(), count.scalar_subquery(), next_id(session, Submission.__table__)
    )


def _submit(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    kind = command.intent
    label = SUBMISSION_KINDS[kind]
    fields = _title_and_content(command)
    if fields is None:
        # "反映社情民意" and nothing more: ask for the text; the next message in this chat is the note.
        return Reply(
            f"请发来{label}的内容（第一句作标题），我收到后记下。",
            question=Question("content", command),
        )
    title, content = fields
    # Once per note: the same text of the same kind sent again within minutes (a double tap, a
    # resend after a slow answer) is the note already recorded. The pipeline holds the member's
    # row for the message, so a second copy sent at the same moment sees the first.
    same_id, count, new_id = prefetched(session, ctx, member, command, _prefetch_note)[0]
    if same_id is not None:
        return Reply(f"已收到过这篇{label}《{_shown(title)}》（编号#{same_id}），没有重复记录。")
    values = {
        "id": new_id,
        "member_id": member.id,
        "group_id": member.group_id,
        "kind": kind,
        "title": title,
        "content": content,
        "submitted_at": ctx.now,
    }
    whose = "本组" if member.group_id is not None else "您"
    return Reply(
        f"已收到{label}《{_shown(title)}》（{month_day(ctx.now)}），这是本月{whose}第{count + 1}篇，编号#{new_id}。",
        then=partial(_record, values),
    )


def _record(values: dict, session: Session, inbound_id: int) -> None:
    session.execute(insert(Submission.__table__).values(**values, source_message_id=inbound_id))


for _kind in SUBMISSION_KINDS:
    router.route(_kind, prefetch=_prefetch_note)(_submit)
