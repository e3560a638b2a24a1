"""A dispatcher killed (SIGKILL) in the middle of a call: its task comes back when the lease
runs out, is dialled again by the restarted dispatcher, and never by two at once. Real
processes, a real TCP link to the simulated Asterisk, the system clock."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine
from schemas.callbacks import (
    AttemptResult,
    CallbackAttempt,
    CallbackMode,
    CallbackOrigin,
    CallbackState,
    CallbackTask,
)

ROOT = Path(__file__).resolve().parents[2]
LEASE_S = 4.0


def start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.callback_queue.processes", *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def read_line(process: subprocess.Popen, prefix: str) -> str:
    while True:
        line = process.stdout.readline()
        assert line, f"process ended before printing {prefix!r}"
        if line.startswith(prefix):
            return line.strip()


def until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def add_task(session) -> int:
    now = dt.datetime.now(dt.timezone.utc)
    task = CallbackTask(citizen_phone="13812345678", origin=CallbackOrigin.RESOLUTION,
                        mode=CallbackMode.AUTOMATED, state=CallbackState.PENDING,
                        window_start=now, due_by=now + dt.timedelta(hours=24),
                        next_attempt_at=now, attempts=0, max_attempts=3, resolved_at=now,
                        created_at=now, updated_at=now)
    session.add(task)
    session.flush()
    return task.id


def attempts(session, task_id):
    return [(a.owner, a.started_at, a.ended_at, a.result) for a in session.scalars(
        select(CallbackAttempt).where(CallbackAttempt.task_id == task_id).order_by(CallbackAttempt.id))]


def lease(session, task_id):
    task = session.get(CallbackTask, task_id)
    return task.state, task.lease_owner, task.lease_until


@pytest.mark.slow
def test_killed_dispatcher_task_is_dialled_again_after_the_lease_and_never_twice_at_once(db_url):
    db = Database(make_engine(DatabaseConfig(url=db_url)), reactor=None, threads=1)
    task_id = db.write_now(add_task)
    processes = []
    try:
        peer = start("peer")
        processes.append(peer)
        port = read_line(peer, "port").split()[1]
        first = start("dispatcher", db_url, port, "first", str(LEASE_S))
        processes.append(first)
        read_line(first, "started")
        state, owner, lease_until = until(
            lambda: (r := db.read_now(lease, task_id))[0] is CallbackState.DIALING and r)
        assert owner == "first"
        read_line(peer, f"originate TASK_ID={task_id}")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = dt.datetime.now(dt.timezone.utc)
        second = start("dispatcher", db_url, port, "second", str(LEASE_S))
        processes.append(second)
        read_line(second, "started")
        rows = until(lambda: len(r := db.read_now(attempts, task_id)) >= 2 and r)
        (first_owner, first_start, first_end, first_result), (second_owner, second_start, _, _) = rows[:2]
        assert (first_owner, second_owner) == ("first", "second")
        assert first_result is AttemptResult.LEASE_EXPIRED
        # Never two calls at once: the second dial starts only after the first lease ran out.
        assert second_start >= lease_until
        assert second_start - first_start >= dt.timedelta(seconds=LEASE_S)
        assert first_end == second_start
        redial = read_line(peer, f"originate TASK_ID={task_id}")
        assert float(redial.split()[2]) >= lease_until.timestamp() - 0.01
        state, owner, _ = db.read_now(lease, task_id)
        assert (state, owner) == (CallbackState.DIALING, "second")
        assert killed_at < lease_until  # it was killed mid-call, its lease still running
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        db.engine.dispose()
