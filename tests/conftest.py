"""Shared fixtures: a migrated database (SQLite, or PostgreSQL with TEST_DATABASE_URL),
emptied before each test, a runtime built like app.py builds it, and a roster of two groups."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import delete

import app as app_module
from bot.config import settings_from_dict
from bot.messages import Incoming
from bot.pipeline import Pipeline
from bot.runtime import build_runtime, upgrade_schema
from models import Base, ChatBinding, LiaisonGroup, Member, make_engine
from tests.fakes.executor import ScriptedExecutor

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # a Monday


def shipped_config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def db_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(db_url):
    eng = make_engine(db_url)
    if eng.dialect.name == "postgresql":
        with eng.begin() as conn:  # start from nothing: drop what an earlier run left
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    upgrade_schema(eng)
    yield eng
    eng.dispose()


def _empty(engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


@pytest.fixture
def config_dict(db_url, tmp_path) -> dict:
    """The shipped config.yaml, pointed at the test database (and its backups at tmp_path); tests
    may change it before use."""
    data = shipped_config()
    data["database_url"] = db_url
    data["backup"] = {**data["backup"], "dir": str(tmp_path / "backups")}
    data["web"] = {**data["web"], "secret_file": str(tmp_path / "web_secret.key")}
    return data


@pytest.fixture
def settings(config_dict):
    return settings_from_dict(config_dict, "test config")


@pytest.fixture
def runtime(engine, settings):
    _empty(engine)
    yield build_runtime(settings, app_module.ROUTERS, platforms=app_module.PLATFORMS, engine=engine)
    _empty(engine)


@pytest.fixture
def pool(runtime):
    """Where an adapter runs the pipeline, on a clock the test scripts (tests/fakes/executor.py)."""
    executor = ScriptedExecutor()
    yield executor
    executor.release()
    executor.settle()  # nothing still writing when the database is emptied


@pytest.fixture
def write_config(tmp_path, config_dict):
    """Write a config file (the shipped one pointed at the test DB, with overrides) and return its path."""

    def write(**overrides) -> Path:
        data = {**config_dict, **overrides}
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return path

    return write


@pytest.fixture
def sqlite_config(tmp_path) -> Path:
    """A config file of its own (the shipped one on a fresh SQLite file), as an office would write it."""
    data = shipped_config()
    data["database_url"] = f"sqlite:///{tmp_path / 'bot.db'}"
    data["backup"] = {**data["backup"], "dir": str(tmp_path / "backups")}
    data["web"] = {**data["web"], "secret_file": str(tmp_path / "web_secret.key")}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


ROSTER = [
    # name, group, role, mobile, wecom, dingtalk
    ("王组长", "第一联络组", "leader", "13900000001", "wang", "dt_wang"),
    ("张三", "第一联络组", "member", "13800000001", "zhangsan", "dt_zhangsan"),
    ("李四", "第一联络组", "member", "13800000002", "lisi", "dt_lisi"),
    ("赵六", "第一联络组", "member", "13800000003", None, None),
    ("孙组长", "第二联络组", "leader", "13900000002", "sun", "dt_sun"),
    ("周七", "第二联络组", "member", "13800000004", "zhouqi", "dt_zhouqi"),
    ("陈主任", None, "admin", "13700000001", "chen", "dt_chen"),
]


@pytest.fixture
def roster(runtime) -> dict[str, int]:
    """Two liaison groups, their leaders, members and one office admin; returns name -> member id."""
    with runtime.sessions.begin() as s:
        groups = {}
        for name in ("第一联络组", "第二联络组"):
            g = LiaisonGroup(name=name, created_at=NOW)
            s.add(g)
            groups[name] = g
        s.flush()
        s.add(ChatBinding(group_id=groups["第一联络组"].id, platform="wecom", chat_id="chat-g1"))
        s.add(ChatBinding(group_id=groups["第二联络组"].id, platform="wecom", chat_id="chat-g2"))
        ids = {}
        for name, group, role, mobile, wecom, ding in ROSTER:
            m = Member(
                name=name,
                mobile=mobile,
                group_id=groups[group].id if group else None,
                role=role,
                wecom_userid=wecom,
                dingtalk_userid=ding,
                created_at=NOW,
                updated_at=NOW,
            )
            s.add(m)
            s.flush()
            ids[name] = m.id
    return ids


_msg_ids = itertools.count(1)


@pytest.fixture
def say(runtime, roster):
    """say(name, text, now=NOW, **incoming fields) -> the reply text (None when the bot stays silent)."""

    def _say(name: str, text: str, now: dt.datetime = NOW, **fields) -> str | None:
        incoming = Incoming(
            platform=fields.pop("platform", "console"),
            chat_id=fields.pop("chat_id", None),
            sender_id=fields.pop("sender_id", name),
            sender_name=name,
            text=text,
            msg_id=fields.pop("msg_id", f"m{next(_msg_ids)}"),
            sent_at=now,
            is_group=fields.pop("is_group", False),
            **fields,
        )
        outcome = runtime.pipeline.handle(incoming, now)
        return outcome.reply.text if outcome.reply else None

    return _say


@pytest.fixture
def ask(runtime, roster):
    """ask(name, Command(...), now=NOW, **incoming fields) -> the reply text: like `say`, but the
    parser is bypassed, so a handler's tests state exactly what the parser would have read."""

    def _ask(name: str, command, now: dt.datetime = NOW, **fields) -> str | None:
        pipeline = Pipeline(
            runtime.sessions, runtime.settings, runtime.router, lambda _text, _now: command, runtime.platforms
        )
        incoming = Incoming(
            platform=fields.pop("platform", "console"),
            chat_id=fields.pop("chat_id", None),
            sender_id=fields.pop("sender_id", name),
            sender_name=name,
            text=fields.pop("text", command.intent),
            msg_id=fields.pop("msg_id", f"m{next(_msg_ids)}"),
            sent_at=now,
            is_group=fields.pop("is_group", False),
            **fields,
        )
        outcome = pipeline.handle(incoming, now)
        return outcome.reply.text if outcome.reply else None

    return _ask


@pytest.fixture
def commit_fails_once(monkeypatch):
    """commit_fails_once() -> failures: from the call on, the next database COMMIT fails as a
    dropped connection would (once; `failures` records it), the ones after go through."""

    def install() -> list[int]:
        from sqlalchemy.exc import OperationalError
        from sqlalchemy.orm import SessionTransaction

        real_commit = SessionTransaction.commit
        failures: list[int] = []

        def commit_failing_once(self, *args, **kwargs):
            if not failures:
                failures.append(1)
                raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
            return real_commit(self, *args, **kwargs)

        monkeypatch.setattr(SessionTransaction, "commit", commit_failing_once)
        return failures

    return install
