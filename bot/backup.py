"""Backups of the duty record: one dated .tar.gz holding a consistent copy of the database, the
files of the exports directory, and a manifest (rows per table, the schema revision, a SHA-256 of
every file) by which `verify` and `restore` tell a sound archive from a damaged one.

SQLite is copied through its online backup API (a file copy of a live database can be torn),
PostgreSQL through `pg_dump` (and restored through `psql`). Clock-free: the caller passes `now`.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, func, inspect, literal, select, table, union_all

__all__ = [
    "BOOKKEEPING",
    "Archive",
    "BackupError",
    "DamagedArchive",
    "Manifest",
    "archives",
    "create",
    "expired",
    "holds_data",
    "prune",
    "restore",
    "row_counts",
    "size_text",
    "verify",
]

FORMAT = 1  # of the manifest; a newer program may read older archives, never the other way
MANIFEST = "manifest.json"
EXPORTS = "exports"
FILES = "files"  # members' files and pictures (files.dir), content-addressed
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.sql"}
KIND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# The bot's own bookkeeping, not the record: a database holding rows only here counts as empty.
BOOKKEEPING = frozenset({"alembic_version", "scheduler_lock", "backup_run"})
ARCHIVE_NAME = re.compile(r"^lvzhi-(?P<label>[a-z]+(?:-[a-z]+)*)-(?P<stamp>\d{8}-\d{6})(?:-\d+)?\.tar\.gz$")
_DUMP_COMPLETE = "-- PostgreSQL database dump complete"
_COPY = re.compile(r'^COPY (?:"?[^".\s]+"?\.)?"?(?P<table>[^"\s(]+)"? \(.*\) FROM stdin;$')


class BackupError(Exception):
    """A backup or restore that cannot be done; str() is the line to show the office."""


class DamagedArchive(BackupError):
    """The archive is not sound: unreadable, incomplete, or not what its manifest says."""


@dataclass(frozen=True)
class Manifest:
    """What an archive holds, written when it is made and checked whenever it is read."""

    created_at: dt.datetime
    database: str  # "sqlite" | "postgresql": how the copy was made, and what it restores into
    revision: str | None  # the Alembic revision of the copied schema
    tables: dict[str, int]  # rows per table in the copy
    files: dict[str, str]  # every file in the archive but the manifest -> its SHA-256
    format: int = FORMAT

    @property
    def exports(self) -> list[str]:
        return sorted(name for name in self.files if name.startswith(EXPORTS + "/"))

    @property
    def attachments(self) -> list[str]:
        """Members' files and pictures (an archive made before they were kept has none)."""
        return sorted(name for name in self.files if name.startswith(FILES + "/"))

    def summary(self) -> str:
        rows = sum(n for t, n in self.tables.items() if t not in BOOKKEEPING)
        made = self.created_at.strftime("%Y-%m-%d %H:%M")
        return (
            f"{KIND_NAMES.get(self.database, self.database)}，表结构版本 {self.revision or '无'}，"
            f"{len(self.tables)} 张表 {rows} 行记录，导出文件 {len(self.exports)} 个，"
            f"委员文件 {len(self.attachments)} 个，备份于 {made}"
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": self.format,
                "created_at": self.created_at.isoformat(),
                "database": self.database,
                "revision": self.revision,
                "tables": self.tables,
                "files": self.files,
            },
            ensure_ascii=False,
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            data = json.loads(text)
            manifest = cls(
                created_at=dt.datetime.fromisoformat(data["created_at"]),
                database=str(data["database"]),
                revision=data["revision"],
                tables={str(t): int(n) for t, n in data["tables"].items()},
                files={str(f): str(h) for f, h in data["files"].items()},
                format=int(data["format"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise DamagedArchive("备份里的清单 manifest.json 无法读取：备份已损坏") from None
        if manifest.format > FORMAT:
            raise BackupError(f"这份备份由更新版本的程序制作（格式 {manifest.format}），请先升级本程序再恢复")
        if manifest.database not in DATABASE_FILES:
            raise DamagedArchive(f"清单写的数据库类型 {manifest.database!r} 无法识别：备份已损坏")
        return manifest


@dataclass(frozen=True)
class Archive:
    """A backup written to disk."""

    path: Path
    manifest: Manifest
    size: int


# -- making an archive ---------------------------------------------------------------------------


def create(
    engine: Engine,
    dest_dir: Path,
    *,
    now: dt.datetime,
    exports_dir: Path | None,
    label: str = "backup",
    files_dir: Path | None = None,
) -> Archive:
    """Copy the database of `engine`, the files under `exports_dir` and members' files under
    `files_dir` (the attachments' bytes) into a new archive in
    `dest_dir`, named `lvzhi-<label>-<now as YYYYMMDD-HHMMSS>.tar.gz`. The archive appears whole or
    not at all (written aside, then renamed)."""
    kind = _kind(engine)
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest_dir, prefix=".lvzhi-tmp-") as tmp:
        work = Path(tmp)
        copy = work / DATABASE_FILES[kind]
        _DUMPERS[kind](engine, copy)
        tables, revision = _DESCRIBERS[kind](copy)
        files = {copy.name: _sha256(copy)}
        if exports_dir is not None:
            files |= _copy_exports(exports_dir, work / EXPORTS, skip=dest_dir)
        if files_dir is not None:
            files |= _copy_exports(files_dir, work / FILES, skip=dest_dir, prefix=FILES)
        manifest = Manifest(now, kind, revision, tables, files)
        (work / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        packed = work / "archive.tar.gz"
        with tarfile.open(packed, "w:gz") as tar:
            for name in (MANIFEST, *files):
                tar.add(work / name, arcname=name, recursive=False)
        packed.chmod(0o600)  # names and mobile numbers of every member: the owner's eyes only
        path = _free_name(dest_dir, label, now)
        os.replace(packed, path)
    return Archive(path, manifest, path.stat().st_size)


def _kind(engine: Engine) -> str:
    kind = engine.dialect.name
    if kind not in DATABASE_FILES:
        raise BackupError(f"不支持备份 {kind} 数据库（只支持 SQLite 和 PostgreSQL）")
    return kind


def _free_name(dest_dir: Path, label: str, now: dt.datetime) -> Path:
    stem = f"lvzhi-{label}-{now.strftime('%Y%m%d-%H%M%S')}"
    path, n = dest_dir / f"{stem}.tar.gz", 1
    while path.exists():  # two backups in one second (a manual one beside the daily one)
        n += 1
        path = dest_dir / f"{stem}-{n}.tar.gz"
    return path


def _dump_sqlite(engine: Engine, out: Path) -> None:
    # One backup step over the whole file under one read transaction: a consistent snapshot, while
    # writers carry on (WAL). A stepwise backup would restart on every write and might never end.
    target = sqlite3.connect(out)
    try:
        with engine.connect() as conn:
            conn.connection.driver_connection.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
    finally:
        target.close()


def _dump_postgresql(engine: Engine, out: Path) -> None:
    uri, env = _libpq(engine)
    _run(
        [
            _tool("pg_dump"),
            "--format=plain",
            "--no-owner",  # restorable by another user on another server
            "--no-privileges",
            "--no-comments",  # COMMENT ON SCHEMA public needs its owner
            "--encoding=UTF8",
            "--lock-wait-timeout=120s",
            f"--file={out}",
            f"--dbname={uri}",
        ],
        env,
        "pg_dump",
    )


def _copy_exports(src: Path, dest: Path, *, skip: Path, prefix: str = EXPORTS) -> dict[str, str]:
    """Copy the regular files under `src` (not those under `skip`, the backup directory) into
    `dest`; their names in the archive -> SHA-256 of the copies."""
    if not src.is_dir():
        return {}
    skip = skip.resolve()
    files = {}
    for path in sorted(src.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.resolve().is_relative_to(skip):
            continue
        rel = path.relative_to(src).as_posix()
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        files[f"{prefix}/{rel}"] = _sha256(target)
    return files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- what a copy holds -----------------------------------------------------------------------------


def _describe_sqlite(copy: Path) -> tuple[dict[str, int], str | None]:
    """Rows per table and the schema revision of a SQLite copy, after SQLite's own check of it."""
    con = sqlite3.connect(copy)
    try:
        if con.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise DamagedArchive("备份里的 SQLite 数据库未通过完整性检查：备份已损坏")
        names = [
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        # One count per table: the copy is an arbitrary SQLite file, not the models' tables.
        tables = {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
        revision = (
            con.execute("SELECT version_num FROM alembic_version").fetchone()
            if "alembic_version" in tables
            else None
        )
    except sqlite3.DatabaseError as err:
        raise DamagedArchive(f"备份里的 SQLite 数据库无法读取（{err}）：备份已损坏") from None
    finally:
        con.close()
    return tables, revision[0] if revision else None


def _describe_dump(dump: Path) -> tuple[dict[str, int], str | None]:
    """Rows per table and the schema revision of a plain pg_dump, counted from its COPY blocks (one
    line per row), so that the manifest describes the dump itself, whatever was written meanwhile."""
    tables: dict[str, int] = {}
    revision = current = last = None
    try:
        with dump.open(encoding="utf-8") as f:
            for line in f:
                last = line = line.rstrip("\r\n")
                if current is None:
                    if m := _COPY.match(line):
                        current = m["table"]
                        tables[current] = 0
                elif line == "\\.":
                    current = None
                else:
                    tables[current] += 1
                    if current == "alembic_version":
                        revision = line
    except UnicodeDecodeError:
        raise DamagedArchive("备份里的 PostgreSQL 转储无法读取：备份已损坏") from None
    if current is not None or last is None or not _dump_finished(dump):
        raise DamagedArchive("备份里的 PostgreSQL 转储不完整：备份已损坏")
    return dict(sorted(tables.items())), revision


def _dump_finished(dump: Path) -> bool:
    with dump.open("rb") as f:
        f.seek(max(0, dump.stat().st_size - 4096))
        return _DUMP_COMPLETE.encode() in f.read()


_DUMPERS: dict[str, Callable[[Engine, Path], None]] = {"sqlite": _dump_sqlite, "postgresql": _dump_postgresql}
_DESCRIBERS: dict[str, Callable[[Path], tuple[dict[str, int], str | None]]] = {
    "sqlite": _describe_sqlite,
    "postgresql": _describe_dump,
}


# -- checking and restoring ------------------------------------------------------------------------


def verify(archive: Path) -> Manifest:
    """The manifest of a sound archive; DamagedArchive (or BackupError) says what is wrong."""
    with _opened(archive) as (_work, manifest):
        return manifest


def restore(
    engine: Engine,
    archive: Path,
    *,
    exports_dir: Path | None,
    force: bool = False,
    files_dir: Path | None = None,
) -> Manifest:
    """Load a sound archive into the database of `engine`, which must hold no record unless `force`
    (then everything in it is replaced), its exported files into `exports_dir` and members' files
    into `files_dir`. The schema is
    left at the archive's revision: the caller migrates it to head."""
    with _opened(archive) as (work, manifest):
        kind = _kind(engine)
        if manifest.database != kind:
            raise BackupError(
                f"这是 {KIND_NAMES[manifest.database]} 数据库的备份，不能恢复到 {KIND_NAMES[kind]} 数据库"
                "（config.yaml 的 database_url）"
            )
        present = {t: n for t, n in row_counts(engine).items() if n and t not in BOOKKEEPING}
        if present and not force:
            raise BackupError(
                f"目标数据库里已有记录（{_rows_text(present)}）。恢复会用备份替换其中全部数据；"
                "确认要替换，请加 --force 再运行"
            )
        _LOADERS[kind](engine, work / DATABASE_FILES[kind])
        restored = row_counts(engine)
        if restored != manifest.tables:
            raise BackupError(
                f"恢复后的行数与清单不符（{_difference(manifest.tables, restored)}）：请重新恢复"
            )
        _put_back(work, manifest.exports, EXPORTS, exports_dir)
        _put_back(work, manifest.attachments, FILES, files_dir)
    return manifest


def _put_back(work: Path, names: list[str], prefix: str, directory: Path | None) -> None:
    if directory is None:
        return
    for name in names:
        target = directory / name.removeprefix(prefix + "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(work / name, target)


@contextmanager
def _opened(archive: Path) -> Iterator[tuple[Path, Manifest]]:
    """The archive unpacked into a temporary directory and checked against its manifest."""
    if not archive.is_file():
        raise BackupError(f"找不到备份文件 {archive}")
    _read_through(archive)
    with tempfile.TemporaryDirectory(prefix="lvzhi-restore-") as tmp:
        work = Path(tmp)
        names = _unpack(archive, work)
        if MANIFEST not in names:
            raise DamagedArchive(f"{archive.name} 里没有清单 manifest.json：不是本程序做的备份，或已损坏")
        manifest = Manifest.from_json((work / MANIFEST).read_text(encoding="utf-8", errors="replace"))
        _check_files(work, names - {MANIFEST}, manifest)
        tables, revision = _DESCRIBERS[manifest.database](work / DATABASE_FILES[manifest.database])
        if tables != manifest.tables:
            raise DamagedArchive(
                f"清单的行数与备份里的数据不符（{_difference(manifest.tables, tables)}）：备份已损坏"
            )
        if revision != manifest.revision:
            raise DamagedArchive(
                f"清单的表结构版本 {manifest.revision} 与备份里的 {revision} 不符：备份已损坏"
            )
        yield work, manifest


def _read_through(archive: Path) -> None:
    """Decompress the whole file, so that gzip checks its CRC and length (tar stops reading early)."""
    try:
        with gzip.open(archive, "rb") as f:
            while f.read(1 << 20):
                pass
    except (OSError, EOFError, zlib.error) as err:
        raise DamagedArchive(f"{archive.name} 已损坏，无法解压（{err}）") from None


def _unpack(archive: Path, work: Path) -> set[str]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            odd = [m.name for m in members if not m.isfile()]
            if odd:
                raise DamagedArchive(f"{archive.name} 里有不该有的条目（{odd[0]}）：不是本程序做的备份")
            tar.extractall(work, filter="data")  # refuses absolute paths and ../ escapes
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        raise DamagedArchive(f"{archive.name} 已损坏，无法读取（{err}）") from None
    return {m.name for m in members}


def _check_files(work: Path, present: set[str], manifest: Manifest) -> None:
    listed = set(manifest.files)
    if DATABASE_FILES[manifest.database] not in listed:
        raise DamagedArchive("清单里没有数据库文件：备份已损坏")
    if missing := sorted(listed - present):
        raise DamagedArchive(f"备份里缺少清单列出的文件 {missing[0]}：备份已损坏")
    if extra := sorted(present - listed):
        raise DamagedArchive(f"备份里有清单没有列出的文件 {extra[0]}：备份已损坏")
    for name in sorted(listed):
        if _sha256(work / name) != manifest.files[name]:
            raise DamagedArchive(f"{name} 的校验和与清单不符：备份已损坏")


def _load_sqlite(engine: Engine, copy: Path) -> None:
    engine.dispose()  # no pooled connection keeps pages of the database being replaced
    source = sqlite3.connect(copy)
    try:
        with engine.connect() as conn:
            source.backup(conn.connection.driver_connection)
    finally:
        source.close()
    engine.dispose()


def _load_postgresql(engine: Engine, dump: Path) -> None:
    psql = _tool("psql")
    quote = engine.dialect.identifier_preparer.quote
    drop = dump.with_name("drop-existing.sql")
    drop.write_text(
        "".join(f"DROP TABLE IF EXISTS {quote(n)} CASCADE;\n" for n in inspect(engine).get_table_names()),
        encoding="utf-8",
    )
    engine.dispose()
    uri, env = _libpq(engine)
    # One transaction: the old tables go only if the whole dump loads.
    _run(
        [
            psql,
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "-f",
            str(drop),
            "-f",
            str(dump),
            uri,
        ],
        env,
        "psql",
    )


_LOADERS: dict[str, Callable[[Engine, Path], None]] = {"sqlite": _load_sqlite, "postgresql": _load_postgresql}


def row_counts(bind: Engine | Connection) -> dict[str, int]:
    """Rows per table of the database, every table (the bookkeeping ones too), in one query."""
    names = sorted(inspect(bind).get_table_names())
    if not names:
        return {}
    counts = union_all(*(select(literal(n), func.count()).select_from(table(n)) for n in names))
    with _connection(bind) as conn:
        return {name: n for name, n in conn.execute(counts)}


def holds_data(bind: Engine | Connection) -> bool:
    """Does the database hold any record (rows outside the bot's bookkeeping tables)?"""
    return any(n for t, n in row_counts(bind).items() if t not in BOOKKEEPING)


@contextmanager
def _connection(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect() as conn:
        yield conn


def _rows_text(counts: dict[str, int]) -> str:
    shown = "、".join(f"{t} {n} 行" for t, n in sorted(counts.items())[:4])
    return shown + ("等" if len(counts) > 4 else "")


def _difference(expected: dict[str, int], found: dict[str, int]) -> str:
    wrong = [t for t in sorted(expected.keys() | found.keys()) if expected.get(t) != found.get(t)]
    return "、".join(f"{t}：清单 {expected.get(t, '无')}，实际 {found.get(t, '无')}" for t in wrong[:3])


# -- PostgreSQL client programs --------------------------------------------------------------------


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"找不到 {name}：PostgreSQL 数据库的备份和恢复要用 PostgreSQL 客户端程序 {name}。"
            "请安装与服务器同版本的客户端（Debian/Ubuntu：apt install postgresql-client；"
            "Windows：把 PostgreSQL 安装目录下的 bin 加入 PATH），然后重试"
        )
    return path


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """The connection URI for pg_dump/psql and their environment: the password goes in PGPASSWORD,
    not on the command line, where any local user could read it (ps)."""
    url = engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, errors="replace")
    except OSError as err:
        raise BackupError(f"无法运行 {what}（{err.strerror or err}）") from None
    if done.returncode != 0:
        detail = " ".join(done.stderr.strip().splitlines()[-3:]) or f"退出码 {done.returncode}"
        raise BackupError(f"{what} 失败：{detail[:500]}")


# -- the archives in a directory, and retention -----------------------------------------------------


def archives(directory: Path) -> list[tuple[str, dt.datetime, Path]]:
    """The archives named like ours in `directory`: (label, the time in the name, path), newest first."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        if (m := ARCHIVE_NAME.match(path.name)) and path.is_file():
            found.append((m["label"], dt.datetime.strptime(m["stamp"], "%Y%m%d-%H%M%S"), path))
    return sorted(found, key=lambda a: (a[1], a[2].name), reverse=True)


def expired(names: Iterable[str], *, keep_daily: int, keep_monthly: int) -> list[str]:
    """Which of these archive names retention removes: all but the newest of each of the last
    `keep_daily` days and the newest of each of the last `keep_monthly` months, by the date in the name."""
    stamped = sorted(((m["stamp"], n) for n in names if (m := ARCHIVE_NAME.match(n))), reverse=True)
    days: dict[str, str] = {}
    months: dict[str, str] = {}
    for stamp, name in stamped:  # newest first: the first seen of a day or month is its newest
        if stamp[:8] not in days and len(days) < keep_daily:
            days[stamp[:8]] = name
        if stamp[:6] not in months and len(months) < keep_monthly:
            months[stamp[:6]] = name
    kept = set(days.values()) | set(months.values())
    return [name for _stamp, name in stamped if name not in kept]


def size_text(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


def prune(directory: Path, label: str, *, keep_daily: int, keep_monthly: int) -> list[Path]:
    """Delete the archives of `label` in `directory` that retention no longer keeps; the deleted."""
    paths = {path.name: path for lbl, _at, path in archives(directory) if lbl == label}
    gone = [paths[name] for name in expired(paths, keep_daily=keep_daily, keep_monthly=keep_monthly)]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone
