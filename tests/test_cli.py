"""The command line as an office uses it: parse prints JSON, chat reads piped lines,
import-roster reports bad rows, init-db creates the schema, the server answers /healthz."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT

KEYS = ["intent", "date", "time", "kind", "title", "content", "reason", "target"]


def run(*args, config=None, stdin=None, timeout=120):
    cmd = [sys.executable, "app.py"] + (["--config", str(config)] if config else []) + list(args)
    return subprocess.run(cmd, cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=timeout)


PARSE_CASES = [
    ("签到", {"intent": "checkin", "date": "2026-11-23"}),
    (
        "请假 下周三的座谈会 单位开会",
        {"intent": "leave", "date": "2026-12-02", "kind": "meeting", "reason": "单位开会"},
    ),
    (
        "发布活动 12月3日上午9点 视察 城区污水处理厂",
        {"intent": "announce", "date": "2026-12-03", "time": "09:00", "kind": "inspection"},
    ),
    ("同意 #3", {"intent": "approve", "target": "3"}),
    ("收到", {"intent": "unknown", "date": None}),
]


def test_parse_prints_exactly_the_documented_json_in_a_fresh_process(sqlite_config):
    # One real process: stdout holds the JSON object and nothing else (jionlp's banner included).
    proc = run("parse", "请假 下个月3号的调研", "--now", "2026-11-23T10:00", config=sqlite_config)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert list(data) == KEYS
    assert (data["intent"], data["date"], data["kind"]) == ("leave", "2026-12-03", "research")


@pytest.mark.parametrize("text, expected", PARSE_CASES)
def test_parse_prints_exactly_the_documented_json(text, expected, sqlite_config):
    from click.testing import CliRunner

    from app import cli

    result = CliRunner().invoke(
        cli, ["--config", str(sqlite_config), "parse", text, "--now", "2026-11-23T10:00"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == KEYS
    assert {k: data[k] for k in expected} == expected


def test_parse_rejects_a_bad_now(sqlite_config):
    proc = run("parse", "签到", "--now", "yesterday", config=sqlite_config)
    assert proc.returncode == 2
    assert "ISO 8601" in proc.stderr


def test_chat_refuses_a_name_not_on_the_roster(sqlite_config):
    proc = run("chat", "--as", "路人甲", config=sqlite_config, stdin="签到\n")
    assert proc.returncode == 1
    assert "花名册" in proc.stderr


def test_import_roster_reports_bad_rows_and_exits_1(tmp_path, sqlite_config):
    path = tmp_path / "r.csv"
    path.write_text("姓名,联络组,角色,手机\n张三,第一联络组,委员,123\n", encoding="utf-8")
    proc = run("import-roster", str(path), config=sqlite_config)
    assert proc.returncode == 1
    assert "第2行（张三）" in proc.stderr and "未导入任何数据" in proc.stderr


def test_init_db_creates_the_schema_and_is_repeatable(sqlite_config, tmp_path):
    for _ in range(2):
        proc = run("init-db", config=sqlite_config)
        assert proc.returncode == 0, proc.stderr
    import sqlite3

    con = sqlite3.connect(tmp_path / "bot.db")
    tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    assert {"member", "activity", "checkin", "leave_request", "submission", "inbound_message"} <= tables


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_healthz_and_unconfigured_platforms_are_404(sqlite_config):
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "app.py",
            "--config",
            str(sqlite_config),
            "serve",
            "--port",
            str(port),
            "--no-scheduler",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert json.loads(r.read()) == {"status": "ok"}
                    break
            except OSError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        for path in ("/wecom/bot", "/wecom/app", "/dingtalk/robot"):
            req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=b"{}", method="POST")
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(req, timeout=5)
            assert err.value.code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=10)


EVERY_INTENT = {
    "签到": "checkin",
    "社情民意：关于路灯的建议。晚上路灯不亮": "opinion",
    "意见建议：关于公交线路": "suggestion",
    "调研报告：乡村振兴调研": "report",
    "为民办实事：修好了村口的桥": "project",
    "提案：关于加强养老服务的提案": "proposal",
    "请假 明天的视察 家里有事": "leave",
    "发布活动 12月3日上午9点 视察 城区污水处理厂": "announce",
    "同意 张三": "approve",
    "驳回 #4 活动重要": "reject",
    "本组情况": "status",
    "我的履职": "my",
    "绑定 张三 13800001234": "bind",
    "帮助": "help",
    "👍": "unknown",
}


@pytest.mark.parametrize("text, intent", EVERY_INTENT.items())
def test_parse_command_prints_the_json_of_every_intent(text, intent, sqlite_config):
    from click.testing import CliRunner

    from app import cli

    result = CliRunner().invoke(
        cli, ["--config", str(sqlite_config), "parse", text, "--now", "2026-11-23T10:00"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == KEYS
    assert data["intent"] == intent
