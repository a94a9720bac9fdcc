"""Engine and session factory; the schema itself is created by Alembic (migrations/)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

# Execution option of a transaction that reads, then writes on what it read: see make_engine.
WRITES_AFTER_READING = "writes_after_reading"


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for `url`; SQLite gets foreign keys on and a busy timeout for concurrent writers."""
    # A database error's text would otherwise carry the statement's values (members' notes,
    # names, mobiles) into the error log.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:
            # A transaction that checks before it writes (one pending leave, one binding, …) takes
            # the write lock at its start (IMMEDIATE), so two processes cannot both read "none yet";
            # PostgreSQL gets the same from row locks (SELECT … FOR UPDATE) in the pipeline. Other
            # transactions keep the driver's own BEGIN, issued before their first write.
            if conn.get_execution_options().get(WRITES_AFTER_READING):
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # A server that does not answer must not hold a worker for minutes (the callback has
    # answered 503 by then; see bot/platforms/answering.py).
    if url.startswith("postgresql"):
        kwargs.setdefault("connect_args", {"connect_timeout": 10})
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
