"""Wrap-up as a real Asterisk 23 reports it: queues.conf gives the queue `wrapuptime = 15`,
and every member event says `Wrapuptime: 0` (the member's own, which it does not have);
AgentComplete has no such field and QueueParams none either. The hall takes the queue's
wrap-up from the configuration ([agi] queue_wrapup_s): the terminal and the wallboard show
话后处理 with the seconds left, and no queue callback is originated while every free agent
is in wrap-up. Against the AMI simulator over an in-memory link, on both backends."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import pytest
from sqlalchemy import select
from twisted.internet.defer import Deferred

import agents.web
import callback_queue
from callback_queue.config import CallbacksConfig
from hotline.ami.message import Message
from hotline.ami.simulator import DEVICE_NOT_INUSE
from hotline.config import AgiConfig, Config
from schemas.enums import AgentRole
from schemas.live import QueueMember
from tests.agents.support import create_agent
from tests.agents.test_terminal import IFACE, Rig, states

# Monday 30 November 2026, 10:00 in Shanghai: inside the agents' opening hours.
MONDAY_10 = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)
CITIZEN = "13812345678"
OTHER = "PJSIP/1002"


@pytest.fixture
def rig(database, pumped_reactor):
    rig = Rig(database, pumped_reactor)
    rig.wall.current = MONDAY_10
    rig.sim.queues["hotline"].wrapuptime = 15          # queues.conf
    rig.node.recorder.default_wrap_up_s = Config().agi.queue_wrapup_s  # as agents.web wires it
    create_agent(database, "li", AgentRole.AGENT, interface=IFACE)
    create_agent(database, "wang", AgentRole.SUPERVISOR)
    yield rig
    rig.stop()


def member_events(rig) -> list[Message]:
    seen: list[Message] = []
    rig.ami.subscribe("*", lambda event: seen.append(event)
                      if (event.event or "").startswith("QueueMember") else None)
    return seen


def answer_and_end_a_call(rig, interface=IFACE, number="13900001111"):
    caller = rig.sim.new_channel("PJSIP/trunk-0001", caller_id_num=number)
    leg = rig.sim.new_channel(f"{interface}-00000002", caller_id_num="1001")
    rig.sim.queue_caller_join("hotline", caller)
    rig.sim.agent_connect("hotline", caller, leg, interface)
    rig.sync()
    rig.sim.agent_complete("hotline", caller, leg, interface, hold_time=2, talk_time=40)
    rig.sim.set_device_state(interface, DEVICE_NOT_INUSE)  # the agent's phone hung up
    rig.sync()


def advance(rig, seconds: float):
    """Time passes for the service (its wall clock) and for Asterisk (its LastCall clock)."""
    rig.wall.advance(seconds)
    rig.clock.advance(seconds)
    rig.sync()


def wrap_up_label(page: str) -> tuple[bool, str]:
    match = re.search(r'<span id="queue-wrap-up"[^>]*?( hidden)?( data-left="\d+")?>([^<]*)<',
                      page)
    assert match, "the terminal has its wrap-up label"
    return match.group(1) is None, match.group(3)


def test_the_terminal_shows_the_queues_wrap_up_with_its_seconds_left(rig, database):
    seen = member_events(rig)
    li = rig.browser("li")
    events = rig.listen(li)
    li.post("/terminal/queue", {"action": "login"})
    rig.sync()
    answer_and_end_a_call(rig)
    # What Asterisk said: the member has no wrap-up of its own, the queue's is nowhere.
    assert {m["Wrapuptime"] for m in seen} == {"0"}
    assert not rig.sim.member_available("hotline", IFACE)  # Asterisk offers it no call
    assert states(events)[-1] == "wrap_up"
    # the last state event (the stream also carries the card, in whichever order it comes)
    last = json.loads([data for kind, data in events if kind == "state"][-1])
    assert last == {"state": "wrap_up", "reason": "", "device": 1, "wrap_up_left_s": 15}
    stored = database.read_now(lambda s: s.get(QueueMember, IFACE).wrap_up_until)
    assert stored == MONDAY_10 + dt.timedelta(seconds=15)
    page = li.get("/terminal").body
    assert 'data-state="wrap_up">话后处理<' in page
    assert wrap_up_label(page) == (True, "剩余 15 秒")
    assert 'data-text="剩余 {seconds} 秒"' in page  # what the page's script counts down
    advance(rig, 6)
    assert wrap_up_label(li.get("/terminal").body) == (True, "剩余 9 秒")
    advance(rig, 9)
    assert rig.sim.member_available("hotline", IFACE)
    assert states(events)[-1] == "available"
    assert json.loads([data for kind, data in events if kind == "state"][-1]) == \
        {"state": "available", "reason": "", "device": 1}
    assert wrap_up_label(li.get("/terminal").body) == (False, "")


def test_the_wallboard_shows_who_is_in_wrap_up_and_for_how_long_yet(rig):
    rig.settle(rig.ami.queue_add("hotline", IFACE, member_name="li"))
    rig.sync()
    answer_and_end_a_call(rig)
    advance(rig, 4)
    wang = rig.browser("wang")
    board = json.loads(wang.get("/supervisor/wallboard.json").body)
    (li,) = board["agents"]["members"]
    assert (li["state"], li["for_s"], li["wrap_up_left_s"]) == ("wrap_up", 4, 11)
    assert board["agents"]["counts"]["wrap_up"] == 1 and board["agents"]["counts"]["available"] == 0
    page = wang.get("/supervisor/wallboard").body
    assert '<td data-state="wrap_up">话后处理 剩余 11 秒</td>' in page
    assert 'data-wrap-up-left="剩余 {seconds} 秒"' in page
    advance(rig, 11)
    (li,) = json.loads(wang.get("/supervisor/wallboard.json").body)["agents"]["members"]
    assert (li["state"], li["wrap_up_left_s"]) == ("available", None)


def test_a_members_own_wrap_up_wins_over_the_queues(rig, database):
    rig.settle(rig.ami.queue_add("hotline", IFACE, member_name="li"))
    rig.sim.queues["hotline"].members[IFACE].wrapuptime = 40  # e.g. member => ...,40 in queues.conf
    rig.sim.set_device_state(IFACE, DEVICE_NOT_INUSE)
    rig.sync()
    answer_and_end_a_call(rig)
    stored = database.read_now(lambda s: s.get(QueueMember, IFACE).wrap_up_until)
    assert stored == MONDAY_10 + dt.timedelta(seconds=40)


def test_the_web_service_records_wrap_up_with_the_configured_queue_wrap_up(rig, database):
    """agents.web.makeService gives its live recorder [agi] queue_wrapup_s."""
    for node in rig.nodes:  # only the service under test records
        node.recorder.stop()
    config = dataclasses.replace(Config(), agi=AgiConfig(queue_wrapup_s=25))
    core = dataclasses.replace(rig.node.core, config=config)
    top = agents.web.makeService(core)
    live = next(child for child in top if type(child).__name__ == "_LiveService")
    live.startService()
    try:
        rig.settle(rig.ami.queue_add("hotline", IFACE, member_name="li"))
        answer_and_end_a_call(rig)
        rig.settle(live._recorder.idle())
        stored = database.read_now(lambda s: s.get(QueueMember, IFACE).wrap_up_until)
        assert stored == MONDAY_10 + dt.timedelta(seconds=25)
    finally:
        live.stopService()


# The callback dispatcher ------------------------------------------------------------------

def dispatcher_of(rig):
    queue, dispatcher = callback_queue.build(rig.node.core, rig.ami, CallbacksConfig(),
                                             owner="wrap-up-test")
    return queue, dispatcher


def originates(rig):
    return [a for a in rig.sim.actions_received if a.get("Action") == "Originate"]


def test_no_queue_callback_goes_into_a_queue_whose_free_agents_are_all_in_wrap_up(rig):
    queue, dispatcher = dispatcher_of(rig)
    rig.settle(rig.ami.queue_add("hotline", IFACE, member_name="li"))
    rig.sync()
    answer_and_end_a_call(rig)
    task = rig.settle(Deferred.fromCoroutine(queue.request_callback(CITIZEN, "call-1")))
    advance(rig, 1)  # the issue: the next queue callback went out 1 s after the call ended
    assert rig.settle(dispatcher.tick()) == []
    assert originates(rig) == []
    advance(rig, 13)
    assert rig.settle(dispatcher.tick()) == []
    advance(rig, 1)  # 15 s after the call: wrap-up over, for Asterisk and for the hall
    assert rig.sim.member_available("hotline", IFACE)
    (claim,) = rig.settle(dispatcher.tick())
    rig.flush()
    assert claim.task_id == task.id
    assert [o["Context"] for o in originates(rig)] == ["hotline-queue-callback"]


def test_an_agent_out_of_wrap_up_takes_the_queue_callback_while_another_wraps_up(rig, database):
    queue, dispatcher = dispatcher_of(rig)
    rig.settle(rig.ami.queue_add("hotline", IFACE, member_name="li"))
    rig.settle(rig.ami.queue_add("hotline", OTHER, member_name="zhao"))
    rig.sync()
    answer_and_end_a_call(rig)
    rig.settle(Deferred.fromCoroutine(queue.request_callback(CITIZEN, "call-1")))
    wrapping = database.read_now(lambda s: sorted(s.scalars(
        select(QueueMember.interface).where(QueueMember.state == "wrap_up"))))
    assert wrapping == [IFACE]
    (claim,) = rig.settle(dispatcher.tick())
    rig.flush()
    assert [o["Context"] for o in originates(rig)] == ["hotline-queue-callback"]
