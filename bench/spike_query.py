"""The spike analysis's counts query on 1,000,000 appeals (issue 7: "appeals can be 1M rows").

Creates its own PostgreSQL database (`hotline_spike_bench`, dropped at the end), migrates it
to head and loads 1,000,000 appeals over one year with INSERT ... SELECT generate_series
(about 2,740 a day, six kinds, 40 areas, a day-shaped hour of creation). Then ANALYZE, and
times `repository.analyse_hour` (the one GROUP BY over the hour and its 20-28 baseline
hours, and the statistic) on random hours of the last month, with the index the schema has
(`ix_appeals_created_at`) and again with a covering index (created_at, kind, area) added, to
decide whether the migration needs one.

    .venv/bin/python bench/spike_query.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--appeals 1000000] [--samples 200] [--explain]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from zoneinfo import ZoneInfo

from scratch_db import create_scratch, drop_scratch  # bench/, beside this script
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from hotline.analysis import repository
from hotline.analysis.spikes import Thresholds
from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine, upgrade
from hotline.workdays import WorkCalendar

NAME = "hotline_spike_bench"
END = dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc)
LOAD = text("""
INSERT INTO appeals (case_number, channel, kind, status, subject, body, citizen_phone, area,
                     deadline_at, created_at, updated_at, reopen_count)
SELECT 'B' || lpad(n::text, 12, '0'), 'phone',
       (ARRAY['consultation','help','complaint','report','approval_progress','dispute'])
           [1 + (n * 7919) % 6],
       'closed', 'bench', '', '138' || lpad((n % 100000000)::text, 8, '0'),
       'area-' || ((n * 104729) % 40),
       at + interval '5 days', at, at, 0
FROM (SELECT n, :end - (:days * interval '1 day') * ((n * 0.6180339887) - floor(n * 0.6180339887))
             - interval '1 hour' * (CASE WHEN (n % 10) < 7 THEN (n % 11) ELSE (n % 24) END)
             AS at
      FROM generate_series(1::bigint, :count) AS n) AS s
""")


def timed(db, hours, zone, calendar):
    durations = []
    for hour in hours:
        start = time.perf_counter()
        db.read_now(repository.analyse_hour, hour, zone=zone, calendar=calendar,
                    thresholds=Thresholds())
        durations.append((time.perf_counter() - start) * 1000)
    durations.sort()
    return (statistics.median(durations), durations[int(len(durations) * 0.95) - 1],
            durations[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    admin, url = create_scratch(args.url, NAME)
    try:
        engine = make_engine(DatabaseConfig(url=url))
        upgrade(engine)
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(LOAD, {"end": END, "days": 365, "count": args.appeals})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE appeals")
        print(f"loaded {args.appeals:,} appeals in {time.perf_counter() - started:.1f} s")
        db = Database(engine, reactor=None, threads=1)
        zone, calendar = ZoneInfo("Asia/Shanghai"), WorkCalendar()
        rng = random.Random(1)
        hours = [END - dt.timedelta(hours=rng.randrange(1, 24 * 30)) for _ in range(args.samples)]
        sample = db.read_now(repository.analyse_hour, hours[0], zone=zone, calendar=calendar,
                             thresholds=Thresholds())
        print(f"an hour: {len(sample.cells)} cells, {sample.days} baseline days, "
              f"{sum(c.count for c in sample.cells)} appeals in it")
        for label, ddl in (("ix_appeals_created_at (as migrated)", None),
                           ("+ covering (created_at, kind, area)",
                            "CREATE INDEX bench_cover ON appeals (created_at, kind, area)")):
            if ddl:
                with engine.begin() as connection:
                    connection.exec_driver_sql(ddl)
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.exec_driver_sql("VACUUM ANALYZE appeals")
            median, p95, worst = timed(db, hours, zone, calendar)
            print(f"{label:<40} analyse_hour: median {median:.1f} ms, p95 {p95:.1f} ms, "
                  f"max {worst:.1f} ms ({args.samples} hours)")
            if args.explain:
                spans = repository.windows(hours[0], zone, calendar, Thresholds())
                query = repository.counts_query(
                    [*spans.baseline, (hours[0], hours[0] + repository.HOUR)])
                sql = str(query.compile(dialect=postgresql.dialect(),
                                        compile_kwargs={"literal_binds": True}))
                with engine.connect() as connection:
                    for (line,) in connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql):
                        print("   ", line)
        engine.dispose()
    finally:
        drop_scratch(admin, NAME)


if __name__ == "__main__":
    main()
