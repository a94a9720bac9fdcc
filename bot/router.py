"""Routers map an intent to the one handler that serves it, with the roles allowed.

Each `handlers/<capability>.py` owns a `router`; `app.py` includes them into the
pipeline's router explicitly (no import-time registry).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.messages import Command, Incoming, Reply

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.orm import Session

    from bot.config import Settings
    from bot.descriptor import PlatformDescriptor

ROLES = ("member", "leader", "admin")


class UserError(Exception):
    """A mistake of the user's: its message is one friendly Chinese line, shown as is."""


class Ask(Exception):
    """Not enough to act on ("同意 张三" with two 张三): `reply` asks back, its question kept for the answer.

    Raised from deep inside a handler, before it writes anything (what it wrote would be kept)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply


@dataclass(frozen=True)
class Context:
    """What a handler may know besides the session, the member and the command."""

    now: dt.datetime  # timezone-aware, in the configured timezone
    settings: Settings
    incoming: Incoming
    # InboundMessage.id: every record keeps the message it came from. None while a route with a
    # prefetch decides its answer (the log row is written with the answer); its writes go in
    # Reply.then, which gets the id.
    inbound_id: int | None
    platform: PlatformDescriptor | None  # the sender's platform (None: a channel nobody registered)
    chat_group_id: int | None  # the liaison group this group chat is bound to (None: one-to-one, unbound)
    # The member's answer to the bot's question, by the question's field ({"activity_id": "12"}).
    answer: Mapping[str, str] = field(default_factory=dict)
    # The rows of the route's prefetch, read with the sender (None: not read; query instead).
    prefetched: tuple[Any, ...] | None = None


Handler = Callable[["Session", Any, Command, Context], Reply]


def _no_shape(command: Command, settings: Settings) -> Hashable:
    return ()


@dataclass(frozen=True)
class Prefetch:
    """What a route's handler will read, added to the sender's query (a Select of the Member row) as
    outer joins or scalar subqueries correlated to Member: it saves the handler's own round trip on
    the hot path (issue 17).

    The addition is made of bind parameters only, so that it is built once per form and kept: making
    the expression anew for each message cost more than sending it. `shape(command, settings)` is
    what the form depends on (None: nothing to add for this command); `build(dialect, query, shape)`
    returns the query with the addition (`dialect`: the database's name); `values(command, now,
    settings)` gives this message's parameters, named `pf_…`."""

    build: Callable[[str, Select, Hashable], Select]
    values: Callable[[Command, dt.datetime, Settings], dict[str, Any]]
    shape: Callable[[Command, Settings], Hashable] = _no_shape


@dataclass(frozen=True)
class Route:
    intent: str
    handler: Handler
    roles: tuple[str, ...]
    allow_unknown: bool  # may an unbound sender use it (only 绑定, 帮助)
    # A route with a prefetch decides its answer before the message is logged: its handler writes
    # nothing itself and never reads ctx.inbound_id; its records are written by Reply.then.
    prefetch: Prefetch | None = None
    # A route that only reads (我的履职, 本组情况) decides its answer before the message is logged
    # too: the log row is written once, with the answer, rather than inserted and then updated.
    read_only: bool = False
    # For a sender without the role: the command read as their own (a member's 本组情况: their own
    # record, my), or None — refused.
    others: Callable[[Command], Command | None] | None = None

    @property
    def answers_first(self) -> bool:
        return self.prefetch is not None or self.read_only


def prefetched(session: Session, ctx: Context, member: Any, command: Command, prefetch: Prefetch) -> tuple:
    """The rows `prefetch` adds to the sender's query: as the pipeline read them, or read now on
    their own (a command resumed from a question, a message met by an open question)."""
    if ctx.prefetched is not None:
        return ctx.prefetched
    from sqlalchemy import bindparam, select

    from models import Member

    shape = prefetch.shape(command, ctx.settings)
    if shape is None:
        return ()
    base = select(Member.id).where(Member.id == bindparam("pf_member"))
    stmt = prefetch.build(session.get_bind().dialect.name, base, shape)
    values = {**prefetch.values(command, ctx.now, ctx.settings), "pf_member": member.id}
    return tuple(tuple(row[1:]) for row in session.execute(stmt, values))


class Router:
    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}

    def route(
        self,
        intent: str,
        *,
        roles: tuple[str, ...] = ROLES,
        allow_unknown: bool = False,
        prefetch: Prefetch | None = None,
        read_only: bool = False,
        others: Callable[[Command], Command | None] | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self._add(Route(intent, fn, roles, allow_unknown, prefetch, read_only, others))
            return fn

        return register

    def include(self, other: Router) -> None:
        for r in other._routes.values():
            self._add(r)

    def _add(self, route: Route) -> None:
        if route.intent in self._routes:
            raise ValueError(f"intent {route.intent!r} is already routed")
        self._routes[route.intent] = route

    def get(self, intent: str) -> Route | None:
        return self._routes.get(intent)

    def intents(self) -> list[str]:
        return list(self._routes)
