"""Asking Asterisk about one channel after the fact, and hearing of every login.

Status of a channel, by its name or by the Uniqueid an Originate's ChannelId gave it
(ast_channel_get_by_name() looks up both), answers as manager.c's action_status() does: a
list of one Status event (BridgeID set while the queue has the caller bridged to a member,
empty while it waits) and StatusComplete, or "No such channel" once it is gone. The service's
`on_login` calls back at each login, the first and every one after a lost link, so that a
subscriber can ask what it missed."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent

from hotline.ami.actions import OriginateReason
from hotline.ami.errors import AMIActionError
from hotline.ami.simulator import AsteriskManagerSimulator
from tests.ami.test_service import make, result_of
from tests.ami.test_simulator import Wire

MEMBER = "PJSIP/1001"


@pytest.fixture
def answered():
    """A queue callback's channel answered (ChannelId cb-7-1) and waiting in the queue."""
    clock = Clock()
    sim = AsteriskManagerSimulator(clock, wall=lambda: 1795887545.0 + clock.seconds())
    sim.script_originate("13812345678", OriginateReason.ANSWERED, delay=0.5)
    wire = Wire(sim)
    wire.login()
    wire.send("QueueAdd", ("Queue", "hotline"), ("Interface", MEMBER))
    wire.send("Originate", ("Channel", "PJSIP/13812345678@trunk"),
              ("Context", "hotline-queue-callback"), ("Exten", "s"), ("Priority", 1),
              ("ChannelId", "cb-7-1"), ("Async", "true"))
    clock.advance(0.5)
    citizen = sim.answered_originate("cb-7-1")
    sim.queue_caller_join("hotline", citizen)
    wire.read()
    return sim, wire, clock, citizen


def status(wire, channel):
    action_id = wire.send("Status", ("Channel", channel))
    return action_id, wire.read()


def test_status_by_uniqueid_lists_the_waiting_channel_in_no_bridge(answered):
    sim, wire, clock, citizen = answered
    clock.advance(12)
    action_id, (response, event, complete) = status(wire, "cb-7-1")
    assert list(response) == [("Response", "Success"), ("ActionID", action_id),
                              ("EventList", "start"), ("Message", "Channel status will follow")]
    assert event.event == "Status" and event["Privilege"] == "Call"
    assert event["Channel"] == citizen.name and event["Uniqueid"] == "cb-7-1"
    assert event["Context"] == "hotline-queue-callback"
    assert event["BridgeID"] == ""
    assert (event["Application"], event["Data"]) == ("Queue", "hotline")
    assert event["Seconds"] == "12" and event["ActionID"] == action_id
    names = [name for name, _ in event]
    # manager.c's order: the channel snapshot, then Type .. Seconds, then the ActionID.
    assert names.index("Linkedid") < names.index("Type") < names.index("BridgeID") \
        < names.index("Seconds") < names.index("ActionID")
    assert list(complete) == [("Event", "StatusComplete"), ("ActionID", action_id),
                              ("EventList", "Complete"), ("ListItems", "1"), ("Items", "1")]


def test_status_by_name_finds_the_same_channel(answered):
    sim, wire, clock, citizen = answered
    _, (_response, event, _complete) = status(wire, citizen.name)
    assert event["Uniqueid"] == "cb-7-1"


def test_status_says_the_bridge_while_an_agent_has_the_citizen_and_none_after(answered):
    sim, wire, clock, citizen = answered
    agent = sim.new_channel(f"{MEMBER}-00000001", context="from-internal")
    sim.agent_connect("hotline", citizen, agent, MEMBER)
    wire.read()
    _, (_r, bridged, _c) = status(wire, "cb-7-1")
    assert bridged["BridgeID"] != "" and bridged["Application"] == "Queue"
    sim.agent_complete("hotline", citizen, agent, MEMBER)
    wire.read()
    _, (_r, after, _c) = status(wire, "cb-7-1")
    assert after["BridgeID"] == "" and after["Application"] == ""


def test_status_of_a_channel_that_is_gone_is_no_such_channel(answered):
    sim, wire, clock, citizen = answered
    sim.queue_caller_abandon("hotline", citizen)
    sim.hangup_call(citizen.name)
    wire.read()
    action_id, (response,) = status(wire, "cb-7-1")
    assert list(response) == [("Response", "Error"), ("ActionID", action_id),
                              ("Message", "No such channel")]


def test_status_without_a_channel_lists_every_live_leg(answered):
    sim, wire, clock, citizen = answered
    wire.send("Status")
    response, *events, complete = wire.read()
    assert [e["Uniqueid"] for e in events] == ["cb-7-1", "cb-7-1;2"]
    assert complete["ListItems"] == "2"


def test_getvar_of_a_channel_finds_it_by_uniqueid_too(answered):
    sim, wire, clock, citizen = answered
    wire.send("Getvar", ("Channel", "cb-7-1"), ("Variable", "TASK_ID"))
    (response,) = wire.read()
    assert response["Response"] == "Success"
    wire.send("Getvar", ("Channel", "cb-9-9"), ("Variable", "TASK_ID"))
    (missing,) = wire.read()
    assert missing["Message"] == "No such channel"


# The service ------------------------------------------------------------------------------


def test_the_service_asks_status_and_getvar_and_reads_no_such_channel_as_an_action_error():
    service, sim, endpoint, clock = make()
    service.startService()
    endpoint.flush()
    sim.script_originate("13812345678", OriginateReason.ANSWERED, delay=0.5)
    d = service.originate("PJSIP/13812345678@trunk", context="hotline-queue-callback",
                          exten="s", channel_id="cb-7-1")
    endpoint.flush()
    clock.advance(0.5)
    endpoint.flush()
    assert result_of(d).answered
    listed = service.channel_status("cb-7-1")
    endpoint.flush()
    (event,) = result_of(listed).of("Status")
    assert event["Uniqueid"] == "cb-7-1" and event["BridgeID"] == ""

    sim.add_member("hotline", MEMBER)
    ready = service.getvar("QUEUE_MEMBER(hotline,ready)")
    endpoint.flush()
    assert result_of(ready)["Value"] == "1"

    sim.hangup_call(sim.answered_originate("cb-7-1").name)
    gone = service.channel_status("cb-7-1")
    endpoint.flush()
    failure = result_of(gone)
    assert failure.check(AMIActionError) and failure.value.message == "No such channel"


def test_on_login_calls_back_at_every_login_until_cancelled():
    service, sim, endpoint, clock = make()
    logins = []
    subscription = service.on_login(lambda: logins.append(service.up))
    service.startService()
    endpoint.flush()
    assert logins == [True]
    endpoint.cut()
    clock.advance(2.0)
    endpoint.flush()
    assert logins == [True, True]
    subscription.cancel()
    endpoint.cut()
    clock.advance(4.0)
    endpoint.flush()
    assert service.up and logins == [True, True]


def test_a_failing_login_listener_is_logged_and_the_others_still_hear():
    service, sim, endpoint, clock = make()
    heard = []

    def broken():
        raise RuntimeError("listener bug")

    service.on_login(broken)
    service.on_login(lambda: heard.append(1))
    with capturedLogs() as events:
        service.startService()
        endpoint.flush()
    assert heard == [1] and service.up
    assert sum("login listener" in formatEvent(e) for e in events) == 1
