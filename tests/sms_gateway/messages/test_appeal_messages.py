"""The appeal messages join the core's transactions: "received" when an appeal opens,
"resolved" when it is resolved; quiet hours hold them until the morning; the survey and the
callback confirmation are queued by function."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time

from hotline.appeals import AppealValidationError
from hotline.clock import SystemClock
from schemas.enums import SmsKind, SmsLane
from sms_gateway.messages import appeal_messages
from tests.sms_gateway.messages.support import (
    core_with_hooks,
    messages,
    messaging,
    open_in_progress,
    shanghai,
)
from tests.support.appeals import new_appeal


@pytest.fixture
def world():
    core, repository = core_with_hooks()
    parts = messaging()
    appeal_messages.register(core, parts.appeals)
    return core, repository, parts


def test_opening_an_appeal_queues_the_received_message_in_its_transaction(database, world):
    core, repository, _ = world
    now = shanghai(2026, 11, 30, 10, 0)
    appeal = database.write_now(repository.create, new_appeal(), actor="agent:wang", now=now)
    [sent] = database.read_now(messages)
    assert sent.kind is SmsKind.APPEAL_RECEIVED and sent.lane == SmsLane.SERVICE
    assert sent.destination == "13812345678" and sent.appeal_id == appeal.id
    assert f"编号{appeal.case_number}" in sent.text and "9600110" in sent.text
    assert sent.not_before == now
    assert core.create_hook.names == ("sms-appeal-received",)


def test_an_appeal_that_fails_to_open_leaves_no_message(database, world):
    _, repository, _ = world
    with pytest.raises(AppealValidationError):
        database.write_now(repository.create, new_appeal(subject=""), actor="agent:wang",
                           now=shanghai(2026, 11, 30, 10, 0))
    assert database.read_now(messages) == []


def test_resolving_queues_the_resolved_message_and_a_second_resolution_a_second(database, world):
    _, repository, _ = world
    now = shanghai(2026, 11, 30, 10, 0)
    appeal = open_in_progress(database, repository, now)
    database.write_now(repository.resolve, appeal.id, "已协调物业处理，噪音已停止", actor="agent:wang",
                       now=now + dt.timedelta(hours=2))
    database.write_now(repository.reopen, appeal.id, "仍有噪音", actor="supervisor:li",
                       now=now + dt.timedelta(hours=3))
    database.write_now(repository.resolve, appeal.id, "已再次处理", actor="agent:wang",
                       now=now + dt.timedelta(hours=4))
    resolved = database.read_now(messages, SmsKind.APPEAL_RESOLVED)
    assert [m.appeal_id for m in resolved] == [appeal.id, appeal.id]
    assert "已协调物业处理，噪音已停止。" in resolved[0].text and "回访" in resolved[0].text
    assert "已再次处理" in resolved[1].text


def test_a_landline_citizen_gets_no_message(database, world):
    _, repository, _ = world
    database.write_now(repository.create, new_appeal(citizen_phone="05398123456"),
                       actor="agent:wang", now=shanghai(2026, 11, 30, 10, 0))
    assert database.read_now(messages) == []


@pytest.mark.parametrize("local, expected", [
    ((2026, 11, 30, 20, 59), (2026, 11, 30, 20, 59)),  # before the quiet hours: at once
    ((2026, 11, 30, 21, 0), (2026, 12, 1, 8, 0)),  # from 21:00: the next morning
    ((2026, 11, 30, 23, 59), (2026, 12, 1, 8, 0)),
    ((2026, 12, 1, 0, 1), (2026, 12, 1, 8, 0)),  # after midnight: the same morning
    ((2026, 12, 1, 7, 59), (2026, 12, 1, 8, 0)),
    ((2026, 12, 1, 8, 0), (2026, 12, 1, 8, 0)),
])
def test_quiet_hours_across_midnight_hold_the_acknowledgement_until_morning(database, world,
                                                                          local, expected):
    _, repository, _ = world
    with freeze_time(shanghai(*local)):
        now = SystemClock().now()
        database.write_now(repository.create, new_appeal(), actor="ivr", now=now)
    [sent] = database.read_now(messages)
    assert sent.not_before == shanghai(*expected)


def test_the_survey_and_the_callback_confirmation_are_queued_by_function(database, world):
    _, repository, parts = world
    now = shanghai(2026, 11, 30, 10, 0)
    appeal = database.write_now(repository.create, new_appeal(), actor="agent:wang", now=now)
    survey = database.write_now(parts.appeals.queue_survey, appeal.id, now)
    confirmation = database.write_now(parts.appeals.queue_callback_confirmation,
                                      phone="+86 138 1234 5678", now=now, within_minutes=30,
                                      dedupe_key="callback-confirmation:7")
    again = database.write_now(parts.appeals.queue_callback_confirmation, phone="13812345678",
                               now=now, within_minutes=30, dedupe_key="callback-confirmation:7")
    assert again.message_id == confirmation.message_id
    sent = {m.kind: m for m in database.read_now(messages)}
    assert sent[SmsKind.SURVEY].appeal_id == appeal.id
    assert "回复1满意，2基本满意，3不满意（72小时内有效）" in sent[SmsKind.SURVEY].text
    assert "30分钟内" in sent[SmsKind.CALLBACK_CONFIRMATION].text
    assert sent[SmsKind.CALLBACK_CONFIRMATION].lane == SmsLane.SERVICE
    assert survey.message_id == sent[SmsKind.SURVEY].id
