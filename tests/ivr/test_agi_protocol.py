"""FastAGIProtocol fed Asterisk's recorded bytes in every chunking, plus the ways a session is
refused or dropped. StringTransport and task.Clock only."""

from __future__ import annotations

from functools import lru_cache

import pytest
from twisted.internet.error import ConnectionDone
from twisted.logger import LogLevel
from twisted.python.failure import Failure

from ivr.agi import (
    AGICommandTimeout,
    AGIConnectionClosed,
    AGIDeadChannel,
    AGIError,
    AGIException,
    AGIInvalidCommand,
    AGIResponse,
    AGIUsageError,
    DuplicateFlowError,
    FlowRegistry,
)
from tests.ivr import golden
from tests.ivr.helpers import LogCapture, server_protocol

# -- replaying the golden exchanges ---------------------------------------------------------


@lru_cache(maxsize=None)
def expected_answers(name: str) -> list[str | None]:
    """For each probe command, the answer Asterisk gave (a 520 block joined), or None."""
    answers: list[str | None] = []
    evs = [e for e in golden.events(name) if e.kind in "AS"]
    for i, event in enumerate(evs):
        if event.kind != "S":
            continue
        answer = None
        block: list[str] = []
        for later in evs[i + 1 :]:
            if later.kind == "S":
                break
            if later.text == "HANGUP\n" and not block:
                continue
            if later.text.startswith("520-"):
                block.append(later.text)
                continue
            if block:
                block.append(later.text)
                if later.text.startswith("520 "):
                    answer = "".join(block)
                    break
                continue
            answer = later.text
            break
        answers.append(answer)
    return answers


def describe(outcome: AGIResponse | AGIException) -> str:
    if isinstance(outcome, AGIResponse):
        return outcome.line + "\n"
    if isinstance(outcome, AGIInvalidCommand):
        return f"510 {outcome}\n"
    if isinstance(outcome, AGIDeadChannel):
        return f"511 {outcome}\n"
    if isinstance(outcome, AGIUsageError):
        return "520-Invalid command syntax.  Proper usage follows:\n" + f"{outcome}\n" + "520 End of proper usage.\n"
    return type(outcome).__name__


def replay_flow(name: str, outcomes: list):
    commands = [e.text.rstrip("\n") for e in golden.events(name) if e.kind == "S"]

    async def flow(channel, env):
        for command in commands:
            try:
                outcomes.append(await channel.command(command))
            except AGIException as error:
                outcomes.append(error)
                if isinstance(error, AGIConnectionClosed):
                    return

    return flow


def feed_golden(name: str, chunks) -> tuple[list, object, object]:
    outcomes: list = []
    registry = FlowRegistry()
    env_name = golden.headers(name)["agi_network_script"].partition("?")[0]
    registry.register(env_name, replay_flow(name, outcomes))
    protocol, transport, _ = server_protocol(registry)
    for chunk in chunks:
        protocol.dataReceived(chunk)
    if not protocol.closed:
        protocol.connectionLost(Failure(ConnectionDone()))  # EOF from Asterisk
    return outcomes, protocol, transport


def check_replay(name: str, outcomes, protocol, transport) -> None:
    assert transport.value() == golden.to_asterisk(name)
    answers = expected_answers(name)
    assert len(outcomes) == len(answers)
    for outcome, answer in zip(outcomes, answers, strict=True):
        if answer is None:
            assert isinstance(outcome, AGIConnectionClosed)
        else:
            assert describe(outcome) == answer
    assert protocol.hung_up == hangup_before_service_ends(name)


@lru_cache(maxsize=None)
def hangup_before_service_ends(name: str) -> bool:
    for event in golden.events(name):
        if event.kind == "#" and "closes its write side" in event.text:
            return False
        if event.kind == "A" and event.text == "HANGUP\n":
            return True
    return False


@pytest.mark.parametrize("name", golden.AGI_SCENARIOS)
def test_golden_exchange_in_one_chunk(name):
    check_replay(name, *feed_golden(name, [golden.from_asterisk(name)]))


@pytest.mark.parametrize("name", golden.AGI_SCENARIOS)
def test_golden_exchange_split_at_every_byte_offset(name):
    data = golden.from_asterisk(name)
    for offset in range(1, len(data)):
        check_replay(name, *feed_golden(name, [data[:offset], data[offset:]]))


@pytest.mark.parametrize("name", golden.AGI_SCENARIOS)
def test_golden_exchange_one_byte_at_a_time(name):
    data = golden.from_asterisk(name)
    check_replay(name, *feed_golden(name, [data[i : i + 1] for i in range(len(data))]))


def test_environment_from_golden_args_header():
    seen = []

    async def flow(channel, env):
        seen.append(env)

    registry = FlowRegistry()
    registry.register("hotline", flow)
    protocol, _, _ = server_protocol(registry)
    protocol.dataReceived(golden.from_asterisk("agi_args").split(b"\n\n")[0] + b"\n\n")
    env = seen[0]
    assert env.script == "hotline?x=1"
    assert env.script_path == "hotline"
    assert dict(env.query) == {"x": ("1",)}
    assert env.args == ("arg1", "arg2")
    assert env.callerid == "5551234"
    assert env.dnid is None and env.rdnis is None  # 'unknown'
    assert env.extension == "9600111"
    assert env.get("agi_accountcode") == ""


def header(script: str = "hotline", callerid: str = "unknown", extra: str = "") -> bytes:
    return (
        f"agi_network: yes\nagi_network_script: {script}\nagi_request: agi://127.0.0.1:4573/{script}\n"
        f"agi_channel: SIP/trunk-00000001\nagi_uniqueid: 1.1\nagi_callerid: {callerid}\n{extra}\n"
    ).encode()


def test_unknown_callerid_becomes_none_and_args_are_ordered_by_number():
    seen = []

    async def flow(channel, env):
        seen.append(env)

    registry = FlowRegistry()
    registry.register("survey", flow)
    protocol, _, _ = server_protocol(registry)
    protocol.dataReceived(header("survey", extra="agi_arg_2: b\nagi_arg_10: j\nagi_arg_1: a\n"))
    assert seen[0].callerid is None
    assert seen[0].args == ("a", "b", "j")


# -- every answer form ----------------------------------------------------------------------


def run_one(command_answer: bytes, *, flow_steps=None):
    outcomes = []

    async def flow(channel, env):
        try:
            outcomes.append(await channel.command("NOOP"))
        except AGIException as error:
            outcomes.append(error)

    registry = FlowRegistry()
    registry.register("hotline", flow_steps or flow)
    protocol, transport, clock = server_protocol(registry)
    protocol.dataReceived(header() + command_answer)
    return outcomes, protocol, transport, clock


@pytest.mark.parametrize(
    "line, result, data, endpos",
    [
        (b"200 result=0 endpos=8000\n", "0", None, 8000),
        (b"200 result=53 endpos=9760\n", "53", None, 9760),
        (b"200 result=35 (dtmf) endpos=0\n", "35", "dtmf", 0),
        (b"200 result=0 (timeout) endpos=0\n", "0", "timeout", 0),
        (b"200 result=12\n", "12", None, None),
        (b"200 result=7 (timeout)\n", "7", "timeout", None),
        (b"200 result= (timeout)\n", "", "timeout", None),
        (b"200 result=\n", "", None, None),
        (b"200 result=* (timeout)\n", "*", "timeout", None),
        (b"200 result=1 (hello world / Local/9600110@hotline-00000003;2)\n", "1", "hello world / Local/9600110@hotline-00000003;2", None),
        (b"200 result=1 ()\n", "1", "", None),
        (b"200 result=1 (a (nested) value)\n", "1", "a (nested) value", None),
        (b"200 result=-1 endpos=0\n", "-1", None, 0),
        (b"200 result=0 endpos=-1\n", "0", None, -1),
        (b"200 result=-2\n", "-2", None, None),
    ],
)
def test_success_answers_parse(line, result, data, endpos):
    outcomes, _, _, _ = run_one(line)
    (answer,) = outcomes
    assert (answer.result, answer.data, answer.endpos) == (result, data, endpos)


def test_510_511_and_both_520_forms_map_to_exceptions():
    for answer, kind in [
        (b"510 Invalid or unknown command\n", AGIInvalidCommand),
        (b"511 Command Not Permitted on a dead channel or intercept routine\n", AGIDeadChannel),
        (b"520 Invalid command syntax.  Proper usage not available.\n", AGIUsageError),
        (b"520-Invalid command syntax.  Proper usage follows:\nline one\nline two\n520 End of proper usage.\n", AGIUsageError),
    ]:
        outcomes, protocol, _, _ = run_one(answer)
        assert isinstance(outcomes[0], kind), answer
        assert not protocol.hung_up
    assert str(outcomes[0]) == "line one\nline two"


def test_hangup_line_while_a_command_is_pending_is_not_its_answer():
    outcomes, protocol, _, _ = run_one(b"HANGUP\n")
    assert outcomes == []
    assert protocol.hung_up
    protocol.dataReceived(b"200 result=0\n")
    assert outcomes[0].result == "0"


def test_only_one_command_in_flight():
    errors = []

    async def flow(channel, env):
        from twisted.internet.defer import Deferred

        first = Deferred.fromCoroutine(channel.command("WAIT FOR DIGIT 1000"))
        try:
            await channel.command("NOOP")
        except AGIError as error:
            errors.append(error)
        await first

    registry = FlowRegistry()
    registry.register("hotline", flow)
    protocol, transport, _ = server_protocol(registry)
    protocol.dataReceived(header())
    assert transport.value() == b"WAIT FOR DIGIT 1000\n"
    assert len(errors) == 1


# -- dropping the session -------------------------------------------------------------------


def dropped_reason(logs: LogCapture) -> str:
    warnings = [e for e in logs.at(LogLevel.warn)]
    assert warnings, logs.text()
    return logs.text()


def test_over_length_line_drops_the_connection_with_a_logged_reason():
    with LogCapture() as logs:
        outcomes, protocol, transport, _ = run_one(b"200 result=1 (" + b"x" * 20000 + b")\n")
    assert transport.disconnecting
    assert "longer than 16384 bytes" in dropped_reason(logs)
    assert isinstance(outcomes[0], AGIConnectionClosed)


def test_garbage_answer_drops_the_connection_with_a_logged_reason():
    with LogCapture() as logs:
        outcomes, _, transport, _ = run_one(b"hello there\n")
    assert transport.disconnecting
    assert "not a FastAGI answer" in dropped_reason(logs)
    assert isinstance(outcomes[0], AGIConnectionClosed)
    assert logs.failures() == []


def test_malformed_200_answer_drops_the_connection():
    with LogCapture() as logs:
        _, _, transport, _ = run_one(b"200 res=0\n")
    assert transport.disconnecting
    assert "malformed 200 answer" in dropped_reason(logs)


def test_garbage_header_line_drops_the_connection_before_any_flow_runs():
    registry = FlowRegistry()
    ran = []

    async def flow(channel, env):
        ran.append(env)

    registry.register("hotline", flow)
    with LogCapture() as logs:
        protocol, transport, _ = server_protocol(registry)
        protocol.dataReceived(b"agi_network: yes\nGET / HTTP/1.1\n\n")
    assert transport.disconnecting and ran == []
    assert "not an agi_* header line" in dropped_reason(logs)


def test_answer_without_a_command_in_flight_drops_the_connection():
    async def flow(channel, env):
        await channel.command("NOOP")
        from twisted.internet.defer import Deferred

        await Deferred()  # the flow is busy elsewhere (e.g. a database lookup)

    registry = FlowRegistry()
    registry.register("hotline", flow)
    with LogCapture() as logs:
        protocol, transport, _ = server_protocol(registry)
        protocol.dataReceived(header() + b"200 result=0\n200 result=0\n")
    assert transport.disconnecting
    assert "no command in flight" in dropped_reason(logs)


def test_command_timeout_drops_the_session_and_fails_the_command():
    outcomes, protocol, transport, clock = run_one(b"")
    with LogCapture() as logs:
        clock.advance(9.9)
        assert not transport.disconnecting
        clock.advance(0.2)
    assert transport.disconnecting
    assert isinstance(outcomes[0], AGICommandTimeout)
    assert "no answer to 'NOOP' within 10.0s" in dropped_reason(logs)
    assert logs.failures() == []


def test_answer_in_time_cancels_the_command_timeout():
    outcomes, protocol, transport, clock = run_one(b"200 result=0\n")
    clock.advance(60)
    assert outcomes[0].result == "0"
    assert clock.getDelayedCalls() == []


def test_incomplete_header_times_out():
    registry = FlowRegistry()
    with LogCapture() as logs:
        protocol, transport, clock = server_protocol(registry)
        protocol.dataReceived(b"agi_network: yes\n")
        clock.advance(11)
    assert transport.disconnecting
    assert "no complete agi_* header" in dropped_reason(logs)


def test_unknown_script_answers_failure_logs_and_closes():
    registry = FlowRegistry()
    with LogCapture() as logs:
        protocol, transport, _ = server_protocol(registry)
        protocol.dataReceived(header("nosuchflow?x=1", callerid="13812345678"))
    assert transport.value() == b"failure\n"
    assert transport.disconnecting
    text = logs.text()
    assert "Unknown AGI script 'nosuchflow?x=1'" in text
    assert "13812345678" not in text and "138****5678" in text


def test_duplicate_flow_registration_raises():
    registry = FlowRegistry()

    async def flow(channel, env):
        pass

    registry.register("hotline", flow)
    with pytest.raises(DuplicateFlowError):
        registry.register("hotline", flow)
    with pytest.raises(DuplicateFlowError):
        registry.register("/hotline/", flow)
    assert registry.names() == ("hotline",)


def test_command_after_connection_closed_fails_as_hangup():
    outcomes = []

    async def flow(channel, env):
        from twisted.internet.defer import Deferred

        gate = Deferred()
        flow.gate = gate
        await gate
        try:
            await channel.command("NOOP")
        except AGIConnectionClosed as error:
            outcomes.append(error)

    registry = FlowRegistry()
    registry.register("hotline", flow)
    protocol, transport, _ = server_protocol(registry)
    protocol.dataReceived(header())
    protocol.connectionLost(Failure(ConnectionDone()))
    flow.gate.callback(None)
    assert len(outcomes) == 1
    assert transport.value() == b""


@pytest.mark.parametrize(
    "data, complaint",
    [
        (b"\n", "empty agi_* header block"),
        (b"agi_network: yes\nagi_network: yes\n\n", "header agi_network sent twice"),
    ],
)
def test_malformed_header_block_drops_the_connection(data, complaint):
    registry = FlowRegistry()
    with LogCapture() as logs:
        protocol, transport, _ = server_protocol(registry)
        protocol.dataReceived(data)
    assert transport.disconnecting
    assert complaint in dropped_reason(logs)


def test_command_with_a_line_break_is_refused_before_anything_is_written():
    errors = []

    async def flow(channel, env):
        try:
            await channel.command("NOOP\nHANGUP")
        except ValueError as error:
            errors.append(error)

    registry = FlowRegistry()
    registry.register("hotline", flow)
    protocol, transport, _ = server_protocol(registry)
    protocol.dataReceived(header())
    assert len(errors) == 1
    assert transport.value() == b""


def test_script_path_with_slashes_finds_the_flow():
    seen = []

    async def flow(channel, env):
        seen.append(env.script_path)

    registry = FlowRegistry()
    registry.register("survey", flow)
    protocol, _, _ = server_protocol(registry)
    protocol.dataReceived(header("/survey/"))
    assert seen == ["survey"]


def _ending_call(marks_done: bool, ending):
    from tests.ivr.helpers import run_call as run

    async def flow(channel, env):
        await channel.answer()
        await ending(channel)

    return run(flow, "", marks_done=marks_done)


def test_a_marking_flow_that_ends_on_purpose_sets_the_done_variable_before_closing():
    async def ends(channel):
        return None
    call = _ending_call(True, ends)
    assert call.all_commands() == ["ANSWER", "SET VARIABLE HOTLINE_AGI_DONE 1"]
    assert call.marked_done


def test_a_flow_that_fails_is_not_marked_so_the_dialplan_sends_the_caller_to_the_agents():
    async def fails(channel):
        raise RuntimeError("backend bug")
    call = _ending_call(True, fails)
    assert call.all_commands() == ["ANSWER"]


def test_a_flow_registered_without_marking_closes_without_the_variable():
    async def ends(channel):
        return None
    assert _ending_call(False, ends).all_commands() == ["ANSWER"]
