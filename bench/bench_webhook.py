"""Webhook throughput and latency: encrypted WeCom smart-bot callbacks (check-ins, notes, status
queries) through gunicorn (deploy/gunicorn.conf.py) on PostgreSQL, interleaved with two servers on
the same gunicorn setup and the same prepared requests: a bare Flask endpoint (the stack's ceiling)
and a floor that does the least durable work a message needs with psycopg and no ORM (verify,
decrypt, log row ON CONFLICT DO NOTHING, one insert of the record, commit, encrypt the answer).
Prints requests/s, p50/p99, `bot/floor` and `floor/ceiling` with the load average; see bench/README.md.

    python bench/bench_webhook.py [--duration 10] [--clients 16] [--workers 2] [--rounds 2] [--bot-root DIR]
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
from typing import NamedTuple
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import yaml  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot.platforms.wecom.crypto import CallbackCrypto, signature  # noqa: E402

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


# The floor: what any implementation must do for one message, and nothing more. The roster and
# today's activities are read once per worker (a real bot cannot, which is why it is a floor).
FLOOR_APP = """
import datetime as dt, json, os, threading
import psycopg
from flask import Flask, request
from bot.platforms.wecom.crypto import CallbackCrypto

app = Flask(__name__)
crypto = CallbackCrypto(os.environ["FLOOR_TOKEN"], os.environ["FLOOR_AES_KEY"], "")
DSN = os.environ["FLOOR_DSN"]
local = threading.local()
roster = {}

def conn():
    c = getattr(local, "conn", None)
    if c is None:
        c = local.conn = psycopg.connect(DSN)
        if not roster:
            rows = c.execute(
                "SELECT m.wecom_userid, m.id, m.group_id, a.id FROM member m "
                "LEFT JOIN activity a ON a.group_id = m.group_id AND a.date = %s", (os.environ["FLOOR_DAY"],)
            ).fetchall()
            roster.update({u: (m, g, a) for u, m, g, a in rows})
            c.commit()
    return c

LOG = (
    "INSERT INTO inbound_message (platform, msg_id, chat_id, sender_id, text, is_group, sent_at,"
    " received_at, member_id, intent, outcome, reply_text)"
    " VALUES ('wecom_bot', %s, %s, %s, %s, true, %s, %s, %s, %s, 'answered', %s)"
    " ON CONFLICT DO NOTHING RETURNING id"
)

@app.get("/healthz")
def healthz():
    return {"status": "ok"}

@app.post("/wecom/bot")
def bot():
    q = request.args
    encrypt = json.loads(request.get_data())["encrypt"]
    crypto.verify(q["msg_signature"], q["timestamp"], q["nonce"], encrypt)
    p = json.loads(crypto.decrypt(encrypt))
    text = p["text"]["content"].split("\u2005", 1)[-1]
    c = conn()
    member, group, activity = roster[p["from"]["userid"]]
    now = dt.datetime.now(dt.timezone.utc)
    intent = "checkin" if text == "签到" else "opinion" if text.startswith("社情民意") else "my"
    reply = "已记下：" + text[:20]
    try:
        row = c.execute(LOG, (p["msgid"], p["chatid"], p["from"]["userid"], text, now, now, member, intent, reply)).fetchone()
        if row and intent == "checkin":
            c.execute(
                "INSERT INTO checkin (activity_id, member_id, checked_in_at, late_entry, source_message_id)"
                " VALUES (%s, %s, %s, false, %s) ON CONFLICT DO NOTHING", (activity, member, now, row[0]))
        elif row and intent == "opinion":
            c.execute(
                "INSERT INTO submission (member_id, group_id, kind, title, content, submitted_at, status,"
                " source_message_id) VALUES (%s, %s, 'opinion', %s, %s, %s, 'submitted', %s)",
                (member, group, text[5:30], text, now, row[0]))
        c.commit()
    except Exception:
        c.rollback()
        raise
    stream = {"msgtype": "stream", "stream": {"id": p["msgid"], "finish": True, "content": reply}}
    return crypto.encrypt_json(json.dumps(stream, ensure_ascii=False), q["timestamp"], q["nonce"])
"""


def load_average() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


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
    with runtime.engine.begin() as conn:  # a database in use has its statistics: so does this one
        conn.exec_driver_sql("ANALYZE")
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


class Prepared(NamedTuple):
    """A callback encrypted beforehand; `raw()` signs it with the time it is sent, as WeCom does
    (the signature covers the timestamp, the encrypted body does not). Signed once beforehand,
    requests grow older as the run goes on and the bot takes them for queued ones (answered by
    the late path after 3 s, refused after 10: bot/platforms/arrival.py)."""

    encrypt: str
    nonce: str
    head: str  # the request line and headers, `{signature}` and `{timestamp}` to fill
    body: bytes

    def raw(self, ts: int | None = None) -> bytes:
        stamp = str(int(time.time()) if ts is None else ts)
        sig = signature(TOKEN, stamp, self.nonce, self.encrypt)
        return self.head.format(signature=sig, timestamp=stamp).encode() + self.body


def build_requests(people, n: int, prefix: str, port: int, seed_: int, texts=texts_for) -> list[Prepared]:
    """`n` distinct encrypted smart-bot callbacks as raw HTTP/1.1 requests, each signed when it is
    sent (`Prepared.raw`); `texts(role, rng)` picks each one's text."""
    crypto = CallbackCrypto(TOKEN, AES_KEY, "")
    rng = random.Random(seed_)
    ts = str(int(time.time()))  # for the encryption only: `raw()` signs with the time of sending
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
            "text": {"content": "@履职助手\u2005" + texts(role, rng)},
        }
        nonce = f"n{i}"
        env = crypto.encrypt_json(json.dumps(payload, ensure_ascii=False), ts, nonce)
        body = json.dumps({"encrypt": env["encrypt"]}).encode()
        head = (
            f"POST /wecom/bot?msg_signature={{signature}}&timestamp={{timestamp}}&nonce={nonce} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        out.append(Prepared(env["encrypt"], nonce, head, body))
    return out


def _one(port: int, raw: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    data = b"".join(chunks)
    return int(data[9:12]) if data.startswith(b"HTTP/") else 0


def _client(port: int, requests_: list[Prepared], start: float, stop: float, queue) -> None:
    """One of the concurrent clients: send requests back to back until `stop`."""
    latencies, codes = [], {}
    while time.time() < start:
        time.sleep(0.001)
    i = 0
    while time.time() < stop and i < len(requests_):
        t0 = time.perf_counter()
        try:
            code = _one(port, requests_[i].raw())
        except OSError:
            code = 0
        latencies.append(time.perf_counter() - t0)
        codes[code] = codes.get(code, 0) + 1
        i += 1
    queue.put((latencies, codes, i >= len(requests_)))


def load(port: int, per_client: list[list[Prepared]], duration: float) -> dict:
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


def start_gunicorn(app_spec: str, chdir: Path, port: int, env: dict) -> subprocess.Popen:
    """`app_spec` under deploy/gunicorn.conf.py (workers and threads from BOT_WORKERS, BOT_THREADS)."""
    cmd = [
        sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
        "-b", f"127.0.0.1:{port}", "--chdir", str(chdir), "--backlog", "2048", "--log-level", "warning",
        app_spec,
    ]  # fmt: skip
    # Started in `chdir`: `python -m` puts the working directory first on sys.path, so started
    # elsewhere a worker would import that checkout's `bot` instead.
    proc = subprocess.Popen(
        cmd, cwd=chdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
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


def servers(tmp: Path, bot_root: Path, config: Path, args) -> list[tuple[str, str, Path, dict]]:
    """(name, app, directory, environment) of the three servers, in the order they run each round."""
    base = {**os.environ, "BOT_WORKERS": str(args.workers), "BOT_THREADS": str(args.threads)}
    if args.threads <= 1:
        base["BOT_WORKER_CLASS"] = "sync"
    (tmp / "ceiling.py").write_text(CEILING_APP, encoding="utf-8")
    (tmp / "floor.py").write_text(FLOOR_APP, encoding="utf-8")
    dsn = load_settings_url(config).replace("postgresql+psycopg://", "postgresql://")
    from bot.config import load_settings

    today = dt.datetime.now(load_settings(config).tz).date()  # the bot's day, as seed() dates the activity
    floor_env = {"FLOOR_TOKEN": TOKEN, "FLOOR_AES_KEY": AES_KEY, "FLOOR_DSN": dsn, "FLOOR_DAY": today.isoformat()}
    out = [
        ("ceiling", "ceiling:app", tmp, {**base, "PYTHONPATH": str(ROOT)}),
        ("floor", "floor:app", tmp, {**base, **floor_env, "PYTHONPATH": str(ROOT)}),
        ("bot", "wsgi:app", bot_root, {**base, "BOT_CONFIG": str(config), "PYTHONPATH": str(bot_root)}),
    ]
    if args.compare is not None or args.compare_env:  # the code before a change, or other settings
        other = (args.compare or bot_root).resolve()
        extra = dict(kv.split("=", 1) for kv in args.compare_env)
        out.append(
            ("bot-cmp", "wsgi:app", other, {**base, "BOT_CONFIG": str(config), "PYTHONPATH": str(other), **extra})
        )
    return out


def load_settings_url(config: Path) -> str:
    return yaml.safe_load(config.read_text(encoding="utf-8"))["database_url"]


_HZ = os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> dict[int, tuple[str, int, float]]:
    """Every process's (command, process group, user+system CPU seconds), from /proc."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            s = stat.read_text()
        except OSError:
            continue
        comm, fields = s[s.index("(") + 1 : s.rindex(")")], s[s.rindex(")") + 2 :].split()
        out[int(stat.parent.name)] = (comm, int(fields[2]), (int(fields[11]) + int(fields[12])) / _HZ)
    return out


def cpu_split(before: dict, after: dict, pgid: int, n: int) -> tuple[float, float]:
    """CPU milliseconds a request of the server (process group `pgid`) and of PostgreSQL's processes
    (every backend, the WAL writer and the checkpointer) between the two readings."""
    server = postgres = 0.0
    for pid, (comm, pgrp, cpu) in after.items():
        spent = cpu - (before[pid][2] if pid in before else 0.0)
        if pgrp == pgid:
            server += spent
        elif comm.startswith("postgres"):
            postgres += spent
    return server / max(n, 1) * 1000, postgres / max(n, 1) * 1000


def run_one(name, spec, chdir, env, people, args, rnd, config) -> dict:
    port = free_port()
    before = inbound_count(config)
    per_client = [
        build_requests(people, args.per_client, f"r{rnd}{name}c{c}", port, rnd * 1000 + c)
        for c in range(args.clients)
    ]
    proc = start_gunicorn(spec, chdir, port, env)
    try:
        cpu_before = cpu_seconds()
        r = load(port, per_client, args.duration)
        r["cpu"] = cpu_split(cpu_before, cpu_seconds(), proc.pid, r["n"])
    finally:
        stop(proc)
    r["stored"] = inbound_count(config) - before
    r["load"] = load_average()
    note = f"  stored {r['stored']}" if name != "ceiling" else ""
    note += f"  CPU/request: server {r['cpu'][0]:.2f} ms, PostgreSQL {r['cpu'][1]:.2f} ms"
    if r["exhausted"]:
        note += "  (a client ran out of prepared messages: raise --per-client)"
    print(f"round {rnd + 1} {name:8} {r['rps']:8.0f} req/s  p50 {r['p50']:6.1f} ms  "
          f"p99 {r['p99']:6.1f} ms  codes {r['codes']}{note}  ({r['load']})", flush=True)  # fmt: skip
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of load per run")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers for every server")
    ap.add_argument("--threads", type=int, default=4, help="gthread threads per worker (1: sync workers)")
    ap.add_argument(
        "--rounds", type=int, default=2, help="rounds of ceiling, floor, bot (and bot-cmp), interleaved"
    )
    ap.add_argument("--per-client", type=int, default=3000, help="distinct messages prepared per client")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres", help="PostgreSQL server")
    ap.add_argument("--bot-root", type=Path, default=ROOT, help="the checkout whose wsgi:app is measured")
    ap.add_argument("--compare", type=Path, help="another checkout of the bot to run beside it (as bot-cmp)")
    ap.add_argument(
        "--compare-env", action="append", default=[], metavar="KEY=VALUE",
        help="environment for bot-cmp only (without --compare: this checkout, e.g. BOT_PRELOAD=0)",
    )  # fmt: skip
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_webhook_"))
    db_url = fresh_database(args.pg, "bot_bench_webhook")
    config = write_config(tmp, db_url)
    people = seed(config)

    print(f"{dt.date.today()} · {os.cpu_count()} CPUs · {args.workers} gunicorn workers × {args.threads} threads · "
          f"{args.clients} clients · {args.duration:.0f} s per run · PostgreSQL · bot from {args.bot_root} · "
          f"{load_average()}")  # fmt: skip
    rows = []
    for rnd in range(args.rounds):
        for name, spec, chdir, env in servers(tmp, args.bot_root.resolve(), config, args):
            rows.append((name, run_one(name, spec, chdir, env, people, args, rnd, config)))
    rps = {name: statistics.median(r["rps"] for n, r in rows if n == name) for name in {n for n, _ in rows}}
    p99 = statistics.median(r["p99"] for n, r in rows if n == "bot")
    p50 = statistics.median(r["p50"] for n, r in rows if n == "bot")
    if "bot-cmp" in rps:
        cmp99 = statistics.median(r["p99"] for n, r in rows if n == "bot-cmp")
        print(f"median: bot-cmp {rps['bot-cmp']:.0f} req/s, p99 {cmp99:.1f} ms")
    print(f"median: bot {rps['bot']:.0f} req/s, floor {rps['floor']:.0f}, ceiling {rps['ceiling']:.0f}; "
          f"bot p50 {p50:.1f} ms, p99 {p99:.1f} ms  ({load_average()})")  # fmt: skip
    ratio = rps["bot"] / rps["floor"]
    print(f"bot/floor = {ratio:.2f} (goal >= 0.5: {'met' if ratio >= 0.5 else 'missed'})")
    print(f"floor/ceiling = {rps['floor'] / rps['ceiling']:.2f}")
    print(f"bot/ceiling = {rps['bot'] / rps['ceiling']:.2f}")
    for name in ("floor", "bot", "bot-cmp"):
        if cpus := [r["cpu"] for n, r in rows if n == name]:
            server, postgres = (statistics.median(c[i] for c in cpus) for i in (0, 1))
            print(f"CPU a request, {name}: server {server:.2f} ms + PostgreSQL {postgres:.2f} ms = {server + postgres:.2f} ms")
    if "bot-cmp" in rps:
        print(f"bot-cmp ({args.compare or args.bot_root} {' '.join(args.compare_env)}): bot-cmp/floor = {rps['bot-cmp'] / rps['floor']:.2f}, "
              f"bot/bot-cmp = {rps['bot'] / rps['bot-cmp']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
