"""The office's 总览 at province scale beside the single aggregate SQL query behind it (issue 20
point 5): the SQL, `dashboard.overview()` for every group, and the whole page (GET /office/ as an
admin through Flask's test client, the template rendered), interleaved, with the SQL statements
each issues, on the province and on a county.

    python bench/bench_web.py [--rounds 7] [--url URL] [--county-url URL] [--rebuild] [--profile]

Builds (once; --rebuild to redo) with bench_reminders' builder: the province (3,000 groups,
30,000 members, five years; database `bench_web`) and a county (38 groups × 10 members, the same
years; `bench_web_county`), each with one office admin added, then times each step once per round,
in turn, and prints the medians, overview/SQL and page/SQL, and the load average at each round.
A fourth step, the single SQL followed by the overview's own "took part" query (distinct members
with a check-in or a submission this year, which the single SQL does not count), is the overview's
SQL floor: page/(SQL + took-part query) says what the Python and the template add to it.
`--profile` also runs the province page once under cProfile and prints where the time goes.
PostgreSQL only (the builder loads with COPY).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psycopg  # noqa: E402
import yaml  # noqa: E402
from bench_reminders import NOW, build, single_query  # noqa: E402
from sqlalchemy import event, select, text  # noqa: E402

from bot import dashboard  # noqa: E402
from bot.office_login import login_url  # noqa: E402
from models import Member, make_engine  # noqa: E402

PROVINCE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_web"
COUNTY_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_web_county"
ADMIN_MOBILE = "bench-web-admin"


def load_average() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def ensure_database(url: str, groups: int, per_group: int, rebuild: bool) -> None:
    """The database of `url` with `groups` groups built by bench_reminders.build (created if
    missing, rebuilt if its group count differs or `rebuild`), and one active admin."""
    u = urlsplit(url.replace("postgresql+psycopg", "postgresql"))
    name = u.path.lstrip("/")
    with psycopg.connect(
        host=u.hostname,
        port=u.port or 5432,
        user=u.username or "postgres",
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(url)
    with engine.connect() as conn:
        have = conn.execute(text("SELECT to_regclass('public.member') IS NOT NULL")).scalar()
        n_groups = conn.execute(text("SELECT count(*) FROM liaison_group")).scalar() if have else 0
    if rebuild or n_groups != groups:
        t0 = time.perf_counter()
        counts = build(engine, groups, per_group)
        print(f"built {name} in {time.perf_counter() - t0:.1f} s: {counts}", flush=True)
    with engine.begin() as conn:
        if conn.execute(text("SELECT 1 FROM member WHERE mobile = :m"), {"m": ADMIN_MOBILE}).first() is None:
            conn.execute(
                text(
                    "INSERT INTO member (name, mobile, group_id, role, active, created_at, updated_at)"
                    " VALUES ('办公室', :m, NULL, 'admin', true, :t, :t)"
                ),
                {"m": ADMIN_MOBILE, "t": dt.datetime(2022, 1, 1, tzinfo=dt.UTC)},
            )
    engine.dispose()


def write_config(tmp: Path, url: str) -> Path:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["database_url"] = url
    data["log_level"] = "WARNING"
    data["scheduler"] = {**data.get("scheduler", {}), "enabled": False}
    data["web"] = {**data.get("web", {}), "secret_key": "bench-web-" + "k" * 40}
    data["backup"] = {**data.get("backup", {}), "dir": str(tmp / "backups")}
    path = tmp / f"config-{urlsplit(url).path.lstrip('/')}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


class Target:
    """One database: the app on it, an admin's signed-in test client, the timed steps, a statement counter."""

    def __init__(self, label: str, url: str, tmp: Path) -> None:
        from app import create_app

        self.label = label
        self.app = create_app(write_config(tmp, url))
        self.runtime = self.app.extensions["bot"]
        self.runtime.now = lambda: NOW
        self.settings = self.runtime.settings
        self.engine = self.runtime.engine
        self.statements: list[tuple[str, object]] = []
        self.counting = False

        @event.listens_for(self.engine, "before_cursor_execute")
        def _count(conn, cursor, statement, parameters, context, executemany):
            if self.counting:
                self.statements.append((statement, parameters))

        with self.runtime.sessions() as s:
            admin = s.scalar(select(Member.id).where(Member.mobile == ADMIN_MOBILE))
        self.client = self.app.test_client()
        u = urlsplit(login_url(self.settings, admin, NOW))
        r = self.client.get(f"{u.path}?{u.query}")
        if r.status_code != 302:
            sys.exit(f"{label}: login answered {r.status_code}")
        self.prefix = self.settings.web.prefix
        self.sql, self.params = single_query(self.settings, NOW)
        # The overview's one query the single SQL has no part of: the roster with who took part
        # (check-ins of the year's activities, the year's submissions), taken as the overview sends it.
        _, sent = self.count(self.run_overview)
        self.took_part = next((st, p) for st, p in sent if "IN (SELECT checkin.member_id" in st)

    def run_sql(self):
        with self.engine.connect() as conn:
            return conn.execute(text(self.sql), self.params).all()

    def run_floor(self):
        """The SQL floor of the overview: the single aggregate query and the took-part query."""
        with self.engine.connect() as conn:
            rows = conn.execute(text(self.sql), self.params).all()
            conn.exec_driver_sql(*self.took_part).all()
            return rows

    def run_overview(self):
        with self.runtime.sessions() as s:
            return dashboard.overview(s, self.settings, NOW)

    def run_page(self) -> bytes:
        r = self.client.get(f"{self.prefix}/")
        if r.status_code != 200:
            sys.exit(f"{self.label}: GET {self.prefix}/ answered {r.status_code}")
        return r.data

    def count(self, fn) -> tuple[int, list[tuple[str, object]]]:
        self.statements, self.counting = [], True
        try:
            fn()
        finally:
            self.counting = False
        return len(self.statements), self.statements

    def check(self) -> str:
        """The overview must agree with the single SQL on the group-scope rules, the page show every group."""
        rows = self.run_sql()
        ov = self.run_overview()
        group_rules = [i for i, c in enumerate(ov.columns) if c.rule.scope == "group"]
        by_gid = {r.group_id: r for r in ov.rows}
        mismatches = sum(
            1 for gid, *counts in rows if [by_gid[gid].cells[i].done for i in group_rules] != list(counts)
        )
        shown = self.run_page().count(b"<tr data-group=")
        return f"{len(rows):,} SQL rows, {len(ov.rows):,} overview rows ({mismatches} disagreeing), {shown:,} page rows"


STEPS = (
    ("sql", "single aggregate SQL"),
    ("floor", "the same + the took-part query"),
    ("overview", "dashboard.overview(), every group"),
    ("page", "GET /office/ (admin, rendered)"),
)


def measure(t: Target, rounds: int) -> dict[str, list[float]]:
    fns = {"sql": t.run_sql, "floor": t.run_floor, "overview": t.run_overview, "page": t.run_page}
    for fn in fns.values():  # warm the caches, the pool, the template
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for i in range(rounds):
        order = list(fns)[i % len(fns) :] + list(fns)[: i % len(fns)]  # rotate who goes first
        got = {}
        for k in order:
            t0 = time.perf_counter()
            fns[k]()
            got[k] = time.perf_counter() - t0
            times[k].append(got[k])
        print(
            f"  {t.label} round {i + 1}: "
            + ", ".join(f"{k} {got[k] * 1000:.1f} ms" for k in fns)
            + f"   load {load_average()}",
            flush=True,
        )
    return times


def report(t: Target, times: dict[str, list[float]]) -> None:
    med = {k: statistics.median(v) for k, v in times.items()}
    n_ov, _ = t.count(t.run_overview)
    n_page, page_stmts = t.count(t.run_page)
    n_sql, _ = t.count(t.run_sql)
    n_floor, _ = t.count(t.run_floor)
    counts = {"sql": n_sql, "floor": n_floor, "overview": n_ov, "page": n_page}
    print(f"{t.label}: median of {len(times['sql'])}")
    for k, label in STEPS:
        lo, hi = min(times[k]) * 1000, max(times[k]) * 1000
        print(
            f"  {label:38s} {med[k] * 1000:9.1f} ms  (min {lo:.1f}, max {hi:.1f})  {counts[k]} SQL statements"
        )
    print(f"  overview/SQL = {med['overview'] / med['sql']:.2f}")
    print(f"  page/SQL = {med['page'] / med['sql']:.2f}")
    print(f"  page/(SQL + took-part query) = {med['page'] / med['floor']:.2f}")
    print("  the page's statements: " + "; ".join(" ".join(s.split())[:60] for s, _ in page_stmts))


def profile_page(t: Target, rounds: int) -> None:
    """Where one page's time goes: each SQL statement (execute and fetch), dashboard.overview()
    and render_template() timed inside the request, the cyclic garbage collector's passes during
    it, the page with the collector off (medians of `rounds`), then cProfile."""
    import bot.platforms.web.views as views

    spent: dict[str, list[float]] = {}

    def note(key: str, seconds: float) -> None:
        spent.setdefault(key, []).append(seconds)

    def timing(fn, key):
        def wrapped(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                note(key, time.perf_counter() - t0)

        return wrapped

    @event.listens_for(t.engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()

    @event.listens_for(t.engine, "after_cursor_execute")
    def _end(conn, cursor, statement, parameters, context, executemany):
        note("SQL  " + " ".join(statement.split())[:80], time.perf_counter() - conn.info["bench_t0"])

    passes: list[dict[int, int]] = []
    gc_t0 = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_t0[0] = time.perf_counter()
        elif passes:
            passes[-1][info["generation"]] = passes[-1].get(info["generation"], 0) + 1
            gc_spent[-1] += time.perf_counter() - gc_t0[0]

    gc_spent: list[float] = []
    real_overview, real_render = dashboard.overview, views.render_template
    dashboard.overview = timing(real_overview, "dashboard.overview() (its SQL included)")
    views.render_template = timing(real_render, "render_template('office/overview.html')")
    try:
        gc.callbacks.append(on_gc)
        for _ in range(rounds):
            passes.append({})
            gc_spent.append(0.0)
            t0 = time.perf_counter()
            t.run_page()
            note("the whole GET /office/", time.perf_counter() - t0)
        gc.callbacks.remove(on_gc)
        passes.append({})  # no more counting
        off = []
        for _ in range(rounds):
            gc.disable()
            t0 = time.perf_counter()
            t.run_page()
            off.append(time.perf_counter() - t0)
            gc.enable()
            gc.collect()
        prof = cProfile.Profile()
        prof.enable()
        t.run_page()
        prof.disable()
    finally:
        dashboard.overview, views.render_template = real_overview, real_render
        event.remove(t.engine, "before_cursor_execute", _start)
        event.remove(t.engine, "after_cursor_execute", _end)
    print(f"--- where one {t.label} page's time goes, median of {rounds} (load {load_average()}) ---")
    for key, values in spent.items():
        print(f"  {statistics.median(values) * 1000:8.1f} ms  {key}")
    print(
        f"  {statistics.median(gc_spent) * 1000:8.1f} ms  in the garbage collector during the page, passes by generation: {passes[:-1]}"
    )
    print(
        f"  {statistics.median(off) * 1000:8.1f} ms  the whole GET /office/ with gc.disable() (tracked objects now {len(gc.get_objects()):,})"
    )
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
    print(f"--- cProfile of one {t.label} page (profiler overhead included), by own time ---")
    print(out.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=PROVINCE_URL, help="the province database")
    ap.add_argument("--county-url", default=COUNTY_URL, help="the county database")
    ap.add_argument("--groups", type=int, default=3000)
    ap.add_argument("--county-groups", type=int, default=38)
    ap.add_argument("--per-group", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--profile", action="store_true", help="also cProfile one province page")
    args = ap.parse_args()

    ensure_database(args.url, args.groups, args.per_group, args.rebuild)
    ensure_database(args.county_url, args.county_groups, args.per_group, args.rebuild)
    print(
        f"machine: {platform.node()}, {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="bench_web_") as tmp:
        province = Target("province", args.url, Path(tmp))
        county = Target("county", args.county_url, Path(tmp))
        with province.engine.connect() as conn:
            print("database:", conn.execute(text("SELECT version()")).scalar().split(",")[0])
            sizes = {
                t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("liaison_group", "member", "submission", "activity", "checkin", "leave_request")
            }
        print("province rows:", ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
        print(f"now = {NOW.isoformat()}, {args.rounds} rounds interleaved, load at start {load_average()}")
        for t in (province, county):
            print(f"{t.label}: {t.check()}")
        results = [(t, measure(t, args.rounds)) for t in (province, county)]
        for t, times in results:
            report(t, times)
        print(f"load at end {load_average()}")
        if args.profile:
            profile_page(province, args.rounds)
        for t in (province, county):
            t.engine.dispose()


if __name__ == "__main__":
    main()
