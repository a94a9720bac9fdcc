"""绑定身份: a sender proves who they are (name + mobile as in the roster) and their platform id is kept."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.messages import Command, Reply
from bot.router import Context, Router, UserError
from models import Member

router = Router()

_EXAMPLE = "绑定 张三 13800001234"
_OFFICE = "如有疑问请联系县政协办公室。"


def _mobile(text: str | None) -> str:
    digits = re.sub(r"\D", "", text or "")
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


@router.route("bind", allow_unknown=True)
def bind(session: Session, member: Member | None, command: Command, ctx: Context) -> Reply:
    platform = ctx.platform
    if platform is None:
        raise UserError("这个平台暂不支持绑定。" + _OFFICE)
    if not platform.bindable:
        return Reply(f"{platform.label}按姓名识别，无需绑定。")
    column, label = platform.member_column, platform.label

    name = command.name
    mobile = _mobile(command.content)
    if not name or not mobile:
        raise UserError(f"请发送姓名和手机号（与花名册一致），例如：{_EXAMPLE}")

    match = session.scalars(select(Member).where(Member.name == name, Member.mobile == mobile)).first()
    if match is None:
        raise UserError(f"姓名和手机号与花名册对不上，没有绑定。请核对后重发，{_OFFICE}")
    if not match.active:
        raise UserError("该账号已停用，" + _OFFICE)

    sender_id = ctx.incoming.sender_id
    if member is not None and member.id != match.id:
        # The pipeline found this sender already bound to someone else: never move an identity silently.
        raise UserError(f"您的{label}账号已绑定为其他委员，不能再绑定{name}。请联系县政协办公室处理。")
    current = getattr(match, column)
    if sender_id in (current, *(getattr(match, c) for c in platform.matched_columns)):
        return Reply(f"{name}，您已绑定过了，可以直接使用。发送「帮助」查看可以做什么。")
    if current:
        raise UserError(f"{name}已绑定了另一个{label}账号。如需更换，请联系县政协办公室处理。")

    try:
        # A concurrent bind of the same platform id may win the unique key first.
        with session.begin_nested():
            setattr(match, column, sender_id)
            session.flush()
    except IntegrityError:
        raise UserError(f"这个{label}账号已绑定为其他委员，请联系县政协办公室处理。") from None
    where = match.group.name if match.group else "县政协办公室"
    return Reply(f"绑定成功：{name}（{where}）。发送「帮助」查看可以做什么。")
