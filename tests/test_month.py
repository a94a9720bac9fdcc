"""A whole month played on the console, the way an office would try the bot:
import a roster of two groups, announce, check in, ask and approve leave, send notes,
and the leader's status shows exactly who is behind; the database holds exactly that."""

import subprocess
import sys

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from models import Activity, CheckIn, InboundMessage, LeaveRequest, Member, Submission
from tests.conftest import ROOT

ROSTER = """姓名,联络组,角色,手机,企业微信账号,钉钉账号
王组长,第一联络组,组长,13900000001,wang,
张三,第一联络组,委员,13800000001,,
李四,第一联络组,委员,13800000002,,
赵六,第一联络组,委员,13800000003,,
孙组长,第二联络组,组长,13900000002,,
周七,第二联络组,委员,13800000004,,
"""

SCENES = [
    (
        "王组长",
        "2026-11-02T09:00",
        [
            "发布活动 11月5日上午9点 视察 城区污水处理厂",
            "/as 张三",
            "请假 11月5日的视察 单位开会",
            "/as 王组长",
            "同意 张三",
        ],
    ),
    ("李四", "2026-11-05T09:30", ["签到", "/as 赵六", "签到", "签到"]),
    (
        "李四",
        "2026-11-10T10:00",
        [
            "社情民意：关于城区路灯的建议。晚上很多路灯不亮。",
            "/as 张三",
            "@履职助手 意见建议：关于增加公交线路的建议",
            "/as 周七",
            "社情民意：关于菜市场秩序",
            "收到",
        ],
    ),
    ("王组长", "2026-11-20T10:00", ["本组情况", "谁还没交社情民意", "/as 张三", "本组情况"]),
]


@pytest.fixture
def office(tmp_path, sqlite_config):
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    return tmp_path, sqlite_config, f"sqlite:///{tmp_path / 'bot.db'}"


def app(config, *args, stdin=None):
    proc = subprocess.run(
        [sys.executable, "app.py", "--config", str(config), *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_a_scripted_month_on_the_console(office):
    tmp, config, url = office
    assert app(config, "import-roster", str(tmp / "roster.csv")) == [
        "花名册导入完成：新增 6 人，更新 0 人，未变 0 人，新建联络组 2 个（第一联络组、第二联络组）"
    ]
    out = []
    for speaker, now, lines in SCENES:
        out += app(config, "chat", "--as", speaker, "--now", now, stdin="\n".join(lines) + "\n")
    text = "\n".join(out)

    assert "已发布活动#1：11月5日（周四） 09:00 视察 城区污水处理厂" in text
    assert "已提交请假#1：11月5日（周四）" in text and "等待组长审批" in text
    assert "已同意张三的请假#1" in text
    assert text.count("签到成功") == 2 and text.count("您已签到过了") == 1
    assert "已收到社情民意《关于城区路灯的建议》（11月10日）" in text
    assert "已收到意见建议《关于增加公交线路的建议》（11月10日）" in text
    status = out[out.index("第一联络组履职情况（截至11月20日）：") :]
    assert status[1:7] == [
        "✅ 社情民意信息 本月 1/1",
        "✅ 意见建议 本季度 1/1",
        "❌ 集体活动 本季度 0/1（截止12月31日）",
        "✅ 视察活动 本季度 1/1",
        "❌ 调研报告 下半年 0/1（截止12月20日）",
        "❌ 为民办实事 今年 0/1（截止12月20日）",
    ]
    assert "本月还没交社情民意的：张三、赵六（共2人）" in out
    # 张三 asking 本组情况: his own record, then what the group still owes (no one named)
    assert out[-1].startswith("本组还差：") and "张三的履职记录（截至11月20日）：" in out

    engine = create_engine(url)
    with Session(engine) as s:
        names = {m.id: m.name for m in s.scalars(select(Member))}
        activities = s.scalars(select(Activity)).all()
        assert [(a.kind, a.date.isoformat(), a.time.isoformat(), a.place) for a in activities] == [
            ("inspection", "2026-11-05", "09:00:00", "城区污水处理厂")
        ]
        assert sorted(names[c.member_id] for c in s.scalars(select(CheckIn))) == ["李四", "赵六"]
        leave = s.scalars(select(LeaveRequest)).one()
        assert (names[leave.member_id], leave.status, names[leave.decided_by_id], leave.reason) == (
            "张三",
            "approved",
            "王组长",
            "单位开会",
        )
        subs = s.scalars(select(Submission).order_by(Submission.id)).all()
        assert [(names[x.member_id], x.kind, x.title) for x in subs] == [
            ("李四", "opinion", "关于城区路灯的建议"),
            ("张三", "suggestion", "关于增加公交线路的建议"),
            ("周七", "opinion", "关于菜市场秩序"),
        ]
        # every line typed to the bot is logged once, chatter included
        typed = [line for _, _, lines in SCENES for line in lines if not line.startswith("/as")]
        assert len(s.scalars(select(InboundMessage)).all()) == len(typed) == 13
        assert all(x.source_message_id for x in subs)
    engine.dispose()
