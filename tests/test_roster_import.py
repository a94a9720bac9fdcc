"""Roster import: .xlsx and .csv, idempotent, all-or-nothing with each bad row named by line."""

import csv

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app import PLATFORMS
from bot.config import settings_from_dict
from bot.roster import COLUMNS, RosterError, import_roster, sync_chat_bindings
from models import ChatBinding, LiaisonGroup, Member
from tests.conftest import NOW, ROSTER

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


# -- the roster as county Excel files really are ------------------------------------------------------


def write_county_xlsx(path, header, rows, title="XX县政协第一联络组委员名单"):
    """A county's sheet: a title merged across the columns, a blank row, then the header."""
    wb = Workbook()
    ws = wb.active
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.append([])
    ws.append(header)
    for r in rows:
        ws.append([int(c) if isinstance(c, str) and c.isdigit() and len(c) == 11 else c for c in r])
    wb.save(path)
    return path


COUNTY_HEADER = ["序号", "姓 名", "性别", "组别", "身份", "手机号码", "职务"]
COUNTY_ROWS = [
    (1, "王组长", "男", "第一联络组", "组长", "13900000001", "县政协常委"),
    (2, "张三", "女", "第一联络组", "委员", "13800000001", "县医院副院长"),
    (),  # a blank row between the groups
    (3, "孙组长", "男", "第二联络组", "联络员", "13900000002", "县教育局局长"),
]


def test_a_title_row_above_the_header_and_blank_rows_are_skipped(runtime, tmp_path):
    path = write_county_xlsx(tmp_path / "county.xlsx", COUNTY_HEADER, COUNTY_ROWS)
    with runtime.sessions.begin() as s:
        report = import_roster(s, path, NOW)
    assert report.created == ["王组长", "张三", "孙组长"]
    assert report.groups_created == ["第一联络组", "第二联络组"]
    with runtime.sessions() as s:
        people = {m.name: (m.role, m.group.name, m.mobile) for m in s.scalars(select(Member))}
    assert people["王组长"] == ("leader", "第一联络组", "13900000001")
    assert people["孙组长"] == ("leader", "第二联络组", "13900000002")
    assert report.warnings == ["未使用的列：序号、性别、职务"]


def test_bad_rows_below_a_title_are_named_by_their_line_in_the_file(runtime, tmp_path):
    rows = [*COUNTY_ROWS, (4, "钱八", "男", "第一联络组", "委员", "12345", "")]  # line 8 of the sheet
    path = write_county_xlsx(tmp_path / "county.xlsx", COUNTY_HEADER, rows)
    with pytest.raises(RosterError) as err, runtime.sessions.begin() as s:
        import_roster(s, path, NOW)
    assert err.value.problems == ["第8行（钱八）：手机号“12345”不是11位手机号"]


def test_a_file_whose_role_column_is_a_job_title_keeps_the_leader_and_says_so(runtime, roster, tmp_path):
    header = ["姓名", "所在联络组", "职务", "联系电话"]
    rows = [
        ("王组长", "第一联络组", "县政协常委、县工商联主席", "13900000001"),
        ("张三", "第一联络组", "县医院副院长", "13800000001"),
        ("新委员", "第一联络组", "城关镇党委书记", "13600000001"),
    ]
    path = write_county_xlsx(tmp_path / "county.xlsx", header, rows)
    with runtime.sessions.begin() as s:
        report = import_roster(s, path, NOW)
    with runtime.sessions() as s:
        roles = {m.name: m.role for m in s.scalars(select(Member))}
    assert (roles["王组长"], roles["张三"], roles["新委员"]) == ("leader", "member", "member")
    assert report.warnings == [
        "文件没有“角色”列（组长/委员/管理员）：新增的人都记为委员，已有的人角色不变；"
        "未使用的列：职务。要设组长、管理员，请加一列“角色”再导入。"
    ]
    assert "注意：文件没有“角色”列" in report.summary()


def test_a_duty_column_holding_roles_is_read_as_the_role(runtime, tmp_path):
    header = ["姓名", "联络组", "职务", "手机"]
    rows = [("王组长", "第一联络组", "组长", "13900000001"), ("张三", "第一联络组", "委员", "13800000001")]
    path = write_csv_with(tmp_path / "r.csv", header, rows)
    with runtime.sessions.begin() as s:
        report = import_roster(s, path, NOW)
    with runtime.sessions() as s:
        assert {m.name: m.role for m in s.scalars(select(Member))} == {"王组长": "leader", "张三": "member"}
    assert report.warnings == []


def write_csv_with(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_two_people_of_one_name_are_imported_with_a_warning_naming_them(runtime, roster, tmp_path):
    rows = [("张三", "第二联络组", "委员", "13800000099", "", "")]  # another 张三, not 13800000001
    with runtime.sessions.begin() as s:
        report = import_roster(s, write_csv(tmp_path / "r.csv", rows), NOW)
    assert report.created == ["张三"]
    assert report.warnings == [
        "张三有2位同名：第一联络组手机尾号0001、第二联络组手机尾号0099；"
        "在群里点名（同意 张三、张三的履职）时机器人会问是哪一位"
    ]


def test_a_group_written_with_arabic_numerals_is_the_same_group(runtime, roster, tmp_path):
    rows = [
        ("新委员", "第1联络组", "委员", "13600000001", "", ""),
        ("又一位", "第 2 联络组", "", "13600000002", "", ""),
    ]
    with runtime.sessions.begin() as s:
        report = import_roster(s, write_csv(tmp_path / "r.csv", rows), NOW)
    assert report.groups_created == []
    with runtime.sessions() as s:
        assert counts(s)[1] == 2
        groups = {m.name: m.group.name for m in s.scalars(select(Member)) if m.group}
    assert (groups["新委员"], groups["又一位"]) == ("第一联络组", "第二联络组")
    assert report.warnings == [
        "第2行起“第1联络组”按“第一联络组”导入（同一个联络组）",
        "第3行起“第 2 联络组”按“第二联络组”导入（同一个联络组）",
    ]


def test_a_group_one_character_away_from_another_is_refused_until_confirmed(runtime, roster, tmp_path):
    rows = [
        ("新委员", "第一联洛组", "委员", "13600000001", "", ""),
        ("又一位", "第十一联络组", "", "13600000002", "", ""),
    ]
    path = write_csv(tmp_path / "r.csv", rows)
    with pytest.raises(RosterError) as err, runtime.sessions.begin() as s:
        import_roster(s, path, NOW)
    assert err.value.problems == [
        "第2行（新委员）：联络组“第一联洛组”与已有的“第一联络组”只差一个字，没有新建。"
        "若确是另一个联络组，请加 --new-group 第一联洛组 重新导入；否则请改正组名"
    ]  # 第十一联络组 differs by a numeral: another group, not a typo
    with runtime.sessions() as s:
        assert counts(s) == (len(ROSTER), 2)
    with runtime.sessions.begin() as s:
        report = import_roster(s, path, NOW, new_groups=["第一联洛组"])
    assert report.groups_created == ["第一联洛组", "第十一联络组"]


def test_cli_import_prints_the_warnings_and_takes_new_group(tmp_path, sqlite_config):
    from tests.test_cli import run

    rows = [
        ("王组长", "第一联络组", "组长", "13900000001", "", ""),
        ("李四", "第一联洛组", "", "13800000002", "", ""),
    ]
    path = write_csv(tmp_path / "r.csv", rows)
    refused = run("import-roster", str(path), config=sqlite_config)
    assert (
        refused.returncode == 1
        and "只差一个字" in refused.stderr
        and "--new-group 第一联洛组" in refused.stderr
    )
    proc = run("import-roster", str(path), "--new-group", "第一联洛组", config=sqlite_config)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("花名册导入完成：新增 2 人")
