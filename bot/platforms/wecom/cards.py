"""The smart bot's template cards (issue 19): a CardView as WeCom's JSON, and a tap as a Tap.

Field names as documented: the card (模板卡片类型, https://developer.work.weixin.qq.com/document/path/101032),
the tap (接收事件 › 模板卡片事件, .../path/101027: event.eventtype "template_card_event",
event.template_card_event.{card_type, event_key, task_id}, from.userid), the answers (被动回复消息,
.../path/101031: {"msgtype": "template_card", …} to a message; {"response_type":
"update_template_card", "userids": […], "template_card": …} to a tap, within 5 s — WeCom sends a
tap once and drops it when not answered in time).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from bot.messages import CardView, Tap

# text_notice (the card once decided, its buttons gone) requires card_action of type 1 (a URL) or 2
# (a mini program), doc 101032 CardAction; a tap on the card opens WeCom's own page.
CARD_URL = "https://work.weixin.qq.com/"
_MAX_FIELDS = 6  # horizontal_content_list: at most 6 lines
_MAX_BUTTONS = 6  # button_list: at most 6


def template_card(view: CardView) -> dict[str, Any]:
    """The TemplateCard: button_interaction while it has buttons, else text_notice."""
    card: dict[str, Any] = {
        "main_title": {"title": view.title, "desc": view.desc},
        "sub_title_text": view.text,
        "task_id": view.task_id,  # on an update: the tapped card's own (doc 101031 注)
    }
    if view.fields:
        card["horizontal_content_list"] = [
            {"keyname": label, "value": value} for label, value in view.fields[:_MAX_FIELDS]
        ]
    if view.buttons:
        card["card_type"] = "button_interaction"
        card["button_list"] = [{"text": b.text, "key": b.key} for b in view.buttons[:_MAX_BUTTONS]]
    else:
        card["card_type"] = "text_notice"
        card["card_action"] = {"type": 1, "url": CARD_URL}
    return card


def card_reply(view: CardView) -> dict[str, Any]:
    """The passive answer to a message: the card itself (doc 101031 回复用户消息 › 模板卡片消息)."""
    return {"msgtype": "template_card", "template_card": template_card(view)}


def card_update(view: CardView, tapper: str) -> dict[str, Any]:
    """The passive answer to a tap: the card replaced for everyone it reached, or (`tapper_only`)
    for the one who tapped alone — `userids` (doc 101031 模版卡片更新消息: absent = all users)."""
    body: dict[str, Any] = {"response_type": "update_template_card", "template_card": template_card(view)}
    if view.tapper_only:
        body["userids"] = [tapper]
    return body


def tap_of(payload: dict[str, Any]) -> Tap | None:
    """The button tapped, if the callback is a template_card_event carrying a task id and a key."""
    event = payload.get("event") if isinstance(payload.get("event"), dict) else {}
    if payload.get("msgtype") != "event" or event.get("eventtype") != "template_card_event":
        return None
    inner = event.get("template_card_event")
    inner = inner if isinstance(inner, dict) else {}
    task_id, key = inner.get("task_id"), inner.get("event_key")
    if not (isinstance(task_id, str) and task_id and isinstance(key, str) and key):
        return None
    return Tap(task_id=task_id[:128], key=key[:64])


# -- the self-built app's cards (发送应用消息 › 模板卡片消息, path/90236; 模板卡片事件推送, path/90240;
# 被动回复 › 模板卡片更新消息 › 更新点击用户的按钮文案, path/90241) ------------------------------------------
# A one-to-one notice with one-tap answers (Notice.actions: label, the words to send) is sent as a
# button_interaction card whose button keys are those words; a tap comes back to the app's callback
# as <Event>template_card_event</Event> with EventKey = the words, and is read as if the leader had
# typed them. Its passive answer can only relabel the tapped button (update_button); the whole
# answer follows by message/send.

_TASK_ID = re.compile(r"[^A-Za-z0-9_\-@]")
_TITLE_CHARS = 26  # main_title.title: 建议不超过26个字
_TEXT_CHARS = 160  # sub_title_text: 建议不超过160个字
LABEL_CHARS = 20  # the relabelled button: short, as the buttons' own ≤10-character words
_ASIDE = re.compile(r"（[^（）]*）|\([^()]*\)|《[^《》]*》")  # what a date or a title adds, innermost first
_LABEL_END = re.compile(r"[，,。；;\n]")


def app_task_id(key: str) -> str:
    """A task id for the outbox row `key`: unique per app, ≤128 bytes of [A-Za-z0-9_-@] (path/90236);
    the same row sent again gets the same id (WeCom drops a repeated one)."""
    return "lz" + hashlib.sha256(key.encode()).hexdigest()[:40]


def app_card(text: str, actions: tuple[tuple[str, str], ...], task_id: str) -> dict[str, Any]:
    """The message/send body's template_card: the notice's head as the title, the rest below it,
    one button per action, the first styled as the primary."""
    head, sep, rest = text.partition("：")
    title, body = (head, rest) if sep and len(head) <= _TITLE_CHARS else ("请审批", text)
    return {
        "card_type": "button_interaction",
        "main_title": {"title": title[:_TITLE_CHARS]},
        "sub_title_text": body[:_TEXT_CHARS],
        "task_id": _TASK_ID.sub("", task_id)[:128],
        "button_list": [
            {"text": label[:10], "style": 1 if i == 0 else 2, "key": words[:1024]}
            for i, (label, words) in enumerate(actions[:_MAX_BUTTONS])
        ],
    }


def button_label(answer: str) -> str:
    """What the tapped button says afterwards: the answer's first phrase without its asides
    (请假#3（11月27日…）已撤回，… → 请假#3已撤回)."""
    said = answer.strip()
    while _ASIDE.search(said):
        said = _ASIDE.sub("", said)
    first = _LABEL_END.split(said, maxsplit=1)[0].strip()
    return (first or said)[:LABEL_CHARS] or "已处理"


def app_tap_words(inner: dict[str, str]) -> str | None:
    """The words a tap on the app's card sends (its button's key), if the callback is one."""
    if inner.get("MsgType") != "event" or inner.get("Event") != "template_card_event":
        return None
    words = (inner.get("EventKey") or "").strip()
    return words or None
