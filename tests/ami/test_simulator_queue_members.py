"""The simulated queue's members as app_queue.c of Asterisk 23.4.1 reports them: a phone's
device state (an unregistered one Unavailable, an absent one Invalid) in every member event
and in QueueStatus, and wrap-up as Asterisk keeps it, in no event: the members say their own
Wrapuptime (0), QueueParams has no such field, and a member is offered no call until the
queue's wrapuptime has passed since its last call. Spoken on the wire."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from hotline.ami.device_states import DeviceState
from hotline.ami.simulator import (
    DEVICE_INVALID,
    DEVICE_NOT_INUSE,
    DEVICE_UNAVAILABLE,
    AsteriskManagerSimulator,
)
from tests.ami.support import transcript
from tests.ami.test_simulator import Wire
from tests.ami.test_simulator_golden import parsed


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sim(clock):
    return AsteriskManagerSimulator(clock, wall=lambda: 1795887545.0 + clock.seconds(),
                                    wrapuptime=15)


def events(messages, name):
    return [m for m in messages if m.event == name]


def names(message):
    return [key for key, _value in message]


@pytest.mark.parametrize("device", [DEVICE_UNAVAILABLE, DEVICE_INVALID])
def test_an_unregistered_phone_joins_with_its_device_state_and_is_offered_nothing(sim, device):
    wire = Wire(sim)
    wire.login()
    sim.set_device_state("PJSIP/1001", device)  # before it is a member: no event
    assert events(wire.read(), "QueueMemberStatus") == []
    wire.send("QueueAdd", ("Queue", "hotline"), ("Interface", "PJSIP/1001"))
    reply, added = wire.read()
    assert reply["Message"] == "Added interface to queue"
    assert added["Status"] == str(device) and added["InCall"] == "0"
    assert not sim.member_available("hotline", "PJSIP/1001")
    wire.send("QueueStatus", ("Queue", "hotline"))
    (member,) = events(wire.read(), "QueueMember")
    assert member["Status"] == str(device)
    sim.set_device_state("PJSIP/1001", DEVICE_NOT_INUSE)  # it registers
    (status,) = events(wire.read(), "QueueMemberStatus")
    assert status["Status"] == "1" and sim.member_available("hotline", "PJSIP/1001")


def test_members_say_their_own_wrap_up_and_queue_params_none(sim, clock):
    wire = Wire(sim)
    wire.login()
    wire.send("QueueAdd", ("Queue", "hotline"), ("Interface", "PJSIP/1001"))
    caller = sim.new_channel("PJSIP/trunk-00000001", caller_id_num="13812345678")
    agent = sim.new_channel("PJSIP/1001-00000002")
    sim.queue_caller_join("hotline", caller)
    sim.agent_connect("hotline", caller, agent, "PJSIP/1001")
    clock.advance(30)
    sim.agent_complete("hotline", caller, agent, "PJSIP/1001")
    sim.set_device_state("PJSIP/1001", DEVICE_NOT_INUSE)
    sent = wire.read()
    (complete,) = events(sent, "AgentComplete")
    assert "Wrapuptime" not in names(complete)
    member_events = [m for m in sent if (m.event or "").startswith("QueueMember")]
    assert member_events and {m["Wrapuptime"] for m in member_events} == {"0"}
    assert events(sent, "QueueMemberStatus")[-1]["LastCall"] == str(int(1795887545.0 + 30))
    wire.send("QueueStatus", ("Queue", "hotline"))
    listing = wire.read()
    (params,) = events(listing, "QueueParams")
    assert "Wrapuptime" not in names(params)
    assert events(listing, "QueueMember")[0]["Wrapuptime"] == "0"
    # Asterisk's own rule: no call for the queue's 15 s after the last one.
    assert not sim.member_available("hotline", "PJSIP/1001")
    clock.advance(14)
    assert not sim.member_available("hotline", "PJSIP/1001")
    clock.advance(1)
    assert sim.member_available("hotline", "PJSIP/1001")


def test_queue_params_fields_are_those_of_the_golden_transcript(sim):
    """Asterisk 23.4.1's QueueParams, as recorded (ami_misc): no Wrapuptime among them."""
    golden = b"".join(data for who, data in transcript("ami_misc") if who == "A")
    (recorded,) = [m for m in parsed(golden)[1] if m.event == "QueueParams"]
    wire = Wire(sim)
    wire.login()
    wire.send("QueueStatus", ("Queue", "hotline"))
    (params,) = events(wire.read(), "QueueParams")
    assert names(params) == names(recorded)


def test_device_states_are_asterisks_codes():
    assert [state.value for state in DeviceState] == list(range(9))
    assert {s for s in DeviceState if s.unreachable} == {DeviceState.INVALID,
                                                         DeviceState.UNAVAILABLE}
    assert DeviceState.of("5") is DeviceState.UNAVAILABLE and DeviceState.of("9") is None
    assert DeviceState.of("") is None and DeviceState.of(None) is None
