"""The planner service: rounds on the injected reactor clock; on PostgreSQL one process
plans (the advisory lock) and another takes over when it dies."""

from __future__ import annotations

import datetime as dt
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select
from twisted.internet import defer, task
from twisted.logger import capturedLogs, formatEvent

from hotline.clock import SystemClock
from hotline.config import DatabaseConfig
from hotline.db import make_engine
from schemas.messaging import ReminderKind
from schemas.sms import SmsMessage
from sms_gateway.messages.planner import PlannerService, planner_lock
from sms_gateway.messages.reminders import ReminderRow, insert_reminders
from tests.sms_gateway.messages.support import messaging, shanghai
from tests.support.processes import ROOT

PG = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
NOW = shanghai(2026, 11, 30, 10, 0)


class FixedClock:
    def __init__(self, now):
        self.value = now

    def now(self):
        return self.value


def reminders(count, start=0, due=None):
    due = due or dt.date(2026, 12, 3)
    return [ReminderRow(n, ReminderKind.VEHICLE, f"鲁Q{n:05d}", due, f"1391234{n:04d}",
                        plate=f"鲁Q{n:05d}") for n in range(start, start + count)]


def message_count(session):
    return session.scalar(select(func.count()).select_from(SmsMessage))


def test_the_planner_plans_at_start_and_every_poll_on_the_reactor_clock(database,
                                                                        pumped_reactor):
    parts = messaging()
    wall, clock = FixedClock(NOW), task.Clock()
    database.write_now(insert_reminders, reminders(120), parts.plan, NOW)
    planner = PlannerService(database, parts.planner, wall=wall, clock=clock, poll_s=60, batch=50)
    with capturedLogs() as events:
        planner.startService()
        try:
            pumped_reactor.pump(lambda: planner.rounds == 1)
            assert database.read_now(message_count) == 120 and planner.leader
            database.write_now(insert_reminders, reminders(5, start=200), parts.plan, NOW)
            clock.advance(59)
            assert planner.rounds == 1
            clock.advance(1)
            pumped_reactor.pump(lambda: planner.rounds == 2)
        except TimeoutError:
            raise AssertionError(f"rounds {planner.rounds}, calls {clock.getDelayedCalls()}, "
                                 f"logged {[formatEvent(e) for e in events]}") from None
    assert database.read_now(message_count) == 125
    pumped_reactor.wait(planner.stopService())


@PG
def test_a_planner_without_the_lock_plans_nothing_until_it_is_free(database, pumped_reactor):
    parts = messaging()
    database.write_now(insert_reminders, reminders(10), parts.plan, NOW)
    other = make_engine(DatabaseConfig(url=str(database.engine.url.render_as_string(False))))
    holder = planner_lock(other, poll_s=60)
    assert holder.try_acquire()
    planner = PlannerService(database, parts.planner, wall=FixedClock(NOW), clock=task.Clock(),
                             poll_s=60, batch=50)
    assert pumped_reactor.wait(defer.Deferred.fromCoroutine(planner.run_round())) is None
    assert database.read_now(message_count) == 0 and planner.leader is False
    holder.release()
    result = pumped_reactor.wait(defer.Deferred.fromCoroutine(planner.run_round()))
    assert result.queued == 10 and planner.leader
    pumped_reactor.wait(planner.stopService())
    assert holder.try_acquire()  # stopping released it
    holder.release()
    other.dispose()


class Process:
    def __init__(self, url, name):
        self.name = name
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.sms_gateway.messages.planner_process", url, name, "0.2"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip())

    def wait_for(self, fragment, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if fragment in line:
                return line
        raise AssertionError(f"{self.name} never said {fragment!r}; said {self.seen}")

    def drain(self):
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.seen

    def planned(self):
        return sum(int(line.split("Reminders planned: ")[1].split()[0])
                   for line in self.drain() if "Reminders planned: " in line)

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)
                raise AssertionError(f"{self.name} did not stop on {sig!r}") from None


def wait_until(predicate, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@PG
def test_two_planner_processes_one_plans_and_the_other_takes_over_when_it_dies(database,
                                                                             db_url):
    parts = messaging()
    now = SystemClock().now()
    due = (now + dt.timedelta(days=3)).date()  # its 7-day stage is due now
    database.write_now(insert_reminders, reminders(100, due=due), parts.plan, now)
    first = Process(db_url, "A")
    second = None
    try:
        first.wait_for("planning in this process")
        wait_until(lambda: database.read_now(message_count) == 100, "the first 100")
        second = Process(db_url, "B")
        second.wait_for("another process plans")
        database.write_now(insert_reminders, reminders(100, start=100, due=due), parts.plan, now)
        wait_until(lambda: database.read_now(message_count) == 200, "the second 100")
        time.sleep(0.5)  # a few more rounds of both
        assert second.planned() == 0
        first.stop(signal.SIGKILL)  # the lock goes with its connection
        second.wait_for("planning in this process")
        database.write_now(insert_reminders, reminders(100, start=200, due=due), parts.plan, now)
        wait_until(lambda: database.read_now(message_count) == 300, "the third 100")
        # The messages are committed before their planner says so: wait for its line.
        wait_until(lambda: second.planned() == 100, "B to report the third 100", timeout=10)
        assert first.planned() == 200 and second.planned() == 100
        keys = database.read_now(lambda s: s.scalars(select(SmsMessage.dedupe_key)).all())
        assert len(set(keys)) == 300
    finally:
        first.stop(signal.SIGKILL)
        if second is not None:
            second.stop()
