"""The agents' queue, as the service's EXEC Queue and as the dialplan's fallback Queue():
the same options and timeout ([ivr] queue_options, queue_timeout_s), and the same thing
after a queue that gives the caller back unanswered (a voice message)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from twisted.logger import LogLevel

from hotline.config import ConfigError, IvrConfig, load_config
from ivr.flows import prompts as P
from ivr.simulator import CallSetup
from ivr.simulator.asterisk import CONNECTED
from schemas.enums import CallOutcome
from tests.ivr.helpers import LogCapture, run_call
from tests.ivr.test_hotline_flow import CITIZEN, MemoryBackend, commands, make_flow, played

DIALPLAN = Path(__file__).resolve().parents[2] / "docs" / "asterisk" / "extensions.conf"


def nobody_answers(**setup) -> CallSetup:
    """A queue whose members never answer: only Queue's timeout ends the wait."""
    return CallSetup(callerid=CITIZEN, queue_status="TIMEOUT", speech_s=4, **setup)


def test_the_service_queues_with_the_configured_options_and_timeout():
    call = run_call(make_flow(MemoryBackend()), "_ 1", nobody_answers())
    assert commands(call, "EXEC Queue") == ["EXEC Queue hotline,t,,,600"]
    other = run_call(make_flow(MemoryBackend(), queue_options="tn", queue_timeout_s=90), "_ 1",
                     nobody_answers())
    assert commands(other, "EXEC Queue") == ["EXEC Queue hotline,tn,,,90"]


def test_a_wait_nobody_ends_is_ended_by_the_timeout_and_a_voice_message_follows():
    """Without a timeout a simulated caller waits until giving up (as on Asterisk, where an
    unbounded queue only ends for an agent or a hang-up); with it, the queue times out."""
    backend = MemoryBackend()
    call = run_call(make_flow(backend), "_ 3 #", nobody_answers())
    assert "queue-wait no timeout: the caller gives up" not in [str(h) for h in
                                                                 call.simulator.heard]
    assert played(call)[-3:] == [P.LEAVE_MESSAGE, P.MESSAGE_SAVED, P.THANKS_GOODBYE]
    record = backend.record
    assert record.outcome is CallOutcome.MESSAGE_LEFT and record.menu_choice == "complaint"
    assert record.path[-4:] == ("queue", "queue:timeout", "voice-message", "goodbye")
    assert len(backend.voice_messages) == 1


def test_the_dialplans_fallback_hands_an_unanswered_caller_back_for_the_same_voice_message():
    """extensions.conf: Queue(...) then AGI(.../hotline,after-queue); QUEUESTATUS is the
    fallback queue's."""
    backend = MemoryBackend()
    setup = nobody_answers(args=("after-queue",), variables={"QUEUESTATUS": "TIMEOUT"})
    call = run_call(make_flow(backend), "#", setup)
    assert not commands(call, "EXEC Queue") and not commands(call, "ANSWER")
    assert "SET VARIABLE HOTLINE_CALL_ID call-1" in call.commands()
    assert played(call) == [P.LEAVE_MESSAGE, P.MESSAGE_SAVED, P.THANKS_GOODBYE]
    record = backend.record
    assert record.outcome is CallOutcome.MESSAGE_LEFT
    assert record.path == ("after-queue", "queue:timeout", "voice-message", "goodbye")
    assert backend.voice_messages == [(CITIZEN, "/var/spool/asterisk/hotline/call-1.wav",
                                       "call-1")]


@pytest.mark.parametrize("status", ["CONTINUE", None])
def test_after_a_fallback_queue_an_agent_took_nothing_more_happens(status):
    backend = MemoryBackend()
    variables = {"QUEUESTATUS": status} if status else {}
    call = run_call(make_flow(backend), "", nobody_answers(args=("after-queue",),
                                                           variables=variables))
    assert played(call) == [] and not commands(call, "RECORD FILE")
    assert backend.record.outcome is CallOutcome.TO_QUEUE
    assert backend.record.path == ("after-queue",)


@pytest.mark.parametrize("options", ["b(sub^s^1)", "t,x", "t 5", "tq"])
def test_queue_options_are_letters_queue_takes_without_an_argument(options):
    with pytest.raises(ConfigError, match="ivr.queue_options may only hold Queue"):
        load_config(environ={"HOTLINE_IVR_QUEUE_OPTIONS": options})


def test_a_queue_timeout_is_at_least_a_second():
    with pytest.raises(ConfigError, match="HOTLINE_IVR_QUEUE_TIMEOUT_S must be at least 1"):
        load_config(environ={"HOTLINE_IVR_QUEUE_TIMEOUT_S": "0"})


def dialplan_globals() -> dict[str, str]:
    text = DIALPLAN.read_text("utf-8")
    block = text.split("[globals]", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r"^(\w+)=(\S*)", block, flags=re.MULTILINE))


def test_the_dialplans_queues_wait_as_the_services_does():
    defaults = IvrConfig()
    variables = dialplan_globals()
    assert variables["HOTLINE_QUEUE_OPTIONS"] == defaults.queue_options
    assert variables["HOTLINE_QUEUE_TIMEOUT"] == str(defaults.queue_timeout_s)
    dialplan = [line for line in DIALPLAN.read_text("utf-8").splitlines()
                if not line.lstrip().startswith(";")]
    queues = re.findall(r"Queue\(([^)]*)\)", "\n".join(dialplan))
    assert queues and set(queues) == {
        "${HOTLINE_QUEUE},${HOTLINE_QUEUE_OPTIONS},,,${HOTLINE_QUEUE_TIMEOUT}"}


def test_the_dialplans_fallback_queue_is_followed_by_the_services_after_queue():
    lines = [line.strip() for line in DIALPLAN.read_text("utf-8").splitlines()
             if line.strip().startswith(("exten", "same"))]
    fallback = next(i for i, line in enumerate(lines) if "n(fallback)" in line)
    queue = next(i for i in range(fallback, len(lines)) if "Queue(" in lines[i])
    assert lines[queue + 1] == "same => n,AGI(${HOTLINE_AGI}/hotline,after-queue)"
    assert lines[queue + 2] == "same => n(done),Hangup()"


# When the agent hangs up first ---------------------------------------------------------------

def an_agent_answers(**setup) -> CallSetup:
    return CallSetup(callerid=CITIZEN, queue_status=CONNECTED, **setup)


def test_queue_returning_minus_one_after_the_agent_hung_up_is_the_end_of_a_served_call():
    """app_queue.c documents -1 "if the call is bridged and either of the parties in the
    bridge ends the call": on a live channel it is a call an agent took, not a failure."""
    backend = MemoryBackend()
    with LogCapture() as logs:
        call = run_call(make_flow(backend), "_ 2", an_agent_answers(), marks_done=True)
    assert not logs.failures() and not logs.at(LogLevel.critical)
    assert "the agent ended the call" in logs.text()
    queue_answer = call.simulator.heard[-1]
    assert str(queue_answer) == "queue-wait connected; the agent hangs up first"
    assert call.commands()[-3:] == ["EXEC Queue hotline,t,,,600", "CHANNEL STATUS",
                                    "GET VARIABLE QUEUESTATUS"]
    assert P.SORRY_TECHNICAL not in played(call) and not commands(call, "RECORD FILE")
    assert call.marked_done  # the dialplan hangs up; no fallback queue
    assert backend.record.outcome is CallOutcome.TO_QUEUE
    assert backend.record.menu_choice == "help"


def test_with_option_c_the_queue_returns_continue_and_the_call_ends_the_same_way():
    backend = MemoryBackend()
    with LogCapture() as logs:
        call = run_call(make_flow(backend, queue_options="tc"), "_ 2", an_agent_answers(),
                        marks_done=True)
    assert not logs.failures()
    assert call.marked_done and not commands(call, "RECORD FILE")
    assert backend.record.outcome is CallOutcome.TO_QUEUE


def test_a_caller_who_hangs_up_in_the_bridge_ends_the_call_as_a_hang_up():
    backend = MemoryBackend()
    # Without the transfer prompt's sound the hang-up lands on the Queue itself.
    sounds = {f"hotline/{p}": 16000 for p in P.USED if p != P.TRANSFER_AGENT}
    with LogCapture() as logs:
        call = run_call(make_flow(backend), "_ 2 H", an_agent_answers(sounds=sounds),
                        marks_done=True)
    assert not logs.failures()
    assert str(call.simulator.heard[-1]) == "hangup caller"
    assert backend.record.outcome is CallOutcome.TO_QUEUE


def test_the_simulator_answers_a_bridged_call_the_agent_ended_as_asterisk_does():
    from twisted.internet.testing import StringTransport

    from ivr.simulator import AsteriskCallSimulator

    simulator = AsteriskCallSimulator(an_agent_answers())
    transport = StringTransport()
    simulator.makeConnection(transport)

    def ask(line):
        transport.clear()
        simulator.dataReceived(line.encode() + b"\n")
        return transport.value().decode()

    assert ask("EXEC Queue hotline,t,,,600") == "200 result=-1\n"  # no HANGUP: still up
    assert ask("CHANNEL STATUS") == "200 result=6\n"
    assert ask("GET VARIABLE QUEUESTATUS") == "200 result=0\n"
    assert ask("EXEC Queue hotline,tc,,,600") == "200 result=0\n"
    assert ask("GET VARIABLE QUEUESTATUS") == "200 result=1 (CONTINUE)\n"


def test_a_call_moved_to_a_three_way_conference_leaves_the_ivr_as_a_served_call():
    """The desk's three-way call redirects the bridged pair into a ConfBridge: Queue answers
    0 and the AGI gets HANGUP at once (agi_threeway_by_name). The call was an agent's, the
    caller is still on the line: no voice message, no failure, no fallback in the dialplan
    (the channel has left it)."""
    from ivr.simulator.asterisk import REDIRECTED

    backend = MemoryBackend()
    with LogCapture() as logs:
        call = run_call(make_flow(backend), "_ 2",
                        CallSetup(callerid=CITIZEN, queue_status=REDIRECTED))
    assert not logs.failures() and not logs.at(LogLevel.critical)
    assert "queue-wait connected, then redirected out of the queue (AMI Redirect)" in [
        str(h) for h in call.simulator.heard]
    assert P.SORRY_TECHNICAL not in played(call) and not commands(call, "RECORD FILE")
    assert backend.record.outcome is CallOutcome.TO_QUEUE
