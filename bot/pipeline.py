"""One entry for every platform: log the message once, find the member, parse, authorize, dispatch.

Each message is handled in one transaction: the inbound log row, the records the
handler writes and any notices for the outbox commit together or not at all, and a
redelivered message (same platform + msg_id) returns the first answer without
touching anything. Nothing is answered as done before it is committed.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, insert, null, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot import cards, conversation, files, outbox
from bot.config import Settings
from bot.conversation import Question, Resumed, Retry
from bot.dates import DateError
from bot.descriptor import PlatformDescriptor, Platforms
from bot.messages import TAP_INTENT, Command, FileRefused, Incoming, Reply
from bot.parser import is_chatter, looks_like_note
from bot.router import Ask, Context, Prefetch, Route, Router, UserError
from models import WRITES_AFTER_READING, ChatBinding, InboundMessage, LiaisonGroup, Member, PendingQuestion

log = logging.getLogger(__name__)

APOLOGY = "抱歉，系统出了点问题，这条消息没有记下，请稍后再发一次。"
NOT_UNDERSTOOD = "没看懂这条消息，没有记录。发送「帮助」查看可以怎么说。"
GREETING = "您好，我是履职助手。发送「帮助」查看可以怎么说，例如「签到」「社情民意：……」「请假 明天的视察 家里有事」。"
_GREETING_RE = re.compile(r"^(?:你好|您好|在吗|在不在|在么|哈喽|嗨|hi|hello|早上好|上午好|下午好|晚上好|老师好|助手好)[呀啊哈吗呢!！。.~～?？]*$", re.I)
IS_IT_A_NOTE = "这是一篇社情民意吗？回复「是」记为社情民意，或回复类别：建议 / 调研报告 / 为民办实事 / 提案"
DECLINED = "好的，这条消息没有记录。"
TOO_LONG = "这条消息有{length}字，超过了{limit}字的上限，没有记录。请精简后再发。"
EXPIRED = "刚才的问题超过{minutes}分钟没有回复，已作废，这条消息没有记录。请重新发送原来的消息。"
UNKNOWN_SENDER = "您还没有绑定身份。请发送：绑定 姓名 手机号（与花名册一致），例如：绑定 张三 13800001234"
INACTIVE = "您的账号已停用，如有疑问请联系县政协办公室。"
WRONG_CHAT = "这个群属于其他联络组，请在本组群里或私聊我发送。"
ROLE_REFUSAL = {
    ("leader", "admin"): "只有组长（联络员）可以这样操作。",
    ("admin",): "只有县政协办公室的管理员可以这样操作。",
}

Parser = Callable[[str, dt.datetime], Command]


@dataclass(frozen=True)
class Outcome:
    """What the pipeline did with one message; `reply` None means stay silent."""

    reply: Reply | None
    duplicate: bool = False
    outcome: str = "answered"
    intent: str | None = None


def _logged(incoming: Incoming, done: Outcome) -> Outcome:
    log.info(
        "message %s/%s intent=%s outcome=%s", incoming.platform, incoming.msg_id, done.intent, done.outcome
    )
    return done


def _member_query(platform: PlatformDescriptor, sender_id: str) -> Select[tuple[Member]]:
    # The first by id: the console's roster names need not be unique; platform ids are. A channel
    # may know people by two columns (the smart bot: its own id, else the roster's WeCom userid).
    columns = platform.matched_columns or (platform.member_column,)
    match = or_(*(getattr(Member, column) == sender_id for column in columns))
    return select(Member).where(match).order_by(Member.id).limit(1)


def _lock_sender(stmt: Select, *, nowait: bool = False) -> Select:
    """The sender's row locked for the message's transaction: two messages of one member (a double
    tap, 请假 twice at once) are handled one after the other by any number of workers, so every
    handler's check-then-write sees what the other wrote. SQLite locks the whole database instead.

    FOR NO KEY UPDATE, not FOR UPDATE: the lock orders the member's own messages and nothing else. A
    row written for someone else (a notice to the leader, a leave for 张三 asked by the leader) takes
    a key-share lock on that member's row for its foreign key, which FOR UPDATE would make wait on
    their message in flight — and on PostgreSQL two such messages crossed deadlock (tests/test_races.py)."""
    return stmt.with_for_update(of=Member, nowait=nowait, key_share=True)


class _Busy(Exception):
    """Another message of the sender holds their row (PostgreSQL's lock_not_available, 55P03)."""


def _busy(err: DBAPIError) -> bool:
    return getattr(err.orig, "sqlstate", None) == "55P03"


def find_member(session: Session, platform: PlatformDescriptor | None, sender_id: str) -> Member | None:
    """The roster member behind a sender id on `platform` (the console speaks by name); nobody is
    known on a channel no platform registered (`platform` None)."""
    return session.scalars(_member_query(platform, sender_id)).first() if platform else None


@dataclass(frozen=True)
class _Sender:
    """What the message's first query found: the roster entry (locked), the liaison group the chat
    is bound to, the open question of this member in this chat, and the route's prefetched rows."""

    member: Member | None = None
    chat_group: int | None = None
    question: PendingQuestion | None = None
    prefetched: tuple[Any, ...] | None = None


def _chosen(columns: tuple[str, ...]):
    """The id of the member behind the sender id, as a scalar subquery (lowest id first, as find_member)."""
    first = aliased(Member)
    match = or_(*(getattr(first, column) == bindparam("sender_id") for column in columns))
    return select(first.id).where(match).order_by(first.id).limit(1).scalar_subquery()


def _columns(platform: PlatformDescriptor) -> tuple[str, ...]:
    return tuple(platform.matched_columns or (platform.member_column,))


@lru_cache(maxsize=64)
def _sender_query(family: str, columns: tuple[str, ...], in_group: bool, nowait: bool) -> Select:
    """Built once per platform and shape (bind parameters sender_id, chat_key, chat_id): making the
    expression anew took a third of a check-in's time in the pipeline."""
    stmt = (
        select(Member, ChatBinding.group_id if in_group else null(), PendingQuestion)
        .where(Member.id == _chosen(columns))
        .outerjoin(
            PendingQuestion,
            (PendingQuestion.member_id == Member.id)
            & (PendingQuestion.chat_key == bindparam("chat_key"))
            & (PendingQuestion.state == "open"),
        )
    )
    if in_group:
        stmt = stmt.outerjoin(
            ChatBinding,
            (ChatBinding.platform == family) & (ChatBinding.chat_id == bindparam("chat_id")),
        )
    return _lock_sender(stmt, nowait=nowait)


@lru_cache(maxsize=64)
def _lock_query(columns: tuple[str, ...]) -> Select:
    return _lock_sender(select(Member.id).where(Member.id == _chosen(columns)))


@dataclass(frozen=True)
class _Prefetching:
    """A route's prefetch for one message: the form of its addition and this message's values."""

    prefetch: Prefetch
    shape: Hashable
    values: dict[str, Any]


# A route's prefetch with nothing to add for this command: the sender's query as it is.
_NOTHING = Prefetch(build=lambda dialect, stmt, shape: stmt, values=lambda command, now, settings: {})


@lru_cache(maxsize=256)
def _with_prefetch(base: Select, dialect: str, prefetch: Prefetch, shape: Hashable) -> Select:
    """The sender's query with a route's prefetch, built once per form (base queries are kept by
    `_sender_query`, so they are the same objects for the same form)."""
    return prefetch.build(dialect, base, shape)


def _sender(
    session: Session,
    platform: PlatformDescriptor | None,
    incoming: Incoming,
    key: str,
    prefetch: _Prefetching | None,
    wait: bool,
) -> _Sender:
    """The sender, the chat's group, the open question and the prefetch, in one query.

    PostgreSQL reads a statement's subqueries and joins as of its start, even when its row lock
    had to wait: what the message holding the row wrote meanwhile would be missed. So the query
    does not wait (NOWAIT); when the row is held, the message runs again (`wait`), locking the row
    first and reading everything after it."""
    if platform is None:
        return _Sender()
    params = {"sender_id": incoming.sender_id, "chat_key": key, "chat_id": incoming.chat_id}
    if wait:
        session.execute(_lock_query(_columns(platform)), params)
    in_group = incoming.is_group and bool(incoming.chat_id)
    stmt = _sender_query(platform.family, _columns(platform), in_group, not wait)
    if prefetch is not None:
        dialect = session.get_bind().dialect.name
        stmt = _with_prefetch(stmt, dialect, prefetch.prefetch, prefetch.shape)
        params.update(prefetch.values)
    rows = session.execute(stmt, params).all()
    if not rows:
        return _Sender()
    member, chat_group, question = rows[0][:3]
    prefetched = tuple(tuple(row[3:]) for row in rows) if prefetch is not None else None
    return _Sender(member, chat_group, question, prefetched)


def _log_values(incoming: Incoming, now: dt.datetime, **fields) -> dict[str, Any]:
    return {
        "platform": incoming.platform,
        "msg_id": incoming.msg_id,
        "chat_id": incoming.chat_id,
        "sender_id": incoming.sender_id,
        "sender_name": incoming.sender_name,
        "text": incoming.text,
        "is_group": incoming.is_group,
        "sent_at": incoming.sent_at,
        "received_at": now,
        **fields,
    }


def _log_row(incoming: Incoming, now: dt.datetime, **fields) -> InboundMessage:
    """The inbound log row for a message, as received."""
    return InboundMessage(**_log_values(incoming, now, **fields))


_INSERT_LOG = insert(InboundMessage.__table__).returning(InboundMessage.__table__.c.id)


def _insert_log(session: Session, incoming: Incoming, now: dt.datetime, **fields) -> int:
    """The log row as one Core INSERT, its values as parameters of a statement built once; its
    unique (platform, msg_id) is claimed here."""
    return session.execute(_INSERT_LOG, _log_values(incoming, now, **fields)).scalar_one()


_UPDATE_LOG = (
    update(InboundMessage.__table__)
    .where(InboundMessage.__table__.c.id == bindparam("log_id"))
    .values(outcome=bindparam("new_outcome"), reply_text=bindparam("new_reply"))
)


def _update_log(session: Session, inbound_id: int, outcome: str, reply: Reply | None) -> None:
    values = {"log_id": inbound_id, "new_outcome": outcome, "new_reply": reply.text if reply else None}
    session.execute(_UPDATE_LOG, values)


def _without_nul(incoming: Incoming) -> Incoming:
    """PostgreSQL text cannot hold NUL (U+0000, which JSON may carry as \\u0000): kept, such a
    message would fail on every redelivery with a 5xx. It means nothing to a reader, so drop it."""
    fields = ("platform", "chat_id", "sender_id", "sender_name", "text", "msg_id")
    if not any("\x00" in (getattr(incoming, f) or "") for f in fields):
        return incoming
    return replace(incoming, **{f: v.replace("\x00", "") for f in fields if (v := getattr(incoming, f))})


@dataclass(frozen=True)
class Unplaced:
    """A message addressed to the bot that it could not place, for the office to read."""

    received_at: dt.datetime
    group: str | None  # the liaison group of the chat; None one-to-one or unbound
    sender: str  # the member's roster name, else the name or id the platform gave
    text: str
    outcome: str  # unplaced (told so), asked (is it a note?), ignored (chatter)


def unplaced_messages(
    session: Session, platforms: Platforms, since: dt.datetime | None = None, *, chatter: bool = False
) -> list[Unplaced]:
    """The inbound log's messages the parser read as unknown, oldest first (one query): what the
    vocabulary should learn next. Plain chatter only when asked for."""
    outcomes = ("unplaced", "asked", "unknown_sender") + (("ignored",) if chatter else ())
    stmt = (
        select(InboundMessage, Member.name, ChatBinding.platform, LiaisonGroup.name)
        .outerjoin(Member, Member.id == InboundMessage.member_id)
        .outerjoin(ChatBinding, ChatBinding.chat_id == InboundMessage.chat_id)
        .outerjoin(LiaisonGroup, LiaisonGroup.id == ChatBinding.group_id)
        .where(InboundMessage.intent == "unknown", InboundMessage.outcome.in_(outcomes))
        .order_by(InboundMessage.received_at, InboundMessage.id)
    )
    if since is not None:
        stmt = stmt.where(InboundMessage.received_at >= since)
    out = []
    for row, member_name, bound_family, group_name in session.execute(stmt):
        platform = platforms.for_channel(row.platform)
        # A chat id is unique within its platform family only.
        group = group_name if platform is not None and bound_family == platform.family else None
        sender = member_name or row.sender_name or row.sender_id
        out.append(Unplaced(row.received_at, group, sender, row.text, row.outcome))
    return out


def _outcome_of(reply: Reply | None, outcome: str, member: Member | None) -> str:
    """A reply that asks a question (of a known member) leaves the message 'asked'."""
    if reply is not None and isinstance(reply.question, Question) and member is not None:
        return "asked"
    return outcome


def _prefetch_of(
    route: Route | None, command: Command | None, now: dt.datetime, settings: Settings
) -> _Prefetching | None:
    if route is None or route.prefetch is None or command is None:
        return None
    shape = route.prefetch.shape(command, settings)
    if shape is None:  # nothing to read for this command: the handler asks (a note without its text)
        return _Prefetching(_NOTHING, (), {})
    return _Prefetching(route.prefetch, shape, route.prefetch.values(command, now, settings))


class _Refused(Exception):
    """A handler's UserError on its way out of the message's transaction."""

    def __init__(self, reply: Reply, intent: str, member_id: int | None) -> None:
        super().__init__(reply.text)
        self.reply, self.intent, self.member_id = reply, intent, member_id


class Pipeline:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        router: Router,
        parser: Parser,
        platforms: Platforms,
    ) -> None:
        self._sessions = session_factory
        self._settings = settings
        self._router = router
        self._parse = parser
        self._platforms = platforms

    def handle(self, incoming: Incoming, now: dt.datetime) -> Outcome:
        """Process one message at `now`; a repeated (platform, msg_id) returns the first answer."""
        now = now.astimezone(self._settings.tz)
        incoming = _without_nul(incoming)
        try:
            return self._attempt(incoming, now)
        except DBAPIError as err:
            if not err.connection_invalidated:
                raise
            # A pooled connection the server had dropped (there is no pre-ping, models/db.py): the
            # transaction is gone, nothing of it committed but perhaps its COMMIT, which the log
            # row's unique key then answers as a redelivery. Once more, on a new connection.
            log.warning("message %s/%s: connection lost, once more", incoming.platform, incoming.msg_id)
            return self._attempt(incoming, now)

    def _attempt(self, incoming: Incoming, now: dt.datetime) -> Outcome:
        try:
            return self._handle(incoming, now, wait=False)
        except _Busy:
            # Another message of this member is being handled (a double tap): after it, then.
            return self._handle(incoming, now, wait=True)

    def _handle(self, incoming: Incoming, now: dt.datetime, *, wait: bool) -> Outcome:
        try:
            with self._sessions.begin() as session:
                done = self._process(session, incoming, now, wait)
            # Logged once committed: a trace never shows an answer that was rolled back.
            return _logged(incoming, done)
        except _Refused as refused:
            # The handler refused: whatever it wrote went with the rolled-back transaction;
            # the message and the answer are kept. (Cheaper than a savepoint on every message.)
            return self._record(incoming, now, refused.reply, "refused", refused.intent, refused.member_id)
        except IntegrityError:
            # Another delivery of the same message holds (platform, msg_id): answer as it did.
            first = self._previous(incoming)
            if first is not None:
                return first
            raise
        except DBAPIError as err:
            if _busy(err):
                raise _Busy from err
            # The database is unavailable: fail loudly so the adapter answers 5xx and the
            # platform delivers again later; the transaction left nothing half-written.
            raise
        except Exception:
            log.exception("message %s/%s failed; recorded as error", incoming.platform, incoming.msg_id)
            return self._record(incoming, now, Reply(APOLOGY), "error")

    def _previous(self, incoming: Incoming) -> Outcome | None:
        with self._sessions() as session:
            row = session.scalars(
                select(InboundMessage).where(
                    InboundMessage.platform == incoming.platform,
                    InboundMessage.msg_id == incoming.msg_id,
                )
            ).first()
            if row is None:
                return None
            log.info("duplicate delivery %s/%s ignored", incoming.platform, incoming.msg_id)
            reply = Reply(row.reply_text) if row.reply_text else None
            return Outcome(reply, duplicate=True, outcome=row.outcome)

    def _process(self, session: Session, incoming: Incoming, now: dt.datetime, wait: bool) -> Outcome:
        session.connection(execution_options={WRITES_AFTER_READING: True})
        platform = self._platforms.for_channel(incoming.platform)
        read = self._read(incoming, now)
        command, refusal = (read, None) if isinstance(read, Command) else (None, read)
        route = self._router.get(command.intent) if command else None
        key = conversation.chat_key(incoming)
        prefetch = _prefetch_of(route, command, now, self._settings)
        sender = _sender(session, platform, incoming, key, prefetch, wait)
        if incoming.tap is not None:  # a tap answers no question of the tapper's (it leaves it open)
            sender = replace(sender, question=None)
        ctx = Context(
            now=now,
            settings=self._settings,
            incoming=incoming,
            inbound_id=None,
            platform=platform,
            chat_group_id=sender.chat_group,
            prefetched=sender.prefetched,
        )
        if sender.question is None and (route is None or route.answers_first):
            return self._answer_then_log(session, ctx, command, refusal, sender.member)
        return self._log_then_answer(session, ctx, command, refusal, sender)

    def _answer_then_log(
        self, session: Session, ctx: Context, command: Command | None, refusal: Reply | None, member
    ) -> Outcome:
        """The hot path (no open question, a route that prefetches or only reads): the answer is
        decided before anything is written, so the log row is written once, with it, and the
        records after it."""
        if command is None:
            reply, outcome = refusal, "refused"
        else:
            reply, outcome = self._dispatch(session, ctx, command, member)
        outcome = _outcome_of(reply, outcome, member)
        intent = command.intent if command else None
        fields = {"member_id": member.id if member else None, "intent": intent, "outcome": outcome}
        inbound_id = _insert_log(
            session, ctx.incoming, ctx.now, reply_text=reply.text if reply else None, **fields
        )
        ctx = replace(ctx, inbound_id=inbound_id)
        done = self._finish(session, ctx, reply, member)
        if done is not reply:  # the writes found the record already there: answer as a repeat
            _update_log(session, inbound_id, outcome, done)
        return Outcome(done, outcome=outcome, intent=intent)

    def _log_then_answer(
        self, session: Session, ctx: Context, command: Command | None, refusal: Reply | None, sender: _Sender
    ) -> Outcome:
        """Every other message: the log row first (handlers name it in what they write), the answer
        written into it at the end."""
        member = sender.member
        intent = command.intent if command else None
        inbound_id = _insert_log(
            session, ctx.incoming, ctx.now, member_id=member.id if member else None, intent=intent
        )
        ctx = replace(ctx, inbound_id=inbound_id)
        if command is None:
            reply, outcome = refusal, "refused"
        else:
            reply, outcome = self._converse(session, ctx, command, member, sender.question)
        outcome = _outcome_of(reply, outcome, member)
        reply = self._finish(session, ctx, reply, member)
        _update_log(session, inbound_id, outcome, reply)
        return Outcome(reply, outcome=outcome, intent=intent)

    def _finish(
        self, session: Session, ctx: Context, reply: Reply | None, member: Member | None
    ) -> Reply | None:
        """Once the message is logged: the answer's writes, the question it asks, its notices."""
        if reply is None:
            return None
        if reply.then is not None:
            reply = reply.then(session, ctx.inbound_id) or reply
        if isinstance(reply.question, Question) and member is not None:
            conversation.ask(
                session,
                member_id=member.id,
                key=conversation.chat_key(ctx.incoming),
                question=reply.question,
                prompt=reply.text,
                now=ctx.now,
                timeout=dt.timedelta(minutes=self._settings.conversation.timeout_minutes),
                message_id=ctx.inbound_id,
            )
        for notice in reply.notices:
            outbox.enqueue(
                session,
                key=notice.key,
                target_kind="member" if notice.to_member_id else "group",
                text=notice.text,
                now=ctx.now,
                group_id=notice.to_group_id,
                member_id=notice.to_member_id,
                mentions=notice.mentions,
                attachment=notice.attachment,
                actions=notice.actions,
            )
        return reply

    def _read(self, incoming: Incoming, now: dt.datetime) -> Command | Reply:
        """The command of the message, or the line that refuses it: a text over messages.max_chars
        (not read), a date that does not exist ("11月31日", rather than guess another day), a file
        the bot does not keep."""
        if incoming.tap is not None:  # a button, not words: the card's task id and the button's key
            return Command(TAP_INTENT, target=incoming.tap.task_id, content=incoming.tap.key)
        if incoming.command is not None:  # a web form's fields, read by the page
            return incoming.command
        limit = self._settings.messages.max_chars
        if len(incoming.text) > limit:
            return Reply(TOO_LONG.format(length=len(incoming.text), limit=limit))
        try:
            command = self._parse(incoming.text, now)
        except DateError as err:
            return Reply(str(err))
        if not incoming.attachments:
            return command
        read = files.with_attachments(command, incoming.attachments)
        return Reply(read.text) if isinstance(read, FileRefused) else read

    def previous(self, incoming: Incoming) -> Outcome | None:
        """The first answer to this message if it is stored already (an adapter asks before it
        downloads a redelivered message's file again)."""
        return self._previous(incoming)

    def _converse(
        self, session: Session, ctx: Context, command: Command, member: Member | None, open_question
    ) -> tuple[Reply | None, str]:
        """Answer the open question with this message if it is the answer, else drop the question;
        dispatch."""
        if open_question is not None and member is not None:
            answered = self._answer(session, ctx, command, open_question)
            if isinstance(answered, Reply):
                return answered, "asked" if open_question.state == "open" else "refused"
            if answered is not None:
                if answered.command.intent == "unknown":
                    return Reply(DECLINED), "answered"
                command = answered.command
                ctx = replace(ctx, answer=answered.answer, prefetched=None)
        return self._dispatch(session, ctx, command, member)

    def _answer(self, session: Session, ctx: Context, command: Command, question) -> Resumed | Reply | None:
        """What this message does to the open question: the resumed command, a reply (ask again, or
        the question ran out), or None (a message of its own; the question is dropped)."""
        if question.expires_at <= ctx.now:
            conversation.close(session, question, "expired", ctx.inbound_id)
            if command.intent == "unknown" and conversation.looks_like_an_answer(ctx.incoming.text):
                return Reply(EXPIRED.format(minutes=self._settings.conversation.timeout_minutes))
            return None
        read = conversation.interpret(
            question, ctx.incoming.text, command, lambda text: self._parse(text, ctx.now)
        )
        if isinstance(read, Retry):
            return Reply(read.text)
        conversation.close(session, question, "answered" if read else "cancelled", ctx.inbound_id)
        return read

    def _unplaced(self, ctx: Context, member: Member | None) -> tuple[Reply | None, str]:
        """A message the parser could not place. Chatter in a group (收到, 👍) stays unanswered;
        anything else addressed to the bot is told so — never silence — and text that looks like a
        note is asked about, so that a note sent without its keyword is not lost."""
        text = ctx.incoming.text
        if is_chatter(text):  # one-to-one a hint (the bot is the only one who can answer); in a group, silence
            greeted = _GREETING_RE.match(text.strip())
            if ctx.incoming.is_group and not greeted:
                return None, "ignored"  # 收到, 👍: in a group, talk among members
            return Reply(GREETING if greeted else NOT_UNDERSTOOD), "ignored"  # 在吗 @-ed: it asks the bot
        if member is None:
            return Reply(UNKNOWN_SENDER), "unknown_sender"
        if looks_like_note(text):
            card = cards.note_kind_view(text) if cards.can_show(ctx) else None  # a tap answers it
            return Reply(
                IS_IT_A_NOTE, question=Question("note_kind", Command("opinion", content=text)), card=card
            ), "asked"
        return Reply(NOT_UNDERSTOOD), "unplaced"

    def _dispatch(
        self, session: Session, ctx: Context, command: Command, member: Member | None
    ) -> tuple[Reply | None, str]:
        if command.intent == "unknown":
            return self._unplaced(ctx, member)
        route = self._router.get(command.intent)
        if route is None:
            return Reply(NOT_UNDERSTOOD), "ignored"
        if member is None and not route.allow_unknown:
            return Reply(UNKNOWN_SENDER), "unknown_sender"
        if member is not None and not route.allow_unknown:
            if not member.active:
                return Reply(INACTIVE), "refused"
            if member.role not in route.roles:
                theirs = self._as_theirs(route, command, member)
                if theirs is None:
                    return Reply(ROLE_REFUSAL.get(route.roles, "您没有这项操作的权限。")), "refused"
                route, command = theirs
            # A group chat bound to another liaison group is not the place (admins excepted).
            chat_group = ctx.chat_group_id
            if chat_group is not None and chat_group != member.group_id and member.role != "admin":
                return Reply(WRONG_CHAT), "refused"
        try:
            reply = route.handler(session, member, command, ctx)
        except Ask as asked:
            return asked.reply, "asked"
        except UserError as err:
            raise _Refused(Reply(str(err)), command.intent, member.id if member else None) from None
        return reply, "answered"

    def _as_theirs(self, route: Route, command: Command, member: Member) -> tuple[Route, Command] | None:
        """The route and command a sender without the route's role is answered by, if any (Route.others)."""
        own = route.others(command) if route.others is not None else None
        other = self._router.get(own.intent) if own is not None else None
        return (other, own) if other is not None and own is not None and member.role in other.roles else None

    def _record(
        self,
        incoming: Incoming,
        now: dt.datetime,
        reply: Reply,
        outcome: str,
        intent: str | None = None,
        member_id: int | None = None,
    ) -> Outcome:
        """Keep a message whose processing was rolled back (refused, or a bug), with its answer,
        so nothing accepted is lost and a redelivery gets the same answer."""
        try:
            with self._sessions.begin() as session:
                row = _log_row(
                    incoming, now, outcome=outcome, reply_text=reply.text, intent=intent, member_id=member_id
                )
                session.add(row)
                session.flush()
                if outcome == "refused" and member_id is not None:
                    # The refused message was a command of its own, or the answer itself: either way
                    # the question it met is settled.
                    open_question = conversation.pending(session, member_id, conversation.chat_key(incoming))
                    if open_question is not None:
                        conversation.close(session, open_question, "cancelled", row.id)
            return _logged(incoming, Outcome(reply, outcome=outcome, intent=intent))
        except IntegrityError:
            first = self._previous(incoming)
            if first is not None:
                return first
            raise
