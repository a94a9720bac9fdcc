"""Backup archives as an office relies on them: a consistent copy while members write, restored on
a fresh database (SQLite, or PostgreSQL with TEST_DATABASE_URL) to the same rows and the same
export, a damaged archive refused with a clear message, retention by day and month."""

from __future__ import annotations

import io
import json
import tarfile
import threading
import time
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import exists, func, select

from bot import backup
from bot.export import period_for, write_file
from bot.messages import Incoming
from bot.runtime import schema_is_current, upgrade_schema
from models import InboundMessage, Member, Submission, make_engine, make_session_factory
from tests import test_export
from tests.conftest import NOW

year_of_records = test_export.year_of_records  # a fixture: a few months of records


@pytest.fixture
def scratch_url(engine, tmp_path):
    """A database of the test database's kind with nothing in it, dropped afterwards."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"{engine.url.database}_restore"
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield engine.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def scratch(scratch_url):
    eng = make_engine(scratch_url)
    yield eng
    eng.dispose()


@pytest.fixture
def exports(tmp_path) -> Path:
    """An exports directory with a file in a subfolder."""
    root = tmp_path / "exports"
    (root / "2026").mkdir(parents=True)
    (root / "2026" / "履职档案_全县_2026年.xlsx").write_bytes(b"PK\x03\x04 an exported workbook")
    return root


def _message(i: int) -> Incoming:
    return Incoming(
        platform="console",
        chat_id=None,
        sender_id="张三",
        sender_name="张三",
        text=f"社情民意：关于第{i}处路灯的建议。晚上太黑，第{i}处需要修。",
        msg_id=f"w{i}",
        sent_at=NOW,
        is_group=False,
    )


def _notes_and_orphans(eng) -> tuple[int, int, int]:
    """(notes received, notes without their submission, submissions) in a database."""
    has_record = exists().where(Submission.source_message_id == InboundMessage.id)
    with eng.connect() as conn:
        notes = conn.scalar(select(func.count()).where(InboundMessage.intent == "opinion"))
        orphans = conn.scalar(select(func.count()).where(InboundMessage.intent == "opinion", ~has_record))
        return notes, orphans, conn.scalar(select(func.count()).select_from(Submission))


def test_a_backup_taken_while_members_write_holds_every_message_with_its_records(
    runtime, roster, tmp_path, scratch
):
    stop = threading.Event()
    written: list[int] = []

    def member_keeps_writing() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            runtime.pipeline.handle(_message(i), NOW)  # the message and its submission: one transaction
            written.append(i)

    def wait_for(n: int) -> None:
        deadline = time.monotonic() + 30
        while len(written) < n and time.monotonic() < deadline:
            time.sleep(0.01)

    writer = threading.Thread(target=member_keeps_writing)
    writer.start()
    made = []
    try:
        for _ in range(3):
            wait_for(len(written) + 3)
            made.append(backup.create(runtime.engine, tmp_path / "b", now=NOW, exports_dir=None))
        wait_for(len(written) + 3)
    finally:
        stop.set()
        writer.join()
    held = []
    for archive in made:
        manifest = backup.verify(archive.path)
        backup.restore(scratch, archive.path, exports_dir=None, force=True)
        notes, orphans, submissions = _notes_and_orphans(scratch)
        assert orphans == 0 and notes == submissions == manifest.tables["submission"] > 0
        held.append(notes)
    # Each copy caught the writer mid-way: later copies hold more, none holds everything.
    assert held == sorted(held) and held[0] < held[-1] < len(written)
    assert _notes_and_orphans(runtime.engine) == (len(written), 0, len(written))


def _workbook(session_factory, settings, out: Path) -> dict[str, list[list]]:
    with session_factory() as session:
        write_file(session, settings, period_for(2026), None, NOW, out)
    wb = openpyxl.load_workbook(out)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def test_restored_on_a_fresh_database_the_record_has_the_same_rows_and_the_same_export(
    runtime,
    year_of_records,
    settings,
    exports,
    tmp_path,
    scratch,
):
    kept = tmp_path / "files" / "ab" / ("ab" * 32)  # a member's PDF, as bot/files.py stores it
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"%PDF-1.7 a report")
    archive = backup.create(
        runtime.engine, tmp_path / "b", now=NOW, exports_dir=exports, files_dir=tmp_path / "files"
    )
    assert archive.path.name == "lvzhi-backup-20261123-100000.tar.gz"
    assert archive.manifest.attachments == [f"files/ab/{'ab' * 32}"]
    manifest = archive.manifest
    assert manifest.database == runtime.engine.dialect.name and manifest.revision is not None
    assert manifest.tables == backup.row_counts(runtime.engine) and manifest.tables["submission"] == 4
    assert manifest.exports == ["exports/2026/履职档案_全县_2026年.xlsx"]

    restored_exports = tmp_path / "new-pc" / "exports"
    backup.restore(
        scratch, archive.path, exports_dir=restored_exports, files_dir=tmp_path / "new-pc" / "files"
    )
    assert (tmp_path / "new-pc" / "files" / "ab" / ("ab" * 32)).read_bytes() == b"%PDF-1.7 a report"
    upgrade_schema(scratch)
    assert schema_is_current(scratch)
    assert backup.row_counts(scratch) == backup.row_counts(runtime.engine)
    before = _workbook(runtime.sessions, settings, tmp_path / "before.xlsx")
    after = _workbook(make_session_factory(scratch), settings, tmp_path / "after.xlsx")
    assert after == before and len(before["提交明细"]) == 5
    copied = restored_exports / "2026" / "履职档案_全县_2026年.xlsx"
    assert copied.read_bytes() == (exports / "2026" / "履职档案_全县_2026年.xlsx").read_bytes()

    # The new database takes new records after the restored ones (sequences came along).
    with make_session_factory(scratch).begin() as s:
        s.add(
            Submission(
                member_id=roster_id(s, "张三"), kind="opinion", title="新", content="新", submitted_at=NOW
            )
        )
    assert backup.row_counts(scratch)["submission"] == 5


def roster_id(session, name: str) -> int:
    return session.scalar(select(Member.id).where(Member.name == name))


def test_restore_refuses_a_database_that_already_holds_records_unless_forced(
    runtime, roster, tmp_path, scratch
):
    archive = backup.create(runtime.engine, tmp_path, now=NOW, exports_dir=None)
    backup.restore(scratch, archive.path, exports_dir=None)
    with pytest.raises(backup.BackupError, match="目标数据库里已有记录.*--force"):
        backup.restore(scratch, archive.path, exports_dir=None)
    assert backup.restore(scratch, archive.path, exports_dir=None, force=True).tables == backup.row_counts(
        scratch
    )


# -- damaged archives --------------------------------------------------------------------------


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def _pack(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _edit_manifest(members: dict[str, bytes], change) -> dict[str, bytes]:
    data = json.loads(members["manifest.json"])
    change(data)
    return {**members, "manifest.json": json.dumps(data).encode()}


def _flip_a_byte(path: Path, out: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    out.write_bytes(bytes(data))
    return out


def _count_one_more(data: dict) -> None:
    data["tables"]["member"] += 1


DAMAGE = {
    "a flipped byte": (lambda src, out: _flip_a_byte(src, out), "已损坏"),
    "no manifest": (
        lambda src, out: _pack(out, {n: d for n, d in _members(src).items() if n != "manifest.json"}),
        "没有清单 manifest.json",
    ),
    "a count that is not the copy's": (
        lambda src, out: _pack(out, _edit_manifest(_members(src), _count_one_more)),
        "member：清单 8，实际 7",
    ),
    "an export changed after the fact": (
        lambda src, out: _pack(out, {**_members(src), "exports/2026/履职档案_全县_2026年.xlsx": b"other"}),
        "校验和与清单不符",
    ),
    "a file the manifest does not list": (
        lambda src, out: _pack(out, {**_members(src), "exports/extra.txt": b"x"}),
        "清单没有列出的文件 exports/extra.txt",
    ),
    "a truncated file": (
        lambda src, out: out.write_bytes(src.read_bytes()[: src.stat().st_size // 2]) and out,
        "已损坏",
    ),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_archive_is_refused_with_a_clear_message(
    damage, runtime, roster, exports, tmp_path, scratch
):
    good = backup.create(runtime.engine, tmp_path / "b", now=NOW, exports_dir=exports).path
    spoil, message = DAMAGE[damage]
    bad = spoil(good, tmp_path / "bad.tar.gz")
    with pytest.raises(backup.DamagedArchive, match=message):
        backup.verify(bad)
    with pytest.raises(backup.DamagedArchive, match=message):
        backup.restore(scratch, bad, exports_dir=tmp_path / "restored")
    assert backup.row_counts(scratch) == {} and not (tmp_path / "restored").exists()  # untouched


def test_an_archive_of_the_other_kind_of_database_is_refused(engine, tmp_path, scratch):
    if engine.dialect.name == "sqlite":  # a PostgreSQL dump, as pg_dump ends one
        dump = b"COPY public.alembic_version (version_num) FROM stdin;\n0008\n\\.\n\n-- PostgreSQL database dump complete\n"
        (tmp_path / "database.sql").write_bytes(dump)
        files = {"database.sql": backup._sha256(tmp_path / "database.sql")}
        manifest = backup.Manifest(NOW, "postgresql", "0008", {"alembic_version": 1}, files)
        members = {"manifest.json": manifest.to_json().encode(), "database.sql": dump}
        refusal = "PostgreSQL 数据库的备份，不能恢复到 SQLite"
    else:
        sqlite = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
        upgrade_schema(sqlite)
        members = _members(backup.create(sqlite, tmp_path / "o", now=NOW, exports_dir=None).path)
        sqlite.dispose()
        refusal = "SQLite 数据库的备份，不能恢复到 PostgreSQL"
    archive = _pack(tmp_path / "other.tar.gz", members)
    backup.verify(archive)
    with pytest.raises(backup.BackupError, match=refusal):
        backup.restore(scratch, archive, exports_dir=None)


def test_without_pg_dump_a_postgresql_backup_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    pg = make_engine("postgresql+psycopg://lvzhi:secret@127.0.0.1:1/lvzhi")  # never connected to
    with pytest.raises(backup.BackupError, match="找不到 pg_dump.*postgresql-client"):
        backup.create(pg, tmp_path / "b", now=NOW, exports_dir=None)
    assert list((tmp_path / "b").iterdir()) == []  # nothing half-written left behind


# -- the daily backup --------------------------------------------------------------------------


def test_retention_keeps_the_newest_of_each_recent_day_and_of_each_recent_month():
    names = [f"lvzhi-daily-2026{m:02d}{d:02d}-030000.tar.gz" for m in range(1, 13) for d in (1, 15, 28)]
    names.append("lvzhi-daily-20261228-120000.tar.gz")  # a second one on the 28th, later that day
    kept = set(names) - set(backup.expired(names, keep_daily=3, keep_monthly=4))
    assert kept == {
        "lvzhi-daily-20261228-120000.tar.gz",  # the last three days, the newest of each
        "lvzhi-daily-20261215-030000.tar.gz",
        "lvzhi-daily-20261201-030000.tar.gz",
        "lvzhi-daily-20261128-030000.tar.gz",  # and the newest of each of the last four months
        "lvzhi-daily-20261028-030000.tar.gz",
        "lvzhi-daily-20260928-030000.tar.gz",
    }
