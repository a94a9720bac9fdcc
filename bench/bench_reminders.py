"""Province-scale timing of `reminders.due()` and of every group's quota status, printed beside the
equivalent single aggregate SQL query measured in the same run.

    python bench/bench_reminders.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_reminders

Builds (once; --rebuild to redo) ~3,000 groups, ~30,000 members and five years of records in that
database, then times each step `--repeat` times and prints the median. PostgreSQL only: the data is
loaded with COPY.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bot import reminders  # noqa: E402
from bot.config import Settings, load_settings  # noqa: E402
from bot.periods import period_of  # noqa: E402
from bot.quotas import group_standings, period_bounds  # noqa: E402
from bot.runtime import upgrade_schema  # noqa: E402
from models import make_engine, make_session_factory  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=TZ)  # the monthly and yearly reminder stages are open
YEARS = range(2022, 2027)
KINDS = ["opinion", "suggestion", "report", "project", "proposal"]
ACTIVITY_KINDS = ["collective", "inspection", "research", "study", "meeting"]


def _copy(conn, table: str, columns: list[str], rows) -> int:
    buf = io.StringIO()
    n = 0
    for row in rows:
        buf.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
        n += 1
    buf.seek(0)
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        copy.write(buf.getvalue())
    return n


def build(engine, groups: int, per_group: int, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    created = dt.datetime(2022, 1, 1, tzinfo=dt.UTC).isoformat()
    counts = {}
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    upgrade_schema(engine)
    with engine.begin() as conn:
        counts["groups"] = _copy(
            conn,
            "liaison_group",
            ["id", "name", "created_at"],
            ((g, f"第{g}联络组", created) for g in range(1, groups + 1)),
        )
        members = []
        mid = 0
        for g in range(1, groups + 1):
            for i in range(per_group):
                mid += 1
                role = "leader" if i == 0 else "member"
                active = "true" if rng.random() > 0.03 else "false"
                members.append(
                    (mid, f"委员{mid}", f"1{mid:010d}", g, role, f"wx{mid}", None, active, created, created)
                )
        counts["members"] = _copy(
            conn,
            "member",
            [
                "id",
                "name",
                "mobile",
                "group_id",
                "role",
                "wecom_userid",
                "dingtalk_userid",
                "active",
                "created_at",
                "updated_at",
            ],
            members,
        )
        by_group = {g: list(range((g - 1) * per_group + 1, g * per_group + 1)) for g in range(1, groups + 1)}

        def submissions():
            sid = 0
            for g, ms in by_group.items():
                for year in YEARS:
                    last_month = 11 if year == 2026 else 12
                    for month in range(1, last_month + 1):
                        for _ in range(rng.choice((0, 1, 1, 2, 3))):  # most months, a note or two
                            sid += 1
                            day = rng.randint(1, 28)
                            at = dt.datetime(year, month, day, 10, tzinfo=TZ).astimezone(dt.UTC).isoformat()
                            kind = rng.choices(KINDS, weights=(6, 2, 1, 1, 1))[0]
                            yield (sid, rng.choice(ms), g, kind, "题目", "内容", at, "submitted")

        counts["submissions"] = _copy(
            conn,
            "submission",
            ["id", "member_id", "group_id", "kind", "title", "content", "submitted_at", "status"],
            submissions(),
        )
        activities, checkins, leaves = [], [], []
        aid = cid = lid = 0
        for g, ms in by_group.items():
            for year in YEARS:
                for month in range(1, 13):
                    if year == 2026 and month == 12:
                        continue
                    for _ in range(rng.choice((0, 1, 1, 2))):
                        aid += 1
                        day = dt.date(year, month, rng.randint(1, 28))
                        activities.append(
                            (
                                aid,
                                g,
                                rng.choice(ACTIVITY_KINDS),
                                "活动",
                                day,
                                "09:00",
                                "会议室",
                                ms[0],
                                "false",
                                created,
                            )
                        )
                        for m in ms[1:]:
                            r = rng.random()
                            if r < 0.75:
                                cid += 1
                                checkins.append((cid, aid, m, created, "false"))
                            elif r < 0.85:
                                lid += 1
                                leaves.append((lid, aid, m, "出差", "approved", created))
        counts["activities"] = _copy(
            conn,
            "activity",
            [
                "id",
                "group_id",
                "kind",
                "title",
                "date",
                "time",
                "place",
                "announced_by_id",
                "cancelled",
                "created_at",
            ],
            activities,
        )
        counts["checkins"] = _copy(
            conn, "checkin", ["id", "activity_id", "member_id", "checked_in_at", "late_entry"], checkins
        )
        counts["leave_requests"] = _copy(
            conn,
            "leave_request",
            ["id", "activity_id", "member_id", "reason", "status", "requested_at"],
            leaves,
        )
        for table in ("liaison_group", "member", "submission", "activity", "checkin", "leave_request"):
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    return counts


def single_query(settings: Settings, now: dt.datetime) -> tuple[str, dict]:
    """Every group's count on every group-scope rule, in its current period: one SQL statement."""
    sub, act = [], []  # (rule index, column) so that the result follows the rule order
    params = {}
    for i, rule in enumerate(r for r in settings.quotas if r.scope == "group"):
        period = period_of(rule.period, now.date())
        kinds = ", ".join(f"'{k}'" for k in rule.kinds)
        if rule.source == "submission":
            start, end = period_bounds(period, now.tzinfo)
            params[f"s{i}"], params[f"e{i}"] = start, end
            sub.append(
                (
                    i,
                    f"count(*) FILTER (WHERE kind IN ({kinds}) AND submitted_at >= :s{i} AND submitted_at < :e{i}) AS r{i}",
                )
            )
        else:
            params[f"s{i}"], params[f"e{i}"] = period.start, min(period.end, now.date())
            act.append(
                (i, f"count(*) FILTER (WHERE kind IN ({kinds}) AND date >= :s{i} AND date <= :e{i}) AS r{i}")
            )
    year_start = period_bounds(period_of("year", now.date()), now.tzinfo)[0]
    cols = [f"r{i}" for i, _ in sorted(sub + act)]
    sql = f"""
        WITH s AS (SELECT group_id, {", ".join(c for _, c in sub)} FROM submission
                   WHERE status <> 'withdrawn' AND submitted_at >= :y GROUP BY group_id),
             a AS (SELECT group_id, {", ".join(c for _, c in act)} FROM activity
                   WHERE NOT cancelled AND date >= :yd GROUP BY group_id)
        SELECT g.id, {", ".join(f"coalesce({c}, 0)" for c in cols)}
        FROM liaison_group g LEFT JOIN s ON s.group_id = g.id LEFT JOIN a ON a.group_id = g.id
    """
    return sql, {**params, "y": year_start, "yd": year_start.date()}


CPU: dict[str, float] = {}  # this process's CPU time of each timed function (median), by its name


def timed(fn, repeat: int) -> tuple[float, object]:
    times, cpu, result = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    CPU[fn.__name__] = statistics.median(cpu)
    return statistics.median(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_reminders")
    ap.add_argument("--groups", type=int, default=3000)
    ap.add_argument("--per-group", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()

    settings = load_settings(ROOT / "config.yaml").model_copy(update={"database_url": args.url})
    engine = make_engine(args.url)
    if engine.dialect.name != "postgresql":
        sys.exit("bench_reminders needs PostgreSQL (the data is loaded with COPY)")
    sessions = make_session_factory(engine)
    with engine.connect() as conn:
        have = conn.execute(text("SELECT to_regclass('public.member') IS NOT NULL")).scalar()
        n_groups = conn.execute(text("SELECT count(*) FROM liaison_group")).scalar() if have else 0
    if args.rebuild or n_groups != args.groups:
        t0 = time.perf_counter()
        counts = build(engine, args.groups, args.per_group)
        print(f"built in {time.perf_counter() - t0:.1f} s: {counts}")
    with engine.connect() as conn:
        sizes = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
            for t in ("liaison_group", "member", "submission", "activity", "checkin", "leave_request")
        }

    print(
        f"machine: {platform.node()} {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    with engine.connect() as conn:
        print("database:", conn.execute(text("SELECT version()")).scalar().split(",")[0])
    print("rows:", ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
    print(f"now = {NOW.isoformat()}, median of {args.repeat}")

    def run_due():
        with sessions() as s:
            return reminders.due(s, settings, NOW)

    def run_status():
        with sessions() as s:
            return group_standings(s, settings.quotas, NOW)

    sql, params = single_query(settings, NOW)

    def run_sql():
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    def quota_stage():  # the stage that counts what the single query counts
        with sessions() as s:
            return reminders.due_in_stage(s, settings, NOW, "quota")

    def activity_stage():  # the eve reminders, attendance reports and absence warnings
        with sessions() as s:
            return reminders.due_in_stage(s, settings, NOW, "activity")

    run_due(), run_status(), run_sql()  # warm the caches and the connection pool
    t_due, msgs = timed(run_due, args.repeat)
    t_quota, quota_msgs = timed(quota_stage, args.repeat)
    t_activity, activity_msgs = timed(activity_stage, args.repeat)
    t_status, standings = timed(run_status, args.repeat)
    t_sql, rows = timed(run_sql, args.repeat)
    # The single query must agree with group_standings on the group-scope rules.
    group_rules = [i for i, r in enumerate(settings.quotas) if r.scope == "group"]
    mismatches = sum(
        1 for gid, *counts in rows if [standings[gid][i].done for i in group_rules] != list(counts)
    )
    print(f"{'reminders.due()':40s} {t_due * 1000:9.1f} ms   ({len(msgs):,} messages, "
          f"{CPU['run_due'] * 1000:.0f} ms of this process's CPU)")  # fmt: skip
    print(f"{'  its quota stage':40s} {t_quota * 1000:9.1f} ms   ({len(quota_msgs):,} messages, "
          f"{CPU['quota_stage'] * 1000:.0f} ms CPU)")  # fmt: skip
    print(f"{'  its activity stage':40s} {t_activity * 1000:9.1f} ms   ({len(activity_msgs):,} messages, "
          f"{CPU['activity_stage'] * 1000:.0f} ms CPU)")  # fmt: skip
    print(f"{'group_standings(), every group':40s} {t_status * 1000:9.1f} ms   ({len(standings):,} groups)")
    print(
        f"{'single aggregate SQL, every group':40s} {t_sql * 1000:9.1f} ms   ({len(rows):,} rows, "
        f"{mismatches} disagreeing with group_standings)"
    )
    print(f"due() / SQL = {t_due / t_sql:.1f}, its quota stage / SQL = {t_quota / t_sql:.1f}, "
          f"group_standings() / SQL = {t_status / t_sql:.1f} (goal <= 2)")  # fmt: skip


if __name__ == "__main__":
    main()
