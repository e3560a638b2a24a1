"""The callback queue's face to the rest of the process: what the IVR, the survey flow and
(later) the agents' web application call. Every method returns a Deferred (or is a
coroutine) and runs its database work in the pool; time comes from the injected wall clock."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.logger import Logger

from callback_queue.config import CallbacksConfig
from callback_queue.errors import NoManagerLink, NotAllowed
from callback_queue.records import AgentDial, TaskRecord, WorklistItem
from callback_queue.repository import CallbackRepository
from callback_queue.return_calls import ReturnCallOutcome
from hotline.ami import AMIError, mask_channel
from hotline.clock import WallClock
from hotline.db import Database
from hotline.hooks import CallbackRequestedHook
from hotline.masking import mask_phone
from hotline.phones import PhoneNumberError, normalise_phone
from schemas.callbacks import CallbackOrigin
from schemas.enums import Satisfaction


class CallbackQueue:
    log = Logger()

    def __init__(self, db: Database, repository: CallbackRepository, ami: Any,
                 clock: WallClock, config: CallbacksConfig) -> None:
        self._db = db
        self.repository = repository
        self._ami = ami
        self._clock = clock
        self._config = config
        # The core's callback-requested hook, set by makeService: its participants (the
        # confirmation SMS) write in the transaction that records the request.
        self.requested_hook: CallbackRequestedHook | None = None

    # From the IVR ------------------------------------------------------------------------

    async def request_callback(self, phone: str, call_id: str) -> TaskRecord:
        """A caller chose to be called back rather than wait (the IVR's CallbackRequester)."""
        number = _phone(phone)
        record = await self._db.write(self._create_request, number, self._clock.now(), call_id)
        self.log.info("Queue callback {task_id} requested by {phone} in call {call_id}",
                      task_id=record.id, phone=mask_phone(number), call_id=call_id)
        return record

    def _create_request(self, session, number: str, now, call_id: str) -> TaskRecord:
        record = self.repository.create_ivr_task(session, number,
                                                 CallbackOrigin.IVR_CALLBACK_REQUEST, now,
                                                 call_id=call_id)
        if self.requested_hook is not None:
            self.requested_hook.run(session, number, call_id, now, record.due_by)
        return record

    async def request_voice_message_callback(self, phone: str, call_id: str,
                                             appeal_id: int | None = None) -> TaskRecord:
        """A voice message left after hours: an agent calls back soon after opening."""
        number = _phone(phone)
        return await self._db.write(self.repository.create_ivr_task, number,
                                    CallbackOrigin.VOICE_MESSAGE, self._clock.now(),
                                    call_id=call_id, appeal_id=appeal_id)

    # From the survey flow ----------------------------------------------------------------

    async def record_rating(self, task_id: str, digit: str) -> TaskRecord:
        """The survey flow's sink: `digit` is '1', '2', '3', or '' for no rating."""
        try:
            number = int(task_id)
        except (TypeError, ValueError):
            raise NotAllowed(f"callback task id must be a number, got {task_id!r}") from None
        return await self._db.write(self.repository.record_survey, number, digit or "",
                                    self._clock.now())

    # For agents ---------------------------------------------------------------------------

    def worklist(self, agent_id: int) -> defer.Deferred[list[WorklistItem]]:
        return self._db.read(self.repository.worklist, agent_id, self._clock.now())

    async def click_to_call(self, task_id: int, agent_id: int) -> TaskRecord:
        """Ring the agent's phone first; when the agent answers, the dialplan
        (`agent_context`) dials the citizen, with the task id on the channel for the screen."""
        if self._ami is None:  # refuse before claiming: a claim would hold the task for the lease
            raise NoManagerLink("no AMI link in this process: the call cannot be placed")
        dial: AgentDial = await self._db.write(self.repository.claim_for_agent, task_id,
                                               agent_id, self._clock.now())
        config = self._config
        answered, action_id = False, None
        try:
            result = await self._ami.originate(
                dial.interface, context=config.agent_context, exten=dial.phone, priority=1,
                caller_id=config.caller_id, timeout_ms=config.ring_timeout_s * 1000,
                variables={config.task_variable: dial.task_id,
                           config.attempt_variable: dial.attempt_id,  # the recording's name
                           # the citizen's leg, from [callbacks] dial_string like every other
                           # call the queue places; the dialplan only runs Dial() with it
                           DIAL_VARIABLE: config.dial_string.format(number=dial.phone,
                                                                    trunk=config.trunks[0]),
                           RING_VARIABLE: config.ring_timeout_s},
                channel_id=dial.channel_id,
                response_timeout=config.originate_response_s)
            answered, action_id = result.answered, result.action_id
        except AMIError as error:
            self.log.warn("Click-to-call for task {task_id}: agent {interface} not rung: {error}",
                          task_id=task_id, interface=mask_channel(dial.interface),
                          error=str(error))
        return await self._db.write(self.repository.agent_leg_result, dial, answered,
                                    self._clock.now(), action_id)

    def record_agent_outcome(self, task_id: int, agent_id: int, *, reached: bool,
                             rating: Satisfaction | None = None,
                             reason: str | None = None,
                             attempt: int | None = None) -> defer.Deferred[TaskRecord]:
        """The outcome form: `attempt` is the attempt it was shown for, so that a second post
        of it fails with `OutcomeAlreadyRecorded` instead of counting twice."""
        return self._db.write(self.repository.record_agent_outcome, task_id, agent_id,
                              reached=reached, rating=rating, reason=reason,
                              now=self._clock.now(), attempt=attempt)

    def record_return_call(self, task_id: int, agent_id: int, *, attempt: int | None = None,
                           **outcome: Any) -> defer.Deferred[TaskRecord]:
        """The 回电 form (a voice message's or a queue callback's), its fields those of
        `ReturnCallOutcome` (the web app does not import this package):
        `callback_queue.return_calls` says where what the citizen said goes."""
        return self._db.write(self.repository.record_return_call, task_id, agent_id,
                              outcome=ReturnCallOutcome(**outcome), now=self._clock.now(),
                              attempt=attempt)

    def get(self, task_id: int) -> defer.Deferred[TaskRecord]:
        return self._db.read(self.repository.get, task_id)


# Channel variables of a click-to-call for [hotline-agent-callback] (docs/asterisk/extensions.conf).
DIAL_VARIABLE = "HOTLINE_DIAL"
RING_VARIABLE = "HOTLINE_RING_S"


def _phone(phone: str) -> str:
    try:
        return normalise_phone(phone)
    except PhoneNumberError as error:
        raise NotAllowed(f"callback phone number: {error}") from None
