"""The simulated Asterisk reproduces every golden agi_* transcript byte for byte.

Each scenario drives the simulator with the probe's 'S:' lines and a caller script that does
what the recorded caller did; its output must equal the 'A:' lines, apart from the end position
of interrupted playback (README.txt: per-run)."""

import re

import pytest
from twisted.internet.testing import StringTransport

from ivr.agi import AGIConnectionClosed, AGIException
from ivr.simulator import AsteriskCallSimulator, CallSetup
from tests.ivr import golden
from tests.ivr.helpers import run_call

SOUNDS = {"beep": 8000, "long": 40000}

CALLERS = {
    "agi_full": dict(script="_ 5 12# 1234 7 _ * # 9 _ # 3 1 _ # _"),
    "agi_callersim_simple": dict(script="12# H"),
    "agi_args": dict(script=""),
    "agi_hangup_during_stream": dict(script="H"),
    "agi_hangup_during_getdata": dict(script="4H"),
    "agi_hangup_during_queue": dict(script="H"),
    "agi_sighup_no": dict(script="H", sighup=False),
    "agi_exit_on_hangup": dict(script="", exit_on_hangup=True),
    "agi_app_hangs_up": dict(script=""),
}


def setup_for(name: str, **options) -> CallSetup:
    h = golden.headers(name)
    script = h["agi_network_script"]
    args = tuple(v for k, v in sorted(h.items()) if k.startswith("agi_arg_"))
    return CallSetup(
        script=script,
        channel=h["agi_channel"],
        uniqueid=h["agi_uniqueid"],
        threadid=h["agi_threadid"],
        extension=h["agi_extension"],
        priority=h["agi_priority"],
        args=args,
        sounds=SOUNDS,
        **options,
    )


def simulator_for(name: str) -> AsteriskCallSimulator:
    options = dict(CALLERS[name])
    script = options.pop("script")
    return AsteriskCallSimulator(setup_for(name, **options), script)


def replay(name: str, idle_hangups: list[int] | None = None,
           simulator: AsteriskCallSimulator | None = None) -> tuple[str, str, StringTransport]:
    """Feed the probe's lines; return (expected A: stream, simulator output, transport).
    `idle_hangups` collects the index of each probe command the caller hung up before."""
    simulator = simulator or simulator_for(name)
    transport = StringTransport()
    simulator.makeConnection(transport)
    expected = ""
    sent = 0
    for event in golden.events(name):
        if event.kind == "S":
            simulator.dataReceived(event.text.encode("utf-8"))
            sent += 1
        elif event.kind == "A":
            expected += event.text
            produced = transport.value().decode("utf-8")
            if event.text == "HANGUP\n" and len(produced) < len(expected):
                # Nothing the probe sent explains this HANGUP: the caller hung up while idle.
                simulator.caller_hangs_up()
                if idle_hangups is not None:
                    idle_hangups.append(sent)
        elif "closes its write side" in event.text:
            simulator.readConnectionLost()
        elif "EOF from Asterisk" in event.text:
            assert transport.disconnecting, f"{name}: Asterisk would have closed by now"
    return expected, transport.value().decode("utf-8"), transport


def test_every_agi_transcript_has_a_caller_script():
    assert sorted(CALLERS) == golden.AGI_SCENARIOS


@pytest.mark.parametrize("name", golden.AGI_SCENARIOS)
def test_simulator_reproduces_golden_transcript(name):
    expected, produced, _ = replay(name)
    assert golden.normalise(produced) == golden.normalise(expected)


def golden_agistatus(name: str) -> str:
    """The AGISTATUS the AMI transcript of the same call shows Asterisk setting."""
    lines = (golden.GOLDEN / f"ami_{name.removeprefix('agi_')}.txt").read_bytes().decode()
    found = re.search(r"A: Variable: AGISTATUS\r\nA: Value: (\w+)", lines)
    assert found, f"no AGISTATUS in the AMI transcript of {name}"
    return found.group(1)


@pytest.mark.parametrize("name", golden.AGI_SCENARIOS)
def test_simulator_ends_the_agi_with_the_status_asterisk_set(name):
    """FAILURE after a STREAM FILE of a missing file (agi_full), HANGUP after a hang-up by
    either side, SUCCESS otherwise."""
    simulator = simulator_for(name)
    replay(name, simulator=simulator)
    assert simulator.agistatus == golden_agistatus(name)


@pytest.mark.parametrize("name", golden.AGI_SCENARIOS)
def test_golden_text_and_raw_byte_stream_agree(name):
    # The .txt is what the replay reads; make sure it is the raw capture, unnormalised.
    expected, _, _ = replay(name)
    assert expected.encode("utf-8") == golden.from_asterisk(name)


def test_normalise_keeps_missing_file_endpos_and_full_playback_exact():
    assert golden.normalise("200 result=-1 endpos=0\n") == "200 result=-1 endpos=0\n"
    assert golden.normalise("200 result=0 endpos=8000\n") == "200 result=0 endpos=8000\n"
    assert golden.normalise("200 result=53 endpos=9760\n") == "200 result=53 endpos=<interrupted>\n"


@pytest.mark.parametrize("name", golden.AGI_SCENARIOS)
def test_server_and_simulator_together_reproduce_golden_transcript(name):
    """The real FastAGI protocol sending the probe's commands to the simulator: the service's
    bytes are the probe's, the simulator's are Asterisk's."""
    idle_hangups: list[int] = []
    replay(name, idle_hangups)
    commands = [e.text.rstrip("\n") for e in golden.events(name) if e.kind == "S"]
    simulator = simulator_for(name)

    async def flow(channel, env):
        for index, command in enumerate(commands):
            if index in idle_hangups:
                simulator.caller_hangs_up()
            try:
                await channel.command(command)
            except AGIConnectionClosed:
                return
            except AGIException:
                pass

    call = run_call(flow, name=golden.headers(name)["agi_network_script"].partition("?")[0], simulator=simulator)
    assert b"".join(call.wire) == golden.to_asterisk(name)
    produced = b"".join(call.asterisk_wire).decode("utf-8")
    assert golden.normalise(produced) == golden.normalise(golden.from_asterisk(name).decode("utf-8"))
