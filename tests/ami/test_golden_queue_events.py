"""The simulator against the later golden AMI transcripts (README.txt's second table), recorded
from a real Asterisk 23.4.1 configured from docs/asterisk: a member who hangs up first, wrap-up
(wrapuptime = 15, in no field), members whose device is Unavailable or Invalid, and a queue
callback originated with the call id and the citizen's number.

The recording is played back on its own timeline: the probe's actions go to the simulator, and
what the dialplan's Queue() did (a caller joining, a member rung, connected, done, a device
changing state) is injected from the recorded event itself through the simulator's helpers. The
simulator's queue events and every response must then equal Asterisk's, field for field, after
blanking the per-run values (ids, Local sequence numbers, epoch seconds)."""

from __future__ import annotations

import ast
import re

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from hotline.ami.actions import OriginateReason
from hotline.ami.device_states import DeviceState
from hotline.ami.message import Message
from hotline.ami.simulator import AsteriskManagerSimulator, ChannelSnapshot
from tests.ami.support import GOLDEN, LATER_AMI_STREAMS, Collector, split_messages
from tests.ami.test_simulator_golden import LOCAL_SEQ, modelled, normalise

# docs/asterisk/manager.conf's read classes; queues.conf's wrapuptime and ringinuse
READ = ("call", "agent", "dialplan", "reporting")
# What the simulator models on these links: the responses, the queue's events and lists, and
# the Originate's outcome. The dialplan's own events (Newexten, VarSet, Dial*, Bridge*,
# MusicOnHold*, DeviceStateChange, Hangup...) are not modelled.
COMPARED = {
    "QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause", "QueueMemberStatus",
    "QueueParams", "QueueMember", "QueueEntry", "QueueStatusComplete", "QueueSummary",
    "QueueSummaryComplete", "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon",
    "AgentCalled", "AgentConnect", "AgentComplete", "OriginateResponse",
}
# Raised by Queue() on the real Asterisk, injected here.
DIALPLAN = {"QueueCallerJoin", "AgentCalled", "AgentConnect", "AgentComplete", "QueueMemberStatus",
            "QueueCallerAbandon"}
EPOCH_FIELDS = {"LoginTime", "LastCall", "LastPause"}
QUEUE_STREAMS = ["ami_queue_agent_hangs_up", "ami_queue_wrapup", "ami_device_unavailable",
                 "ami_originate_call_id"]


def parse_one(raw: bytes) -> Message:
    collector = Collector(expect_banner=False)
    collector.makeConnection(StringTransport())
    collector.dataReceived(raw)
    (message,) = collector.messages
    return message


def timeline(name: str) -> list[tuple[float, str, bytes]]:
    """(t of its first line, 'A' or 'S', the whole message) in the order of the recording;
    the banner alone, notes dropped."""
    rows = []
    for line in (GOLDEN / "raw" / f"{name}.timing.tsv").read_text().splitlines():
        t, kind, text = line.split("\t", 2)
        if kind in "AS":
            rows.append((float(t), kind, ast.literal_eval(text)))
    items: list[tuple[float, str, bytes]] = [rows[0]]
    pending: dict[str, tuple[float, bytes]] = {}
    for t, kind, data in rows[1:]:
        start, body = pending.get(kind, (t, b""))
        body += data
        if data == b"\r\n":
            items.append((start, kind, body))
            pending.pop(kind, None)
        else:
            pending[kind] = (start, body)
    return items


def snapshot(m: Message, prefix: str = "") -> ChannelSnapshot:
    def known(key: str) -> str:
        value = m[prefix + key]
        return "" if value == "<unknown>" else value

    return ChannelSnapshot(
        name=m[prefix + "Channel"], uniqueid=m[prefix + "Uniqueid"], linkedid=m[prefix + "Linkedid"],
        state=int(m[prefix + "ChannelState"]), caller_id_num=known("CallerIDNum"),
        caller_id_name=known("CallerIDName"), connected_num=known("ConnectedLineNum"),
        connected_name=known("ConnectedLineName"), language=m[prefix + "Language"],
        account_code=m[prefix + "AccountCode"], context=m[prefix + "Context"], exten=m[prefix + "Exten"],
        priority=int(m[prefix + "Priority"]),
        variables=tuple(tuple(v.split("=", 1)) for v in m.getall(prefix + "ChanVariable")),  # type: ignore[misc]
    )


def make_sim(clock: Clock, name: str) -> AsteriskManagerSimulator:
    sim = AsteriskManagerSimulator(clock, wall=lambda: 1796655700.0 + clock.seconds(), queues=(),
                                   channelvars=("HOTLINE_CALL_ID",), read_classes=READ)
    sim.add_queue("hotline", "rrmemory", wrapuptime=15, ringinuse=False)  # docs/asterisk/queues.conf
    sim.devices["PJSIP/agent9"] = 4  # chan_pjsip not loaded: Invalid
    return sim


def play(name: str) -> tuple[list[Message], list[Message], AsteriskManagerSimulator]:
    """Drive a simulator along the recording; (recorded messages, simulator's messages)."""
    items = timeline(name)
    clock = Clock()
    sim = make_sim(clock, name)
    session = sim.buildProtocol(None)
    transport = StringTransport(hostAddress=IPv4Address("TCP", "127.0.0.1", 5038),
                                peerAddress=IPv4Address("TCP", "127.0.0.1", 40000))
    session.makeConnection(transport)
    recorded = [(t, parse_one(raw)) for t, kind, raw in items[1:] if kind == "A"]
    # The Originates' channels get the Uniqueids Asterisk gave them (a per-run value, but one
    # the injected events refer to).
    originated = [parse_one(raw)["Channel"].split("@")[0] for _, kind, raw in items
                  if kind == "S" and raw.startswith(b"Action: Originate")]
    ids = iter([m["Uniqueid"] for _, m in recorded if m.event == "Newchannel"
                and m["Channel"].split("@")[0] in originated])
    sim.new_uniqueid = lambda: next(ids)  # type: ignore[method-assign]
    queue_events = [m for _, m in recorded if m.event in DIALPLAN]
    deferred_status: dict[str, int] = {}
    for t, kind, raw in items[1:]:
        clock.advance(max(0.0, t - clock.seconds()))
        if kind == "S":
            request = parse_one(raw)
            if request.get("Action") == "Originate":
                sim.script_originate(request["Channel"], OriginateReason.ANSWERED, delay=answer_delay(items, request))
            session.dataReceived(raw)
            continue
        m = parse_one(raw)
        if m.event in DIALPLAN:
            inject(sim, m, queue_events, deferred_status)
        elif m.event == "DeviceStateChange" and m["Device"].startswith("Custom:"):
            # the CLI's devstate change (a note in the transcript): the device's new state, its
            # member's QueueMemberStatus (recorded before this) already injected
            sim.devices[m["Device"]] = int(DeviceState[m["State"]])
    _, produced = parsed_stream(transport.value())
    return [m for _, m in recorded], produced, sim


def answer_delay(items, request: Message) -> float:
    """When the recording's OriginateResponse for this action came, after the action."""
    sent = next(t for t, kind, raw in items if kind == "S" and parse_one(raw).action_id == request.action_id)
    for t, kind, raw in items:
        if kind == "A" and raw.startswith(b"Event: OriginateResponse") and parse_one(raw).action_id == request.action_id:
            return t - sent
    raise AssertionError("no OriginateResponse")


def inject(sim: AsteriskManagerSimulator, m: Message, queue_events: list[Message],
           deferred_status: dict[str, int]) -> None:
    queue = m.get("Queue", "hotline")
    if m.event == "QueueCallerJoin":
        sim.queue_caller_join(queue, snapshot(m))
    elif m.event == "AgentCalled":
        if m["DestChannel"].startswith("Local/"):
            sim.take_local_sequence()
        sim.agent_called(queue, snapshot(m), snapshot(m, "Dest"), m["Interface"])
    elif m.event == "AgentConnect":
        sim.agent_connect(queue, snapshot(m), snapshot(m, "Dest"), m["Interface"], ring_time=int(m["RingTime"]))
    elif m.event == "AgentComplete":
        agent = snapshot(m, "Dest") if m.get("DestChannel") else None
        sim.agent_complete(queue, snapshot(m), agent, m["Interface"], reason=m["Reason"],
                           member_status=deferred_status.pop(m["Interface"], None))
    elif m.event == "QueueMemberStatus":
        following = queue_events[queue_events.index(m) + 1:]
        member = sim.queues[queue].members[m["Interface"]]
        if (following and following[0].event == "AgentComplete" and following[0]["Interface"] == m["Interface"]
                and int(m["CallsTaken"]) > member.calls_taken):
            # the member's phone hung up, the call counted: Asterisk sent this before the
            # AgentComplete
            deferred_status[m["Interface"]] = int(m["Status"])
        else:
            sim.set_device_state(m["StateInterface"], int(m["Status"]))


def parsed_stream(stream: bytes) -> tuple[str | None, list[Message]]:
    collector = Collector()
    collector.makeConnection(StringTransport())
    collector.dataReceived(stream)
    assert collector.dropReason is None
    return collector.banner, collector.messages


def compared(messages: list[Message]) -> list[str]:
    kept = [m for m in messages if m.event is None or m.event in COMPARED]
    out = []
    for text in normalise(kept):
        lines = []
        for line in text.split("\n"):
            key, _, value = line.partition(": ")
            key = LOCAL_SEQ.sub("-<seq>;", key)  # ChanVariable(Local/...-0000000N;1)
            if key in EPOCH_FIELDS and value != "0":
                value = "<epoch>"
            lines.append(f"{key}: {value}")
        out.append("\n".join(lines))
    return out


@pytest.mark.parametrize("name", QUEUE_STREAMS)
def test_simulator_gives_the_queue_events_and_answers_asterisk_gave(name):
    recorded, produced, _ = play(name)
    assert compared(produced) == compared(recorded)


def test_the_later_streams_frame_the_same_whole_and_split_at_every_message():
    for name in LATER_AMI_STREAMS:
        stream = (GOLDEN / "raw" / f"{name}.from_asterisk.bin").read_bytes()
        banner, chunks = split_messages(stream)
        whole = parsed_stream(stream)
        assert whole[0] == "12.0.0" and len(whole[1]) == len(chunks)
        collector = Collector()
        collector.makeConnection(StringTransport())
        for chunk in [banner, *chunks]:
            for i in range(0, len(chunk), 7):
                collector.dataReceived(chunk[i : i + 7])
        assert [list(m) for m in collector.messages] == [list(m) for m in whole[1]]


def test_docs_read_classes_send_no_fullybooted_nor_successfulauth():
    for name in LATER_AMI_STREAMS:
        _, messages = parsed_stream((GOLDEN / "raw" / f"{name}.from_asterisk.bin").read_bytes())
        assert not {"FullyBooted", "SuccessfulAuth"} & {m.event for m in messages}
    _, produced, _ = play("ami_queue_agent_hangs_up")
    assert not {"FullyBooted", "SuccessfulAuth"} & {m.event for m in produced}


def recorded(name: str) -> list[Message]:
    return parsed_stream((GOLDEN / "raw" / f"{name}.from_asterisk.bin").read_bytes())[1]


def test_wrapuptime_15_shows_nowhere_but_ready_counts_the_member_out():
    messages = recorded("ami_queue_wrapup")
    members = [m for m in messages if m.event in ("QueueMember", "QueueMemberStatus", "QueueMemberAdded")]
    def of(member: str) -> set[str]:  # QueueMember names it Name, the events MemberName
        return {m["Wrapuptime"] for m in members if member in (m.get("MemberName"), m.get("Name"))}

    assert of("agent1") == {"0"}
    assert of("agent2") == {"15"}  # its own, from QueueAdd's Wrapuptime
    assert not any("Wrapuptime" in dict(m) for m in messages if m.event == "QueueParams")
    values = {m["Variable"]: m["Value"] for m in messages if m.get("Variable", "").startswith("QUEUE_MEMBER(")}
    assert values == {"QUEUE_MEMBER(hotline,ready)": "0", "QUEUE_MEMBER(hotline,free)": "1",
                      "QUEUE_MEMBER(hotline,logged)": "2"}
    (summary,) = [m for m in messages if m.event == "QueueSummary"]
    assert summary["Available"] == "1"  # QueueSummary does not look at wrap-up either


def test_simulator_reads_the_queue_functions_as_asterisk_did_during_wrap_up():
    _, produced, sim = play("ami_queue_wrapup")
    values = [(m["Variable"], m["Value"]) for m in produced if m.get("Variable", "").startswith("QUEUE_MEMBER(")]
    assert values == [("QUEUE_MEMBER(hotline,ready)", "0"), ("QUEUE_MEMBER(hotline,free)", "1"),
                      ("QUEUE_MEMBER(hotline,logged)", "2"), ("QUEUE_MEMBER(hotline,ready)", "0")]
    assert sim.function_value("QUEUE_MEMBER(hotline,count)") == "0"  # all removed at the end
    assert sim.function_value("QUEUE_WAITING_COUNT(hotline)") == "0"
    assert sim.function_value("NO_SUCH_FUNCTION(x)") == ""


def test_the_second_caller_waits_out_the_wrap_up():
    items = timeline("ami_queue_wrapup")
    times = {}
    for t, kind, raw in items:
        if kind == "A" and raw.startswith(b"Event: "):
            event = parse_one(raw)
            times.setdefault(event.event, []).append(t)
    first_end = times["AgentComplete"][0]
    second_join, second_rung = times["QueueCallerJoin"][1], times["AgentCalled"][1]
    assert second_join - first_end < 3 and 11 < second_rung - first_end <= 16
    connects = [m for m in recorded("ami_queue_wrapup") if m.event == "AgentConnect"]
    assert [m["HoldTime"] for m in connects] == ["0", "12"]


def test_unavailable_and_invalid_members_join_and_a_caller_finds_the_queue_empty():
    messages = recorded("ami_device_unavailable")
    added = {m["MemberName"]: m["Status"] for m in messages if m.event == "QueueMemberAdded"}
    assert added == {"agent3": "5", "agent9": "4"}
    assert [m["Status"] for m in messages if m.event == "QueueMemberStatus"] == ["4", "1"]
    assert not [m for m in messages if m.event and m.event.startswith("QueueCaller")]
    (summary,) = [m for m in messages if m.event == "QueueSummary"]
    assert (summary["LoggedIn"], summary["Available"]) == ("0", "0")


def test_the_originated_callback_reaches_the_agent_with_its_call_id_and_number():
    messages = recorded("ami_originate_call_id")
    (connect,) = [m for m in messages if m.event == "AgentConnect"]
    assert connect["Uniqueid"] == "5f0c8a4e-1b2c-4d3e-9f40-0123456789ab"  # the Originate's ChannelId
    assert connect["CallerIDNum"] == "13812345678" and connect["CallerIDName"] == "<unknown>"
    assert connect.getall("ChanVariable") == ["HOTLINE_CALL_ID=c0ffee00-0000-4000-8000-000000000005"]
    assert connect.getall("DestChanVariable") == ["HOTLINE_CALL_ID="]


def test_simulator_originates_the_callback_as_asterisk_did_up_to_its_answer():
    """The Originate's own events (as test_simulator_golden models them), with the call id
    in the channel's ChanVariable from the NewCallerid on and in the OriginateResponse."""
    name = "ami_originate_call_id"
    recorded_messages, produced, _ = play(name)
    setup = {"Newchannel", "NewCallerid", "NewConnectedLine", "LocalBridge", "OriginateResponse"}

    def originate_part(messages):
        kept = [m for m in modelled(messages) if m.event in setup and "lab-citizens" in (m.get("Channel") or m.get("LocalOneChannel") or "")]
        return normalise(kept)

    assert originate_part(produced) == originate_part(recorded_messages)


@pytest.mark.parametrize("name", ["ami_queue_agent_hangs_up", "ami_queue_wrapup"])
def test_queue_params_keep_asterisks_running_hold_and_talk_times(name):
    recorded_messages, produced, _ = play(name)
    keys = ("Holdtime", "TalkTime", "Completed", "ServicelevelPerf", "ServicelevelPerf2")
    params = [[m[k] for k in keys] for m in recorded_messages if m.event == "QueueParams"]
    assert params == [[m[k] for k in keys] for m in produced if m.event == "QueueParams"]
    assert params[-1][2] != "0"


def test_member_status_can_come_before_or_after_the_agentcomplete():
    for name, before in (("ami_queue_wrapup", True), ("ami_queue_agent_hangs_up", False)):
        names = [m.event for m in recorded(name) if m.event in ("QueueMemberStatus", "AgentComplete")]
        assert (names[1:3] == ["QueueMemberStatus", "AgentComplete"]) is before
    # either way the status after the call has it counted
    for name in ("ami_queue_wrapup", "ami_queue_agent_hangs_up"):
        after = [m for m in recorded(name) if m.event == "QueueMemberStatus" and m["Status"] == "1"]
        assert after and all(m["CallsTaken"] != "0" and m["LastCall"] != "0" for m in after)


def test_stream_names_are_the_later_recordings():
    assert set(QUEUE_STREAMS) <= set(LATER_AMI_STREAMS)
    assert all(re.fullmatch(r"ami_[a-z_]+", n) for n in LATER_AMI_STREAMS)
