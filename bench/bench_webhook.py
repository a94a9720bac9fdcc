"""Webhook throughput and latency: encrypted WeCom smart-bot callbacks (check-ins, notes, status
queries) through gunicorn on PostgreSQL, side by side with a bare Flask endpoint on the same gunicorn
setup (the stack's ceiling). Prints requests/s, p50/p99 and the ratio; see bench/README.md.

    python bench/bench_webhook.py [--duration 10] [--clients 16] [--workers 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import yaml  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot.platforms.wecom.crypto import CallbackCrypto  # noqa: E402

TOKEN = "benchToken"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
GROUPS, MEMBERS_PER_GROUP = 38, 6  # a county: 38 groups, ~200 members (DOMAIN.md)

CEILING_APP = """
from flask import Flask
app = Flask(__name__)

@app.get("/healthz")
def healthz():
    return {"status": "ok"}

@app.post("/wecom/bot")
def bot():
    return "ok"
"""


# ----------------------------------------------------------------------------- setup


def fresh_database(admin_url: str, name: str) -> str:
    """Drop and create `name` on the server of `admin_url`; returns its SQLAlchemy URL."""
    u = urlsplit(admin_url)
    with psycopg.connect(
        host=u.hostname,
        port=u.port or 5432,
        user=u.username or "postgres",
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{u.username or 'postgres'}@{u.hostname}:{u.port or 5432}/{name}"


def write_config(tmp: Path, db_url: str) -> Path:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["database_url"] = db_url
    data["log_level"] = "INFO"  # as in production: one line per message
    data["scheduler"] = {**data.get("scheduler", {}), "enabled": False}
    data["wecom"] = {"smart_bot": {"token": TOKEN, "encoding_aes_key": AES_KEY}}
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def seed(config: Path) -> list[tuple[str, str, str]]:
    """Migrate, then a county's roster with today's activity per group; returns (userid, role, chat)."""
    from app import make_runtime
    from bot.config import load_settings
    from models import Activity, ChatBinding, LiaisonGroup, Member

    settings = load_settings(config)
    runtime = make_runtime(settings)
    now = dt.datetime.now(settings.tz)
    people = []
    with runtime.sessions.begin() as s:
        for g in range(GROUPS):
            group = LiaisonGroup(name=f"第{g + 1}联络组", created_at=now)
            s.add(group)
            s.flush()
            chat = f"chat-{g}"
            s.add(ChatBinding(group_id=group.id, platform="wecom", chat_id=chat))
            for m in range(MEMBERS_PER_GROUP):
                role = "leader" if m == 0 else "member"
                userid = f"u{g}_{m}"
                s.add(
                    Member(
                        name=f"委员{g}_{m}",
                        mobile=f"138{g:04d}{m:04d}",
                        group_id=group.id,
                        role=role,
                        wecom_userid=userid,
                        created_at=now,
                        updated_at=now,
                    )
                )
                people.append((userid, role, chat))
            s.add(
                Activity(
                    group_id=group.id,
                    kind="inspection",
                    title="城区污水处理厂",
                    date=now.date(),
                    time=dt.time(0, 1),
                    place="城区",
                    created_at=now,
                )
            )
    runtime.engine.dispose()
    return people


def inbound_count(config: Path) -> int:
    from app import make_runtime
    from bot.config import load_settings
    from models import InboundMessage

    runtime = make_runtime(load_settings(config), migrate=False)
    with runtime.sessions() as s:
        n = s.scalar(select(func.count()).select_from(InboundMessage))
    runtime.engine.dispose()
    return n


# ----------------------------------------------------------------------------- load


def texts_for(role: str, rng: random.Random) -> str:
    """The mix a county sees: mostly check-ins and notes, some members' and leaders' queries."""
    r = rng.random()
    if r < 0.40:
        return "签到"
    if r < 0.75:
        topic = rng.choice(["老旧小区加装电梯", "农村饮水安全", "学校周边交通", "菜市场改造"])
        return f"社情民意：关于{topic}的建议。群众反映{topic}问题较多，建议有关部门尽快调研解决。"
    if r < 0.90 or role != "leader":
        return "我的履职"
    return "本组情况"


def build_requests(people, n: int, prefix: str, port: int, seed_: int) -> list[bytes]:
    """`n` distinct signed and encrypted smart-bot callbacks as raw HTTP/1.1 requests."""
    crypto = CallbackCrypto(TOKEN, AES_KEY, "")
    rng = random.Random(seed_)
    ts = str(int(time.time()))
    out = []
    for i in range(n):
        userid, role, chat = rng.choice(people)
        payload = {
            "msgid": f"{prefix}-{i}",
            "aibotid": "BENCH",
            "chattype": "group",
            "chatid": chat,
            "from": {"userid": userid},
            "response_url": "http://127.0.0.1:9/unused",
            "msgtype": "text",
            "text": {"content": "@履职助手\u2005" + texts_for(role, rng)},
        }
        nonce = f"n{i}"
        env = crypto.encrypt_json(json.dumps(payload, ensure_ascii=False), ts, nonce)
        body = json.dumps({"encrypt": env["encrypt"]}).encode()
        head = (
            f"POST /wecom/bot?msg_signature={env['msgsignature']}&timestamp={ts}&nonce={nonce} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


def _one(port: int, raw: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    data = b"".join(chunks)
    return int(data[9:12]) if data.startswith(b"HTTP/") else 0


def _client(port: int, requests_: list[bytes], start: float, stop: float, queue) -> None:
    """One of the concurrent clients: send requests back to back until `stop`."""
    latencies, codes = [], {}
    while time.time() < start:
        time.sleep(0.001)
    i = 0
    while time.time() < stop and i < len(requests_):
        t0 = time.perf_counter()
        try:
            code = _one(port, requests_[i])
        except OSError:
            code = 0
        latencies.append(time.perf_counter() - t0)
        codes[code] = codes.get(code, 0) + 1
        i += 1
    queue.put((latencies, codes, i >= len(requests_)))


def load(port: int, per_client: list[list[bytes]], duration: float) -> dict:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    start = time.time() + 0.5
    procs = [ctx.Process(target=_client, args=(port, r, start, start + duration, queue)) for r in per_client]
    for p in procs:
        p.start()
    results = [queue.get(timeout=duration + 120) for _ in procs]
    for p in procs:
        p.join(timeout=10)
    latencies = sorted(x for r in results for x in r[0])
    codes: dict[int, int] = {}
    for r in results:
        for k, v in r[1].items():
            codes[k] = codes.get(k, 0) + v
    return {
        "n": len(latencies),
        "rps": len(latencies) / duration,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
        "codes": codes,
        "exhausted": any(r[2] for r in results),
    }


# ----------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(
    app_spec: str, chdir: Path, port: int, workers: int, threads: int, env: dict
) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
        "--chdir", str(chdir), "--backlog", "2048", "--log-level", "warning", app_spec,
    ]  # fmt: skip
    if threads > 1:
        cmd[3:3] = ["-k", "gthread", "--threads", str(threads)]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _one(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"gunicorn {app_spec} did not answer /healthz")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of load per run")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers for both servers")
    ap.add_argument("--threads", type=int, default=4, help="gthread threads per worker (1: sync workers)")
    ap.add_argument("--rounds", type=int, default=2, help="ceiling/bot pairs, interleaved")
    ap.add_argument("--per-client", type=int, default=3000, help="distinct messages prepared per client")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres", help="PostgreSQL server")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_webhook_"))
    db_url = fresh_database(args.pg, "bot_bench_webhook")
    config = write_config(tmp, db_url)
    people = seed(config)
    (tmp / "ceiling.py").write_text(CEILING_APP, encoding="utf-8")
    env = {**os.environ, "BOT_CONFIG": str(config), "PYTHONPATH": str(ROOT)}

    print(f"{dt.date.today()} · {os.cpu_count()} CPUs · {args.workers} gunicorn workers × {args.threads} threads · "
          f"{args.clients} clients · {args.duration:.0f} s per run · PostgreSQL")  # fmt: skip
    rows = []
    for rnd in range(args.rounds):
        for name, spec, chdir in (("ceiling", "ceiling:app", tmp), ("bot", "wsgi:app", ROOT)):
            port = free_port()
            before = inbound_count(config)
            # Built just before the run: the timestamps must be inside WeCom's 300 s window.
            per_client = [
                build_requests(people, args.per_client, f"r{rnd}c{c}", port, rnd * 1000 + c)
                for c in range(args.clients)
            ]
            proc = start_gunicorn(spec, chdir, port, args.workers, args.threads, env)
            try:
                r = load(port, per_client, args.duration)
            finally:
                stop(proc)
            stored = inbound_count(config) - before
            rows.append((name, r))
            note = f"  stored {stored}" if name == "bot" else ""
            if r["exhausted"]:
                note += "  (a client ran out of prepared messages: raise --per-client)"
            print(f"round {rnd + 1} {name:8} {r['rps']:8.0f} req/s  p50 {r['p50']:6.1f} ms  "
                  f"p99 {r['p99']:6.1f} ms  codes {r['codes']}{note}")  # fmt: skip
    ceiling = statistics.median(r["rps"] for n, r in rows if n == "ceiling")
    bot = statistics.median(r["rps"] for n, r in rows if n == "bot")
    p99 = statistics.median(r["p99"] for n, r in rows if n == "bot")
    p50 = statistics.median(r["p50"] for n, r in rows if n == "bot")
    ratio = bot / ceiling
    print(f"median: bot {bot:.0f} req/s, ceiling {ceiling:.0f} req/s, ratio {ratio:.2f} (goal >= 0.5: "
          f"{'met' if ratio >= 0.5 else 'missed'}); bot p50 {p50:.1f} ms, p99 {p99:.1f} ms "
          f"(goal < 50 ms: {'met' if p99 < 50 else 'missed'})")  # fmt: skip


if __name__ == "__main__":
    main()
