"""Roster import (花名册) from .xlsx or .csv, all or nothing, idempotent; and chat bindings from config.

Columns: 姓名, 联络组, 角色, 手机, 企业微信账号, 钉钉账号. A member is keyed by mobile, so
importing the same file twice changes nothing; members absent from the file are left as they are.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings
from models import ChatBinding, LiaisonGroup, Member

if TYPE_CHECKING:
    from bot.descriptor import PlatformDescriptor

COLUMNS = ("姓名", "联络组", "角色", "手机", "企业微信账号", "钉钉账号")
REQUIRED = ("姓名", "手机")
_ROLE_WORDS = {
    "": "member",
    "委员": "member",
    "成员": "member",
    "member": "member",
    "组长": "leader",
    "副组长": "leader",
    "联络员": "leader",
    "leader": "leader",
    "管理员": "admin",
    "办公室": "admin",
    "admin": "admin",
}
_MOBILE = re.compile(r"^1\d{10}$")


class RosterError(Exception):
    """The file cannot be imported; `problems` lists each bad row by line number."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class RosterRow:
    line: int
    name: str
    group: str | None
    role: str
    mobile: str
    wecom_userid: str | None
    dingtalk_userid: str | None


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    groups_created: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"新增 {len(self.created)} 人", f"更新 {len(self.updated)} 人", f"未变 {self.unchanged} 人"]
        if self.groups_created:
            parts.append(f"新建联络组 {len(self.groups_created)} 个（{'、'.join(self.groups_created)}）")
        return "花名册导入完成：" + "，".join(parts)


def normalize_mobile(value: str) -> str:
    digits = re.sub(r"[\s\-()（）]", "", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():  # Excel stores 13800001234 as a float
        value = int(value)
    return str(value).strip().replace("\u3000", " ").strip()


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """The file's data rows as (line number, {column: text}); the header is line 1."""
    table = _read_table(path)
    if not table:
        raise RosterError([f"{path.name}: 文件是空的"])
    header = table[0]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise RosterError([f"第1行（表头）缺少列：{'、'.join(missing)}；应为：{'、'.join(COLUMNS)}"])
    index = {name: header.index(name) for name in COLUMNS if name in header}
    rows = []
    for n, values in enumerate(table[1:], start=2):
        if not any(values):
            continue
        rows.append((n, {c: values[i] if i < len(values) else "" for c, i in index.items()}))
    return rows


def _read_table(path: Path) -> list[list[str]]:
    """Every row of the .xlsx's first sheet or of the .csv, as cleaned cell texts."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        table = [[_cell(c) for c in row] for row in wb.active.iter_rows(values_only=True)]
        wb.close()
        return table
    if suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise RosterError([f"{path.name}: 无法识别文件编码（请另存为 UTF-8 的 CSV）"])
        return [[_cell(c) for c in row] for row in csv.reader(io.StringIO(text))]
    raise RosterError([f"{path.name}: 只支持 .xlsx 或 .csv 文件"])


def validate(rows: list[tuple[int, dict[str, str]]]) -> tuple[list[RosterRow], list[str]]:
    """The rows that can be imported, and a line-numbered problem for each that cannot."""
    good: list[RosterRow] = []
    problems: list[str] = []
    seen: dict[str, dict[str, int]] = {"手机": {}, "企业微信账号": {}, "钉钉账号": {}}
    for line, r in rows:
        row, errs = _check_row(line, r)
        errs += _repeats(line, r, seen)
        if errs:
            problems.append(f"第{line}行（{r.get('姓名', '') or '无名'}）：" + "；".join(errs))
        elif row is not None:
            good.append(row)
    return good, problems


def _check_row(line: int, r: dict[str, str]) -> tuple[RosterRow | None, list[str]]:
    """The row read on its own: the member it describes, or what is wrong with it."""
    errs = []
    name = r.get("姓名", "")
    if not name:
        errs.append("姓名为空")
    elif len(name) > 32:
        errs.append("姓名过长")
    role_word = r.get("角色", "")
    role = _ROLE_WORDS.get(role_word.lower() if role_word.isascii() else role_word)
    if role is None:
        errs.append(f"角色“{role_word}”无法识别（委员/组长/联络员/管理员）")
    group = r.get("联络组", "") or None
    if group is None and role != "admin":
        errs.append("联络组为空（只有管理员可以不属于联络组）")
    mobile = normalize_mobile(r.get("手机", ""))
    if not _MOBILE.match(mobile):
        errs.append(f"手机号“{r.get('手机', '')}”不是11位手机号")
    if errs:
        return None, errs
    row = RosterRow(
        line=line,
        name=name,
        group=group,
        role=role or "member",
        mobile=mobile,
        wecom_userid=r.get("企业微信账号") or None,
        dingtalk_userid=r.get("钉钉账号") or None,
    )
    return row, []


def _repeats(line: int, r: dict[str, str], seen: dict[str, dict[str, int]]) -> list[str]:
    """The mobile or platform ids an earlier line of the file already used (recording this line's)."""
    errs = []
    for col, value in (
        ("手机", normalize_mobile(r.get("手机", ""))),
        ("企业微信账号", r.get("企业微信账号", "")),
        ("钉钉账号", r.get("钉钉账号", "")),
    ):
        if value and value in seen[col]:
            errs.append(f"{col} {value} 与第{seen[col][value]}行重复")
        elif value:
            seen[col][value] = line
    return errs


def import_roster(session: Session, path: Path, now: dt.datetime) -> ImportReport:
    """Import the whole file or nothing: raises RosterError listing every bad row."""
    good, problems = validate(read_rows(Path(path)))
    if problems:
        raise RosterError(problems)
    members = {m.mobile: m for m in session.scalars(select(Member))}
    problems = _taken_ids(good, members)
    if problems:
        raise RosterError(problems)
    return _apply(session, good, members, now)


def _taken_ids(good: list[RosterRow], members: dict[str, Member]) -> list[str]:
    """Rows whose platform id already belongs to another member (by mobile) in the database."""
    by_wecom = {m.wecom_userid: m for m in members.values() if m.wecom_userid}
    by_ding = {m.dingtalk_userid: m for m in members.values() if m.dingtalk_userid}
    problems = []
    for row in good:
        for value, index, col in (
            (row.wecom_userid, by_wecom, "企业微信账号"),
            (row.dingtalk_userid, by_ding, "钉钉账号"),
        ):
            other = index.get(value) if value else None
            if other is not None and other.mobile != row.mobile:
                problems.append(f"第{row.line}行（{row.name}）：{col} {value} 已属于 {other.name}")
    return problems


def _apply(
    session: Session, good: list[RosterRow], members: dict[str, Member], now: dt.datetime
) -> ImportReport:
    """Create the missing groups and members, update the changed ones; `members` is keyed by mobile."""
    groups = {g.name: g for g in session.scalars(select(LiaisonGroup))}
    report = ImportReport()
    for row in good:
        group = _group_for(session, row.group, groups, report, now) if row.group else None
        wanted = _wanted(row, group)
        member = members.get(row.mobile)
        if member is None:
            member = Member(mobile=row.mobile, created_at=now, updated_at=now, active=True, **wanted)
            session.add(member)
            members[row.mobile] = member
            report.created.append(row.name)
            continue
        changed = {k: v for k, v in wanted.items() if getattr(member, k) != v}
        for k, v in changed.items():
            setattr(member, k, v)
        if changed:
            member.updated_at = now
            report.updated.append(row.name)
        else:
            report.unchanged += 1
    session.flush()
    return report


def _wanted(row: RosterRow, group: LiaisonGroup | None) -> dict[str, object]:
    """The member's columns as the row gives them."""
    ids = {"wecom_userid": row.wecom_userid, "dingtalk_userid": row.dingtalk_userid}
    return {
        "name": row.name,
        "group_id": group.id if group else None,
        "role": row.role,
        # An empty id cell keeps an id the member bound in chat.
        **{column: value for column, value in ids.items() if value},
    }


def _group_for(
    session: Session, name: str, groups: dict[str, LiaisonGroup], report: ImportReport, now: dt.datetime
) -> LiaisonGroup:
    """The group named in a row, created (and flushed, for its id) the first time it appears."""
    group = groups.get(name)
    if group is None:
        group = LiaisonGroup(name=name, created_at=now)
        session.add(group)
        session.flush()
        groups[name] = group
        report.groups_created.append(name)
    return group


def sync_chat_bindings(session: Session, settings: Settings, platforms: Iterable[PlatformDescriptor]) -> None:
    """Make the database's chat bindings match config.yaml's `groups` (for groups that exist), on
    each of `platforms` that names a chat for the group."""
    groups = {g.name: g.id for g in session.scalars(select(LiaisonGroup))}
    existing = {(b.platform, b.chat_id): b for b in session.scalars(select(ChatBinding))}
    for binding in settings.groups:
        group_id = groups.get(binding.name)
        if group_id is None:
            continue
        for platform in platforms:
            chat_id = platform.group_chat_id(binding)
            if not chat_id:
                continue
            row = existing.get((platform.family, chat_id))
            if row is None:
                session.add(ChatBinding(group_id=group_id, platform=platform.family, chat_id=chat_id))
            elif row.group_id != group_id:
                row.group_id = group_id
