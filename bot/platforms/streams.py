"""Every configured long connection in one process (`python app.py stream`, or beside `serve`):
the DingTalk Stream client and the WeCom smart bot's long connection share one event loop and one
single-process lock, so no two processes receive, and no two WeCom connections displace each other.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, text

from bot import locks

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)


class AlreadyRunning(RuntimeError):
    """Another process already holds the long connections for this database."""


class SingleProcessLock:
    """One long-connection process per database: DingTalk spreads frames over every open connection
    of an app (a second client would only split the traffic), and a second WeCom connection of the
    same bot displaces the first (disconnected_event), so the two would take it in turns.

    PostgreSQL: a session advisory lock held on a dedicated connection (released if the process
    dies). SQLite: an OS file lock next to the database file (the database is local anyway).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._file: Any = None

    def acquire(self) -> None:
        if self._engine.dialect.name == "postgresql":
            conn = self._engine.connect()
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": locks.LONG_CONNECTIONS}
            ).scalar()
            conn.commit()  # the lock is session-level: it outlives this transaction
            if not got:
                conn.close()
                raise AlreadyRunning(
                    "长连接（钉钉 Stream / 企业微信智能机器人）已在另一个进程中运行（PostgreSQL advisory lock 已被占用）。"
                )
            self._conn = conn
            return
        database = self._engine.url.database
        if self._engine.dialect.name != "sqlite" or not database or database == ":memory:":
            log.warning("no single-process guard for %s; run one stream process only", self._engine.url)
            return
        path = Path(f"{database}.long-connections.lock")
        handle = path.open("a+b")
        try:
            _lock_file(handle)
        except OSError:
            handle.close()
            raise AlreadyRunning(
                f"长连接（钉钉 Stream / 企业微信智能机器人）已在另一个进程中运行（{path} 已被锁定）。"
            ) from None
        self._file = handle

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": locks.LONG_CONNECTIONS})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
        if self._file is not None:
            self._file.close()  # closing the descriptor drops the OS lock
            self._file = None


def _lock_file(handle: Any) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def connections(runtime: Runtime, *, serving: bool = False) -> list[Any]:
    """The long connections the settings configure: DingTalk Stream (with `serve` only when
    `dingtalk.stream` is true: it can receive over HTTP instead) and the WeCom smart bot's."""
    found: list[Any] = []
    settings = runtime.settings
    if settings.dingtalk.enabled and (settings.dingtalk.stream or not serving):
        from bot.platforms.dingtalk.stream import StreamClient

        found.append(StreamClient(runtime))
    if settings.wecom.long_connection_enabled:
        from bot.platforms.wecom.longconn import LongConnection

        found.append(LongConnection(runtime))
    return found


async def _run(clients: list[Any]) -> None:
    await asyncio.gather(*(client.start() for client in clients))


def run_all(runtime: Runtime, clients: list[Any]) -> None:
    """Blocking: hold the single-process lock and run `clients` until each stops (SIGINT/SIGTERM in
    the main thread stop them all); AlreadyRunning if another process holds the lock."""
    lock = SingleProcessLock(runtime.engine)
    lock.acquire()
    try:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: [client.stop() for client in clients])
        asyncio.run(_run(clients))
    finally:
        lock.release()


def start_in_background(runtime: Runtime) -> list[Any]:
    """For `serve`: the configured long connections in a daemon thread, unless another process has them."""
    clients = connections(runtime, serving=True)
    if not clients:
        return []
    lock = SingleProcessLock(runtime.engine)
    try:
        lock.acquire()
    except AlreadyRunning as err:
        log.warning("%s This process serves HTTP only.", err)
        return []

    def _thread() -> None:
        try:
            asyncio.run(_run(clients))
        finally:
            lock.release()

    threading.Thread(target=_thread, name="long-connections", daemon=True).start()
    return clients
