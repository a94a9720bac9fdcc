"""The office's web page (issue 20): 总览, 联络组, 委员, 社情民意, 积分, 待处理, under `web.prefix`.

A web adapter like the platforms': its pages read through bot/dashboard.py and the chat's own
query helpers, and every change a page makes (approve a leave, confirm a 补报, mark a note
adopted) is a message on the `web` channel through the same pipeline, handlers and audit trail as
the typed command, from the signed-in roster member. Login is by a signed link (bot/office_login.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.descriptor import PlatformDescriptor

if TYPE_CHECKING:
    from flask import Flask

    from bot.runtime import Runtime

__all__ = ["CHANNEL", "DESCRIPTOR", "install"]

CHANNEL = "web"
# A page's user is the roster member the login link was made for: the pipeline finds them by their
# mobile number (unique on the roster). The page sends nothing itself and binds no account.
DESCRIPTOR = PlatformDescriptor(
    family="web",
    channels=(CHANNEL,),
    label="后台网页",
    member_column="mobile",
    bindable=False,
)


def install(app: Flask, runtime: Runtime) -> None:
    """Serve the page under web.prefix, signing its session cookie with the web's secret key."""
    from flask import redirect

    from bot.office_login import secret_key
    from bot.platforms.web.views import make_blueprint

    web = runtime.settings.web
    app.secret_key = secret_key(runtime.settings)
    app.config.update(
        SESSION_COOKIE_NAME="lvzhi_office",
        SESSION_COOKIE_PATH=web.prefix,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=web.public_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=int(web.session_hours * 3600),
    )
    app.register_blueprint(make_blueprint(runtime), url_prefix=web.prefix)
    # Whoever opens the server's address in a browser finds the page.
    app.add_url_rule("/", "office_root", lambda: redirect(f"{web.prefix}/"))
