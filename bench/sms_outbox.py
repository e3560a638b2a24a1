"""Submit throughput from the outbox, database included: rows claimed, submitted over the
SMPP link to the simulator, and their part ids recorded, until every message is `submitted`.

One process runs the dispatcher and the link (pinned to one core); the SMSC simulator runs
in a subprocess (pinned to the other). Measured in one run, on SQLite and on PostgreSQL
(when HOTLINE_BENCH_PG_URL or HOTLINE_TEST_PG_URL names a server; a scratch database is
created and dropped): the outbox at window 1, 10 and 50, and the baseline, smpplib's own
blocking `Client` sending the same number of messages to the same simulator.

    .venv/bin/python bench/sms_outbox.py [--messages 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, delete, func, select, text, update
from sqlalchemy.engine import make_url
from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ClientEndpoint

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sms_link  # noqa: E402  (the link benchmark's simulator and baseline helpers)

from hotline.clock import SystemClock  # noqa: E402
from hotline.config import DatabaseConfig  # noqa: E402
from hotline.db import Database, make_engine, upgrade  # noqa: E402
from schemas.enums import SmsKind, SmsState  # noqa: E402
from schemas.sms import SmsMessage, SmsPart, SmsPartKey  # noqa: E402
from sms_gateway import outbox  # noqa: E402
from sms_gateway.dispatcher import DispatchSettings, OutboxDispatcher  # noqa: E402
from sms_gateway.routing import Router  # noqa: E402
from sms_gateway.smpp import SmppBindConfig, SmppLink  # noqa: E402

TEXT = sms_link.TEXT


def fill(db: Database, count: int) -> None:
    now = SystemClock().now()

    def work(session):
        for i in range(count):
            outbox.enqueue(session, kind=SmsKind.TEST, destination=sms_link.destination(i),
                           text=TEXT, now=now)
    db.write_now(work)


def reset(db: Database) -> None:
    """Every message back to queued, so each window sends the same rows."""
    def work(session):
        session.execute(delete(SmsPartKey))
        session.execute(delete(SmsPart))
        session.execute(update(SmsMessage).values(state=SmsState.QUEUED, attempts=0,
                                                  lease_owner=None, lease_until=None,
                                                  submitted_at=None, link=None))
    db.write_now(work)


def count_submitted(session) -> int:
    return session.scalar(select(func.count()).select_from(SmsMessage)
                          .where(SmsMessage.state == SmsState.SUBMITTED))


async def outbox_run(reactor, db: Database, port: int, window: int, count: int) -> dict:
    reset(db)
    config = SmppBindConfig(port=port, system_id=sms_link.SYSTEM_ID, password=sms_link.PASSWORD,
                            window=window, rate=1e9, registered_delivery=0,
                            response_timeout=30.0, enquire_link_interval=60.0)
    link = SmppLink(config, TCP4ClientEndpoint(reactor, "127.0.0.1", port), reactor,
                    on_receipt=lambda r: defer.succeed(None),
                    on_message=lambda m: defer.succeed(None), name="bench")
    link.startService()
    await link.when_available()
    dispatcher = OutboxDispatcher(db, {"bench": link}, Router({}, {}, "bench"), reactor,
                                  SystemClock(), DispatchSettings(owner="bench", batch=500,
                                                                  max_in_flight=2000,
                                                                  poll_s=0.05))
    started, cpu = time.perf_counter(), time.process_time()
    dispatcher.startService()
    while dispatcher.submitted < count:
        await task.deferLater(reactor, 0.02, lambda: None)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await dispatcher.stopService()
    await link.stopService()
    assert db.read_now(count_submitted) == count
    return {"name": f"outbox -> SmppLink window {window}", "window": window, "pdus": count,
            "seconds": elapsed, "cpu": cpu}


def databases():
    scratch = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    yield "SQLite", f"sqlite:///{scratch}/bench.sqlite3", None
    pg = os.environ.get("HOTLINE_BENCH_PG_URL") or os.environ.get("HOTLINE_TEST_PG_URL")
    if pg:
        server = make_url(pg).set(drivername="postgresql+psycopg")
        name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield "PostgreSQL", server.set(database=name).render_as_string(False), None
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        print("(PostgreSQL skipped: set HOTLINE_BENCH_PG_URL or HOTLINE_TEST_PG_URL)")


async def main(reactor, args) -> None:
    simulator, port = sms_link.start_simulator()
    try:
        os.sched_setaffinity(simulator.pid, {1})
        os.sched_setaffinity(0, {0})
        print(f"{args.messages} one-part messages; this process on core 0, simulator on core 1")
        base = sms_link.measured(simulator, lambda: sms_link.baseline(port, args.messages))
        for label, url, _ in databases():
            db = Database(make_engine(DatabaseConfig(url=url, pool_threads=4)), reactor, threads=4)
            upgrade(db.engine)
            db.startService()
            fill(db, args.messages)
            rows = [base]
            for window in (1, 10, 50):
                rows.append(await sms_link.measured_async(
                    simulator, lambda w=window, db=db: outbox_run(reactor, db, port, w, args.messages)))
            sms_link.print_table(f"From the outbox on {label} (database included)", rows, 0)
            db.stopService()
    finally:
        simulator.terminate()
        simulator.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10000)
    arguments = parser.parse_args()
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, arguments)))
