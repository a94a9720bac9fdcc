"""A county IT person's first hour, as README.md tells it: the sample roster imported, the piped
chat example, a multi-line note typed in a group's chat, an export at a chosen moment. The
commands are read from the README itself, so the test fails when the README and the bot part."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine, select

from models import Member, Submission
from tests.conftest import ROOT

SECTION = ("## 不接企业微信/钉钉，先在本机试用", "看机器人如何理解一句话")


def readme_commands() -> list[str]:
    """The shell commands of the README's try-it section: each line of its bash blocks (a line
    ending with a backslash joined to the next), then the export written inline."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION[0]) : text.index(SECTION[1])]
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S):
        commands += [c.strip() for c in block.replace("\\\n", " ").splitlines() if c.strip()]
    commands += re.findall(r"`(python3 app\.py export [^`]+)`", section)
    return commands


COMMANDS = readme_commands()


@pytest.fixture(scope="module")
def office(tmp_path_factory) -> Path:
    """A directory as the office has it after install: config.yaml and the examples, no data yet."""
    where = tmp_path_factory.mktemp("office")
    shutil.copy(ROOT / "config.yaml", where / "config.yaml")
    shutil.copytree(ROOT / "examples", where / "examples")
    return where


def run(command: str, cwd: Path) -> str:
    """One README command in a shell, with this interpreter and this checkout's app.py."""
    line = command.replace("python3 app.py", f"{sys.executable} {ROOT / 'app.py'}")
    done = subprocess.run(["bash", "-c", line], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (command, done.stdout, done.stderr)
    return done.stdout


def test_the_readme_shows_the_commands_this_test_plays():
    assert [c.split(" app.py ")[1].split()[0] for c in COMMANDS if " app.py " in c] == [
        "import-roster",
        "chat",
        "chat",
        "export",
    ]
    assert sum("examples/花名册示例.xlsx" in c for c in COMMANDS) == 1


def test_the_readme_example_works_straight_after_install(office):
    imported, piped, group, export = COMMANDS

    first = run(imported, office)
    assert "新增 9 人" in first and "第一联络组、第二联络组" in first
    assert "新增 0 人" in run(imported, office)  # importing twice changes nothing

    said = run(piped, office).splitlines()
    assert said[0].startswith("已发布活动#1：12月3日（周四） 09:00 视察")
    assert any(line.startswith("已提交请假#1：12月3日") and "单位开会" in line for line in said)
    assert any(line.startswith("  → 已通知：张三请假#1") for line in said)  # told to the leader
    assert any(line.startswith("已同意张三的请假#1") for line in said)
    assert any(line.startswith("第一联络组") for line in said)  # 本组情况

    said = run(group, office).splitlines()
    assert said[0].startswith("已收到社情民意《关于老旧小区加装电梯的建议》")
    assert said[1] == "（机器人没有回复）"  # 收到, in a group: chatter, no answer
    engine = create_engine(f"sqlite:///{office / 'data' / 'bot.db'}")
    with engine.connect() as conn:
        title, content = conn.execute(select(Submission.title, Submission.content)).one()
    engine.dispose()
    assert title == "关于老旧小区加装电梯的建议"
    assert content == "很多老人住六楼，上下楼困难，建议简化审批。"  # the line after the backslash

    assert "已导出" in run(export, office)
    sheet = load_workbook(office / "第四季度.xlsx")["第一联络组"]
    rows = {
        r[0]: dict(zip([c.value for c in sheet[1]], r, strict=False))
        for r in sheet.iter_rows(2, values_only=True)
    }
    # At --now 2026-12-04 the 3 December inspection is past: 张三 excused, the other two absent.
    assert rows["张三"]["请假"] == 1 and rows["张三"]["缺席"] == 0
    assert rows["李四"]["缺席"] == 1 and rows["赵六"]["缺席"] == 1


def test_the_sample_roster_as_csv_holds_the_same_people(tmp_path):
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    assert "新增 9 人" in run("python3 app.py import-roster examples/花名册示例.csv", tmp_path)
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'bot.db'}")
    with engine.connect() as conn:
        people = set(conn.execute(select(Member.name, Member.role)))
    engine.dispose()
    leaders = {name for name, role in people if role == "leader"}
    assert leaders == {"王组长", "孙组长", "郑九"} and ("陈主任", "admin") in people and len(people) == 9


def test_the_yearly_checklist_says_how_to_check_next_years_holidays_and_its_command_runs(tmp_path):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    yearly = text[text.index("## 每年要做的事") : text.index("## 生产部署")]
    for needed in ("extra_holidays", "extra_workdays", "春节", "元旦（1月1日）", "chinese-calendar"):
        assert needed in yearly, needed
    (command,) = set(re.findall(r"`(python3 app\.py holidays --year \d{4})`", yearly))
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    out = run(command, tmp_path)
    assert "放假（工作日休息）" in out and "调休上班（周末上班）" in out
