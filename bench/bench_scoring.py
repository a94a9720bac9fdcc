"""Province-scale timing of the yearly duty score (`bot.scoring.year_scores`, every member of every
group), printed beside one SQL statement that reads the same counts, measured in the same run.

    python bench/bench_scoring.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_reminders

Uses (and builds once, like bench_reminders.py) ~3,000 groups, ~30,000 members and five years of
records; prints the median of --repeat runs, the ratio, and the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_reminders import NOW, build, timed  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.periods import period_of  # noqa: E402
from bot.quotas import period_bounds  # noqa: E402
from bot.scoring import year_scores  # noqa: E402
from models import make_engine, make_session_factory  # noqa: E402

# Every member's counts for the year in one statement: check-ins, the group's activities missed with
# leave and without, submissions, the adopted ones, the 批示 — what year_scores reads in five.
SQL = """
WITH a AS (SELECT id, group_id FROM activity WHERE NOT cancelled AND date >= :ys AND date <= :ye),
     att AS (SELECT c.member_id, count(*) AS n FROM checkin c JOIN a ON a.id = c.activity_id GROUP BY c.member_id),
     missed AS (
        SELECT m.id AS member_id,
               count(*) FILTER (WHERE l.id IS NOT NULL) AS on_leave,
               count(*) FILTER (WHERE l.id IS NULL AND act.date < :today) AS absent
        FROM member m JOIN activity act ON act.group_id = m.group_id AND NOT act.cancelled
             AND act.date >= :ys AND act.date <= :ye
        LEFT JOIN checkin c ON c.activity_id = act.id AND c.member_id = m.id
        LEFT JOIN leave_request l ON l.activity_id = act.id AND l.member_id = m.id AND l.status = 'approved'
        WHERE c.id IS NULL GROUP BY m.id),
     sub AS (SELECT member_id, count(*) AS n, count(*) FILTER (WHERE status = 'adopted') AS adopted
             FROM submission WHERE status <> 'withdrawn' AND submitted_at >= :s AND submitted_at < :e
             GROUP BY member_id)
SELECT m.id, coalesce(att.n, 0), coalesce(missed.on_leave, 0), coalesce(missed.absent, 0),
       coalesce(sub.n, 0), coalesce(sub.adopted, 0)
FROM member m LEFT JOIN att ON att.member_id = m.id LEFT JOIN missed ON missed.member_id = m.id
LEFT JOIN sub ON sub.member_id = m.id
WHERE m.active AND m.role <> 'admin'
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_reminders")
    ap.add_argument("--groups", type=int, default=3000)
    ap.add_argument("--per-group", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    settings = load_settings(ROOT / "config.yaml").model_copy(update={"database_url": args.url})
    engine = make_engine(args.url)
    sessions = make_session_factory(engine)
    with engine.connect() as conn:
        have = conn.execute(text("SELECT to_regclass('public.member') IS NOT NULL")).scalar()
        n_groups = conn.execute(text("SELECT count(*) FROM liaison_group")).scalar() if have else 0
    if n_groups != args.groups:
        print("built:", build(engine, args.groups, args.per_group))
    year = period_of("year", NOW.date())
    start, end = period_bounds(year, NOW.tzinfo)
    params = {"ys": year.start, "ye": year.end, "today": NOW.date(), "s": start, "e": end}

    def run_scores():
        with sessions() as s:
            return year_scores(s, settings.scoring, year, NOW, NOW.tzinfo)

    def run_sql():
        with engine.connect() as conn:
            return conn.execute(text(SQL), params).all()

    run_scores(), run_sql()  # warm caches and the pool
    t_scores, scores = timed(run_scores, args.repeat)
    t_sql, rows = timed(run_sql, args.repeat)
    sql_by_member = {r[0]: r[1:] for r in rows}
    disagree = 0
    for sc in scores:
        attended = sum(p.tally.attended for p in sc.parts if p.category.source == "activity")
        sent = sum(p.tally.sent for p in sc.parts if p.category.source == "submission")
        got = sql_by_member.get(sc.member_id)
        disagree += got is None or (got[0], got[3]) != (attended, sent)
    print(f"now = {NOW.isoformat()}, median of {args.repeat}, load average {os.getloadavg()}")
    print(f"{'year_scores(), every member':36s} {t_scores * 1000:9.1f} ms   ({len(scores):,} members)")
    print(
        f"{'single SQL, the same counts':36s} {t_sql * 1000:9.1f} ms   ({len(rows):,} rows, {disagree} disagreeing)"
    )
    print(f"year_scores / SQL = {t_scores / t_sql:.2f}")


if __name__ == "__main__":
    main()
