"""Roster import: .xlsx and .csv, idempotent, all-or-nothing with each bad row named by line."""

import csv

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app import PLATFORMS
from bot.config import settings_from_dict
from bot.roster import COLUMNS, RosterError, import_roster, sync_chat_bindings
from models import ChatBinding, LiaisonGroup, Member
from tests.conftest import NOW

ROWS = [
    ("王组长", "第一联络组", "组长", "139 0000 0001", "wang", "dt_wang"),
    ("张三", "第一联络组", "委员", "13800000001", "zhangsan", ""),
    ("李四", "第一联络组", "", "+86 138-0000-0002", "", "dt_lisi"),
    ("孙组长", "第二联络组", "联络员", "13900000002", "sun", ""),
    ("陈主任", "", "管理员", "13700000001", "chen", ""),
]


def write_csv(path, rows, encoding="utf-8-sig"):
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows(rows)
    return path


def write_xlsx(path, rows):
    wb = Workbook()
    ws = wb.active
    ws.append(COLUMNS)
    for r in rows:
        ws.append(
            [int(c) if c.isdigit() and len(c) == 11 else c for c in r]
        )  # mobiles as numbers, as Excel keeps them
    wb.save(path)
    return path


def counts(session):
    return (
        session.scalar(select(func.count()).select_from(Member)),
        session.scalar(select(func.count()).select_from(LiaisonGroup)),
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "gbk-csv"])
def test_import_creates_groups_and_members_with_roles_and_ids(runtime, tmp_path, fmt):
    path = {
        "csv": lambda: write_csv(tmp_path / "r.csv", ROWS),
        "gbk-csv": lambda: write_csv(tmp_path / "r.csv", ROWS, encoding="gbk"),
        "xlsx": lambda: write_xlsx(tmp_path / "r.xlsx", ROWS),
    }[fmt]()
    with runtime.sessions.begin() as s:
        report = import_roster(s, path, NOW)
    assert report.created == ["王组长", "张三", "李四", "孙组长", "陈主任"]
    assert report.groups_created == ["第一联络组", "第二联络组"]
    with runtime.sessions() as s:
        people = {m.name: m for m in s.scalars(select(Member))}
        assert people["王组长"].role == "leader" and people["王组长"].mobile == "13900000001"
        assert people["李四"].role == "member" and people["李四"].mobile == "13800000002"
        assert people["李四"].dingtalk_userid == "dt_lisi" and people["李四"].wecom_userid is None
        assert people["孙组长"].role == "leader"
        assert people["陈主任"].role == "admin" and people["陈主任"].group_id is None
        assert people["张三"].group.name == "第一联络组"


def test_importing_the_same_file_twice_changes_nothing(runtime, tmp_path):
    path = write_csv(tmp_path / "r.csv", ROWS)
    with runtime.sessions.begin() as s:
        import_roster(s, path, NOW)
    with runtime.sessions() as s:
        before = [
            (m.id, m.name, m.role, m.group_id, m.updated_at)
            for m in s.scalars(select(Member).order_by(Member.id))
        ]
    with runtime.sessions.begin() as s:
        report = import_roster(s, path, NOW.replace(hour=11))
    assert report.created == [] and report.updated == [] and report.unchanged == len(ROWS)
    with runtime.sessions() as s:
        after = [
            (m.id, m.name, m.role, m.group_id, m.updated_at)
            for m in s.scalars(select(Member).order_by(Member.id))
        ]
    assert before == after


def test_a_changed_row_updates_the_member_keyed_by_mobile(runtime, tmp_path):
    with runtime.sessions.begin() as s:
        import_roster(s, write_csv(tmp_path / "a.csv", ROWS), NOW)
    moved = [r if r[0] != "张三" else ("张三", "第二联络组", "组长", r[3], r[4], r[5]) for r in ROWS]
    with runtime.sessions.begin() as s:
        report = import_roster(s, write_csv(tmp_path / "b.csv", moved), NOW)
    assert report.updated == ["张三"]
    with runtime.sessions() as s:
        z = s.scalars(select(Member).where(Member.name == "张三")).one()
        assert (z.group.name, z.role) == ("第二联络组", "leader")


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(runtime, tmp_path):
    bad = ROWS + [
        ("", "第一联络组", "委员", "13800000009", "", ""),  # line 7: no name
        ("钱八", "第一联络组", "秘书长", "13800000010", "", ""),  # line 8: unknown role
        ("孙九", "第一联络组", "委员", "12345", "", ""),  # line 9: bad mobile
        ("吴十", "第一联络组", "委员", "13800000001", "", ""),  # line 10: mobile of line 3
        ("郑十一", "", "委员", "13800000011", "", ""),  # line 11: no group
    ]
    with pytest.raises(RosterError) as err, runtime.sessions.begin() as s:
        import_roster(s, write_csv(tmp_path / "bad.csv", bad), NOW)
    problems = err.value.problems
    assert [p.split("（")[0] for p in problems] == ["第7行", "第8行", "第9行", "第10行", "第11行"]
    assert "角色“秘书长”无法识别" in problems[1]
    assert "与第3行重复" in problems[3]
    with runtime.sessions() as s:
        assert counts(s) == (0, 0)


def test_a_platform_id_owned_by_another_member_is_refused(runtime, roster, tmp_path):
    rows = [("新委员", "第一联络组", "委员", "13600000000", "zhangsan", "")]
    with pytest.raises(RosterError, match="企业微信账号 zhangsan 已属于 张三"), runtime.sessions.begin() as s:
        import_roster(s, write_csv(tmp_path / "r.csv", rows), NOW)


def test_missing_required_column_names_the_header(runtime, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("名字,联络组\n张三,第一联络组\n", encoding="utf-8")
    with pytest.raises(RosterError, match="第1行（表头）缺少列：姓名、手机"), runtime.sessions.begin() as s:
        import_roster(s, path, NOW)


def test_chat_bindings_follow_config_groups(runtime, roster, config_dict):
    config_dict["groups"] = [
        {
            "name": "第一联络组",
            "wecom": {"chat_id": "wrk-1", "webhook_key": "k1"},
            "dingtalk": {"conversation_id": "cid-1"},
        },
        {"name": "不存在的组", "wecom": {"chat_id": "wrk-x"}},
    ]
    settings = settings_from_dict(config_dict)
    for _ in range(2):  # idempotent
        with runtime.sessions.begin() as s:
            sync_chat_bindings(s, settings, PLATFORMS)
    with runtime.sessions() as s:
        rows = {(b.platform, b.chat_id): b.group.name for b in s.scalars(select(ChatBinding))}
    assert rows[("wecom", "wrk-1")] == "第一联络组"
    assert rows[("dingtalk", "cid-1")] == "第一联络组"
    assert ("wecom", "wrk-x") not in rows
