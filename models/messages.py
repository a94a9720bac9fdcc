"""Messages in and out: the inbound log (dedup), the outbox (send-once), and the scheduler's lock row."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

# ignored: chatter the bot leaves alone; unplaced: addressed to the bot, not understood, told so;
# asked: answered with a question (a pending question keeps the rest).
INBOUND_OUTCOMES = (
    "pending",
    "answered",
    "ignored",
    "unplaced",
    "asked",
    "unknown_sender",
    "refused",
    "error",
)
QUESTION_STATES = ("open", "answered", "expired", "cancelled")
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")


class InboundMessage(Base):
    """Every message addressed to the bot, stored once: (platform, msg_id) is unique."""

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("platform", "msg_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    msg_id: Mapped[str] = mapped_column(String(128))
    chat_id: Mapped[str | None] = mapped_column(String(128))
    sender_id: Mapped[str] = mapped_column(String(128))
    sender_name: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    is_group: Mapped[bool]
    sent_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime]
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    intent: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16), default="pending")  # INBOUND_OUTCOMES
    reply_text: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """A message to send, stored before it is sent; `key` makes each one exist once."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    target_kind: Mapped[str] = mapped_column(String(16))  # "group" | "member" | "reply"
    group_id: Mapped[int | None] = mapped_column(ForeignKey("liaison_group.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    platform: Mapped[str | None] = mapped_column(String(16))
    # Only a process holding this connection can send it (the WeCom long connection); None: any.
    via: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # response_url, sessionWebhook, ...
    text: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    markdown: Mapped[bool] = mapped_column(default=False)
    actions: Mapped[list[list[str]] | None] = mapped_column(JSON)  # Notice.actions: [label, words]
    attachment: Mapped[str | None] = mapped_column(String(500))  # a file to send (an export)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]
    next_attempt_at: Mapped[dt.datetime] = mapped_column(index=True)
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    platform_answer: Mapped[str | None] = mapped_column(Text)


class PendingQuestion(Base):
    """A question the bot asked one member in one chat ("请问是哪一次：1. … 2. …"), waiting for the
    answer; the next message there resumes the command it came from. At most one is open."""

    __tablename__ = "pending_question"
    __table_args__ = (
        Index(
            "uq_pending_question_open_per_member_chat",
            "member_id",
            "chat_key",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    chat_key: Mapped[str] = mapped_column(String(160))  # channel and chat ("wecom_bot:wrkX", "console:-")
    kind: Mapped[str] = mapped_column(String(16))  # bot.conversation.QUESTION_KINDS
    prompt: Mapped[str] = mapped_column(Text)
    resume: Mapped[dict[str, Any]] = mapped_column(JSON)  # the command to resume, the options, the field
    state: Mapped[str] = mapped_column(String(12), default="open")  # QUESTION_STATES
    asked_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))
    answer_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))


class SchedulerLock(Base):
    """The SQLite single-scheduler lock: one row per lock, owned while its heartbeat is fresh."""

    __tablename__ = "scheduler_lock"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[dt.datetime]
    heartbeat_at: Mapped[dt.datetime]


class CallbackSignature(Base):
    """A signature a platform's callback carried, kept while its timestamp is fresh. DingTalk's
    `sign` covers only the timestamp, so a captured (timestamp, sign) pair would sign any body for
    the hour: each is accepted for one message only (its redeliveries included)."""

    __tablename__ = "callback_signature"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    sign: Mapped[str] = mapped_column(String(128), primary_key=True)
    msg_id: Mapped[str] = mapped_column(String(128))
    seen_at: Mapped[dt.datetime] = mapped_column(index=True)
