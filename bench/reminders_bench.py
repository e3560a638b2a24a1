"""Reminder import and planning: rows per second, and memory that does not grow with the file.

For 10,000 and 100,000 rows, on SQLite and on PostgreSQL (when HOTLINE_BENCH_PG_URL or
HOTLINE_TEST_PG_URL names a server; a scratch database is created and dropped), each case in
a fresh process and a fresh database:

1. a vehicle-reminder CSV is generated (streamed to a temporary file);
2. `import_stream` imports it (what `hotline reminders import` runs), timed;
3. the same file is imported again under tracemalloc: nothing new, and the peak of Python
   allocations while streaming it (the memory the import holds);
4. the planner plans every reminder (each has a stage due: due dates 1-25 days ahead), timed;
5. the process's peak RSS after each phase.

    .venv/bin/python bench/reminders_bench.py [--rows 10000 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_csv(path: Path, rows: int, today: dt.date) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("phone,due_date,plate\n")
        for n in range(rows):
            due = today + dt.timedelta(days=1 + n % 25)
            out.write(f"139{n:08d},{due.isoformat()},鲁Q{n % 100000:05d}{'' if n < 100000 else 'X'}\n")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(backend: str, url: str, rows: int) -> dict:
    from zoneinfo import ZoneInfo

    from hotline.clock import SystemClock
    from hotline.config import Config, DatabaseConfig
    from hotline.db import Database, make_engine, upgrade
    from schemas.messaging import ReminderKind
    from sms_gateway.messages.config import MessagesConfig
    from sms_gateway.messages.reminders import import_stream
    from sms_gateway.messages.service import build

    engine = make_engine(DatabaseConfig(url=url))
    upgrade(engine)
    db = Database(engine, reactor=None, threads=1)
    zone = ZoneInfo("Asia/Shanghai")
    # Daytime, so that quiet hours move nothing; a cap high enough not to matter here.
    now = dt.datetime.combine(SystemClock().now().astimezone(zone).date(), dt.time(10),
                              tzinfo=zone).astimezone(dt.timezone.utc)
    parts = build(Config(), zone, MessagesConfig(daily_cap=100))
    result = {"backend": backend, "rows": rows, "rss_start_mib": round(peak_rss_mib(), 1)}
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "vehicles.csv"
        write_csv(path, rows, now.astimezone(zone).date())
        result["file_mib"] = round(path.stat().st_size / 2**20, 1)

        started = time.perf_counter()
        with path.open(encoding="utf-8", newline="") as lines:
            summary = import_stream(db.write_now, lines, ReminderKind.VEHICLE, parts.plan, now)
        elapsed = time.perf_counter() - started
        assert summary.inserted == rows and summary.bad == 0, summary
        result.update(import_s=round(elapsed, 2), import_rows_per_s=round(rows / elapsed),
                      rss_after_import_mib=round(peak_rss_mib(), 1))

        tracemalloc.start()
        started = time.perf_counter()
        with path.open(encoding="utf-8", newline="") as lines:
            again = import_stream(db.write_now, lines, ReminderKind.VEHICLE, parts.plan, now)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert again.inserted == 0 and again.known == rows, again
        result.update(reimport_traced_s=round(elapsed, 2),
                      reimport_traced_peak_mib=round(peak / 2**20, 2))

    started = time.perf_counter()
    queued = 0
    batch = parts.config.planner_batch
    while True:
        round_ = db.write_now(parts.planner.plan_due, now, batch)
        queued += round_.queued
        if round_.examined < batch:
            break
    elapsed = time.perf_counter() - started
    assert queued == rows, queued
    result.update(plan_s=round(elapsed, 2), plan_rows_per_s=round(rows / elapsed),
                  rss_after_plan_mib=round(peak_rss_mib(), 1))
    engine.dispose()
    return result


def scratch_pg(server_url: str):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--case", nargs=3, metavar=("BACKEND", "URL", "ROWS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        backend, url, rows = args.case
        print(json.dumps(run_case(backend, url, int(rows))))
        return
    pg = os.environ.get("HOTLINE_BENCH_PG_URL") or os.environ.get("HOTLINE_TEST_PG_URL")
    results = []
    for backend in ["sqlite"] + (["postgresql"] if pg else []):
        for rows in args.rows:
            with tempfile.TemporaryDirectory() as scratch:
                drop = None
                if backend == "sqlite":
                    url = f"sqlite:///{scratch}/bench.sqlite3"
                else:
                    url, drop = scratch_pg(pg)
                try:
                    out = subprocess.run([sys.executable, __file__, "--case", backend, url,
                                          str(rows)], cwd=ROOT, check=True, capture_output=True,
                                         text=True).stdout
                finally:
                    if drop:
                        drop()
            results.append(json.loads(out.strip().splitlines()[-1]))
            print(json.dumps(results[-1]), file=sys.stderr)
    columns = ["backend", "rows", "file_mib", "import_rows_per_s", "plan_rows_per_s",
               "reimport_traced_peak_mib", "rss_start_mib", "rss_after_import_mib",
               "rss_after_plan_mib"]
    print(" | ".join(columns))
    for result in results:
        print(" | ".join(str(result[c]) for c in columns))


if __name__ == "__main__":
    main()
