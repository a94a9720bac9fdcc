"""The daily backup and the ledger of backups.

Each tick of the scheduler asks `run_daily`: from `backup.time` on, the day's archive is made once —
the day's `backup_run` row, unique per day, is the claim, so a second scheduler or a restarted one
finds the day taken — then old archives are pruned. A failed backup, and days that went by without
one (the scheduler was not running), are told to the office admins through the outbox; `python
app.py backup --list` reads the same rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import backup, outbox
from bot.config import Settings
from models import BackupRun

log = logging.getLogger(__name__)

DAILY = "daily"  # the label of the scheduler's archives, the only ones retention deletes
# A run still 'running' this long after it started was left by a process that died mid-backup;
# the next tick takes the day over.
STALE_RUN = dt.timedelta(hours=1)
LOOKBACK_DAYS = 31  # how far back days without a backup are looked for


@dataclass(frozen=True)
class DailyOutcome:
    """What one tick's daily backup did."""

    day: dt.date
    archive: backup.Archive | None  # None: it failed
    error: str | None = None
    pruned: tuple[Path, ...] = ()
    told: int = 0  # messages to the admins put into the outbox


def run_daily(
    engine: Engine, sessions: sessionmaker[Session], settings: Settings, now: dt.datetime
) -> DailyOutcome | None:
    """The day's backup when it is due at `now` and no process has made or begun it; None otherwise."""
    cfg = settings.backup
    now = now.astimezone(settings.tz)
    if not cfg.enabled or now.time() < cfg.time:
        return None
    day = now.date()
    run_id = _claim(sessions, day, now)
    if run_id is None:
        return None
    try:
        archive = backup.create(
            engine,
            Path(cfg.dir),
            now=now,
            exports_dir=Path(settings.exports.dir),
            files_dir=Path(settings.files.dir),
            label=DAILY,
        )
    except Exception as err:  # whatever stops a backup, a bug too, must reach the admins, not only the log
        log.exception("daily backup of %s failed", day)
        return _failed(sessions, run_id, day, now, reason(err))
    try:
        pruned = tuple(
            backup.prune(Path(cfg.dir), DAILY, keep_daily=cfg.keep_daily, keep_monthly=cfg.keep_monthly)
        )
    except OSError:
        log.warning("pruning old backups in %s failed; they stay", cfg.dir, exc_info=True)
        pruned = ()
    with sessions.begin() as session:
        _finish(session, run_id, now, archive)
        told = _tell_missing(session, day, now, archive)
    log.info("daily backup %s (%d bytes); pruned %d", archive.path, archive.size, len(pruned))
    return DailyOutcome(day, archive, None, pruned, told)


def _claim(sessions: sessionmaker[Session], day: dt.date, now: dt.datetime) -> int | None:
    """The id of the day's run, now ours to make; None when another run has it (done, failed, or
    running and alive). The unique index on (day) of daily runs decides between racing processes."""
    with sessions() as session:
        taken = session.scalar(
            select(BackupRun.status).where(BackupRun.kind == DAILY, BackupRun.day == day)
        )  # a cheap look first: a failed INSERT a minute would fill the server's log
    if taken is None:
        try:
            with sessions.begin() as session:
                run = BackupRun(kind=DAILY, day=day, status="running", attempts=1, started_at=now)
                session.add(run)
                session.flush()
                return run.id
        except IntegrityError:
            return None  # another process inserted it between our look and our insert
    if taken != "running":
        return None
    with sessions.begin() as session:
        stale = (
            BackupRun.kind == DAILY,
            BackupRun.day == day,
            BackupRun.status == "running",
            BackupRun.started_at < now - STALE_RUN,
        )
        run_id = session.scalar(select(BackupRun.id).where(*stale))
        took = session.execute(
            update(BackupRun)
            .where(*stale)
            .values(started_at=now, attempts=BackupRun.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
    return run_id if took == 1 else None


def _finish(session: Session, run_id: int, now: dt.datetime, archive: backup.Archive) -> None:
    run = session.get(BackupRun, run_id)
    run.status, run.finished_at = "done", now
    run.archive, run.size_bytes, run.detail = str(archive.path), archive.size, archive.manifest.summary()


def _failed(
    sessions: sessionmaker[Session], run_id: int, day: dt.date, now: dt.datetime, why: str
) -> DailyOutcome:
    with sessions.begin() as session:
        run = session.get(BackupRun, run_id)
        run.status, run.finished_at, run.detail = "failed", now, why
        text = (
            f"【备份失败】{_date(day)}的自动备份没有完成：{why}。今天还没有新的备份；"
            "请检查后在服务器上运行 python3 app.py backup 手动备份（python3 app.py backup --list 查看备份记录）。"
        )
        told = outbox.enqueue_to_admins(session, f"backup:failed:{run_id}:{run.attempts}", text, now)
        told += _tell_missing(session, day, now, None)
    return DailyOutcome(day, None, why, (), told)


def reason(err: Exception) -> str:
    """Why a backup failed, in a line for the admin: our own message, the system's for a file
    error (disk full, no permission), and for anything else only its kind (the log has the rest)."""
    if isinstance(err, backup.BackupError):
        return str(err)
    if isinstance(err, OSError):
        where = f"（{err.filename}）" if err.filename else ""
        return f"{err.strerror or type(err).__name__}{where}"
    return f"程序错误 {type(err).__name__}（详见日志）"


def missing_days(session: Session, today: dt.date) -> list[dt.date]:
    """Days before `today`, since the last successful daily backup, with no daily backup made or
    tried: the scheduler was not running, or died mid-backup (a failure was told when it happened)."""
    rows = session.execute(
        select(BackupRun.day, BackupRun.status).where(
            BackupRun.kind == DAILY,
            BackupRun.day >= today - dt.timedelta(days=LOOKBACK_DAYS),
            BackupRun.day < today,
        )
    ).all()
    done = [day for day, status in rows if status == "done"]
    if not done:
        return []  # none yet (a new installation), or every one failed and was told
    failed = {day for day, status in rows if status == "failed"}
    last = max(done)
    days = (last + dt.timedelta(days=i) for i in range(1, (today - last).days))
    return [day for day in days if day not in failed]


def _tell_missing(session: Session, day: dt.date, now: dt.datetime, archive: backup.Archive | None) -> int:
    missing = missing_days(session, day)
    if not missing:
        return 0
    today = f"今天的备份已完成：{archive.path}" if archive else "今天的备份也没有完成"
    text = (
        f"【备份提醒】{_dates(missing)}没有自动备份（当时调度器没有运行），{today}。"
        "请确认 python3 app.py scheduler（或 python3 app.py）一直在运行。"
    )
    return outbox.enqueue_to_admins(session, f"backup:missing:{day.isoformat()}", text, now)


def _date(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


def _dates(days: list[dt.date]) -> str:
    if len(days) > 3:
        return f"{_date(days[0])}至{_date(days[-1])}共{len(days)}天"
    return "、".join(_date(d) for d in days)


# -- outside the schedule, for the CLI ------------------------------------------------------------------

MANUAL = "manual"
KIND_WORDS = {DAILY: "自动", MANUAL: "手动", "pre-upgrade": "升级前"}
STATUS_WORDS = {"done": "成功", "failed": "失败", "running": "进行中或中断"}


def has_ledger(engine: Engine) -> bool:
    """Is the ledger table there (a database not yet migrated to it can still be backed up)?"""
    return inspect(engine).has_table(BackupRun.__tablename__)


def run_manual(
    engine: Engine,
    sessions: sessionmaker[Session],
    settings: Settings,
    now: dt.datetime,
    dest_dir: Path | None = None,
) -> backup.Archive:
    """`python app.py backup`: an archive now, into `dest_dir` (default backup.dir), recorded in the
    ledger (when the database has one) made or failed; a failure raises BackupError with the reason."""
    ledger = has_ledger(engine)
    try:
        archive = backup.create(
            engine,
            dest_dir or Path(settings.backup.dir),
            now=now,
            exports_dir=Path(settings.exports.dir),
            files_dir=Path(settings.files.dir),
        )
    except (backup.BackupError, OSError) as err:
        why = reason(err)
        if ledger:
            with sessions.begin() as session:
                session.add(_manual_run(now, "failed", detail=why))
        raise backup.BackupError(why) from err
    if ledger:
        with sessions.begin() as session:
            session.add(
                _manual_run(
                    now,
                    "done",
                    archive=str(archive.path),
                    size_bytes=archive.size,
                    detail=archive.manifest.summary(),
                )
            )
    return archive


def _manual_run(now: dt.datetime, status: str, **fields) -> BackupRun:
    return BackupRun(
        kind=MANUAL, day=now.date(), status=status, attempts=1, started_at=now, finished_at=now, **fields
    )


@dataclass(frozen=True)
class Listed:
    """One line of `python app.py backup --list`."""

    at: dt.datetime  # local time
    kind: str  # 自动 / 手动 / 升级前 / 文件
    status: str  # 成功 / 失败 / 进行中或中断 / 在目录中
    what: str  # the archive (and whether it is still there), or why the backup failed


def listing(
    engine: Engine, sessions: sessionmaker[Session], settings: Settings, now: dt.datetime, limit: int = 30
) -> tuple[list[Listed], list[dt.date]]:
    """The ledger's newest runs, then the archives in backup.dir it does not list (made before an
    upgrade, or copied there), and the days missing a daily backup."""
    runs: list[BackupRun] = []
    missing: list[dt.date] = []
    if has_ledger(engine):
        with sessions() as session:
            runs = list(
                session.scalars(
                    select(BackupRun).order_by(BackupRun.started_at.desc(), BackupRun.id.desc()).limit(limit)
                )
            )
            missing = missing_days(session, now.astimezone(settings.tz).date())
    lines = [_run_line(r, settings.tz) for r in runs]
    known = {r.archive for r in runs}
    for label, at, path in backup.archives(Path(settings.backup.dir)):
        if str(path) not in known:
            size = backup.size_text(path.stat().st_size)
            lines.append(Listed(at, KIND_WORDS.get(label, "文件"), "在目录中", f"{path}（{size}）"))
    return lines, missing


def _run_line(run: BackupRun, tz: dt.tzinfo) -> Listed:
    if run.status == "done" and run.archive:
        gone = "" if Path(run.archive).exists() else "（文件已不在：已按保留期删除或被移走）"
        what = f"{run.archive}{gone}"
    else:
        what = run.detail or ""
    status = STATUS_WORDS.get(run.status, run.status)
    return Listed(run.started_at.astimezone(tz), KIND_WORDS.get(run.kind, run.kind), status, what)
