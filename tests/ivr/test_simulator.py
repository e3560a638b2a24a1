"""The simulated Asterisk beyond the golden transcripts: caller scripts, Asterisk's parsing
rules, `failure`, and what the caller heard."""

import pytest
from twisted.internet.testing import StringTransport

from ivr.prompts import load_catalog
from ivr.simulator import (
    AsteriskCallSimulator,
    CallSetup,
    ScriptError,
    Turn,
    parse_args,
    parse_script,
    render,
)
from tests.ivr.helpers import LogCapture, run_call


def simulator(script="", **setup):
    sim = AsteriskCallSimulator(CallSetup(**setup), script)
    transport = StringTransport()
    sim.makeConnection(transport)
    transport.clear()
    return sim, transport


def ask(sim, transport, line: str) -> str:
    sim.dataReceived(line.encode() + b"\n")
    out = transport.value().decode()
    transport.clear()
    return out


def test_script_grammar():
    assert parse_script("4 2026112800001# _ 4H H") == (
        Turn("4"), Turn("2026112800001#"), Turn(), Turn("4", True), Turn("", True),
    )


@pytest.mark.parametrize("bad", ["4x", "H4", "abc"])
def test_script_rejects_unknown_turns_by_name(bad):
    with pytest.raises(ScriptError, match=repr(bad)):
        parse_script(bad)


def test_parse_args_follows_res_agi_quoting():
    assert parse_args('SET VARIABLE FOO "hello world"') == ["SET", "VARIABLE", "FOO", "hello world"]
    assert parse_args('STREAM FILE beep ""') == ["STREAM", "FILE", "beep", ""]
    assert parse_args('VERBOSE "a \\"q\\" \\\\ b" 1') == ["VERBOSE", 'a "q" \\ b', "1"]
    assert parse_args("  NOOP\tx  ") == ["NOOP", "x"]


def test_header_says_unknown_for_missing_caller_id_and_lists_args_last():
    sim = AsteriskCallSimulator(CallSetup(callerid=None, args=("42",), script="survey"))
    transport = StringTransport()
    sim.makeConnection(transport)
    lines = transport.value().decode().split("\n")
    assert lines[0] == "agi_network: yes"
    assert "agi_callerid: unknown" in lines
    assert lines[-3:] == ["agi_arg_1: 42", "", ""]


def test_commands_are_case_insensitive_and_unknown_ones_get_510():
    sim, t = simulator()
    assert ask(sim, t, "answer") == "200 result=0\n"
    assert ask(sim, t, "FOO BAR") == "510 Invalid or unknown command\n"
    assert ask(sim, t, "") == "510 Invalid or unknown command\n"
    assert ask(sim, t, "ANSWER\r") == "510 Invalid or unknown command\n"  # \r is not stripped


def test_wrong_arguments_get_a_usage_block():
    sim, t = simulator()
    assert ask(sim, t, "GET DATA").startswith("520-Invalid command syntax.  Proper usage follows:\n")
    assert ask(sim, t, "SAY DIGITS abc \"\"") == "520 Invalid command syntax.  Proper usage not available.\n"


def test_get_full_variable_expands_nested_expressions_and_functions():
    sim, t = simulator(functions={"QUEUE_WAITING_COUNT(hotline)": "12"})
    ask(sim, t, "SET VARIABLE Q hotline")
    assert ask(sim, t, "GET FULL VARIABLE ${QUEUE_WAITING_COUNT(${Q})}") == "200 result=1 (12)\n"
    assert ask(sim, t, "GET VARIABLE QUEUE_WAITING_COUNT(hotline)") == "200 result=1 (12)\n"


def test_failure_line_ends_the_agi_with_hangup_and_close():
    sim, t = simulator()
    assert ask(sim, t, "failure") == "HANGUP\n"
    assert t.disconnecting and sim.agistatus == "FAILURE"
    assert ask(sim, t, "NOOP") == ""


def test_unknown_flow_name_against_the_server_ends_with_failure():
    async def flow(channel, env):
        pass

    with LogCapture():
        call = run_call(flow, "", CallSetup(script="nosuch"), name="hotline")
    assert call.simulator.agistatus == "FAILURE"
    assert [str(h) for h in call.simulator.heard] == ["agi-failure nosuch"]


def test_caller_who_never_stops_is_hung_up_after_max_commands():
    async def flow(channel, env):
        while True:
            await channel.wait_for_digit(1000)

    call = run_call(flow, "", CallSetup(max_commands=5))
    assert call.simulator.dead
    # the sixth command is answered and followed by HANGUP; the seventh gets 511 and ends the flow
    assert len(call.commands()) == 7


def test_heard_transcript_reads_like_the_call():
    async def flow(channel, env):
        await channel.answer()
        await channel.stream_file("hotline/greeting")
        choice = await channel.stream_file("hotline/main-menu", "0123456789*")
        if choice == "0":
            await channel.set_variable("HOTLINE_CHOICE", "agent")
            await channel.exec_("Queue", "hotline,t,,,300")

    call = run_call(flow, "0")
    assert [str(h) for h in call.simulator.heard] == [
        "play hotline/greeting",
        "keys 0",
        "play hotline/main-menu (interrupted by 0)",
        "queue Queue hotline,t,,,300",
    ]


def test_render_shows_the_words_of_catalogued_prompts():
    async def flow(channel, env):
        await channel.stream_file("hotline/greeting")
        await channel.say_digits("2026")

    call = run_call(flow, "")
    texts = {p.id: p.zh for p in load_catalog()}
    lines = render(call.simulator.heard, texts)
    assert lines[0].startswith("play hotline/greeting: 您好，这里是9600110")
    assert lines[1] == "say-digits 2026"
