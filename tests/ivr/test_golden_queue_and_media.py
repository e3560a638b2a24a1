"""The simulated Asterisk against the later golden AGI transcripts (README.txt's second table),
recorded from a real Asterisk 23.4.1 configured from docs/asterisk: Queue's -1 on a live channel
when the member hangs up first (also after waiting out a wrap-up), JOINEMPTY when every member is
Unavailable or Invalid, RECORD FILE into a missing directory, and SAY DATETIME in zh with a zone,
without and with its sound files. The simulator must give Asterisk's exact bytes and AGISTATUS,
and the service's protocol must read Asterisk's bytes as the probe's answers."""

import re

import pytest
from twisted.internet.testing import StringTransport

from ivr.agi import AGIConnectionClosed, AGIException
from ivr.simulator import AsteriskCallSimulator, CallSetup, Heard, parse_args
from ivr.simulator.asterisk import CONNECTED, REDIRECTED
from ivr.simulator.say import zh_datetime_files
from tests.ivr import golden
from tests.ivr.helpers import run_call
from tests.ivr.test_agi_protocol import check_replay, feed_golden
from tests.ivr.test_simulator_golden import golden_agistatus, replay

BEEP = {"beep": 2000}  # the lab's beep (0.25 s); no digits/* and no hotline prompts
WAITING = {"QUEUE_WAITING_COUNT(hotline)": "0"}


def played_notes(name: str) -> list[list[str]]:
    """For each SAY command of a transcript, the files Asterisk's log says it played."""
    found = []
    for note in golden.notes(name):
        match = re.match(r"Asterisk's log: played (.*) \(language 'zh'\)$", note)
        if match:
            found.append([f.removesuffix(".slin") for f in match.group(1).split(", ")])
    return found


def missing_notes(name: str) -> list[str]:
    return [m.group(1) for note in golden.notes(name)
            if (m := re.match(r"Asterisk's log: WARNING file\.c: File (\S+) does not exist", note))]


class Answers:
    """The simulator on a StringTransport: `[-1]` is the answer to the last command sent."""

    def __init__(self, simulator: AsteriskCallSimulator):
        self.transport = StringTransport()
        simulator.makeConnection(self.transport)
        self.transport.clear()

    def __getitem__(self, index: int) -> bytes:
        assert index == -1
        value = self.transport.value()
        self.transport.clear()
        return value


def every_played_file() -> dict[str, int]:
    return {f: 800 for files in played_notes("agi_say_datetime_zone_files") for f in files}


OPTIONS = {
    "agi_queue_agent_hangs_up": dict(queue_status=CONNECTED, queue_member="Local/agent1@lab-agents/n",
                                     functions=WAITING),
    "agi_queue_wrapup": dict(queue_status=CONNECTED),
    "agi_device_unavailable": dict(queue_status="JOINEMPTY", functions=WAITING),
    "agi_record_writefile": dict(record_dirs=()),
    "agi_say_datetime_zone": dict(),
    "agi_say_datetime_zone_files": dict(sounds={**BEEP, **every_played_file()}),
    "agi_threeway_by_name": dict(queue_status=REDIRECTED),
}


def setup_for(name: str) -> CallSetup:
    h = golden.headers(name)
    options = {"sounds": BEEP, **OPTIONS[name]}
    return CallSetup(
        script=h["agi_network_script"],
        channel=h["agi_channel"],
        language=h["agi_language"],
        uniqueid=h["agi_uniqueid"],
        callerid=h["agi_callerid"],
        calleridname=h["agi_calleridname"],
        threadid=h["agi_threadid"],
        extension=h["agi_extension"],
        priority=h["agi_priority"],
        **options,
    )


def simulator_for(name: str) -> AsteriskCallSimulator:
    return AsteriskCallSimulator(setup_for(name), "")


def test_every_later_transcript_has_a_setup():
    assert sorted(OPTIONS) == sorted(golden.LATER_AGI_SCENARIOS)
    assert not set(golden.LATER_AGI_SCENARIOS) & set(golden.AGI_SCENARIOS)


@pytest.mark.parametrize("name", golden.LATER_AGI_SCENARIOS)
def test_simulator_reproduces_the_later_transcript_byte_for_byte(name):
    expected, produced, transport = replay(name, simulator=simulator_for(name))
    assert produced == expected
    assert expected.encode("utf-8") == golden.from_asterisk(name)
    assert transport.disconnecting


@pytest.mark.parametrize("name", golden.LATER_AGI_SCENARIOS)
def test_simulator_ends_the_agi_with_the_status_asterisk_set(name):
    """SUCCESS after Queue's -1 (the agent hung up first) and after JOINEMPTY; FAILURE after
    RECORD FILE's (writefile) and after a SAY DATETIME that found no sound file."""
    simulator = simulator_for(name)
    replay(name, simulator=simulator)
    assert simulator.agistatus == golden_agistatus(name)


@pytest.mark.parametrize("name", golden.LATER_AGI_SCENARIOS)
def test_service_protocol_reads_the_later_transcript_in_one_chunk_and_byte_by_byte(name):
    check_replay(name, *feed_golden(name, [golden.from_asterisk(name)]))
    data = golden.from_asterisk(name)
    check_replay(name, *feed_golden(name, [data[i : i + 1] for i in range(len(data))]))


@pytest.mark.parametrize("name", golden.LATER_AGI_SCENARIOS)
def test_server_and_simulator_together_reproduce_the_later_transcript(name):
    commands = [e.text.rstrip("\n") for e in golden.events(name) if e.kind == "S"]

    async def flow(channel, env):
        for command in commands:
            try:
                await channel.command(command)
            except AGIConnectionClosed:
                return
            except AGIException:
                pass

    call = run_call(flow, name=golden.headers(name)["agi_network_script"], simulator=simulator_for(name))
    assert b"".join(call.wire) == golden.to_asterisk(name)
    assert b"".join(call.asterisk_wire) == golden.from_asterisk(name)


def test_queue_minus_one_is_a_live_channel_with_the_member_left_in_memberinterface():
    simulator = simulator_for("agi_queue_agent_hangs_up")
    replay("agi_queue_agent_hangs_up", simulator=simulator)
    assert not simulator.dead
    assert "QUEUESTATUS" not in simulator.variables
    assert simulator.variables["MEMBERINTERFACE"] == "Local/agent1@lab-agents/n"


def test_zh_datetime_files_are_those_asterisk_played():
    commands = [e.text for e in golden.events("agi_say_datetime_zone_files")
                if e.kind == "S" and e.text.startswith("SAY DATETIME")]
    expected = played_notes("agi_say_datetime_zone_files")
    assert len(commands) == len(expected) == 4
    for command, files in zip(commands, expected, strict=True):
        argv = parse_args(command.rstrip("\n"))
        zone = argv[5] if len(argv) > 5 else "UTC"  # the lab host's zone
        assert [name for name, _ in zh_datetime_files(int(argv[2]), argv[4], zone)] == files


def test_without_its_files_say_datetime_stops_at_the_first_and_says_which():
    simulator = simulator_for("agi_say_datetime_zone")
    replay("agi_say_datetime_zone", simulator=simulator)
    missing = [h.value for h in simulator.heard if h.kind == "missing"]
    assert missing == missing_notes("agi_say_datetime_zone") == ["digits/2", "digits/2", "digits/nian", "digits/2"]


def test_say_datetime_without_a_zone_says_the_hosts_day():
    files = played_notes("agi_say_datetime_zone_files")
    # 17:39 UTC on 28 November is 01:39 on the 29th in Shanghai
    assert files[1][-3:] == ["digits/20", "digits/9", "digits/day"]
    assert files[3][-3:] == ["digits/20", "digits/8", "digits/day"]


def test_a_key_during_the_files_before_a_missing_one_interrupts_as_usual():
    sounds = {**BEEP, "digits/2": 800, "digits/thousand": 800}
    simulator = AsteriskCallSimulator(CallSetup(language="zh", sounds=sounds), "5")
    answers = Answers(simulator)
    simulator.dataReceived(b'SAY DATETIME 1795887545 "5" "YBd" Asia/Shanghai\n')
    assert answers[-1] == b"200 result=53\n"
    assert simulator.agistatus == "SUCCESS"
    simulator.dataReceived(b'SAY DATETIME 1795887545 "" "YBd" Asia/Shanghai\n')
    assert answers[-1] == b"200 result=-1\n"
    assert simulator.agistatus == "FAILURE"
    assert Heard("missing", "digits/6") in simulator.heard


def test_say_datetime_in_another_language_is_not_checked_against_the_sounds():
    simulator = AsteriskCallSimulator(CallSetup(language="en", sounds=BEEP), "")
    answers = Answers(simulator)
    simulator.dataReceived(b'SAY DATETIME 1795887545 "" "YBd" Asia/Shanghai\n')
    assert answers[-1] == b"200 result=0\n"


def test_record_dirs_make_a_missing_spool_fail_without_touching_the_filesystem():
    setup = CallSetup(sounds=BEEP, record_dirs=("/var/spool/asterisk/hotline",))
    simulator = AsteriskCallSimulator(setup, "")
    answers = Answers(simulator)
    simulator.dataReceived(b'RECORD FILE /var/spool/asterisk/hotline/a wav "#" 1000\n')
    assert answers[-1] == b"200 result=0 (timeout) endpos=0\n"
    simulator.dataReceived(b'RECORD FILE /var/spool/asterisk/elsewhere/a wav "#" 1000 BEEP\n')
    assert answers[-1] == b"200 result=-1 (writefile)\n"
    assert [h.kind for h in simulator.heard][-2:] == ["record", "beep"]


def test_a_queue_model_holds_queue_until_the_wait_ends_and_answers_as_asterisk_did():
    """CallSetup.queue (the demo's queue in the AMI simulator): no answer while the caller
    waits, as app_queue holds the channel; the agent hanging up first then gives Queue's
    -1 on a live channel with MEMBERINTERFACE, the golden transcript's bytes."""
    from twisted.internet.defer import Deferred

    from ivr.simulator.asterisk import QueueResult

    entries, waits = [], []

    def queue(entry):
        entries.append(entry)
        waits.append(Deferred())
        return waits[-1]

    simulator = AsteriskCallSimulator(CallSetup(sounds=BEEP, queue=queue,
                                                callerid="13812345678"), "")
    answers = Answers(simulator)
    simulator.dataReceived(b'SET VARIABLE HOTLINE_CALL_ID "c-1"\n')
    assert answers[-1] == b"200 result=1\n"
    simulator.dataReceived(b"EXEC Queue hotline,t,,,600\n")
    assert answers[-1] == b""  # still waiting
    (entry,) = entries
    assert (entry.queue, entry.options, entry.timeout_s) == ("hotline", "t", 600)
    assert entry.variables["HOTLINE_CALL_ID"] == "c-1" and entry.callerid == "13812345678"
    waits[0].callback(QueueResult(member="PJSIP/1002"))
    assert answers[-1] == b"200 result=-1\n"
    assert not simulator.dead and simulator.variables["MEMBERINTERFACE"] == "PJSIP/1002"
    assert "QUEUESTATUS" not in simulator.variables


def test_a_queue_model_can_end_the_wait_by_timeout_or_by_the_caller_hanging_up():
    from twisted.internet.defer import succeed

    from ivr.simulator.asterisk import QueueResult

    timed_out = AsteriskCallSimulator(CallSetup(sounds=BEEP, queue=lambda entry: succeed(
        QueueResult("TIMEOUT"))), "")
    answers = Answers(timed_out)
    timed_out.dataReceived(b"EXEC Queue hotline,t,,,20\n")
    assert answers[-1] == b"200 result=0\n" and timed_out.variables["QUEUESTATUS"] == "TIMEOUT"

    gave_up = AsteriskCallSimulator(CallSetup(sounds=BEEP, queue=lambda entry: succeed(
        QueueResult(caller_hung_up=True))), "")
    answers = Answers(gave_up)
    gave_up.dataReceived(b"EXEC Queue hotline,t,,,600\n")
    assert answers[-1] == b"200 result=-1\nHANGUP\n"
    assert gave_up.dead and gave_up.agistatus == "HANGUP"
