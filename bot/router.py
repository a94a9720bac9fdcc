"""Routers map an intent to the one handler that serves it, with the roles allowed.

Each `handlers/<capability>.py` owns a `router`; `app.py` includes them into the
pipeline's router explicitly (no import-time registry).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.messages import Command, Incoming, Reply

if TYPE_CHECKING:
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
    inbound_id: int  # InboundMessage.id: every record keeps the message it came from
    platform: PlatformDescriptor | None  # the sender's platform (None: a channel nobody registered)
    chat_group_id: int | None  # the liaison group this group chat is bound to (None: one-to-one, unbound)
    # The member's answer to the bot's question, by the question's field ({"activity_id": "12"}).
    answer: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[["Session", Any, Command, Context], Reply]


@dataclass(frozen=True)
class Route:
    intent: str
    handler: Handler
    roles: tuple[str, ...]
    allow_unknown: bool  # may an unbound sender use it (only 绑定, 帮助)


class Router:
    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}

    def route(
        self, intent: str, *, roles: tuple[str, ...] = ROLES, allow_unknown: bool = False
    ) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self._add(Route(intent, fn, roles, allow_unknown))
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
