"""The process's one SMS writer: submit results, receipts and replies group-committed, results
first, acknowledged only once their batch committed; through the real link and simulator."""

from sqlalchemy import func, select
from twisted.internet.task import Clock

from schemas.enums import SmsState
from schemas.sms import SmsInbound, SmsMessage
from sms_gateway import outbox
from sms_gateway.dispatcher import DispatchSettings, OutboxDispatcher
from sms_gateway.inbox import Inbox
from sms_gateway.link import DeliveryReceipt, MessageState
from sms_gateway.outbox import Claimed, ReceiptOutcome, Submitted
from sms_gateway.receipts import message_id_keys
from sms_gateway.routing import Router
from sms_gateway.simulator import SimulatedSmsc
from sms_gateway.smpp import SmppBindConfig, SmppLink, codec
from sms_gateway.writer import SmsWriter
from tests.sms_gateway.helpers import MemoryEndpoint
from tests.sms_gateway.test_dispatcher import Wall


def queue_many(database, count, now):
    def work(session):
        return [outbox.enqueue(session, kind=outbox.SmsKind.TEST,
                               destination="138%08d" % i, text=f"第{i}条", now=now).id
                for i in range(count)]
    return database.write_now(work)


def states(database):
    return dict(database.read_now(lambda s: s.execute(
        select(SmsMessage.state, func.count()).group_by(SmsMessage.state)).all()))


def wired(database, smsc, *, window=10):
    """A link, the dispatcher and the inbox sharing one writer, as `makeService` wires them."""
    clock, wall = smsc.clock, Wall()
    endpoint = MemoryEndpoint(smsc.factory(), clock)
    writer = SmsWriter(database, wall, clock, linger_s=0.002)
    inbox = Inbox(database, wall, writer=writer)
    links = {}
    config = SmppBindConfig(system_id="hotline", password="secret", rate=1e6, window=window,
                            response_timeout=5.0, enquire_link_interval=30.0)
    links["mobile"] = SmppLink(
        config, endpoint, clock, name="mobile",
        on_receipt=lambda r: inbox.on_receipt(r, links["mobile"].receipt_id_keys(r), "mobile"),
        on_message=inbox.on_message, retry_policy=lambda attempt: 0.5)
    links["mobile"].startService()
    endpoint.flush()
    dispatcher = OutboxDispatcher(database, links, Router({}, {}, "mobile"), clock, wall,
                                  DispatchSettings(owner="t", batch=50, poll_s=0.05,
                                                   receipt_sweep_s=3600), writer=writer)
    return endpoint, clock, wall, writer, dispatcher, links["mobile"]


def run(pumped_reactor, endpoint, clock, until, step=0.005):
    def flushed_until():
        endpoint.flush()
        return until()
    pumped_reactor.pump(flushed_until, clock=clock, step=step)


def shut(pumped_reactor, endpoint, clock, dispatcher, link):
    stopped = dispatcher.stopService()
    run(pumped_reactor, endpoint, clock, lambda: stopped.called, step=0.1)
    link.stopService()
    endpoint.flush()


def test_receipts_right_behind_their_submit_sm_resp_settle_in_batches_and_none_is_held(
        database, pumped_reactor):
    smsc = SimulatedSmsc(Clock(), receipt_delay=0.0)
    endpoint, clock, wall, writer, dispatcher, link = wired(database, smsc)
    queue_many(database, 120, wall.time)
    answers = []
    answered = smsc.delivery_answered
    smsc.delivery_answered = lambda delivery, status: (answers.append(status),
                                                       answered(delivery, status))
    dispatcher.startService()
    run(pumped_reactor, endpoint, clock, lambda: states(database) == {SmsState.DELIVERED: 120})
    assert answers == [codec.ESME_ROK] * 120
    assert database.read_now(outbox.held_receipts) == []  # each found its part recorded
    # 120 results and 120 receipts took far fewer transactions than one each.
    assert writer.batches < 60
    shut(pumped_reactor, endpoint, clock, dispatcher, link)


def test_the_smsc_cut_mid_batch_loses_nothing_and_every_message_is_delivered(
        database, pumped_reactor):
    smsc = SimulatedSmsc(Clock(), receipt_delay=0.0, redeliver_delay=0.5)
    endpoint, clock, wall, writer, dispatcher, link = wired(database, smsc, window=20)
    ids = queue_many(database, 80, wall.time)
    smsc.faults.drop_after_pdus = 50  # mid-batch: submits in flight, receipts unanswered
    dispatcher.startService()

    # Messages lost with the link are retried after the dispatcher's retry delay: the wall
    # clock moves past it as the timers run.
    def advancing():
        wall.time = wall.time + outbox.dt.timedelta(seconds=1)
        return states(database) == {SmsState.DELIVERED: 80}

    run(pumped_reactor, endpoint, clock, advancing, step=0.05)
    assert len(smsc.bind_attempts) >= 2  # it did reconnect
    delivered = {a.destination for a in smsc.accepted}
    assert len(delivered) == 80 and len(ids) == 80
    shut(pumped_reactor, endpoint, clock, dispatcher, link)


def test_a_reply_is_acknowledged_only_after_its_batch_commits(database, pumped_reactor):
    smsc = SimulatedSmsc(Clock(), receipt_delay=None)
    endpoint, clock, wall, writer, dispatcher, link = wired(database, smsc)
    statuses = smsc.inject_mo("13812345678", "9600110", "1")
    stored = []

    def count(session):
        return session.scalar(select(func.count()).select_from(SmsInbound))

    def check():
        # The SMSC has its answer only once the row is there.
        if statuses.called:
            stored.append(database.read_now(count))
        return statuses.called
    run(pumped_reactor, endpoint, clock, check)
    assert statuses.result == [codec.ESME_ROK] and stored == [1]
    shut(pumped_reactor, endpoint, clock, dispatcher, link)


def test_a_failed_batch_asks_for_its_receipts_again_and_keeps_its_results(
        database, pumped_reactor):
    clock, wall = Clock(), Wall()
    writer = SmsWriter(database, wall, clock, retry_s=1.0, linger_s=0.01)
    written = []

    def write_results(session, results, now):
        if not written:
            written.append("failed")
            raise RuntimeError("database gone")
        written.append(list(results))
    writer.write_results = write_results
    result = writer.result("r1")
    receipt = writer.receipt(DeliveryReceipt("X1", MessageState.DELIVERED))
    failures = []
    receipt.addErrback(failures.append)
    pumped_reactor.pump(lambda: failures, clock=clock, step=0.01)
    assert not result.called  # kept, and written again after retry_s
    late = writer.receipt(DeliveryReceipt("X2", MessageState.DELIVERED))
    pumped_reactor.pump(lambda: late.called, clock=clock, step=0.01)
    assert late.result is ReceiptOutcome.HELD and written == ["failed"]  # receipts go on
    pumped_reactor.pump(lambda: result.called, clock=clock, step=0.01)
    assert written == ["failed", ["r1"]] and clock.seconds() >= 1.0


def test_a_receipt_id_read_as_text_wins_over_another_ids_reading_as_a_number(database):
    """Hex "0000000A" and "00000010" read as decimal are both the number 10: recorded in one
    batch, each receipt still settles its own message."""
    wall = Wall()
    first, second = queue_many(database, 2, wall.time)

    def record(session):
        claimed = outbox.claim_due(session, owner="t", now=wall.time,
                                   lease=outbox.dt.timedelta(seconds=60), limit=2)
        assert [c.id for c in claimed] == [first, second]
        outbox.record_submitted_many(session, [
            Submitted(Claimed(first, "", "", 1), "mobile", "ucs2", ("0000000A",),
                      (message_id_keys("0000000A"),)),
            Submitted(Claimed(second, "", "", 1), "mobile", "ucs2", ("00000010",),
                      (message_id_keys("00000010"),))], wall.time)
        return outbox.take_receipts(session, [
            (DeliveryReceipt("0000000A", MessageState.DELIVERED), None, "mobile")], wall.time)
    assert database.write_now(record) == [ReceiptOutcome.APPLIED]
    assert database.read_now(outbox.get, first).state is SmsState.DELIVERED
    assert database.read_now(outbox.get, second).state is SmsState.SUBMITTED
    assert database.write_now(outbox.apply_receipt, DeliveryReceipt(
        "00000010", MessageState.DELIVERED), wall.time)
    assert database.read_now(outbox.get, second).state is SmsState.DELIVERED


def test_a_receipt_resent_within_one_batch_settles_its_part_once(database):
    wall = Wall()
    (message,) = queue_many(database, 1, wall.time)

    def work(session):
        outbox.claim_due(session, owner="t", now=wall.time,
                         lease=outbox.dt.timedelta(seconds=60), limit=1)
        outbox.record_submitted(session, Claimed(message, "", "", 1), link="mobile",
                                encoding="ucs2", part_ids=["AB1"], now=wall.time)
        return outbox.take_receipts(session, [
            (DeliveryReceipt("AB1", MessageState.UNDELIVERABLE, error_code="001"), None, None),
            (DeliveryReceipt("AB1", MessageState.DELIVERED), None, None)], wall.time)
    assert database.write_now(work) == [ReceiptOutcome.APPLIED, ReceiptOutcome.APPLIED]
    row = database.read_now(outbox.get, message)
    assert row.state is SmsState.FAILED and row.last_error == "part 1: undeliverable (err 001)"

