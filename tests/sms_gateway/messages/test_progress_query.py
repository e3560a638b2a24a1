"""A progress query by SMS (查询 [case number]): the sender's own appeal is told as the IVR's
query tells it (status, the unit handling it, the date), by one reply through the outbox;
another person's case number, one that does not exist, or no open appeal all get the same
neutral reply; the inbound reply is QUERIED and answered once."""

from __future__ import annotations

import datetime as dt

import pytest

from schemas.enums import SmsInboundState, SmsKind
from sms_gateway.messages import appeal_messages
from sms_gateway.messages.replies import ReplyHandler
from sms_gateway.messages.rules import ReplyKind, interpret
from tests.sms_gateway.messages.support import core_with_hooks, messages, messaging, shanghai
from tests.sms_gateway.messages.test_replies import FixedClock, inbound, reply
from tests.support.appeals import add_unit, new_appeal

PHONE = "13812345678"
OTHER = "13900001111"
T0 = shanghai(2026, 11, 30, 10, 0)
NEUTRAL = "未查询到您名下对应的诉求"


@pytest.fixture
def world(database):
    core, repository = core_with_hooks()
    parts = messaging()
    appeal_messages.register(core, parts.appeals)
    handler = ReplyHandler(database, FixedClock(T0 + dt.timedelta(hours=1)), repository,
                           survey_valid=dt.timedelta(hours=72),
                           progress_reply=parts.appeals.queue_progress_reply)
    return repository, handler


@pytest.mark.parametrize("text, case_number", [
    ("查询", None), (" 查询 ", None), ("查询2026113000001", "2026113000001"),
    ("查询 2026113000001", "2026113000001"), ("查询：２０２６１１３０００００１", "2026113000001"),
])
def test_a_query_is_read_with_or_without_its_case_number(text, case_number):
    meaning = interpret(text)
    assert meaning.kind is ReplyKind.QUERY and meaning.case_number == case_number


@pytest.mark.parametrize("text", ["查询一下我的事", "查", "查询abc"])
def test_other_words_after_query_are_a_note_not_a_query(text):
    assert interpret(text).kind is ReplyKind.OTHER


def answers(database):
    return database.read_now(messages, SmsKind.PROGRESS_REPLY)


def test_the_senders_own_case_is_told_with_its_unit_and_date(database, world, pumped_reactor):
    repository, handler = world
    unit = database.write_now(add_unit)
    appeal = database.write_now(repository.create, new_appeal(citizen_phone=PHONE),
                                actor="agent:wang", now=T0)
    database.write_now(repository.assign, appeal.id, unit, actor="agent:wang", now=T0)
    result = reply(database, handler, f"查询{appeal.case_number}", T0 + dt.timedelta(hours=1),
                   pumped_reactor)
    assert result.state is SmsInboundState.QUERIED and result.appeal_id == appeal.id
    [sent] = answers(database)
    assert sent.destination == PHONE and sent.appeal_id == appeal.id
    assert f"编号{appeal.case_number}" in sent.text and "正由兰山派出所办理" in sent.text
    assert "噪音" not in sent.text  # never the matter itself
    # Just 查询: the latest open appeal, the same answer.
    reply(database, handler, "查询", T0 + dt.timedelta(hours=2), pumped_reactor)
    assert [m.appeal_id for m in answers(database)] == [appeal.id, appeal.id]


@pytest.mark.parametrize("whose", ["another person's", "none"])
def test_a_case_number_not_the_senders_gets_the_neutral_reply(database, world, pumped_reactor,
                                                               whose):
    repository, handler = world
    theirs = database.write_now(repository.create, new_appeal(citizen_phone=OTHER),
                                actor="agent:wang", now=T0)
    number = theirs.case_number if whose == "another person's" else "2026113099999"
    result = reply(database, handler, f"查询{number}", T0 + dt.timedelta(hours=1),
                   pumped_reactor)
    assert result.state is SmsInboundState.QUERIED and result.appeal_id is None
    [sent] = answers(database)
    assert sent.destination == PHONE and NEUTRAL in sent.text
    assert theirs.case_number not in sent.text and sent.appeal_id is None


def test_with_no_open_appeal_just_query_gets_the_neutral_reply(database, world, pumped_reactor):
    _repository, handler = world
    result = reply(database, handler, "查询", T0 + dt.timedelta(hours=1), pumped_reactor)
    assert database.read_now(inbound, result.reply_id) == (SmsInboundState.QUERIED, None)
    [sent] = answers(database)
    assert NEUTRAL in sent.text


def test_a_query_handled_again_is_answered_once(database, world, pumped_reactor):
    _repository, handler = world
    result = reply(database, handler, "查询", T0 + dt.timedelta(hours=1), pumped_reactor)
    assert database.write_now(handler.handle, result.reply_id, T0) is None  # handled already
    assert len(answers(database)) == 1
