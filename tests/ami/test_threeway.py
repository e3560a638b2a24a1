"""Redirect and ConfBridge, the parts of a three-way call (三方通话): the AMI client's Redirect
through the simulator, which answers and raises the events as Asterisk 23.4.1 did in the
golden transcripts ami_threeway_by_name and ami_threeway_by_uniqueid (README.txt's third
table): the errors' words, "Dual Redirect successful", the queue bridge left and destroyed,
ConfbridgeStart and a ConfbridgeJoin per channel with the fields Asterisk sent."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from hotline.ami import actions
from hotline.ami.errors import AMIActionError
from hotline.ami.message import Message
from hotline.ami.service import AMIService
from hotline.ami.simulator import AsteriskManagerSimulator
from tests.ami.support import GOLDEN, Collector, SimulatorEndpoint, split_messages

CONFERENCE_EVENTS = {"ConfbridgeStart", "ConfbridgeJoin", "ConfbridgeLeave", "ConfbridgeEnd",
                     "BridgeLeave", "BridgeDestroy"}


def result_of(d):
    box = []
    d.addBoth(box.append)
    assert box, "Deferred has not fired"
    return box[0]


def golden_messages(name: str) -> list[Message]:
    _banner, chunks = split_messages((GOLDEN / "raw" / f"{name}.from_asterisk.bin").read_bytes())
    collector = Collector(expect_banner=False)
    from twisted.internet.testing import StringTransport
    collector.makeConnection(StringTransport())
    for chunk in chunks:
        collector.dataReceived(chunk)
    return collector.messages


class Lab:
    """The simulator with a caller queued and put through to a member, over the service."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.sim = AsteriskManagerSimulator(self.clock, wall=lambda: 1796688699.0 + self.clock.seconds(),
                                            channelvars=("HOTLINE_CALL_ID",))
        self.endpoint = SimulatorEndpoint(self.sim, self.clock)
        self.ami = AMIService("127.0.0.1", 5038, "hotline", "secret", clock=self.clock,
                              endpoint=self.endpoint, ping_interval=None, instance="t3")
        self.ami.startService()
        self.endpoint.flush()
        self.events: list[Message] = []
        for name in CONFERENCE_EVENTS | {"OriginateResponse"}:
            self.ami.subscribe(name, self.events.append)
        self.caller = self.sim.new_channel("Local/9600110@hotline-00000000;2",
                                           caller_id_num="13812345678",
                                           variables={"HOTLINE_CALL_ID": "lab-call-1"})
        # manager.conf's channelvars show on every channel, empty where unset.
        self.agent = self.sim.new_channel("Local/agent1@lab-agents-00000001;1",
                                          context="lab-agents", exten="agent1",
                                          variables={"HOTLINE_CALL_ID": ""})
        self.sim.queue_caller_join("hotline", self.caller)
        self.sim.agent_connect("hotline", self.caller, self.agent, "Local/agent1@lab-agents/n")
        self.endpoint.flush()

    def unit_joins(self) -> None:
        d = self.ami.originate("Local/5399999@lab-unit", context="hotline-threeway", exten="4001",
                               caller_id="9600110", timeout_ms=20000)
        self.endpoint.flush()
        self.clock.advance(1)
        self.endpoint.flush()
        assert result_of(d).success

    def redirect(self, channel, extra):
        d = self.ami.redirect(channel, extra_channel=extra, context="hotline-threeway",
                              exten="4001")
        self.endpoint.flush()
        return result_of(d)

    def names(self) -> list[str]:
        return [e.event for e in self.events if e.event in CONFERENCE_EVENTS]


@pytest.mark.parametrize("by", ["name", "uniqueid"])
def test_a_dual_redirect_moves_the_bridged_pair_into_the_units_conference(by):
    lab = Lab()
    lab.unit_joins()
    if by == "name":
        answer = lab.redirect(lab.caller.name, lab.agent.name)
    else:
        answer = lab.redirect(lab.caller.uniqueid, lab.agent.uniqueid)
    assert answer["Message"] == "Dual Redirect successful"
    recorded_events = [m for m in golden_messages(f"ami_threeway_by_{by}")
                       if m.event in CONFERENCE_EVENTS][:len(lab.names())]
    # Each leg's events come from its own thread in Asterisk: their interleave differs between
    # the runs (by Uniqueid, a leg's ConfbridgeJoin even came before its BridgeLeave); what
    # holds in both is the unit's join first and the bridge destroyed once both left.
    assert sorted(lab.names()) == sorted(m.event for m in recorded_events) == sorted([
        "ConfbridgeStart", "ConfbridgeJoin", "BridgeLeave", "BridgeLeave", "BridgeDestroy",
        "ConfbridgeJoin", "ConfbridgeJoin"])
    for events in (lab.events, recorded_events):
        seen = [(e.event, e.get("Channel") or "") for e in events if e.event in CONFERENCE_EVENTS]
        assert seen[0][0] == "ConfbridgeStart" and seen[1][0] == "ConfbridgeJoin"
        leaves = [i for i, (event, _) in enumerate(seen) if event == "BridgeLeave"]
        assert seen.index(("BridgeDestroy", "")) > max(leaves)
    joins = [e for e in lab.events if e.event == "ConfbridgeJoin"]
    recorded = [m for m in golden_messages(f"ami_threeway_by_{by}") if m.event == "ConfbridgeJoin"]
    by_channel = {m["Channel"].split("-0")[0]: m for m in recorded}
    for ours in joins:
        theirs = by_channel[ours["Channel"].split("-0")[0]]
        assert [k for k, _ in ours.fields] == [k for k, _ in theirs.fields]
        for field in ("Conference", "BridgeType", "BridgeTechnology", "BridgeCreator",
                      "BridgeNumChannels", "Context", "Exten", "Priority", "Admin", "Muted"):
            assert ours[field] == theirs[field], field
    assert {e["Channel"] for e in joins[1:]} == {lab.agent.name, lab.caller.name}
    caller_join = next(e for e in joins if e["Channel"] == lab.caller.name)
    assert caller_join["ChanVariable"] == "HOTLINE_CALL_ID=lab-call-1"


def test_the_conference_ends_when_its_last_channel_hangs_up():
    lab = Lab()
    lab.unit_joins()
    lab.redirect(lab.caller.name, lab.agent.name)
    for channel in (lab.caller, lab.agent):
        lab.sim.hangup_channel(lab.sim.redirect_target(channel.uniqueid))
    lab.sim.hangup_call(next(iter(lab.sim.calls)))
    lab.endpoint.flush()
    leaves = [e for e in lab.events if e.event == "ConfbridgeLeave"]
    assert [e["BridgeNumChannels"] for e in leaves] == ["4", "3", "2"]
    # The golden's own leaves count down the same way.
    assert [m["BridgeNumChannels"] for m in golden_messages("ami_threeway_by_name")
            if m.event == "ConfbridgeLeave"] == ["4", "3", "2"]
    assert lab.names()[-1] == "ConfbridgeEnd" and not lab.sim.conferences


@pytest.mark.parametrize("fields, message", [
    ([("Context", "hotline-threeway"), ("Exten", "4001"), ("Priority", "1")],
     "Channel not specified"),
    ([("Channel", "Local/nothing-00000099;1"), ("Context", "hotline-threeway"),
      ("Exten", "4001"), ("Priority", "1")], "Channel does not exist: Local/nothing-00000099;1"),
    ([("Channel", "1796688434.1"), ("ExtraChannel", "nothing"), ("Context", "hotline-threeway"),
      ("Exten", "4001"), ("Priority", "1")], "Channel does not exist: 1796688434.1"),
])
def test_a_redirect_asterisk_refuses_is_refused_in_its_words(fields, message):
    lab = Lab()
    d = lab.ami.send_action(Message.action("Redirect", fields))
    lab.endpoint.flush()
    failure = result_of(d)
    assert failure.check(AMIActionError) and failure.value.message == message
    assert lab.names() == []


def test_the_redirect_action_names_both_places_for_a_pair():
    action = actions.redirect("1.1", extra_channel="1.2", context="hotline-threeway", exten="4001")
    assert [(k, v) for k, v in action.fields if k != "ActionID"] == [
        ("Action", "Redirect"), ("Channel", "1.1"), ("ExtraChannel", "1.2"),
        ("Context", "hotline-threeway"), ("Exten", "4001"), ("Priority", "1"),
        ("ExtraContext", "hotline-threeway"), ("ExtraExten", "4001"), ("ExtraPriority", "1")]
    with pytest.raises(ValueError):
        actions.redirect("", context="hotline-threeway", exten="4001")
