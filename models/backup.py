"""The backup ledger: one row per backup the bot made or tried, so that "the day's backup is made
once" and "which backups failed" are facts in the database, not in a process's memory."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

BACKUP_KINDS = ("daily", "manual")  # made by the scheduler at backup.time, or by `python app.py backup`
BACKUP_STATUSES = ("running", "done", "failed")


class BackupRun(Base):
    """A backup made (`done`, with its archive), being made (`running`) or failed (`failed`, with why)."""

    __tablename__ = "backup_run"
    __table_args__ = (
        # The scheduler claims a day by inserting its row: a second process, or the same one after a
        # restart, finds the day taken.
        Index(
            "uq_backup_run_one_daily_per_day",
            "day",
            unique=True,
            sqlite_where=text("kind = 'daily'"),
            postgresql_where=text("kind = 'daily'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # BACKUP_KINDS
    day: Mapped[dt.date] = mapped_column(Date)  # the local date the backup belongs to
    status: Mapped[str] = mapped_column(String(12), default="running")  # BACKUP_STATUSES
    attempts: Mapped[int] = mapped_column(Integer, default=1)  # >1: taken over from a process that died
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    archive: Mapped[str | None] = mapped_column(String(500))  # the .tar.gz made
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str | None] = mapped_column(Text)  # why it failed, or what the archive holds
