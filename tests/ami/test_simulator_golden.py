"""The simulator against the golden transcripts: the probe's 'S:' lines are played into it
and its output is compared with the 'A:' lines, message by message, after normalising the
per-run values README.txt lists (Uniqueid/Linkedid, Local channel sequence numbers,
SessionID, EventTV/SessionTV/Timestamp, RemoteAddress port, Uptime)."""

import re

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from hotline.ami.actions import OriginateReason
from hotline.ami.simulator import AsteriskManagerSimulator
from tests.ami.support import AMI_STREAMS, Collector, transcript

# What the simulator models: every response, the session events, QueueStatus lists, and an
# Originate's channel-setup events up to its OriginateResponse. The dialplan that runs on the
# answered channel (its Newexten, Newstate, Dial*, AGI*, VarSet, DTMF*, Queue*, MusicOnHold*,
# HangupRequest/SoftHangupRequest and the final Hangups) is not modelled.
MODELLED_EVENTS = {
    "FullyBooted",
    "SuccessfulAuth",
    "RequestBadFormat",
    "QueueParams",
    "QueueMember",
    "QueueEntry",
    "QueueStatusComplete",
    "Newchannel",
    "NewCallerid",
    "NewConnectedLine",
    "LocalBridge",
    "OriginateResponse",
}

PER_RUN_EXACT = {"SessionID", "EventTV", "SessionTV", "Timestamp", "Uptime", "LastReload"}
IDS = re.compile(r"(Uniqueid|Linkedid)$")
LOCAL_SEQ = re.compile(r"-([0-9a-f]{8});")


def modelled(messages):
    answered = set()
    kept = []
    for m in messages:
        name = m.event
        if name is None:
            kept.append(m)
            continue
        if name == "OriginateResponse" and m["Response"] == "Success":
            answered.add(m["Uniqueid"])
        if name in MODELLED_EVENTS:
            kept.append(m)
        elif name == "Newexten" and m["Application"] == "AppDial2":
            kept.append(m)
        elif name == "Hangup" and m["Linkedid"] not in answered:
            # Hangups of a call that never answered belong to the Originate's outcome.
            kept.append(m)
    return kept


def normalise(messages):
    ids, seqs = {}, {}
    out = []
    for m in messages:
        fields = []
        for key, value in m:
            if key in PER_RUN_EXACT:
                value = "<per-run>"
            elif key == "RemoteAddress":
                value = value.rsplit("/", 1)[0] + "/<port>"
            elif IDS.search(key) or (key == "Uniqueid"):
                if value != "<unknown>":
                    value = ids.setdefault(value, f"<id{len(ids)}>")
            if "Channel" in key or key == "Channel":
                value = LOCAL_SEQ.sub(lambda mm: "-" + seqs.setdefault(mm.group(1), f"<seq{len(seqs)}>") + ";", value)
            fields.append(f"{key}: {value}")
        out.append("\n".join(fields))
    return out


def play(name, sim, clock, step=2.0):
    """Feed each 'S' message of the transcript to a fresh session; return (golden A bytes,
    simulator bytes, transport)."""
    lines = transcript(name)
    golden = b"".join(data for who, data in lines if who == "A")
    session = sim.buildProtocol(None)
    transport = StringTransport(
        hostAddress=IPv4Address("TCP", "127.0.0.1", 5038),
        peerAddress=IPv4Address("TCP", "127.0.0.1", 55376),
    )
    session.makeConnection(transport)
    pending = b""
    for who, data in lines:
        if who != "S":
            continue
        pending += data
        if data == b"\r\n":
            session.dataReceived(pending)
            pending = b""
            clock.advance(step)
    return golden, transport.value(), transport


def parsed(stream):
    collector = Collector()
    collector.makeConnection(StringTransport())
    collector.dataReceived(stream)
    assert collector.dropReason is None
    return collector.banner, collector.messages


def make_sim(clock):
    sim = AsteriskManagerSimulator(clock, wall=lambda: 1795887545.0 + clock.seconds())
    return sim


def test_simulator_reproduces_the_failed_login_then_closes():
    clock = Clock()
    sim = make_sim(clock)
    golden, output, transport = play("ami_login_failure", sim, clock)
    # Nothing at all differs per run here: byte for byte.
    assert output == golden
    assert transport.disconnecting


def test_simulator_refuses_a_bad_login_only_after_a_second_like_asterisk():
    clock = Clock()
    sim = make_sim(clock)
    session = sim.buildProtocol(None)
    transport = StringTransport()
    session.makeConnection(transport)
    transport.clear()
    session.dataReceived(b"Action: Login\r\nActionID: x-1\r\nUsername: hotline\r\nSecret: nope\r\n\r\n")
    clock.advance(0.9)
    assert transport.value() == b""
    clock.advance(0.1)
    assert transport.value().startswith(b"Response: Error\r\n")
    assert transport.disconnecting


def test_simulator_reproduces_misc_transcript_for_everything_it_models():
    clock = Clock()
    sim = make_sim(clock)
    sim.script_originate("0000", OriginateReason.FAILED, delay=0.5)
    sim.script_originate("echo", OriginateReason.ANSWERED, delay=0.5)
    golden, output, transport = play("ami_misc", sim, clock)
    golden_banner, golden_messages = parsed(golden)
    banner, messages = parsed(output)
    assert banner == golden_banner
    assert output.startswith(b"Asterisk Call Manager/12.0.0\r\n")
    assert normalise(modelled(messages)) == normalise(modelled(golden_messages))
    # Every response and session event is reproduced in full, not only the filtered view.
    responses = [m for m in messages if m.event is None]
    assert normalise(responses) == normalise([m for m in golden_messages if m.event is None])
    assert len(responses) == 8
    assert transport.disconnecting  # Logoff closes the session


CALL_TRANSCRIPTS = [name for name in AMI_STREAMS if name not in ("ami_misc", "ami_login_failure")]


@pytest.mark.parametrize("name", CALL_TRANSCRIPTS)
def test_simulator_reproduces_a_call_transcript_for_everything_it_models(name):
    golden_bytes = b"".join(data for who, data in transcript(name) if who == "A")
    _, golden_messages = parsed(golden_bytes)
    first = next(m for m in golden_messages if m.event == "Newchannel")
    # Start the Local sequence where the recording did, so that an action naming a channel
    # (ami_full hangs up Local/...-00000003;1) finds it.
    sequence = int(LOCAL_SEQ.search(first["Channel"]).group(1), 16)
    clock = Clock()
    sim = AsteriskManagerSimulator(clock, wall=lambda: 1795887545.0 + clock.seconds(), local_sequence_start=sequence)
    sim.script_originate(first["Exten"], OriginateReason.ANSWERED, delay=1.0)
    golden, output, _ = play(name, sim, clock)
    assert golden == golden_bytes
    _, messages = parsed(output)
    expected = normalise(modelled(golden_messages))
    assert normalise(modelled(messages)) == expected
    # login x3, Originate queued, 8 setup events, OriginateResponse, and the rest of the
    # probe's actions (Logoff; ami_full also hangs up)
    assert len(expected) >= 14


def test_simulator_writes_exact_crlf_bytes_for_a_response():
    clock = Clock()
    sim = make_sim(clock)
    golden, output, _ = play("ami_misc", sim, clock)
    queue_status = golden[golden.index(b"Response: Success\r\nActionID: probe-5") :]
    queue_status = queue_status[: queue_status.index(b"ListItems: 1\r\n\r\n") + len(b"ListItems: 1\r\n\r\n")]
    assert queue_status in output
    unknown = b"Response: Error\r\nActionID: probe-4\r\nMessage: Invalid/unknown command: NoSuchAction. Use Action: ListCommands to show available commands.\r\n\r\n"
    assert unknown in golden and unknown in output
