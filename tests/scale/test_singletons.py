"""Singleton jobs across real service processes: of three processes on one PostgreSQL,
exactly one runs the reminder planner (it holds the advisory lock on a connection of its
own); SIGKILLed, its connection closes, the server frees the lock, and another process
plans from its next round on (within `[messages] planner_poll_s`, plus the moment the server
needs to see the connection gone). Every reminder is planned once."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from sqlalchemy import func, select, text

from hotline.clock import SystemClock
from schemas.enums import SmsKind
from schemas.messaging import ReminderKind
from schemas.sms import SmsMessage
from sms_gateway.messages.planner import PLANNER_LOCK_KEY
from sms_gateway.messages.reminders import ReminderRow, insert_reminders
from tests.sms_gateway.messages.support import messaging
from tests.support.cluster import start_cluster
from tests.support.processes import wait_for

pytestmark = [
    pytest.mark.scale,
    pytest.mark.skipif(not os.environ.get("HOTLINE_TEST_PG_URL"),
                       reason="HOTLINE_TEST_PG_URL is not set (CI sets it)"),
]

POLL_S = 0.5
TAKEOVER_SLACK_S = 3.0  # the server noticing the dead connection, a loaded CI machine
PLANNING = "Reminder planner: planning in this process"
NOT_PLANNING = "Reminder planner: another process plans"


def role(process) -> str | None:
    """The planner role a process last logged."""
    text_ = process.log_text()
    at_planning, at_other = text_.rfind(PLANNING), text_.rfind(NOT_PLANNING)
    if at_planning < 0 and at_other < 0:
        return None
    return "planning" if at_planning > at_other else "other"



def reminders(start: int, count: int, due: dt.date) -> list[ReminderRow]:
    return [ReminderRow(n, ReminderKind.VEHICLE, f"鲁Q{n:05d}", due, f"1391234{n:04d}",
                        plate=f"鲁Q{n:05d}") for n in range(start, start + count)]


def planned(session) -> tuple[int, int]:
    """Reminder messages queued, and their distinct dedupe keys."""
    kinds = (SmsMessage.kind != SmsKind.TEST,)
    return (session.scalar(select(func.count()).select_from(SmsMessage).where(*kinds)),
            session.scalar(select(func.count(func.distinct(SmsMessage.dedupe_key))).where(*kinds)))


def lock_holders(session) -> int:
    return session.scalar(text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = 0 AND objid = :key AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())"),
        {"key": PLANNER_LOCK_KEY})


def test_the_planner_moves_to_another_process_within_its_poll_when_the_holder_is_killed(
        tmp_path):
    parts = messaging()
    now = SystemClock().now()
    due = (now + dt.timedelta(days=3)).date()  # the 7-day stage is due now
    with start_cluster(tmp_path, 3, config={"messages": {"planner_poll_s": POLL_S}}) as cluster:
        db = cluster.db
        processes = cluster.processes
        wait_for(lambda: all(role(p) for p in processes), 30, "every planner's first round")
        (holder,) = [p for p in processes if role(p) == "planning"]
        assert db.read_now(lock_holders) == 1
        db.write_now(insert_reminders, reminders(0, 60, due), parts.plan, now)
        wait_for(lambda: db.read_now(planned) == (60, 60), 30, "the holder to plan 60 reminders")

        holder.kill()
        killed = time.monotonic()
        successor = wait_for(lambda: next((p for p in processes
                                           if p.alive and role(p) == "planning"), None),
                             POLL_S + TAKEOVER_SLACK_S, "another process to plan")
        took_over_in = time.monotonic() - killed
        db.write_now(insert_reminders, reminders(60, 60, due), parts.plan, now)
        wait_for(lambda: db.read_now(planned) == (120, 120), 30, "the successor to plan 60 more")
        time.sleep(3 * POLL_S)  # a few more rounds of everyone
        assert db.read_now(planned) == (120, 120)  # none planned twice
        assert db.read_now(lock_holders) == 1
        assert [role(p) for p in processes if p.alive].count("planning") == 1
        assert successor is not holder
    print(f"planner taken over in {took_over_in:.2f}s (poll {POLL_S}s)")
