"""Held-out check of "once per meaning" under real concurrency: gunicorn (2 workers × 4 threads)
serving the WeCom smart-bot callback on a fresh PostgreSQL database, hit over HTTP by threads
released together by a barrier. Different messages (their own msgids) that mean the same thing:

    double tap   2 × 请假 from one member, 9 trials        → one pending request each trial
    sixteen      16 × 请假 from one member                  → one request
    announce     16 × the same 发布活动 from the leader     → one activity
    bind         16 strangers binding as one roster member → one 绑定成功, one binding
    adopt        16 × 采用 #N 市级 from the office          → one audit row, one notice
    note twice   2 × the same note, 9 trials               → one note each trial
    redelivery   one message delivered 4 × at once         → one record, the same answer each time

    python bench/races_gunicorn.py [--db bot_races] [--rounds 1]

Prints one line per scenario (expected, observed, PASS/FAIL) and the load average; exits 1 on any
FAIL. Not part of pytest (it starts servers and takes a minute); tests/test_races.py covers the same
commands in-process on both databases.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import yaml
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import Activity, InboundMessage, LeaveRequest, Member, OutboxMessage, RecordChange, Submission  # noqa: E402
from tests.fakes import wecom_client as wc  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
ROSTER = [
    ("姓名", "联络组", "角色", "手机", "企业微信账号"),
    ("王组长", "第一联络组", "组长", "13900000001", "wang"),
    ("张三", "第一联络组", "委员", "13800000001", "zhangsan"),
    ("李四", "第一联络组", "委员", "13800000002", "lisi"),
    ("赵六", "第一联络组", "委员", "13800000003", ""),
    ("陈主任", "", "管理员", "13700000001", "chen"),
]
_ids = itertools.count()


class Server:
    """gunicorn on a free port with the shipped config pointed at `url` (scheduler off)."""

    def __init__(self, url: str, work: Path) -> None:
        data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
        data.update(database_url=url, wecom={**wc.SMART_BOT}, console={"enabled": False})
        data["scheduler"] = {**data["scheduler"], "enabled": False}
        data["backup"] = {**data.get("backup", {}), "dir": str(work / "backups")}
        self.config = work / "config.yaml"
        self.config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.env = {**os.environ, "BOT_CONFIG": str(self.config), "BOT_BIND": f"127.0.0.1:{self.port}"}
        self.proc: subprocess.Popen | None = None

    def cli(self, *args: str) -> None:
        cmd = [sys.executable, "app.py", "--config", str(self.config), *args]
        subprocess.run(cmd, cwd=ROOT, env=self.env, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        env = {**self.env, "BOT_WORKERS": "2", "BOT_THREADS": "4"}
        cmd = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{self.port}/wecom/bot", timeout=5)
                return
            except requests.RequestException:  # refused, or accepted while the workers still boot
                time.sleep(0.2)
        raise SystemExit("gunicorn did not start within 60 s")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def say(self, userid: str, words: str, msgid: str | None = None) -> str | None:
        path, body = wc.signed(wc.payload(words, msgid or f"h{next(_ids)}", userid, None))
        resp = requests.post(f"http://127.0.0.1:{self.port}{path}", data=body, timeout=20)
        resp.raise_for_status()
        return wc.answer_text(resp.content)

    def at_once(self, said: list[tuple[str, str, str | None]]) -> list[str | None]:
        barrier = threading.Barrier(len(said))

        def one(item: tuple[str, str, str | None]) -> str | None:
            barrier.wait(timeout=30)
            return self.say(*item)

        with concurrent.futures.ThreadPoolExecutor(len(said)) as pool:
            return list(pool.map(one, said, timeout=120))


def count(engine, model, *where) -> int:
    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def scenarios(server: Server, engine) -> list[tuple[str, str, str]]:
    results = []
    server.say("wang", "发布活动 明天上午9点 视察 城区污水处理厂")

    singles = []
    for trial in range(9):
        member = ("zhangsan", "lisi")[trial % 2]
        with engine.begin() as c:  # each trial starts with no request of this member
            c.execute(text("DELETE FROM leave_request"))
        server.at_once([(member, "请假 明天的视察 家里有事", None)] * 2)
        singles.append(count(engine, LeaveRequest))
    results.append(("double tap 请假 ×2, 9 trials", "1 each", " ".join(map(str, singles))))

    with engine.begin() as c:
        c.execute(text("DELETE FROM leave_request"))
    server.at_once([("zhangsan", "请假 明天的视察 家里有事", None)] * 16)
    results.append(("16 × 请假", "1", str(count(engine, LeaveRequest))))

    before = count(engine, Activity)
    server.at_once([("wang", "发布活动 12月28日上午9点 座谈会 县政协三楼", None)] * 16)
    results.append(("16 × the same 发布活动", "1", str(count(engine, Activity) - before)))

    answers = server.at_once([(f"stranger{i}", "绑定 赵六 13800000003", None) for i in range(16)])
    told = sum(bool(a) and a.startswith("绑定成功") for a in answers)
    with engine.connect() as c:
        # the smart bot knows people by its own id column (bot/platforms/wecom: wecom_bot_userid)
        bound = c.execute(select(Member.wecom_bot_userid).where(Member.name == "赵六")).scalar_one()
    results.append(("16 strangers 绑定 赵六", "1 told, bound", f"{told} told, bound={bound is not None}"))

    server.say("zhangsan", "社情民意：城区路灯不亮。晚上出行不便，请有关部门尽快修复。")
    with engine.connect() as c:
        note = c.execute(select(func.max(Submission.id))).scalar_one()
    server.at_once([("chen", f"采用 #{note} 市级", None)] * 16)
    audits = count(engine, RecordChange, RecordChange.field == "adopted_level")
    notices = count(engine, OutboxMessage, OutboxMessage.key.like("journey:%:adopted:%"))
    results.append(("16 × 采用 #N 市级", "1 audit, 1 notice", f"{audits} audit, {notices} notice"))

    twice = []
    for trial in range(9):
        before = count(engine, Submission)
        server.at_once([("lisi", f"社情民意：第{trial}号路口红绿灯坏了。早晚高峰拥堵严重。", None)] * 2)
        twice.append(count(engine, Submission) - before)
    results.append(("the same note ×2, 9 trials", "1 each", " ".join(map(str, twice))))

    answers = server.at_once([("zhangsan", "我的履职", "redelivered-1")] * 4)
    stored = count(engine, InboundMessage, InboundMessage.msg_id == "redelivered-1")
    same = len(set(answers)) == 1 and answers[0] is not None
    results.append(("one message delivered 4 × at once", "1 record, same answer", f"{stored} record, same={same}"))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="bot_races")
    args = parser.parse_args()
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", args.db], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.db], check=True)
    url = f"{PG}/{args.db}"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = Server(url, work)
        server.cli("init-db", "--no-backup")
        roster = work / "花名册.csv"
        with roster.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(ROSTER)
        server.cli("import-roster", str(roster))
        server.start()
        try:
            engine = create_engine(url)
            started = time.monotonic()
            results = scenarios(server, engine)
            took = time.monotonic() - started
        finally:
            server.stop()
    failed = 0
    print(f"{'scenario':40} {'expected':24} observed")
    for name, expected, observed in results:
        ok = _matches(expected, observed)
        failed += not ok
        print(f"{name:40} {expected:24} {observed:32} {'PASS' if ok else 'FAIL'}")
    print(f"{len(results)} scenarios in {took:.1f} s; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 1 if failed else 0


def _matches(expected: str, observed: str) -> bool:
    if expected == "1 each":
        return set(observed.split()) == {"1"}
    if expected == "1 told, bound":
        return observed == "1 told, bound=True"
    if expected == "1 record, same answer":
        return observed == "1 record, same=True"
    return observed == expected


if __name__ == "__main__":
    sys.exit(main())
