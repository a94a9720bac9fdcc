"""WeCom (企业微信): callbacks in (inbound), the smart bot's long connection (longconn), the outbox's
push client out (push), callback crypto (crypto), and the descriptor that tells the core all it may
know of WeCom."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config import GroupBinding, Settings
from bot.descriptor import Address, GroupAddress, PlatformDescriptor, Written, by_userid
from bot.platforms.wecom.inbound import APP_CHANNEL, SMART_BOT_CHANNEL, make_blueprint
from bot.platforms.wecom.push import AIBOT_CHATID, LONG_CONNECTION, WecomPushClient

if TYPE_CHECKING:
    from models import Member

FAMILY = "wecom"
# aibot_send_msg: 30 messages a minute and 1,000 an hour per conversation (doc 101463 主动推送消息).
AIBOT_LIMITS = ((30, 60.0), (1000, 3600.0))


def _aibot(chatid: str, written: Written | None) -> GroupAddress:
    """A proactive push over the smart bot's long connection, which only its process can send."""
    return GroupAddress(
        {AIBOT_CHATID: chatid}, f"{FAMILY}:aibot:{chatid}", AIBOT_LIMITS, LONG_CONNECTION, written
    )


def _group_address(binding: GroupBinding, settings: Settings) -> GroupAddress | None:
    """The group's push bot (消息推送 webhook, 20 a minute per key); without one, the smart bot's
    long connection into the group's chat (aibot_send_msg, where someone has written to the bot)."""
    key, chat = binding.wecom.webhook_key, binding.wecom.chat_id
    if key:
        return GroupAddress({"webhook_key": key}, f"{FAMILY}:{key}")
    if chat and settings.wecom.long_connection_enabled:
        return _aibot(chat, Written(SMART_BOT_CHANNEL, chat_id=chat))
    return None


def _member_route(member: Member, settings: Settings) -> GroupAddress | None:
    """One-to-one: the self-built app's message/send; with only the smart bot's long connection,
    the member's one-to-one chat with the bot (by the id the bot knows them by), once they wrote there."""
    if settings.wecom.long_connection_enabled and not settings.wecom.app_api_enabled:
        userid = member.wecom_bot_userid or member.wecom_userid
        return _aibot(userid, Written(SMART_BOT_CHANNEL, member_id=member.id)) if userid else None
    userid = member.wecom_userid or (member.wecom_bot_userid if settings.wecom.app_api_enabled else None)
    return GroupAddress({"userid": userid}, None) if userid else None


def _reply_route(address: Address) -> GroupAddress:
    """A late answer of the long connection goes back into its chat by aibot_send_msg."""
    chatid = address.get(AIBOT_CHATID)
    return _aibot(chatid, None) if chatid else GroupAddress(address, None)


def _sends_files(settings: Settings) -> bool:
    """Files go one-to-one through the self-built app (media/upload, then message/send)."""
    return settings.wecom.app_enabled


def _push_client(settings: Settings) -> WecomPushClient | None:
    """Sending needs the corp (app message/send), a group's push bot or the smart bot's long connection."""
    wecom = settings.wecom
    sends = (
        wecom.corp_id or wecom.long_connection_enabled or any(g.wecom.webhook_key for g in settings.groups)
    )
    return WecomPushClient(settings) if sends else None


def _buttons(channel: str, settings: Settings) -> bool:
    """The smart bot shows a button_interaction card only when it has a callback URL (doc 101032:
    当机器人设置了回调URL时，才能下发按钮交互模版卡片); the long connection and the app answer in text."""
    wecom = settings.wecom
    return channel == SMART_BOT_CHANNEL and wecom.smart_bot_enabled and not wecom.long_connection_enabled


DESCRIPTOR = PlatformDescriptor(
    family=FAMILY,
    channels=(SMART_BOT_CHANNEL, APP_CHANNEL),
    label="企业微信",
    member_column="wecom_userid",
    bindable=True,
    group_chat_id=lambda binding: binding.wecom.chat_id,
    group_address=_group_address,
    member_address=by_userid("wecom_userid"),  # the self-built app's message/send
    member_route=_member_route,
    reply_route=_reply_route,
    # A smart bot may know people by an encrypted open_userid (doc 101521): 绑定 keeps it apart.
    channel_columns={SMART_BOT_CHANNEL: "wecom_bot_userid"},
    push_client=_push_client,
    sends_files=_sends_files,
    buttons=_buttons,
)

__all__ = ["DESCRIPTOR", "WecomPushClient", "make_blueprint"]
