"""What an operator sees of the SMS gateway, database included: messages queued at once, claimed,
submitted over the SMPP link to the project's SMSC simulator, their receipts stored, until every
message is `delivered` (queued -> delivered), with delivery receipts asked for
(`registered_delivery = 1`, every real bind's default).

One process runs the dispatcher, the inbox and the link (pinned to one core); each SMSC
simulator runs in a subprocess (pinned to the other): one sends every receipt 1 ms after the
submit, one after 200 ms. Measured in one run, on SQLite and on PostgreSQL (when
HOTLINE_BENCH_PG_URL or HOTLINE_TEST_PG_URL names a server; a scratch database is created and
dropped), at window 1, 10 and 50:
- receipts on, queued -> delivered, receipts after 1 ms and after 200 ms;
- the baselines: receipts off (queued -> submitted), and smpplib's own blocking `Client`.

Per run it prints the longest stall (the largest gap between two submits), how long the SMSC
waited for its receipts' acknowledgements (median and worst), how many receipts came before
their submit result was recorded (held) and how many of those were left to the 30 s sweep, and
this process's CPU seconds. Each figure is the median of `--runs` runs (default 3). The goal
line at the end says, per database, whether window 50 reached it.

    .venv/bin/python bench/sms_outbox.py [--messages 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import delete, func, select, update
from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ClientEndpoint

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scratch_db  # noqa: E402
import sms_link  # noqa: E402  (the link benchmark's simulator and baseline helpers)

from hotline.clock import SystemClock  # noqa: E402
from hotline.config import DatabaseConfig  # noqa: E402
from hotline.db import Database, make_engine, upgrade  # noqa: E402
from schemas.enums import SmsKind, SmsState  # noqa: E402
from schemas.sms import (  # noqa: E402
    HeldReceiptState,
    SmsHeldReceipt,
    SmsHeldReceiptKey,
    SmsInbound,
    SmsMessage,
    SmsPart,
    SmsPartKey,
)
from sms_gateway import outbox  # noqa: E402
from sms_gateway.dispatcher import DispatchSettings, OutboxDispatcher  # noqa: E402
from sms_gateway.inbox import Inbox  # noqa: E402
from sms_gateway.routing import Router  # noqa: E402
from sms_gateway.smpp import SmppBindConfig, SmppLink  # noqa: E402
from sms_gateway.writer import SmsWriter  # noqa: E402

TEXT = sms_link.TEXT
WINDOWS = (1, 10, 50)
GOAL_RATE = 2000.0  # messages/s queued -> delivered at window 50
GOAL_SHARE = 0.8  # of the same run with receipts off
GOAL_STALL = 0.2  # seconds, the longest gap between two submits
GIVE_UP_S = 120.0


def fill(db: Database, count: int) -> None:
    now = SystemClock().now()

    def work(session):
        for i in range(count):
            outbox.enqueue(session, kind=SmsKind.TEST, destination=sms_link.destination(i),
                           text=TEXT, now=now)
    db.write_now(work)


def reset(db: Database) -> None:
    """Every message back to queued, so each run sends the same rows."""
    def work(session):
        for table in (SmsHeldReceiptKey, SmsHeldReceipt, SmsPartKey, SmsPart, SmsInbound):
            session.execute(delete(table))
        session.execute(update(SmsMessage).values(state=SmsState.QUEUED, attempts=0,
                                                  lease_owner=None, lease_until=None,
                                                  submitted_at=None, finished_at=None,
                                                  link=None))
    db.write_now(work)


def count_in(session, state: SmsState) -> int:
    return session.scalar(select(func.count()).select_from(SmsMessage)
                          .where(SmsMessage.state == state))


def held_counts(session) -> tuple[int, int]:
    """(receipts held at all, receipts still pending: left for the sweep)."""
    held = session.scalar(select(func.count()).select_from(SmsHeldReceipt))
    pending = session.scalar(select(func.count()).select_from(SmsHeldReceipt)
                             .where(SmsHeldReceipt.state == HeldReceiptState.PENDING))
    return held, pending


async def outbox_run(reactor, db: Database, port: int, window: int, count: int,
                     receipts: bool) -> dict:
    reset(db)
    wall = SystemClock()
    writer = SmsWriter(db, wall, reactor, linger_s=0.002)  # shared, as makeService does
    inbox = Inbox(db, wall, writer=writer)
    config = SmppBindConfig(port=port, system_id=sms_link.SYSTEM_ID, password=sms_link.PASSWORD,
                            window=window, rate=1e9, registered_delivery=1 if receipts else 0,
                            response_timeout=30.0, enquire_link_interval=60.0)
    clock = time.perf_counter
    ack_waits: list[float] = []

    def on_receipt(receipt):
        arrived = clock()
        d = inbox.on_receipt(receipt, link.receipt_id_keys(receipt), link="bench")
        d.addCallback(lambda result: (ack_waits.append(clock() - arrived), result)[1])
        return d

    link = SmppLink(config, TCP4ClientEndpoint(reactor, "127.0.0.1", port), reactor,
                    on_receipt=on_receipt, on_message=inbox.on_message, name="bench")
    sent_at: list[float] = []
    send = link.submits._send

    def timed_send(carrier, part):
        sent_at.append(clock())
        return send(carrier, part)

    link.submits._send = timed_send
    link.startService()
    await link.when_available()
    dispatcher = OutboxDispatcher(db, {"bench": link}, Router({}, {}, "bench"), reactor, wall,
                                  DispatchSettings(owner="bench", batch=500, max_in_flight=2000,
                                                   poll_s=0.05), writer=writer)
    target = SmsState.DELIVERED if receipts else SmsState.SUBMITTED
    started, cpu = clock(), time.process_time()
    dispatcher.startService()
    done = 0
    while done < count and clock() - started < GIVE_UP_S:
        await task.deferLater(reactor, 0.01, lambda: None)
        if receipts:
            done = await db.read(count_in, target)
        else:
            done = dispatcher.submitted
    elapsed, cpu = clock() - started, time.process_time() - cpu
    await dispatcher.stopService()
    await link.stopService()
    reached = db.read_now(count_in, target)
    held, pending = db.read_now(held_counts)
    gaps = [b - a for a, b in zip(sent_at, sent_at[1:], strict=False)]
    worst = max(range(len(gaps)), key=gaps.__getitem__, default=0)
    return {"window": window, "messages": count, "reached": reached, "seconds": elapsed,
            "cpu": cpu, "stall": max(gaps, default=0.0),
            "stall_after": sent_at[worst] - started if gaps else 0.0,  # s into the run
            "ack_median": statistics.median(ack_waits) if ack_waits else 0.0,
            "ack_max": max(ack_waits, default=0.0), "acked": len(ack_waits), "held": held,
            "swept": pending}


def median_row(rows: list[dict]) -> dict:
    row = {key: statistics.median(r[key] for r in rows) for key in rows[0]}
    row["rate"] = statistics.median(r["reached"] / r["seconds"] for r in rows)
    row["complete"] = all(r["reached"] == r["messages"] for r in rows)
    return row


def print_rows(title: str, rows: list[tuple[str, dict]]) -> None:
    print()
    print(title)
    print(f"{'run':<40} {'msg/s':>7} {'stall ms':>9} {'ack ms med/max':>15} {'held':>6} "
          f"{'to sweep':>8} {'cpu s':>6} {'sim cpu':>7}")
    for name, row in rows:
        ack = f"{row.get('ack_median', 0) * 1000:.0f}/{row.get('ack_max', 0) * 1000:.0f}" \
            if "ack_median" in row else "-"
        stall = f"{row['stall'] * 1000:.0f}" if "stall" in row else "-"
        held = f"{row['held']:.0f}" if "held" in row else "-"
        swept = f"{row['swept']:.0f}" if "swept" in row else "-"
        note = "" if row.get("complete", True) else f"  INCOMPLETE after {GIVE_UP_S:.0f}s"
        print(f"{name:<40} {row['rate']:>7.0f} {stall:>9} {ack:>15} {held:>6} {swept:>8} "
              f"{row['cpu']:>6.2f} {row['sim_cpu']:>7.2f}{note}")


def databases():
    scratch = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    yield "SQLite", f"sqlite:///{scratch}/bench.sqlite3"
    pg = os.environ.get("HOTLINE_BENCH_PG_URL") or os.environ.get("HOTLINE_TEST_PG_URL")
    if pg:
        name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
        admin, url = scratch_db.create_scratch(pg, name)
        try:
            yield "PostgreSQL", url
        finally:
            scratch_db.drop_scratch(admin, name)
    else:
        print("(PostgreSQL skipped: set HOTLINE_BENCH_PG_URL or HOTLINE_TEST_PG_URL)")


def start_simulator(receipt_delay: float):
    """A simulator subprocess sending each receipt `receipt_delay` s after its submit."""
    process, port = sms_link.start_simulator(receipt_delay=receipt_delay)
    os.sched_setaffinity(process.pid, {1})
    return process, port


async def repeated(simulator, runs: int, run) -> dict:
    rows = []
    for _ in range(runs):
        rows.append(await sms_link.measured_async(simulator, run))
    return median_row(rows)


async def main(reactor, args) -> None:
    quick, quick_port = start_simulator(0.001)
    slow, slow_port = start_simulator(0.2)
    goals = []
    try:
        os.sched_setaffinity(0, {0})
        print(f"{args.messages} one-part messages queued at once, medians of {args.runs} runs; "
              "this process on core 0, the simulators on core 1")
        base = [sms_link.measured(quick, lambda: sms_link.baseline(quick_port, args.messages))
                for _ in range(args.runs)]
        baseline = {"rate": statistics.median(r["pdus"] / r["seconds"] for r in base),
                    "cpu": statistics.median(r["cpu"] for r in base),
                    "sim_cpu": statistics.median(r["sim_cpu"] for r in base)}
        for label, url in databases():
            db = Database(make_engine(DatabaseConfig(url=url, pool_threads=4)), reactor,
                          threads=4)
            upgrade(db.engine)
            db.startService()
            fill(db, args.messages)
            rows: list[tuple[str, dict]] = [("smpplib Client, receipts off", baseline)]
            off, on = {}, {}
            for window in WINDOWS:
                off[window] = await repeated(quick, args.runs, lambda w=window, db=db: outbox_run(
                    reactor, db, quick_port, w, args.messages, receipts=False))
                rows.append((f"receipts off, window {window} (submitted)", off[window]))
            for delay, simulator, port in (("1 ms", quick, quick_port),
                                           ("200 ms", slow, slow_port)):
                for window in WINDOWS:
                    row = await repeated(simulator, args.runs, lambda w=window, p=port, db=db: outbox_run(
                        reactor, db, p, w, args.messages, receipts=True))
                    on[(delay, window)] = row
                    rows.append((f"receipts on ({delay}), window {window}", row))
            print_rows(f"On {label}: queued -> delivered (receipts off: -> submitted)", rows)
            db.stopService()
            for delay in ("1 ms", "200 ms"):
                row = on[(delay, 50)]
                share = row["rate"] / off[50]["rate"]
                met = (row["rate"] >= GOAL_RATE and share >= GOAL_SHARE
                       and row["stall"] <= GOAL_STALL and row["swept"] == 0 and row["complete"])
                goals.append(f"{label}, receipts after {delay}, window 50: {row['rate']:.0f} msg/s "
                             f"(goal {GOAL_RATE:.0f}), {share:.0%} of receipts off (goal "
                             f"{GOAL_SHARE:.0%}), longest stall {row['stall'] * 1000:.0f} ms "
                             f"(goal {GOAL_STALL * 1000:.0f}), {row['swept']:.0f} left to the "
                             f"sweep (goal 0): {'MET' if met else 'NOT MET'}")
    finally:
        for simulator in (quick, slow):
            simulator.terminate()
            simulator.wait(10)
    print()
    print("Goal:")
    for line in goals:
        print("  " + line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", help="one case, for profiling: e.g. 'on 1 ms 50' or 'off 50'")
    arguments = parser.parse_args()
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, arguments)))
