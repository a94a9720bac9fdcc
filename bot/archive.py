"""The duty archive (一人一档): every file members sent with their notes in a span, arranged by
liaison group and member, in a folder or a .zip, each attachment once.

Names inside say what each file is: `第一联络组/张三/2026-11-23_#12_调研报告_关于……的调研报告.pdf`.
Withdrawn notes are left out; a file missing from `files.dir` is reported, not invented.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.messages import SUBMISSION_KINDS
from bot.periods import Period
from bot.quotas import period_bounds
from models import Attachment, LiaisonGroup, Member, Submission

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass
class Archived:
    path: Path
    written: list[str] = field(default_factory=list)  # names inside the archive
    missing: list[str] = field(default_factory=list)  # attachments whose bytes are not in files.dir


def _safe(part: str) -> str:
    return _UNSAFE.sub("_", part).strip(" .") or "_"


def _rows(session: Session, span: Period, settings: Settings, group_name: str | None):
    start, end = period_bounds(span, settings.tz)
    stmt = (
        select(Attachment, Submission, Member.name, LiaisonGroup.name)
        .join(Submission, Submission.id == Attachment.submission_id)
        .join(Member, Member.id == Submission.member_id)
        .outerjoin(LiaisonGroup, LiaisonGroup.id == Submission.group_id)
        .where(
            Submission.submitted_at >= start,
            Submission.submitted_at < end,
            Submission.status != "withdrawn",
        )
        .order_by(LiaisonGroup.name, Member.name, Submission.submitted_at, Attachment.id)
    )
    if group_name:
        stmt = stmt.where(LiaisonGroup.name == group_name)
    return session.execute(stmt).all()


def _names(rows, settings: Settings) -> list[tuple[str, Attachment]]:
    """Each attachment with its unique name inside the archive."""
    taken: set[str] = set()
    named = []
    for attachment, submission, member, group in rows:
        day = submission.submitted_at.astimezone(settings.tz).date().isoformat()
        kind = SUBMISSION_KINDS.get(submission.kind, submission.kind)
        base = f"{_safe(group or '未分组')}/{_safe(member)}/{day}_#{submission.id}_{kind}_{_safe(attachment.name)}"
        name = base if base not in taken else f"{base}_{attachment.id}"
        taken.add(name)
        named.append((name, attachment))
    return named


def write_archive(
    session: Session, settings: Settings, span: Period, group_name: str | None, dest: Path
) -> Archived:
    """Copy the span's attachments into `dest`: a .zip (written aside, then renamed into place) or a folder."""
    named = _names(_rows(session, span, settings, group_name), settings)
    root = Path(settings.files.dir)
    done = Archived(dest)
    present = []
    for name, attachment in named:
        source = root / attachment.storage_path
        if source.is_file():
            present.append((name, source))
        else:
            done.missing.append(name)
    if dest.suffix.lower() == ".zip":
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".archive-", suffix=".zip")
        os.close(fd)
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
            for name, source in present:
                out.write(source, name)
        os.replace(tmp, dest)
    else:
        for name, source in present:
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    done.written = [name for name, _ in present]
    return done
