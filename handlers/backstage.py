"""后台: a member's login link to the office's web page, sent to them alone (issue 20).

What the page shows follows the roster: admins the county, leaders their group, members their own
record. The link is the only credential, so it is never posted in a group chat.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.messages import Command, Reply
from bot.office_login import login_url
from bot.router import Context, Router
from models import Member

router = Router()

IN_GROUP = "登录链接只发给本人：请私聊我发送「后台」。"
OFF = "本县没有开启后台网页（config.yaml 的 web.enabled），请联系政协办公室。"
# Without web.public_url the link names the address the server listens on (127.0.0.1 as shipped).
LOCAL_ONLY = "（这个链接只能在运行机器人的电脑上打开；要在手机上打开，请办公室在 config.yaml 填写 web.public_url）"
_SEES = {"admin": "全县", "leader": "本组", "member": "本人的履职记录"}


@router.route("office_link")
def office_link(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    if not ctx.settings.web.enabled:
        return Reply(OFF)
    if ctx.incoming.is_group:
        return Reply(IN_GROUP)
    url = login_url(ctx.settings, member.id, ctx.now)
    minutes = ctx.settings.web.link_minutes
    text = (
        f"后台登录链接（{minutes}分钟内有效，可查看{_SEES.get(member.role, '本人的履职记录')}；"
        f"仅限本人使用，请勿转发）：\n{url}"
    )
    return Reply(text if ctx.settings.web.public_url else f"{text}\n{LOCAL_ONLY}")
