"""The assembled bot without any web framework: settings, database, router and pipeline.

`app.py` builds one `Runtime` and hands it to the Flask app, the console, the
scheduler and the CLI commands alike.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import backup, locks, outbox
from bot.config import Settings
from bot.descriptor import Platforms
from bot.messages import Incoming, Reply
from bot.parser import parse_strict
from bot.pipeline import Pipeline, find_member
from bot.router import Router
from models import ChatBinding, LiaisonGroup, Member, make_engine, make_session_factory

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

ROOT = Path(__file__).resolve().parent.parent
_REVISION = re.compile(r"^(down_revision|revision)\b[^=]*=\s*['\"]?([\w]+|None)['\"]?", re.M)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    router: Router
    pipeline: Pipeline
    platforms: Platforms  # with the push clients app.py built, shared with the scheduler
    # Sends late answers at once (when the platforms have push clients); without it they wait
    # in the outbox for the scheduler's next tick.
    deliverer: outbox.Deliverer | None = None

    def knows(self, channel: str, sender_id: str) -> bool:
        """Is `sender_id` on `channel` someone on the roster (the console speaks by name)?"""
        with self.sessions() as session:
            return find_member(session, self.platforms.for_channel(channel), sender_id) is not None

    def default_speaker(self) -> str | None:
        with self.sessions() as session:
            return session.scalar(
                select(Member.name)
                .where(Member.active.is_(True))
                .order_by(Member.role != "leader", Member.id)
            )

    def group_chat(self, family: str, group_name: str) -> str | None:
        """The chat id of `group_name`'s chat on `family`, bound now if it was not (the console's
        `chat --group`: the chat id is the group's name); None when no group has that name."""
        with self.sessions.begin() as session:
            group_id = session.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == group_name))
            if group_id is None:
                return None
            binding = session.scalar(
                select(ChatBinding).where(ChatBinding.platform == family, ChatBinding.chat_id == group_name)
            )
            if binding is None:
                session.add(ChatBinding(group_id=group_id, platform=family, chat_id=group_name))
            else:
                binding.group_id = group_id
        return group_name

    def answer_late(self, incoming: Incoming, reply: Reply) -> None:
        """An answer that missed the platform's synchronous response: queue it to the message's
        reply handle (once, whichever path gets here first), then send it now."""
        now = self.now()
        platform = self.platforms.for_channel(incoming.platform)
        try:
            with self.sessions.begin() as session:
                outbox.enqueue_reply(
                    session, incoming, reply, family=platform.family if platform else None, now=now
                )
        except IntegrityError:
            return  # the same answer, queued or given by another delivery a moment ago
        if self.deliverer is not None:
            self.deliverer.deliver(now, kinds=("reply",), limit=20)

    def answer_again(self, incoming: Incoming, reply: Reply) -> Reply | None:
        """A callback delivered again for a message already stored: the platform never got the
        answer. The stored answer, to give in the HTTP response, unless the outbox has it queued
        (the first run answered late). Deliveries at the same moment all answer it."""
        for _ in range(2):
            try:
                with self.sessions.begin() as session:
                    return reply if outbox.claim_response(session, incoming, reply, now=self.now()) else None
            except IntegrityError:
                continue  # another delivery, or the late path, wrote its row just now: read it
        return None

    def now(self) -> dt.datetime:
        """The clock, read only at the edges (web requests, console, scheduler tick)."""
        return dt.datetime.now(self.settings.tz)


def _alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = engine.url.render_as_string(hide_password=False)
    return cfg


def _heads(cfg: AlembicConfig) -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(cfg).get_heads())


def migration_heads() -> set[str]:
    """The newest revisions of migrations/versions, read from the files' `revision` and
    `down_revision` lines: a web worker checks the schema without importing Alembic (~10 MiB a
    worker); tests/test_migrations.py holds it equal to Alembic's own answer."""
    revisions, parents = set(), set()
    for path in (ROOT / "migrations" / "versions").glob("*.py"):
        found = dict((key, value) for key, value in _REVISION.findall(path.read_text(encoding="utf-8")))
        revisions.add(found["revision"])
        parents.add(found.get("down_revision"))
    return revisions - parents


def _current_heads(conn) -> set[str]:
    if not inspect(conn).has_table("alembic_version"):
        return set()
    return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def schema_is_current(engine: Engine) -> bool:
    with engine.connect() as conn:
        return _current_heads(conn) == migration_heads()


def upgrade_schema(engine: Engine, *, backup_first: Callable[[], Path] | None = None) -> Path | None:
    """Create or migrate the schema to the newest revision (Alembic `upgrade head`).

    With `backup_first`, a database that holds records and has a migration pending is backed up
    before it is migrated (a fresh one, as every test builds, is not): the archive's path is
    returned. A backup that fails raises, and nothing is migrated.
    """
    if schema_is_current(engine):
        return None
    from alembic import command

    cfg = _alembic_config(engine)
    made = None
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": locks.MIGRATION})
        # Under the lock, asked again: another worker may have migrated while this one waited.
        pending = _current_heads(conn) != _heads(cfg)
        if pending and backup_first is not None and backup.holds_data(conn):
            made = backup_first()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return made


def build_runtime(
    settings: Settings,
    routers: list[Router],
    *,
    platforms: Platforms,
    engine: Engine | None = None,
) -> Runtime:
    """The bot for `settings`, speaking on `platforms` (and sending through their push clients)."""
    engine = engine or make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    router = Router()
    for r in routers:
        router.include(r)
    pipeline = Pipeline(sessions, settings, router, parse_strict, platforms)
    deliverer = outbox.Deliverer(sessions, settings, platforms) if platforms.clients else None
    return Runtime(settings, engine, sessions, router, pipeline, platforms, deliverer)
