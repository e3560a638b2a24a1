"""Records left in progress by a process that is gone are settled when a process starts
(SQLite and PostgreSQL); a record another live process may still be writing is left alone."""

import datetime as dt

from sqlalchemy import select

from ivr import call_records
from ivr.call_records import STALE_AFTER, CallStart, settle_left_in_progress
from schemas.calls import CallRecord
from schemas.enums import CallOutcome
from tests.support.appeals import utc

STARTED = utc(2026, 11, 27, 2, 0)  # this process's start


def open_call(database, call_id, process, started_at):
    database.write_now(call_records.open_call, CallStart(
        call_id, "hotline", "13812345678", None, "1.1", "Local/x", started_at, process=process))


def outcomes(database):
    rows = database.read_now(lambda s: s.execute(
        select(CallRecord.call_id, CallRecord.outcome, CallRecord.ended_at)).all())
    return {call_id: (outcome, ended) for call_id, outcome, ended in rows}


def test_a_restart_settles_its_own_earlier_calls_and_a_stale_one_of_anyone(database):
    open_call(database, "mine-before", "hotline-1", STARTED - dt.timedelta(minutes=3))
    open_call(database, "mine-now", "hotline-1", STARTED + dt.timedelta(seconds=1))
    open_call(database, "other-live", "hotline-2", STARTED - dt.timedelta(minutes=3))
    open_call(database, "other-stale", "hotline-2", STARTED - STALE_AFTER - dt.timedelta(minutes=1))
    settled = database.write_now(settle_left_in_progress, process="hotline-1",
                                 started_before=STARTED, now=STARTED)
    assert settled == 2
    seen = outcomes(database)
    assert seen["mine-before"] == (CallOutcome.FAILED, STARTED)
    assert seen["other-stale"] == (CallOutcome.FAILED, STARTED)
    assert seen["mine-now"] == (CallOutcome.IN_PROGRESS, None)
    assert seen["other-live"] == (CallOutcome.IN_PROGRESS, None)


def test_a_closed_record_is_never_touched(database):
    start = CallStart("done", "hotline", None, None, "1.2", "Local/y",
                      STARTED - dt.timedelta(days=2), process="hotline-1")
    database.write_now(call_records.close_call, start, call_records.CallEnd(
        "done", CallOutcome.QUERY_ANSWERED, STARTED - dt.timedelta(days=2), ("menu",)))
    assert database.write_now(settle_left_in_progress, process="hotline-1",
                              started_before=STARTED, now=STARTED) == 0
    assert outcomes(database)["done"][0] is CallOutcome.QUERY_ANSWERED
