"""WeCom (企业微信): callbacks in (inbound), the outbox's push client out (push), callback crypto (crypto)."""

from bot.platforms.wecom.inbound import make_blueprint
from bot.platforms.wecom.push import WecomPushClient

__all__ = ["WecomPushClient", "make_blueprint"]
