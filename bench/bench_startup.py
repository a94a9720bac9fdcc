"""Start-up of `python app.py` (time to the first 200 on /healthz, resident memory then), beside
`import jionlp` alone and a bare interpreter, measured side by side in one run.

    python bench/bench_startup.py [--runs 3]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_startup_"))
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
    app_s = statistics.median(r[0] for r in rows["app.py"])
    jio_s = statistics.median(r[0] for r in rows["import jionlp"])
    app_m = statistics.median(r[1] for r in rows["app.py"])
    jio_m = statistics.median(r[1] for r in rows["import jionlp"])
    print(
        f"jionlp's share of app.py: {jio_s / app_s:.0%} of the start-up time, {jio_m / app_m:.0%} of the memory"
    )


if __name__ == "__main__":
    main()
