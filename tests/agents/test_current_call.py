"""The call an agent is on is state the server holds, not only an event pushed once: after
an AgentConnect a reload of /terminal shows the caller's card, the stream's state (on every
page of the desk) carries the call, and /terminal/card gives its card again; once the call
completes, none of them shows it. Against the AMI simulator and a real database, over the
real web app (as tests/agents/test_terminal.py)."""

from __future__ import annotations

import json

import pytest

from schemas.calls import CallRecord
from schemas.enums import AgentRole, CallOutcome
from tests.agents.support import create_agent
from tests.agents.test_terminal import IFACE, NOW, Rig, cards


@pytest.fixture
def rig(database, pumped_reactor):
    rig = Rig(database, pumped_reactor)
    create_agent(database, "li", AgentRole.AGENT, interface=IFACE)
    database.write_now(lambda session: session.add(CallRecord(
        call_id="call-88", flow="hotline", caller="13812345678", started_at=NOW,
        path="menu:3", menu_choice="complaint", outcome=CallOutcome.TO_QUEUE)))
    yield rig
    rig.stop()


def connect(rig, events):
    caller = rig.caller("13812345678")
    rig.sim.queue_caller_join("hotline", caller)
    rig.sim.inject_event("AgentConnect", [*caller.fields(), ("ChanVariable", "HOTLINE_CALL_ID=call-88"),
                                          *rig.agent_leg().fields("Dest"), ("Queue", "hotline"),
                                          ("Interface", IFACE), ("MemberName", "li"),
                                          ("HoldTime", 3), ("RingTime", 2)], "agent,all")
    rig.settle_until(lambda: cards(events))
    return caller


def calls(events):
    return [json.loads(data).get("call") for kind, data in events if kind == "state"]


def test_a_reload_during_a_call_shows_its_card_and_the_state_carries_the_call(rig):
    li = rig.browser("li")
    events = rig.listen(li)
    li.post("/terminal/queue", {"action": "login"})
    rig.sync()
    caller = connect(rig, events)
    call = calls(events)[-1]
    assert call["key"] == caller.uniqueid and call["call_id"] == "call-88"
    assert call["menu_choice"] == "complaint" and call["since_s"] >= 0
    assert f'data-call="{caller.uniqueid}"' in cards(events)[0]

    page = li.get("/terminal")  # the officer reloads
    assert page.status == 200
    assert 'id="card-phone">13812345678<' in page.body
    assert f'data-call="{caller.uniqueid}"' in page.body
    assert "等待来电" not in page.body

    again = rig.listen(li)  # the reloaded page's stream: the call at once
    assert calls(again)[-1]["key"] == caller.uniqueid

    card = li.get("/terminal/card")
    assert card.status == 200 and 'id="card-menu-choice">投诉<' in card.body


def test_every_page_of_the_desk_follows_the_stream_in_its_call_bar(rig):
    li = rig.browser("li")
    page = li.get("/appeals/new")
    assert 'id="call-bar"' in page.body and 'data-events="/terminal/events"' in page.body
    assert 'id="pop-panel"' in page.body


def test_once_the_call_completes_no_page_shows_it(rig):
    li = rig.browser("li")
    events = rig.listen(li)
    li.post("/terminal/queue", {"action": "login"})
    rig.sync()
    caller = connect(rig, events)
    rig.sim.agent_complete("hotline", caller, rig.agent_leg(), IFACE)
    rig.settle_until(lambda: calls(events)[-1] is None)
    assert li.get("/terminal/card").status == 204
    page = li.get("/terminal")
    assert "等待来电" in page.body and 'id="card-phone"' not in page.body
