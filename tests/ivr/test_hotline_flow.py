"""Every path a caller can take through the 9600110 menu, against the simulated Asterisk,
with an in-memory backend (no sockets, no database): what the caller hears, what the
channel is told, and the call record left behind."""

from __future__ import annotations

import datetime as dt

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock

from hotline.config import IvrConfig
from hotline.workdays import WorkCalendar
from ivr.backend import AppealView, BackendUnavailable, HotlineBackend
from ivr.flows import prompts as P
from ivr.flows.hotline import HotlineFlow
from ivr.hours import ServiceHours
from ivr.simulator import CallSetup
from schemas.enums import AppealStatus, CallOutcome
from tests.ivr.helpers import pump, run_call
from tests.support.appeals import SHANGHAI

OPEN_NOW = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.timezone.utc)  # Fri 10:00 Shanghai
CLOSED_NOW = dt.datetime(2026, 11, 27, 14, 0, tzinfo=dt.timezone.utc)  # Fri 22:00 Shanghai
CITIZEN = "13812345678"
QUEUED = "EXEC Queue hotline,t,,,600"  # [ivr] queue_options and queue_timeout_s
RESOLVED = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.timezone.utc)
APPEALS = {
    "2026112000001": AppealView(1, "2026112000001", AppealStatus.RESOLVED, "PS-LS", RESOLVED),
    "2026112500003": AppealView(2, "2026112500003", AppealStatus.ASSIGNED, "PS-LS", None),
}


class MemoryBackend:
    """The backend's interface over dictionaries; `fail` makes lookups fail."""

    def __init__(self, now=OPEN_NOW, open_appeal=None, fail=False, callback_requests=None):
        self._now = now
        self._open = open_appeal
        self.fail = fail
        self.calls: dict[str, tuple] = {}
        self.voice_messages: list[tuple] = []
        self.callback_requests = callback_requests
        self.request_callback = self._request_callback if callback_requests is not None else None

    def now(self):
        return self._now

    async def _request_callback(self, phone, call_id):
        self.callback_requests.append((phone, call_id))

    async def open_appeal(self, caller):
        if self.fail:
            raise BackendUnavailable("down")
        return self._open if caller == CITIZEN else None

    async def appeal_by_case(self, case_number):
        if self.fail:
            raise BackendUnavailable("down")
        return APPEALS.get(case_number)

    async def begin_call(self, start):
        self.calls[start.call_id] = (start, None)

    async def end_call(self, start, end):
        self.calls[start.call_id] = (start, end)

    async def leave_voice_message(self, caller, recording, call_id):
        self.voice_messages.append((caller, recording, call_id))
        return None

    async def recording_size(self, recording):
        return None  # Asterisk's spool is not visible here

    @property
    def record(self):
        (start, end), = self.calls.values()
        return end


def make_flow(backend, **config):
    ivr = IvrConfig(**config)
    return HotlineFlow(backend, ServiceHours(ivr, WorkCalendar(), SHANGHAI), ivr, "hotline",
                       new_call_id=lambda: "call-1")


def heard(call):
    return [str(h) for h in call.simulator.heard]


def played(call):
    return [h.value.removeprefix("hotline/") for h in call.simulator.heard if h.kind == "play"]


def commands(call, prefix):
    return [c for c in call.commands() if c.startswith(prefix)]


def citizen(**kw):
    kw.setdefault("queue_status", "")  # the caller reached an agent
    return CallSetup(callerid=CITIZEN, **kw)


@pytest.mark.parametrize("key, choice", [("1", "consultation"), ("2", "help"),
                                         ("3", "complaint"), ("0", "agent")])
def test_menu_choice_goes_to_the_queue_with_the_choice_on_the_channel(key, choice):
    backend = MemoryBackend()
    call = run_call(make_flow(backend), f"_ {key}", citizen())
    assert played(call)[:2] == [P.GREETING, P.MAIN_MENU]
    assert f"SET VARIABLE HOTLINE_MENU_CHOICE {choice}" in call.commands()
    assert "SET VARIABLE HOTLINE_CALL_ID call-1" in call.commands()
    assert commands(call, "EXEC Queue") == [QUEUED]
    record = backend.record
    assert record.outcome is CallOutcome.TO_QUEUE
    assert record.menu_choice == choice
    assert record.path == ("greeting", f"menu:{key}", "queue")


def test_key_pressed_during_the_greeting_is_the_menu_choice():
    backend = MemoryBackend()
    call = run_call(make_flow(backend), "2", citizen())
    assert P.MAIN_MENU not in played(call)
    assert backend.record.menu_choice == "help"


def test_star_repeats_the_menu_without_counting_a_failure():
    backend = MemoryBackend()
    call = run_call(make_flow(backend), "_ * * 1", citizen())
    assert played(call).count(P.MAIN_MENU) == 3
    assert backend.record.menu_choice == "consultation"


def test_no_input_twice_goes_to_an_agent():
    backend = MemoryBackend()
    call = run_call(make_flow(backend), "", citizen())
    assert P.NO_INPUT in played(call)
    assert commands(call, "EXEC Queue") == [QUEUED]
    assert backend.record.path == ("greeting", "menu:timeout", "menu:timeout", "queue")
    assert backend.record.menu_choice == "agent"


def test_invalid_key_twice_goes_to_an_agent():
    backend = MemoryBackend()
    call = run_call(make_flow(backend), "_ 7 _ 8", citizen())
    assert P.INVALID_INPUT in played(call)
    assert backend.record.outcome is CallOutcome.TO_QUEUE
    assert backend.record.path[-3:] == ("menu:invalid", "menu:invalid", "queue")


def test_invalid_then_valid_key_is_accepted():
    backend = MemoryBackend()
    run_call(make_flow(backend), "_ 9 _ 3", citizen())
    assert backend.record.menu_choice == "complaint"


def test_progress_query_reads_the_resolved_status_and_date():
    backend = MemoryBackend()
    call = run_call(make_flow(backend), "_ 4 2026112000001# _", citizen())
    assert P.STATUS_RESOLVED_ON in played(call)
    said = played(call)[played(call).index(P.STATUS_RESOLVED_ON) + 1:][:7]
    assert said == ["digit-2", "digit-0", "digit-2", "digit-6", "date-year", "date-month-11",
                    "date-day-20"]
    assert commands(call, "SAY") == []
    assert commands(call, "EXEC Queue") == []
    assert call.commands()[-1] == "HANGUP"
    assert backend.record.outcome is CallOutcome.QUERY_ANSWERED
    assert backend.record.appeal_id == 1


def test_progress_query_names_the_assigned_unit():
    backend = MemoryBackend()
    call = run_call(make_flow(backend), "_ 4 2026112500003# _", citizen())
    assert played(call)[-3:-1] == [P.STATUS_ASSIGNED, "unit-ps-ls"] or \
        [P.STATUS_ASSIGNED, "unit-ps-ls"] == [p for p in played(call) if p in (P.STATUS_ASSIGNED, "unit-ps-ls")]


def test_progress_query_then_zero_goes_to_an_agent():
    backend = MemoryBackend()
    call = run_call(make_flow(backend), "_ 4 2026112000001# 0", citizen())
    assert commands(call, "EXEC Queue") == [QUEUED]
    assert backend.record.outcome is CallOutcome.TO_QUEUE
    assert backend.record.appeal_id == 1


def test_wrong_case_number_is_asked_again_once_then_agent():
    backend = MemoryBackend()
    call = run_call(make_flow(backend), "_ 4 2026010100009# _ 123#", citizen())
    assert played(call).count(P.ENTER_CASE_NUMBER) == 2
    assert played(call).count(P.CASE_NOT_FOUND) == 1
    assert commands(call, "EXEC Queue") == [QUEUED]
    assert backend.record.menu_choice == "approval_progress"


def test_wrong_then_right_case_number_is_answered():
    backend = MemoryBackend()
    run_call(make_flow(backend), "_ 4 2026010100009# _ 2026112000001# _", citizen())
    assert backend.record.outcome is CallOutcome.QUERY_ANSWERED


def test_zero_at_the_case_number_prompt_goes_to_an_agent():
    backend = MemoryBackend()
    call = run_call(make_flow(backend), "_ 4 0#", citizen())
    assert commands(call, "EXEC Queue") == [QUEUED]


def test_caller_with_an_open_appeal_hears_it_first_and_nine_reads_its_status():
    backend = MemoryBackend(open_appeal=APPEALS["2026112500003"])
    call = run_call(make_flow(backend), "_ 9 _ _ 1", citizen())  # status, unit, menu
    assert played(call)[:3] == [P.GREETING, P.OPEN_APPEAL_NOTICE, P.STATUS_ASSIGNED]
    assert "SET VARIABLE HOTLINE_OPEN_APPEAL 2026112500003" in call.commands()
    assert backend.record.menu_choice == "consultation"
    assert backend.record.appeal_id == 2


def test_zero_during_any_prompt_goes_to_an_agent():
    backend = MemoryBackend(open_appeal=APPEALS["2026112500003"])
    call = run_call(make_flow(backend), "_ 0", citizen())
    assert commands(call, "EXEC Queue") == [QUEUED]
    assert backend.record.path[-2:] == ("pressed-0", "queue")


def test_backend_down_gives_an_apology_and_the_queue():
    backend = MemoryBackend(fail=True)
    call = run_call(make_flow(backend), "_ 4 2026112000001#", citizen())
    assert P.SORRY_TECHNICAL in played(call)
    assert commands(call, "EXEC Queue") == [QUEUED]
    assert backend.record.outcome is CallOutcome.TO_QUEUE
    assert "backend-fault" in backend.record.path


def test_slow_lookup_gives_an_apology_and_the_queue_after_the_backend_timeout():
    """The real backend over a database that never answers, timed by the call's clock."""
    class StuckDatabase:
        def read(self, *args, **kwargs):
            return defer.Deferred()

        def write(self, *args, **kwargs):
            return defer.succeed(None)

    class FixedClock:
        def now(self):
            return OPEN_NOW

    clock = Clock()
    backend = HotlineBackend(StuckDatabase(), None, FixedClock(), clock, timeout_s=2.0)
    call = run_call(make_flow(backend), "_ 4 2026112000001#", citizen(), clock=clock)
    assert commands(call, "EXEC Queue") == []
    clock.advance(2.1)
    pump(call)
    assert P.SORRY_TECHNICAL in played(call)
    assert commands(call, "EXEC Queue") == [QUEUED]


@pytest.mark.parametrize("script, step", [
    ("H", "greeting"),
    ("_ H", "menu"),
    ("_ 4 H", "case-number"),
    ("_ 4 2026112000001# H", "status:resolved"),
    ("_ 4 2026112000001# " + "_ " * 8 + "H", "after-status"),  # the status, 7 date prompts
])
def test_hang_up_at_each_step_closes_the_record_as_abandoned(script, step):
    backend = MemoryBackend()
    call = run_call(make_flow(backend), script, citizen())
    record = backend.record
    assert record.outcome in (CallOutcome.ABANDONED, CallOutcome.QUERY_ANSWERED)
    if record.outcome is CallOutcome.ABANDONED:
        assert record.abandoned_at == step
    assert call.server_transport.disconnecting


def test_hang_up_while_waiting_in_the_queue_keeps_the_queue_outcome():
    backend = MemoryBackend()
    # Without the transfer prompt's sound the hang-up lands on the Queue itself.
    sounds = {f"hotline/{p}": 16000 for p in P.USED if p != P.TRANSFER_AGENT}
    call = run_call(make_flow(backend), "_ 1 H", citizen(sounds=sounds))
    assert commands(call, "EXEC Queue") == [QUEUED]
    assert "hangup" in heard(call)[-1]
    assert backend.record.outcome is CallOutcome.TO_QUEUE


def test_long_queue_offers_a_callback_and_one_accepts_it():
    requests = []
    backend = MemoryBackend(callback_requests=requests)
    setup = citizen(functions={"QUEUE_WAITING_COUNT(hotline)": "7"})
    call = run_call(make_flow(backend, callback_offer_waiting=5), "_ 1 1", setup)
    assert P.QUEUE_LONG_CALLBACK in played(call)
    assert requests == [(CITIZEN, "call-1")]
    assert commands(call, "EXEC Queue") == []
    assert backend.record.outcome is CallOutcome.CALLBACK_REQUESTED
    assert backend.record.queue_waiting == 7


def test_long_queue_caller_who_declines_the_callback_waits():
    backend = MemoryBackend(callback_requests=[])
    setup = citizen(functions={"QUEUE_WAITING_COUNT(hotline)": "7"})
    call = run_call(make_flow(backend, callback_offer_waiting=5), "_ 1 _ _", setup)
    assert commands(call, "EXEC Queue") == [QUEUED]


def test_short_queue_offers_no_callback():
    backend = MemoryBackend(callback_requests=[])
    setup = citizen(functions={"QUEUE_WAITING_COUNT(hotline)": "2"})
    call = run_call(make_flow(backend, callback_offer_waiting=5), "_ 1", setup)
    assert P.QUEUE_LONG_CALLBACK not in played(call)


def test_after_hours_caller_leaves_a_voice_message():
    backend = MemoryBackend(now=CLOSED_NOW)
    call = run_call(make_flow(backend, voice_message_dir="/var/spool/asterisk/hotline"), "#",
                    citizen(speech_s=4))
    assert played(call)[:2] == [P.AFTER_HOURS, P.LEAVE_MESSAGE]
    record_commands = commands(call, "RECORD FILE")
    assert record_commands == ['RECORD FILE /var/spool/asterisk/hotline/call-1 wav "#" 120000 BEEP s=5']
    assert backend.voice_messages == [(CITIZEN, "/var/spool/asterisk/hotline/call-1.wav", "call-1")]
    assert backend.record.outcome is CallOutcome.MESSAGE_LEFT


def test_hanging_up_to_end_a_voice_message_still_leaves_it():
    backend = MemoryBackend(now=CLOSED_NOW)
    call = run_call(make_flow(backend), "1H", citizen(speech_s=4))  # speaks, then hangs up
    assert commands(call, "RECORD FILE")
    assert len(backend.voice_messages) == 1
    assert backend.record.outcome is CallOutcome.MESSAGE_LEFT


def test_menu_five_leaves_a_voice_message_during_opening_hours():
    backend = MemoryBackend()
    run_call(make_flow(backend), "_ 5 #", citizen(speech_s=4))
    assert len(backend.voice_messages) == 1


def test_missing_prompt_is_skipped_not_a_hang_up():
    backend = MemoryBackend()
    sounds = {f"hotline/{p}": 16000 for p in P.USED if p != P.GREETING}
    call = run_call(make_flow(backend), "1", citizen(sounds=sounds))
    assert "missing hotline/greeting" in heard(call)
    assert commands(call, "EXEC Queue") == [QUEUED]


def test_every_prompt_the_flow_plays_is_in_the_catalogue():
    from ivr.prompts import prompt_ids

    assert set(P.USED) <= set(prompt_ids())


@pytest.mark.parametrize("status", ["JOINEMPTY", "LEAVEEMPTY", "TIMEOUT"])
def test_queue_with_nobody_to_answer_offers_a_voice_message(status):
    backend = MemoryBackend()
    call = run_call(make_flow(backend), "_ 2 _ #", citizen(queue_status=status, speech_s=4))
    assert commands(call, "EXEC Queue") == [QUEUED]
    assert commands(call, "RECORD FILE")
    assert len(backend.voice_messages) == 1
    record = backend.record
    assert record.outcome is CallOutcome.MESSAGE_LEFT
    assert f"queue:{status.lower()}" in record.path and record.menu_choice == "help"


def test_a_call_closed_at_process_exit_does_not_await_in_its_cleanup():
    """At exit a flow waiting on Asterisk is closed by the garbage collector: GeneratorExit
    must not meet an await (Python: "coroutine ignored GeneratorExit")."""
    from twisted.internet.defer import Deferred

    class SlowBackend(MemoryBackend):
        async def end_call(self, start, end):
            await Deferred()  # a database write that would outlive the process

    flow = make_flow(SlowBackend())

    class SilentChannel:
        hung_up = False

        def __getattr__(self, name):
            from twisted.internet.defer import Deferred

            return lambda *args, **kwargs: Deferred()  # Asterisk never answers

    from ivr.agi.environment import AGIEnvironment

    env = AGIEnvironment.from_headers({"agi_network_script": "hotline", "agi_callerid": CITIZEN})
    coroutine = flow(SilentChannel(), env)
    coroutine.send(None)  # runs until the first unanswered command
    coroutine.close()  # what the garbage collector does at exit; must not raise
