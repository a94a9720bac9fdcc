"""Parser speed and accuracy on the test table (tests/parser_cases.yaml): messages per second,
milliseconds per message (goal < 1 ms) and the share of cases read as the table expects.

    python bench/bench_parser.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.parser import parse  # noqa: E402


def load_cases() -> tuple[list[dict], dt.datetime]:
    table = yaml.safe_load((ROOT / "tests" / "parser_cases.yaml").read_text(encoding="utf-8"))
    return table["cases"], dt.datetime.fromisoformat(table["defaults"]["now"])


def accuracy(cases: list[dict], default_now: dt.datetime) -> tuple[int, list[str]]:
    """How many cases the parser reads exactly as the table expects (the listed fields)."""
    good, wrong = 0, []
    for case in cases:
        now = dt.datetime.fromisoformat(case["now"]) if "now" in case else default_now
        got = parse(case["t"], now).as_json()
        expected = {k: (str(v) if isinstance(v, dt.date) else v) for k, v in case["e"].items()}
        if {k: got[k] for k in expected} == expected:
            good += 1
        else:
            wrong.append(case["t"])
    return good, wrong


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20, help="passes over the table per timing")
    args = ap.parse_args()
    cases, now = load_cases()
    texts = [(c["t"], dt.datetime.fromisoformat(c["now"]) if "now" in c else now) for c in cases]

    t0 = time.perf_counter()
    parse(texts[0][0], texts[0][1])  # jionlp loads at import; a lazy load would show here
    first = time.perf_counter() - t0

    passes = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(args.repeat):
            for text, at in texts:
                parse(text, at)
        passes.append((time.perf_counter() - t0) / (args.repeat * len(texts)))
    per_msg = statistics.median(passes)
    slowest = max(texts, key=lambda ta: _time_one(*ta))
    good, wrong = accuracy(cases, now)

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{dt.date.today()} · {os.cpu_count()} CPUs · load {load} · {len(texts)} cases × {args.repeat} × 5 passes"
    )
    print(f"first call: {first * 1000:.1f} ms")
    print(f"{1 / per_msg:,.0f} messages/s, {per_msg * 1000:.3f} ms/message "
          f"(goal < 1 ms: {'met' if per_msg < 0.001 else 'missed'})")  # fmt: skip
    print(f"slowest case: {_time_one(*slowest) * 1000:.2f} ms  {slowest[0][:40]!r}")
    print(f"accuracy: {good}/{len(cases)} = {good / len(cases):.1%}")
    for text in wrong[:10]:
        print(f"  misread: {text[:60]!r}")


def _time_one(text: str, at: dt.datetime, n: int = 20) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        parse(text, at)
    return (time.perf_counter() - t0) / n


if __name__ == "__main__":
    main()
