"""The member a leader names ("同意 张山", "补报 李思 11月5日", "张三的履职"): found by the sound of the
name within the leader's scope; two people of one name are asked about, never guessed between."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.messages import Command
from bot.names import closest
from bot.router import Ask, Context, UserError
from handlers.phrasing import numbered_choice
from models import Member


def named(session: Session, name: str, by: Member) -> list[Member]:
    """The members in `by`'s scope (a leader's group, an admin's county) whose name `name` is or sounds
    like; every one of the closest kind, in roster order."""
    stmt = select(Member).order_by(Member.id)
    if by.role != "admin":
        stmt = stmt.where(Member.group_id == by.group_id)
    members = list(session.scalars(stmt))
    found = {member_id for member_id, _name in closest(name, ((m.id, m.name) for m in members))}
    return [m for m in members if m.id in found]


def where(by: Member) -> str:
    """How an answer names the scope searched: 本组 for a leader, 花名册里 for the office."""
    return "花名册里" if by.role == "admin" else "本组"


def one_named(session: Session, name: str, by: Member, command: Command, ctx: Context) -> Member | None:
    """The one member `name` means in `by`'s scope, or None if nobody; several: asked which (the
    answer resumes `command` with ctx.answer["member_id"])."""
    if chosen := ctx.answer.get("member_id"):
        return session.get(Member, int(chosen))
    found = named(session, name, by)
    if len(found) <= 1:
        return found[0] if found else None
    options = [(who(m), str(m.id)) for m in found]
    raise Ask(numbered_choice(f"有{len(found)}位「{name}」，请问是哪一位", options, command, "member_id"))


def asked_about(
    session: Session, by: Member, name: str | None, command: Command, ctx: Context, *, own_only: str, missing: str
) -> Member:
    """Whose record or score a question names (张三的履职, 张三今年的积分): the sender's own when no
    one else is named; a member may ask only of themself (`own_only` says so); a leader of their
    group, the office of anyone (`missing`, with {where} and {name}, when nobody answers to it)."""
    if (not name or name == by.name) and not ctx.answer.get("member_id"):
        return by
    if by.role == "member":
        raise UserError(own_only)
    found = one_named(session, name or "", by, command, ctx)
    if found is None:
        raise UserError(missing.format(where=where(by), name=name))
    return found


def who(m: Member) -> str:
    """张三（第一联络组，手机尾号1234）: enough to tell two people of one name apart."""
    return f"{m.name}（{m.group.name if m.group else '县政协办公室'}，手机尾号{m.mobile[-4:]}）"


def shown_as(m: Member, among: Sequence[Member]) -> str:
    """张三 in a list of requests, or 张三（第一联络组，手机尾号0001） when another of `among` is a 张三."""
    return who(m) if len({o.id for o in among if o.name == m.name}) > 1 else m.name
