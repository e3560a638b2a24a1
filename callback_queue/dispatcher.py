"""The dispatcher: claims due callback tasks and places their calls through AMI.

Each poll (a `LoopingCall` on the injected `IReactorTime`) it claims, per trunk, as many
due tasks as the trunk has free lines, and originates each (Async) into the survey context
with the task id as a channel variable. A queue callback's call also carries the call id of
the IVR call that asked for it (HOTLINE_CALL_ID, which manager.conf's channelvars shows on
its AgentConnect), and, where the trunk lets it through, the citizen's number as its caller
id: the agent who answers it gets the citizen's card. The OriginateResponse reason decides what follows;
no response in time counts as a failed attempt. An answered queue callback is not done yet:
it is done when an agent takes it (the AgentConnect of its channel), and a failed attempt
when its channel leaves the queue first (QueueCallerAbandon, or a Hangup when the citizen
hangs up or the queue's wait runs out). What happened while no dispatcher watched (its
link was down, or its process stopped) is asked of Asterisk (`_check_queue_calls`): after
each login, for the answered queue callbacks this dispatcher holds, and at each poll, for
any whose lease ran out, which it takes over. Queue callbacks (a caller who chose to be
called back) are placed only while nobody waits in the agents' queue and an agent is free:
free in Asterisk's QueueStatus and not in wrap-up, as Asterisk counts it in
QUEUE_MEMBER(<queue>,ready) (QueueStatus cannot say: it carries a member's own wrap-up, not
the queue's), or, where that cannot be read, in the hall's live state; while Asterisk does
not say (no queue status), they wait on the agents' worklist.
Rules read the wall clock; timers use the reactor's.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from twisted.application import service
from twisted.internet import defer, task
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from callback_queue.config import CallbacksConfig
from callback_queue.records import Claim
from callback_queue.repository import CallbackRepository, Purpose, QueueCallCheck
from hotline.ami import (
    AMIActionError,
    AMIConnectionLost,
    AMIError,
    AMINotConnected,
    DeviceState,
    Message,
    OriginateReason,
    OriginateTimeout,
    Subscription,
    mask_channel,
)
from hotline.channel_variables import CALL_ID
from hotline.clock import WallClock
from hotline.db import Database
from schemas.callbacks import AttemptResult, CallbackOrigin, CallbackState, CallbackTask
from schemas.live import QueueCall, QueueMember

REASONS = {OriginateReason.ANSWERED: AttemptResult.ANSWERED,
           OriginateReason.BUSY: AttemptResult.BUSY,
           OriginateReason.NO_ANSWER: AttemptResult.NO_ANSWER,
           OriginateReason.CONGESTION: AttemptResult.CONGESTION}
# The device state of a member that can take a call: Not in use. (app_queue.c also rings
# Unknown; Invalid and Unavailable, an unregistered phone, can take nothing.)
FREE_MEMBER_STATES = {str(int(DeviceState.NOT_INUSE))}
# What ends an answered queue callback's wait, on its channel (Uniqueid: the ChannelId the
# Originate gave it): an agent took it, or the citizen left the queue first.
AGENT_CONNECT = "AgentConnect"
QUEUE_END_EVENTS = (AGENT_CONNECT, "QueueCallerAbandon", "Hangup")
# Asterisk's answer to Status of a channel that is gone (manager.c action_status()).
NO_SUCH_CHANNEL = "no such channel"
# The hall's record of a caller's passage through the queue (schemas.live.QueueCall, written
# by every process's AMI recorder): an agent answered it, or it left without one.
PASSAGE_REACHED = ("answered", "completed")
PASSAGE_NOT_REACHED = ("abandoned", "left")


class Whereabouts(enum.Enum):
    """Where Asterisk has an answered queue callback's channel now (Status of it)."""

    GONE = "gone"  # hung up: the queue call is over, one way or the other
    BRIDGED = "bridged"  # in a bridge: the queue put the citizen through to an agent
    UP = "up"  # alive and in no bridge: waiting in the queue (or on its way to it)


@dataclass(frozen=True)
class QueueEnd:
    """How a watched queue callback ended: put through (`reached`), or the failed attempt's
    result, and what said so (an event's name, or what Asterisk answered afterwards)."""

    reached: bool
    result: AttemptResult
    why: str

    @classmethod
    def of_event(cls, name: str) -> QueueEnd:
        reached = name.lower() == AGENT_CONNECT.lower()
        return cls(reached, AttemptResult.ANSWERED if reached else AttemptResult.QUEUE_ABANDONED,
                   name)


def _count(message: Message, key: str) -> int:
    """A count field of a queue status event; absent or empty is 0, anything else that is
    not a number raises ValueError."""
    value = message.get(key, "").strip()
    return int(value) if value else 0


def members_in_wrap_up(session: Session, queue: str, now: dt.datetime) -> set[str]:
    """The interfaces of the queue's members in wrap-up at `now`, as the hall's live state
    has them (`schemas.live`: every process's AMI recorder sets the end of a member's wrap-up
    at its AgentComplete, from the queue's wrap-up time when the member has none of its own).
    Asterisk offers such a member no call, and no manager event says when that ends."""
    return set(session.scalars(select(QueueMember.interface).where(
        QueueMember.queue == queue, QueueMember.logged_in.is_(True),
        QueueMember.wrap_up_until > now)))


def passage_of(session: Session, channel_id: str) -> str | None:
    """The outcome the hall recorded for the queue passage of a caller channel (waiting,
    answered, completed, abandoned, left), or None when no process recorded one."""
    return session.scalar(select(QueueCall.outcome).where(
        QueueCall.caller_uniqueid == channel_id))


def call_ids_of(session: Session, task_ids: list[int]) -> dict[int, str]:
    """The call id of the IVR call that asked for each task, for the tasks that have one."""
    return {task_id: call_id for task_id, call_id in session.execute(
        select(CallbackTask.id, CallbackTask.call_id).where(
            CallbackTask.id.in_(task_ids), CallbackTask.call_id.is_not(None)))}


def default_owner(name: str = "hotline") -> str:
    """A lease owner unique to this process run."""
    return f"{name}:{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class CallbackDispatcher(service.Service):
    log = Logger()
    STOP_WAIT_S = 30.0  # a graceful stop waits this long at most for calls in the air

    def __init__(self, db: Database, repository: CallbackRepository, ami: Any,
                 clock: WallClock, timers: IReactorTime, config: CallbacksConfig,
                 owner: str | None = None, stop_wait_s: float | None = None) -> None:
        self.setName("callback-dispatcher")
        self._db = db
        self._repository = repository
        self._policy = repository.policy
        self._ami = ami
        self._clock = clock
        self._timers = timers
        self._config = config
        self.owner = owner or default_owner()
        self._loop: task.LoopingCall | None = None
        self._inflight: set[defer.Deferred] = set()
        self._ticking: defer.Deferred | None = None
        self._was_down = False
        self._queue_trouble: str | None = None  # why the queue's state is unknown, if it is
        self._ready_trouble: str | None = None  # why QUEUE_MEMBER(q,ready) is unread, if it is
        self._held_polls = 0
        # Queue callbacks watched for an agent, by channel: the first of QUEUE_END_EVENTS
        # fires the Deferred with the event's name; past the lease (once it is known) the
        # task is no longer this process's to settle, and the watch is dropped.
        self._waiting: dict[str, tuple[defer.Deferred, dt.datetime | None]] = {}
        self._subscriptions: list[Subscription] = []
        # Set at start and at each login of the AMI link after the first poll: the next
        # poll asks Asterisk about the queue callbacks this dispatcher holds, whose events
        # may have been lost while the link was down.
        self._check_own = True
        self._login_subscription: Any = None
        self.stop_wait_s = stop_wait_s if stop_wait_s is not None else min(
            self.STOP_WAIT_S, config.originate_response_s)

    def startService(self) -> None:
        super().startService()
        self._check_own = True
        self._loop = task.LoopingCall(self._poll)
        self._loop.clock = self._timers
        self._loop.start(self._config.poll_s, now=True)
        self.log.info("Callback dispatcher {owner} started: trunks {trunks}, poll {poll}s",
                      owner=self.owner, trunks=self._config.trunks, poll=self._config.poll_s)

    def stopService(self) -> defer.Deferred:
        """Claim nothing more; wait (at most `stop_wait_s`) for the calls in the air to get
        their OriginateResponse and their results written, which ends their leases. A call
        still unanswered then keeps its lease: it may be ringing, and another process
        dialling it before the lease runs out would call the citizen twice."""
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._login_subscription is not None:
            self._login_subscription.cancel()
            self._login_subscription = None
        self._stop_waiting()
        return defer.Deferred.fromCoroutine(self._drain())

    def _stop_waiting(self) -> None:
        """Citizens still waiting in the queue are left to their leases: another process,
        or this one started again, settles them when the leases run out."""
        if self._waiting:
            self.log.info("Callback dispatcher {owner} stops watching {count} queue "
                          "callback(s) waiting for an agent; their leases settle them",
                          owner=self.owner, count=len(self._waiting))
        for channel_id in list(self._waiting):
            self._unwatch(channel_id)
        for subscription in self._subscriptions:
            subscription.cancel()
        self._subscriptions = []

    async def _drain(self) -> None:
        done: defer.Deferred = defer.Deferred()

        def finish(_=None) -> None:
            if not done.called:
                done.callback(None)

        timer = self._timers.callLater(self.stop_wait_s, finish)

        async def settle() -> None:
            if self._ticking is not None:
                await self._ticking  # a claim in progress places its calls
            await self.idle()

        defer.Deferred.fromCoroutine(settle()).addBoth(finish)
        await done
        if timer.active():
            timer.cancel()
        if self._inflight:
            self.log.warn("Callback dispatcher {owner} stopped with {count} call(s) unanswered "
                          "after {seconds}s; their leases bring them back", owner=self.owner,
                          count=len(self._inflight), seconds=self.stop_wait_s)

    def _poll(self) -> defer.Deferred:
        d = self.tick()
        d.addErrback(lambda f: self.log.failure("Callback dispatcher poll failed", f))
        self._ticking = d

        def ticked(result):
            if self._ticking is d:
                self._ticking = None
            return result
        d.addBoth(ticked)
        return d

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    def idle(self) -> defer.Deferred:
        """Fires when every call placed so far has its result written (tests, shutdown)."""
        return defer.DeferredList(list(self._inflight), consumeErrors=True)

    def tick(self) -> defer.Deferred:
        """One poll: claim and place what is due. Fires when the calls are placed, not when
        they end."""
        return defer.Deferred.fromCoroutine(self._tick())

    async def _tick(self) -> list[Claim]:
        placed: list[Claim] = []
        now = self._clock.now()
        for channel_id, (_d, until) in list(self._waiting.items()):
            if until is not None and until < now:
                self._unwatch(channel_id)
        if self._ami_down():
            return placed
        checked = await self._check_queue_calls(now)
        if (checked and self._policy.may_dial(CallbackOrigin.IVR_CALLBACK_REQUEST, now)
                and await self._db.read(self._repository.queue_callbacks_due, now)):
            free = await self._free_agents()
            for trunk in self._config.trunks:
                if free <= 0:
                    break
                claims = await self._claim_and_place(trunk, Purpose.QUEUE,
                                                     min(free, self._config.batch))
                free -= len(claims)
                placed += claims
        if self._policy.may_dial(CallbackOrigin.RESOLUTION, now):
            for trunk in self._config.trunks:
                placed += await self._claim_and_place(trunk, Purpose.SURVEY, self._config.batch)
        return placed

    def _ami_up(self) -> bool:
        """Logged in, so that Asterisk can be asked now (a stand-in without a state is)."""
        return bool(getattr(self._ami, "up", True))

    def _ami_down(self) -> bool:
        """While Asterisk is unreachable nothing is claimed (a claim would only be released
        again); the AMI service reports the link's state itself."""
        state = getattr(self._ami, "state", None)
        down = state in (getattr(self._ami, "UNREACHABLE", None), getattr(self._ami, "REFUSED", None))
        if down != self._was_down:
            self._was_down = down
            if down:
                self.log.warn("Callback dispatcher paused: AMI is {state}", state=state)
            else:
                self.log.info("Callback dispatcher resumed: AMI is {state}", state=state)
        return down

    async def _claim_and_place(self, trunk: str, purpose: str, limit: int) -> list[Claim]:
        claims = await self._db.write(self._repository.claim, owner=self.owner,
                                      now=self._clock.now(), trunk=trunk, limit=limit,
                                      purpose=purpose)
        call_ids: dict[int, str] = {}
        if purpose == Purpose.QUEUE and claims:
            call_ids = await self._db.read(call_ids_of, [claim.task_id for claim in claims])
        for claim in claims:
            d = defer.Deferred.fromCoroutine(self._call(claim, purpose,
                                                        call_ids.get(claim.task_id)))
            self._inflight.add(d)
            d.addBoth(self._landed, d)
        return claims

    def _landed(self, result: object, d: defer.Deferred) -> object:
        self._inflight.discard(d)
        return result

    async def _free_agents(self) -> int:
        """Agents free to take a queue callback, or 0 while any caller waits: a callback is
        never placed ahead of callers already in the queue. Free: not paused, device not in
        use, no call (QueueStatus), and not in wrap-up (`_ready_members`), so that a
        callback is not originated into a queue whose agents are all finishing their last
        call's appeal: the citizen would wait there, and the callers after them too.

        While the queue's state is unknown (Asterisk answers QueueStatus with an error,
        without its event list, with a list that never ends, or with counts that are not
        numbers) no queue callback is placed: they stay on the agents' worklist, and the
        surveys go on. The trouble is logged when it starts or changes, not at every poll."""
        try:
            status = await self._ami.queue_status(queue=self._config.queue)
            waiting = sum(_count(p, "Calls") for p in status.of("QueueParams"))
            free = [m.get("Location", "") for m in status.of("QueueMember")
                    if _count(m, "Paused") == 0 and m.get("Status", "") in FREE_MEMBER_STATES
                    and _count(m, "InCall") == 0]
        except (AMIError, ValueError) as error:
            self._queue_state_unknown(error)
            return 0
        self._queue_state_known()
        if waiting or not free:
            return 0
        ready = await self._ready_members()
        if ready is not None:
            if ready < len(free):
                self.log.debug("Queue callbacks: {ready} of the {free} free member(s) of {queue} "
                               "ready (the others in wrap-up)", ready=ready, free=len(free),
                               queue=self._config.queue)
            return min(ready, len(free))
        wrapping = await self._db.read(members_in_wrap_up, self._config.queue,
                                       self._clock.now())
        ready = [interface for interface in free if interface not in wrapping]
        if len(ready) < len(free):
            self.log.debug("Queue callbacks: {wrapping} of the {free} free member(s) of {queue} "
                           "in wrap-up", wrapping=len(free) - len(ready), free=len(free),
                           queue=self._config.queue)
        return len(ready)

    async def _ready_members(self) -> int | None:
        """The queue's members Asterisk would offer a call now, QUEUE_MEMBER(<queue>,ready):
        not paused, phone Not in use, and not in wrap-up by the queue's own wrapuptime,
        which Asterisk publishes nowhere else (QUEUE_MEMBER's `free` counts a member in
        wrap-up too). None while it cannot be read (an error, or no count: a link without
        Getvar, app_queue not loaded): then the hall's live state judges wrap-up, from
        `[agi] queue_wrapup_s`. Logged when that starts or ends, not at every poll."""
        getvar = getattr(self._ami, "getvar", None)
        if getvar is None:
            return None
        variable = f"QUEUE_MEMBER({self._config.queue},ready)"
        try:
            response = await getvar(variable)
            ready = int(response.get("Value", "").strip())
        except (AMIError, ValueError) as error:
            trouble = f"{type(error).__name__}: {error}"
            if self._ready_trouble is None:
                self.log.warn("Getvar {variable} unread ({error}); wrap-up is judged from the "
                              "hall's live state ([agi] queue_wrapup_s)", variable=variable,
                              error=trouble)
            self._ready_trouble = trouble
            return None
        if self._ready_trouble is not None:
            self.log.info("Getvar {variable} read again: Asterisk judges wrap-up",
                          variable=variable)
            self._ready_trouble = None
        return max(ready, 0)

    def _queue_state_unknown(self, error: Exception) -> None:
        self._held_polls += 1
        kind = type(error).__name__
        if kind == self._queue_trouble:
            self.log.debug("Queue callbacks still held: {error}", error=str(error))
            return
        self._queue_trouble = kind
        self.log.warn("Queue callbacks held while the state of queue {queue} is unknown "
                      "({error}); they stay on the agents' worklist, surveys go on",
                      queue=self._config.queue, error=str(error))

    def _queue_state_known(self) -> None:
        if self._queue_trouble is None:
            return
        self.log.info("Queue {queue} state known again after {polls} poll(s); queue callbacks "
                      "resume", queue=self._config.queue, polls=self._held_polls)
        self._queue_trouble = None
        self._held_polls = 0

    async def _call(self, claim: Claim, purpose: str, call_id: str | None = None) -> None:
        config = self._config
        channel = config.dial_string.format(number=claim.phone, trunk=claim.trunk)
        variables: dict[str, object] = {config.task_variable: claim.task_id,
                                        config.attempt_variable: claim.attempt_id}
        caller_id = config.caller_id
        if purpose == Purpose.SURVEY:
            context, exten = config.survey_context, config.survey_exten
        else:
            context, exten = config.queue_context, config.queue_exten
            # The queue puts this channel through to an agent as the caller: the call id
            # pops the card of the call that asked for it, the number (where the trunk
            # presents it) shows on the agent's phone and finds the card without the id.
            if call_id:
                variables[CALL_ID] = call_id
            if config.queue_callback_caller_id == "citizen":
                caller_id = claim.phone
        action_id = None
        # Watched from before the Originate: the AgentConnect may come in while the answer
        # is still being written.
        waiting = self._watch(claim.channel_id) if purpose == Purpose.QUEUE else None
        try:
            result = await self._ami.originate(
                channel, context=context, exten=exten, priority=1, caller_id=caller_id,
                timeout_ms=config.ring_timeout_s * 1000,
                variables=variables, channel_id=claim.channel_id,
                response_timeout=config.originate_response_s)
            action_id = result.action_id
            outcome = AttemptResult.ANSWERED if result.answered \
                else REASONS.get(result.reason, AttemptResult.FAILED)
        except OriginateTimeout as error:
            action_id = error.action_id
            outcome = AttemptResult.NO_RESPONSE
            self.log.warn("Callback task {task_id}: no OriginateResponse for {action_id} within "
                          "{seconds}s to {channel}; counted as a failed attempt",
                          task_id=claim.task_id, action_id=error.action_id,
                          seconds=error.seconds, channel=mask_channel(channel))
        except AMIConnectionLost as error:
            outcome = AttemptResult.CONNECTION_LOST
            self.log.warn("Callback task {task_id}: AMI link lost during Originate ({error}); the "
                          "call may still be placed, counted as a failed attempt",
                          task_id=claim.task_id, error=str(error))
        except AMINotConnected as error:
            outcome = AttemptResult.NOT_PLACED
            self.log.warn("Callback task {task_id} not placed: {error}", task_id=claim.task_id,
                          error=str(error))
        except AMIActionError as error:
            outcome = AttemptResult.FAILED
            self.log.warn("Callback task {task_id}: Originate refused: {error}",
                          task_id=claim.task_id, error=str(error))
        except Exception:
            outcome = AttemptResult.FAILED
            self.log.failure("Callback task {task_id}: Originate failed unexpectedly",
                             task_id=claim.task_id)
        self.log.info("Callback task {task_id} attempt {attempt} to {channel}: {outcome}",
                      task_id=claim.task_id, attempt=claim.attempt_number,
                      channel=mask_channel(channel), outcome=outcome.value)
        record = None
        try:
            record = await self._db.write(self._repository.originate_result, claim.attempt_id,
                                          self.owner, outcome, self._clock.now(), action_id)
        except Exception:
            self.log.failure("Callback task {task_id}: result {outcome} not written; the lease "
                             "brings the task back", task_id=claim.task_id, outcome=outcome.value)
        if waiting is None:
            return
        if (record is None or record.state is not CallbackState.IN_CALL
                or record.lease_owner != self.owner):
            self._unwatch(claim.channel_id)
            return
        if claim.channel_id in self._waiting:
            self._waiting[claim.channel_id] = (waiting, record.lease_until)
        waiting.addCallback(self._queue_call_ended, claim)

    # Answered queue callbacks ---------------------------------------------------------------

    def _watch(self, channel_id: str) -> defer.Deferred | None:
        subscribe = getattr(self._ami, "subscribe", None)
        if subscribe is None:
            return None  # no events to watch: the lease settles the call
        if not self._subscriptions:
            self._subscriptions = [subscribe(name, self._channel_event)
                                   for name in QUEUE_END_EVENTS]
        d: defer.Deferred = defer.Deferred()
        self._waiting[channel_id] = (d, None)
        return d

    def _unwatch(self, channel_id: str) -> None:
        self._waiting.pop(channel_id, None)

    def _channel_event(self, event: Message) -> None:
        self._ended(event.get("Uniqueid", ""), QueueEnd.of_event(event.get("Event", "")))

    def _ended(self, channel_id: str, end: QueueEnd) -> None:
        """The first word of a watched channel's end settles it; any later word is ignored."""
        if channel_id not in self._waiting:
            return
        d, _until = self._waiting[channel_id]
        self._unwatch(channel_id)
        d.callback(end)

    def _queue_call_ended(self, end: QueueEnd, claim: Claim) -> None:
        self.log.info("Callback task {task_id} attempt {attempt}: {what}",
                      task_id=claim.task_id, attempt=claim.attempt_number,
                      what=f"put through to an agent ({end.why})" if end.reached
                      else f"left the queue before an agent answered ({end.why})")
        d = defer.Deferred.fromCoroutine(self._write_queue_result(claim, end))
        self._inflight.add(d)
        d.addBoth(self._landed, d)

    async def _write_queue_result(self, claim: Claim, end: QueueEnd) -> None:
        try:
            await self._db.write(self._repository.queue_call_result, claim.attempt_id,
                                 self.owner, end.reached, self._clock.now(), end.result)
        except Exception:
            self.log.failure("Callback task {task_id}: queue result not written; the lease "
                             "settles the task", task_id=claim.task_id)

    # What no dispatcher saw ------------------------------------------------------------------

    def _logged_in(self) -> None:
        self._check_own = True

    async def _check_queue_calls(self, now: dt.datetime) -> bool:
        """Ask Asterisk about the answered queue callbacks whose end may have gone unseen:
        those whose lease ran out (taken over from whoever held them) and, after a login,
        this dispatcher's own. Each one's channel is watched again before Asterisk is
        asked, so that an event arriving meanwhile settles it as usual.

        Status of the channel tells: gone, so the queue call is over (the hall's record of
        its passage says whether an agent answered it; without one it is a failed attempt,
        `lease_expired` or `connection_lost`, since nobody knows); in a bridge, so an agent
        has the citizen (completed); up and in no bridge, so still waiting (watched on).
        While Asterisk cannot be asked (the link is not logged in, or the question fails),
        the tasks wait: failing them blind would call back a citizen an agent may be
        talking to. So False (no queue callback is claimed in this poll) while the link is
        not logged in: a claim would dial again a task whose lease ran out unasked."""
        on_login = getattr(self._ami, "on_login", None)
        if self._login_subscription is None and on_login is not None:
            # From the first poll on, as the event subscriptions are made at the first watch.
            self._login_subscription = on_login(self._logged_in)
        if not self._ami_up():
            return False
        if (getattr(self._ami, "subscribe", None) is None
                or getattr(self._ami, "channel_status", None) is None):
            return True  # no events to watch, nothing to ask: leases run out as they do
        own, self._check_own = self._check_own, False
        try:
            checks = await self._db.write(self._repository.queue_calls_to_check, self.owner,
                                          now, own=own, limit=self._config.batch)
        except Exception:
            self._check_own = self._check_own or own
            raise
        for check in checks:
            await self._check_queue_call(check)
        return True

    async def _check_queue_call(self, check: QueueCallCheck) -> None:
        claim = check.claim
        channel_id = claim.channel_id
        if channel_id in self._waiting:
            d, until = self._waiting[channel_id]
            self._waiting[channel_id] = (d, check.lease_until or until)
        else:
            watch = self._watch(channel_id)
            if watch is None:
                return
            self._waiting[channel_id] = (watch, check.lease_until)
            watch.addCallback(self._queue_call_ended, claim)
        try:
            where = await self._whereabouts(channel_id)
        except AMIError as error:
            if channel_id not in self._waiting:
                return  # an event settled it while Asterisk was asked
            self.log.warn("Callback task {task_id}: Asterisk not asked how its queue call "
                          "went ({error}); it waits", task_id=claim.task_id, error=str(error))
            return
        if channel_id not in self._waiting:
            return  # an event settled it while Asterisk was asked
        self.log.info("Callback task {task_id} attempt {attempt}: Asterisk has its channel "
                      "{where}", task_id=claim.task_id, attempt=claim.attempt_number,
                      where=where.value)
        if where is Whereabouts.BRIDGED:
            self._ended(channel_id, QueueEnd(True, AttemptResult.ANSWERED, "in a bridge"))
        elif where is Whereabouts.GONE:
            passage = await self._db.read(passage_of, channel_id)
            if passage in PASSAGE_REACHED:
                end = QueueEnd(True, AttemptResult.ANSWERED, f"gone, passage {passage}")
            elif passage in PASSAGE_NOT_REACHED:
                end = QueueEnd(False, AttemptResult.QUEUE_ABANDONED, f"gone, passage {passage}")
            else:
                end = QueueEnd(False, AttemptResult.CONNECTION_LOST if check.taken_from is None
                               else AttemptResult.LEASE_EXPIRED,
                               f"gone, passage {passage or 'not recorded'}")
            self._ended(channel_id, end)

    async def _whereabouts(self, channel_id: str) -> Whereabouts:
        try:
            status = await self._ami.channel_status(channel_id)
        except AMIActionError as error:
            if error.message.strip().lower() == NO_SUCH_CHANNEL:
                return Whereabouts.GONE
            raise
        events = status.of("Status")
        if not events:  # hung up while Asterisk listed it
            return Whereabouts.GONE
        return Whereabouts.BRIDGED if events[0].get("BridgeID", "").strip() else Whereabouts.UP
