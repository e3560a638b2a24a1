"""The dispatcher between the outbox rows and a link whose answers the test controls."""

import datetime as dt

import pytest
from sqlalchemy import func, select
from twisted.internet import defer
from twisted.internet.task import Clock

from schemas.enums import SmsKind, SmsState
from schemas.sms import SmsMessage
from sms_gateway import outbox
from sms_gateway.dispatcher import DispatchSettings, OutboxDispatcher
from sms_gateway.link import LinkUnavailable, MessageTooLong, PermanentSubmitError, Submission
from sms_gateway.routing import Router
from tests.support.appeals import utc


class Wall:
    def __init__(self):
        self.time = utc(2026, 11, 28, 2, 0)

    def now(self):
        return self.time


class ScriptedLink:
    """An ISmsLink whose parts the test answers one by one."""

    name = "mobile"

    def __init__(self):
        self.up = True
        self.sent = []  # (text, [part deferreds])

    def is_available(self):
        return self.up

    def submit_id_keys(self, message_id):
        return frozenset({"s:" + message_id.lower()})

    def submit(self, message):
        if "超长" in message.text:
            raise MessageTooLong(9, 6)
        parts = tuple(defer.Deferred() for _ in range(2 if "两段" in message.text else 1))
        self.sent.append((message.text, parts))
        return Submission(parts, "ucs2")


def make(database, **settings):
    link, clock, wall = ScriptedLink(), Clock(), Wall()
    dispatcher = OutboxDispatcher(database, {"mobile": link}, Router({}, {}, "mobile"), clock,
                                  wall, DispatchSettings(owner="t", poll_s=1, flush_s=0.01,
                                                         **settings))
    return dispatcher, link, clock, wall


def stop(dispatcher, clock, pumped_reactor):
    """Stop, with the timers running: a message still unanswered is waited for (bounded)."""
    stopped = dispatcher.stopService()
    pumped_reactor.pump(lambda: stopped.called, clock=clock, step=0.5)


def queue(database, text, now):
    return database.write_now(outbox.enqueue, kind=SmsKind.TEST, destination="13812345678",
                              text=text, now=now).id


def state(database, message_id):
    return database.read_now(outbox.get, message_id)


def test_claimed_messages_are_submitted_and_their_ids_recorded(database, pumped_reactor):
    dispatcher, link, clock, wall = make(database)
    ids = [queue(database, f"第{n}条", wall.time) for n in range(3)] + [
        queue(database, "两段长短信", wall.time)]
    dispatcher.startService()
    pumped_reactor.pump(lambda: len(link.sent) == 4, clock=clock, step=0.01)
    for number, (_, parts) in enumerate(link.sent):
        for index, part in enumerate(parts):
            part.callback(f"ID{number}-{index}")
    # `submitted` counts in the database thread; the message leaves `in_flight` once committed.
    pumped_reactor.pump(lambda: dispatcher.submitted == 4 and dispatcher.in_flight() == 0,
                        clock=clock, step=0.01)
    assert [state(database, i).state for i in ids] == [SmsState.SUBMITTED] * 4
    assert state(database, ids[3]).part_count == 2
    assert dispatcher.in_flight() == 0
    stop(dispatcher, clock, pumped_reactor)


def test_permanent_refusal_fails_the_message_with_the_status_name(database, pumped_reactor):
    dispatcher, link, clock, wall = make(database)
    message = queue(database, "号码不存在", wall.time)
    dispatcher.startService()
    pumped_reactor.pump(lambda: link.sent, clock=clock, step=0.01)
    link.sent[0][1][0].errback(PermanentSubmitError("ESME_RINVDSTADR", 0x0B))
    pumped_reactor.pump(lambda: dispatcher.failed == 1, clock=clock, step=0.01)
    final = state(database, message)
    assert (final.state, final.last_error) == (SmsState.FAILED, "ESME_RINVDSTADR")
    stop(dispatcher, clock, pumped_reactor)


def test_too_long_text_fails_at_once(database, pumped_reactor):
    dispatcher, link, clock, wall = make(database)
    message = queue(database, "超长" * 10, wall.time)
    dispatcher.startService()
    pumped_reactor.pump(lambda: dispatcher.failed == 1, clock=clock, step=0.01)
    assert "at most 6 allowed" in state(database, message).last_error
    stop(dispatcher, clock, pumped_reactor)


def test_link_drop_requeues_with_backoff_and_the_resend_succeeds(database, pumped_reactor):
    dispatcher, link, clock, wall = make(database, retry_initial=dt.timedelta(seconds=30))
    message = queue(database, "重发", wall.time)
    dispatcher.startService()
    pumped_reactor.pump(lambda: link.sent, clock=clock, step=0.01)
    link.sent[0][1][0].errback(LinkUnavailable("link lost"))
    pumped_reactor.pump(lambda: dispatcher.retried == 1, clock=clock, step=0.01)
    queued = state(database, message)
    assert queued.state is SmsState.QUEUED and queued.last_error == "link lost"
    clock.advance(5)
    assert len(link.sent) == 1  # not before its retry time
    wall.time += dt.timedelta(seconds=31)
    pumped_reactor.pump(lambda: len(link.sent) == 2, clock=clock, step=0.5)
    link.sent[1][1][0].callback("ABC")
    pumped_reactor.pump(lambda: dispatcher.submitted == 1, clock=clock, step=0.01)
    assert state(database, message).attempts == 2
    stop(dispatcher, clock, pumped_reactor)


def test_nothing_is_claimed_while_no_link_is_up(database, pumped_reactor):
    dispatcher, link, clock, wall = make(database)
    link.up = False
    queue(database, "等待", wall.time)
    dispatcher.startService()
    clock.advance(5)
    assert link.sent == []
    link.up = True
    pumped_reactor.pump(lambda: link.sent, clock=clock, step=0.5)
    stop(dispatcher, clock, pumped_reactor)


def test_in_flight_is_capped(database, pumped_reactor):
    dispatcher, link, clock, wall = make(database, max_in_flight=3, batch=2)
    for n in range(5):
        queue(database, f"m{n}", wall.time)
    dispatcher.startService()
    pumped_reactor.pump(lambda: len(link.sent) == 3, clock=clock, step=0.01)
    clock.advance(3)
    assert len(link.sent) == 3
    link.sent[0][1][0].callback("X0")
    pumped_reactor.pump(lambda: len(link.sent) == 4, clock=clock, step=0.05)
    stop(dispatcher, clock, pumped_reactor)


def test_stop_releases_the_leases_of_unanswered_messages(database, pumped_reactor):
    dispatcher, link, clock, wall = make(database, stop_wait_s=2.0)
    message = queue(database, "未答复", wall.time)
    dispatcher.startService()
    pumped_reactor.pump(lambda: link.sent, clock=clock, step=0.01)
    stopped, began = dispatcher.stopService(), clock.seconds()
    pumped_reactor.pump(lambda: clock.seconds() >= began + 1.5, clock=clock, step=0.1)
    assert not stopped.called  # still waiting for the SMSC's answer
    pumped_reactor.pump(lambda: stopped.called, clock=clock, step=0.1)
    assert clock.seconds() - began < 2.5
    claimed = database.write_now(outbox.claim_due, owner="other", now=wall.time,
                                 lease=dt.timedelta(seconds=60), limit=5)
    assert [(c.id, c.attempt) for c in claimed] == [(message, 1)]


def test_stop_records_answers_that_come_while_it_waits_and_gives_back_unsent_parts_at_once(
        database, pumped_reactor):
    dispatcher, link, clock, wall = make(database, stop_wait_s=30.0)
    answered, unsent = queue(database, "已发出", wall.time), queue(database, "未发出", wall.time)
    dispatcher.startService()
    pumped_reactor.pump(lambda: len(link.sent) == 2, clock=clock, step=0.01)
    stopped, began = dispatcher.stopService(), clock.seconds()
    assert not stopped.called
    # The link, stopping too, fails the part it had not sent yet, and the SMSC answers the other.
    link.sent[1][1][0].errback(LinkUnavailable("mobile link stopping"))
    link.sent[0][1][0].callback("ID-1")
    pumped_reactor.pump(lambda: stopped.called, clock=clock, step=0.01)
    assert clock.seconds() - began < 1.0  # no waiting for the bound once nothing is in flight
    assert state(database, answered).state is SmsState.SUBMITTED
    back = database.read_now(outbox.get, unsent)
    assert (back.state, back.attempts) == (SmsState.QUEUED, 0)
    claimed = database.write_now(outbox.claim_due, owner="other", now=wall.time,
                                 lease=dt.timedelta(seconds=60), limit=5)
    assert [c.id for c in claimed] == [unsent]  # claimable now, not after a retry delay


def test_one_round_claims_at_a_time_so_max_in_flight_bounds_the_leases(database, pumped_reactor):
    dispatcher, link, clock, wall = make(database, batch=3, max_in_flight=3)
    for n in range(9):
        queue(database, f"第{n}条", wall.time)
    dispatcher.startService()
    pumped_reactor.pump(lambda: len(link.sent) == 3, clock=clock, step=0.01)
    # Answers flushed while the next claim is in the air must not start a second claim.
    for _, parts in link.sent:
        parts[0].callback("ID")
    pumped_reactor.pump(lambda: len(link.sent) == 6, clock=clock, step=0.01)
    leased = database.read_now(lambda s: s.scalar(
        select(func.count()).select_from(SmsMessage).where(SmsMessage.lease_owner == "t")))
    assert leased <= 3
    stopped = dispatcher.stopService()
    for _, parts in link.sent[3:]:
        parts[0].callback("ID")
    pumped_reactor.pump(lambda: stopped.called, clock=clock, step=0.01)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_dispatchers_on_postgresql_never_send_the_same_message(db_url, pumped_reactor):
    from hotline.config import DatabaseConfig
    from hotline.db import Database, make_engine

    databases = [Database(make_engine(DatabaseConfig(url=db_url)), pumped_reactor, threads=4)
                 for _ in range(2)]
    for db in databases:
        db.startService()
    wall, clock = Wall(), Clock()
    for n in range(300):
        queue(databases[0], f"m{n}", wall.time)
    pairs = []
    for name, db in zip("ab", databases, strict=True):
        link = ScriptedLink()
        dispatcher = OutboxDispatcher(db, {"mobile": link}, Router({}, {}, "mobile"), clock, wall,
                                      DispatchSettings(owner=name, batch=7, poll_s=0.01,
                                                       flush_s=0.001))
        dispatcher.startService()
        pairs.append((dispatcher, link))

    def answer_all() -> bool:
        for _, link in pairs:
            for text, parts in link.sent:
                for part in parts:
                    if not part.called:
                        part.callback(f"{text}-id")
        return sum(d.submitted for d, _ in pairs) == 300

    pumped_reactor.pump(answer_all, clock=clock, step=0.01, timeout=60)
    texts = [[text for text, _ in link.sent] for _, link in pairs]
    assert len(texts[0]) + len(texts[1]) == 300
    assert not set(texts[0]) & set(texts[1])
    assert texts[0] and texts[1]  # both took a share
    for dispatcher, _ in pairs:
        stop(dispatcher, clock, pumped_reactor)
    for db in databases:
        db.stopService()


def test_a_claim_still_in_the_database_when_the_stop_comes_is_given_back_unsent(
        database, pumped_reactor):
    dispatcher, link, clock, wall = make(database)
    message = queue(database, "刚认领", wall.time)
    dispatcher.startService()
    clock.advance(0)  # the round starts: its claim is now in the database thread
    stopped, done = dispatcher.stopService(), []
    stopped.addBoth(done.append)
    pumped_reactor.pump(lambda: done, clock=clock, step=0.05)
    assert link.sent == []
    back = database.read_now(outbox.get, message)
    assert (back.state, back.attempts) == (SmsState.QUEUED, 0)
    claimed = database.write_now(outbox.claim_due, owner="other", now=wall.time,
                                 lease=dt.timedelta(seconds=60), limit=5)
    assert [c.id for c in claimed] == [message]
