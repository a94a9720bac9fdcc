"""What a platform push client is given and what it answers: the contract between the
outbox and `bot/platforms/*`. Clients never raise for a platform's refusal; they map it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.messages import Person


@dataclass(frozen=True)
class Delivery:
    """One outbox message, addressed for one platform.

    `address` is platform-specific and filled by the outbox from config/database:
      group  on wecom:    {"webhook_key": ...}            (消息推送/群机器人)
      group  on dingtalk: {"robot_token": ..., "robot_secret": ..., "conversation_id": ...}
      member on wecom:    {"userid": ...}                 (self-built app message/send)
      member on dingtalk: {"userid": ...}                 (robot one-to-one message)
      reply  on wecom:    {"response_url": ...}           (smart bot, usable once within an hour)
      reply  on dingtalk: {"session_webhook": ..., "expires_at_ms": ...}
    """

    kind: Literal["group", "member", "reply"]
    text: str
    address: dict[str, Any] = field(default_factory=dict)
    mentions: tuple[Person, ...] = ()
    markdown: bool = False
    key: str = ""  # the outbox idempotency key, for logs
    # A file to send instead of the text where the client can (WeCom app: media/upload, then a file
    # message; DingTalk app robot: media/upload, then sampleFile); a client that cannot sends the
    # text, which says where the file is.
    attachment: str | None = None
    # Notice.actions: (label, words) a one-to-one reader can send with one tap, where the client can.
    actions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SendResult:
    """The platform's answer: sent; retry (after `retry_after` seconds if it said so); failed for good."""

    status: Literal["sent", "retry", "failed"]
    detail: str = ""  # errcode/errmsg or HTTP status, kept on the outbox row for the admin
    retry_after: float | None = None


def read_attachment(path: str, *, smallest: int, largest: int) -> bytes | SendResult:
    """The bytes of a delivery's file, or the failure to record (unreadable, or a size the platform
    refuses: retrying would not help)."""
    try:
        with open(path, "rb") as f:
            content = f.read()
    except OSError as err:
        return SendResult("failed", f"attachment unreadable: {type(err).__name__}")
    if not smallest <= len(content) <= largest:
        return SendResult(
            "failed", f"attachment of {len(content)} bytes (the platform takes {smallest} to {largest})"
        )
    return content


class PushClient(Protocol):
    platform: str  # "wecom" | "dingtalk" | "console"

    def send(self, delivery: Delivery) -> SendResult: ...
