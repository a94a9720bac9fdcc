"""社情民意, 意见建议, 调研报告, 为民办实事, 提案: a member's written work, recorded as sent, and counted
in the period its quota rule counts it in (社情民意 the month, 调研报告 the half-year)."""

from __future__ import annotations

import datetime as dt
import re
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import Select, String, and_, bindparam, cast, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from bot import advice, files
from bot.conversation import Question
from bot.messages import SUBMISSION_KINDS, Command, FileRef, Notice, Reply
from bot.periods import Period, period_of, spoken
from bot.quotas import period_bounds
from bot.router import Context, Prefetch, Router, prefetched
from handlers.phrasing import month_day
from models import Attachment, InboundMessage, LiaisonGroup, Member, Submission, next_id

if TYPE_CHECKING:
    from bot.config import Settings

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


def _counting_period(quotas, kind: str, scope: str, today: dt.date) -> Period:
    """The period a kind is counted in: that of the quota rule counting it (调研报告: the half-year),
    preferring a rule of the asker's scope; a kind no rule counts: the month."""
    rules = [r for r in quotas if r.source == "submission" and kind in r.kinds]
    rule = next((r for r in rules if r.scope == scope), rules[0] if rules else None)
    return period_of(rule.period if rule else "month", today)


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


def _in_period(scope: str):
    """Submitted within the period the note's kind is counted in for a member of `scope` (group,
    member): the bounds are the parameters pf_{scope}_start and pf_{scope}_end (`_note_values`)."""
    start = bindparam(f"pf_{scope}_start", type_=Submission.submitted_at.type)
    end = bindparam(f"pf_{scope}_end", type_=Submission.submitted_at.type)
    return and_(Submission.submitted_at >= start, Submission.submitted_at < end)


def _note_shape(command: Command, settings: Settings) -> tuple[bool] | None:
    """None for a command without a note's text; else whether the group's recent notes are read."""
    if _title_and_content(command) is None:
        return None
    return (command.intent == "opinion" and settings.submissions.advice,)


def _note_joined(dialect: str, stmt: Select, shape: tuple[bool]) -> Select:
    """Read with the sender: the same note sent within minutes, the count so far in the period its
    quota rule counts it in (of the group, or of a member outside groups), and the id the note will
    take, so that the answer, which names it, is known before anything is written."""
    (with_recent,) = shape
    kind = bindparam("pf_kind", type_=Submission.kind.type)
    same = _same_note(Member.id, kind, bindparam("pf_title"), bindparam("pf_content"), bindparam("pf_since"))
    scope = or_(
        and_(Member.group_id.is_not(None), Submission.group_id == Member.group_id, _in_period("group")),
        and_(Member.group_id.is_(None), Submission.member_id == Member.id, _in_period("member")),
    )
    count = select(func.count(Submission.id)).where(
        scope, Submission.kind == kind, Submission.status != "withdrawn"
    )
    return stmt.add_columns(
        same.limit(1).scalar_subquery(),
        count.scalar_subquery(),
        next_id(dialect, Submission.__table__),
        _recent_of_group(kind) if with_recent else literal(None, String),
    )


def _note_values(command: Command, now: dt.datetime, settings: Settings) -> dict:
    title, content = _title_and_content(command)
    kind = command.intent
    values = {"pf_kind": kind, "pf_title": title, "pf_content": content, "pf_since": now - _RESENT_WITHIN}
    for scope in ("group", "member"):
        period = _counting_period(settings.quotas, kind, scope, now.date())
        values[f"pf_{scope}_start"], values[f"pf_{scope}_end"] = period_bounds(period, now.tzinfo)
    values["pf_recent_since"] = now - dt.timedelta(days=settings.submissions.similar_days)
    return values


_prefetch_note = Prefetch(build=_note_joined, values=_note_values, shape=_note_shape)


def _recent_of_group(kind):
    """The group's recent 社情民意 (id, title, start of content) in one string, for the intake advice
    to compare with (bot/advice.py), read with the sender: no round trip of its own."""
    row = (
        cast(Submission.id, String)
        + literal(advice.FIELD)
        + Submission.title
        + literal(advice.FIELD)
        + func.substr(Submission.content, 1, advice.COMPARED_CHARS)
    )
    return (
        select(func.aggregate_strings(row, advice.ROW))
        .where(
            Submission.group_id == Member.group_id,
            Submission.kind == kind,
            Submission.status != "withdrawn",
            Submission.submitted_at > bindparam("pf_recent_since", type_=Submission.submitted_at.type),
        )
        .scalar_subquery()
    )


def _advice(kind: str, title: str, content: str, recent: str | None, settings: Settings) -> str:
    if kind != "opinion" or not settings.submissions.advice:
        return ""
    rules = settings.submissions
    line = advice.advice(title, content, advice.recent_from(recent), rules.max_chars, rules.similar_ratio)
    return f"\n{line}" if line else ""


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
    if command.attachments and (kept := _kept_already(session, member, command)) is not None:
        return kept

    # Once per note: the same text of the same kind sent again within minutes (a double tap, a
    # resend after a slow answer) is the note already recorded. The pipeline holds the member's
    # row for the message, so a second copy sent at the same moment sees the first.
    same_id, count, new_id, recent = prefetched(session, ctx, member, command, _prefetch_note)[0]
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
    scope = "group" if member.group_id is not None else "member"
    period = _counting_period(ctx.settings.quotas, kind, scope, ctx.now.date())
    # A file is echoed by what it is (（PDF，12页）), a text by the day it was recorded.
    echoed = _files_shown(command.attachments) if command.attachments else f"（{month_day(ctx.now)}）"
    return Reply(
        f"已收到{label}《{_shown(title)}》{echoed}，"
        f"这是{spoken(period, ctx.now.date())}{whose}第{count + 1}{_UNITS.get(kind, '篇')}，编号#{new_id}。"
        + _advice(kind, title, content, recent, ctx.settings),
        then=partial(_record, values, command.attachments, ctx.now),
        notices=_tell_office(session, member, kind, new_id, title, content, ctx),
    )


def _tell_office(
    session: Session, member: Member, kind: str, number: int, title: str, content: str, ctx: Context
) -> tuple[Notice, ...]:
    """With submissions.tell_office: each admin told of a new 社情民意 one-to-one, with one-tap
    采用（县级）and 退回 — the typed commands' words, so a tap records what typing them would."""
    if kind != "opinion" or not ctx.settings.submissions.tell_office:
        return ()
    admins = session.scalars(
        select(Member.id).where(Member.role == "admin", Member.active.is_(True)).order_by(Member.id)
    ).all()
    group = session.scalar(select(LiaisonGroup.name).where(LiaisonGroup.id == member.group_id)) or ""
    text = f"{group}{member.name}的社情民意#{number}：《{_shown(title)}》{' '.join(content.split())[:120]}"
    actions = (("县级采用", f"采用 #{number} 县级"), ("退回", f"退回 #{number}"))
    return tuple(
        Notice(key=f"note:{number}:office:{admin}", to_member_id=admin, text=text, actions=actions)
        for admin in admins
        if admin != member.id
    )


def _same_note(member_id, kind, title, content, since) -> Select:
    """The member's note of this kind and text sent since `since` (not withdrawn): the same note.
    Each argument a value or an expression (a bind parameter, a column)."""
    return select(Submission.id).where(
        Submission.member_id == member_id,
        Submission.kind == kind,
        Submission.title == title,
        Submission.content == content,
        Submission.status != "withdrawn",
        Submission.submitted_at > since,
    )


_NOTE_COLUMNS = ("id", "member_id", "group_id", "kind", "title", "content", "submitted_at", "source_message_id")


def _insert_note_statement():
    """INSERT … SELECT the note's values WHERE NOT EXISTS the same note (`_record`)."""
    table = Submission.__table__
    v = {c: bindparam(f"v_{c}", type_=table.c[c].type) for c in _NOTE_COLUMNS}
    since = bindparam("since", type_=table.c.submitted_at.type)
    same = _same_note(v["member_id"], v["kind"], v["title"], v["content"], since)
    chosen = select(*v.values()).where(~same.exists())
    # RETURNING says whether it wrote: psycopg reports an INSERT … SELECT's rowcount as -1.
    return insert(table).from_select(list(_NOTE_COLUMNS), chosen).returning(table.c.id)


_INSERT_NOTE = _insert_note_statement()  # built once, like the pipeline's own statements


def _record(
    values: dict, refs: tuple[FileRef, ...], now: dt.datetime, session: Session, inbound_id: int
) -> Reply | None:
    """The note and its files, once the message is logged (Reply.then): each names the message.

    Written only if the same note is still not there. The sender's query read "not there" with one
    statement that also took the member's row lock; on PostgreSQL its snapshot may predate a copy of
    the note that committed while that statement ran (the lock was free by the time it was reached,
    so nothing waited and nothing was re-read). This INSERT … SELECT … WHERE NOT EXISTS is a new
    statement, under the lock, and sees that copy: then nothing is written and the answer is the
    repeat's (tests/test_races.py)."""
    row = {**values, "source_message_id": inbound_id}
    since = now - _RESENT_WITHIN
    params = {f"v_{c}": row[c] for c in _NOTE_COLUMNS}
    if session.execute(_INSERT_NOTE, {**params, "since": since}).first() is None:
        same = _same_note(values["member_id"], values["kind"], values["title"], values["content"], since)
        number = session.scalar(same.order_by(Submission.id).limit(1))
        label = SUBMISSION_KINDS[values["kind"]]
        return Reply(f"已收到过这篇{label}《{_shown(values['title'])}》（编号#{number}），没有重复记录。")
    if refs:
        session.execute(
            insert(Attachment.__table__),
            [_attachment_values(values["id"], ref, now, inbound_id) for ref in refs],
        )


def _attachment_values(submission_id: int, ref: FileRef, now: dt.datetime, inbound_id: int | None) -> dict:
    return {
        "submission_id": submission_id,
        "name": ref.name,
        "mime_type": ref.mime,
        "size_bytes": ref.size,
        "sha256": ref.sha256,
        "storage_path": ref.path,
        "pages": ref.pages,
        "received_at": now,
        "source_message_id": inbound_id,
    }


def _files_shown(refs: tuple[FileRef, ...]) -> str:
    """（PDF，12页） for one file; （PDF，12页；2张图片） for several."""
    documents = [r for r in refs if r.label != "图片"]
    pictures = len(refs) - len(documents)
    parts = [files.described(r)[1:-1] for r in documents]
    if pictures:
        parts.append(f"{pictures}张图片" if pictures > 1 or documents else "图片")
    return f"（{'；'.join(parts)}）"


def _kept_already(session: Session, member: Member, command: Command) -> Reply | None:
    """The answer to a file the member's notes already hold (sent again, days later: the same bytes)."""
    filed = session.scalar(
        select(Submission)
        .join(Attachment, Attachment.submission_id == Submission.id)
        .where(
            Submission.member_id == member.id,
            Submission.status != "withdrawn",
            Attachment.sha256.in_([r.sha256 for r in command.attachments]),
        )
        .order_by(Submission.id)
        .limit(1)
    )
    if filed is None:
        return None
    label = SUBMISSION_KINDS[filed.kind]
    return Reply(f"这份材料已经收到过：{label}《{_shown(filed.title)}》（编号#{filed.id}），没有重复记录。")


def _attach(session: Session, submission: Submission, command: Command, ctx: Context) -> None:
    for ref in command.attachments:
        session.add(Attachment(**_attachment_values(submission.id, ref, ctx.now, ctx.inbound_id)))


def _recent_note(session: Session, member: Member, ctx: Context) -> Submission | None:
    """The member's latest note sent in this chat within `files.attach_minutes`: where pictures
    sent on their own right after it belong."""
    minutes = ctx.settings.files.attach_minutes
    if not minutes:
        return None
    chat = ctx.incoming.chat_id
    same_chat = InboundMessage.chat_id == chat if chat else InboundMessage.chat_id.is_(None)
    return session.scalar(
        select(Submission)
        .join(InboundMessage, InboundMessage.id == Submission.source_message_id)
        .where(
            Submission.member_id == member.id,
            Submission.status != "withdrawn",
            Submission.submitted_at > ctx.now - dt.timedelta(minutes=minutes),
            InboundMessage.platform == ctx.incoming.platform,
            same_chat,
        )
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())
        .limit(1)
    )


ASK_KIND = "收到{what}《{title}》。这份材料是：社情民意 / 建议 / 调研报告 / 为民办实事 / 提案？请回复类别。"


@router.route(files.FILE_INTENT)
def ask_kind(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """A file whose kind neither the words nor its name say: ask, the file kept with the question."""
    kept = _kept_already(session, member, command)
    if kept is not None:
        return kept
    if all(a.label == "图片" for a in command.attachments):
        note = _recent_note(session, member, ctx)
        if note is not None:  # the photos of the note just sent
            _attach(session, note, command, ctx)
            count = len(command.attachments)
            pictures = "图片" if count == 1 else f"{count}张图片"
            label = SUBMISSION_KINDS[note.kind]
            return Reply(f"已把{pictures}附在{label}《{_shown(note.title)}》（编号#{note.id}）后。")
    first = command.attachments[0]
    what = "图片" if first.label == "图片" else "文件"
    title = _shown(command.title or first.name)
    return Reply(ASK_KIND.format(what=what, title=title), question=Question("note_kind", command))


for _kind in SUBMISSION_KINDS:
    router.route(_kind, prefetch=_prefetch_note)(_submit)
