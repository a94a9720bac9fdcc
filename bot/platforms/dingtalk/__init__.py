"""DingTalk (钉钉): the robot callback in (inbound; Stream mode in stream), the outbox's push client
out (push), their shared message JSON (render) and signatures (sign)."""

from bot.platforms.dingtalk.inbound import make_blueprint
from bot.platforms.dingtalk.push import DingtalkPushClient

__all__ = ["DingtalkPushClient", "make_blueprint"]
