"""Login links to the office's web page: signed, dated, for one roster member (issue 20).

No password store of our own: a member asks the bot "后台" one-to-one (or the office runs
`python app.py office-link NAME`) and gets a link carrying their member id, signed with the
web's secret key (itsdangerous) and good for `web.link_minutes`. The link opens a session; the
page reads the member's role and group from the roster on every request, so a member made
inactive loses the page at once. Time is an argument here, as everywhere in the core.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from bot.config import Settings

__all__ = ["LinkError", "login_url", "make_token", "read_token", "secret_key", "site_url"]

_SALT = "office-login"


class LinkError(ValueError):
    """A login link that opens nothing: its str() is the line the page shows."""


def secret_key(settings: Settings) -> str:
    """web.secret_key, or the key kept in web.secret_file, made there on first use (0600; two
    processes starting at once agree on the first one written)."""
    if settings.web.secret_key:
        return settings.web.secret_key
    path = Path(settings.web.secret_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if len(key) < 32:
            raise LinkError(f"{path} 里的密钥太短（至少 32 个字符）：删除该文件，重启后会重新生成") from None
        return key
    with os.fdopen(fd, "w", encoding="ascii") as f:
        key = secrets.token_urlsafe(48)
        f.write(key + "\n")
    return key


def _serializer(key: str, now: dt.datetime) -> URLSafeTimedSerializer:
    at = int(now.timestamp())

    class _At(TimestampSigner):  # the signer's clock is the caller's `now`, not time.time()
        def get_timestamp(self) -> int:
            return at

    return URLSafeTimedSerializer(key, salt=_SALT, signer=_At)


def make_token(key: str, member_id: int, now: dt.datetime) -> str:
    return _serializer(key, now).dumps({"m": member_id, "n": secrets.token_urlsafe(6)})


def read_token(key: str, token: str, now: dt.datetime, max_minutes: int) -> int:
    """The member id a token was made for, if it is ours and younger than `max_minutes`."""
    try:
        data = _serializer(key, now).loads(token, max_age=max_minutes * 60)
    except SignatureExpired:
        raise LinkError(f"登录链接已过期（{max_minutes}分钟内有效）：请私聊机器人发送「后台」重新获取。") from None
    except BadSignature:
        raise LinkError("登录链接无效：请私聊机器人发送「后台」获取新的链接，并完整复制。") from None
    member_id = data.get("m") if isinstance(data, dict) else None
    if not isinstance(member_id, int):
        raise LinkError("登录链接无效：请私聊机器人发送「后台」获取新的链接，并完整复制。")
    return member_id


def site_url(settings: Settings) -> str:
    """Where the page is reached: web.public_url, else the address the server listens on."""
    base = settings.web.public_url or f"http://{settings.server.host}:{settings.server.port}"
    return base + settings.web.prefix


def login_url(settings: Settings, member_id: int, now: dt.datetime) -> str:
    token = make_token(secret_key(settings), member_id, now)
    return f"{site_url(settings)}/login?t={quote(token)}"
