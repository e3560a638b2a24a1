"""The IVR backend's lookups and writes against the real database (SQLite and PostgreSQL)."""

import datetime as dt

from hotline.appeals import AppealService
from ivr import call_records
from ivr.backend import HotlineBackend
from ivr.call_records import CallEnd, CallStart
from schemas.enums import AppealChannel, AppealStatus, CallOutcome
from tests.support.appeals import add_unit, make_repository, new_appeal, utc

NOW = utc(2026, 11, 27, 2, 0)
REPO = make_repository()


class FixedClock:
    def now(self):
        return NOW


def backend_for(database, pumped_reactor):
    from twisted.internet.task import Clock

    return HotlineBackend(database, AppealService(database, REPO, FixedClock()), FixedClock(),
                          Clock(), timeout_s=30)


def run(pumped_reactor, coroutine):
    from twisted.internet.defer import Deferred

    return pumped_reactor.wait(Deferred.fromCoroutine(coroutine))


def test_open_appeal_is_the_newest_not_closed_one(database, pumped_reactor):
    def seed(session):
        unit = add_unit(session)
        old = REPO.create(session, new_appeal(), actor="a", now=NOW)
        new = REPO.create(session, new_appeal(), actor="a", now=NOW + dt.timedelta(hours=1))
        REPO.assign(session, new.id, unit, actor="a", now=NOW)
        return old, new
    _, newest = database.write_now(seed)
    backend = backend_for(database, pumped_reactor)
    view = run(pumped_reactor, backend.open_appeal("+8613812345678"))
    assert (view.case_number, view.status, view.unit_code) == (newest.case_number,
                                                              AppealStatus.ASSIGNED, "PS-LS")
    assert run(pumped_reactor, backend.open_appeal("5551234")) is None
    assert run(pumped_reactor, backend.open_appeal(None)) is None


def test_case_lookup_finds_and_misses(database, pumped_reactor):
    appeal = database.write_now(REPO.create, new_appeal(), actor="a", now=NOW)
    backend = backend_for(database, pumped_reactor)
    assert run(pumped_reactor, backend.appeal_by_case(appeal.case_number)).id == appeal.id
    assert run(pumped_reactor, backend.appeal_by_case("2026010100001")) is None


def test_call_record_is_opened_and_closed(database, pumped_reactor):
    backend = backend_for(database, pumped_reactor)
    start = CallStart("c1", "hotline", "13812345678", None, "1795887564.7", "Local/x", NOW)
    run(pumped_reactor, backend.begin_call(start))
    assert database.read_now(call_records.get_call, "c1").outcome is CallOutcome.IN_PROGRESS
    end = CallEnd("c1", CallOutcome.ABANDONED, NOW + dt.timedelta(seconds=30),
                  ("greeting", "menu"), abandoned_at="menu")
    run(pumped_reactor, backend.end_call(start, end))
    view = database.read_now(call_records.get_call, "c1")
    assert (view.outcome, view.path, view.abandoned_at) == (CallOutcome.ABANDONED,
                                                            "greeting>menu", "menu")


def test_call_record_is_created_at_the_end_if_opening_failed(database, pumped_reactor):
    backend = backend_for(database, pumped_reactor)
    start = CallStart("c2", "hotline", None, None, None, None, NOW)
    run(pumped_reactor, backend.end_call(start, CallEnd("c2", CallOutcome.TO_QUEUE, NOW, ("queue",))))
    assert database.read_now(call_records.get_call, "c2").outcome is CallOutcome.TO_QUEUE


def test_voice_message_becomes_an_appeal_with_its_recording(database, pumped_reactor):
    backend = backend_for(database, pumped_reactor)
    filed = run(pumped_reactor, backend.leave_voice_message("13812345678", "/spool/c3.wav", "c3"))
    assert not filed.joined
    appeal = database.read_now(REPO.get, filed.appeal_id)
    assert appeal.channel is AppealChannel.VOICE_MESSAGE and appeal.case_number == filed.case_number
    assert appeal.recording_path == "/spool/c3.wav" and appeal.call_id == "c3"
    assert run(pumped_reactor, backend.leave_voice_message("unknown", "/spool/c4.wav", "c4")) is None


def test_a_late_opening_write_does_not_undo_the_closed_record(database, pumped_reactor):
    """The flow does not wait for the opening write, so it may land after the closing one."""
    backend = backend_for(database, pumped_reactor)
    start = CallStart("c5", "hotline", "13812345678", None, None, None, NOW)
    end = CallEnd("c5", CallOutcome.QUERY_ANSWERED, NOW, ("greeting", "menu:4"))
    run(pumped_reactor, backend.end_call(start, end))
    run(pumped_reactor, backend.begin_call(start))
    view = database.read_now(call_records.get_call, "c5")
    assert (view.outcome, view.path) == (CallOutcome.QUERY_ANSWERED, "greeting>menu:4")


def test_call_records_written_while_one_is_in_flight_go_together(database, pumped_reactor):
    from twisted.internet import defer

    class CountingDatabase:
        def __init__(self, db):
            self.db, self.transactions = db, 0

        def write(self, work, *args):
            self.transactions += 1
            return self.db.write(work, *args)

    counting = CountingDatabase(database)
    writer = call_records.CallRecordWriter(counting)
    starts = [CallStart(f"b{n}", "hotline", None, None, None, None, NOW) for n in range(20)]
    done = [writer.submit(("open", start)) for start in starts]
    done += [writer.submit(("close", start, CallEnd(start.call_id, CallOutcome.TO_QUEUE, NOW,
                                                    ("queue",)))) for start in starts]
    pumped_reactor.wait(defer.gatherResults(done))
    assert counting.transactions == 2  # the first alone, then the 39 that waited for it
    assert all(database.read_now(call_records.get_call, s.call_id).outcome is CallOutcome.TO_QUEUE
               for s in starts)


def test_a_failed_batch_fails_each_of_its_writes(database, pumped_reactor):
    class BrokenDatabase:
        def write(self, work, *args):
            from twisted.internet import defer

            return defer.fail(RuntimeError("disk full"))

    writer = call_records.CallRecordWriter(BrokenDatabase())
    done = writer.submit(("open", CallStart("x", "hotline", None, None, None, None, NOW)))
    failures = []
    done.addErrback(failures.append)
    assert failures and failures[0].check(RuntimeError)


def test_the_closing_record_write_is_awaited_longer_than_a_lookup():
    """A call's session ends once its record is stored (up to record_timeout_s), so that a
    process killed just after a call ended has recorded it; lookups keep their short bound."""
    from twisted.internet import defer
    from twisted.internet.task import Clock

    from ivr.backend import BackendUnavailable

    pending = []

    class SlowDatabase:
        def write(self, fn, *args, **kwargs):
            pending.append(defer.Deferred())
            return pending[-1]

        def read(self, fn, *args, **kwargs):
            return defer.Deferred()

    clock = Clock()
    backend = HotlineBackend(SlowDatabase(), None, FixedClock(), clock, timeout_s=2.0,
                             record_timeout_s=10.0)
    start = CallStart("c9", "hotline", "13812345678", None, "1795887564.9", "Local/x", NOW)
    end = CallEnd("c9", CallOutcome.TO_QUEUE, NOW, ("greeting",))
    closed = defer.Deferred.fromCoroutine(backend.end_call(start, end))
    lookup = defer.Deferred.fromCoroutine(backend.appeal_by_case("2026112700001"))
    clock.advance(5)
    assert lookup.called and isinstance(lookup.result.value, BackendUnavailable)
    lookup.addErrback(lambda _: None)
    assert not closed.called
    pending[0].callback(None)
    assert closed.called and closed.result is None
