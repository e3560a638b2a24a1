"""The simulator's own behaviour: authentication, the queue model, scripted Originates and
injected queue events, spoken on the wire."""

import hashlib

import pytest
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from hotline.ami.actions import OriginateReason
from hotline.ami.simulator import AsteriskManagerSimulator, destination_number, parse_caller_id
from tests.ami.support import Collector


class Wire:
    """A raw client session on the simulator, reading what it writes."""

    def __init__(self, sim):
        self.transport = StringTransport()
        self.session = sim.buildProtocol(None)
        self.session.makeConnection(self.transport)
        self.reader = Collector()
        self.reader.makeConnection(StringTransport())
        self.n = 0

    def send(self, action, *fields):
        self.n += 1
        lines = [f"Action: {action}", f"ActionID: w-{self.n}", *(f"{k}: {v}" for k, v in fields)]
        self.session.dataReceived(("\r\n".join(lines) + "\r\n\r\n").encode())
        return f"w-{self.n}"

    def read(self):
        self.reader.dataReceived(self.transport.value())
        self.transport.clear()
        out, self.reader.messages = self.reader.messages, []
        return out

    def login(self, events="on"):
        self.send("Login", ("Username", "hotline"), ("Secret", "secret"), ("Events", events))
        return self.read()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sim(clock):
    return AsteriskManagerSimulator(clock, wall=lambda: 1795887545.0 + clock.seconds())


def test_md5_login_is_accepted_with_the_right_key_and_refused_with_a_wrong_one(sim, clock):
    good = Wire(sim)
    good.send("Challenge", ("AuthType", "MD5"))
    challenge = good.read()[0]["Challenge"]
    good.send("Login", ("AuthType", "MD5"), ("Username", "hotline"), ("Key", hashlib.md5((challenge + "secret").encode()).hexdigest()))
    assert good.read()[0]["Message"] == "Authentication accepted"
    bad = Wire(sim)
    bad.send("Challenge", ("AuthType", "MD5"))
    bad.read()
    bad.send("Login", ("AuthType", "MD5"), ("Username", "hotline"), ("Key", "0" * 32))
    clock.advance(1.0)
    assert bad.read()[0]["Message"] == "Authentication failed"
    assert bad.transport.disconnecting


def test_actions_before_login_are_refused_with_permission_denied(sim):
    wire = Wire(sim)
    wire.send("Ping")
    reply = wire.read()[0]
    assert (reply["Response"], reply["Message"]) == ("Error", "Permission denied")


def test_session_logged_in_with_events_off_gets_responses_but_no_events(sim):
    quiet, loud = Wire(sim), Wire(sim)
    assert [m.event for m in quiet.login(events="off")] == [None]
    loud.login()
    sim.hangup_channel(sim.new_channel("PJSIP/x-00000001"))
    assert quiet.read() == []
    assert [m.event for m in loud.read()] == ["Hangup"]


def test_queue_add_emits_queue_member_added_with_app_queue_fields_in_order(sim):
    wire = Wire(sim)
    wire.login()
    wire.send("QueueAdd", ("Queue", "hotline"), ("Interface", "PJSIP/agent07"), ("MemberName", "Agent 07"), ("Penalty", "2"))
    response, added = wire.read()
    assert response["Message"] == "Added interface to queue"
    assert [k for k, _ in added] == [
        "Event", "Privilege", "Queue", "MemberName", "Interface", "StateInterface", "Membership", "Penalty",
        "CallsTaken", "LastCall", "LastPause", "LoginTime", "InCall", "Status", "Paused", "PausedReason",
        "Ringinuse", "Wrapuptime",
    ]  # fmt: skip
    assert (added["Privilege"], added["Membership"], added["Penalty"], added["Status"]) == ("agent,all", "dynamic", "2", "1")


@pytest.mark.parametrize(
    "action, fields, message",
    [
        ("QueueAdd", [("Queue", "nosuch"), ("Interface", "PJSIP/a")], "Unable to add interface to queue: No such queue"),
        ("QueueAdd", [("Queue", "hotline")], "'Queue' and 'Interface' not specified."),
        ("QueueRemove", [("Queue", "hotline"), ("Interface", "PJSIP/nobody")], "Unable to remove interface: Not there"),
        ("QueuePause", [("Interface", "PJSIP/nobody"), ("Paused", "true")], "Interface not found"),
        ("QueuePause", [("Interface", "PJSIP/a")], "Need 'Interface' and 'Paused' parameters."),
        ("Hangup", [("Channel", "PJSIP/nobody-00000001")], "No such channel"),
        ("Setvar", [("Channel", "PJSIP/a")], "No variable specified"),
        ("Originate", [("Exten", "s")], "Channel not specified"),
    ],
)
def test_bad_actions_get_asterisks_error_message(sim, action, fields, message):
    wire = Wire(sim)
    wire.login()
    wire.send(action, *fields)
    reply = wire.read()[0]
    assert (reply["Response"], reply["Message"]) == ("Error", message)


def test_adding_the_same_member_twice_is_refused(sim):
    wire = Wire(sim)
    wire.login()
    wire.send("QueueAdd", ("Queue", "hotline"), ("Interface", "PJSIP/a"))
    wire.send("QueueAdd", ("Queue", "hotline"), ("Interface", "PJSIP/a"))
    assert wire.read()[-1]["Message"] == "Unable to add interface: Already there"


def test_queue_status_lists_params_members_and_waiting_callers(sim, clock):
    wire = Wire(sim)
    wire.login()
    wire.send("QueueAdd", ("Queue", "hotline"), ("Interface", "PJSIP/a"))
    caller = sim.new_channel("PJSIP/trunk-00000001", caller_id_num="13812345678", exten="9600110")
    sim.queue_caller_join("hotline", caller)
    clock.advance(12)
    wire.read()
    action_id = wire.send("QueueStatus", ("Queue", "hotline"))
    reply = wire.read()
    assert [m.event for m in reply] == [None, "QueueParams", "QueueMember", "QueueEntry", "QueueStatusComplete"]
    assert all(m["ActionID"] == action_id for m in reply)
    assert reply[1]["Calls"] == "1"
    assert (reply[3]["Position"], reply[3]["CallerIDNum"], reply[3]["Wait"]) == ("1", "13812345678", "12")
    assert (reply[4]["EventList"], reply[4]["ListItems"]) == ("Complete", "3")


def test_pause_with_reason_then_unpause_emit_queue_member_pause(sim):
    wire = Wire(sim)
    wire.login()
    wire.send("QueueAdd", ("Queue", "hotline"), ("Interface", "PJSIP/a"))
    wire.read()
    wire.send("QueuePause", ("Interface", "PJSIP/a"), ("Paused", "true"), ("Reason", "lunch"))
    response, paused = wire.read()
    assert response["Message"] == "Interface paused successfully"
    assert (paused.event, paused["Paused"], paused["PausedReason"]) == ("QueueMemberPause", "1", "lunch")
    wire.send("QueuePause", ("Interface", "PJSIP/a"), ("Paused", "false"))
    response, unpaused = wire.read()
    assert response["Message"] == "Interface unpaused successfully"
    assert (unpaused["Paused"], unpaused["PausedReason"]) == ("0", "")


def test_device_state_change_emits_queue_member_status(sim):
    wire = Wire(sim)
    wire.login()
    wire.send("QueueAdd", ("Queue", "hotline"), ("Interface", "PJSIP/a"))
    wire.read()
    sim.set_device_state("PJSIP/a", 5)
    (status,) = wire.read()
    assert (status.event, status["Status"]) == ("QueueMemberStatus", "5")


def test_injected_queue_call_flow_uses_asterisk_23_field_names(sim, clock):
    wire = Wire(sim)
    wire.login()
    wire.send("QueueAdd", ("Queue", "hotline"), ("Interface", "PJSIP/agent07"), ("MemberName", "Agent 07"))
    wire.read()
    caller = sim.new_channel("PJSIP/trunk-00000001", caller_id_num="13812345678", caller_id_name="", exten="9600110")
    agent = sim.new_channel("PJSIP/agent07-00000002", caller_id_num="8007", context="agents")
    sim.queue_caller_join("hotline", caller)
    clock.advance(5)
    sim.agent_called("hotline", caller, agent, "PJSIP/agent07")
    sim.agent_connect("hotline", caller, agent, "PJSIP/agent07", ring_time=3)
    sim.agent_complete("hotline", caller, agent, "PJSIP/agent07", hold_time=5, talk_time=60, reason="agent")
    join, called, leave, connect, complete = wire.read()
    assert (join.event, join["Position"], join["Count"]) == ("QueueCallerJoin", "1", "1")
    keys = [k for k, _ in called]
    assert keys[2:4] == ["Channel", "ChannelState"]
    assert "DestChannel" in keys and keys.index("DestChannel") > keys.index("Linkedid")
    assert keys[-3:] == ["Queue", "Interface", "MemberName"]
    assert called["MemberName"] == "Agent 07"
    assert (leave.event, leave["Count"]) == ("QueueCallerLeave", "0")
    assert (connect.event, connect["HoldTime"], connect["RingTime"]) == ("AgentConnect", "5", "3")
    assert (complete.event, complete["TalkTime"], complete["Reason"]) == ("AgentComplete", "60", "agent")
    assert all(m["Privilege"] == "agent,all" for m in (join, called, leave, connect, complete))


def test_injected_abandon_is_followed_by_leave(sim, clock):
    wire = Wire(sim)
    wire.login()
    caller = sim.new_channel("PJSIP/trunk-00000001", caller_id_num="13812345678")
    sim.queue_caller_join("hotline", caller)
    clock.advance(7)
    sim.queue_caller_abandon("hotline", caller)
    _join, abandon, leave = wire.read()
    assert [k for k, _ in abandon][-4:] == ["Queue", "Position", "OriginalPosition", "HoldTime"]
    assert abandon["HoldTime"] == "7"
    assert leave.event == "QueueCallerLeave"


def test_originate_with_channel_id_uses_it_as_the_uniqueid_of_both_legs(sim, clock):
    sim.script_originate("13812345678", OriginateReason.ANSWERED, delay=0.5)
    wire = Wire(sim)
    wire.login()
    wire.send("Originate", ("Channel", "Local/13812345678@cb"), ("Context", "survey"), ("Exten", "s"), ("ChannelId", "cb-9"), ("Async", "true"))
    clock.advance(0.5)
    events = wire.read()
    newchannels = [m for m in events if m.event == "Newchannel"]
    assert [m["Uniqueid"] for m in newchannels] == ["cb-9", "cb-9;2"]
    response = next(m for m in events if m.event == "OriginateResponse")
    assert (response["Uniqueid"], response["Reason"]) == ("cb-9", "4")


def test_answered_call_with_a_talk_time_hangs_up_by_itself(sim, clock):
    sim.script_originate("13812345678", OriginateReason.ANSWERED, delay=1.0, talk_time=30.0)
    wire = Wire(sim)
    wire.login()
    wire.send("Originate", ("Channel", "Local/13812345678@cb"), ("Application", "Wait"), ("Data", "60"), ("Async", "true"))
    clock.advance(1.0)
    wire.read()
    clock.advance(30.0)
    hangups = wire.read()
    assert [(m.event, m["Cause"]) for m in hangups] == [("Hangup", "16"), ("Hangup", "16")]
    assert sim.calls == {}


def test_synchronous_originate_answers_only_when_the_call_is_decided(sim, clock):
    sim.script_originate("13812345678", OriginateReason.BUSY, delay=2.0)
    wire = Wire(sim)
    wire.login(events="off")
    wire.send("Originate", ("Channel", "Local/13812345678@cb"), ("Application", "Wait"))
    assert wire.read() == []
    clock.advance(2.0)
    reply = wire.read()[0]
    assert (reply["Response"], reply["Message"]) == ("Error", "Originate failed")


def test_events_go_to_every_logged_in_session(sim):
    one, two, anonymous = Wire(sim), Wire(sim), Wire(sim)
    one.login()
    two.login()
    anonymous.read()
    sim.inject_event("DTMFEnd", [("Channel", "PJSIP/x-1"), ("Digit", "5")], privilege="dtmf,all")
    # The first session also saw the second one's SuccessfulAuth, as on Asterisk.
    assert [m.event for m in one.read()] == ["SuccessfulAuth", "DTMFEnd"]
    assert two.read()[-1]["Digit"] == "5"
    assert anonymous.read() == []


def test_logoff_says_goodbye_and_closes(sim):
    wire = Wire(sim)
    wire.login()
    wire.send("Logoff")
    reply = wire.read()[0]
    assert (reply["Response"], reply["Message"]) == ("Goodbye", "Thanks for all the fish.")
    assert wire.transport.disconnecting


@pytest.mark.parametrize(
    "channel, number",
    [
        ("Local/13812345678@hotline-callback", "13812345678"),
        ("PJSIP/13812345678@trunk", "13812345678"),
        ("PJSIP/trunk/sip:13812345678@10.0.0.1", "13812345678"),
        ("Local/echo@hotline", "echo"),
    ],
)
def test_destination_number_is_taken_from_the_dial_string(channel, number):
    assert destination_number(channel) == number


@pytest.mark.parametrize(
    "text, parsed",
    [('"AMI Test" <100>', ("AMI Test", "100")), ("<5551234>", ("", "5551234")), ("9600110", ("", "9600110")), ("Hotline", ("Hotline", ""))],
)
def test_caller_id_is_split_into_name_and_number(text, parsed):
    assert parse_caller_id(text) == parsed
