"""Overload, open loop: encrypted WeCom smart-bot callbacks sent at a fixed arrival rate (50, 100,
150, 200 a second by default), each signed with the `timestamp` of its planned send, to the bot
under deploy/gunicorn.conf.py on PostgreSQL with the scheduler process running (`app.py
scheduler`, ticking every few seconds). Unlike bench_webhook's closed-loop clients, a slow answer
does not slow the arrivals: the queue grows as it would when WeCom keeps sending.

For each rate it prints p50/p99/max latency (from the planned send to the last byte of the
answer), how many answers took over 1 s, 3 s and 5 s (WeCom's deadline), and how they were
answered: passively (200 with a body), empty with the answer by the late path (200, empty body),
refused (503) or otherwise; with the load average. See bench/README.md.

    python bench/bench_overload.py [--rates 50,100,150,200] [--duration 10] [--workers 2] [--no-scheduler]
                                   [--compare DIR]   # another checkout (e.g. `git archive` of main), rate by rate beside it
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_webhook as bw  # noqa: E402
import yaml  # noqa: E402

from bot.platforms.wecom.crypto import CallbackCrypto  # noqa: E402


def prepared(
    people, rate: float, duration: float, start: float, port: int, prefix: str
) -> list[tuple[float, bytes]]:
    """(planned send time, raw request) for every arrival, each stamped with its planned send."""
    crypto = CallbackCrypto(bw.TOKEN, bw.AES_KEY, "")
    rng = random.Random(rate)
    out = []
    for i in range(int(rate * duration)):
        at = start + i / rate
        userid, role, chat = rng.choice(people)
        payload = {
            "msgid": f"{prefix}-{i}",
            "aibotid": "BENCH",
            "chattype": "group",
            "chatid": chat,
            "from": {"userid": userid},
            "response_url": "http://127.0.0.1:9/unused",
            "msgtype": "text",
            "text": {"content": "@履职助手\u2005" + bw.texts_for(role, rng)},
        }
        ts, nonce = str(int(at)), f"n{i}"
        env = crypto.encrypt_json(json.dumps(payload, ensure_ascii=False), ts, nonce)
        body = json.dumps({"encrypt": env["encrypt"]}).encode()
        head = (
            f"POST /wecom/bot?msg_signature={env['msgsignature']}&timestamp={ts}&nonce={nonce} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        out.append((at, head.encode() + body))
    return out


async def _send(port: int, at: float, raw: bytes) -> tuple[float, str]:
    await asyncio.sleep(max(0.0, at - time.time()))
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(raw)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout=60)
        writer.close()
    except (TimeoutError, OSError):
        return time.time() - at, "error"
    code = data[9:12].decode() if data.startswith(b"HTTP/") else "error"
    if code == "200":
        body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
        code = "passive" if body else "late path"
    return time.time() - at, code


def drive(port: int, arrivals: list[tuple[float, bytes]]) -> list[tuple[float, str]]:
    async def everyone():
        return await asyncio.gather(*(_send(port, at, raw) for at, raw in arrivals))

    return asyncio.run(everyone())


def summary(results: list[tuple[float, str]]) -> dict:
    lat = sorted(x for x, _ in results)
    kinds: dict[str, int] = {}
    for _, kind in results:
        kinds[kind] = kinds.get(kind, 0) + 1
    return {
        "n": len(lat),
        "p50": lat[len(lat) // 2],
        "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        "max": lat[-1],
        "over": {s: sum(1 for x in lat if x > s) for s in (1, 3, 5)},
        "kinds": kinds,
    }


def start_scheduler(config: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "app.py", "--config", str(config), "scheduler"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="50,100,150,200", help="arrivals a second, one run each")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of arrivals per rate")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--tick", type=int, default=5, help="the scheduler's tick_seconds")
    ap.add_argument("--no-scheduler", action="store_true")
    ap.add_argument(
        "--compare", type=Path, help="another checkout of the bot, run at each rate after this one"
    )
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_overload_"))
    config = bw.write_config(tmp, bw.fresh_database(args.pg, "bot_bench_overload"))
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["scheduler"] = {**data["scheduler"], "enabled": True, "tick_seconds": args.tick}
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    people = bw.seed(config)
    env = {**os.environ, "BOT_WORKERS": str(args.workers), "BOT_THREADS": str(args.threads),
           "BOT_CONFIG": str(config), "PYTHONPATH": str(ROOT)}  # fmt: skip
    webs = [("bot", ROOT)] + ([("compare", args.compare.resolve())] if args.compare else [])
    ports = {name: bw.free_port() for name, _ in webs}
    # An older checkout may not know every key of this one's config.yaml (its settings are strict).
    older = tmp / "config-compare.yaml"
    older.write_text(yaml.safe_dump({k: v for k, v in data.items() if k != "overload"}, allow_unicode=True))
    configs = {"bot": config, "compare": older}
    procs = [
        bw.start_gunicorn(
            "wsgi:app", root, ports[name], {**env, "PYTHONPATH": str(root), "BOT_CONFIG": str(configs[name])}
        )
        for name, root in webs
    ]
    sched = None if args.no_scheduler else start_scheduler(config, env)
    print(f"{dt.date.today()} · {os.cpu_count()} CPUs · {args.workers} gunicorn workers × {args.threads} threads · "
          f"{args.duration:.0f} s per rate, open loop · PostgreSQL · scheduler "
          f"{'off' if sched is None else f'on (tick {args.tick} s)'} · {bw.load_average()}", flush=True)  # fmt: skip
    if args.compare:
        print(f"compare = {args.compare}")
    try:
        for rate in (float(r) for r in args.rates.split(",")):
            for name, _ in webs:
                run(name, ports[name], people, rate, args.duration)
    finally:
        if sched is not None:
            bw.stop(sched)
        for proc in procs:
            bw.stop(proc)


def run(name: str, port: int, people, rate: float, duration: float) -> None:
    start = time.time() + 1.0
    arrivals = prepared(people, rate, duration, start, port, f"{name}-r{rate:.0f}")
    s = summary(drive(port, arrivals))
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(s["kinds"].items()))
    print(f"{name:8} {rate:4.0f}/s  n {s['n']:5}  p50 {s['p50'] * 1000:6.0f} ms  p99 {s['p99'] * 1000:6.0f} ms  "
          f"max {s['max'] * 1000:6.0f} ms  >1s {s['over'][1]:4}  >3s {s['over'][3]:4}  "
          f">5s {s['over'][5]:4}  |  {kinds}  ({bw.load_average()})", flush=True)  # fmt: skip
    time.sleep(5)  # the queue and the late answers drain before the next run


if __name__ == "__main__":
    main()
