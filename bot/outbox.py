"""The outbox: every outgoing message is a row before it is sent, unique by its key.

`enqueue` is called inside the caller's transaction (a handler's notice, a late answer through
`enqueue_reply`, a reminder), so a message exists exactly when the record it announces does;
`Deliverer` sends due rows through the platform push clients with retries and rate limits.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import or_, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.delivery import Delivery, SendResult
from bot.descriptor import GroupAddress, Platforms, Written
from bot.messages import Incoming, Person, Reply
from models import InboundMessage, LiaisonGroup, Member, OutboxMessage

log = logging.getLogger(__name__)


def enqueue(
    session: Session,
    *,
    key: str,
    target_kind: str,  # "group" | "member" | "reply"
    text: str,
    now: dt.datetime,
    group_id: int | None = None,
    member_id: int | None = None,
    platform: str | None = None,
    address: dict[str, Any] | None = None,
    mentions: tuple[Person, ...] = (),
    markdown: bool = False,
    attachment: str | None = None,
    actions: tuple[tuple[str, str], ...] = (),
) -> bool:
    """Store one message to send; False when a message with this key already exists."""
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None:
        return False
    session.add(
        OutboxMessage(
            key=key,
            target_kind=target_kind,
            group_id=group_id,
            member_id=member_id,
            platform=platform,
            address=address,
            text=text,
            mentions=[asdict(p) for p in mentions],
            markdown=markdown,
            attachment=attachment,
            actions=[list(a) for a in actions] or None,
            created_at=now,
            next_attempt_at=now,
        )
    )
    session.flush()
    return True


def enqueue_to_admins(session: Session, key: str, text: str, now: dt.datetime) -> int:
    """Queue `text` one-to-one to every active admin (the office), once per admin (`key` + the
    admin's id); how many were newly queued."""
    admins = list(
        session.scalars(
            select(Member.id).where(Member.role == "admin", Member.active.is_(True)).order_by(Member.id)
        )
    )
    if not admins:
        # A fresh install has no roster yet: a warning, not an error (the cause is logged by the caller).
        log.warning("no admin (角色 管理员) on the roster to tell; import the roster: %s", text)
    return sum(
        enqueue(session, key=f"{key}:m{mid}", target_kind="member", member_id=mid, text=text, now=now)
        for mid in admins
    )


# `via` of the row that says a message's answer went back in the platform's HTTP response.
IN_RESPONSE = "response"


def _reply_key(incoming: Incoming) -> str:
    return f"reply:{incoming.platform}:{incoming.msg_id}"


def enqueue_reply(
    session: Session, incoming: Incoming, reply: Reply, *, family: str | None, now: dt.datetime
) -> bool:
    """Store an answer that missed the platform's synchronous response, addressed by the message's
    own `reply_handle` (response_url, sessionWebhook, the sender's userid) on its platform `family`;
    False when this message's answer is already stored or given (a redelivery, a second late path)."""
    return enqueue(
        session,
        key=_reply_key(incoming),
        target_kind="reply",
        text=reply.text,
        now=now,
        platform=family,
        address=dict(incoming.reply_handle or {}),
        mentions=reply.mentions,
        markdown=reply.markdown,
    )


def claim_response(session: Session, incoming: Incoming, reply: Reply, *, now: dt.datetime) -> bool:
    """May a redelivered message's answer go back in this HTTP response? Yes unless it was queued
    to the outbox (which sends it). A 'sent' row `via` IN_RESPONSE records the answer given, so a
    late path finishing a moment after finds it and sends nothing; a further redelivery (this
    response lost too) may answer again. Two claims at once: one inserts, the other raises
    IntegrityError at the unique key and asks again (Runtime.answer_again)."""
    key = _reply_key(incoming)
    given = session.execute(select(OutboxMessage.via).where(OutboxMessage.key == key)).first()
    if given is not None:
        return given.via == IN_RESPONSE
    session.add(
        OutboxMessage(
            key=key,
            target_kind="reply",
            text=reply.text,
            status="sent",
            via=IN_RESPONSE,
            address=dict(incoming.reply_handle or {}),
            created_at=now,
            next_attempt_at=now,
            sent_at=now,
        )
    )
    session.flush()
    return True


# ---------------------------------------------------------------------------------------------
# Delivery: claim one due row at a time, send it through the platform's push client, record the
# answer. A row is 'sending' while claimed, with `next_attempt_at` pushed to the end of a lease:
# a deliverer that dies mid-send leaves it to be claimed again once the lease runs out, so a
# crash between sending and recording repeats at most that one message and loses none.


@dataclass
class DeliveryReport:
    """What one `Deliverer.deliver` call did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # held back by a rate limit, not counted as an attempt

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.deferred


@dataclass
class _Route:
    platform: str
    delivery: Delivery
    limit_key: str | None  # a push target's identity when its rate limits apply
    limits: tuple[tuple[int, float], ...] = ()  # (count, seconds); empty: outbox.per_minute a minute
    via: str | None = None  # the connection only one process holds
    blocked: str | None = None  # why it cannot be sent yet (nobody has written in that chat)


class Deliverer:
    """Sends due outbox rows through the push clients of `platforms`, which it asks how to address
    a group or a member (trying them in their order).

    Rate-limit state (sends per push bot in the last minute, a robot's block) lives in this
    object: there is exactly one scheduler, and a new one that takes over starts with an empty
    window, where the platform's own refusal (mapped to retry + retry_after) still holds it back.

    A row with no push route (its group has no bound webhook, the member no platform id) is
    written to the log and marked sent to the fallback platform (the console) when
    `console.enabled` (a local setup shows its reminders); otherwise it is retried until
    `outbox.max_age_hours` and then shown as failed by `python app.py outbox`, so an unbound
    group is visible to the admin rather than silent.

    A group message goes to every platform the group is reached on (`groups[].push_on`, default
    all), once on each: the first claim pins it to the first and adds one row per other platform
    (its key + "@" + family), unique like every key. A route that only the process holding a
    connection can send (`via`: the WeCom long connection) is left to that process's deliverer,
    which alone keeps that target's rate-limit window (the connection has a single-process lock).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        platforms: Platforms,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._platforms = platforms
        self._rng = rng or random.Random()
        self._recent: dict[str, deque[dt.datetime]] = defaultdict(deque)
        self._blocked_until: dict[str, dt.datetime] = {}
        self._bindings = {g.name: g for g in settings.groups}
        self._lock = threading.Lock()

    def deliver(
        self,
        now: dt.datetime,
        *,
        limit: int = 500,
        kinds: tuple[str, ...] | None = None,
        vias_only: bool = False,
    ) -> DeliveryReport:
        """Send what is due at `now` (at most `limit` rows, only `kinds` of target if given, only
        rows bound to a connection this process holds if `vias_only`); every outcome is committed
        per row. One call at a time: the rate-limit windows are this object's."""
        with self._lock:
            return self._deliver(now, limit, kinds, vias_only)

    def _deliver(
        self, now: dt.datetime, limit: int, kinds: tuple[str, ...] | None, vias_only: bool
    ) -> DeliveryReport:
        report = DeliveryReport()
        started = time.monotonic()
        for _ in range(limit):
            # A batch can take a while: a row's lease runs from when it is claimed, not from `now`,
            # or a late row's lease would be over before its send, open to a second deliverer.
            claimed = self._claim(now, kinds, vias_only, dt.timedelta(seconds=time.monotonic() - started))
            if claimed is None:
                break
            row_id, route, expired = claimed
            if expired is not None:
                self._finish(row_id, "failed", now, detail=expired)
                report.failed += 1
                continue
            if route is None or route.blocked:
                why = route.blocked if route else "no push route (group/member not bound to a platform)"
                if self._retry_or_fail(row_id, now, why, None, route.platform if route else None):
                    report.retried += 1
                else:
                    report.failed += 1
                continue
            wait_until = self._throttled_until(route, now)
            if wait_until is not None:
                self._release(row_id, wait_until)
                report.deferred += 1
                continue
            result = self._send(route)
            if route.limit_key:
                self._recent[route.limit_key].append(now)
            if result.status == "sent":
                self._finish(row_id, "sent", now, detail=result.detail, platform=route.platform)
                report.sent += 1
            elif result.status == "failed":
                self._finish(row_id, "failed", now, detail=result.detail, platform=route.platform)
                report.failed += 1
            else:
                if result.retry_after and route.limit_key:
                    # DingTalk blocks a robot for 10 minutes after 20/min: hold its other rows too.
                    self._blocked_until[route.limit_key] = now + dt.timedelta(seconds=result.retry_after)
                if self._retry_or_fail(row_id, now, result.detail, result.retry_after, route.platform):
                    report.retried += 1
                else:
                    report.failed += 1
        return report

    # -- claiming ------------------------------------------------------------------------------

    def _claim(
        self,
        now: dt.datetime,
        kinds: tuple[str, ...] | None = None,
        vias_only: bool = False,
        elapsed: dt.timedelta = dt.timedelta(0),
    ) -> tuple[int, _Route | None, str | None] | None:
        """Take the next due row: (id, its route, why it expired or None), leased until `elapsed`
        after `now` plus the lease."""
        lease = dt.timedelta(seconds=self._settings.outbox.claim_lease_seconds) + elapsed
        max_age = dt.timedelta(hours=self._settings.outbox.max_age_hours)
        while True:
            with self._sessions.begin() as session:
                # SKIP LOCKED lets several deliverers share the table on PostgreSQL; SQLite
                # renders no FOR UPDATE and relies on the conditional UPDATE below.
                row = session.scalars(
                    select(OutboxMessage)
                    .where(
                        OutboxMessage.status.in_(("pending", "sending")),
                        OutboxMessage.next_attempt_at <= now,
                        OutboxMessage.target_kind.in_(kinds) if kinds else true(),
                        # A row bound to another process's connection is that process's, unless it
                        # is past its age: then any deliverer records it as failed for the admin.
                        OutboxMessage.via.in_(self._local_vias())
                        if vias_only
                        else or_(
                            OutboxMessage.via.is_(None),
                            OutboxMessage.via.in_(self._local_vias()),
                            OutboxMessage.created_at <= now - max_age,
                        ),
                    )
                    .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if row is None:
                    return None
                flipped = session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id == row.id,
                        OutboxMessage.status.in_(("pending", "sending")),
                        OutboxMessage.next_attempt_at <= now,
                    )
                    .values(
                        status="sending",
                        attempts=OutboxMessage.attempts + 1,
                        next_attempt_at=now + lease,
                    )
                    .execution_options(synchronize_session=False)
                ).rowcount
                if flipped != 1:
                    continue  # another deliverer took it between our read and our write
                expired = None
                if now - row.created_at >= max_age:
                    expired = f"gave up after {row.attempts} attempts (older than outbox.max_age_hours)"
                    if row.last_error:
                        expired += f"; last error: {row.last_error}"
                route = None if expired else self._route(session, row, now)
                if route is not None and (row.platform is None or route.via != row.via):
                    # Pin the platform so that retries go where the first attempt went.
                    session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id == row.id)
                        .values(platform=route.platform, via=route.via)
                        .execution_options(synchronize_session=False)
                    )
                if route is not None and route.via and route.via not in self._local_vias():
                    self._hand_over(session, row.id, now)
                    continue
                return row.id, route, expired

    def _local_vias(self) -> frozenset[str]:
        """The connections this process holds (a client attached to one says so)."""
        return frozenset(v for c in self._platforms.clients.values() for v in getattr(c, "local_vias", ()))

    @staticmethod
    def _hand_over(session: Session, row_id: int, now: dt.datetime) -> None:
        """Leave a claimed row, uncounted, to the process that holds its connection."""
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(status="pending", attempts=OutboxMessage.attempts - 1, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )

    def _route(self, session: Session, row: OutboxMessage, now: dt.datetime) -> _Route | None:
        """The first candidate whose platform has a push client, else the fallback (the console)
        when `console.enabled`, else None. A group message's first claim adds its other platforms."""
        candidates = [
            (family, where)
            for family, where in self._candidates(session, row)
            if self._platforms.client(family) is not None
        ]
        if candidates and row.target_kind == "group" and row.platform is None:
            self._fan_out(session, row, [family for family, _ in candidates[1:]], now)
        for family, where in candidates[:1]:
            route = _route_for(row, family, where)
            if where.written is not None and not _written_in(session, where.written):
                route.blocked = "nobody has written to the bot in this chat yet (it can push only there)"
            return route
        fallback = self._platforms.fallback
        if fallback and (self._settings.console.enabled or self._platforms.client(fallback.family)):
            return _route_for(row, fallback.family, GroupAddress({}, None))
        return None

    def _candidates(self, session: Session, row: OutboxMessage) -> list[tuple[str, GroupAddress]]:
        """(platform, where) the row could go, in the platforms' order."""
        if row.target_kind == "reply":
            # A late answer goes back where its message came from, to the address it carried.
            platform = self._platforms.for_family(row.platform) if row.platform else None
            return [(row.platform, platform.reply_route(dict(row.address or {})))] if platform else []
        if row.target_kind == "group" and row.group_id is not None:
            candidates = self._group_candidates(session, row.group_id)
            # A group's row is on its own platform; the others have rows of their own.
            return [c for c in candidates if c[0] == row.platform] if row.platform else candidates
        if row.target_kind == "member" and row.member_id is not None:
            candidates = self._member_candidates(session, row.member_id)
            # Pinned by its first attempt: retries go where that went, while that platform can still take it.
            return [c for c in candidates if c[0] == row.platform] or candidates
        return []

    def _group_candidates(self, session: Session, group_id: int) -> list[tuple[str, GroupAddress]]:
        name = session.scalar(select(LiaisonGroup.name).where(LiaisonGroup.id == group_id))
        binding = self._bindings.get(name or "")  # the group's chats in config.yaml
        if binding is None:
            return []
        wanted = binding.push_on
        where = ((p.family, p.group_address(binding, self._settings)) for p in self._platforms)
        return [(f, w) for f, w in where if w is not None and (wanted is None or f in wanted)]

    def _member_candidates(self, session: Session, member_id: int) -> list[tuple[str, GroupAddress]]:
        member = session.get(Member, member_id)
        if member is None:
            return []
        out = []
        for p in self._platforms:
            if p.member_route is not None:
                where = p.member_route(member, self._settings)
            else:
                address = p.member_address(member)
                where = GroupAddress(address, None) if address is not None else None
            if where is not None:
                out.append((p.family, where))
        return out

    @staticmethod
    def _fan_out(session: Session, row: OutboxMessage, families: list[str], now: dt.datetime) -> None:
        """One row per other platform of the group, pinned there, added once (unique key)."""
        for family in families:
            enqueue(
                session,
                key=f"{row.key}@{family}",
                target_kind="group",
                text=row.text,
                now=now,
                group_id=row.group_id,
                platform=family,
                mentions=tuple(Person(**m) for m in (row.mentions or [])),
                markdown=row.markdown,
                attachment=row.attachment,
            )
        if families:
            log.info("outbox %s: also to %s", row.key, ", ".join(families))

    # -- rate limits ---------------------------------------------------------------------------

    def _throttled_until(self, route: _Route, now: dt.datetime) -> dt.datetime | None:
        key = route.limit_key
        if key is None:
            return None
        blocked = self._blocked_until.get(key)
        if blocked is not None and blocked > now:
            return blocked
        limits = route.limits or ((self._settings.outbox.per_minute, 60.0),)
        window = self._recent[key]
        longest = dt.timedelta(seconds=max(seconds for _, seconds in limits))
        while window and window[0] <= now - longest:
            window.popleft()
        for count, seconds in limits:
            span = dt.timedelta(seconds=seconds)
            recent = [t for t in window if t > now - span]
            if len(recent) >= count:
                return recent[0] + span
        return None

    # -- sending and recording -----------------------------------------------------------------

    def _send(self, route: _Route) -> SendResult:
        client = self._platforms.client(route.platform)
        if client is None:  # the fallback without a client of its own: the log is the console
            log.info("[console] %s → %s: %s", route.delivery.kind, route.delivery.key, route.delivery.text)
            return SendResult("sent", "console: logged")
        try:
            return client.send(route.delivery)
        except Exception as err:  # a client bug or an unmapped network error: retry, keep the outbox going
            log.exception("push client %s raised for %s", route.platform, route.delivery.key)
            return SendResult("retry", f"{type(err).__name__}: {err}")

    def _release(self, row_id: int, at: dt.datetime) -> None:
        """Put a claimed row back untouched (a rate limit, not a failure)."""
        with self._sessions.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(
                    status="pending",
                    attempts=OutboxMessage.attempts - 1,
                    next_attempt_at=at,
                )
                .execution_options(synchronize_session=False)
            )

    def _finish(
        self, row_id: int, status: str, now: dt.datetime, *, detail: str, platform: str | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status, "platform_answer": detail[:2000]}
        if status == "sent":
            values["sent_at"] = now
        else:
            values["last_error"] = detail[:2000]
        if platform:
            values["platform"] = platform
        with self._sessions.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    def _retry_or_fail(
        self,
        row_id: int,
        now: dt.datetime,
        detail: str,
        retry_after: float | None,
        platform: str | None = None,
    ) -> bool:
        """Schedule another attempt with backoff and jitter; False (and failed) past the max age."""
        cfg = self._settings.outbox
        with self._sessions.begin() as session:
            row = session.get(OutboxMessage, row_id)
            if row is None:
                return False
            if now - row.created_at >= dt.timedelta(hours=cfg.max_age_hours):
                row.status = "failed"
                row.last_error = f"gave up after {row.attempts} attempts: {detail}"[:2000]
                row.platform_answer = detail[:2000]
                return False
            backoff = min(cfg.max_backoff_seconds, cfg.base_backoff_seconds * 2 ** max(row.attempts - 1, 0))
            # Equal jitter: half fixed, half random, so retries of many rows spread out.
            delay = backoff / 2 + self._rng.uniform(0, backoff / 2)
            if retry_after is not None:
                delay = max(delay, retry_after)
            row.status = "pending"
            row.next_attempt_at = now + dt.timedelta(seconds=delay)
            row.last_error = detail[:2000]
            row.platform_answer = detail[:2000]
            if platform:
                row.platform = platform
            return True


def _route_for(row: OutboxMessage, platform: str, where: GroupAddress) -> _Route:
    delivery = Delivery(
        kind=row.target_kind,  # type: ignore[arg-type]
        text=row.text,
        address=dict(where.address),
        mentions=tuple(Person(**m) for m in (row.mentions or [])),
        markdown=row.markdown,
        key=row.key,
        attachment=row.attachment,
        actions=tuple((label, words) for label, words in (row.actions or [])),
    )
    return _Route(platform, delivery, where.limit_key, where.limits, where.via)


def _written_in(session: Session, written: Written) -> bool:
    """Has anyone written to the bot on `written.channel` in that chat (or that member one-to-one)?"""
    seen = select(InboundMessage.id).where(InboundMessage.platform == written.channel)
    if written.chat_id is not None:
        seen = seen.where(InboundMessage.chat_id == written.chat_id)
    else:
        seen = seen.where(InboundMessage.member_id == written.member_id, InboundMessage.is_group.is_(False))
    return session.scalar(seen.limit(1)) is not None


def known_keys(session: Session, keys: list[str]) -> set[str]:
    """Those of `keys` the outbox already holds."""
    existing: set[str] = set()
    for i in range(0, len(keys), 500):  # stay below every driver's bound-parameter limit
        chunk = keys[i : i + 500]
        existing.update(session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_(chunk))))
    return existing


def enqueue_many(session: Session, messages: Iterable[Any], now: dt.datetime) -> int:
    """Store reminder messages (objects with key, target_kind, text, group_id, member_id, mentions);
    keys already in the outbox are skipped with one query. Returns how many were new."""
    pending = {m.key: m for m in messages}
    if not pending:
        return 0
    existing = known_keys(session, list(pending))
    added = 0
    for key, m in pending.items():
        if key in existing:
            continue
        added += enqueue(
            session,
            key=key,
            target_kind=m.target_kind,
            text=m.text,
            now=now,
            group_id=m.group_id,
            member_id=m.member_id,
            mentions=tuple(m.mentions),
        )
    return added


def undelivered(session: Session) -> list[OutboxMessage]:
    """Rows not (yet) sent — pending, being sent, or failed — oldest first, for the admin."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status.in_(("pending", "sending", "failed")))
            .order_by(OutboxMessage.status, OutboxMessage.created_at, OutboxMessage.id)
        )
    )
