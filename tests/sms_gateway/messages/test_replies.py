"""Replies: a survey answer rates the appeal of the citizen's latest survey within its
validity (不满意 reopens it and warns supervisors); a late answer or one with no survey is a
note or unmatched; TD / 退订 / STOP opt out of reminders and warnings, 订阅 / START opt in."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete
from twisted.logger import LogLevel, capturedLogs

from hotline import audit
from schemas.enums import AppealStatus, Satisfaction, SmsInboundState, SmsKind, SmsState
from schemas.messaging import OptAction, ReminderKind, SmsOptOutEvent
from schemas.models import Appeal
from schemas.sms import SmsInbound, SmsMessage
from sms_gateway.inbox import Inbox, store_reply
from sms_gateway.link import MobileOriginated
from sms_gateway.messages import appeal_messages, optout
from sms_gateway.messages.reminders import ReminderRow, insert_reminders
from sms_gateway.messages.replies import ReplyHandler
from tests.sms_gateway.messages.support import (
    core_with_hooks,
    messages,
    messaging,
    resolved,
    shanghai,
)

PHONE = "13812345678"
T0 = shanghai(2026, 11, 30, 10, 0)


class FixedClock:
    def __init__(self, now):
        self.value = now

    def now(self):
        return self.value


@pytest.fixture
def world(database):
    core, repository = core_with_hooks()
    parts = messaging()
    appeal_messages.register(core, parts.appeals)
    clock = FixedClock(T0)
    handler = ReplyHandler(database, clock, repository, survey_valid=dt.timedelta(hours=72))
    return repository, parts, handler, clock


def reply(database, handler, text, at, pumped_reactor, source=PHONE):
    """Store a reply as the inbox does, then hand it to the listener as the inbox does."""
    stored = database.write_now(store_reply, MobileOriginated(source=source, destination="9600110",
                                                              text=text, received_at=at), at)
    return pumped_reactor.wait(handler(stored))


def surveyed(database, repository, parts, sent_at):
    appeal = resolved(database, repository, T0)
    outcome = database.write_now(parts.appeals.queue_survey, appeal.id, sent_at)

    def submit(session):
        row = session.get(SmsMessage, outcome.message_id)
        row.state, row.submitted_at = SmsState.DELIVERED, sent_at
    database.write_now(submit)
    return appeal


def inbound(session, reply_id):
    row = session.get(SmsInbound, reply_id)
    return row.state, row.appeal_id


def appeal_state(session, appeal_id):
    appeal = session.get(Appeal, appeal_id)
    return appeal.status, appeal.satisfaction


@pytest.mark.parametrize("text, rating, status", [
    ("1", Satisfaction.SATISFIED, AppealStatus.CLOSED),
    ("２", Satisfaction.BASICALLY_SATISFIED, AppealStatus.CLOSED),
    ("满意", Satisfaction.SATISFIED, AppealStatus.CLOSED),
])
def test_a_survey_answer_within_its_window_rates_and_closes_the_appeal(
        database, world, pumped_reactor, text, rating, status):
    repository, parts, handler, clock = world
    appeal = surveyed(database, repository, parts, T0 + dt.timedelta(hours=1))
    clock.value = T0 + dt.timedelta(hours=30)
    result = reply(database, handler, text, clock.value, pumped_reactor)
    assert result.state is SmsInboundState.RATED and result.appeal_id == appeal.id
    assert database.read_now(inbound, result.reply_id) == (SmsInboundState.RATED, appeal.id)
    assert database.read_now(appeal_state, appeal.id) == (status, rating)
    trail = database.read_now(audit.trail, "appeal", appeal.id)
    assert trail[-1].action == "close" and trail[-1].actor == "system:sms-reply"
    assert f"SMS survey reply {result.reply_id}" in trail[-1].note


def test_dissatisfied_reopens_the_appeal_and_warns_supervisors_like_a_callback(
        database, world, pumped_reactor):
    repository, parts, handler, clock = world
    appeal = surveyed(database, repository, parts, T0)
    clock.value = T0 + dt.timedelta(hours=2)
    with capturedLogs() as events:
        result = reply(database, handler, "不满意", clock.value, pumped_reactor)
    assert result.satisfaction is Satisfaction.DISSATISFIED
    assert database.read_now(appeal_state, appeal.id) == (AppealStatus.IN_PROGRESS,
                                                          Satisfaction.DISSATISFIED)
    assert database.read_now(audit.trail, "appeal", appeal.id)[-1].action == "reopen"
    warnings = [e for e in events if e["log_level"] is LogLevel.warn]
    assert len(warnings) == 1 and "flagged to supervisors" in warnings[0]["log_format"]
    assert warnings[0]["appeal_id"] == appeal.id


def test_a_late_answer_is_not_a_rating_but_a_note_on_the_open_appeal(database, world,
                                                                    pumped_reactor):
    repository, parts, handler, clock = world
    appeal = surveyed(database, repository, parts, T0)
    clock.value = T0 + dt.timedelta(hours=72, minutes=1)
    result = reply(database, handler, "1", clock.value, pumped_reactor)
    assert result.state is SmsInboundState.NOTED and result.appeal_id == appeal.id
    assert database.read_now(appeal_state, appeal.id) == (AppealStatus.RESOLVED, None)
    note = database.read_now(audit.trail, "appeal", appeal.id)[-1]
    assert note.action == "sms_reply" and note.note == f"SMS reply {result.reply_id}: 1"


def test_an_answer_with_no_survey_and_no_open_appeal_is_unmatched(database, world,
                                                                  pumped_reactor):
    _, _, handler, clock = world
    result = reply(database, handler, "3", clock.value, pumped_reactor)
    assert result.state is SmsInboundState.UNMATCHED and result.appeal_id is None
    assert database.read_now(inbound, result.reply_id) == (SmsInboundState.UNMATCHED, None)


def test_the_latest_survey_counts_and_an_already_rated_appeal_is_not_rated_again(
        database, world, pumped_reactor):
    repository, parts, handler, clock = world
    first = surveyed(database, repository, parts, T0)
    second = surveyed(database, repository, parts, T0 + dt.timedelta(hours=1))
    clock.value = T0 + dt.timedelta(hours=2)
    assert reply(database, handler, "1", clock.value, pumped_reactor).appeal_id == second.id
    assert database.read_now(appeal_state, first.id) == (AppealStatus.RESOLVED, None)
    again = reply(database, handler, "3", clock.value, pumped_reactor)
    # The latest survey's appeal is closed now: a second answer is a note, not a reopen.
    assert again.state is SmsInboundState.NOTED and again.appeal_id == first.id
    assert database.read_now(appeal_state, second.id) == (AppealStatus.CLOSED,
                                                          Satisfaction.SATISFIED)


def test_any_other_reply_is_a_note_on_the_latest_open_appeal(database, world, pumped_reactor):
    repository, parts, handler, clock = world
    appeal = resolved(database, repository, T0)
    result = reply(database, handler, "谢谢，噪音还在，晚上十点后仍有", clock.value, pumped_reactor)
    assert (result.state, result.appeal_id) == (SmsInboundState.NOTED, appeal.id)
    assert "噪音还在" in database.read_now(audit.trail, "appeal", appeal.id)[-1].note


def vehicle_reminder(session, now):
    insert_reminders(session, [ReminderRow(2, ReminderKind.VEHICLE, "鲁Q12345", dt.date(2026, 12, 3),
                                           PHONE, plate="鲁Q12345")], messaging().plan, now)


def test_opt_out_stops_reminders_but_not_acknowledgements_and_opt_in_restores_them(
        database, world, pumped_reactor):
    repository, parts, handler, clock = world
    assert reply(database, handler, "ＴＤ", clock.value, pumped_reactor).state \
        is SmsInboundState.OPT_OUT
    database.write_now(vehicle_reminder, T0)
    planned = database.write_now(parts.planner.plan_due, T0, 100)
    assert planned.queued == 0 and planned.skipped == {"opted_out": 1}
    resolved(database, repository, T0)  # acknowledgements and resolutions still go
    assert {m.kind for m in database.read_now(messages)} == {SmsKind.APPEAL_RECEIVED,
                                                             SmsKind.APPEAL_RESOLVED}
    assert reply(database, handler, "start", clock.value, pumped_reactor).state \
        is SmsInboundState.OPT_IN
    assert not database.read_now(optout.is_opted_out, PHONE)
    history = database.read_now(optout.history, PHONE)
    assert [(e.action, e.actor, e.note) for e in history] == [
        (OptAction.OPT_OUT, "citizen-sms", "ＴＤ"), (OptAction.OPT_IN, "citizen-sms", "start")]
    assert all(e.inbound_id for e in history)


def test_the_opt_out_history_cannot_be_rewritten(database, world, pumped_reactor):
    _, _, handler, clock = world
    reply(database, handler, "退订", clock.value, pumped_reactor)
    with pytest.raises(Exception, match="append-only"):
        database.write_now(lambda s: s.execute(delete(SmsOptOutEvent)))


def test_a_reply_through_the_inbox_is_handled_once_and_a_stored_backlog_on_start(
        database, world, pumped_reactor):
    repository, parts, handler, clock = world
    appeal = resolved(database, repository, T0)
    inbox = Inbox(database, clock)
    done = []
    inbox.reply_listeners.append(lambda stored: handler(stored).addCallback(done.append))
    pumped_reactor.wait(inbox.on_message(MobileOriginated(source="+8613812345678",
                                                          destination="9600110", text="何时处理？",
                                                          received_at=T0)))
    pumped_reactor.pump(lambda: done)
    assert (done[0].state, done[0].appeal_id) == (SmsInboundState.NOTED, appeal.id)
    assert database.write_now(handler.handle, done[0].reply_id, T0) is None  # handled already
    # A reply stored while no listener ran is picked up by handle_pending.
    stored = database.write_now(store_reply, MobileOriginated(source=PHONE, destination="9600110",
                                                              text="TD", received_at=T0), T0)
    results = database.write_now(handler.handle_pending, T0)
    assert [(r.reply_id, r.state) for r in results] == [(stored.id, SmsInboundState.OPT_OUT)]


def test_a_survey_the_callback_queue_queued_is_matched_the_same_way(database, world,
                                                                    pumped_reactor):
    """The callback queue's fallback writes its own SURVEY row (its text, its dedupe key):
    the two meet in the outbox table, by kind, destination and appeal."""
    repository, _, handler, clock = world
    appeal = resolved(database, repository, T0)
    sent_at = T0 + dt.timedelta(hours=26)

    def callback_queue_fallback(session):
        session.add(SmsMessage(kind=SmsKind.SURVEY, lane=0, destination=PHONE,
                               text="【9600110】您的诉求已办结。请回复数字评价：1满意，2基本满意，3不满意。",
                               state=SmsState.SUBMITTED, attempts=1, not_before=sent_at,
                               submitted_at=sent_at, dedupe_key="callback-survey:17",
                               appeal_id=appeal.id, created_at=sent_at))
    database.write_now(callback_queue_fallback)
    clock.value = sent_at + dt.timedelta(hours=5)
    result = reply(database, handler, "３", clock.value, pumped_reactor)
    assert (result.state, result.appeal_id) == (SmsInboundState.RATED, appeal.id)
    assert database.read_now(appeal_state, appeal.id) == (AppealStatus.IN_PROGRESS,
                                                          Satisfaction.DISSATISFIED)


def test_an_opt_out_from_a_number_that_is_not_a_mobile_is_unmatched(database, world,
                                                                    pumped_reactor):
    _, _, handler, clock = world
    result = reply(database, handler, "TD", clock.value, pumped_reactor, source="10086")
    assert result.state is SmsInboundState.UNMATCHED
