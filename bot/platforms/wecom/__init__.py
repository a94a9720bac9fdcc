"""WeCom (企业微信): callbacks in (inbound), the outbox's push client out (push), callback crypto
(crypto), and the descriptor that tells the core all it may know of WeCom."""

from __future__ import annotations

from bot.config import GroupBinding, Settings
from bot.descriptor import GroupAddress, PlatformDescriptor, by_userid
from bot.platforms.wecom.inbound import APP_CHANNEL, SMART_BOT_CHANNEL, make_blueprint
from bot.platforms.wecom.push import WecomPushClient

FAMILY = "wecom"


def _group_address(binding: GroupBinding) -> GroupAddress | None:
    """The group's push bot (消息推送 webhook), limited to 20 messages a minute per key."""
    key = binding.wecom.webhook_key
    return GroupAddress({"webhook_key": key}, f"{FAMILY}:{key}") if key else None


def _sends_files(settings: Settings) -> bool:
    """Files go one-to-one through the self-built app (media/upload, then message/send)."""
    return settings.wecom.app_enabled


def _push_client(settings: Settings) -> WecomPushClient | None:
    """Sending needs the corp (app message/send) or at least one group's push bot."""
    sends = settings.wecom.corp_id or any(g.wecom.webhook_key for g in settings.groups)
    return WecomPushClient(settings) if sends else None


DESCRIPTOR = PlatformDescriptor(
    family=FAMILY,
    channels=(SMART_BOT_CHANNEL, APP_CHANNEL),
    label="企业微信",
    member_column="wecom_userid",
    bindable=True,
    group_chat_id=lambda binding: binding.wecom.chat_id,
    group_address=_group_address,
    member_address=by_userid("wecom_userid"),  # the self-built app's message/send
    push_client=_push_client,
    sends_files=_sends_files,
)

__all__ = ["DESCRIPTOR", "WecomPushClient", "make_blueprint"]
