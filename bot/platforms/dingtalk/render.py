"""The DingTalk robot message JSON for a reply or a delivery (callback answer, sessionWebhook and
custom robot share it; the app robot's msgKey/msgParam form is the push client's)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.messages import Person
from bot.platforms.http_push import trim

# groupMessages/send caps msgParam at 15,000 bytes ("The length must not exceed 15,000 bytes",
# open.dingtalk.com robot group message API); the custom robot documents no figure, so the
# same budget is used everywhere, leaving room for the JSON around the text.
TEXT_BUDGET_BYTES = 12_000
TITLE_BYTES = 60
DEFAULT_TITLE = "履职助手"


def with_links(text: str, actions: tuple[tuple[str, str], ...]) -> str:
    """`text` as markdown followed by one link per action that, tapped, sends its words to the robot
    as the reader (dtmd://dingtalkclient/sendMessage?content=<urlencoded>): DingTalk's client opens
    these in markdown messages only, so a message with actions is sent as markdown."""
    if not actions:
        return text
    links = "　".join(
        f"[{label}](dtmd://dingtalkclient/sendMessage?content={quote(words)})" for label, words in actions
    )
    return f"{text}\n\n{links}"


def title_of(text: str) -> str:
    """A markdown message's title (shown in the notification): the text's first line."""
    return trim(text.strip().splitlines()[0] if text.strip() else DEFAULT_TITLE, TITLE_BYTES)


def _mention_fields(mentions: tuple[Person, ...]) -> tuple[str, dict[str, Any]]:
    """The "@..." suffix and the `at` object: the mention renders only if @userId/@mobile is in the text too.

    Doc: open.dingtalk.com "自定义机器人发送群消息" (at.atUserIds / at.atMobiles).
    """
    tags, user_ids, mobiles = [], [], []
    for person in mentions:
        if person.dingtalk_userid:
            user_ids.append(person.dingtalk_userid)
            tags.append(f"@{person.dingtalk_userid}")
        elif person.mobile:
            mobiles.append(person.mobile)
            tags.append(f"@{person.mobile}")
    at: dict[str, Any] = {}
    if user_ids:
        at["atUserIds"] = user_ids
    if mobiles:
        at["atMobiles"] = mobiles
    return (" ".join(tags), at)


def render_message(text: str, mentions: tuple[Person, ...] = (), markdown: bool = False) -> dict[str, Any]:
    """The robot message JSON (custom robot, sessionWebhook, callback answer share it)."""
    tags, at = _mention_fields(mentions)
    body = trim(text, TEXT_BUDGET_BYTES - len(tags.encode()) - 2)
    content = f"{body}\n{tags}" if tags else body
    if markdown:
        title = title_of(text)
        message: dict[str, Any] = {"msgtype": "markdown", "markdown": {"title": title, "text": content}}
    else:
        message = {"msgtype": "text", "text": {"content": content}}
    if at:
        message["at"] = at
    return message
