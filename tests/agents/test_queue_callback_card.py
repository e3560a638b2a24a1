"""A queue callback (the callback offer's, a voice message's) reaches the agent with the
citizen's card: the dispatcher's Originate carries the call id of the IVR call that asked for
it (HOTLINE_CALL_ID, which manager.conf's channelvars puts on every event of the channel, so
on its AgentConnect) and, with [callbacks] queue_callback_caller_id = "citizen", the citizen's
number as the caller id. Through the callback dispatcher, the AMI link and the simulator, the
live recorder and the terminal's event stream, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from twisted.internet.defer import Deferred
from twisted.logger import capturedLogs, formatEvent

import callback_queue
from callback_queue.config import CallbacksConfig
from hotline.ami.actions import OriginateReason
from hotline.channel_variables import CALL_ID
from schemas.calls import CallRecord
from schemas.enums import AgentRole, CallOutcome
from tests.agents.support import create_agent
from tests.agents.test_terminal import IFACE, Rig, cards

MONDAY_10 = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)
CITIZEN = "13812345678"


@pytest.fixture
def rig(database, pumped_reactor):
    rig = Rig(database, pumped_reactor)
    rig.wall.current = MONDAY_10
    rig.sim.channelvars = (CALL_ID,)  # docs/asterisk/manager.conf
    rig.sim.script_originate(CITIZEN, OriginateReason.ANSWERED, delay=0.5)
    create_agent(database, "li", AgentRole.AGENT, interface=IFACE)
    yield rig
    rig.stop()


def seed_call(database, call_id: str) -> None:
    def seed(session):
        session.add(CallRecord(call_id=call_id, flow="hotline", caller=CITIZEN,
                               started_at=MONDAY_10 - dt.timedelta(minutes=3), path="menu:2",
                               menu_choice="help", outcome=CallOutcome.CALLBACK_REQUESTED))
    database.write_now(seed)


def originates(rig):
    return [a for a in rig.sim.actions_received if a.get("Action") == "Originate"]


def place_queue_callback(rig, caller_id: str, call_id: str):
    """The citizen asked for a callback in call `call_id`; an agent is free; the dispatcher
    calls them back, they answer, and the dialplan's Queue() puts them through to li."""
    queue, dispatcher = callback_queue.build(
        rig.node.core, rig.ami, CallbacksConfig(queue_callback_caller_id=caller_id),
        owner="card-test")
    li = rig.browser("li")
    events = rig.listen(li)
    li.post("/terminal/queue", {"action": "login"})
    rig.sync()
    task = rig.settle(Deferred.fromCoroutine(queue.request_callback(CITIZEN, call_id)))
    (claim,) = rig.settle(dispatcher.tick())
    rig.flush()
    rig.clock.advance(0.5)  # the citizen answers
    rig.flush()
    citizen = rig.sim.answered_originate(claim.channel_id)
    assert (citizen.context, citizen.exten) == ("hotline-queue-callback", "s")
    rig.sim.queue_caller_join("hotline", citizen)
    rig.sim.agent_connect("hotline", citizen, rig.agent_leg(), IFACE, ring_time=2)
    rig.settle_until(lambda: cards(events))
    rig.settle(dispatcher.idle())
    return task, claim, events


def test_the_originate_carries_the_call_id_and_the_card_pops_with_the_citizen(rig, database):
    seed_call(database, "call-31")
    agent_connects = []
    rig.ami.subscribe("AgentConnect", agent_connects.append)
    with capturedLogs() as logged:
        task, claim, events = place_queue_callback(rig, "hotline", "call-31")
    (originate,) = originates(rig)
    assert originate["Context"] == "hotline-queue-callback"
    assert originate.getall("Variable") == [f"TASK_ID={task.id}",
                                            f"TASK_ATTEMPT={claim.attempt_id}",
                                            "HOTLINE_CALL_ID=call-31"]
    assert originate["CallerID"] == "9600110"  # what the citizen's phone shows
    (connect,) = agent_connects
    assert "HOTLINE_CALL_ID=call-31" in connect.getall("ChanVariable")
    card = cards(events)[0]
    assert f'id="card-phone">{CITIZEN}<' in card
    assert 'id="card-menu-choice">求助<' in card  # what the citizen chose in that call
    assert "call_id=call-31" in card
    assert not [e for e in logged if "no card" in formatEvent(e)]


def test_with_the_citizens_number_as_caller_id_the_card_pops_by_the_number_too(rig, database):
    # No call record for this id (kept elsewhere, or gone): the number finds the card.
    agent_connects = []
    rig.ami.subscribe("AgentConnect", agent_connects.append)
    task, claim, events = place_queue_callback(rig, "citizen", "call-unknown")
    (originate,) = originates(rig)
    assert originate["CallerID"] == CITIZEN
    assert "HOTLINE_CALL_ID=call-unknown" in originate.getall("Variable")
    (connect,) = agent_connects
    assert connect["CallerIDNum"] == CITIZEN
    assert f'id="card-phone">{CITIZEN}<' in cards(events)[0]


def test_surveys_carry_no_call_id_and_keep_the_hotlines_caller_id(rig, database):
    """An automated survey reaches no agent: its call is as before."""
    from tests.support.appeals import add_unit, new_appeal

    core = rig.node.core
    _queue, dispatcher = callback_queue.build(
        core, rig.ami, CallbacksConfig(queue_callback_caller_id="citizen"), owner="survey-test")
    repository = core.appeals.repository
    hours_ago = MONDAY_10 - dt.timedelta(hours=3)

    def resolved(session):
        unit = add_unit(session)
        appeal = repository.create(session, new_appeal(citizen_phone=CITIZEN, call_id="call-8"),
                                   actor="agent:li", now=hours_ago)
        repository.assign(session, appeal.id, unit, actor="agent:li", now=hours_ago)
        repository.start(session, appeal.id, actor="agent:li", now=hours_ago)
        repository.resolve(session, appeal.id, "已处理", actor="agent:li", now=hours_ago)

    # The resolve participant (the survey task) is the callback queue's own registration.
    callback_queue.makeService(core, rig.ami, CallbacksConfig(), owner="registrar")
    database.write_now(resolved)
    (claim,) = rig.settle(dispatcher.tick())
    rig.flush()
    (originate,) = originates(rig)
    assert originate["Context"] == "hotline-survey"
    assert originate.getall("Variable") == [f"TASK_ID={claim.task_id}",
                                            f"TASK_ATTEMPT={claim.attempt_id}"]
    assert originate["CallerID"] == "9600110"
    rig.clock.advance(0.5)
    rig.flush()
    rig.settle(dispatcher.idle())
