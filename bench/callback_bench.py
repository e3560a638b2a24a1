"""Callback queue benchmark on PostgreSQL.

Creates its own database (`hotline_bench`, dropped at the end), migrates it, loads 1,000,000
resolved appeals and their callback tasks with INSERT ... SELECT generate_series, then

1. times the compliance report for one month, grouped by unit, agent and kind (goal < 1 s);
2. makes 10,000 tasks due and lets 4 dispatcher processes claim them with the real
   `CallbackRepository.claim` (FOR UPDATE SKIP LOCKED, leases, the trunk limit under its
   advisory lock): tasks claimed per second, and how many were claimed twice (must be 0).

    .venv/bin/python bench/callback_bench.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--appeals 1000000] [--due 10000] [--dispatchers 4] [--batch 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch_db import create_scratch, drop_scratch  # noqa: E402  # bench/, beside this script
from sqlalchemy import text  # noqa: E402

DB_NAME = "hotline_bench"
NOW = dt.datetime(2027, 1, 15, 2, 0, tzinfo=dt.timezone.utc)

LOAD_APPEALS = """
INSERT INTO appeals (case_number, channel, kind, status, subject, body, citizen_phone,
                     unit_id, agent_id, deadline_at, resolution, satisfaction, reopen_count,
                     created_at, updated_at, resolved_at, closed_at)
SELECT '2026' || lpad(i::text, 9, '0'), 'phone',
       (ARRAY['consultation','help','complaint','report','approval_progress','dispute'])[1 + i % 6],
       'closed', '基准测试诉求', '', '139' || lpad((i % 700000)::text, 8, '0'),
       1 + i % 30, CASE WHEN i % 7 = 0 THEN NULL ELSE 1 + i % 10 END,
       t + interval '5 days', '已处理', NULL, 0, t - interval '2 days', t, t, t
FROM (SELECT i, timestamptz '2026-01-01 00:00+08' + i * (:step * interval '1 second') AS t
      FROM generate_series(1, :n) AS i) AS s
"""

LOAD_TASKS = """
INSERT INTO callback_tasks (appeal_id, citizen_phone, origin, mode, state, appeal_kind, unit_id,
                            assigned_agent_id, resolved_at, window_start, due_by,
                            next_attempt_at, attempts, max_attempts, outcome, rating,
                            completed_at, completed_by, created_at, updated_at)
SELECT id, citizen_phone, 'resolution',
       CASE WHEN kind IN ('complaint', 'report') THEN 'agent' ELSE 'automated' END,
       CASE WHEN r < 88 THEN 'completed' WHEN r < 95 THEN 'unreachable'
            WHEN r < 99 THEN 'pending' ELSE 'cancelled' END,
       kind, unit_id, agent_id, resolved_at, resolved_at + interval '2 hours',
       resolved_at + interval '26 hours',
       CASE WHEN r BETWEEN 95 AND 98 THEN timestamptz '2100-01-01' ELSE resolved_at + interval '2 hours' END,
       CASE WHEN r < 60 THEN 1 WHEN r < 88 THEN 2 WHEN r < 95 THEN 3 ELSE 1 END, 3,
       CASE WHEN r < 85 THEN 'rated' WHEN r < 88 THEN 'reached'
            WHEN r < 95 THEN (CASE WHEN r % 2 = 0 THEN 'sms_survey' ELSE 'unreachable' END)
            WHEN r = 99 THEN 'cancelled' END,
       CASE WHEN r >= 85 THEN NULL WHEN r % 10 < 6 THEN 'satisfied'
            WHEN r % 10 < 9 THEN 'basically_satisfied' ELSE 'dissatisfied' END,
       CASE WHEN r < 80 THEN resolved_at + interval '3 hours' + (r % 5) * interval '1 hour'
            WHEN r < 88 THEN resolved_at + interval '30 hours'
            WHEN r < 95 THEN resolved_at + interval '26 hours'
            WHEN r = 99 THEN resolved_at + interval '1 hour' END,
       CASE WHEN r < 95 OR r = 99 THEN 'system:callback-survey' END,
       resolved_at, resolved_at
FROM (SELECT a.*, (a.id * 37) % 100 AS r FROM appeals a) AS s
"""

MAKE_DUE = """
UPDATE callback_tasks SET state = 'pending', mode = 'automated', attempts = 0,
       next_attempt_at = :now - (id % 3600) * interval '1 second', lease_owner = NULL,
       lease_until = NULL, completed_at = NULL, outcome = NULL, rating = NULL
WHERE id IN (SELECT DISTINCT ON (citizen_phone) id FROM callback_tasks
             WHERE state = 'completed' ORDER BY citizen_phone, id LIMIT :n)
"""



def make_policy_repository():
    from zoneinfo import ZoneInfo

    from callback_queue.config import CallbacksConfig
    from callback_queue.policy import CallbackPolicy
    from callback_queue.repository import CallbackRepository
    from hotline.appeals import AppealRepository, ResolveHook
    from hotline.config import AppealsConfig
    from hotline.workdays import WorkCalendar

    zone = ZoneInfo("Asia/Shanghai")
    config = CallbacksConfig(trunks=tuple(f"trunk{n}" for n in range(8)),
                             calls_per_trunk=100_000)  # claims, not calls, are measured
    appeals = AppealRepository(zone=zone, calendar=WorkCalendar(),
                               deadline_working_days=AppealsConfig().deadline_working_days,
                               resolve_hook=ResolveHook())
    return CallbackRepository(CallbackPolicy(config, WorkCalendar(), zone), appeals)


def claimer(url: str, owner: str, batch: int, trunk: str, start, results) -> None:
    from hotline.config import DatabaseConfig
    from hotline.db import Database, make_engine

    repository = make_policy_repository()
    db = Database(make_engine(DatabaseConfig(url=url, pool_threads=1)), reactor=None, threads=1)
    db.read_now(lambda s: s.execute(text("SELECT 1")))  # connect before the start
    start.wait()
    claimed: list[int] = []
    began = time.perf_counter()
    while True:
        claims = db.write_now(repository.claim, owner=owner, now=NOW, trunk=trunk, limit=batch)
        if not claims:
            break
        claimed.extend(c.task_id for c in claims)
    results.put((owner, claimed, time.perf_counter() - began))
    db.engine.dispose()


def claim_round(engine, url: str, args, trunks: int) -> bool:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM callback_attempts"))
        connection.execute(text("UPDATE callback_tasks SET state = 'completed', lease_owner = NULL, "
                                "lease_until = NULL, trunk = NULL WHERE lease_owner LIKE 'bench-%'"))
        made = connection.execute(text(MAKE_DUE), {"now": NOW, "n": args.due}).rowcount
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE callback_tasks"))
    context = multiprocessing.get_context("spawn")
    start_event = context.Event()
    results = context.Queue()
    processes = [context.Process(target=claimer, args=(url, f"bench-{n}", args.batch,
                                                       f"trunk{n % trunks}", start_event, results))
                 for n in range(args.dispatchers)]
    for process in processes:
        process.start()
    time.sleep(2.0)  # let every process import and connect
    t0 = time.perf_counter()
    start_event.set()
    outcomes = [results.get(timeout=600) for _ in processes]
    elapsed = time.perf_counter() - t0
    for process in processes:
        process.join(60)
    claimed = [task for _, tasks_, _ in outcomes for task in tasks_]
    twice = len(claimed) - len(set(claimed))
    with engine.connect() as connection:
        attempt_dupes = connection.execute(text(
            "SELECT count(*) FROM (SELECT task_id FROM callback_attempts GROUP BY task_id "
            "HAVING count(*) > 1) AS d")).scalar()
    per = ", ".join(f"{owner} {len(t):,}" for owner, t, _ in sorted(outcomes))
    print(f"claim: {made:,} due tasks, {args.dispatchers} dispatcher processes on {trunks} "
          f"trunk(s), batch {args.batch}: {len(claimed):,} claimed in {elapsed:.2f} s = "
          f"{len(claimed) / elapsed:,.0f} tasks/s ({per}); claimed twice: {twice}; "
          f"tasks with two attempts: {attempt_dupes}")
    return twice == 0 and attempt_dupes == 0 and len(claimed) == made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("HOTLINE_BENCH_PG_URL")
                        or os.environ.get("HOTLINE_TEST_PG_URL")
                        or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--dispatchers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--trunks", default="1,4",
                        help="claim rounds: the dispatchers share this many trunks (each trunk's "
                             "in-the-air count is kept under its own lock)")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    args = parser.parse_args()

    from hotline.config import DatabaseConfig
    from hotline.db import Database, make_engine, upgrade

    admin, url = create_scratch(args.url, DB_NAME)
    try:
        engine = make_engine(DatabaseConfig(url=url))
        upgrade(engine)
        began = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO units (id, code, name, kind, active) "
                                    "SELECT i, 'U' || i, '单位' || i, 'station', true "
                                    "FROM generate_series(1, 30) AS i"))
            connection.execute(text("INSERT INTO agents (id, username, display_name, role, "
                                    "active, created_at) SELECT i, 'agent' || i, '坐席' || i, "
                                    "'agent', true, now() FROM generate_series(1, 10) AS i"))
            connection.execute(text(LOAD_APPEALS), {"n": args.appeals,
                                                     "step": 365 * 86400 / args.appeals})
            connection.execute(text(LOAD_TASKS))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE appeals"))
            connection.execute(text("VACUUM ANALYZE callback_tasks"))
        with engine.connect() as connection:
            tasks = connection.execute(text("SELECT count(*) FROM callback_tasks")).scalar()
        print(f"loaded {args.appeals:,} appeals and {tasks:,} callback tasks in "
              f"{time.perf_counter() - began:.1f} s")

        from callback_queue.report import compliance_report

        db = Database(engine, reactor=None, threads=1)
        start = dt.datetime(2026, 6, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        end = dt.datetime(2026, 7, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        for by in ("unit", "agent", "kind"):
            timings = []
            for _ in range(5):
                t0 = time.perf_counter()
                rows = db.read_now(compliance_report, start, end, by)
                timings.append(time.perf_counter() - t0)
            total = rows[-1]
            print(f"report June 2026 by {by}: {len(rows) - 1} groups, due {total.due:,}, "
                  f"compliance {total.compliance or 0:.2%}; best {min(timings) * 1000:.0f} ms, "
                  f"median {statistics.median(timings) * 1000:.0f} ms (goal < 1000 ms)")

        ok = True
        for trunks in (int(t) for t in args.trunks.split(",")):
            ok &= claim_round(engine, url, args, trunks)
        engine.dispose()
        return 0 if ok else 1
    finally:
        drop_scratch(admin, DB_NAME, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
