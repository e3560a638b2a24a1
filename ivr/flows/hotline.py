"""The 9600110 call flow: what a caller meets, from greeting to agent, answer or message.

One short menu (GB/T 33358-2016 advises against deep menus on an intake line): 1 consultation,
2 help, 3 complaint or report, 4 progress of an appeal, 5 leave a voice message, 0 agent,
* repeat. A prompt that names keys is answered by exactly those (`prompts.KEYS`); 0 works at
every other prompt; no input or a wrong key twice at the menu sends the caller to an
agent; a caller with an open appeal hears so first (9 its status); after a status, 1 asks
for another number, * says it again, 0 is an agent and no key ends the call; a backend that fails or is slow gets an apology and the agent queue, never a dropped
call. Outside opening hours the caller can leave a voice message, which becomes an appeal
(or a note on the caller's open appeal); a message Asterisk cannot record (its spool
directory missing: `(writefile)`) gets an apology and the agents instead, and a missing beep
a recording without it. The agents' queue has the configured timeout and
options, as the dialplan's fallback queue has; a queue that gives the caller back unanswered
is followed by a voice message, and the fallback runs this flow again (`hotline,after-queue`)
for the same. Every call leaves a record with its path through the menu and its outcome.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from twisted.internet import defer
from twisted.logger import Logger

from hotline.appeals.case_numbers import looks_like_case_number
from hotline.config import IvrConfig
from hotline.masking import mask_phone
from ivr.agi.channel import RecordingResult
from ivr.agi.errors import AGIAppError, AGIHangup, AGIRecordFailed, AGISoundFileMissing
from ivr.asterisk_files import AsteriskFileWarnings, beep_fix, build_fix, spool_fix
from ivr.backend import AppealView, BackendUnavailable, HotlineBackend
from ivr.call_records import CallEnd, CallStart
from ivr.flows import prompts as P
from ivr.flows import variables as V
from ivr.hours import ServiceHours
from ivr.prompts import unit_prompt_id
from schemas.enums import AppealStatus, CallOutcome

MENU_KEYS = P.MENU_KEYS
AGENT = P.AGENT
MENU_CHOICES = {"1": "consultation", "2": "help", "3": "complaint", "0": "agent"}
# Queue's QUEUESTATUS when it returned without connecting the caller to an agent (UNKNOWN:
# no such queue; WITHDRAW: taken out by QueueWithdrawCaller).
NOT_CONNECTED = {"JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL", "FULL", "TIMEOUT",
                 "UNKNOWN", "WITHDRAW"}
ANOTHER_NUMBER = "1"  # after a status (progress-more)
# agi_arg_1 of the dialplan's fallback when it runs the flow again after its own Queue().
AFTER_QUEUE = "after-queue"
STATUS_PROMPTS = {AppealStatus.RECEIVED: P.STATUS_RECEIVED,
                  AppealStatus.ASSIGNED: P.STATUS_ASSIGNED,
                  AppealStatus.IN_PROGRESS: P.STATUS_IN_PROGRESS,
                  AppealStatus.RESOLVED: P.STATUS_RESOLVED_ON,
                  AppealStatus.CLOSED: P.STATUS_CLOSED}


@dataclass
class CallState:
    """What the flow learns about one call; it becomes the call record."""

    start: CallStart
    path: list[str] = field(default_factory=list)
    step: str = "answer"
    outcome: CallOutcome | None = None
    menu_choice: str | None = None
    appeal_id: int | None = None
    queue_waiting: int | None = None
    recorded: bool = False
    message_failed: bool = False  # Asterisk could not record a voice message on this call

    def visit(self, step: str) -> None:
        self.step = step
        self.path.append(step)


RECORDING_FORMAT = "wav"  # 8 kHz, 16-bit: 8000 samples a second, after a 44-byte header
SAMPLES_PER_SECOND = 8000
WAV_HEADER_BYTES = 44
# Less than this is no message: a breath, the click of the # key.
MIN_AUDIO_S = 0.25


def recording_has_no_audio(result: RecordingResult | None, silence_s: int) -> bool | None:
    """Whether RECORD FILE's answer says the file holds nothing but silence; None when it
    cannot tell (a hang-up, whose answer the channel turns into an exception). Asterisk
    (res_agi.c) reports the samples it kept: all of them at a hang-up or at the time limit,
    the audio before the key less 200 ms after a #, and after `silence_s` of silence the
    audio before it plus one second of the silence (it rewinds silence_s - 1 seconds)."""
    if result is None or result.endpos is None:
        return None
    kept_silence_s = 1.0 if result.reason == "timeout" and silence_s else 0.0
    return result.endpos < (kept_silence_s + MIN_AUDIO_S) * SAMPLES_PER_SECOND


def wav_has_no_audio(size: int | None) -> bool | None:
    """The same from the file's size in bytes (None: the file is not visible here)."""
    if size is None:
        return None
    return size < WAV_HEADER_BYTES + MIN_AUDIO_S * SAMPLES_PER_SECOND * 2


class _Done(Exception):
    """The flow reached its outcome; unwinds to the top."""


class HotlineFlow:
    log = Logger()

    def __init__(self, backend: HotlineBackend, hours: ServiceHours, config: IvrConfig,
                 queue: str, new_call_id: Callable[[], str] = lambda: uuid.uuid4().hex,
                 metrics=None, warnings: AsteriskFileWarnings | None = None) -> None:
        """`warnings`: where what calls meet in Asterisk's files is noted for /healthz and
        logged once per process (the process's one: ivr.asterisk_files.warnings_of)."""
        self._backend = backend
        self._metrics = metrics  # hotline.metrics.Metrics, or None: nothing counted
        self._hours = hours
        self._config = config
        self._queue = queue
        self._new_call_id = new_call_id
        self._warnings = warnings if warnings is not None else AsteriskFileWarnings()

    async def __call__(self, channel, env) -> None:
        start = CallStart(call_id=self._new_call_id(), flow="hotline", caller=env.callerid,
                          dnid=env.dnid, asterisk_uniqueid=env.uniqueid,
                          channel_name=env.channel, started_at=self._backend.now())
        state = CallState(start)
        self.log.info("Call {call_id} from {caller} on {channel}", call_id=start.call_id,
                      caller=mask_phone(env.callerid), channel=env.channel)
        try:
            await self._record_start(state)
            try:
                if env.args[:1] == (AFTER_QUEUE,):
                    await self._after_dialplan_queue(channel, state)
                else:
                    await self._run(channel, state)
            except _AgentRequested:
                state.visit("pressed-0")
                state.menu_choice = state.menu_choice or "agent"
                await self._to_agents(channel, state)
        except _Done:
            pass
        except AGIHangup:
            if state.outcome is None:
                state.outcome = CallOutcome.ABANDONED
        except Exception:
            self.log.failure("Call {call_id} failed at {step}", call_id=start.call_id,
                             step=state.step)
            await self._rescue(channel, state)
        except GeneratorExit:
            # The process is exiting with this call's command unanswered: the coroutine is
            # being closed and can await nothing more; the record stays "in progress".
            state.recorded = True
            raise
        finally:
            if not state.recorded:
                await self._record_end(state)

    # The call, step by step ------------------------------------------------------------

    async def _run(self, channel, state: CallState) -> None:
        await channel.answer()
        await channel.set_variable(V.CALL_ID, state.start.call_id)
        if not self._hours.is_open(self._backend.now()):
            await self._after_hours(channel, state)
            return
        state.visit("greeting")
        # Keys typed ahead of the menu while the greeting plays are the menu's.
        pressed = await self._play(channel, P.GREETING, MENU_KEYS)
        if not pressed:
            await self._open_appeal_notice(channel, state)
        await self._menu(channel, state, pressed)

    async def _open_appeal_notice(self, channel, state: CallState) -> None:
        """A caller with an open appeal hears so first, and may press 9 for its status or 0
        for an agent. Any other key is not taken (the notice does not offer it: a caller
        told "1" by an older notice must not land in consultation); the menu follows."""
        try:
            view = await self._backend.open_appeal(state.start.caller)
        except BackendUnavailable:
            await self._apology_then_agents(channel, state)
        if view is None:
            return
        state.visit("open-appeal")
        state.appeal_id = view.id
        await channel.set_variable(V.OPEN_APPEAL, view.case_number)
        keys = P.KEYS[P.OPEN_APPEAL_NOTICE]
        pressed = await self._play(channel, P.OPEN_APPEAL_NOTICE, keys)
        if not pressed:
            pressed = await channel.wait_for_digit(2000)
        if pressed not in keys or not pressed:
            return
        if pressed == AGENT:
            raise _AgentRequested()
        await self._say_status(channel, state, view)

    async def _menu(self, channel, state: CallState, pressed: str = "") -> None:
        failures = 0
        while True:
            state.visit("menu")
            choice = pressed or await self._ask(channel, state, P.MAIN_MENU,
                                                self._config.menu_timeout_ms, 1)
            pressed = ""
            if choice == P.REPEAT:
                continue
            if choice in MENU_CHOICES:
                state.path[-1] = f"menu:{choice}"
                state.menu_choice = MENU_CHOICES[choice]
                await self._to_agents(channel, state)
            if choice == "4":
                state.path[-1] = "menu:4"
                state.menu_choice = "approval_progress"
                await self._progress_query(channel, state)
            if choice == "5":
                state.path[-1] = "menu:5"
                await self._voice_message(channel, state)
            failures += 1
            state.path[-1] = f"menu:{'timeout' if not choice else 'invalid'}"
            if failures >= 2:
                state.menu_choice = state.menu_choice or "agent"
                await self._to_agents(channel, state)
            pressed = await self._play(channel, P.NO_INPUT if not choice else P.INVALID_INPUT,
                                       MENU_KEYS)

    async def _progress_query(self, channel, state: CallState) -> None:
        """A number, its status, then what `progress-more` offers: 1 another number, * the
        status again, 0 an agent; no key (or one it does not offer) ends the call. Never
        returns."""
        while True:
            view = await self._case(channel, state)
            state.appeal_id = view.id
            keys = P.KEYS[P.PROGRESS_MORE]
            pressed = P.REPEAT
            while pressed == P.REPEAT:
                await self._say_status(channel, state, view)
                state.outcome = CallOutcome.QUERY_ANSWERED
                state.visit("after-status")
                pressed = await self._play(channel, P.PROGRESS_MORE, keys)
                if not pressed:
                    pressed = await channel.wait_for_digit(self._config.menu_timeout_ms)
            if pressed == AGENT:
                raise _AgentRequested()
            if pressed != ANOTHER_NUMBER:
                await self._goodbye(channel, state)

    async def _case(self, channel, state: CallState) -> AppealView:
        """The appeal whose number the caller keys; a wrong number is asked once more, then
        the caller goes to an agent."""
        for attempt in (1, 2):
            state.visit("case-number")
            digits = await self._ask(channel, state, P.ENTER_CASE_NUMBER,
                                     self._config.case_number_timeout_ms, 20)
            if digits == AGENT:
                await self._to_agents(channel, state)
            view = None
            if looks_like_case_number(digits):
                try:
                    view = await self._backend.appeal_by_case(digits)
                except BackendUnavailable:
                    await self._apology_then_agents(channel, state)
            if view is not None:
                return view
            state.path[-1] = "case-number:not-found"
            if attempt == 1:
                await self._play(channel, P.CASE_NOT_FOUND, AGENT)
        await self._to_agents(channel, state)
        raise AssertionError("not reached: the call ends in the queue")

    async def _say_status(self, channel, state: CallState, view: AppealView) -> None:
        state.visit(f"status:{view.status.value}")
        await self._play(channel, STATUS_PROMPTS[view.status], AGENT)
        if view.status in (AppealStatus.ASSIGNED, AppealStatus.IN_PROGRESS) and view.unit_code:
            await self._say_unit(channel, view.unit_code)
        if view.status is AppealStatus.RESOLVED and view.resolved_at is not None:
            # The service's own prompts in its own zone: Asterisk's SAY DATE speaks English
            # order in the Asterisk host's zone (a UTC host says the day before for a
            # resolution before 08:00 in Shanghai), and a stock Asterisk has no Mandarin sounds.
            day = view.resolved_at.astimezone(self._hours.zone).date()
            for prompt in P.date_prompts(day):
                await self._play(channel, prompt, AGENT)

    async def _say_unit(self, channel, code: str) -> None:
        """A unit's name is a prompt of its own, built from the units table, so a unit added
        since the last build has none. Played with Playback, which answers a missing file
        with PLAYBACKSTATUS=FAILED and goes on (STREAM FILE would end the AGI as FAILURE);
        a missing name is said another way: an agent can tell it (press 0)."""
        prompt = unit_prompt_id(code)
        await channel.exec_("Playback", self._prompt(prompt))
        if await channel.get_variable("PLAYBACKSTATUS") != "FAILED":
            self._warnings.prompt_played(self._prompt(prompt))
            return
        self._missing(prompt, f"said {P.UNIT_UNNAMED} instead",
                      "a unit loaded or renamed since the prompts were built: run `hotline "
                      "prompts build` again (it reads the units' names from the database)")
        await self._play(channel, P.UNIT_UNNAMED, P.KEYS[P.UNIT_UNNAMED])

    async def _to_agents(self, channel, state: CallState, offer_callback: bool = True) -> None:
        """Into the agents' queue with the screen-pop variables set; a callback instead when
        the wait is long and the caller wants one. Never returns."""
        state.visit("queue")
        state.queue_waiting = await self._waiting_count(channel)
        if offer_callback and await self._callback_instead(channel, state):
            await self._goodbye(channel, state)
        await self._play(channel, P.TRANSFER_AGENT)
        await channel.set_variable(V.MENU_CHOICE, state.menu_choice or "agent")
        state.outcome = CallOutcome.TO_QUEUE
        # The record is written before the caller waits: the IVR's part of the call is done.
        await self._record_end(state)
        try:
            # Queue(queuename,options,URL,announceoverride,timeout): as the dialplan's fallback
            await channel.exec_("Queue", f"{self._queue},{self._config.queue_options},,,"
                                         f"{self._config.queue_timeout_s}")
        except AGIHangup:
            raise
        except AGIAppError:
            # -1 on a live channel: "if the call is bridged and either of the parties in the
            # bridge ends the call" (app_queue.c), here the agent, first. The end of a call an
            # agent took, not a failure; QUEUESTATUS (not set by such a call) says the rest.
            self.log.info("Call {call_id}: the agent ended the call", call_id=state.start.call_id)
        await self._after_queue(channel, state, await channel.get_variable("QUEUESTATUS"))

    async def _after_dialplan_queue(self, channel, state: CallState) -> None:
        """The dialplan's fallback queued the caller itself (the service was unreachable or
        its session was cut) and the queue gave the caller back: what follows is what follows
        the service's own queue."""
        state.visit(AFTER_QUEUE)
        await channel.set_variable(V.CALL_ID, state.start.call_id)
        await self._after_queue(channel, state, await channel.get_variable("QUEUESTATUS"))

    async def _after_queue(self, channel, state: CallState, status: str | None) -> None:
        """Whoever queued the caller: nobody could take the call (no agent logged in, the
        queue full, the wait over): a voice message instead. Never returns."""
        if status in NOT_CONNECTED:
            state.recorded = False
            state.visit(f"queue:{status.lower()}")
            if state.message_failed:  # what sent the caller to the queue: no second try
                await self._no_message(channel, state)
            await self._voice_message(channel, state, from_queue=True)
        state.outcome = state.outcome or CallOutcome.TO_QUEUE
        raise _Done()

    async def _waiting_count(self, channel) -> int | None:
        text = await channel.get_full_variable(f"${{QUEUE_WAITING_COUNT({self._queue})}}")
        try:
            return int(text) if text is not None else None
        except ValueError:
            return None

    async def _callback_instead(self, channel, state: CallState) -> bool:
        threshold = self._config.callback_offer_waiting
        request = self._backend.request_callback
        if (request is None or not threshold or state.queue_waiting is None
                or state.queue_waiting < threshold or not state.start.caller):
            return False
        state.visit("callback-offer")
        keys = P.KEYS[P.QUEUE_LONG_CALLBACK]
        pressed = await self._play(channel, P.QUEUE_LONG_CALLBACK, keys)
        if not pressed:
            pressed = await channel.wait_for_digit(3000)
        if pressed not in keys or not pressed:
            return False
        try:
            await request(state.start.caller, state.start.call_id)
        except Exception as error:  # a failed request must still leave the caller a way in
            self.log.warn("Callback request failed for call {call_id}: {error!r}",
                          call_id=state.start.call_id, error=error)
            await self._play(channel, P.SORRY_TECHNICAL)
            return False
        state.visit("callback-requested")
        state.outcome = CallOutcome.CALLBACK_REQUESTED
        await self._play(channel, P.CALLBACK_CONFIRMED)
        return True

    async def _after_hours(self, channel, state: CallState) -> None:
        state.visit("after-hours")
        await self._play(channel, P.AFTER_HOURS)
        await self._voice_message(channel, state)

    async def _voice_message(self, channel, state: CallState, from_queue: bool = False) -> None:
        """RECORD FILE with a beep and a silence limit. Hanging up is how most callers end a
        message, so a hang-up during the recording still leaves the message. A message from
        a caller with an open appeal joins it; a recording with no audio becomes no work. A
        message Asterisk cannot record sends the caller to the agents with an apology (or,
        when the agents' queue is what sent the caller here, says so and ends the call)."""
        state.visit("voice-message")
        at = len(state.path) - 1
        await self._play(channel, P.LEAVE_MESSAGE)
        path = f"{self._config.voice_message_dir.rstrip('/')}/{state.start.call_id}"
        recording = f"{path}.{RECORDING_FORMAT}"
        result: RecordingResult | None = None
        try:
            result = await self._record(channel, state, path)
        except AGIHangup:
            pass
        except AGIRecordFailed as failure:
            state.path[at] = f"voice-message:not-recorded-{failure.reason}"
            state.message_failed = True
            self._not_recorded(state, failure)
            if from_queue:
                await self._no_message(channel, state)
            await self._play(channel, P.SORRY_TECHNICAL)
            await self._to_agents(channel, state, offer_callback=False)
        self._warnings.cleared("writefile")
        empty = recording_has_no_audio(result, self._config.voice_message_silence_s)
        if empty is None and result is None:
            # A hang-up's answer gives the channel no end position: the file's size may.
            empty = wav_has_no_audio(await self._backend.recording_size(recording))
        if empty:
            state.path[at] = "voice-message:empty"
            state.outcome = CallOutcome.MESSAGE_EMPTY
            self.log.info("Voice message {recording} of call {call_id} holds no audio: no "
                          "appeal or note made", recording=recording, call_id=state.start.call_id)
            if result is None:
                raise _Done()
            await self._play(channel, P.MESSAGE_EMPTY)
            await self._goodbye(channel, state)
        state.outcome = CallOutcome.MESSAGE_LEFT
        filed = None
        try:
            filed = await self._backend.leave_voice_message(state.start.caller, recording,
                                                            state.start.call_id)
        except Exception as error:
            self.log.warn("Voice message {path} kept but no appeal made: {error!r}", path=path,
                          error=error)
        if filed is not None:
            state.appeal_id = filed.appeal_id
            if filed.joined:
                state.path[at] = "voice-message:joined"
        if result is None:
            raise _Done()
        await self._play(channel, P.MESSAGE_JOINED if filed and filed.joined else P.MESSAGE_SAVED)
        await self._goodbye(channel, state)

    async def _record(self, channel, state: CallState, path: str) -> RecordingResult:
        """RECORD FILE after the beep; without it when Asterisk has no beep to play (its
        core sounds not installed: `(randomerror)`): a message without the tone beats none."""
        record = dict(fmt=RECORDING_FORMAT, escape_digits=P.KEYS[P.LEAVE_MESSAGE],
                      timeout_ms=self._config.voice_message_max_s * 1000,
                      silence_s=self._config.voice_message_silence_s)
        try:
            result = await channel.record_file(path, beep=True, **record)
        except AGIRecordFailed as failure:
            if failure.reason != "randomerror":
                raise
            state.visit("no-beep")
            line = (f"ivr: Asterisk could not play its `beep` before a voice message (RECORD "
                    f"FILE answered (randomerror)): messages are recorded without the tone the "
                    f"prompt announces; {beep_fix()}")
            if self._warnings.met("beep", line):
                self.log.warn("Call {call_id}: recording without the beep. {problem}",
                              call_id=state.start.call_id, problem=line)
            return await channel.record_file(path, beep=False, **record)
        self._warnings.cleared("beep")
        return result

    def _not_recorded(self, state: CallState, failure: AGIRecordFailed) -> None:
        """Logged once per process with its fix (the call's record says it every time)."""
        directory = os.path.dirname(failure.path) or "."
        line = (f"ivr: voice messages are lost: Asterisk could not write {failure.path} (RECORD "
                f"FILE answered ({failure.reason})): {spool_fix(directory)}")
        if self._warnings.met("writefile", line):
            self.log.warn("Call {call_id}: no voice message recorded; the caller is sent to "
                          "the agents. {problem}", call_id=state.start.call_id, problem=line)

    async def _no_message(self, channel, state: CallState) -> None:
        """Nobody could take the call and no message can be recorded: say so, and end."""
        state.visit("no-message")
        state.outcome = CallOutcome.FAILED
        await self._play(channel, P.MESSAGE_NOT_RECORDED)
        await self._goodbye(channel, state)

    # Helpers ----------------------------------------------------------------------------

    async def _goodbye(self, channel, state: CallState) -> None:
        state.visit("goodbye")
        await self._play(channel, P.THANKS_GOODBYE)
        await channel.hangup()
        raise _Done()

    async def _apology_then_agents(self, channel, state: CallState) -> None:
        state.visit("backend-fault")
        await self._play(channel, P.SORRY_TECHNICAL)
        await self._to_agents(channel, state, offer_callback=False)

    async def _rescue(self, channel, state: CallState) -> None:
        """An unexpected error in the flow: still try to put the caller through to an agent."""
        if getattr(channel, "hung_up", False) or state.outcome is CallOutcome.TO_QUEUE:
            state.outcome = state.outcome or CallOutcome.FAILED
            return
        state.outcome = CallOutcome.FAILED
        try:
            await self._apology_then_agents(channel, state)
        except _Done:
            pass
        except Exception:
            self.log.failure("Could not hand call {call_id} to the agents",
                             call_id=state.start.call_id)
            state.outcome = CallOutcome.FAILED

    def _prompt(self, prompt_id: str) -> str:
        return self._config.prompt_prefix + prompt_id

    async def _play(self, channel, prompt_id: str, escape: str = "") -> str:
        """Play a prompt and return the key that interrupted it; 0 goes straight to an agent.
        A missing sound file is logged and skipped: it is not a hang-up."""
        try:
            pressed = await channel.stream_file(self._prompt(prompt_id), escape)
        except AGISoundFileMissing:
            self._missing(prompt_id, "skipped it", build_fix(self._config))
            return ""
        self._warnings.prompt_played(self._prompt(prompt_id))
        if pressed == AGENT:
            raise _AgentRequested()
        return pressed

    async def _ask(self, channel, state: CallState, prompt_id: str, timeout_ms: int,
                   max_digits: int) -> str:
        """GET DATA. Asterisk reads no key when it cannot play the prompt (`200 result=-1`:
        app.c's ast_app_getdata gives up with the file), so with nothing to ask by the caller
        goes to the agents."""
        try:
            digits = await channel.get_data(self._prompt(prompt_id), timeout_ms, max_digits)
        except AGISoundFileMissing:
            self._missing(prompt_id, "went to the agents", build_fix(self._config))
            state.path[-1] = f"{state.step}:prompt-missing"
            state.menu_choice = state.menu_choice or "agent"
            await self._to_agents(channel, state)
            raise  # not reached: the call ends in the queue
        self._warnings.prompt_played(self._prompt(prompt_id))
        return digits

    def _missing(self, prompt_id: str, instead: str, fix: str) -> None:
        """Logged once per prompt and process, with its fix: a missing file stays missing
        until someone acts, and one line a call would bury the rest of the log."""
        if not self._warnings.prompt_missing(self._prompt(prompt_id), fix):
            return
        self.log.warn("Prompt {file} is missing from Asterisk's sounds; the call {instead}. "
                      "Fix: {fix}", file=self._prompt(prompt_id), instead=instead, fix=fix)

    async def _record_start(self, state: CallState) -> None:
        """Written beside the call, not before it: the caller is answered at once, and the
        closing write creates the record if this one has not got through."""
        async def write() -> None:
            try:
                await self._backend.begin_call(state.start)
            except BackendUnavailable:
                pass
        defer.Deferred.fromCoroutine(write())

    async def _record_end(self, state: CallState) -> None:
        if state.recorded:
            return
        state.recorded = True
        outcome = state.outcome or CallOutcome.ABANDONED
        if self._metrics is not None:
            self._metrics.calls.labels(outcome.value).inc()
        end = CallEnd(call_id=state.start.call_id, outcome=outcome, ended_at=self._backend.now(),
                      path=tuple(state.path), menu_choice=state.menu_choice,
                      abandoned_at=state.step if outcome is CallOutcome.ABANDONED else None,
                      appeal_id=state.appeal_id, queue_waiting=state.queue_waiting)
        try:
            await self._backend.end_call(state.start, end)
        except BackendUnavailable:
            self.log.error("Call record {call_id} could not be written: {outcome} via {path}",
                           call_id=state.start.call_id, outcome=outcome.value,
                           path=">".join(state.path))


class _AgentRequested(Exception):
    """The caller pressed 0 during a prompt: straight to an agent."""
