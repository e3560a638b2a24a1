"""A delivery receipt that comes before its submit result is recorded is held, not lost.

The SMSC answers submit_sm and sends the receipt milliseconds later; the dispatcher writes
results in batches, so the receipt's lookup can run first. It is stored before it is
acknowledged, applied by the result write (or the sweep), and expired after a bound.
"""

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.logger import capturedLogs

from schemas.enums import SmsState
from schemas.sms import HeldReceiptState, SmsHeldReceipt, SmsHeldReceiptKey, SmsPart
from sms_gateway import outbox
from sms_gateway.dispatcher import DispatchSettings, OutboxDispatcher
from sms_gateway.inbox import Inbox
from sms_gateway.link import DeliveryReceipt, MessageState
from sms_gateway.outbox import HELD_RECEIPT_TTL, ReceiptOutcome
from sms_gateway.routing import Router
from sms_gateway.simulator import SimulatedSmsc
from sms_gateway.smpp import SmppBindConfig, SmppLink, codec
from tests.sms_gateway.helpers import MemoryEndpoint
from tests.sms_gateway.test_dispatcher import ScriptedLink, Wall, queue, state

PENDING, APPLIED, EXPIRED = (HeldReceiptState.PENDING, HeldReceiptState.APPLIED,
                             HeldReceiptState.EXPIRED)


def make(database, **settings):
    """A dispatcher over a scripted link and the real inbox, sharing one database."""
    link, clock, wall = ScriptedLink(), Clock(), Wall()
    dispatcher = OutboxDispatcher(database, {"mobile": link}, Router({}, {}, "mobile"), clock,
                                  wall, DispatchSettings(owner="t", poll_s=1, flush_s=0.01,
                                                         receipt_sweep_s=30, **settings))
    return dispatcher, link, clock, wall, Inbox(database, wall)


def receive(database, wall, message_id, receipt_state=MessageState.DELIVERED, **fields):
    """Take a receipt as the inbox does (on bind "mobile"); its outcome once committed."""
    return database.write_now(outbox.take_receipt,
                              DeliveryReceipt(message_id, receipt_state, **fields), wall.now(),
                              None, "mobile")


def held(database):
    return database.read_now(outbox.held_receipts)


def sent_and_answered_but_not_written(pumped_reactor, dispatcher, link, clock, count=1):
    """Start, let the link take `count` messages, answer them: the results wait for the flush
    timer (the clock is not moved), which is when an early receipt slips in."""
    dispatcher.startService()
    pumped_reactor.pump(lambda: len(link.sent) == count, clock=clock, step=0.001)
    for number, (_, parts) in enumerate(link.sent):
        for index, part in enumerate(parts):
            part.callback(f"ID{number}-{index}")
    assert dispatcher.submitted == 0


def written(dispatcher):
    """The answer is committed (`submitted` counts in the database thread, before the commit)."""
    return dispatcher.submitted == 1 and dispatcher.in_flight() == 0


def stop(dispatcher, clock, pumped_reactor):
    stopped = dispatcher.stopService()
    pumped_reactor.pump(lambda: stopped.called, clock=clock, step=0.5)


def test_receipt_before_the_result_write_is_held_and_applied_by_that_write(
        database, pumped_reactor):
    dispatcher, link, clock, wall, inbox = make(database)
    message = queue(database, "先回执", wall.time)
    sent_and_answered_but_not_written(pumped_reactor, dispatcher, link, clock)
    with capturedLogs() as events:
        pumped_reactor.wait(inbox.on_receipt(DeliveryReceipt("id0-0", MessageState.DELIVERED),
                                             frozenset({"s:id0-0"}), "mobile"))
    assert any("held" in e["log_format"] for e in events)
    assert not any("unknown message id" in e["log_format"] for e in events)
    assert held(database) == [("id0-0", "delivered", PENDING, None)]
    pumped_reactor.pump(lambda: written(dispatcher), clock=clock, step=0.01)
    final = state(database, message)
    assert final.state is SmsState.DELIVERED and final.finished_at == wall.time
    [(carrier_id, receipt_state, held_state, part_id)] = held(database)
    assert (carrier_id, held_state) == ("id0-0", APPLIED) and part_id is not None
    assert database.read_now(lambda s: s.scalars(select(SmsHeldReceiptKey)).all()) == []
    stop(dispatcher, clock, pumped_reactor)


def test_a_failure_receipt_held_for_one_part_of_two_fails_the_message_with_its_error(
        database, pumped_reactor):
    dispatcher, link, clock, wall, inbox = make(database)
    message = queue(database, "两段长短信", wall.time)
    sent_and_answered_but_not_written(pumped_reactor, dispatcher, link, clock)
    assert receive(database, wall, "ID0-1", MessageState.UNDELIVERABLE,
                   error_code="001") is ReceiptOutcome.HELD
    pumped_reactor.pump(lambda: written(dispatcher), clock=clock, step=0.01)
    final = state(database, message)
    assert final.state is SmsState.FAILED
    assert final.last_error == "part 2: undeliverable (err 001)"
    stop(dispatcher, clock, pumped_reactor)


def test_a_duplicate_receipt_is_held_once_applied_once_and_ignored_once_final(
        database, pumped_reactor):
    dispatcher, link, clock, wall, inbox = make(database)
    message = queue(database, "重复回执", wall.time)
    sent_and_answered_but_not_written(pumped_reactor, dispatcher, link, clock)
    assert receive(database, wall, "ID0-0") is ReceiptOutcome.HELD
    assert receive(database, wall, "ID0-0") is ReceiptOutcome.DUPLICATE
    assert len(held(database)) == 1
    pumped_reactor.pump(lambda: written(dispatcher), clock=clock, step=0.01)
    delivered = state(database, message)
    part_times = database.read_now(lambda s: s.scalars(select(SmsPart.receipt_at)).all())
    wall.time += dt.timedelta(minutes=5)
    # The SMSC resends (our ack was lost) after the result write: matched, changes nothing.
    assert receive(database, wall, "ID0-0") is ReceiptOutcome.APPLIED
    # A contrary late report does not reopen a settled part either.
    assert receive(database, wall, "ID0-0",
                   MessageState.UNDELIVERABLE) is ReceiptOutcome.APPLIED
    assert state(database, message) == delivered
    assert database.read_now(lambda s: s.scalars(select(SmsPart.receipt_at)).all()) == part_times
    assert [h[2] for h in held(database)] == [APPLIED]
    stop(dispatcher, clock, pumped_reactor)


def test_an_intermediate_receipt_for_an_unknown_id_is_acknowledged_and_not_held(
        database, pumped_reactor):
    _, _, _, wall, inbox = make(database)
    with capturedLogs() as events:
        assert receive(database, wall, "ZZ1", MessageState.ENROUTE) is ReceiptOutcome.UNKNOWN
        pumped_reactor.wait(inbox.on_receipt(DeliveryReceipt("ZZ2", MessageState.ACCEPTED)))
    assert held(database) == []
    assert any("unknown message id" in e["log_format"] for e in events)


def hold_behind_a_recorded_part(database, carrier_id, received_at):
    """The state a PostgreSQL race leaves: the receipt's transaction and the result write ran
    side by side, so neither saw the other's rows."""
    def work(session):
        row = SmsHeldReceipt(link="mobile", carrier_message_id=carrier_id,
                             receipt_state="delivered", state=PENDING, received_at=received_at)
        session.add(row)
        session.flush()
        session.add(SmsHeldReceiptKey(receipt_id=row.id, key="s:" + carrier_id.lower()))
    database.write_now(work)


def test_the_sweep_applies_a_held_receipt_whose_part_was_recorded_alongside_it(
        database, pumped_reactor):
    dispatcher, link, clock, wall, inbox = make(database)
    message = queue(database, "扫尾", wall.time)
    sent_and_answered_but_not_written(pumped_reactor, dispatcher, link, clock)
    pumped_reactor.pump(lambda: written(dispatcher), clock=clock, step=0.01)
    hold_behind_a_recorded_part(database, "ID0-0", wall.time)
    assert state(database, message).state is SmsState.SUBMITTED
    with capturedLogs() as events:
        pumped_reactor.pump(lambda: any("applied by the sweep" in e["log_format"]
                                        for e in events), clock=clock, step=1.0)
    assert clock.seconds() >= 30  # the sweep's period, not before
    assert state(database, message).state is SmsState.DELIVERED
    assert [h[2] for h in held(database)] == [APPLIED]
    assert dispatcher.receipts_expired == 0
    stop(dispatcher, clock, pumped_reactor)


def test_a_held_receipt_expires_after_the_bound_is_counted_and_logged_once(
        database, pumped_reactor):
    dispatcher, link, clock, wall, inbox = make(database)
    start = wall.time
    assert receive(database, wall, "NOBODY") is ReceiptOutcome.HELD
    dispatcher.startService()
    wall.time = start + HELD_RECEIPT_TTL - dt.timedelta(seconds=1)
    sweeps = []
    original = dispatcher._swept
    dispatcher._swept = lambda result: (sweeps.append(result), original(result))
    pumped_reactor.pump(lambda: sweeps, clock=clock, step=1.0)
    assert sweeps[0].expired == () and held(database)[0][2] is PENDING
    wall.time = start + HELD_RECEIPT_TTL
    with capturedLogs() as events:
        pumped_reactor.pump(lambda: len(sweeps) == 2, clock=clock, step=1.0)
        pumped_reactor.pump(lambda: len(sweeps) == 3, clock=clock, step=1.0)
    assert held(database) == [("NOBODY", "delivered", EXPIRED, None)]
    assert dispatcher.receipts_expired == 1
    dropped = [e for e in events if "matched no message" in e["log_format"]]
    assert len(dropped) == 1 and "NOBODY (delivered, mobile)" in dropped[0]["ids"]
    # Kept for as long again (for inspection), then purged.
    wall.time = start + 2 * HELD_RECEIPT_TTL
    pumped_reactor.pump(lambda: len(sweeps) == 4, clock=clock, step=1.0)
    assert sweeps[3].purged == 1 and held(database) == []
    stop(dispatcher, clock, pumped_reactor)


def test_a_receipt_for_an_older_message_is_applied_at_once_as_before(database, pumped_reactor):
    dispatcher, link, clock, wall, inbox = make(database)
    message = queue(database, "正常", wall.time)
    sent_and_answered_but_not_written(pumped_reactor, dispatcher, link, clock)
    pumped_reactor.pump(lambda: written(dispatcher), clock=clock, step=0.01)
    assert receive(database, wall, "ID0-0") is ReceiptOutcome.APPLIED
    assert state(database, message).state is SmsState.DELIVERED
    assert held(database) == []
    stop(dispatcher, clock, pumped_reactor)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_on_postgresql_a_receipt_and_a_result_write_side_by_side_are_joined_by_the_sweep(
        db_url, database, pumped_reactor):
    from sqlalchemy.orm import Session

    from hotline.config import DatabaseConfig
    from hotline.db import make_engine

    message = queue(database, "并发", Wall().time)
    [claimed] = database.write_now(outbox.claim_due, owner="t", now=Wall().time,
                                   lease=dt.timedelta(seconds=60), limit=1)
    now = Wall().time
    engine = make_engine(DatabaseConfig(url=db_url))
    with Session(engine) as receipt_tx, Session(engine) as result_tx:
        outcome = outbox.take_receipt(receipt_tx, DeliveryReceipt("R1", MessageState.DELIVERED),
                                      now, frozenset({"s:r1"}), "mobile")
        assert outcome is ReceiptOutcome.HELD
        outbox.record_submitted_many(result_tx, [outbox.Submitted(
            claimed, "mobile", "ucs2", ("R1",), (frozenset({"s:r1"}),))], now)
        result_tx.commit()
        receipt_tx.commit()
    engine.dispose()
    assert state(database, message).state is SmsState.SUBMITTED
    result = database.write_now(outbox.sweep_held_receipts, now)
    assert (result.applied, result.expired) == (1, ())
    assert state(database, message).state is SmsState.DELIVERED
    again = database.write_now(outbox.sweep_held_receipts, now)
    assert again.applied == 0


# -- the real protocol: the simulator sends the receipt before its submit_sm_resp --------------

def connection_lost():
    return OperationalError("INSERT", {}, Exception("server closed the connection"))


class CuttableDatabase:
    """The inbox's view of the database; a cut makes the receipt's write hang or fail."""

    def __init__(self, database):
        self._database = database
        self.mode = None  # None, "hang" or "fail"
        self.hung: list[defer.Deferred] = []

    def write(self, work, *args):
        if self.mode == "hang":
            self.hung.append(defer.Deferred())
            return self.hung[-1]
        if self.mode == "fail":
            return defer.fail(connection_lost())
        return self._database.write(work, *args)


def smpp_setup(database):
    clock, wall = Clock(), Wall()
    smsc = SimulatedSmsc(clock, receipt_delay=0.0, redeliver_delay=5.0)
    smsc.faults.response_delay = 0.5  # the receipt goes out first, its submit_sm_resp after
    answers = []
    answered = smsc.delivery_answered
    smsc.delivery_answered = lambda delivery, status: (
        answers.append((delivery.kind, status)), answered(delivery, status))
    endpoint = MemoryEndpoint(smsc.factory(), clock)
    cut = CuttableDatabase(database)
    inbox = Inbox(cut, wall)
    links = {}
    config = SmppBindConfig(system_id="hotline", password="secret", rate=1000.0, window=10,
                            response_timeout=5.0, enquire_link_interval=30.0)
    links["mobile"] = SmppLink(
        config, endpoint, clock, name="mobile",
        on_receipt=lambda r: inbox.on_receipt(r, links["mobile"].receipt_id_keys(r), "mobile"),
        on_message=lambda m: defer.succeed(None), retry_policy=lambda attempt: 1.0)
    links["mobile"].startService()
    endpoint.flush()
    dispatcher = OutboxDispatcher(database, links, Router({}, {}, "mobile"), clock, wall,
                                  DispatchSettings(owner="t", poll_s=0.05, flush_s=0.01))
    return smsc, endpoint, clock, wall, cut, answers, dispatcher, links["mobile"]


def run(pumped_reactor, endpoint, clock, until, step=0.01):
    def flushed_until():
        endpoint.flush()
        return until()
    pumped_reactor.pump(flushed_until, clock=clock, step=step)


def shut(pumped_reactor, endpoint, clock, dispatcher, link):
    stopped = dispatcher.stopService()
    run(pumped_reactor, endpoint, clock, lambda: stopped.called, step=0.1)
    link.stopService()
    endpoint.flush()


def test_over_smpp_a_receipt_sent_before_the_submit_sm_resp_settles_the_message(
        database, pumped_reactor):
    smsc, endpoint, clock, wall, cut, answers, dispatcher, link = smpp_setup(database)
    message = queue(database, "回执先到", wall.time)
    dispatcher.startService()
    run(pumped_reactor, endpoint, clock, lambda: answers)
    # Acknowledged, and the submit's answer has not even arrived yet.
    assert answers == [("receipt", codec.ESME_ROK)] and dispatcher.submitted == 0
    assert [h[2] for h in held(database)] == [PENDING]
    run(pumped_reactor, endpoint, clock,
        lambda: state(database, message).state is SmsState.DELIVERED)
    assert clock.seconds() < 30  # by the result write, not the sweep
    assert [h[2] for h in held(database)] == [APPLIED]
    shut(pumped_reactor, endpoint, clock, dispatcher, link)


def test_over_smpp_a_receipt_is_acknowledged_only_once_stored(database, pumped_reactor):
    smsc, endpoint, clock, wall, cut, answers, dispatcher, link = smpp_setup(database)
    message = queue(database, "断库", wall.time)
    cut.mode = "hang"  # the database write never comes back
    dispatcher.startService()
    run(pumped_reactor, endpoint, clock, lambda: cut.hung)
    run(pumped_reactor, endpoint, clock, lambda: written(dispatcher))
    endpoint.advance(3.0)
    assert answers == [] and held(database) == []  # not stored: not acknowledged
    cut.mode = "fail"
    cut.hung[0].errback(connection_lost())
    endpoint.flush()
    assert answers == [("receipt", codec.ESME_RX_T_APPN)]  # the SMSC is asked to redeliver
    assert held(database) == []
    endpoint.advance(6.0)  # the redelivery fails too, while the database is still cut
    assert answers[-1] == ("receipt", codec.ESME_RX_T_APPN) and len(answers) == 2
    cut.mode = None
    run(pumped_reactor, endpoint, clock, lambda: len(answers) == 3, step=0.1)
    assert answers[-1] == ("receipt", codec.ESME_ROK)
    assert state(database, message).state is SmsState.DELIVERED
    shut(pumped_reactor, endpoint, clock, dispatcher, link)


def test_the_wired_service_tells_the_inbox_which_bind_a_receipt_came_on():
    from sms_gateway.service import _receipts_via

    calls = []

    class RecordingInbox:
        def on_receipt(self, receipt, keys=None, link=None):
            calls.append((keys, link))

    class Bind:
        def receipt_id_keys(self, receipt):
            return frozenset({"k"})

    _receipts_via(RecordingInbox(), "mobile", {"mobile": Bind()})(object())
    assert calls == [(frozenset({"k"}), "mobile")]
