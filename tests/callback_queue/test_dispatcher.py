"""The dispatcher against the simulated Asterisk over the real AMI client, on each database:
resolving creates the task, the due task is dialled into the survey context with its id on
the channel, and the OriginateResponse (or its absence) decides what follows."""

from __future__ import annotations

import datetime as dt

import pytest
from twisted.logger import capturedLogs, formatEvent

from hotline.ami import OriginateReason
from hotline.appeals import AppealRecord
from schemas.callbacks import AttemptResult, CallbackMode, CallbackOutcome, CallbackState
from schemas.enums import AppealKind, AppealStatus, Satisfaction
from tests.callback_queue.support import CITIZEN, MONDAY_10, all_tasks, make_world
from tests.support.appeals import utc


def test_resolving_an_appeal_creates_its_callback_task_in_the_same_transaction(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    resolved_at = MONDAY_10 - dt.timedelta(hours=3)
    appeal_id = world.resolved_appeal(at=resolved_at)
    task = world.task_for(appeal_id)
    assert task.state is CallbackState.PENDING and task.mode is CallbackMode.AUTOMATED
    assert task.citizen_phone == CITIZEN and task.resolved_at == resolved_at
    assert task.window_start == resolved_at + dt.timedelta(hours=2)
    assert task.unit_id == world.unit_id and task.appeal_kind is AppealKind.HELP


def test_participant_failure_rolls_the_resolution_back(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    world.hook.register("broken", lambda session, appeal: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        world.resolved_appeal()
    assert all_tasks(database) == []


def test_complaint_callbacks_are_agent_mode_and_never_auto_dialled(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    appeal_id = world.resolved_appeal(kind=AppealKind.COMPLAINT)
    assert world.task_for(appeal_id).mode is CallbackMode.AGENT
    assert world.tick() == []
    assert world.originates() == []


def test_due_task_is_originated_into_the_survey_context_with_its_id(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    appeal_id = world.resolved_appeal()
    task_id = world.task_for(appeal_id).id
    claims = world.tick()
    assert [c.task_id for c in claims] == [task_id]
    (originate,) = world.originates()
    assert originate["Channel"] == f"PJSIP/{CITIZEN}@trunk"
    assert originate["Context"] == "hotline-survey" and originate["Exten"] == "s"
    assert originate["Async"] == "true" and originate["CallerID"] == "9600110"
    # the attempt's id names the dialplan's recording (callback-TASK-ATTEMPT.wav)
    assert originate.getall("Variable") == [f"TASK_ID={task_id}",
                                            f"TASK_ATTEMPT={claims[0].attempt_id}"]
    assert originate["ChannelId"] == claims[0].channel_id
    assert world.task(task_id).state is CallbackState.DIALING
    world.settle()
    task = world.task(task_id)
    assert task.state is CallbackState.IN_CALL and task.attempts == 1
    (attempt,) = world.attempts(task_id)
    assert attempt.result is AttemptResult.ANSWERED and attempt.action_id


@pytest.mark.parametrize("digit, rating, status", [
    ("1", Satisfaction.SATISFIED, AppealStatus.CLOSED),
    ("2", Satisfaction.BASICALLY_SATISFIED, AppealStatus.CLOSED),
    ("3", Satisfaction.DISSATISFIED, AppealStatus.IN_PROGRESS),
])
def test_survey_rating_closes_or_reopens_the_appeal(database, pumped_reactor, digit, rating, status):
    world = make_world(database, pumped_reactor)
    appeal_id = world.resolved_appeal()
    task_id = world.task_for(appeal_id).id
    world.tick()
    world.settle()
    world.pump.wait(_d(world.queue.record_rating(str(task_id), digit)))
    task = world.task(task_id)
    assert task.state is CallbackState.COMPLETED and task.outcome is CallbackOutcome.RATED
    assert task.rating is rating and task.completed_by == "system:callback-survey"
    appeal: AppealRecord = database.read_now(world.appeals.get, appeal_id)
    assert appeal.status is status and appeal.satisfaction is rating


def _d(coroutine):
    from twisted.internet.defer import Deferred

    return Deferred.fromCoroutine(coroutine)


@pytest.mark.parametrize("reason, result, minutes", [
    (OriginateReason.BUSY, AttemptResult.BUSY, 15),
    (OriginateReason.NO_ANSWER, AttemptResult.NO_ANSWER, 60),
    (OriginateReason.CONGESTION, AttemptResult.CONGESTION, 60),
    (OriginateReason.FAILED, AttemptResult.FAILED, 60),
    (OriginateReason.HANGUP, AttemptResult.FAILED, 60),
])
def test_failed_attempt_is_retried_per_policy(database, pumped_reactor, reason, result, minutes):
    world = make_world(database, pumped_reactor)
    task_id = world.task_for(world.resolved_appeal()).id
    world.sim.script_originate(CITIZEN, reason, delay=2.0)
    world.tick()
    world.settle(2.0)
    task = world.task(task_id)
    assert task.state is CallbackState.PENDING and task.attempts == 1
    assert task.next_attempt_at == MONDAY_10 + dt.timedelta(minutes=minutes)
    assert world.attempts(task_id)[0].result is result
    assert world.tick() == []  # not due again yet


def test_three_unanswered_attempts_fall_back_to_an_sms_survey(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    appeal_id = world.resolved_appeal()
    task_id = world.task_for(appeal_id).id
    world.sim.script_originate(CITIZEN, OriginateReason.NO_ANSWER, delay=1.0)
    for _ in range(3):
        world.tick()
        world.settle()
        world.wall.advance(minutes=60)
    task = world.task(task_id)
    assert task.state is CallbackState.UNREACHABLE and task.outcome is CallbackOutcome.SMS_SURVEY
    assert task.attempts == 3 and len(world.originates()) == 3
    case_number = database.read_now(world.appeals.get, appeal_id).case_number
    (sms,) = world.sms()
    assert sms[:6] == (CITIZEN, appeal_id, "survey", "queued", 0, f"callback-survey:{task_id}")
    assert case_number in sms[6]
    assert world.tick() == []


def test_unreachable_fallback_queues_no_sms(database, pumped_reactor):
    world = make_world(database, pumped_reactor, max_attempts={"help": 1},
                       fallback={"help": "unreachable"})
    task_id = world.task_for(world.resolved_appeal()).id
    world.sim.script_originate(CITIZEN, OriginateReason.BUSY, delay=1.0)
    world.tick()
    world.settle()
    task = world.task(task_id)
    assert task.state is CallbackState.UNREACHABLE and task.outcome is CallbackOutcome.UNREACHABLE
    assert world.sms() == []


def test_originate_response_that_never_arrives_is_a_failed_attempt_and_logged(database, pumped_reactor):
    world = make_world(database, pumped_reactor, originate_response_s=30)
    task_id = world.task_for(world.resolved_appeal()).id
    world.sim.script_originate(CITIZEN, OriginateReason.ANSWERED, respond=False)
    world.tick()
    with capturedLogs() as events:
        world.settle(29.0, wait=False)
        assert world.task(task_id).state is CallbackState.DIALING
        world.settle(1.0)
    task = world.task(task_id)
    assert task.state is CallbackState.PENDING and task.attempts == 1
    assert task.next_attempt_at == MONDAY_10 + dt.timedelta(minutes=60)
    attempt = world.attempts(task_id)[0]
    assert attempt.result is AttemptResult.NO_RESPONSE and attempt.action_id
    lines = [formatEvent(e) for e in events]
    assert any("no OriginateResponse" in line and "138****5678" in line for line in lines)
    assert not any(CITIZEN in line for line in lines)


def test_a_citizen_with_several_resolved_appeals_is_called_once_and_the_rating_applies_to_each(
        database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    first = world.resolved_appeal(at=MONDAY_10 - dt.timedelta(hours=4))
    second = world.resolved_appeal(at=MONDAY_10 - dt.timedelta(hours=3))
    third = world.resolved_appeal(at=MONDAY_10 - dt.timedelta(hours=1))  # window opens in 1 h
    other = world.resolved_appeal(phone="13900001111")
    claims = world.tick()
    assert sorted(c.phone for c in claims) == [CITIZEN, "13900001111"]
    mine = next(c for c in claims if c.phone == CITIZEN)
    assert set(mine.appeal_ids) == {first, second, third}
    assert len(world.originates()) == 2
    world.settle()
    world.pump.wait(_d(world.queue.record_rating(str(mine.task_id), "2")))
    for appeal_id in (first, second, third):
        task = world.task_for(appeal_id)
        assert task.state is CallbackState.COMPLETED and task.rating is Satisfaction.BASICALLY_SATISFIED
        assert task.attempts == 1
        appeal = database.read_now(world.appeals.get, appeal_id)
        assert appeal.status is AppealStatus.CLOSED
    assert world.task_for(other).state is CallbackState.IN_CALL
    world.wall.advance(minutes=10)  # still within the other call's survey lease
    world.tick()
    assert len(world.originates()) == 2  # nobody is called twice


def test_absorbed_tasks_share_the_fallback(database, pumped_reactor):
    world = make_world(database, pumped_reactor, max_attempts={"help": 1})
    first = world.resolved_appeal()
    second = world.resolved_appeal()
    world.sim.script_originate(CITIZEN, OriginateReason.NO_ANSWER, delay=1.0)
    world.tick()
    world.settle()
    assert {world.task_for(a).outcome for a in (first, second)} == {CallbackOutcome.SMS_SURVEY}
    assert sorted(s[1] for s in world.sms()) == sorted([first, second])


def test_calls_in_the_air_per_trunk_never_exceed_its_limit(database, pumped_reactor):
    world = make_world(database, pumped_reactor, calls_per_trunk=2)
    for n in range(5):
        world.resolved_appeal(phone=f"1390000000{n}")
    world.sim.default_outcome = type(world.sim.default_outcome)(OriginateReason.ANSWERED, 1.0)
    assert len(world.tick()) == 2
    assert world.tick() == []
    world.settle()  # answered: still in the air (the survey runs) until rated
    assert world.tick() == []
    in_call = [t for t, state in all_tasks(database) if state == "in_call"]
    world.pump.wait(_d(world.queue.record_rating(str(in_call[0]), "1")))
    assert len(world.tick()) == 1


def test_nothing_is_dialled_outside_calling_hours(database, pumped_reactor):
    world = make_world(database, pumped_reactor, now=utc(2026, 11, 30, 13, 30))  # 21:30
    world.resolved_appeal(at=utc(2026, 11, 30, 10, 0))  # window 20:00 today
    assert world.tick() == []
    world.wall.advance(hours=11)  # Tuesday 08:30
    assert len(world.tick()) == 1


def test_an_originate_that_never_reached_asterisk_is_not_counted(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    task_id = world.task_for(world.resolved_appeal()).id
    world.endpoint.refuse = True
    world.endpoint.cut()
    world.tick(advance=1.0)  # the queue check gives up after connect_wait (5 s)
    world.wait(world.dispatcher.idle(), advance=1.0)  # and so does the Originate
    task = world.task(task_id)
    assert task.state is CallbackState.PENDING and task.attempts == 0
    assert world.attempts(task_id)[0].result is AttemptResult.NOT_PLACED


def test_a_survey_without_a_rating_counts_as_an_attempt(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    task_id = world.task_for(world.resolved_appeal()).id
    world.tick()
    world.settle()
    world.pump.wait(_d(world.queue.record_rating(str(task_id), "")))
    task = world.task(task_id)
    assert task.state is CallbackState.PENDING and task.attempts == 1
    assert task.next_attempt_at == MONDAY_10 + dt.timedelta(minutes=60)


def test_a_late_rating_for_a_finished_task_changes_nothing(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    appeal_id = world.resolved_appeal()
    task_id = world.task_for(appeal_id).id
    world.tick()
    world.settle()
    world.pump.wait(_d(world.queue.record_rating(str(task_id), "1")))
    world.pump.wait(_d(world.queue.record_rating(str(task_id), "3")))
    assert world.task(task_id).rating is Satisfaction.SATISFIED
    assert database.read_now(world.appeals.get, appeal_id).status is AppealStatus.CLOSED


def test_reresolving_an_appeal_replaces_its_open_callback(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    appeal_id = world.resolved_appeal()
    old = world.task_for(appeal_id).id
    now = world.wall.now()
    database.write_now(world.appeals.reopen, appeal_id, "督办", actor="sup", now=now)
    database.write_now(world.appeals.resolve, appeal_id, "再次处理", actor="li", now=now)
    tasks = database.read_now(world.repo.for_appeal, appeal_id)
    assert [t.id for t in tasks][0] == old
    assert tasks[0].state is CallbackState.CANCELLED and tasks[1].state is CallbackState.PENDING


def test_nothing_is_claimed_while_asterisk_is_unreachable(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    task_id = world.task_for(world.resolved_appeal()).id
    world.endpoint.refuse = True
    world.endpoint.cut()
    with capturedLogs() as events:
        world.settle(3.0, wait=False)  # the reconnection attempt fails: unreachable
        assert world.tick() == []
        assert world.tick() == []
    assert sum("dispatcher paused" in formatEvent(e) for e in events) == 1
    assert world.task(task_id).state is CallbackState.PENDING and world.attempts(task_id) == []
    world.endpoint.refuse = False
    world.settle(60.0, wait=False)
    assert len(world.tick()) == 1


def test_link_lost_during_the_originate_is_a_failed_attempt_and_a_late_rating_still_counts(
        database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    appeal_id = world.resolved_appeal()
    task_id = world.task_for(appeal_id).id
    claims = world.pump.wait(world.dispatcher.tick())  # the Originate is written, not delivered
    assert [c.task_id for c in claims] == [task_id]
    world.endpoint.cut()
    world.pump.wait(world.dispatcher.idle())
    task = world.task(task_id)
    assert task.state is CallbackState.PENDING and task.attempts == 1
    assert world.attempts(task_id)[0].result is AttemptResult.CONNECTION_LOST
    world.pump.wait(_d(world.queue.record_rating(str(task_id), "1")))  # it rang after all
    assert world.task(task_id).rating is Satisfaction.SATISFIED
