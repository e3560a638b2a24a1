"""An Originate's channel variables in the simulator as Asterisk 23.4.1 sets them: one VarSet
on the new channel for each `Variable` header, right after its AppDial2 Newexten (the golden
transcript ami_args: `Variable: HOLD=10`); with manager.conf's channelvars the channel's later
events carry them as `ChanVariable: NAME=value` (empty while unset), so that an AgentConnect
of the answered channel says the call id it was originated with."""

from __future__ import annotations

from twisted.internet.task import Clock

from hotline.ami.actions import OriginateReason
from hotline.ami.simulator import AsteriskManagerSimulator
from tests.ami.support import transcript
from tests.ami.test_simulator import Wire
from tests.ami.test_simulator_golden import normalise, parsed, play


def test_originate_variables_raise_varset_as_in_the_golden_transcript():
    golden = b"".join(data for who, data in transcript("ami_args") if who == "A")
    _, recorded = parsed(golden)
    clock = Clock()
    sim = AsteriskManagerSimulator(clock, wall=lambda: 1795887545.0 + clock.seconds(),
                                   local_sequence_start=4)
    sim.script_originate("9600111", OriginateReason.ANSWERED, delay=1.0)
    _, output, _ = play("ami_args", sim, clock)
    _, messages = parsed(output)

    def setup(stream):
        """Newchannel to NewCallerid: the Originate's own events, in order, with its VarSet."""
        names = [m.event for m in stream]
        start = names.index("Newchannel")
        return stream[start:names.index("NewCallerid", start) + 1]

    expected = setup(recorded)
    assert [m.event for m in expected] == ["Newchannel", "Newchannel", "Newexten", "VarSet",
                                           "NewCallerid"]
    assert normalise(setup(messages)) == normalise(expected)


def test_with_channelvars_the_originated_channel_carries_the_call_id_to_agent_connect():
    clock = Clock()
    sim = AsteriskManagerSimulator(clock, wall=lambda: 1795887545.0 + clock.seconds(),
                                   channelvars=("HOTLINE_CALL_ID",))
    sim.script_originate("13812345678", OriginateReason.ANSWERED, delay=0.5)
    wire = Wire(sim)
    wire.login()
    wire.send("Originate", ("Channel", "PJSIP/13812345678@trunk"),
              ("Context", "hotline-queue-callback"), ("Exten", "s"), ("Priority", 1),
              ("CallerID", "9600110"), ("Variable", "TASK_ID=7"),
              ("Variable", "HOTLINE_CALL_ID=call-31"), ("ChannelId", "cb-7-1"), ("Async", "true"))
    setup = wire.read()
    first = next(m for m in setup if m.event == "Newchannel")
    assert first.getall("ChanVariable") == ["HOTLINE_CALL_ID="]  # not set yet
    varsets = [(m["Variable"], m["Value"], m.getall("ChanVariable"))
               for m in setup if m.event == "VarSet"]
    assert varsets == [("TASK_ID", "7", ["HOTLINE_CALL_ID="]),
                       ("HOTLINE_CALL_ID", "call-31", ["HOTLINE_CALL_ID=call-31"])]
    clock.advance(0.5)
    (response,) = [m for m in wire.read() if m.event == "OriginateResponse"]
    assert response["Response"] == "Success"
    citizen = sim.answered_originate("cb-7-1")
    assert (citizen.context, citizen.exten, citizen.caller_id_num) == \
        ("hotline-queue-callback", "s", "9600110")
    sim.queue_caller_join("hotline", citizen)
    agent = sim.new_channel("PJSIP/1001-00000009")
    sim.agent_connect("hotline", citizen, agent, "PJSIP/1001")
    (connect,) = [m for m in wire.read() if m.event == "AgentConnect"]
    assert connect["Uniqueid"] == "cb-7-1"
    assert connect.getall("ChanVariable") == ["HOTLINE_CALL_ID=call-31"]
