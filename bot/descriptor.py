"""What the core may know of a platform, written once in that platform's own package.

A `PlatformDescriptor` names a platform family and the channels it receives on, says how it knows
a member, which chat config.yaml binds a group to, how the outbox addresses a group or a member
there and whether it can hand a member a file, and builds its push client. `Platforms`, the
registry app.py assembles, hands them to the pipeline, the handlers' `Context`, the outbox and the
chat-binding sync, which ask it instead of comparing or splitting platform names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import GroupBinding, Settings
    from bot.delivery import PushClient
    from models import Member

Address = dict[str, Any]  # a Delivery's platform-specific address (bot/delivery.py lists them)


@dataclass(frozen=True)
class Written:
    """A push that reaches only a chat where someone has written to the bot on `channel` (the WeCom
    smart bot's aibot_send_msg, doc 101463): a group chat that received a message, or a member's
    one-to-one chat with the bot. The outbox asks the inbound log."""

    channel: str
    chat_id: str | None = None
    member_id: int | None = None


@dataclass(frozen=True)
class GroupAddress:
    """Where a liaison group's chat (or a member) is reached on one platform, and what holds it back."""

    address: Address
    limit_key: str | None  # the push target whose rate limits apply (None: no limit of ours)
    # (count, seconds) windows on `limit_key`; empty: outbox.per_minute a minute (a push bot).
    limits: tuple[tuple[int, float], ...] = ()
    via: str | None = None  # only the process holding this connection can send it (the outbox waits)
    written: Written | None = None  # sendable only once someone has written there


PushAddress = GroupAddress  # the same for a member or a late answer


def _nowhere(_: Any) -> None:
    return None


def _never(_: Any) -> bool:
    return False


def _as_sent(address: Address) -> GroupAddress:
    return GroupAddress(address, None)


def by_userid(column: str) -> Callable[[Member], Address | None]:
    """A member's one-to-one address on a platform that messages people by the user id kept in
    the Member `column` (None: no account there)."""

    def address(member: Member) -> Address | None:
        userid = getattr(member, column)
        return {"userid": userid} if userid else None

    return address


@dataclass(frozen=True)
class PlatformDescriptor:
    """One platform family, as the core sees it."""

    family: str  # "wecom": ChatBinding.platform, OutboxMessage.platform, the push client's key
    channels: tuple[str, ...]  # the Incoming.platform values it receives on ("wecom_bot", "wecom_app")
    label: str  # what members call it (企业微信), in answers
    member_column: str  # the Member attribute a sender id is matched against (the console: name)
    bindable: bool  # 绑定 applies: a member links their platform id to their roster entry
    # The group's chat id here as config.yaml gives it (ChatBinding.chat_id); None or "": no chat here.
    group_chat_id: Callable[[GroupBinding], str | None] = _nowhere
    # How the outbox reaches a group here under these settings (None: not at all).
    group_address: Callable[[GroupBinding, Settings], GroupAddress | None] = lambda _b, _s: None
    member_address: Callable[[Member], Address | None] = _nowhere  # one-to-one, as a plain address
    # The same with what holds it back (rate limits, a connection, a chat written in); None: as above.
    member_route: Callable[[Member, Settings], GroupAddress | None] | None = None
    # A late answer's route from the address its message carried (default: as it is, no limit).
    reply_route: Callable[[Address], GroupAddress] = _as_sent
    # Channels whose sender ids bind to a column of their own (the smart bot's wecom_bot_userid);
    # a sender there is still recognised by `member_column` too.
    channel_columns: Mapping[str, str] = field(default_factory=dict)
    # Filled in by `Platforms.for_channel`: every column a sender id on that channel is matched with.
    matched_columns: tuple[str, ...] = ()
    push_client: Callable[[Settings], PushClient | None] = _nowhere  # None: not set up for sending
    # The settings set up sending a member a file one-to-one here (the export's .xlsx).
    sends_files: Callable[[Settings], bool] = _never
    # Answers on this channel, under these settings, can show a card with buttons (issue 19).
    buttons: Callable[[str, Settings], bool] = lambda _c, _s: False
    # Takes, when console.enabled, what no platform can deliver (a local setup logs its reminders).
    fallback: bool = False


@dataclass(frozen=True)
class Platforms:
    """The platforms app.py wires in, in the order the outbox tries them, and one push client per
    family that is set up for sending (shared by the web runtime and the scheduler)."""

    descriptors: tuple[PlatformDescriptor, ...]
    clients: Mapping[str, PushClient] = field(default_factory=dict)

    def __post_init__(self) -> None:
        families = [d.family for d in self.descriptors]
        channels = [c for d in self.descriptors for c in d.channels]
        if len(set(families)) != len(families) or len(set(channels)) != len(channels):
            raise ValueError(f"platform families and channels must be unique: {families}, {channels}")

    def configured(self, settings: Settings) -> Platforms:
        """The same platforms, with a push client built once for each one `settings` sets up."""
        return self.with_clients(
            {d.family: c for d in self.descriptors if (c := d.push_client(settings)) is not None}
        )

    def with_clients(self, clients: Mapping[str, PushClient]) -> Platforms:
        """The same platforms sending through `clients` (family -> client) instead."""
        return replace(self, clients=dict(clients))

    def __iter__(self) -> Iterator[PlatformDescriptor]:
        return iter(self.descriptors)

    def for_channel(self, channel: str) -> PlatformDescriptor | None:
        """The platform an `Incoming.platform` value belongs to, as seen from that channel (the
        column its sender ids bind to, every column they are matched with); None for a channel
        nobody registered."""
        platform = next((d for d in self.descriptors if channel in d.channels), None)
        if platform is None:
            return None
        column = platform.channel_columns.get(channel, platform.member_column)
        matched = tuple(dict.fromkeys((column, platform.member_column)))
        return replace(platform, member_column=column, matched_columns=matched)

    def for_family(self, family: str) -> PlatformDescriptor | None:
        return next((d for d in self.descriptors if d.family == family), None)

    def client(self, family: str) -> PushClient | None:
        return self.clients.get(family)

    @property
    def fallback(self) -> PlatformDescriptor | None:
        return next((d for d in self.descriptors if d.fallback), None)
