"""Agent callbacks: the worklist, click-to-call through AMI, and an agent's outcome counted
exactly like an automated one. Queue and voice-message callbacks from the IVR."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from twisted.internet.defer import Deferred

from callback_queue.errors import NotAllowed, TaskBusy
from hotline import audit
from hotline.ami import OriginateReason
from hotline.appeals import ResolveHook
from hotline.config import Config
from hotline.workdays import WorkCalendar
from schemas.callbacks import (
    AttemptResult,
    CallbackAttempt,
    CallbackMode,
    CallbackOrigin,
    CallbackOutcome,
    CallbackState,
)
from schemas.enums import AppealChannel, AppealKind, AppealStatus, Satisfaction
from tests.callback_queue.support import CITIZEN, MONDAY_10, make_world
from tests.support.appeals import SHANGHAI, new_appeal, utc


def d(coroutine):
    return Deferred.fromCoroutine(coroutine)


def complaint(world, agent_id, **kw):
    return world.resolved_appeal(kind=AppealKind.COMPLAINT, agent_id=agent_id, **kw)


def test_worklist_shows_own_callbacks_first_and_others_after_the_personal_delay(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li, wang = world.add_agent("li", "PJSIP/1001"), world.add_agent("wang", "PJSIP/1002")
    old = complaint(world, li, at=utc(2026, 11, 27, 2, 0), phone="13900000001")  # last Friday
    recent = complaint(world, li, at=MONDAY_10 - dt.timedelta(hours=3), phone="13900000002")
    unowned = complaint(world, None, at=MONDAY_10 - dt.timedelta(hours=2, minutes=30),
                        phone="13900000003")
    not_yet = complaint(world, li, at=MONDAY_10 - dt.timedelta(hours=1), phone="13900000004")
    world.resolved_appeal(phone="13900000005")  # automated: never on a worklist

    mine = world.pump.wait(world.queue.worklist(li))
    assert [item.appeal_id for item in mine] == [old, recent, unowned]
    assert [item.personal for item in mine] == [False, True, False]
    assert mine[0].phone_masked == "139****0001" and mine[0].case_number
    theirs = world.pump.wait(world.queue.worklist(wang))
    assert [item.appeal_id for item in theirs] == [old, unowned]
    assert not_yet not in [item.appeal_id for item in mine]


def test_overdue_callbacks_are_marked(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li = world.add_agent()
    appeal_id = complaint(world, li, at=MONDAY_10 - dt.timedelta(hours=3))
    due = world.task_for(appeal_id).due_by
    world.wall.current = due + dt.timedelta(minutes=1)
    (item,) = world.pump.wait(world.queue.worklist(li))
    assert item.overdue


def test_click_to_call_rings_the_agent_first_then_the_dialplan_dials_the_citizen(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li = world.add_agent("li", "PJSIP/1001")
    task_id = world.task_for(complaint(world, li)).id
    world.sim.script_originate("1001", OriginateReason.ANSWERED, delay=0)
    task = world.wait(d(world.queue.click_to_call(task_id, li)))
    (originate,) = world.originates()
    assert originate["Channel"] == "PJSIP/1001"
    assert originate["Context"] == "hotline-agent-callback" and originate["Exten"] == CITIZEN
    # the citizen's leg comes from [callbacks] dial_string, not from the dialplan
    attempt = database.read_now(lambda s: s.scalar(
        select(func.max(CallbackAttempt.id)).where(CallbackAttempt.task_id == task_id)))
    assert originate.getall("Variable") == [f"TASK_ID={task_id}", f"TASK_ATTEMPT={attempt}",
                                            f"HOTLINE_DIAL=PJSIP/{CITIZEN}@trunk",
                                            "HOTLINE_RING_S=45"]
    assert task.state is CallbackState.IN_CALL and task.lease_owner == f"agent:{li}"
    trail = database.read_now(audit.trail, "appeal", task.appeal_id)
    assert trail[-1].action == "view" and trail[-1].actor == "li"


def test_agent_who_does_not_answer_has_not_made_an_attempt(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li = world.add_agent("li", "PJSIP/1001")
    task_id = world.task_for(complaint(world, li)).id
    world.sim.script_originate("1001", OriginateReason.NO_ANSWER, delay=0)
    task = world.wait(d(world.queue.click_to_call(task_id, li)))
    assert task.state is CallbackState.PENDING and task.attempts == 0
    assert world.attempts(task_id)[0].result is AttemptResult.NOT_PLACED


def test_a_task_being_dialled_cannot_be_taken_by_another_agent(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li, wang = world.add_agent("li", "PJSIP/1001"), world.add_agent("wang", "PJSIP/1002")
    task_id = world.task_for(complaint(world, None)).id
    world.sim.script_originate("1001", OriginateReason.ANSWERED, delay=0)
    world.wait(d(world.queue.click_to_call(task_id, li)))
    with pytest.raises(TaskBusy):
        world.wait(d(world.queue.click_to_call(task_id, wang)))
    with pytest.raises(TaskBusy):
        world.pump.wait(world.queue.record_agent_outcome(task_id, wang, reached=False))


def test_another_agent_may_not_take_a_personal_callback_before_the_delay(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li, wang = world.add_agent("li", "PJSIP/1001"), world.add_agent("wang", "PJSIP/1002")
    task_id = world.task_for(complaint(world, li)).id
    with pytest.raises(NotAllowed, match="reserved for its own agent"):
        world.wait(d(world.queue.click_to_call(task_id, wang)))


def test_agent_rating_counts_exactly_like_an_automated_one(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li = world.add_agent("li", "PJSIP/1001")
    appeal_id = complaint(world, li)
    task_id = world.task_for(appeal_id).id
    world.sim.script_originate("1001", OriginateReason.ANSWERED, delay=0)
    world.wait(d(world.queue.click_to_call(task_id, li)))
    task = world.pump.wait(world.queue.record_agent_outcome(
        task_id, li, reached=True, rating=Satisfaction.DISSATISFIED, reason="处理不及时"))
    assert task.state is CallbackState.COMPLETED and task.outcome is CallbackOutcome.RATED
    assert task.rating is Satisfaction.DISSATISFIED and task.rating_reason == "处理不及时"
    assert task.completed_by == "li" and task.attempts == 1
    (attempt,) = world.attempts(task_id)
    assert attempt.result is AttemptResult.AGENT_REACHED and attempt.ended_at is not None
    appeal = database.read_now(world.appeals.get, appeal_id)
    assert appeal.status is AppealStatus.IN_PROGRESS and appeal.reopen_count == 1
    assert "处理不及时" in database.read_now(audit.trail, "appeal", appeal_id)[-1].note


def test_dissatisfied_without_a_reason_is_refused_and_changes_nothing(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li = world.add_agent()
    task_id = world.task_for(complaint(world, li)).id
    with pytest.raises(NotAllowed, match="needs the citizen's reason"):
        world.pump.wait(world.queue.record_agent_outcome(task_id, li, reached=True,
                                                         rating=Satisfaction.DISSATISFIED))
    assert world.task(task_id).state is CallbackState.PENDING


def test_agent_not_reaching_the_citizen_three_times_falls_back_like_the_dispatcher(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li = world.add_agent()
    appeal_id = complaint(world, li)
    task_id = world.task_for(appeal_id).id
    for _attempt in range(3):  # dialled from the desk phone, without click-to-call
        task = world.pump.wait(world.queue.record_agent_outcome(task_id, li, reached=False))
        world.wall.current = max(world.wall.current, task.next_attempt_at)  # spaced attempts
    assert task.state is CallbackState.UNREACHABLE and task.outcome is CallbackOutcome.SMS_SURVEY
    assert task.attempts == 3
    assert [a.result for a in world.attempts(task_id)] == [AttemptResult.AGENT_NOT_REACHED] * 3
    assert [s[1] for s in world.sms()] == [appeal_id]


def test_agent_cannot_record_an_automated_task(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li = world.add_agent()
    task_id = world.task_for(world.resolved_appeal()).id
    with pytest.raises(NotAllowed, match="automated survey"):
        world.pump.wait(world.queue.record_agent_outcome(task_id, li, reached=True))


# From the IVR ------------------------------------------------------------------------------

def test_caller_asking_for_a_callback_twice_gets_one_task(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    first = world.pump.wait(d(world.queue.request_callback("+86 138 1234 5678", "call-1")))
    again = world.pump.wait(d(world.queue.request_callback(CITIZEN, "call-2")))
    assert again.id == first.id
    assert first.origin is CallbackOrigin.IVR_CALLBACK_REQUEST and first.mode is CallbackMode.AGENT
    assert first.citizen_phone == CITIZEN and first.call_id == "call-1"
    assert first.due_by == MONDAY_10 + dt.timedelta(minutes=30)


def test_bad_callback_number_is_refused(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    with pytest.raises(NotAllowed, match="phone"):
        world.pump.wait(d(world.queue.request_callback("12", "call-1")))


def test_queue_callback_waits_while_callers_are_in_the_queue(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    world.sim.add_queue("hotline")
    world.wait(world.ami.queue_add("hotline", "PJSIP/1001"))
    caller = world.sim.new_channel("PJSIP/trunk-00000009", caller_id_num="13900009999")
    world.sim.queue_caller_join("hotline", caller)
    task = world.pump.wait(d(world.queue.request_callback(CITIZEN, "call-1")))
    assert world.tick() == []
    assert world.originates() == []
    world.sim.queue_caller_leave("hotline", caller)
    (claim,) = world.tick()
    (originate,) = world.originates()
    assert claim.task_id == task.id
    assert originate["Context"] == "hotline-queue-callback"
    assert originate["Channel"] == f"PJSIP/{CITIZEN}@trunk"
    world.settle()
    # Answered: in the queue, not done until an agent takes the call.
    assert world.task(task.id).state is CallbackState.IN_CALL
    citizen = world.sim.answered_originate(claim.channel_id)
    world.sim.queue_caller_join("hotline", citizen)
    world.sim.agent_connect("hotline", citizen, world.sim.new_channel("PJSIP/1001-00000001"),
                            "PJSIP/1001")
    world.endpoint.flush()
    world.pump.wait(world.dispatcher.idle())
    done = world.task(task.id)
    assert done.state is CallbackState.COMPLETED and done.outcome is CallbackOutcome.REACHED


def test_queue_callback_waits_for_a_free_agent(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    world.wait(world.ami.queue_add("hotline", "PJSIP/1001", paused=True))
    world.pump.wait(d(world.queue.request_callback(CITIZEN, "call-1")))
    assert world.tick() == []
    world.wait(world.ami.queue_pause("PJSIP/1001", False))
    assert len(world.tick()) == 1


def test_voice_message_left_after_hours_is_called_back_after_opening(database, pumped_reactor):
    world = make_world(database, pumped_reactor, now=utc(2026, 11, 30, 14, 0))  # 22:00
    task = world.pump.wait(d(world.queue.request_voice_message_callback(CITIZEN, "call-9")))
    assert task.origin is CallbackOrigin.VOICE_MESSAGE
    assert task.window_start == utc(2026, 12, 1, 0, 0)  # Tuesday 08:00
    li = world.add_agent()
    assert world.pump.wait(world.queue.worklist(li)) == []
    world.wall.current = utc(2026, 12, 1, 0, 5)
    (item,) = world.pump.wait(world.queue.worklist(li))
    assert item.task_id == task.id and item.case_number is None


def test_voice_message_appeal_gets_its_agent_callback_in_the_opening_transaction(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    new = new_appeal(channel=AppealChannel.VOICE_MESSAGE, kind=AppealKind.CONSULTATION,
                     subject="语音留言（待坐席回听分类）", call_id="call-7",
                     recording_path="/var/spool/asterisk/hotline/call-7.wav")
    appeal = database.write_now(world.appeals.create, new, actor="system:ivr", now=MONDAY_10)
    (task,) = database.read_now(world.repo.for_appeal, appeal.id)
    assert task.origin is CallbackOrigin.VOICE_MESSAGE and task.mode is CallbackMode.AGENT
    assert task.call_id == "call-7" and task.due_by == MONDAY_10 + dt.timedelta(minutes=30)
    phone_appeal = database.write_now(world.appeals.create, new_appeal(), actor="li", now=MONDAY_10)
    assert database.read_now(world.repo.for_appeal, phone_appeal.id) == []


def test_without_an_ami_link_tasks_are_kept_and_no_dispatcher_runs(database, pumped_reactor):
    from types import SimpleNamespace

    import callback_queue

    world = make_world(database, pumped_reactor)
    hook = ResolveHook()
    core = SimpleNamespace(config=Config(), calendar=WorkCalendar(), zone=SHANGHAI,
                           appeals=SimpleNamespace(repository=world.appeals), db=database,
                           clock=world.wall, reactor=world.clock, resolve_hook=hook, ami=None,
                           create_hook=None, callback_requested_hook=None, survey_sms_hook=None,
                           metrics=None)
    top = callback_queue.makeService(core)
    assert list(top) == [] and hook.names == ("callback_queue",)


def test_click_to_call_without_an_ami_link_refuses_before_claiming(database, pumped_reactor):
    from twisted.internet.defer import Deferred

    import callback_queue
    from callback_queue.errors import NoManagerLink
    from hotline.config import AmiConfig, Config, DatabaseConfig
    from hotline.core import make_core

    core = make_core(Config(database=DatabaseConfig(url=str(database.engine.url
                                                            .render_as_string(False))),
                            ami=AmiConfig(enabled=False)), pumped_reactor)
    queue, _ = callback_queue.build(core, None)
    with pytest.raises(NoManagerLink):
        pumped_reactor.wait(Deferred.fromCoroutine(queue.click_to_call(1, 1)))
    core.db.engine.dispose()
