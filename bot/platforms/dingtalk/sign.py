"""DingTalk signatures: the app robot callback's `sign` header, and the custom robot's 加签."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac


def callback_sign(timestamp: str, app_secret: str) -> str:
    """The app robot callback's `sign` header: base64(HMAC-SHA256(appSecret, timestamp + "\\n" + appSecret)).

    Doc: open.dingtalk.com "企业内部开发机器人 / 接收消息" (HTTP mode: verify the timestamp and sign headers).
    """
    mac = hmac.new(app_secret.encode(), f"{timestamp}\n{app_secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def check_callback_sign(
    timestamp: str | None, sign: str | None, app_secret: str, now: dt.datetime, max_skew_seconds: int
) -> str | None:
    """None when the headers are genuine and fresh, else a short reason (no secret material)."""
    if not timestamp or not sign:
        return "missing timestamp or sign"
    if not timestamp.isdigit():
        return "malformed timestamp"
    skew_ms = abs(int(now.timestamp() * 1000) - int(timestamp))
    if skew_ms > max_skew_seconds * 1000:
        return "stale timestamp"
    if not hmac.compare_digest(callback_sign(timestamp, app_secret).encode(), sign.encode()):
        return "bad sign"
    return None


def webhook_sign(timestamp_ms: int, secret: str) -> str:
    """The custom robot's 加签 value (before URL encoding): same HMAC scheme, keyed by the SEC... secret.

    Doc: open.dingtalk.com "自定义机器人安全设置 / 加签".
    """
    return callback_sign(str(timestamp_ms), secret)
