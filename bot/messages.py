"""The neutral message types that flow between adapters, the pipeline and handlers.

Adapters turn a platform request into an `Incoming`; handlers turn a `Command` into a
`Reply`; nothing here knows about HTTP, a platform SDK or the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

# Intents of DESIGN.md, with the Chinese word users know them by.
INTENTS: dict[str, str] = {
    "checkin": "签到",
    "opinion": "社情民意",
    "suggestion": "意见建议",
    "report": "调研报告",
    "project": "为民办实事",
    "proposal": "提案",
    "leave": "请假",
    "announce": "发布活动",
    "approve": "同意请假",
    "reject": "驳回请假",
    "status": "本组情况",
    "my": "我的履职",
    "bind": "绑定身份",
    "help": "帮助",
    # Office extensions: corrections with an audit trail and the office's commands.
    "withdraw": "撤回",
    "correct": "更正",
    "late": "补报",
    "confirm_late": "确认补报",
    "reject_late": "驳回补报",
    "adopt": "采用",
    "instruct": "批示",
    # The rest of a note's journey (handlers/journey.py) and the yearly duty score (handlers/score.py).
    "return_note": "退回",
    "bulletin": "编报",
    "report_up": "报送",
    "feedback": "反馈",
    "score": "积分",
    "office_link": "后台",
    "will_attend": "会参加",
    "schedule": "活动安排",
    "note_journey": "材料流转",
    "my_group": "本组名单",  # 我是哪个组的 / 我们组长是谁 / 组里有几个人
    "roster_change": "改花名册",  # 我换组了 / 改手机号: the office keeps the roster  # #12 到哪一步了: one note's steps  # 下次活动是什么时候: the group's coming activities  # 8号的座谈我准时到: answered with the activity and 签到 on the day  # a login link to the office's web page (handlers/backstage.py)
    "deactivate": "停用",
    "reactivate": "启用",
    "export": "导出",
    # A leader's undo of an activity.
    "cancel_activity": "取消活动",
    "change_activity": "活动改期",
    "unknown": "",
}

# A tap on a card's button (handlers/cards.py): read from Incoming.tap, never from words, so not
# one of the parser's INTENTS.
TAP_INTENT = "card_tap"

# Submission intents are also the `Submission.kind` values.
SUBMISSION_KINDS: dict[str, str] = {
    "opinion": "社情民意",
    "suggestion": "意见建议",
    "report": "调研报告",
    "project": "为民办实事",
    "proposal": "提案",
}

# A submission's state as answers and the export name it (models.records.SUBMISSION_STATUSES).
SUBMISSION_STATUS_WORDS: dict[str, str] = {
    "submitted": "已提交",
    "returned": "退回修改",
    "in_bulletin": "已编报",
    "reported": "已报送",
    "adopted": "已采用",
    "withdrawn": "已撤回",
}

# A step of a note's journey as answers and the web page name it (models.records.SUBMISSION_EVENTS).
SUBMISSION_EVENT_WORDS: dict[str, str] = {
    "returned": "退回修改",
    "resubmitted": "更正后重新提交",
    "bulletin": "编报",
    "reported": "报送",
    "adopted": "采用",
    "instructed": "批示",
    "feedback": "反馈",
}

ACTIVITY_KINDS: dict[str, str] = {
    "collective": "集体活动",
    "inspection": "视察",
    "research": "调研",
    "study": "学习",
    "meeting": "会议/座谈",
}


# The bounded columns an Incoming is stored in (models.InboundMessage; a test holds them equal).
ID_LENGTH = 128  # msg_id, sender_id, chat_id
NAME_LENGTH = 64  # sender_name


class FieldTooLong(ValueError):
    """An id longer than its column: refused (400) rather than failing on every redelivery."""


@dataclass(frozen=True)
class FileRef:
    """A file or picture a member sent, checked and stored (bot/files.py): the attachment-to-be."""

    name: str  # as the member's phone named it (shown, never used as a path)
    mime: str
    size: int  # bytes
    sha256: str
    path: str  # relative to `files.dir`: content-addressed, <sha256[:2]>/<sha256>
    label: str  # PDF / Word / 图片
    pages: int | None = None
    title: str | None = None  # a document's own title, else its first line
    text: str | None = None  # a document's text (kept as the submission's content, not here)

    def as_json(self) -> dict[str, Any]:
        """What a pending question keeps of it (the text goes with the command's content)."""
        keys = ("name", "mime", "size", "sha256", "path", "label", "pages", "title")
        return {k: getattr(self, k) for k in keys}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileRef:
        return cls(
            **{k: data.get(k) for k in ("name", "mime", "size", "sha256", "path", "label", "pages", "title")}
        )


@dataclass(frozen=True)
class FileRefused:
    """A file the bot did not keep (too large, an executable, an encrypted PDF, an expired link…)."""

    reason: str  # a key of bot.files.REFUSALS
    text: str  # the line the member reads


@dataclass(frozen=True)
class Tap:
    """A tap on a button of a card the bot sent (WeCom's template_card_event): which card, which button."""

    task_id: str  # the card's (models.Card.task_id)
    key: str  # the button's key ("approve", "reject")


@dataclass(frozen=True)
class Incoming:
    """One message addressed to the bot, as an adapter understood it. An id longer than its
    column raises FieldTooLong, saying which (adapters answer 400: the platform would otherwise
    deliver a message that can never be stored, forever); a longer display name is cut."""

    platform: str  # "wecom_bot" | "wecom_app" | "dingtalk" | "console"
    chat_id: str | None  # group conversation id; None for one-to-one
    sender_id: str  # the platform's user id (console: the member's name)
    sender_name: str | None
    text: str
    msg_id: str  # the platform's message id: the dedup key with `platform`
    sent_at: dt.datetime  # timezone-aware
    is_group: bool
    # Where a late answer goes: the outbox address (response_url, sessionWebhook, the userid).
    reply_handle: dict[str, Any] | None = None
    # Files and pictures of the message, downloaded by the adapter before the pipeline sees it.
    attachments: tuple[FileRef | FileRefused, ...] = ()
    # A tap on a card's button instead of words (the pipeline reads it as the `card_tap` intent).
    tap: Tap | None = None
    # A form on the office's web page (bot/platforms/web): the command it stands for, already read;
    # `text` then holds the typed command it equals, for the inbound log.
    command: Command | None = None

    def __post_init__(self) -> None:
        for name in ("msg_id", "sender_id", "chat_id"):
            value = getattr(self, name)
            if value is not None and len(value) > ID_LENGTH:
                raise FieldTooLong(f"{name} longer than {ID_LENGTH} characters")
        if self.sender_name is not None and len(self.sender_name) > NAME_LENGTH:
            object.__setattr__(self, "sender_name", self.sender_name[:NAME_LENGTH])


@dataclass(frozen=True)
class Command:
    """The parser's reading of one message (the JSON of `python app.py parse`)."""

    intent: str
    date: dt.date | None = None
    time: dt.time | None = None
    kind: str | None = None
    title: str | None = None
    content: str | None = None
    reason: str | None = None
    target: str | None = None
    ref_date: dt.date | None = None  # change_activity: the date of the activity referred to
    attachments: tuple[FileRef, ...] = ()  # a note's files (never read by the parser)
    items: tuple[Command, ...] = ()  # announce: a notice listing several activities, each its own reading

    def as_json(self) -> dict[str, Any]:
        out = {
            "intent": self.intent,
            "date": self.date.isoformat() if self.date else None,
            "time": self.time.strftime("%H:%M") if self.time else None,
            "kind": self.kind,
            "title": self.title,
            "content": self.content,
            "reason": self.reason,
            "target": self.target,
        }
        if self.ref_date is not None:  # an extra key (DESIGN.md allows them), only where it means something
            out["ref_date"] = self.ref_date.isoformat()
        if self.attachments:
            out["attachments"] = [a.as_json() for a in self.attachments]
        if self.items:  # an extra key, only for a notice of several activities
            out["items"] = [i.as_json() for i in self.items]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Command:
        """The command `as_json` wrote (a pending question keeps the command it resumes)."""

        def day(v: str | None) -> dt.date | None:
            return dt.date.fromisoformat(v) if v else None

        return cls(
            intent=data["intent"],
            date=day(data.get("date")),
            time=dt.time.fromisoformat(data["time"]) if data.get("time") else None,
            kind=data.get("kind"),
            title=data.get("title"),
            content=data.get("content"),
            reason=data.get("reason"),
            target=data.get("target"),
            ref_date=day(data.get("ref_date")),
            attachments=tuple(FileRef.from_json(a) for a in data.get("attachments") or ()),
            items=tuple(cls.from_json(i) for i in data.get("items") or ()),
        )

    # Named views of the fields, so that handlers say what they read (the JSON keeps its keys).

    @property
    def period_word(self) -> str | None:
        """status/my/export: the period as written (本月, 上季度, 2026年第三季度)."""
        return self.title

    @property
    def group_name(self) -> str | None:
        """status/export: a liaison group named in the message (第二联络组)."""
        return (self.content or "").strip() or None

    @property
    def number(self) -> int | None:
        """The record a command names by number (#12 -> 12), if it names one."""
        target = (self.target or "").strip().lstrip("#").strip()
        return int(target) if target.isdigit() else None

    @property
    def name(self) -> str | None:
        """The person a command names (同意 张三, 补报 张三, 停用 张三), if it names one by name."""
        target = (self.target or "").strip()
        return target if target and not target.lstrip("#").isdigit() and target != "all" else None

    @property
    def everyone(self) -> bool:
        """approve/reject: 都同意 — every pending request in scope."""
        return self.target == "all"


@dataclass(frozen=True)
class Person:
    """Someone a reply or reminder @-mentions, with every id a platform may need."""

    name: str
    mobile: str | None = None
    wecom_userid: str | None = None
    dingtalk_userid: str | None = None

    @classmethod
    def of(cls, member: Any) -> Person:
        """The mention of a roster member: a `models.Member`, or a row of the same column names."""
        return cls(member.name, member.mobile, member.wecom_userid, member.dingtalk_userid)


@dataclass(frozen=True)
class Notice:
    """A message to someone other than the sender (e.g. the leader told of a leave request).

    The pipeline stores it in the outbox in the same transaction as the record it
    announces, so it is sent once the record is committed and never otherwise.
    """

    key: str  # idempotency key, unique in the outbox
    text: str
    to_member_id: int | None = None  # one-to-one to this member
    to_group_id: int | None = None  # into this group's chat
    mentions: tuple[Person, ...] = ()
    attachment: str | None = None  # path of a file sent with it, where the platform can (WeCom app)
    # One-tap answers, (label, the words that do it): ("同意", "同意 #3"). Where a platform can, a
    # tap sends the words as the reader (DingTalk: dtmd links); elsewhere the text says them.
    actions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Button:
    key: str  # what a tap hands back (Tap.key)
    text: str  # what it says: 同意, 驳回


@dataclass(frozen=True)
class CardView:
    """A message card (issue 19), for the platforms that show one; the others send Reply.text.

    With buttons it is an offer (WeCom: a button_interaction template_card); without, the card's
    final state after a tap ("已同意 · 王建国 10:05", the buttons gone)."""

    task_id: str
    title: str  # 请假#3 · 张三
    desc: str = ""  # the activity
    text: str = ""  # the state line: 待组长审批, 已同意 · 王建国 10:05
    fields: tuple[tuple[str, str], ...] = ()  # (label, value) lines: 事由
    buttons: tuple[Button, ...] = ()
    # An answer to a tap shown to the one who tapped alone (仅组长可审批); else to everyone.
    tapper_only: bool = False


@dataclass(frozen=True)
class Reply:
    """What the bot answers to the sender: one short Chinese line, maybe @-ing people."""

    text: str
    mentions: tuple[Person, ...] = ()
    notices: tuple[Notice, ...] = field(default=(), compare=False)
    markdown: bool = False
    # A question the next message in this chat answers (bot.conversation.Question); the pipeline keeps it.
    question: Any = field(default=None, compare=False)
    # The writes that make this answer true, run once the message is logged: (session, inbound id)
    # -> None, or the answer to give instead (a race lost since the reading, e.g. 已签到过了).
    then: Any = field(default=None, compare=False)
    # A card to show instead of the text where the channel can (the text stays the fallback).
    card: CardView | None = field(default=None, compare=False)
