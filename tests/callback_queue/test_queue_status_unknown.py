"""The dispatcher when Asterisk answers QueueStatus without its event list, with an error, or
with a list that never ends: queue callbacks wait on the agents' worklist, surveys are still
placed, and the trouble is logged once, not at every poll."""

from __future__ import annotations

import pytest
from twisted.internet.defer import Deferred
from twisted.logger import LogLevel, capturedLogs, formatEvent

from hotline.ami.simulator import (
    QUEUE_STATUS_BARE,
    QUEUE_STATUS_ERROR,
    QUEUE_STATUS_LIST,
    QUEUE_STATUS_UNFINISHED,
)
from schemas.callbacks import CallbackOrigin, CallbackState
from tests.callback_queue.support import CITIZEN, make_world

OTHER_CITIZEN = "13900001111"


def d(coroutine):
    return Deferred.fromCoroutine(coroutine)


def warnings(events):
    return [formatEvent(e) for e in events
            if e["log_level"] in (LogLevel.warn, LogLevel.error, LogLevel.critical)]


def failures(events):
    return [e for e in events if e.get("log_failure") is not None]


@pytest.mark.parametrize("reply", [QUEUE_STATUS_BARE, QUEUE_STATUS_ERROR, QUEUE_STATUS_UNFINISHED])
def test_unknown_queue_state_holds_queue_callbacks_and_surveys_go_on(database, pumped_reactor, reply):
    world = make_world(database, pumped_reactor)
    world.wait(world.ami.queue_add("hotline", "PJSIP/1001"))
    world.sim.queue_status_reply = reply
    request = world.pump.wait(d(world.queue.request_callback(CITIZEN, "call-1")))
    survey = world.task_for(world.resolved_appeal(phone=OTHER_CITIZEN))
    with capturedLogs() as events:
        claims = world.tick(advance=1.0)
        for _ in range(3):
            world.tick(advance=1.0)
    assert [c.task_id for c in claims] == [survey.id]
    assert [o["Context"] for o in world.originates()] == ["hotline-survey"]
    assert world.task(request.id).state is CallbackState.PENDING
    assert failures(events) == []
    held = [line for line in warnings(events) if "Queue callbacks held" in line]
    assert len(held) == 1, warnings(events)
    assert "EventList" in held[0] or "failed" in held[0] or "end of the event list" in held[0]
    # Still on the worklist for an agent to call by hand.
    li = world.add_agent()
    items = world.pump.wait(world.queue.worklist(li))
    assert [(i.task_id, i.origin) for i in items] == [(request.id, CallbackOrigin.IVR_CALLBACK_REQUEST)]


def test_queue_callbacks_resume_once_queue_status_answers_with_its_list_again(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    world.wait(world.ami.queue_add("hotline", "PJSIP/1001"))
    world.sim.queue_status_reply = QUEUE_STATUS_BARE
    request = world.pump.wait(d(world.queue.request_callback(CITIZEN, "call-1")))
    assert world.tick() == []
    assert world.tick() == []
    world.sim.queue_status_reply = QUEUE_STATUS_LIST
    with capturedLogs() as events:
        (claim,) = world.tick()
    assert claim.task_id == request.id
    assert [o["Context"] for o in world.originates()] == ["hotline-queue-callback"]
    lines = [formatEvent(e) for e in events]
    assert any("state known again after 2 poll(s)" in line for line in lines), lines


def test_a_new_kind_of_trouble_is_logged_again_and_the_same_one_is_not(database, pumped_reactor):
    world = make_world(database, pumped_reactor)
    world.pump.wait(d(world.queue.request_callback(CITIZEN, "call-1")))
    with capturedLogs() as events:
        world.sim.queue_status_reply = QUEUE_STATUS_BARE
        world.tick()
        world.tick()
        world.sim.queue_status_reply = QUEUE_STATUS_ERROR
        world.tick()
        world.tick()
    held = [line for line in warnings(events) if "Queue callbacks held" in line]
    assert len(held) == 2
    assert "EventList: start" in held[0] and "Queue status failed" in held[1]


def test_queue_counts_that_are_not_numbers_hold_queue_callbacks_without_a_traceback(
        database, pumped_reactor, monkeypatch):
    world = make_world(database, pumped_reactor)
    world.pump.wait(d(world.queue.request_callback(CITIZEN, "call-1")))
    original = world.sim.buildProtocol

    # A peer whose QueueParams carries a count that is no number.
    def garbling(addr):
        session = original(addr)
        send = session.sendMessage

        def sendMessage(message):
            if message.event == "QueueParams":
                message = message.replace("Calls", "many")
            send(message)
        session.sendMessage = sendMessage
        return session
    monkeypatch.setattr(world.sim, "buildProtocol", garbling)
    world.endpoint.cut()
    world.clock.advance(5.0)
    world.endpoint.flush()
    with capturedLogs() as events:
        assert world.tick() == []
        assert world.tick() == []
    assert failures(events) == []
    assert len([line for line in warnings(events) if "Queue callbacks held" in line]) == 1
