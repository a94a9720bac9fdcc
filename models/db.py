"""Engine and session factory; the schema itself is created by Alembic (migrations/)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Executable,
    Integer,
    Row,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
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
    # No pre-ping: it is one more round trip on every message. A connection the server dropped
    # fails its message instead, the pool is invalidated, and the pipeline runs it once more on a
    # new connection (bot/pipeline.py); connections are recycled before servers and firewalls
    # commonly drop idle ones.
    kwargs.setdefault("pool_recycle", 1800)
    # A server that does not answer must not hold a worker for minutes (the callback has
    # answered 503 by then; see bot/platforms/answering.py).
    if url.startswith("postgresql"):
        kwargs.setdefault("connect_args", {"connect_timeout": 10})
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def insert_or_skip(
    session: Session, table: Table, values: dict[str, Any], unique: tuple[str, ...]
) -> int | None:
    """INSERT … ON CONFLICT (unique) DO NOTHING, one statement: the new row's id, or None when a row
    with the same unique key exists (the database decides, not a read before the write)."""
    stmt = _insert_or_skip(session.get_bind().dialect.name, table, unique)
    return session.execute(stmt, values).scalar()


@lru_cache(maxsize=32)
def _insert_or_skip(dialect_name: str, table: Table, unique: tuple[str, ...]):
    # Built once, the values as parameters: building the statement with them took longer than
    # sending it (its cache key is made from every value, issue 17).
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=list(unique))
    return stmt.returning(table.c.id)


def read(session: Session, stmt: Executable, params: dict[str, Any] | None = None) -> Sequence[Row]:
    """The rows of a Core SELECT run on the session's connection, in its transaction, fetched at
    once: the ORM's result handling doubles the cost of reading thousands of rows (30,000 members:
    93 ms against 50), and iterating a result fetches row by row (psycopg's fetchone, ~6 µs a row).
    What the session holds unwritten is flushed first, as `session.execute` would."""
    session.flush()
    return session.connection().execute(stmt, params).all()


def among(session: Session, column: ColumnElement[int], ids: Sequence[int]) -> ColumnElement[bool]:
    """`column IN ids` as one array parameter on PostgreSQL (`= ANY(:ids)`): an IN list of a
    thousand ids is a statement text of its own for every length, rendered and parsed anew each
    time; SQLite gets the IN list."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=postgresql.ARRAY(Integer)))
    return column.in_(ids)


def among_wanted(dialect: str, column: ColumnElement[int], name: str) -> ColumnElement[bool]:
    """`column IN :name` for a statement built once, the ids given at execution: one array
    parameter on PostgreSQL (`= ANY(:name)`), an expanding IN list on SQLite (see `among`)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(Integer)))
    return column.in_(bindparam(name, expanding=True))


def next_id(dialect: str, table: Table) -> ColumnElement[int]:
    """The id the next row of `table` will take on the database `dialect` (its name), as an
    expression to select with another query (so a reply can name a record before it is written).
    PostgreSQL draws it from the sequence; SQLite takes max + 1, safe because a transaction that
    writes after reading holds the write lock."""
    if dialect == "postgresql":
        return func.nextval(func.pg_get_serial_sequence(table.name, "id"))
    return select(func.coalesce(func.max(table.c.id), 0) + 1).scalar_subquery()
