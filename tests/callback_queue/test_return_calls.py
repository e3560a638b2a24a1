"""回电: an officer calling back a voice message or a queue callback records what the citizen
said and where it went; a rating given on the way lands where a 回访's does."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from callback_queue.errors import NotAllowed
from hotline import alerts, audit
from hotline.appeals import AppealRecord
from schemas.callbacks import (
    AttemptResult,
    CallbackOutcome,
    CallbackState,
    ReturnCallDisposition,
)
from schemas.enums import AppealChannel, AppealKind, AppealStatus, Satisfaction
from schemas.models import Appeal, SupervisorAlert
from tests.callback_queue.support import CITIZEN, MONDAY_10, make_world
from tests.support.appeals import new_appeal

D = ReturnCallDisposition
PLACEHOLDER = "语音留言（待坐席回听分类）"


def voice_message(world):
    """A voice message as the IVR files it: its own unclassified appeal and its 回电 task."""
    new = new_appeal(channel=AppealChannel.VOICE_MESSAGE, kind=AppealKind.CONSULTATION,
                     subject=PLACEHOLDER, call_id="call-7", body="录音文件：/spool/call-7.wav",
                     recording_path="/spool/call-7.wav")
    appeal = world.db.write_now(world.appeals.create, new, actor="system:ivr", now=MONDAY_10)
    (task,) = world.db.read_now(world.repo.for_appeal, appeal.id)
    return appeal, task


def queue_callback(world):
    from twisted.internet.defer import Deferred
    return world.pump.wait(Deferred.fromCoroutine(
        world.queue.request_callback(CITIZEN, "call-3")))


def record(world, task, agent, **outcome):
    outcome.setdefault("reached", True)
    return world.pump.wait(world.queue.record_return_call(
        task.id, agent, attempt=task.attempts + 1, **outcome))


def appeal(world, appeal_id):
    return world.db.read_now(lambda s: AppealRecord.of(s.get(Appeal, appeal_id)))


def alerts_of(world, appeal_id):
    return world.db.read_now(lambda s: [(a.kind, a.note) for a in s.scalars(
        select(SupervisorAlert).where(SupervisorAlert.appeal_id == appeal_id))])


def test_a_voice_message_registered_as_a_complaint_is_classified_in_place(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li = world.add_agent()
    filed, task = voice_message(world)
    done = record(world, task, li, notes="投诉办证窗口态度差，要求答复", disposition=D.APPEAL,
                  kind=AppealKind.COMPLAINT, subject="办证窗口态度差")
    assert done.state is CallbackState.COMPLETED and done.outcome is CallbackOutcome.REACHED
    assert (done.call_notes, done.disposition, done.result_appeal_id) == (
        "投诉办证窗口态度差，要求答复", D.APPEAL, filed.id)
    now = appeal(world, filed.id)
    assert (now.kind, now.subject, now.status) == (
        AppealKind.COMPLAINT, "办证窗口态度差", AppealStatus.RECEIVED)
    assert now.deadline_at == world.appeals.deadline_for(AppealKind.COMPLAINT, filed.created_at)
    trail = database.read_now(audit.trail, "appeal", filed.id)
    assert [e.action for e in trail] == ["create", "correct", "note"]
    assert trail[-1].note == f"回电（回电任务 {task.id}）：投诉办证窗口态度差，要求答复 (call call-7)"
    assert [a.result for a in world.attempts(task.id)] == [AttemptResult.AGENT_REACHED]


def test_a_queue_callback_answered_on_the_phone_opens_and_closes_a_consultation(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li = world.add_agent()
    task = queue_callback(world)
    done = record(world, task, li, notes="问身份证补办材料，已告知", disposition=D.ANSWERED,
                  kind=AppealKind.CONSULTATION, subject="身份证补办材料")
    answered = appeal(world, done.result_appeal_id)
    assert answered.status is AppealStatus.CLOSED and answered.channel is AppealChannel.PHONE
    assert answered.resolution == "问身份证补办材料，已告知"
    assert (answered.citizen_phone, answered.call_id, answered.agent_id) == (CITIZEN, "call-3", li)


def test_notes_joined_to_an_open_appeal_close_the_voice_messages_own(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li = world.add_agent()
    older = world.db.write_now(world.appeals.create, new_appeal(), actor="li", now=MONDAY_10)
    filed, task = voice_message(world)
    done = record(world, task, li, notes="补充：噪音时间为每晚十点后", disposition=D.JOINED,
                  appeal_id=older.id)
    assert done.result_appeal_id == older.id
    assert database.read_now(audit.trail, "appeal", older.id)[-1].note.startswith(
        f"回电（回电任务 {task.id}）：补充：噪音时间为每晚十点后")
    merged = appeal(world, filed.id)
    assert merged.status is AppealStatus.CLOSED
    assert merged.resolution == f"已并入诉求 {older.case_number}：补充：噪音时间为每晚十点后"


def test_a_dissatisfied_word_on_an_open_appeal_reaches_its_trail_and_the_alerts(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li = world.add_agent()
    older = world.db.write_now(world.appeals.create, new_appeal(), actor="li", now=MONDAY_10)
    task = queue_callback(world)
    record(world, task, li, notes="问进度，对拖延不满", disposition=D.JOINED, appeal_id=older.id,
           rating=Satisfaction.DISSATISFIED, reason="一周无人联系")
    assert alerts_of(world, older.id) == [(alerts.DISSATISFIED, f"callback {task.id}: 一周无人联系")]
    assert database.read_now(audit.trail, "appeal", older.id)[-1].note == (
        f"回电（回电任务 {task.id}）：群众不满意：一周无人联系")
    done = world.task(task.id)
    assert (done.outcome, done.rating, done.rating_reason) == (
        CallbackOutcome.RATED, Satisfaction.DISSATISFIED, "一周无人联系")


def test_a_dissatisfied_word_on_a_resolved_appeal_reopens_it_as_a_callback_would(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li = world.add_agent()
    resolved = world.resolved_appeal()
    task = queue_callback(world)
    record(world, task, li, notes="说问题没解决", disposition=D.JOINED, appeal_id=resolved,
           rating=Satisfaction.DISSATISFIED, reason="仍有噪音")
    now = appeal(world, resolved)
    assert now.status is AppealStatus.IN_PROGRESS and now.reopen_count == 1
    assert now.satisfaction is Satisfaction.DISSATISFIED
    assert alerts_of(world, resolved) == [(alerts.DISSATISFIED, f"callback {task.id}: 仍有噪音")]


@pytest.mark.parametrize("outcome, key", [
    (dict(notes="  ", disposition=D.NO_ACTION), "notes_required"),
    (dict(notes="说了话"), "disposition_required"),
    (dict(notes="说了话", disposition=D.APPEAL, subject="主题"), "kind_required"),
    (dict(notes="说了话", disposition=D.ANSWERED, kind=AppealKind.HELP), "subject_required"),
    (dict(notes="说了话", disposition=D.JOINED, appeal_id=9999), "appeal_not_open"),
    (dict(notes="说了话", disposition=D.JOINED), "appeal_required"),
    (dict(notes="说了话", disposition=D.NO_ACTION, rating=Satisfaction.SATISFIED),
     "nothing_to_rate"),
    (dict(notes="字" * 2001, disposition=D.NO_ACTION), "notes_too_long"),
    (dict(reached=False, rating=Satisfaction.SATISFIED), "rating_unreached"),
])
def test_bad_outcomes_are_refused_by_key_and_change_nothing(database, pumped_reactor, outcome, key):
    world = make_world(database, pumped_reactor)
    li = world.add_agent()
    filed, task = voice_message(world)
    with pytest.raises(NotAllowed) as refused:
        record(world, task, li, **outcome)
    assert refused.value.key == key
    assert world.task(task.id).state is CallbackState.PENDING and world.attempts(task.id) == []
    assert appeal(world, filed.id).subject == PLACEHOLDER


def test_another_citizens_appeal_cannot_be_joined(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li = world.add_agent()
    theirs = world.db.write_now(world.appeals.create, new_appeal(citizen_phone="13900000001"),
                                actor="li", now=MONDAY_10)
    _, task = voice_message(world)
    with pytest.raises(NotAllowed) as refused:
        record(world, task, li, notes="补充", disposition=D.JOINED, appeal_id=theirs.id)
    assert refused.value.key == "appeal_not_open"


def test_not_reached_is_a_failed_attempt_and_keeps_what_the_officer_heard(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li = world.add_agent()
    filed, task = voice_message(world)
    after = record(world, task, li, reached=False, notes="对方关机")
    assert after.state is CallbackState.PENDING and after.attempts == 1
    assert after.call_notes == "对方关机"
    assert [a.result for a in world.attempts(task.id)] == [AttemptResult.AGENT_NOT_REACHED]
    assert appeal(world, filed.id).status is AppealStatus.RECEIVED


def test_the_satisfaction_form_refuses_a_return_call_and_the_return_call_form_a_survey(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    li = world.add_agent()
    _, task = voice_message(world)
    with pytest.raises(NotAllowed) as refused:
        world.pump.wait(world.queue.record_agent_outcome(task.id, li, reached=True,
                                                         rating=Satisfaction.SATISFIED))
    assert refused.value.key == "return_call_form"
    assert world.attempts(task.id) == []
    resolved = world.resolved_appeal(kind=AppealKind.COMPLAINT, agent_id=li)
    survey = world.task_for(resolved)
    world.wall.current = max(world.wall.current, survey.window_start)
    with pytest.raises(NotAllowed) as refused:
        record(world, survey, li, notes="满意", disposition=D.NO_ACTION)
    assert refused.value.key == "survey_form"
