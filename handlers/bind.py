"""绑定身份: a sender proves who they are (name + mobile as in the roster) and their platform id is kept."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.messages import Command, Reply
from bot.router import Context, Router, UserError
from models import InboundMessage, Member

router = Router()

_EXAMPLE = "绑定 张三 13800001234"
_OFFICE = "如有疑问请联系县政协办公室。"


def _mobile(text: str | None) -> str:
    digits = re.sub(r"\D", "", text or "")
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


_NO_MATCH = f"姓名和手机号与花名册对不上，或已绑定其他账号，没有绑定。请核对后重发，{_OFFICE}"


ROSTER_BY_OFFICE = (
    "花名册（姓名、手机号、所在联络组）由县政协办公室维护，机器人这里改不了：请联系办公室更新；"
    "换了手机号的，更新后请重新发「绑定 姓名 新手机号」。"
)


@router.route("roster_change", allow_unknown=True)
def roster_change(session: Session, member: Member | None, command: Command, ctx: Context) -> Reply:
    return Reply(ROSTER_BY_OFFICE)


def _attempts(session: Session, ctx: Context) -> int:
    """This sender's 绑定 messages in the last hour, this one included (the log row is written)."""
    return session.scalar(
        select(func.count(InboundMessage.id)).where(
            InboundMessage.platform == ctx.incoming.platform,
            InboundMessage.sender_id == ctx.incoming.sender_id,
            InboundMessage.intent == "bind",
            InboundMessage.received_at > ctx.now - dt.timedelta(hours=1),
        )
    )


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

    sender_id = ctx.incoming.sender_id
    if member is None and _attempts(session, ctx) > ctx.settings.binding.attempts_per_hour:
        raise UserError(f"绑定尝试次数过多，请一小时后再试。{_OFFICE}")
    # Once per roster member: the member's row is locked, so of sixteen strangers binding themselves
    # as one member at once, the first is bound and the others find the row taken.
    match = session.scalars(
        select(Member).where(Member.name == name, Member.mobile == mobile).with_for_update()
    ).first()
    current = getattr(match, column) if match is not None else None
    if match is not None and sender_id in (current, *(getattr(match, c) for c in platform.matched_columns)):
        return Reply(f"{name}，您已绑定过了，可以直接使用。发送「帮助」查看可以做什么。")
    if member is not None and (match is None or member.id != match.id):
        # The pipeline found this sender already bound to someone else: never move an identity silently.
        raise UserError(f"您的{label}账号已绑定为其他委员，不能再绑定{name}。请联系县政协办公室处理。")
    if match is None or not match.active or current:
        # One answer for "no such pair", "stopped" and "bound to another account": a stranger must not
        # learn which names and mobiles belong together.
        raise UserError(_NO_MATCH)

    try:
        # A concurrent bind of the same platform id may win the unique key first.
        with session.begin_nested():
            setattr(match, column, sender_id)
            session.flush()
    except IntegrityError:
        raise UserError(_NO_MATCH) from None
    where = match.group.name if match.group else "县政协办公室"
    return Reply(f"绑定成功：{name}（{where}）。发送「帮助」查看可以做什么。")
