"""Start-up of `python app.py` (time to the first 200 on /healthz, resident memory then), beside
`import jionlp` alone and a bare interpreter, measured side by side in one run; then the resident
memory of each gunicorn worker (deploy/gunicorn.conf.py) after a burst of WeCom smart-bot callbacks.

    python bench/bench_startup.py [--runs 3] [--burst 400] [--workers 2] [--bot-root DIR] [--workers-only]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

RSS_SNIPPET = (
    "import re,sys;{imports}print(int(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read())[1]))"
)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def memory_kib(pid: int) -> tuple[int, int, int]:
    """(RSS, PSS, USS) in KiB: RSS counts every page the process maps, shared or not; PSS shares a
    page shared by n processes as 1/n; USS is the process's own pages, what it would free if it ended."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0])
    return fields["Rss"], fields["Pss"], fields["Private_Clean"] + fields["Private_Dirty"]


def tree_rss_kib(pid: int) -> int:
    """The process and its children (none expected, but a worker would count)."""
    kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return rss_kib(pid) + sum(tree_rss_kib(int(k)) for k in kids)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_once(config: Path) -> tuple[float, int]:
    """Seconds from exec to the first 200 on /healthz, and RSS (KiB) at that moment."""
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--config", str(config), "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError("app.py exited during start-up")
            if time.perf_counter() - t0 > 120:
                raise RuntimeError("no answer on /healthz within 120 s")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - t0, tree_rss_kib(proc.pid)
            except OSError:
                time.sleep(0.02)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def python_once(imports: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", RSS_SNIPPET.format(imports=imports)], cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(out.stderr)
    return time.perf_counter() - t0, int(out.stdout.split()[-1])  # jionlp prints a banner first


def workers_after_burst(
    tmp: Path, bot_root: Path, burst: int, workers: int, preload: bool
) -> tuple[list[tuple[int, int, int]], tuple[int, int, int]]:
    """(RSS, PSS, USS) in KiB of each gunicorn worker, and of the master, for a worker serving `wsgi:app` from `bot_root` after `burst` distinct
    encrypted callbacks from the groups' leaders on SQLite: 签到, a note, 我的履职 and 本组情况 in
    turn, so that every worker has served every kind."""
    import concurrent.futures

    sys.path.insert(0, str(ROOT / "bench"))
    import bench_webhook as wb

    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["database_url"] = f"sqlite:///{tmp / 'burst.db'}"
    data["scheduler"] = {**data.get("scheduler", {}), "enabled": False}
    data["wecom"] = {"smart_bot": {"token": wb.TOKEN, "encoding_aes_key": wb.AES_KEY}}
    config = tmp / "burst.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    people = wb.seed(config)
    port = wb.free_port()
    env = {
        **os.environ, "BOT_CONFIG": str(config), "PYTHONPATH": str(bot_root), "BOT_WORKERS": str(workers),
        "BOT_PRELOAD": "1" if preload else "0",
    }  # fmt: skip
    proc = wb.start_gunicorn("wsgi:app", bot_root, port, env)
    try:
        kinds = iter(
            ["签到", "社情民意：关于农村饮水安全的建议。部分村组水压不足。", "我的履职", "本组情况"] * burst
        )
        leaders = [p for p in people if p[1] == "leader"]
        requests_ = wb.build_requests(leaders, burst, "burst", port, 7, texts=lambda role, rng: next(kinds))
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda req: wb._one(port, req.raw()), requests_))
        if codes.count(200) != len(codes):
            raise RuntimeError(f"burst answered {sorted(set(codes))}")
        kids = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        return [memory_kib(int(k)) for k in kids], memory_kib(proc.pid)
    finally:
        wb.stop(proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--burst", type=int, default=400, help="callbacks sent before the workers are measured")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--bot-root", type=Path, default=ROOT, help="the checkout whose workers are measured")
    ap.add_argument("--workers-only", action="store_true", help="skip the start-up runs")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_startup_"))
    load = "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    print(f"{dt.date.today()} · {os.cpu_count()} CPUs · {args.workers} gunicorn workers of {args.bot_root} "
          f"after a burst of {args.burst} callbacks, MiB · {load}")  # fmt: skip
    width = 5 * args.workers
    print(f"{'':24} {'RSS':>{width}} {'PSS':>{width}} {'USS':>{width}}   {'master RSS/PSS/USS':>18}   all PSS")
    for preload in (False, True):  # side by side: the workers forked bare, and from a loaded master
        tmp_run = tmp / ("preload" if preload else "bare")
        tmp_run.mkdir()
        kids, master = workers_after_burst(tmp_run, args.bot_root.resolve(), args.burst, args.workers, preload)
        cols = [", ".join(f"{k[i] / 1024:.0f}" for k in kids) for i in range(3)]
        total = (master[1] + sum(k[1] for k in kids)) / 1024
        label = "preload (BOT_PRELOAD=1)" if preload else "no preload"
        print(f"{label:24} {cols[0]:>{width}} {cols[1]:>{width}} {cols[2]:>{width}}   "
              f"{'/'.join(f'{v / 1024:.0f}' for v in master):>18}   {total:.0f}")  # fmt: skip
    print("goal <= 80 MiB a worker: what one more worker costs is its USS (its own pages) plus its share of the rest")
    if args.workers_only:
        return
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["database_url"] = f"sqlite:///{tmp / 'bot.db'}"
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    first = serve_once(config)  # creates the schema: the one start that migrates
    rows: dict[str, list[tuple[float, int]]] = {"app.py": [], "import jionlp": [], "python": []}
    for _ in range(args.runs):  # interleaved, so that machine load hits all three alike
        rows["app.py"].append(serve_once(config))
        rows["import jionlp"].append(python_once("import jionlp;"))
        rows["python"].append(python_once(""))

    print(f"{dt.date.today()} · {os.cpu_count()} CPUs · median of {args.runs} runs · SQLite")
    print(f"{'first start (creates the schema)':34} {first[0]:6.2f} s  {first[1] / 1024:6.0f} MiB")
    for name, label in (
        ("app.py", "python app.py → first 200 /healthz"),
        ("import jionlp", "python -c 'import jionlp'"),
        ("python", "python -c '' (interpreter)"),
    ):
        secs = statistics.median(r[0] for r in rows[name])
        mib = statistics.median(r[1] for r in rows[name]) / 1024
        print(f"{label:34} {secs:6.2f} s  {mib:6.0f} MiB")
    # Not a share of app.py: app.py does not import jionlp at start (bot/dates.py loads it on the
    # first date its own rules miss), so the line above is what such a date adds to a process.
    print("jionlp is not loaded by app.py at start; the line above is what a first unusual date adds")


if __name__ == "__main__":
    main()
