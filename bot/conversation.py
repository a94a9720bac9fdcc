"""Short conversations: when a message lacks something — the note's text, which of two activities,
which of three requests — the bot asks once, and the member's next message in that chat answers.

A handler returns its question with the reply (`Reply.question`); the pipeline keeps it as a
`PendingQuestion` row (one open per member and chat: it survives restarts and is seen by every
worker), and the next message either answers it (`interpret` turns it into the command to run) or,
being a command of its own, cancels it. Pure functions of the session and `now`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.dates import cn_int
from bot.messages import INTENTS, SUBMISSION_KINDS, Command, Incoming
from models import PendingQuestion

__all__ = ["Option", "Question", "Resumed", "Retry", "ask", "chat_key", "interpret", "pending"]

QuestionKind = Literal["content", "choice", "note_kind", "reason"]
QUESTION_KINDS = ("content", "choice", "note_kind", "reason")


@dataclass(frozen=True)
class Option:
    """One numbered choice: what the member reads, and what it stands for (an id)."""

    label: str
    value: str


@dataclass(frozen=True)
class Question:
    """What the bot asks back. `resume` is the command the answer completes:
    - content: the answer is the note's text (resume.intent names the kind);
    - choice: the answer picks an option, whose value goes to `field` ("target" of the command, or a
      key of the handler's `ctx.answer`);
    - note_kind: "是" or a kind's name says what `resume.content` (a message without keyword) is;
    - reason: the answer, unless a command of its own, is `resume.reason` (驳回 by a card's button)."""

    kind: QuestionKind
    resume: Command
    options: tuple[Option, ...] = ()
    field: str = "target"


@dataclass(frozen=True)
class Resumed:
    """The command an answer completes, and what the handler reads from `ctx.answer`."""

    command: Command
    answer: dict[str, str]


@dataclass(frozen=True)
class Retry:
    """Not a usable answer, but clearly meant as one ("3" of two choices): say so, keep asking."""

    text: str


def chat_key(incoming: Incoming) -> str:
    """Where a conversation happens: the channel and the chat (one-to-one chats have no id)."""
    return f"{incoming.platform}:{incoming.chat_id or '-'}"


def pending(session: Session, member_id: int, key: str) -> PendingQuestion | None:
    """The open question for this member in this chat, if any (expired or not)."""
    return session.scalars(
        select(PendingQuestion)
        .where(
            PendingQuestion.member_id == member_id,
            PendingQuestion.chat_key == key,
            PendingQuestion.state == "open",
        )
        .limit(1)
    ).first()


def close(session: Session, row: PendingQuestion, state: str, message_id: int | None = None) -> None:
    row.state = state
    row.answer_message_id = message_id


def ask(
    session: Session,
    *,
    member_id: int,
    key: str,
    question: Question,
    prompt: str,
    now: dt.datetime,
    timeout: dt.timedelta,
    message_id: int,
) -> None:
    """Keep `question` as the one open question of this member in this chat (an older one is closed)."""
    session.execute(
        update(PendingQuestion)
        .where(
            PendingQuestion.member_id == member_id,
            PendingQuestion.chat_key == key,
            PendingQuestion.state == "open",
        )
        .values(state="cancelled")
        .execution_options(synchronize_session=False)
    )
    session.add(
        PendingQuestion(
            member_id=member_id,
            chat_key=key,
            kind=question.kind,
            prompt=prompt,
            resume={
                "command": question.resume.as_json(),
                "options": [[o.label, o.value] for o in question.options],
                "field": question.field,
            },
            state="open",
            asked_at=now,
            expires_at=now + timeout,
            source_message_id=message_id,
        )
    )
    session.flush()


# -- reading the answer ---------------------------------------------------------------------------

_PICK_RE = re.compile(
    r"^(?:第|选|选择)?\s*#?\s*(?P<n>\d{1,3}|[一二两三四五六七八九十])\s*(?:个|项|次|号|条|位)?(?:吧|的)?$"
)
_YES = {
    "是",
    "是的",
    "对",
    "对的",
    "嗯",
    "好",
    "好的",
    "行",
    "可以",
    "是社情民意",
    "社情民意",
    "记上",
    "记吧",
    "确认",
}
_NO = {"不是", "否", "不", "不用", "算了", "不要", "取消", "不记", "别记"}
_KIND_ANSWERS = {
    "建议": "suggestion",
    "意见建议": "suggestion",
    "意见": "suggestion",
    "调研报告": "report",
    "调研": "report",
    "报告": "report",
    "为民办实事": "project",
    "办实事": "project",
    "实事": "project",
    "提案": "proposal",
    **{label: intent for intent, label in SUBMISSION_KINDS.items()},
}
_ANSWER_LIKE_RE = re.compile(
    rf"^(?:{_PICK_RE.pattern[1:-1]}|{'|'.join(sorted(_YES | _NO, key=len, reverse=True))})$"
)


def _bare(text: str) -> str:
    text = re.sub(r"^@\S+\s+", "", text.strip())
    return re.sub(r"[\s。.!！~，,、]+$", "", text).strip()


def looks_like_an_answer(text: str) -> bool:
    """A short reply that only makes sense as an answer ("1", "是", "第二个")."""
    return bool(_ANSWER_LIKE_RE.match(_bare(text)))


def _pick(options: list[list[str]], text: str) -> Option | Retry | None:
    bare = _bare(text)
    m = _PICK_RE.match(bare)
    if m:
        n = cn_int(m["n"]) or 0
        if 1 <= n <= len(options):
            return Option(*options[n - 1])
        by_value = [o for o in options if o[1] == str(n)]  # "#12": the request's own number
        if by_value:
            return Option(*by_value[0])
        return Retry(f"请回复1到{len(options)}之间的数字。")
    named = [o for o in options if bare and bare in o[0]]  # "视察" when one choice is the inspection
    return Option(*named[0]) if len(named) == 1 else None


def _file_kind(resume: Command, bare: str) -> Resumed | Retry | None:
    """The answer to 「这份材料是：社情民意 / 建议 / …？」: the file's note of that kind, with its title
    and text as read; "是" says no kind, so the question stays."""
    intent = _KIND_ANSWERS.get(bare.removeprefix("是"))
    if intent in SUBMISSION_KINDS:
        return Resumed(replace(resume, intent=intent), {})
    if bare in _NO:
        return Resumed(Command("unknown", reason="declined"), {})
    if bare in _YES:
        return Retry("请回复类别：社情民意 / 建议 / 调研报告 / 为民办实事 / 提案。")
    return None


def interpret(
    row: PendingQuestion, text: str, command: Command, parse: Callable[[str], Command]
) -> Resumed | Retry | None:
    """What the member's next message does to the open question: answers it (the command to run),
    asks to be asked again (Retry), or is a message of its own (None: the question is dropped)."""
    resume = Command.from_json(row.resume["command"])
    options = row.resume.get("options") or []
    if row.kind == "choice":
        picked = _pick(options, text)
        if isinstance(picked, Option):
            field = row.resume.get("field", "target")
            if field == "target":
                return Resumed(Command.from_json({**resume.as_json(), "target": picked.value}), {})
            return Resumed(resume, {field: picked.value})
        if isinstance(picked, Retry) and command.intent == "unknown":
            return picked
        return None
    if row.kind == "note_kind":
        bare = _bare(text)
        if resume.attachments:
            return _file_kind(resume, bare)
        intent = resume.intent if bare in _YES else _KIND_ANSWERS.get(bare)
        if intent in SUBMISSION_KINDS:
            return Resumed(parse(f"【{SUBMISSION_KINDS[intent]}】{resume.content or ''}"), {})
        if bare in _NO:
            return Resumed(Command("unknown", reason="declined"), {})
        return None
    # content and reason: whatever is not a command of its own is the note's text, or the reason.
    if command.intent != "unknown" or not text.strip():
        return None
    if row.kind == "reason":
        return Resumed(replace(resume, reason=text.strip()[:500]), {})
    label = SUBMISSION_KINDS.get(resume.intent, INTENTS.get(resume.intent, ""))
    return Resumed(parse(f"【{label}】{text}"), {})
