"""DingTalk (钉钉): the robot callback in (inbound; Stream mode in stream), the outbox's push client
out (push), their shared message JSON (render) and signatures (sign), and the descriptor that
tells the core all it may know of DingTalk."""

from __future__ import annotations

from bot.config import GroupBinding, Settings
from bot.descriptor import GroupAddress, PlatformDescriptor, by_userid
from bot.platforms.dingtalk.inbound import CHANNEL, make_blueprint
from bot.platforms.dingtalk.push import DingtalkPushClient

FAMILY = "dingtalk"


def _group_address(binding: GroupBinding, settings: Settings) -> GroupAddress | None:
    """The group's custom robot (自定义机器人 webhook, signed), throttled after 20 messages a minute;
    without one, the app robot's groupMessages/send into the bound conversation."""
    d = binding.dingtalk
    if not d.robot_token:
        if d.conversation_id and settings.dingtalk.enabled:
            return GroupAddress({"conversation_id": d.conversation_id}, None)
        return None
    address = {
        "robot_token": d.robot_token,
        "robot_secret": d.robot_secret,
        "conversation_id": d.conversation_id,
    }
    return GroupAddress(address, f"{FAMILY}:{d.robot_token}")


def _sends_files(settings: Settings) -> bool:
    """Files go one-to-one through the app robot (media upload, then its sampleFile message)."""
    return settings.dingtalk.enabled


def _push_client(settings: Settings) -> DingtalkPushClient | None:
    """Sending needs the app (its robot's OpenAPI) or at least one group's custom robot."""
    sends = settings.dingtalk.enabled or any(g.dingtalk.robot_token for g in settings.groups)
    return DingtalkPushClient(settings) if sends else None


DESCRIPTOR = PlatformDescriptor(
    family=FAMILY,
    channels=(CHANNEL,),
    label="钉钉",
    member_column="dingtalk_userid",
    bindable=True,
    group_chat_id=lambda binding: binding.dingtalk.conversation_id,
    group_address=_group_address,
    member_address=by_userid("dingtalk_userid"),  # the app robot's one-to-one message
    push_client=_push_client,
    sends_files=_sends_files,
)

__all__ = ["DESCRIPTOR", "DingtalkPushClient", "make_blueprint"]
