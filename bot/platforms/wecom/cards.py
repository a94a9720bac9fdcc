"""The smart bot's template cards (issue 19): a CardView as WeCom's JSON, and a tap as a Tap.

Field names as documented: the card (模板卡片类型, https://developer.work.weixin.qq.com/document/path/101032),
the tap (接收事件 › 模板卡片事件, .../path/101027: event.eventtype "template_card_event",
event.template_card_event.{card_type, event_key, task_id}, from.userid), the answers (被动回复消息,
.../path/101031: {"msgtype": "template_card", …} to a message; {"response_type":
"update_template_card", "userids": […], "template_card": …} to a tap, within 5 s — WeCom sends a
tap once and drops it when not answered in time).
"""

from __future__ import annotations

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
