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
                                   [--refuse-after S]  # overload.refuse_after_seconds for this run
                                   [--province URL]  # then: callbacks at --tick-rate during a province tick vs none
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import statistics
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

NEW_SCHEDULER_KEYS = ("tick_budget_seconds", "chunk_size", "nice")  # issue 17 point 4


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
    ap.add_argument(
        "--refuse-after", type=float, help="overload.refuse_after_seconds (default: config.yaml's)"
    )
    ap.add_argument("--province", help="a database bench_reminders.py built: tick it beside the callbacks")
    ap.add_argument(
        "--tick-rate", type=float, default=50.0, help="callbacks a second during the province ticks"
    )
    ap.add_argument(
        "--rounds", type=int, default=2, help="rounds of (none, old tick, new tick) with --province"
    )
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_overload_"))
    config = bw.write_config(tmp, bw.fresh_database(args.pg, "bot_bench_overload"))
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["scheduler"] = {**data["scheduler"], "enabled": True, "tick_seconds": args.tick}
    if args.refuse_after is not None:
        data["overload"] = {**data["overload"], "refuse_after_seconds": args.refuse_after}
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    people = bw.seed(config)
    env = {**os.environ, "BOT_WORKERS": str(args.workers), "BOT_THREADS": str(args.threads),
           "BOT_CONFIG": str(config), "PYTHONPATH": str(ROOT)}  # fmt: skip
    webs = [("bot", ROOT)] + ([("compare", args.compare.resolve())] if args.compare else [])
    ports = {name: bw.free_port() for name, _ in webs}
    # An older checkout may not know every key of this one's config.yaml (its settings are strict).
    older = tmp / "config-compare.yaml"
    older_data = {k: v for k, v in data.items() if k != "overload"}
    older_data["scheduler"] = {k: v for k, v in data["scheduler"].items() if k not in NEW_SCHEDULER_KEYS}
    older.write_text(yaml.safe_dump(older_data, allow_unicode=True), encoding="utf-8")
    configs = {"bot": config, "compare": older}
    procs = []
    for name, root in webs:
        try:
            procs.append(
                bw.start_gunicorn(
                    "wsgi:app",
                    root,
                    ports[name],
                    {**env, "PYTHONPATH": str(root), "BOT_CONFIG": str(configs[name])},
                )
            )
        except RuntimeError:
            for proc in procs:  # the servers started already do not outlive a failed start
                bw.stop(proc)
            raise
    sched = None if args.no_scheduler else start_scheduler(config, env)
    print(f"{dt.date.today()} · {os.cpu_count()} CPUs · {args.workers} gunicorn workers × {args.threads} threads · "
          f"{args.duration:.0f} s per rate, open loop · PostgreSQL · refuse_after "
          f"{data['overload']['refuse_after_seconds']} s · scheduler "
          f"{'off' if sched is None else f'on (tick {args.tick} s)'} · {bw.load_average()}", flush=True)  # fmt: skip
    if args.compare:
        print(f"compare = {args.compare}")
    try:
        for rate in (float(r) for r in args.rates.split(",") if r):
            for name, _ in webs:
                run(name, ports[name], people, rate, args.duration)
        if args.province:
            beside_province_ticks(args, ports["bot"], people)
    finally:
        if sched is not None:
            bw.stop(sched)
        for proc in procs:
            bw.stop(proc)


def run(name: str, port: int, people, rate: float, duration: float) -> dict:
    start = time.time() + 1.0
    arrivals = prepared(people, rate, duration, start, port, f"{name}-r{rate:.0f}-{start:.0f}")
    s = summary(drive(port, arrivals))
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(s["kinds"].items()))
    print(f"{name:8} {rate:4.0f}/s  n {s['n']:5}  p50 {s['p50'] * 1000:6.0f} ms  p99 {s['p99'] * 1000:6.0f} ms  "
          f"max {s['max'] * 1000:6.0f} ms  >1s {s['over'][1]:4}  >3s {s['over'][3]:4}  "
          f">5s {s['over'][5]:4}  |  {kinds}  ({bw.load_average()})", flush=True)  # fmt: skip
    time.sleep(5)  # the queue and the late answers drain before the next run
    return s


# ----------------------------------------------------------------------------- point 4


def province_ticks(url: str, stop_at: float, style: str, queue) -> None:
    """Province ticks back to back until `stop_at` (the outbox emptied before each, so each has the
    whole work): "old" as before issue 17 point 4, everything in one transaction at normal
    priority; "new" as ReminderScheduler.tick now, stage by stage in chunks, niced."""
    from sqlalchemy import text

    from bot.config import load_settings
    from bot.scheduler import enqueue_due, enqueue_due_within, lower_priority
    from models import make_engine, make_session_factory

    settings = load_settings(ROOT / "config.yaml").model_copy(update={"database_url": url})
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    now = dt.datetime(2026, 11, 20, 9, 30, tzinfo=settings.tz)  # bench_reminders' NOW
    if style == "new":
        lower_priority(settings.scheduler.nice)
    ticks, queued = 0, 0
    while time.time() < stop_at:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM outbox_message"))
        if style == "old":
            queued += enqueue_due(sessions, settings, now)[1]
        else:
            stage, finished = 0, False
            while not finished and time.time() < stop_at:
                done = enqueue_due_within(sessions, settings, now, start_stage=stage)
                stage, finished, queued = done.next_stage, done.finished, queued + done.enqueued
        ticks += 1
    engine.dispose()
    queue.put((ticks, queued))


def beside_province_ticks(args, port: int, people) -> None:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    p99: dict[str, list[float]] = {"none": [], "old": [], "new": []}
    for _ in range(args.rounds):
        for style in p99:
            ticker, queue = None, ctx.Queue()
            if style != "none":
                stop_at = time.time() + args.duration + 3
                ticker = ctx.Process(target=province_ticks, args=(args.province, stop_at, style, queue))
                ticker.start()
                time.sleep(1.5)  # into the tick's work before the callbacks start
            s = run(f"tick-{style}", port, people, args.tick_rate, args.duration)
            p99[style].append(s["p99"])
            if ticker is not None:
                ticks, queued = queue.get(timeout=600)
                ticker.join()
                print(
                    f"         province ticks ({style}): {ticks} ticks, {queued} reminders queued", flush=True
                )
    base = statistics.median(p99["none"])
    for style in ("old", "new"):
        ratio = statistics.median(p99[style]) / base
        print(f"p99 during a province tick ({style}) / p99 without = {ratio:.2f} (goal <= 1.5)", flush=True)


if __name__ == "__main__":
    main()
