"""The agents' card and appeal search on 1,000,000 appeals (issue 7: p95 < 100 ms).

Creates its own PostgreSQL database (`hotline_web_bench`, dropped at the end), migrates it to
the revision before the search indexes (0009), and loads with INSERT ... SELECT
generate_series, in a few tens of seconds:

- 40 units; 1,000,000 appeals over three years (913 a day, case numbers as the service draws
  them), statuses by age (received/assigned/in progress in the last days, resolved and
  closed before, three quarters of the finished ones rated);
- about 280,000 distinct citizen numbers, skewed: 79 % of appeals spread over 300,000
  numbers, 20 % over 5,000 frequent callers (about 40 each), 1 % over 20 callers with about
  500 each (cards are timed for each kind of caller);
- two call records per appeal (2,000,000; the caller id in the three forms the IVR stores),
  an SMS acknowledgement per appeal and a survey per rated one in two (about 1,370,000), and
  the citizens' survey replies (about 370,000).

Then ANALYZE, and each shape of request is timed with random arguments (a fixed seed):

- before: the query functions as they were (agents/queries.py at BASELINE_COMMIT, loaded
  from git) on the schema without 0009, called like the handlers call them
  (`Database.write_now`: one transaction, audit row included);
- after: the same with the current functions after `alembic upgrade head`;
- after, HTTP: the request through `WebApp.handle` (the Browser helper of the page tests:
  session cookie, routing, the handler, `Database.write` in its thread pool, the template
  rendered), and the share of it spent in SQL.

    .venv/bin/python bench/web_queries.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--appeals 1000000] [--samples 500] [--explain] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch_db import create_scratch, drop_scratch  # noqa: E402  # bench/, beside this script
from sqlalchemy import event, text  # noqa: E402

DB_NAME = "hotline_web_bench"
BASELINE_COMMIT = "61b22c3"  # agents/queries.py before the search and card work of issue 7
OUR_REVISION = "0009"
GOAL_MS = 100.0
ZONE = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Shanghai
DAYS = 1096
FIRST_DAY = NOW.astimezone(ZONE).date() - dt.timedelta(days=DAYS)
UNITS = 40
STATUSES = ("received", "assigned", "in_progress", "resolved", "closed")

LOAD_APPEALS = """
INSERT INTO appeals (id, case_number, channel, kind, status, subject, body, citizen_phone,
                     unit_id, agent_id, call_id, deadline_at, resolution, satisfaction,
                     reopen_count, created_at, updated_at, resolved_at, closed_at)
SELECT i, to_char(day, 'YYYYMMDD') || lpad(seq::text, 5, '0'),
       (ARRAY['phone','phone','phone','voice_message','web','sms'])[1 + i % 6],
       (ARRAY['consultation','help','complaint','report','approval_progress','dispute'])[1 + (i / 7) % 6],
       status, '基准测试诉求 ' || i, '', phone,
       CASE WHEN status <> 'received' THEN 1 + floor(r4 * :units)::int END,
       1 + i % 10, 'c' || i || '-0', t + interval '5 days',
       CASE WHEN status IN ('resolved', 'closed') THEN '已处理' END,
       CASE WHEN status IN ('resolved', 'closed') AND r5 < 0.75 THEN
            CASE WHEN r5 < 0.6 THEN 'satisfied' WHEN r5 < 0.72 THEN 'basically_satisfied'
                 ELSE 'dissatisfied' END END,
       0, t, t, CASE WHEN status IN ('resolved', 'closed') THEN t + interval '2 days' END,
       CASE WHEN status = 'closed' THEN t + interval '3 days' END
FROM (SELECT i, day, seq, r4, r5,
             (day + seq * (86400.0 / :per_day) * interval '1 second') AT TIME ZONE 'Asia/Shanghai' AS t,
             '139' || lpad((CASE WHEN r1 < 0.01 THEN floor(r2 * 20)
                                 WHEN r1 < 0.21 THEN 20 + floor(r2 * 5000)
                                 ELSE floor(r2 * 300000) END)::int::text, 8, '0') AS phone,
             CASE WHEN age < 3 THEN (CASE WHEN r3 < 0.4 THEN 'received' WHEN r3 < 0.7 THEN 'assigned'
                                          ELSE 'in_progress' END)
                  WHEN age < 30 THEN (CASE WHEN r3 < 0.1 THEN 'assigned' WHEN r3 < 0.35 THEN 'in_progress'
                                           WHEN r3 < 0.7 THEN 'resolved' ELSE 'closed' END)
                  ELSE (CASE WHEN r3 < 0.08 THEN 'resolved' ELSE 'closed' END) END AS status
      FROM (SELECT i, CAST(:first_day AS date) + (i - 1) / :per_day AS day,
                   (i - 1) % :per_day + 1 AS seq, :days - (i - 1) / :per_day AS age,
                   random() AS r1, random() AS r2, random() AS r3, random() AS r4,
                   random() AS r5
            FROM generate_series(1, :n) AS i) AS g) AS s
"""

# Two calls per appeal: the one that opened it, and one a few days later (not linked).
LOAD_CALLS = """
INSERT INTO call_records (call_id, flow, caller, dnid, started_at, ended_at, path,
                          menu_choice, outcome, appeal_id)
SELECT 'c' || a.id || '-' || k, 'hotline',
       (ARRAY[a.citizen_phone, '+86' || a.citizen_phone, '86' || a.citizen_phone])[1 + (a.id + k) % 3],
       '9600110', a.created_at - interval '4 minutes' + k * (1 + a.id % 9) * interval '1 day',
       a.created_at - interval '1 minute' + k * (1 + a.id % 9) * interval '1 day',
       'greeting>menu', (ARRAY['consultation','help','complaint','approval_progress'])[1 + (a.id + k) % 4],
       (ARRAY['to_queue','query_answered','message_left','abandoned'])[1 + (a.id * 7 + k) % 4],
       CASE WHEN k = 0 THEN a.id END
FROM appeals a CROSS JOIN generate_series(0, 1) AS k
"""

LOAD_SMS = """
INSERT INTO sms_messages (kind, lane, destination, text, state, attempts, not_before,
                          appeal_id, created_at, submitted_at, finished_at)
SELECT kind, 0, destination, text, 'delivered', 1, at, id, at, at, at + interval '5 seconds'
FROM (SELECT 'appeal_received' AS kind, citizen_phone AS destination, id,
             '您的诉求已受理，工单编号' || case_number AS text, created_at + interval '1 minute' AS at
      FROM appeals
      UNION ALL
      SELECT 'survey', CASE WHEN id % 4 = 0 THEN '+86' || citizen_phone ELSE citizen_phone END, id,
             '请对工单' || case_number || '的办理评价：1满意 2基本满意 3不满意',
             resolved_at + interval '1 day'
      FROM appeals WHERE satisfaction IS NOT NULL AND id % 2 = 0) AS m
"""

LOAD_REPLIES = """
INSERT INTO sms_inbound (source, destination, text, parts, received_at, state, appeal_id,
                         handled_at)
SELECT CASE WHEN id % 3 = 0 THEN '86' || citizen_phone ELSE citizen_phone END, '10699600110',
       CASE satisfaction WHEN 'satisfied' THEN '1' WHEN 'basically_satisfied' THEN '2' ELSE '3' END,
       1, resolved_at + interval '1 day 10 minutes', 'rated', id,
       resolved_at + interval '1 day 10 minutes'
FROM appeals WHERE satisfaction IS NOT NULL AND id % 2 = 0
"""



def revision_before_ours() -> str:
    """The revision our indexes rest on (the baseline schema), or head while 0009 is absent."""
    from alembic.script import ScriptDirectory

    from hotline.db import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    try:
        ours = scripts.get_revision(OUR_REVISION)
    except Exception:
        ours = None
    return ours.down_revision if ours is not None else scripts.get_current_head()


def load(engine, appeals: int) -> None:
    per_day = -(-appeals // DAYS)
    began = time.perf_counter()
    with engine.begin() as connection:
        # Foreign keys unchecked while loading (rows that reference each other by
        # construction): the per-row triggers would double the load time.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text("SELECT setseed(0.7)"))
        connection.execute(text(
            "INSERT INTO units (id, code, name, kind, active) SELECT i, 'PS' || lpad(i::text, 2, '0'), "
            "'派出所' || i, 'station', true FROM generate_series(1, :units) AS i"), {"units": UNITS})
        connection.execute(text(
            "INSERT INTO agents (id, username, display_name, role, active, created_at) "
            "SELECT i, 'seed' || i, '坐席' || i, 'agent', true, now() FROM generate_series(1, 10) AS i"))
        steps = [("appeals", LOAD_APPEALS), ("call_records", LOAD_CALLS),
                 ("sms_messages", LOAD_SMS), ("sms_inbound", LOAD_REPLIES)]
        for table, sql in steps:
            t0 = time.perf_counter()
            count = connection.execute(text(sql), {
                "n": appeals, "per_day": per_day, "days": DAYS - 1, "first_day": FIRST_DAY,
                "units": UNITS}).rowcount
            print(f"  {table}: {count:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
        for table in ("units", "agents", "appeals"):
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT max(id) FROM {table}))"))
    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    print(f"  VACUUM ANALYZE in {time.perf_counter() - t0:.1f} s; "
          f"loaded in {time.perf_counter() - began:.1f} s", flush=True)


# -- what is timed ---------------------------------------------------------------------------

@dataclass
class Shape:
    name: str
    kind: str  # card, search or api
    samples: list
    baseline: bool = True  # the request existed before (a page beyond the first did not)
    timings: dict[str, list[float]] = field(default_factory=dict)  # phase -> seconds
    sql: list[float] = field(default_factory=list)  # seconds in SQL, per HTTP request
    cpu: list[float] = field(default_factory=list)  # this process's CPU, per HTTP request


def pick_samples(engine, n: int, rng: random.Random) -> list[Shape]:
    with engine.connect() as connection:
        def column(sql: str, **params) -> list:
            return list(connection.execute(text(sql), params).scalars())

        frequent = column("SELECT citizen_phone FROM appeals GROUP BY citizen_phone "
                          "HAVING count(*) >= 20")
        heaviest = column("SELECT citizen_phone FROM appeals GROUP BY citizen_phone "
                          "HAVING count(*) >= 200")
        rare = column("SELECT citizen_phone FROM appeals GROUP BY citizen_phone "
                      "HAVING count(*) <= 2 LIMIT 50000")
        often, seldom = rng.sample(frequent, min(n, len(frequent))), rng.sample(rare, n)
        heavy = [rng.choice(heaviest) for _ in range(n)] if heaviest else []
        latest = dict(connection.execute(text(
            "SELECT DISTINCT ON (citizen_phone) citizen_phone, id FROM appeals "
            "WHERE citizen_phone = ANY(:phones) ORDER BY citizen_phone, id DESC"),
            {"phones": often + seldom + heavy}).all())
        count = connection.execute(text("SELECT max(id) FROM appeals")).scalar()
        cases = column("SELECT case_number FROM appeals WHERE id = ANY(:ids)",
                       ids=rng.sample(range(1, count + 1), n))
        rng.shuffle(cases)
    print(f"  samples: {len(heaviest):,} callers with 200 appeals or more, "
          f"{len(frequent):,} with 20 or more, "
          f"{len(rare):,} (at most 50,000 read) with one or two", flush=True)
    half = n // 2

    def period() -> dict[str, str]:
        start = FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS - 30))
        return {"unit_id": str(rng.randint(1, UNITS)), "date_from": start.isoformat(),
                "date_to": (start + dt.timedelta(days=29)).isoformat()}

    # A card for the call just answered: the caller's number and the IVR's call id.
    card = lambda phone: (phone, f"c{latest[phone]}-0")  # noqa: E731
    return [
        Shape("card: frequent caller (20+ appeals)", "card", [card(p) for p in often]),
        Shape("card: rare caller (1-2 appeals)", "card", [card(p) for p in seldom]),
        Shape("card: the 20 heaviest callers (~500 appeals)", "card", [card(p) for p in heavy]),
        Shape("search: phone", "search", [{"phone": p} for p in often[:half] + seldom[:half]]),
        Shape("search: case number", "search", [{"case_number": c} for c in cases]),
        Shape("search: case number prefix (a day)", "search",
              [{"case_number": c[:8]} for c in cases]),
        Shape("search: unit + status", "search",
              [{"unit_id": str(rng.randint(1, UNITS)), "status": rng.choice(STATUSES)}
               for _ in range(n)]),
        Shape("search: unit + 30 days", "search", [period() for _ in range(n)]),
        Shape("search: status (first page)", "search",
              [{"status": rng.choice(STATUSES)} for _ in range(n)]),
        Shape("search: status, page 20", "search",
              [{"status": rng.choice(("resolved", "closed")), "page": "20"} for _ in range(n)],
              baseline=False),
        Shape("API: status by case number", "api", list(cases)),
    ]


class SqlTimer:
    """Time spent in the database driver, summed over the statements of one request."""

    def __init__(self, engine) -> None:
        self.seconds = 0.0
        self.selects: list[tuple[str, object]] | None = None  # recorded for EXPLAIN
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()
        if self.selects is not None and statement.lstrip().upper().startswith("SELECT"):
            self.selects.append((statement, parameters))

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.seconds += time.perf_counter() - conn.info.pop("bench_t0")


def call_function(db, queries: ModuleType, shape: Shape, sample, repository) -> None:
    from agents import api

    if shape.kind == "card":
        phone, call_id = sample
        card = db.write_now(queries.caller_card, phone, actor="bench", now=NOW, call_id=call_id)
        assert card.open_appeals or card.past_appeals, phone
    elif shape.kind == "search":
        criteria = queries.parse_search(sample)
        run = db.write_now if criteria.phone else db.read_now
        run(queries.search_appeals, criteria, ZONE, actor="bench", now=NOW)
    else:
        db.write_now(api.read_status, repository, sample, now=NOW)


def http_path(shape: Shape, sample) -> str:
    from urllib.parse import urlencode

    if shape.kind == "card":
        phone, call_id = sample
        return f"/callers/{phone}?call_id={call_id}"
    if shape.kind == "search":
        return "/appeals?" + urlencode(sample)
    return f"/api/v1/appeals/{sample}"


def explain(db, timer: SqlTimer, work) -> list[str]:
    """EXPLAIN ANALYZE of every SELECT that `work` ran (run again, in a rolled-back
    transaction)."""
    timer.selects = []
    work()
    statements, timer.selects = timer.selects, None
    plans = []
    with db.engine.connect() as connection:
        for statement, parameters in statements:
            rows = connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters).scalars()
            plans.append(" ".join(statement.split())[:160] + "\n    " + "\n    ".join(rows))
        connection.rollback()
    return plans


def time_functions(db, queries: ModuleType, shapes: list[Shape], phase: str, samples: int,
                   timer: SqlTimer, show_plans: bool) -> None:
    from tests.support.appeals import make_repository

    repository = make_repository()
    for shape in shapes:
        if not shape.samples or (phase == "before" and not shape.baseline):
            continue
        timings = shape.timings.setdefault(phase, [])
        for sample in shape.samples[:samples]:
            t0 = time.perf_counter()
            call_function(db, queries, shape, sample, repository)
            timings.append(time.perf_counter() - t0)
        if show_plans:
            print(f"\n### {phase}: {shape.name}")
            for plan in explain(db, timer, lambda shape=shape: call_function(
                    db, queries, shape, shape.samples[0], repository)):
                print(plan)
        print(f"  {phase}: {shape.name}: {summary(timings)}", flush=True)


def time_http(engine, shapes: list[Shape], timer: SqlTimer) -> None:
    """Through `WebApp.handle` as the page tests drive it (tests/agents/support.py)."""
    from hotline.db import Database
    from schemas.enums import AgentRole
    from tests.agents.support import (
        API_TOKEN,
        Browser,
        SettableClock,
        create_agent,
        make_app,
        make_core,
    )
    from tests.support.threads import PumpedReactor

    reactor = PumpedReactor()
    db = Database(engine, reactor, threads=4)
    db.startService()
    try:
        core = make_core(db, reactor, SettableClock(NOW))
        create_agent(db, "bench", AgentRole.AGENT)
        browser = Browser(make_app(core), reactor)
        assert browser.login("bench").status == 303
        api = Browser(browser.app, reactor, headers={"authorization": f"Bearer {API_TOKEN}"})
        for shape in (s for s in shapes if s.samples):
            client = api if shape.kind == "api" else browser
            timings = shape.timings.setdefault("http", [])
            for sample in shape.samples:
                timer.seconds = 0.0
                c0, t0 = time.process_time(), time.perf_counter()
                result = client.get(http_path(shape, sample))
                timings.append(time.perf_counter() - t0)
                shape.cpu.append(time.process_time() - c0)
                shape.sql.append(timer.seconds)
                assert result.status == 200, (shape.name, sample, result.status)
            print(f"  http: {shape.name}: {summary(timings)}", flush=True)
    finally:
        db.stopService()


def percentiles(timings: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(timings, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


def summary(timings: list[float]) -> str:
    p50, p95, p99 = percentiles(timings)
    return f"n={len(timings)} p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms"


def table(shapes: list[Shape]) -> str:
    def cell(timings: list[float] | None) -> str:
        if not timings:
            return "—"
        return " / ".join(f"{v:.1f}" for v in percentiles(timings))

    lines = ["| request | before: functions, ms p50 / p95 / p99 | after: functions | "
             "after: HTTP handler | in SQL (HTTP, p50) | Python CPU (HTTP, p50 ms) | "
             "p95 < 100 ms |", "|---|---|---|---|---|---|---|"]
    for shape in (s for s in shapes if s.samples):
        http = shape.timings.get("http")
        share = statistics.median(s / t for s, t in zip(shape.sql, http, strict=False)) if http else None
        worst = max(percentiles(t)[1] for t in (shape.timings.get("after"), http) if t)
        lines.append(f"| {shape.name} | {cell(shape.timings.get('before'))} | "
                     f"{cell(shape.timings.get('after'))} | {cell(http)} | "
                     f"{f'{share:.0%}' if share is not None else '—'} | "
                     f"{statistics.median(shape.cpu) * 1000:.1f} | "
                     f"{'yes' if worst < GOAL_MS else '**no**'} |")
    return "\n".join(lines)


def baseline_queries() -> ModuleType:
    """agents/queries.py as it was at BASELINE_COMMIT, imported from git."""
    source = subprocess.run(["git", "show", f"{BASELINE_COMMIT}:agents/queries.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    module = ModuleType("baseline_queries")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{BASELINE_COMMIT}:agents/queries.py", "exec"), module.__dict__)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("HOTLINE_TEST_PG_URL")
                        or "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=500, help="requests of each shape")
    parser.add_argument("--baseline-samples", type=int, default=100,
                        help="requests of each shape before (the slow ones take 0.3 s each)")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN ANALYZE of each shape's statements, both phases")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from agents import queries
    from hotline.config import DatabaseConfig
    from hotline.db import Database, make_engine, upgrade

    admin, url = create_scratch(args.url, DB_NAME)
    try:
        engine = make_engine(DatabaseConfig(url=url, pool_threads=4))
        before = revision_before_ours()
        upgrade(engine, before)
        print(f"schema at {before}; loading {args.appeals:,} appeals", flush=True)
        load(engine, args.appeals)
        shapes = pick_samples(engine, args.samples, random.Random(args.seed))
        timer = SqlTimer(engine)
        db = Database(engine, reactor=None, threads=1)

        time_functions(db, baseline_queries(), shapes, "before", args.baseline_samples, timer,
                       args.explain)
        t0 = time.perf_counter()
        upgrade(engine)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE appeals"))
        print(f"alembic upgrade head (the search indexes on {args.appeals:,} appeals): "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        time_functions(db, queries, shapes, "after", args.samples, timer, args.explain)
        time_http(engine, shapes, timer)
        print()
        print(table(shapes))
        engine.dispose()
        return 0
    finally:
        drop_scratch(admin, DB_NAME, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
