"""DingTalk interactive cards (issue 19): a one-to-one notice with one-tap answers (Notice.actions)
as a card of the county's 卡片平台 template, and a click on it read back from the Stream.

Sent with 创建并投放卡片 (POST /v1.0/card/instances/createAndDeliver,
https://open.dingtalk.com/document/orgapp/create-and-deliver-cards), shaped as dingtalk-stream
0.24.3's `CardReplier.create_and_deliver_card` shapes it for a robot's one-to-one chat
(openSpaceId `dtv1.card//IM_ROBOT.<userId>`, imRobotOpenDeliverModel) with callbackType STREAM.
A click arrives on the Stream topic /v1.0/card/instances/callback (卡片回调,
https://open.dingtalk.com/document/orgapp/event-callback-card), read with the SDK's
`CardCallbackMessage`: userId, outTrackId, content.cardPrivateData {actionIds, params}. The
template's two buttons send params {"action": "approve"} and {"action": "reject"}
(docs/dingtalk.md); the words each stands for travel in the card's own outTrackId, so a click is
read as the clicker typing them — the same pipeline, roles and record as "同意 #3". The ACK's
response updates the card's `status` for everyone (cardUpdateOptions.updateCardDataByKey).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

CALLBACK_TOPIC = "/v1.0/card/instances/callback"
BUTTONS = ("approve", "reject")  # the template's buttons' callback param "action", in Notice.actions' order
_PREFIX = "lz1"


@dataclass(frozen=True)
class Click:
    user_id: str
    out_track_id: str
    words: str  # what the button stands for ("同意 #3")


def out_track_id(key: str, actions: tuple[tuple[str, str], ...]) -> str:
    """The card's id, unique per outbox row (`key`), carrying the words of its two buttons."""
    words = [w for _, w in actions[: len(BUTTONS)]]
    packed = base64.urlsafe_b64encode(json.dumps(words, ensure_ascii=False, separators=(",", ":")).encode())
    return f"{_PREFIX}.{hashlib.sha256(key.encode()).hexdigest()[:10]}.{packed.decode().rstrip('=')}"


def _words(track: str) -> list[str]:
    prefix, _, rest = track.partition(".")
    _, _, packed = rest.partition(".")
    if prefix != _PREFIX or not packed:
        return []
    try:
        words = json.loads(base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)))
    except (binascii.Error, ValueError):
        return []
    return [w for w in words if isinstance(w, str)] if isinstance(words, list) else []


def card_body(
    template_id: str, robot_code: str, userid: str, text: str, actions: tuple[tuple[str, str], ...], key: str
) -> dict[str, Any]:
    """The createAndDeliver request for the notice `text` to `userid`. Every cardParamMap value is a
    string (the platform's rule); the template shows title, content and, once decided, status."""
    head, sep, rest = text.partition("：")
    title, content = (head, rest) if sep and len(head) <= 30 else ("请审批", text)
    labels = [label for label, _ in actions[: len(BUTTONS)]]
    return {
        "cardTemplateId": template_id,
        "outTrackId": out_track_id(key, actions),
        "callbackType": "STREAM",
        "cardData": {
            "cardParamMap": {
                "title": title,
                "content": content,
                "status": "",
                "approve_label": labels[0] if labels else "同意",
                "reject_label": labels[1] if len(labels) > 1 else "驳回",
            }
        },
        "openSpaceId": f"dtv1.card//IM_ROBOT.{userid}",
        "imRobotOpenSpaceModel": {"supportForward": False},
        "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": robot_code},
    }


def click_of(data: Any) -> Click | None:
    """The click a callback frame's data holds, if it is one of our cards' buttons."""
    if not isinstance(data, dict):
        return None
    # The SDK only here: a web worker sends cards and loads no stream SDK (tests/test_worker_imports.py).
    from dingtalk_stream import CardCallbackMessage

    try:
        message = CardCallbackMessage.from_dict(data)
    except (ValueError, TypeError):
        return None
    content = message.content if isinstance(message.content, dict) else {}
    private = content.get("cardPrivateData") if isinstance(content.get("cardPrivateData"), dict) else {}
    params = private.get("params") if isinstance(private.get("params"), dict) else {}
    action = params.get("action")
    if action is None and isinstance(private.get("actionIds"), list) and private["actionIds"]:
        action = private["actionIds"][0]
    words = _words(message.card_instance_id or "")
    if action not in BUTTONS or BUTTONS.index(action) >= len(words) or not message.user_id:
        return None
    return Click(message.user_id, message.card_instance_id, words[BUTTONS.index(action)])


def card_update(answer: str) -> dict[str, Any]:
    """The ACK's response: the card's status shows the answer to everyone who has the card."""
    return {
        "cardUpdateOptions": {"updateCardDataByKey": True},
        "cardData": {"cardParamMap": {"status": answer[:500], "decided": "true"}},
    }
