"""The outbox's transactions on SQLite and PostgreSQL: queueing, claiming with leases,
retries, receipts, expiry and cancellation."""

import datetime as dt

from schemas.enums import SmsKind, SmsLane, SmsState
from sms_gateway import outbox
from sms_gateway.link import DeliveryReceipt, MessageState
from tests.support.appeals import utc

NOW = utc(2026, 11, 28, 2, 0)
LEASE = dt.timedelta(seconds=60)


def queue(db, text="您好", kind=SmsKind.TEST, **kw):
    return db.write_now(outbox.enqueue, kind=kind, destination=kw.pop("to", "13812345678"),
                        text=text, now=kw.pop("now", NOW), **kw)


def claim(db, owner="a", now=NOW, limit=10):
    return db.write_now(outbox.claim_due, owner=owner, now=now, lease=LEASE, limit=limit)


def test_invalid_destination_fails_at_once_with_the_reason(database):
    bad = queue(database, to="12345")
    landline = queue(database, to="05398123456")
    assert bad.state is SmsState.FAILED and "not a valid mainland China" in bad.last_error
    assert landline.state is SmsState.FAILED and "not a mobile number" in landline.last_error
    assert claim(database) == []


def test_destination_is_normalised(database):
    assert queue(database, to="+86 138 1234 5678").destination == "13812345678"


def test_same_dedupe_key_queues_once(database):
    first = queue(database, dedupe_key="reminder:vehicle:42:2026-12-01")
    again = queue(database, dedupe_key="reminder:vehicle:42:2026-12-01")
    assert first.id == again.id
    assert len(claim(database)) == 1


def test_lower_lane_is_claimed_first_then_oldest(database):
    bulk = queue(database, kind=SmsKind.EARLY_WARNING)
    reminder = queue(database, kind=SmsKind.REMINDER_VEHICLE)
    service = queue(database, kind=SmsKind.APPEAL_RECEIVED, now=NOW + dt.timedelta(seconds=1))
    order = [c.id for c in claim(database, now=NOW + dt.timedelta(seconds=2))]
    assert order == [service.id, reminder.id, bulk.id]
    assert bulk.lane == SmsLane.BULK


def test_a_leased_message_is_not_claimed_again_until_its_lease_runs_out(database):
    message = queue(database)
    assert [c.id for c in claim(database, owner="a")] == [message.id]
    assert claim(database, owner="b", now=NOW + dt.timedelta(seconds=59)) == []
    again = claim(database, owner="b", now=NOW + dt.timedelta(seconds=61))
    assert [(c.id, c.attempt) for c in again] == [(message.id, 2)]


def test_not_before_holds_a_message_back(database):
    queue(database, not_before=NOW + dt.timedelta(hours=1))
    assert claim(database) == []
    assert len(claim(database, now=NOW + dt.timedelta(hours=1))) == 1


def test_retry_requeues_until_the_attempts_are_used_up(database):
    message = queue(database)
    for attempt in (1, 2):
        claimed, = claim(database, now=NOW + dt.timedelta(minutes=10 * attempt))
        state = database.write_now(outbox.record_retry, claimed, error="ESME_RTHROTTLED",
                                   retry_at=NOW + dt.timedelta(minutes=10 * attempt + 1),
                                   max_attempts=2, now=NOW)
    assert state is SmsState.FAILED
    final = database.read_now(outbox.get, message.id)
    assert final.state is SmsState.FAILED and "after 2 attempts" in final.last_error


def submitted(database, ids, text="x"):
    queue(database, text=text)
    claimed = claim(database)[-1]
    database.write_now(outbox.record_submitted, claimed, link="mobile", encoding="ucs2",
                       part_ids=ids, now=NOW)
    return claimed.id


def receipt(database, message_id, state):
    return database.write_now(outbox.apply_receipt, DeliveryReceipt(message_id, state),
                              NOW + dt.timedelta(seconds=5))


def test_long_message_is_delivered_when_every_part_is(database):
    message_id = submitted(database, ["0A1", "0A2", "0A3"])
    assert receipt(database, "a1", MessageState.DELIVERED)  # case and zero variants match
    assert receipt(database, "162", MessageState.DELIVERED)  # 0x0A2 written in decimal
    assert database.read_now(outbox.get, message_id).state is SmsState.SUBMITTED
    assert receipt(database, "00000A3", MessageState.DELIVERED)
    assert database.read_now(outbox.get, message_id).state is SmsState.DELIVERED


def test_long_message_fails_when_any_part_fails(database):
    message_id = submitted(database, ["B1", "B2"])
    receipt(database, "B1", MessageState.UNDELIVERABLE)
    final = database.read_now(outbox.get, message_id)
    assert final.state is SmsState.FAILED and "part 1: undeliverable" in final.last_error


def test_intermediate_receipt_changes_nothing_and_unknown_id_is_reported(database):
    message_id = submitted(database, ["C1"])
    assert receipt(database, "C1", MessageState.ENROUTE)
    assert database.read_now(outbox.get, message_id).state is SmsState.SUBMITTED
    assert receipt(database, "FFFF", MessageState.DELIVERED) is False


def test_expired_messages_are_not_sent(database):
    message = queue(database, expires_at=NOW + dt.timedelta(minutes=5))
    assert claim(database, now=NOW + dt.timedelta(minutes=6)) == []
    assert database.read_now(outbox.get, message.id).state is SmsState.EXPIRED


def test_cancel_takes_only_what_is_not_submitted_or_leased(database):
    leased = queue(database, text="b")
    database.write_now(outbox.claim_due, owner="x", now=NOW, lease=LEASE, limit=1)
    waiting = queue(database, text="a")
    assert database.write_now(outbox.cancel, [waiting.id, leased.id], NOW) == 1
    assert database.read_now(outbox.get, leased.id).state is SmsState.QUEUED


def test_release_and_renew_only_touch_the_owners_leases(database):
    message = queue(database)
    claimed, = claim(database, owner="a")
    assert database.write_now(outbox.renew_leases, [message.id], "b", NOW + LEASE * 10) == 0
    assert database.write_now(outbox.renew_leases, [message.id], "a", NOW + LEASE * 10) == 1
    assert claim(database, owner="b", now=NOW + LEASE * 2) == []
    database.write_now(outbox.release, [message.id], "a")
    again, = claim(database, owner="b", now=NOW + LEASE * 2)
    assert again.attempt == 1  # a released claim does not count as an attempt
