"""The call-channel API against the simulated Asterisk, no sockets: what each method writes,
what it returns, and how hang-ups, dead channels and missing files surface."""

import pytest

from ivr.agi import (
    AGIAppError,
    AGIConnectionClosed,
    AGIDeadChannel,
    AGIHangup,
    AGIInvalidCommand,
    AGIResultHangup,
    AGISoundFileMissing,
    AGIUsageError,
    quote,
)
from ivr.simulator import CallSetup
from tests.ivr.helpers import LogCapture, run_call

SOUNDS = {"beep": 8000, "long": 40000, "hotline/menu": 48000, "hotline/enter-case-number": 16000}


def setup(**kw):
    return CallSetup(sounds=SOUNDS, **kw)


def collect(results, coro_fn):
    async def flow(channel, env):
        results.append(await coro_fn(channel, env))

    return flow


def test_stream_file_returns_the_escape_digit_pressed():
    results = []
    call = run_call(collect(results, lambda ch, env: ch.stream_file("hotline/menu", "123450*")), "4", setup())
    assert call.commands() == ['STREAM FILE hotline/menu "123450*"']
    assert results == ["4"]


def test_stream_file_returns_empty_string_when_played_to_the_end():
    results = []
    run_call(collect(results, lambda ch, env: ch.stream_file("beep", "1")), "_", setup())
    assert results == [""]


def test_stream_file_with_offset_sends_sample_offset():
    results = []
    call = run_call(collect(results, lambda ch, env: ch.stream_file("beep", "", offset=4000)), "", setup())
    assert call.commands() == ['STREAM FILE beep "" 4000']


def test_missing_sound_file_raises_sound_file_missing_not_hangup_and_call_continues():
    seen = []

    async def flow(channel, env):
        try:
            await channel.stream_file("nosuchfile")
        except AGIHangup:
            seen.append("hangup")
        except AGISoundFileMissing as error:
            seen.append(error.filename)
        seen.append(await channel.get_data("hotline/enter-case-number", 3000, 4))

    call = run_call(flow, "12#", setup())
    assert seen == ["nosuchfile", "12"]
    # the channel asked Asterisk whether the caller was still there
    assert call.commands()[:2] == ['STREAM FILE nosuchfile ""', "CHANNEL STATUS"]
    assert not call.server.hung_up


@pytest.mark.parametrize(
    "keys, expected",
    [("12#", "12"), ("1234", "1234"), ("7", "7"), ("_", ""), ("*", "*"), ("#", "")],
)
def test_get_data_returns_characters(keys, expected):
    results = []
    call = run_call(collect(results, lambda ch, env: ch.get_data("beep", 3000, 4)), keys, setup())
    assert call.commands() == ["GET DATA beep 3000 4"]
    assert results == [expected]


def test_typed_ahead_digits_reach_the_next_prompt():
    results = []

    async def flow(channel, env):
        results.append(await channel.stream_file("hotline/menu", "12345*0"))
        results.append(await channel.get_data("hotline/enter-case-number", 5000, 20))

    run_call(flow, "42026112800001#", setup())
    assert results == ["4", "2026112800001"]


@pytest.mark.parametrize("keys, expected", [("9", "9"), ("#", "#"), ("_", "")])
def test_wait_for_digit_converts_the_ascii_code(keys, expected):
    results = []
    call = run_call(collect(results, lambda ch, env: ch.wait_for_digit(2000)), keys, setup())
    assert call.commands() == ["WAIT FOR DIGIT 2000"]
    assert results == [expected]


def test_say_commands_are_written_as_asterisk_reads_them():
    async def flow(channel, env):
        await channel.say_digits("123")
        await channel.say_number(42)
        await channel.say_date(1795887564, "#")

    call = run_call(flow, "", setup())
    assert call.commands() == ['SAY DIGITS 123 ""', 'SAY NUMBER 42 ""', 'SAY DATE 1795887564 "#"']
    heard = [str(h) for h in call.simulator.heard]
    assert heard == ["say-digits 123", "say-number 42", "say-date 1795887564"]


def test_say_digits_returns_the_escape_digit():
    results = []
    run_call(collect(results, lambda ch, env: ch.say_digits(123, "0123456789*#")), "3", setup())
    assert results == ["3"]


def test_record_file_with_beep_and_silence_limit():
    results = []
    call = run_call(
        collect(results, lambda ch, env: ch.record_file("/var/spool/asterisk/recordings/m1", "wav", "#", 60000, beep=True, silence_s=3)),
        "#",
        setup(),
    )
    assert call.commands() == ['RECORD FILE /var/spool/asterisk/recordings/m1 wav "#" 60000 BEEP s=3']
    assert results[0].digit == "#" and results[0].reason == "dtmf"
    assert [str(h) for h in call.simulator.heard][:2] == ["beep", "record /var/spool/asterisk/recordings/m1"]


def test_record_file_without_input_times_out():
    results = []
    run_call(collect(results, lambda ch, env: ch.record_file("/tmp/r", timeout_ms=2000, beep=False)), "_", setup())
    assert (results[0].digit, results[0].reason) == ("", "timeout")


def test_variables_round_trip_with_quoting_and_unset_is_none():
    results = []

    async def flow(channel, env):
        await channel.set_variable("HOTLINE_CHOICE", "consultation")
        await channel.set_variable("NOTE", 'say "hi" \\ bye')
        results.append(await channel.get_variable("HOTLINE_CHOICE"))
        results.append(await channel.get_variable("NOTE"))
        results.append(await channel.get_variable("NOSUCH"))
        results.append(await channel.get_full_variable("${QUEUE_WAITING_COUNT(hotline)}"))

    call = run_call(flow, "", setup(functions={"QUEUE_WAITING_COUNT(hotline)": "7"}))
    assert call.commands()[:2] == [
        "SET VARIABLE HOTLINE_CHOICE consultation",
        'SET VARIABLE NOTE "say \\"hi\\" \\\\ bye"',
    ]
    assert results == ["consultation", 'say "hi" \\ bye', None, "7"]


def test_exec_queue_and_goto_write_app_and_options():
    results = []

    async def flow(channel, env):
        results.append(await channel.exec_("Queue", "hotline,,,,300"))
        results.append(await channel.get_variable("QUEUESTATUS"))
        results.append(await channel.exec_("Goto", ("hotline-fallback", "s", 1)))

    call = run_call(flow, "", setup())
    assert call.commands() == [
        "EXEC Queue hotline,,,,300",
        "GET VARIABLE QUEUESTATUS",
        "EXEC Goto hotline-fallback,s,1",
    ]
    assert results == [0, "TIMEOUT", 0]


def test_exec_of_an_unknown_application_raises_app_error():
    errors = []

    async def flow(channel, env):
        try:
            await channel.exec_("NoSuchApp", "foo")
        except AGIAppError as error:
            errors.append(error)

    run_call(flow, "", setup())
    assert len(errors) == 1 and not isinstance(errors[0], AGIHangup)


def test_answer_verbose_and_hangup():
    async def flow(channel, env):
        await channel.answer()
        await channel.verbose("caller entered menu", 3)
        await channel.hangup()

    call = run_call(flow, "", setup())
    assert call.commands() == ["ANSWER", 'VERBOSE "caller entered menu" 3', "HANGUP"]
    assert str(call.simulator.heard[-1]) == "hangup service"


def test_invalid_and_usage_errors_surface_as_pyst2_exceptions():
    errors = []

    async def flow(channel, env):
        for line in ("FOO BAR", "STREAM FILE"):
            try:
                await channel.command(line)
            except (AGIInvalidCommand, AGIUsageError) as error:
                errors.append(error)

    run_call(flow, "", setup())
    assert isinstance(errors[0], AGIInvalidCommand)
    assert isinstance(errors[1], AGIUsageError)
    assert "PLAYBACKSTATUS" in str(errors[1])


@pytest.mark.parametrize(
    "step",
    [
        lambda ch: ch.stream_file("long"),
        lambda ch: ch.get_data("beep", 5000, 4),
        lambda ch: ch.exec_("Queue", "hotline,,,,10"),
        lambda ch: ch.wait_for_digit(15000),
    ],
    ids=["stream_file", "get_data", "exec_queue", "wait_for_digit"],
)
def test_hangup_during_a_command_ends_the_flow_quietly(step):
    seen = []

    async def flow(channel, env):
        await channel.answer()
        try:
            await step(channel)
        except AGIResultHangup:
            seen.append("hangup")
            raise

    with LogCapture() as logs:
        call = run_call(flow, "4H" if "get_data" in repr(step) else "H", setup())
    assert seen == ["hangup"]
    assert call.server.hung_up
    assert logs.failures() == []
    assert call.server_transport.disconnecting


def test_hangup_with_agisighup_no_is_detected_by_the_dead_channel_answer():
    seen = []

    async def flow(channel, env):
        try:
            await channel.wait_for_digit(5000)
        except AGIResultHangup:
            seen.append("hangup")

    call = run_call(flow, "H", setup(sighup=False))
    assert seen == ["hangup"]
    assert not call.server.hung_up  # no HANGUP line with AGISIGHUP=no
    assert call.commands() == ["WAIT FOR DIGIT 5000", "CHANNEL STATUS"]


def test_agiexitonhangup_closing_the_socket_fails_the_pending_command_as_hangup():
    seen = []

    async def flow(channel, env):
        await channel.answer()
        try:
            await channel.stream_file("long")
        except AGIHangup as error:
            seen.append(type(error))
            await channel.set_variable("AFTER", "1")

    with LogCapture() as logs:
        run_call(flow, "H", setup(exit_on_hangup=True))
    # the -1 arrives before HANGUP is read; the CHANNEL STATUS check meets the closing socket,
    # and the command after that too: both are hang-ups, and the flow ends without a traceback
    assert seen == [AGIConnectionClosed]
    assert logs.failures() == []


def test_commands_after_hangup_get_dead_channel_errors_except_variables():
    seen = []

    async def flow(channel, env):
        try:
            await channel.stream_file("long")
        except AGIResultHangup:
            pass
        seen.append(await channel.get_variable("NOSUCH"))
        await channel.set_variable("OUTCOME", "abandoned")
        try:
            await channel.stream_file("beep")
        except AGIDeadChannel:
            seen.append("511")

    run_call(flow, "H", setup())
    assert seen == [None, "511"]


def test_flow_exception_is_logged_once_and_the_session_closed():
    async def flow(channel, env):
        await channel.answer()
        raise RuntimeError("lookup exploded")

    with LogCapture() as logs:
        call = run_call(flow, "", setup())
    failures = logs.failures()
    assert len(failures) == 1
    assert failures[0]["log_failure"].check(RuntimeError)
    assert call.server_transport.disconnecting


def test_finished_flow_closes_the_connection_and_asterisk_says_hangup():
    async def flow(channel, env):
        await channel.answer()

    call = run_call(flow, "", setup())
    assert call.server_transport.disconnecting
    assert call.simulator.ended


def test_quote_escapes_quotes_and_backslashes_and_refuses_line_breaks():
    assert quote("") == '""'
    assert quote('a "b"') == '"a \\"b\\""'
    with pytest.raises(ValueError):
        quote("two\nlines")


def test_arguments_that_could_inject_a_command_are_refused():
    errors = []

    async def flow(channel, env):
        for bad in (lambda: channel.stream_file("a b"), lambda: channel.set_variable("X", "1\nHANGUP"),
                    lambda: channel.stream_file("beep", "12x")):
            try:
                await bad()
            except ValueError as error:
                errors.append(error)

    call = run_call(flow, "", setup())
    assert len(errors) == 3
    assert call.commands() == []
