"""Roster import (花名册) from .xlsx or .csv, all or nothing, idempotent; and chat bindings from config.

Columns: 姓名, 联络组, 角色, 手机, 企业微信账号, 钉钉账号, under the headings county rosters use
(身份, 组别, 联系电话, …), below any title rows. A member is keyed by mobile, so importing the same
file twice changes nothing; members absent from the file are left as they are. What the import
cannot be sure of is said, never guessed silently: a file without a role column keeps everyone's
role, two people of one name are named, a group name one character away from another is refused
until confirmed, and 第1联络组 is 第一联络组.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Settings
from models import ChatBinding, LiaisonGroup, Member

if TYPE_CHECKING:
    from bot.descriptor import PlatformDescriptor

COLUMNS = ("姓名", "联络组", "角色", "手机", "企业微信账号", "钉钉账号")
REQUIRED = ("姓名", "手机")
# The headings county rosters use for our columns; only those that cannot mean anything else.
HEADINGS = {
    **{c: c for c in COLUMNS},
    "身份": "角色",
    "组别": "联络组",
    "所在联络组": "联络组",
    "所属联络组": "联络组",
    "手机号": "手机",
    "手机号码": "手机",
    "联系电话": "手机",
    "企业微信": "企业微信账号",
    "钉钉": "钉钉账号",
}
# 职务 is most often the member's job title (县医院副院长): the role only when every value is a role.
_JOB_TITLE = "职务"
_HEADER_SEARCH = 10  # title rows (XX县政协第一联络组委员名单) sit above the header, never this many
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
    role: str | None  # None: the file has no role column (an existing member keeps theirs)
    mobile: str
    wecom_userid: str | None
    dingtalk_userid: str | None


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    groups_created: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # imported, but the office should look

    def summary(self) -> str:
        parts = [f"新增 {len(self.created)} 人", f"更新 {len(self.updated)} 人", f"未变 {self.unchanged} 人"]
        if self.groups_created:
            parts.append(f"新建联络组 {len(self.groups_created)} 个（{'、'.join(self.groups_created)}）")
        return "\n".join(["花名册导入完成：" + "，".join(parts), *(f"注意：{w}" for w in self.warnings)])


@dataclass(frozen=True)
class Sheet:
    """The file's data rows as (line number, {column: text}), and what its header said."""

    rows: list[tuple[int, dict[str, str]]]
    has_role: bool
    unused: list[str]  # headings read as none of our columns (序号, 性别, 职务 as a job title…)

    def warnings(self) -> list[str]:
        unused = f"未使用的列：{'、'.join(self.unused)}" if self.unused else ""
        if self.has_role:
            return [unused] if unused else []
        return [
            "文件没有“角色”列（组长/委员/管理员）：新增的人都记为委员，已有的人角色不变"
            + (f"；{unused}" if unused else "")
            + "。要设组长、管理员，请加一列“角色”再导入。"
        ]


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


def read_rows(path: Path) -> Sheet:
    """The file's data rows below its header (found below any title rows), blank rows left out."""
    table = _read_table(path)
    if not any(any(row) for row in table):
        raise RosterError([f"{path.name}: 文件是空的"])
    at = _header_line(table)
    headings = [_heading(c) for c in table[at]]
    header = _columns(headings)
    missing = [c for c in REQUIRED if c not in header.values()]
    if missing:
        raise RosterError([f"第{at + 1}行（表头）缺少列：{'、'.join(missing)}；应为：{'、'.join(COLUMNS)}"])
    data = [(n, values) for n, values in enumerate(table[at + 1 :], start=at + 2) if any(values)]
    job = headings.index(_JOB_TITLE) if _JOB_TITLE in headings else None
    if "角色" not in header.values() and job is not None and _all_roles(job, data):
        header[job] = "角色"
    rows = [(n, {c: values[i] if i < len(values) else "" for i, c in header.items()}) for n, values in data]
    unused = [table[at][i] for i, h in enumerate(headings) if h and i not in header]
    return Sheet(rows, "角色" in header.values(), unused)


def _heading(cell: str) -> str:
    """A heading as written (姓 名, 手机号码*, 联系电话\n(手机)) reduced to its words."""
    return re.sub(r"[\s*＊:：]|[(（][^)）]*[)）]$", "", unicodedata.normalize("NFKC", cell))


def _header_line(table: list[list[str]]) -> int:
    """The index of the header row: the first with a 姓名 heading (title rows above it skipped), else
    the first with any heading we know, else the first row written in (its missing columns are named)."""
    top = table[:_HEADER_SEARCH]
    for known in (lambda h: h == "姓名", lambda h: h is not None):
        for i, row in enumerate(top):
            if any(known(HEADINGS.get(_heading(c))) for c in row):
                return i
    return next(i for i, row in enumerate(table) if any(row))


def _columns(headings: list[str]) -> dict[int, str]:
    """Cell index -> our column, for the headings we read (the first of each, if one repeats)."""
    found: dict[int, str] = {}
    for i, heading in enumerate(headings):
        column = HEADINGS.get(heading)
        if column and column not in found.values():
            found[i] = column
    return found


def _all_roles(index: int, data: list[tuple[int, list[str]]]) -> bool:
    """Whether column `index` (职务) holds roles only: 组长/委员/… in every row that fills it."""
    values = [v[index] for _n, v in data if index < len(v) and v[index]]
    return bool(values) and all(_role_of(v) is not None for v in values)


def _role_of(word: str) -> str | None:
    return _ROLE_WORDS.get(word.lower() if word.isascii() else word)


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
    role_word = r.get("角色")
    role = _role_of(role_word) if role_word is not None else None
    if role_word is not None and role is None:
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
        role=role,
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


def import_roster(
    session: Session, path: Path, now: dt.datetime, new_groups: Iterable[str] = ()
) -> ImportReport:
    """Import the whole file or nothing: raises RosterError listing every bad row. `new_groups` are
    the group names the office confirmed as new although one character away from another."""
    sheet = read_rows(Path(path))
    good, problems = validate(sheet.rows)
    if problems:
        raise RosterError(problems)
    members = {m.mobile: m for m in session.scalars(select(Member))}
    groups = {g.name: g for g in session.scalars(select(LiaisonGroup))}
    problems = _taken_ids(good, members) + _similar_groups(good, list(groups), new_groups)
    if problems:
        raise RosterError(problems)
    report = _apply(session, good, members, groups, now)
    report.warnings[:0] = sheet.warnings()
    report.warnings += _namesakes(session, {row.name for row in good})
    return report


_NUMBERS = "零一二三四五六七八九"
_NUMERALS = frozenset("零〇一二三四五六七八九十百两")


def _chinese_number(n: int) -> str:
    """11 -> 十一, 20 -> 二十: as group names write their numbers (up to 99; larger stay digits)."""
    if n < 10:
        return _NUMBERS[n]
    if n < 100:
        tens = "" if n < 20 else _NUMBERS[n // 10]
        return tens + "十" + (_NUMBERS[n % 10] if n % 10 else "")
    return str(n)


def group_key(name: str) -> str:
    """How two spellings of one group compare: 第1联络组, 第 一 联络组 and 第一联络组 are one."""
    text = re.sub(r"\s", "", unicodedata.normalize("NFKC", name))
    return re.sub(r"\d+", lambda m: _chinese_number(int(m[0])), text)


def _one_apart(a: str, b: str) -> bool:
    """One character changed, added or dropped, and not a numeral (第一/第二联络组 are two groups)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
        return len(diff) == 1 and not ({*diff[0]} & _NUMERALS)
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    i = next((i for i, (x, y) in enumerate(zip(shorter, longer, strict=False)) if x != y), len(shorter))
    return longer[:i] + longer[i + 1 :] == shorter and longer[i] not in _NUMERALS


def _similar_groups(good: list[RosterRow], existing: list[str], confirmed: Iterable[str]) -> list[str]:
    """A new group one character away from an existing one (or one earlier in the file), unless
    confirmed: most often a typo that would split a group in two."""
    known = {group_key(name): name for name in existing}
    ok = {group_key(name) for name in confirmed}
    problems = []
    for row in good:
        key = group_key(row.group) if row.group else None
        if key is None or key in known:
            continue
        near = next((name for k, name in known.items() if _one_apart(key, k)), None)
        if near is not None and key not in ok:
            where = "已有的" if near in existing else "文件里的"
            problems.append(
                f"第{row.line}行（{row.name}）：联络组“{row.group}”与{where}“{near}”只差一个字，没有新建。"
                f"若确是另一个联络组，请加 --new-group {row.group} 重新导入；否则请改正组名"
            )
        known[key] = row.group
    return problems


def _namesakes(session: Session, names: set[str]) -> list[str]:
    """Each name of the file that two or more people of the roster bear, with who they are."""
    shared = set(session.scalars(select(Member.name).group_by(Member.name).having(func.count() > 1))) & names
    if not shared:
        return []
    people: dict[str, list[Member]] = defaultdict(list)
    for m in session.scalars(select(Member).where(Member.name.in_(shared)).order_by(Member.id)):
        people[m.name].append(m)
    return [
        f"{name}有{len(ms)}位同名："
        + "、".join(f"{m.group.name if m.group else '县政协办公室'}手机尾号{m.mobile[-4:]}" for m in ms)
        + f"；在群里点名（同意 {name}、{name}的履职）时机器人会问是哪一位"
        for name, ms in people.items()
    ]


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
    session: Session,
    good: list[RosterRow],
    members: dict[str, Member],
    groups: dict[str, LiaisonGroup],
    now: dt.datetime,
) -> ImportReport:
    """Create the missing groups and members, update the changed ones; `members` is keyed by mobile."""
    report = ImportReport()
    by_key = {group_key(g.name): g for g in groups.values()}
    for row in good:
        group = _group_for(session, row, by_key, report, now) if row.group else None
        wanted = _wanted(row, group)
        member = members.get(row.mobile)
        if member is None:
            member = Member(mobile=row.mobile, created_at=now, updated_at=now, active=True, **wanted)
            member.role = member.role or "member"
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
        # A file without a role column keeps the role a member has; an empty id cell keeps an id the
        # member bound in chat.
        **({"role": row.role} if row.role else {}),
        **{column: value for column, value in ids.items() if value},
    }


def _group_for(
    session: Session, row: RosterRow, by_key: dict[str, LiaisonGroup], report: ImportReport, now: dt.datetime
) -> LiaisonGroup:
    """The group named in a row (第1联络组 finds 第一联络组), created (and flushed, for its id) the
    first time it appears."""
    name = row.group or ""
    group = by_key.get(group_key(name))
    if group is None:
        group = LiaisonGroup(name=name, created_at=now)
        session.add(group)
        session.flush()
        by_key[group_key(name)] = group
        report.groups_created.append(name)
    elif group.name != name:
        said = f"“{name}”按“{group.name}”导入（同一个联络组）"
        if said not in report.warnings:
            report.warnings.append(f"第{row.line}行起{said}")
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
