"""The callback queue's database work. Each function runs inside one transaction handed in
by `Database` (in its thread pool) and returns plain records.

Claiming takes rows with `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite serialises writers
anyway) and a lease: a task whose dispatcher died comes back when `lease_until` passes. The
calls in the air per trunk are counted under a transaction-scoped advisory lock on the
trunk, so that several processes never exceed its limit together.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, or_, select, text
from sqlalchemy.orm import Session
from twisted.logger import Logger

from callback_queue import return_calls
from callback_queue.errors import (
    CallbackError,
    NotAllowed,
    NotYours,
    OutcomeAlreadyRecorded,
    StaleOutcome,
    TaskBusy,
    TaskNotFound,
    TooSoon,
)
from callback_queue.policy import CallbackPolicy, GiveUp
from callback_queue.records import (
    AgentDial,
    AttemptRecord,
    Claim,
    OpenAppeal,
    TaskRecord,
    WorklistItem,
)
from callback_queue.return_calls import ReturnCallOutcome
from hotline import audit
from hotline.appeals import AppealRecord, AppealRepository
from hotline.hooks import SurveySmsHook
from hotline.masking import mask_phone
from schemas.callbacks import (
    LEASED_STATES,
    OPEN_STATES,
    AttemptResult,
    CallbackAttempt,
    CallbackMode,
    CallbackOrigin,
    CallbackOutcome,
    CallbackState,
    CallbackTask,
)
from schemas.calls import CallRecord
from schemas.enums import AppealChannel, AppealStatus, Satisfaction, SmsKind, SmsLane, SmsState
from schemas.models import Agent, Appeal
from schemas.sms import SmsMessage

SYSTEM = "system:callback-queue"
SURVEY_ACTOR = "system:callback-survey"
QUEUE_ORIGINS = (CallbackOrigin.IVR_CALLBACK_REQUEST, CallbackOrigin.VOICE_MESSAGE)
RATINGS = {"1": Satisfaction.SATISFIED, "2": Satisfaction.BASICALLY_SATISFIED,
           "3": Satisfaction.DISSATISFIED}
# An Originate that never reached Asterisk is tried again after this, not counted.
NOT_PLACED_DELAY = dt.timedelta(seconds=60)


class Purpose:
    """What a dispatcher claims: automated surveys, or queue callbacks for the agents."""

    SURVEY = "survey"
    QUEUE = "queue"


class CallbackRepository:
    log = Logger()

    def __init__(self, policy: CallbackPolicy, appeals: AppealRepository) -> None:
        self.policy = policy
        self.appeals = appeals
        self.config = policy.config
        # The core's survey-SMS hook, set by makeService: the SMS content layer writes the
        # survey with its template and signature. Without participants, `sms_survey_text`.
        self.survey_sms_hook: SurveySmsHook | None = None

    # Creating tasks -------------------------------------------------------------------------

    def on_resolved(self, session: Session, appeal: AppealRecord) -> None:
        """The resolve participant: the appeal's callback, in the resolving transaction."""
        now = appeal.resolved_at or appeal.updated_at
        self._cancel_open_for_appeal(session, appeal.id, now)
        plan = self.policy.plan_resolution(appeal.kind, now)
        task = CallbackTask(
            appeal_id=appeal.id, citizen_phone=appeal.citizen_phone,
            origin=CallbackOrigin.RESOLUTION, mode=plan.mode, state=CallbackState.PENDING,
            appeal_kind=appeal.kind, unit_id=appeal.unit_id, assigned_agent_id=appeal.agent_id,
            resolved_at=now, window_start=plan.window_start, due_by=plan.due_by,
            next_attempt_at=plan.window_start, attempts=0, max_attempts=plan.max_attempts,
            created_at=now, updated_at=now)
        session.add(task)
        session.flush()
        self.log.info("Callback task {task_id} for appeal {case_number} ({mode}), window "
                      "{window_start} due {due_by}", task_id=task.id,
                      case_number=appeal.case_number, mode=plan.mode.value,
                      window_start=plan.window_start.isoformat(), due_by=plan.due_by.isoformat())

    def on_created(self, session: Session, appeal: AppealRecord) -> None:
        """The create participant: a voice message (an appeal opened from a recording) gets
        its agent callback in the transaction that opens it."""
        if appeal.channel is not AppealChannel.VOICE_MESSAGE:
            return
        self.create_ivr_task(session, appeal.citizen_phone, CallbackOrigin.VOICE_MESSAGE,
                             appeal.created_at, call_id=appeal.call_id, appeal_id=appeal.id)

    def on_merged(self, session: Session, merged: AppealRecord, into: AppealRecord) -> None:
        """The merge participant: a duplicate's open callbacks cancelled, in the merging
        transaction; the citizen is called back once, about the appeal it joined."""
        self._cancel_open_for_appeal(session, merged.id, merged.updated_at)

    def _cancel_open_for_appeal(self, session: Session, appeal_id: int, now: dt.datetime) -> None:
        """A re-resolved appeal owes one callback, about its newest resolution."""
        for task in session.scalars(select(CallbackTask)
                                    .where(CallbackTask.appeal_id == appeal_id,
                                           CallbackTask.state.in_(OPEN_STATES))
                                    .with_for_update()):
            task.state = CallbackState.CANCELLED
            task.outcome = CallbackOutcome.CANCELLED
            task.completed_at = now
            task.completed_by = SYSTEM
            task.lease_owner = task.lease_until = None
            task.updated_at = now

    def create_ivr_task(self, session: Session, phone: str, origin: CallbackOrigin,
                        now: dt.datetime, *, call_id: str | None = None,
                        appeal_id: int | None = None) -> TaskRecord:
        """A caller's request to be called back, or a voice message's callback. One open
        request per phone: asking twice does not queue two calls."""
        if origin is CallbackOrigin.RESOLUTION:
            raise ValueError("resolution callbacks are created by the resolve hook")
        existing = session.scalar(select(CallbackTask)
                                  .where(CallbackTask.citizen_phone == phone,
                                         CallbackTask.origin.in_(QUEUE_ORIGINS),
                                         CallbackTask.state.in_(OPEN_STATES))
                                  .order_by(CallbackTask.id).limit(1))
        if existing is not None:
            return TaskRecord.of(existing)
        plan = self.policy.plan_ivr(now)
        kind = unit_id = agent_id = None
        if appeal_id is not None:
            appeal = session.get(Appeal, appeal_id)
            if appeal is not None:
                kind, unit_id, agent_id = appeal.kind, appeal.unit_id, appeal.agent_id
        task = CallbackTask(
            appeal_id=appeal_id, citizen_phone=phone, origin=origin, mode=plan.mode,
            state=CallbackState.PENDING, appeal_kind=kind, unit_id=unit_id,
            assigned_agent_id=agent_id, call_id=call_id, window_start=plan.window_start,
            due_by=plan.due_by, next_attempt_at=plan.window_start, attempts=0,
            max_attempts=plan.max_attempts, created_at=now, updated_at=now)
        session.add(task)
        session.flush()
        return TaskRecord.of(task)

    # Claiming --------------------------------------------------------------------------------

    def claim(self, session: Session, *, owner: str, now: dt.datetime, trunk: str,
              limit: int, purpose: str = Purpose.SURVEY) -> list[Claim]:
        """Take up to `limit` due tasks for `trunk` (never above its configured calls in the
        air), lease them to `owner`, and open an attempt for each."""
        if trunk not in self.config.trunks:
            raise ValueError(f"no trunk {trunk!r} in callbacks.trunks")
        capacity = self.config.calls_per_trunk
        if session.get_bind().dialect.name == "postgresql":
            key = zlib.crc32(f"callback-trunk:{trunk}".encode()) & 0x7FFFFFFF
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        in_air = session.scalar(select(func.count()).select_from(CallbackTask)
                                .where(CallbackTask.trunk == trunk,
                                       CallbackTask.state.in_(LEASED_STATES),
                                       CallbackTask.lease_until > now)) or 0
        free = min(limit, capacity - in_air)
        if free <= 0:
            return []
        if purpose == Purpose.SURVEY:
            which = and_(CallbackTask.mode == CallbackMode.AUTOMATED,
                         CallbackTask.origin == CallbackOrigin.RESOLUTION)
        else:
            which = and_(CallbackTask.mode == CallbackMode.AGENT,
                         CallbackTask.origin.in_(QUEUE_ORIGINS))
        # Two statements, each a range of one index: first the tasks whose process died
        # (lease run out), then the due ones, soonest first.
        rows = list(session.scalars(
            select(CallbackTask).where(which, CallbackTask.state.in_(LEASED_STATES),
                                       CallbackTask.lease_until < now)
            .order_by(CallbackTask.lease_until, CallbackTask.id).limit(free)
            .with_for_update(skip_locked=True)))
        if len(rows) < free:
            rows += session.scalars(
                select(CallbackTask).where(which, CallbackTask.state == CallbackState.PENDING,
                                           CallbackTask.next_attempt_at <= now)
                .order_by(CallbackTask.next_attempt_at, CallbackTask.id).limit(free - len(rows))
                .with_for_update(skip_locked=True))
        if not rows:
            return []
        # Set-based from here: a handful of statements per batch, not per task, because
        # claims on one trunk queue behind its advisory lock.
        busy = set(session.scalars(select(CallbackTask.citizen_phone).where(
            CallbackTask.citizen_phone.in_({t.citizen_phone for t in rows}),
            CallbackTask.state.in_(LEASED_STATES), CallbackTask.lease_until >= now)))
        chosen: list[CallbackTask] = []
        for task in rows:
            if task.citizen_phone in busy:
                # One call at a time to a citizen; a task of the same phone later in
                # this batch is absorbed by the first one below.
                continue
            busy.add(task.citizen_phone)
            chosen.append(task)
        expired = [t for t in chosen if t.state in LEASED_STATES]
        if expired:
            self._expire_leases(session, expired, now)
            for task in [t for t in expired if t.attempts >= t.max_attempts]:
                self._give_up(session, task, now)
                chosen.remove(task)
        return self._dial(session, chosen, owner, now, trunk)

    def queue_callbacks_due(self, session: Session, now: dt.datetime) -> bool:
        """Whether any queue or voice-message callback waits to be placed (before the
        dispatcher asks Asterisk for the queue's state)."""
        return session.scalar(
            select(CallbackTask.id).where(
                CallbackTask.mode == CallbackMode.AGENT, CallbackTask.origin.in_(QUEUE_ORIGINS),
                or_(and_(CallbackTask.state == CallbackState.PENDING,
                         CallbackTask.next_attempt_at <= now),
                    and_(CallbackTask.state.in_(LEASED_STATES),
                         CallbackTask.lease_until < now))).limit(1)) is not None

    def _expire_leases(self, session: Session, tasks: list[CallbackTask],
                       now: dt.datetime) -> None:
        for task in tasks:
            self.log.warn("Callback task {task_id}: lease of {owner} ran out; taking it back",
                          task_id=task.id, owner=task.lease_owner)
        for attempt in session.scalars(select(CallbackAttempt).where(
                CallbackAttempt.task_id.in_([t.id for t in tasks]),
                CallbackAttempt.ended_at.is_(None))):
            attempt.ended_at = now
            attempt.result = AttemptResult.LEASE_EXPIRED

    def _expire_lease(self, session: Session, task: CallbackTask, now: dt.datetime) -> None:
        self._expire_leases(session, [task], now)

    def _dial(self, session: Session, tasks: list[CallbackTask], owner: str, now: dt.datetime,
              trunk: str) -> list[Claim]:
        if not tasks:
            return []
        appeals: dict[int, list[int]] = {t.id: [t.appeal_id] if t.appeal_id else [] for t in tasks}
        surveys = [t for t in tasks if t.origin is CallbackOrigin.RESOLUTION]
        if surveys:
            for parent, appeal_id in self._absorb(session, surveys, now):
                appeals[parent].append(appeal_id)
        lease_until = now + dt.timedelta(seconds=self.config.lease_s)
        attempts = []
        for task in tasks:
            task.state = CallbackState.DIALING
            task.lease_owner = owner
            task.lease_until = lease_until
            task.trunk = trunk
            task.attempts += 1
            task.updated_at = now
            attempt = CallbackAttempt(task_id=task.id, number=task.attempts, owner=owner,
                                      trunk=trunk, started_at=now,
                                      channel_id=_channel_id(task.id, task.attempts))
            session.add(attempt)
            attempts.append(attempt)
        session.flush()
        claims = []
        for task, attempt in zip(tasks, attempts, strict=True):
            claims.append(Claim(task_id=task.id, attempt_id=attempt.id,
                                attempt_number=attempt.number, phone=task.citizen_phone,
                                origin=task.origin, trunk=trunk, channel_id=attempt.channel_id,
                                appeal_ids=tuple(dict.fromkeys(appeals[task.id]))))
        return claims

    def _absorb(self, session: Session, parents: list[CallbackTask],
                now: dt.datetime) -> list[tuple[int, int]]:
        """One call for all of a citizen's resolved appeals: the citizen's other pending
        survey tasks whose window opens soon ride on the task being dialled and finish with
        it. Returns (parent id, appeal id) of every task riding along, earlier ones too."""
        by_phone = {t.citizen_phone: t for t in parents}
        others = session.scalars(
            select(CallbackTask)
            .where(CallbackTask.citizen_phone.in_(by_phone),
                   CallbackTask.id.not_in([t.id for t in parents]),
                   CallbackTask.origin == CallbackOrigin.RESOLUTION,
                   CallbackTask.mode == CallbackMode.AUTOMATED,
                   CallbackTask.state == CallbackState.PENDING,
                   CallbackTask.window_start <= self.policy.merge_horizon(now))
            .order_by(CallbackTask.id).with_for_update(skip_locked=True)).all()
        for other in others:
            parent = by_phone[other.citizen_phone]
            other.state = CallbackState.MERGED
            other.merged_into_id = parent.id
            other.updated_at = now
            self.log.info("Callback task {task_id} also covers task {other} of the same citizen",
                          task_id=parent.id, other=other.id)
        riders = session.scalars(select(CallbackTask).where(
            CallbackTask.merged_into_id.in_([t.id for t in parents]),
            CallbackTask.state == CallbackState.MERGED).order_by(CallbackTask.id))
        return [(r.merged_into_id, r.appeal_id) for r in riders if r.appeal_id is not None]

    def _children(self, session: Session, task_id: int) -> list[CallbackTask]:
        return list(session.scalars(select(CallbackTask)
                                    .where(CallbackTask.merged_into_id == task_id,
                                           CallbackTask.state == CallbackState.MERGED)
                                    .order_by(CallbackTask.id).with_for_update()))

    def _open_attempts(self, session: Session, task_id: int) -> list[CallbackAttempt]:
        return list(session.scalars(select(CallbackAttempt)
                                    .where(CallbackAttempt.task_id == task_id,
                                           CallbackAttempt.ended_at.is_(None))
                                    .order_by(CallbackAttempt.id)))

    # Results ---------------------------------------------------------------------------------

    def originate_result(self, session: Session, attempt_id: int, owner: str,
                         result: AttemptResult, now: dt.datetime,
                         action_id: str | None = None) -> TaskRecord:
        """What the OriginateResponse (or its absence) said about one dial.

        Locks the task before its attempt, in the order every other writer of both takes
        them (`record_survey`, the agent's dial): the other order deadlocked with a survey
        answer arriving while the OriginateResponse was being written."""
        task_id = session.scalar(select(CallbackAttempt.task_id)
                                 .where(CallbackAttempt.id == attempt_id))
        if task_id is None:
            raise TaskNotFound(f"attempt {attempt_id}")
        task = self._locked(session, task_id)
        attempt = session.get(CallbackAttempt, attempt_id, with_for_update=True,
                              populate_existing=True)
        # An answered queue callback's attempt stays open while the citizen waits in the
        # queue: it ends when an agent takes the call, or when the citizen is gone first.
        queued = result is AttemptResult.ANSWERED and task.origin in QUEUE_ORIGINS
        if attempt.ended_at is None:
            attempt.result = result
            if not queued:
                attempt.ended_at = now
        attempt.action_id = action_id or attempt.action_id
        if task.lease_owner != owner or task.state is not CallbackState.DIALING:
            attempt.ended_at = attempt.ended_at or now
            self.log.info("Callback task {task_id}: late result {result} of {owner} ignored "
                          "(now {state})", task_id=task.id, result=result.value, owner=owner,
                          state=task.state.value)
            return TaskRecord.of(task)
        task.updated_at = now
        if result is AttemptResult.NOT_PLACED:
            task.attempts -= 1
            task.state = CallbackState.PENDING
            task.next_attempt_at = now + NOT_PLACED_DELAY
            task.lease_owner = task.lease_until = None
        elif result is AttemptResult.ANSWERED:
            # A survey runs its flow; a queue callback waits for an agent (`queue_call_result`).
            # Either way the lease outlives the call, and settles it if no result comes.
            task.state = CallbackState.IN_CALL
            task.lease_until = now + dt.timedelta(seconds=self.config.survey_lease_s)
        else:
            self._failed(session, task, result, now)
        return TaskRecord.of(task)

    def queue_call_result(self, session: Session, attempt_id: int, owner: str, reached: bool,
                          now: dt.datetime,
                          result: AttemptResult = AttemptResult.QUEUE_ABANDONED) -> TaskRecord:
        """How an answered queue callback ended: an agent took the call (AgentConnect), so
        the citizen was reached; or the citizen left the queue first (hung up, or the
        queue's wait ran out), a failed attempt (`result`) under the usual retry policy."""
        task_id = session.scalar(select(CallbackAttempt.task_id)
                                 .where(CallbackAttempt.id == attempt_id))
        if task_id is None:
            raise TaskNotFound(f"attempt {attempt_id}")
        task = self._locked(session, task_id)
        attempt = session.get(CallbackAttempt, attempt_id, with_for_update=True,
                              populate_existing=True)
        if (task.lease_owner != owner or task.state is not CallbackState.IN_CALL
                or attempt.ended_at is not None):
            self.log.info("Callback task {task_id}: queue result of {owner} ignored (now "
                          "{state})", task_id=task.id, owner=owner, state=task.state.value)
            return TaskRecord.of(task)
        attempt.ended_at = now
        if reached:
            attempt.result = AttemptResult.ANSWERED
            self._complete(session, task, CallbackOutcome.REACHED, None, None, SYSTEM, now)
        else:
            attempt.result = result
            self._failed(session, task, result, now)
        return TaskRecord.of(task)

    def queue_calls_to_check(self, session: Session, owner: str, now: dt.datetime, *,
                             own: bool, limit: int) -> list[QueueCallCheck]:
        """Answered queue callbacks whose end nobody may have seen, for `owner` to ask
        Asterisk about (`CallbackDispatcher`): those whose lease ran out with no word of an
        agent (their process stopped, or lost the link, meanwhile), which `owner` takes
        over with a fresh lease (`survey_lease_s`) so that no other process asks too; and,
        with `own`, those `owner` holds already (its link was down: the events of that time
        are lost). An agent's own click-to-call is theirs to record, however long it runs.
        A task with no open attempt left (nothing to ask about) is a failed attempt at once,
        retried per the policy."""
        expired = list(session.scalars(
            select(CallbackTask).where(
                CallbackTask.origin.in_(QUEUE_ORIGINS),
                CallbackTask.state == CallbackState.IN_CALL,
                CallbackTask.lease_until < now,
                ~CallbackTask.lease_owner.startswith("agent:"))
            .order_by(CallbackTask.lease_until, CallbackTask.id).limit(limit)
            .with_for_update(skip_locked=True)))
        held: list[CallbackTask] = []
        if own:
            held = [task for task in session.scalars(
                select(CallbackTask).where(
                    CallbackTask.origin.in_(QUEUE_ORIGINS),
                    CallbackTask.state == CallbackState.IN_CALL,
                    CallbackTask.lease_owner == owner,
                    CallbackTask.lease_until >= now)
                .order_by(CallbackTask.id).with_for_update(skip_locked=True))]
        attempts = {attempt.task_id: attempt for attempt in session.scalars(
            select(CallbackAttempt).where(
                CallbackAttempt.task_id.in_([t.id for t in [*expired, *held]]),
                CallbackAttempt.ended_at.is_(None))
            .order_by(CallbackAttempt.number))}
        checks: list[QueueCallCheck] = []
        lease_until = now + dt.timedelta(seconds=self.config.survey_lease_s)
        for task in expired:
            attempt = attempts.get(task.id)
            if attempt is None or not attempt.channel_id:
                self._failed(session, task, AttemptResult.LEASE_EXPIRED, now)
                continue
            self.log.info("Callback task {task_id}: lease of {owner} ran out while the citizen "
                          "was in the queue; {new_owner} asks Asterisk how it ended",
                          task_id=task.id, owner=task.lease_owner, new_owner=owner)
            checks.append(QueueCallCheck(_claim_of(task, attempt), task.lease_owner or "",
                                         lease_until))
            task.lease_owner = owner
            task.lease_until = lease_until
            task.updated_at = now
        for task in held:
            attempt = attempts.get(task.id)
            if attempt is None or not attempt.channel_id:
                self._failed(session, task, AttemptResult.LEASE_EXPIRED, now)
                continue
            checks.append(QueueCallCheck(_claim_of(task, attempt), None, task.lease_until))
        return checks

    def record_survey(self, session: Session, task_id: int, digit: str,
                      now: dt.datetime) -> TaskRecord:
        """The survey flow's answer: 1/2/3 rates every appeal of the call; anything else
        (no key, a hang-up) counts as an attempt without a rating."""
        task = self._locked(session, task_id)
        if task.state not in (CallbackState.PENDING, CallbackState.DIALING, CallbackState.IN_CALL):
            self.log.info("Callback task {task_id}: survey answer ignored, task is {state}",
                          task_id=task_id, state=task.state.value)
            return TaskRecord.of(task)
        for attempt in self._open_attempts(session, task.id):
            attempt.ended_at = now
            attempt.result = AttemptResult.ANSWERED
        rating = RATINGS.get(digit)
        if rating is not None:
            self._complete(session, task, CallbackOutcome.RATED, rating, None, SURVEY_ACTOR, now)
        else:
            self._failed(session, task, AttemptResult.NO_RATING, now)
        return TaskRecord.of(task)

    def _locked(self, session: Session, task_id: int) -> CallbackTask:
        task = session.get(CallbackTask, task_id, with_for_update=True)
        if task is None:
            raise TaskNotFound(task_id)
        return task

    def _failed(self, session: Session, task: CallbackTask, result: AttemptResult,
                now: dt.datetime) -> None:
        decision = self.policy.after_failure(task.origin, task.appeal_kind, task.attempts,
                                             task.max_attempts, result, now)
        task.lease_owner = task.lease_until = None
        task.updated_at = now
        if isinstance(decision, GiveUp):
            self._give_up(session, task, now, decision.outcome)
            return
        task.state = CallbackState.PENDING
        task.next_attempt_at = decision.at
        self.log.info("Callback task {task_id}: attempt {attempt} {result}; next at {at}",
                      task_id=task.id, attempt=task.attempts, result=result.value,
                      at=decision.at.isoformat())

    def _family(self, session: Session, task: CallbackTask) -> list[CallbackTask]:
        return [task, *self._children(session, task.id)]

    def _complete(self, session: Session, task: CallbackTask, outcome: CallbackOutcome,
                  rating: Satisfaction | None, reason: str | None, actor: str,
                  now: dt.datetime, *, without_call: bool = False) -> None:
        """The citizen was reached: the task and every task it absorbed are done, and a
        rating applies to each of their appeals (不满意 reopens, the others close).
        `without_call`: on an agent's word, no call having gone through the system."""
        for member in self._family(session, task):
            member.state = CallbackState.COMPLETED
            member.outcome = outcome
            member.reached_without_call = without_call
            member.rating = rating
            member.rating_reason = reason
            member.completed_at = now
            member.completed_by = actor
            member.attempts = task.attempts
            member.lease_owner = member.lease_until = None
            member.updated_at = now
            if rating is not None and member.appeal_id is not None:
                self._rate_appeal(session, member, rating, reason, actor, now)

    def _rate_appeal(self, session: Session, task: CallbackTask, rating: Satisfaction,
                     reason: str | None, actor: str, now: dt.datetime) -> None:
        status = session.scalar(select(Appeal.status).where(Appeal.id == task.appeal_id))
        if status is not AppealStatus.RESOLVED:
            # Closed meanwhile (an SMS survey answer) or reopened by a supervisor: the
            # callback's rating is kept on the task but does not move the appeal again.
            self.log.info("Callback task {task_id}: appeal {appeal_id} is {status}; rating kept "
                          "on the task only", task_id=task.id, appeal_id=task.appeal_id,
                          status=status.value if status else None)
            return
        note = f"callback {task.id}" + (f": {reason}" if reason else "")
        self.appeals.rate(session, task.appeal_id, rating, actor=actor, now=now, note=note)
        if rating is Satisfaction.DISSATISFIED:
            self.log.warn("Callback task {task_id}: citizen dissatisfied; appeal {appeal_id} "
                          "reopened for rework and flagged to supervisors", task_id=task.id,
                          appeal_id=task.appeal_id)

    def _give_up(self, session: Session, task: CallbackTask, now: dt.datetime,
                 outcome: CallbackOutcome | None = None) -> None:
        if outcome is None:
            outcome = self.policy.after_failure(task.origin, task.appeal_kind, task.attempts,
                                                task.max_attempts, AttemptResult.FAILED,
                                                now).outcome
        family = self._family(session, task)
        for member in family:
            member.state = CallbackState.UNREACHABLE
            member.outcome = outcome
            member.completed_at = now
            member.completed_by = SYSTEM
            member.attempts = task.attempts
            member.lease_owner = member.lease_until = None
            member.updated_at = now
        if outcome is CallbackOutcome.SMS_SURVEY:
            self._queue_sms_surveys(session, family, now)
        self.log.info("Callback task {task_id} to {phone}: unreachable after {attempts} "
                      "attempts ({outcome})", task_id=task.id, phone=mask_phone(task.citizen_phone),
                      attempts=task.attempts, outcome=outcome.value)

    def _queue_sms_surveys(self, session: Session, tasks: Iterable[CallbackTask],
                           now: dt.datetime) -> None:
        """The fallback: one survey SMS per appeal, in this transaction; the SMS dispatcher
        sends it and the reply rates the appeal through the same `AppealRepository.rate`."""
        hook = self.survey_sms_hook
        for task in tasks:
            if task.appeal_id is None:
                continue
            if hook is not None and hook.names:
                hook.run(session, task.appeal_id, now, f"callback-survey:{task.id}")
                continue
            case_number = session.scalar(select(Appeal.case_number)
                                         .where(Appeal.id == task.appeal_id))
            session.add(SmsMessage(
                kind=SmsKind.SURVEY, lane=int(SmsLane.SERVICE), destination=task.citizen_phone,
                text=self.config.sms_survey_text.format(case_number=case_number),
                state=SmsState.QUEUED, attempts=0, not_before=now,
                dedupe_key=f"callback-survey:{task.id}", appeal_id=task.appeal_id,
                created_at=now))

    # Agents ----------------------------------------------------------------------------------

    def _rules(self, agent_id: int, now: dt.datetime) -> tuple[tuple[str, ColumnElement[bool]], ...]:
        """Which callbacks an agent may work now: the one rule behind the worklist (the tasks
        that meet every condition), click-to-call and the outcome form (which refuse a task
        that fails one, named by `_refusal`). In the order a refusal names them."""
        t = CallbackTask
        personal_cutoff = now - dt.timedelta(hours=self.config.personal_delay_h)
        return (
            ("agent_mode", t.mode == CallbackMode.AGENT),
            ("visible", or_(t.assigned_agent_id == agent_id, t.assigned_agent_id.is_(None),
                            t.window_start <= personal_cutoff)),
            ("open", t.window_start <= now),
            ("unfinished", t.state.in_((CallbackState.PENDING, *LEASED_STATES))),
            # Held by a dispatcher or an agent, unless that lease ran out.
            ("free", or_(t.state == CallbackState.PENDING, t.lease_until < now)),
            # The spacing between attempts (the policy's retry time).
            ("due", or_(t.state != CallbackState.PENDING, t.next_attempt_at <= now)),
        )

    @staticmethod
    def _calling(agent_id: int) -> ColumnElement[bool]:
        """The agent's own click-to-call under way: its outcome is theirs to record. Even
        past its lease (a long call), until someone else takes the task, which changes the
        lease's owner."""
        t = CallbackTask
        return and_(t.mode == CallbackMode.AGENT, t.state.in_(LEASED_STATES),
                    t.lease_owner == f"agent:{agent_id}")

    def _refusal(self, session: Session, task_id: int, agent_id: int,
                 now: dt.datetime) -> CallbackError | None:
        """Why the agent may not work the task now (None: they may), by the first condition
        of `_rules` the task fails, evaluated by the database as the worklist is."""
        rules = self._rules(agent_id, now)
        row = session.execute(select(*(case((clause, 1), else_=0) for _, clause in rules))
                              .where(CallbackTask.id == task_id)).one_or_none()
        if row is None:
            return TaskNotFound(task_id)
        failed = next((name for (name, _), ok in zip(rules, row, strict=True) if not ok), None)
        if failed is None:
            return None
        task = session.get(CallbackTask, task_id)
        assert task is not None  # the row was just read
        what = f"callback task {task_id}"
        if failed == "agent_mode":
            return NotYours(f"{what} is an automated survey")
        if failed == "visible":
            until = self.policy.personal_until(task.window_start)
            return NotYours(f"{what} is reserved for its own agent until {until.isoformat()}")
        if failed == "open":
            return NotYours(f"{what} opens at {task.window_start.isoformat()}")
        if failed == "unfinished":
            return NotYours(f"{what} is {task.state.value}")
        if failed == "free":
            return TaskBusy(f"{what} is being dialled by someone else ({task.state.value})")
        return TooSoon(f"{what}: the next attempt is due at {task.next_attempt_at.isoformat()}",
                       task.next_attempt_at)

    def worklist(self, session: Session, agent_id: int, now: dt.datetime,
                 limit: int = 200) -> list[WorklistItem]:
        """Agent-mode callbacks this agent may work now (`_rules`): their own first, anyone's
        once the personal delay has passed, and their own calls under way, ordered by due
        time (overdue first)."""
        personal_cutoff = now - dt.timedelta(hours=self.config.personal_delay_h)
        calling = self._calling(agent_id)
        workable = and_(*(clause for _, clause in self._rules(agent_id, now)))
        rows = session.execute(
            select(CallbackTask, Appeal.case_number, Appeal.subject, calling.label("calling"))
            .outerjoin(Appeal, Appeal.id == CallbackTask.appeal_id)
            .where(or_(workable, calling))
            .order_by(CallbackTask.due_by, CallbackTask.id).limit(limit)).all()
        context = self._return_calls_context(session, [row[0] for row in rows])
        return [WorklistItem(
            task_id=t.id, appeal_id=t.appeal_id, case_number=case_number,
            appeal_kind=t.appeal_kind, subject=subject,
            phone_masked=mask_phone(t.citizen_phone), origin=t.origin,
            window_start=t.window_start, due_by=t.due_by, overdue=t.due_by < now,
            attempts=t.attempts, max_attempts=t.max_attempts,
            assigned_agent_id=t.assigned_agent_id,
            personal=t.assigned_agent_id is not None and t.window_start > personal_cutoff,
            attempt=t.attempts if on_call else t.attempts + 1, calling=bool(on_call),
            **self._return_call_context(t, context))
            for t, case_number, subject, on_call in rows]

    @staticmethod
    def _return_calls_context(session: Session, tasks: list[CallbackTask]) -> dict:
        """For the 回电 form of each IVR-origin task on a worklist: the citizen's open
        appeals it may join, and what the caller chose in the IVR (the kind it suggests).
        Two queries for the whole list."""
        ivr = [t for t in tasks if t.origin is not CallbackOrigin.RESOLUTION]
        if not ivr:
            return {"open": {}, "menu": {}}
        open_appeals: dict[str, list[OpenAppeal]] = {}
        for row in session.execute(
                select(Appeal.id, Appeal.case_number, Appeal.subject, Appeal.status,
                       Appeal.citizen_phone, Appeal.channel)
                .where(Appeal.citizen_phone.in_({t.citizen_phone for t in ivr}),
                       Appeal.status != AppealStatus.CLOSED)
                .order_by(Appeal.created_at.desc(), Appeal.id.desc())):
            open_appeals.setdefault(row.citizen_phone, []).append(
                OpenAppeal(row.id, row.case_number, row.subject, row.status,
                           row.channel is AppealChannel.VOICE_MESSAGE
                           and row.status is AppealStatus.RECEIVED))
        call_ids = {t.call_id for t in ivr if t.call_id}
        menu = dict(session.execute(select(CallRecord.call_id, CallRecord.menu_choice)
                                    .where(CallRecord.call_id.in_(call_ids))).all()) \
            if call_ids else {}
        return {"open": open_appeals, "menu": menu}

    @staticmethod
    def _return_call_context(task: CallbackTask, context: dict) -> dict:
        if task.origin is CallbackOrigin.RESOLUTION:
            return {}
        citizens = context["open"].get(task.citizen_phone, ())
        own = [a for a in citizens if a.id == task.appeal_id and a.unclassified]
        return {"open_appeals": tuple(a for a in citizens if not a.unclassified)[:10],
                "unclassified": bool(own),
                "menu_choice": context["menu"].get(task.call_id) if task.call_id else None}

    def claim_for_agent(self, session: Session, task_id: int, agent_id: int,
                        now: dt.datetime) -> AgentDial:
        """Click-to-call: the task is the agent's for the call (a lease), an attempt opens,
        and the read of the citizen's number is audited. Only a task the agent may work now
        (`_rules`)."""
        task = session.scalar(select(CallbackTask).where(CallbackTask.id == task_id)
                              .with_for_update(skip_locked=True))
        refusal = self._refusal(session, task_id, agent_id, now)
        if task is None:
            # Locked by another transaction this instant: say why if the rule says no anyway.
            raise refusal or TaskBusy(f"callback task {task_id} is being dialled by someone else")
        agent = session.get(Agent, agent_id)
        if agent is None or not agent.active:
            raise NotAllowed(f"no active agent {agent_id}")
        if not agent.interface:
            raise NotAllowed(f"agent {agent.username} has no phone interface to ring")
        if refusal is not None:
            raise refusal
        if task.state in LEASED_STATES:  # its lease ran out (the rule let it through)
            self._expire_lease(session, task, now)
        owner = f"agent:{agent_id}"
        task.state = CallbackState.DIALING
        task.lease_owner = owner
        task.lease_until = now + dt.timedelta(seconds=self.config.agent_lease_s)
        task.attempts += 1
        task.updated_at = now
        attempt = CallbackAttempt(task_id=task.id, number=task.attempts, owner=owner,
                                  agent_id=agent_id, started_at=now,
                                  channel_id=_channel_id(task.id, task.attempts))
        session.add(attempt)
        session.flush()
        audit.record_access(session, at=now, actor=agent.username,
                            entity_type="appeal" if task.appeal_id else "callback_task",
                            entity_id=task.appeal_id or task.id,
                            note=f"click-to-call for callback task {task.id}")
        return AgentDial(task_id=task.id, attempt_id=attempt.id, agent_id=agent_id, owner=owner,
                         interface=agent.interface, phone=task.citizen_phone,
                         channel_id=attempt.channel_id)

    def agent_leg_result(self, session: Session, dial: AgentDial, answered: bool,
                         now: dt.datetime, action_id: str | None = None) -> TaskRecord:
        """The agent's own phone answered (the dialplan now rings the citizen), or not: an
        agent who did not pick up has not tried the citizen, so it is not an attempt."""
        task = self._locked(session, dial.task_id)
        attempt = session.get(CallbackAttempt, dial.attempt_id, with_for_update=True)
        attempt.action_id = action_id or attempt.action_id
        if task.lease_owner != dial.owner or task.state is not CallbackState.DIALING:
            return TaskRecord.of(task)
        task.updated_at = now
        if answered:
            task.state = CallbackState.IN_CALL
            return TaskRecord.of(task)
        attempt.ended_at = now
        attempt.result = AttemptResult.NOT_PLACED
        task.attempts -= 1
        task.state = CallbackState.PENDING
        task.lease_owner = task.lease_until = None
        return TaskRecord.of(task)

    def record_agent_outcome(self, session: Session, task_id: int, agent_id: int, *,
                             reached: bool, rating: Satisfaction | None, reason: str | None,
                             now: dt.datetime, attempt: int | None = None) -> TaskRecord:
        """An agent's result, counted exactly like an automated one: reached with a rating
        rates the appeals; not reached is a failed attempt under the same policy.

        Only for the agent's own call under way (click-to-call), or for a task they may work
        now (`_rules`: due, not reserved for another agent, not held, its attempts spaced):
        then no call went through the system, and the attempt (and a task it completes) says
        so. `attempt` is the number the outcome form was for: the outcome of an attempt this
        agent already recorded raises `OutcomeAlreadyRecorded` and changes nothing; any other
        number than the open one, `StaleOutcome`."""
        reason = (reason or "").strip() or None
        if not reached and rating is not None:
            raise NotAllowed("a citizen who was not reached cannot have given a rating",
                             "rating_unreached")
        if rating is Satisfaction.DISSATISFIED and not reason:
            raise NotAllowed("a 不满意 rating needs the citizen's reason (the appeal is reworked)",
                             "reason_required")
        task = self._locked(session, task_id)
        agent, calling = self._agent_attempt(session, task, agent_id, reached, attempt, now)
        # Checked after the agent's right to the task (refused alike when it is not theirs);
        # the transaction's rollback undoes the attempt.
        if reached and task.origin is not CallbackOrigin.RESOLUTION:
            raise NotAllowed(f"callback task {task_id} is a 回电 ({task.origin.value}): its "
                             "outcome is what was said and done (record_return_call)",
                             "return_call_form")
        if reached:
            outcome = CallbackOutcome.RATED if rating is not None else CallbackOutcome.REACHED
            self._complete(session, task, outcome, rating, reason, agent.username, now,
                           without_call=not calling)
        else:
            self._failed(session, task, AttemptResult.AGENT_NOT_REACHED, now)
        return TaskRecord.of(task)

    def record_return_call(self, session: Session, task_id: int, agent_id: int, *,
                           outcome: ReturnCallOutcome, now: dt.datetime,
                           attempt: int | None = None) -> TaskRecord:
        """A 回电's outcome (a voice message's or a queue callback's): not reached is a failed
        attempt, as for any callback; reached records what the citizen said and where it
        went (`callback_queue.return_calls`), in this transaction with the task's end."""
        task = self._locked(session, task_id)
        agent, calling = self._agent_attempt(session, task, agent_id, outcome.reached,
                                             attempt, now)
        # Refusals below come after the agent's right to the task; the rollback undoes the
        # attempt.
        if task.origin is CallbackOrigin.RESOLUTION:
            raise NotAllowed(f"callback task {task_id} is a satisfaction callback (回访)",
                             "survey_form")
        plan = return_calls.plan(session, task, outcome)
        if plan is None:
            notes = (outcome.notes or "").strip()
            if notes:  # "关机", "空号": what the officer heard is kept with the task
                task.call_notes = notes
            self._failed(session, task, AttemptResult.AGENT_NOT_REACHED, now)
            return TaskRecord.of(task)
        return_calls.carry_out(session, self.appeals, task, plan, agent, now)
        self._complete(session, task, CallbackOutcome.RATED if outcome.rating is not None
                       else CallbackOutcome.REACHED, None, None, agent.username, now,
                       without_call=not calling)
        task.rating, task.rating_reason = outcome.rating, outcome.reason
        return TaskRecord.of(task)

    def _agent_attempt(self, session: Session, task: CallbackTask, agent_id: int,
                       reached: bool, attempt: int | None,
                       now: dt.datetime) -> tuple[Agent, bool]:
        """Checks that this agent may record an outcome of `task` now and closes (or adds)
        the attempt it is for; gives the agent and whether it was their click-to-call."""
        agent = session.get(Agent, agent_id)
        if agent is None:
            raise NotAllowed(f"no agent {agent_id}")
        owner = f"agent:{agent_id}"
        calling = bool(session.scalar(select(case((self._calling(agent_id), 1), else_=0))
                                      .where(CallbackTask.id == task.id)))
        # The worklist's `attempt`: click-to-call numbered the open attempt task.attempts.
        expected = task.attempts if calling else task.attempts + 1
        if attempt is not None and attempt != expected:
            self._check_replay(session, task, agent_id, attempt, expected, now)
        if not calling:
            refusal = self._refusal(session, task.id, agent_id, now)
            if refusal is not None:
                raise refusal
        result = AttemptResult.AGENT_REACHED if reached else AttemptResult.AGENT_NOT_REACHED
        if calling:
            for open_attempt in self._open_attempts(session, task.id):
                if open_attempt.owner == owner:
                    open_attempt.ended_at = now
                    open_attempt.result = result
        else:  # dialled from the agent's own phone, or not at all: nothing went through us
            if task.state in LEASED_STATES:  # its lease ran out (the rule let it through)
                self._expire_lease(session, task, now)
            task.attempts += 1
            session.add(CallbackAttempt(task_id=task.id, number=task.attempts, owner=owner,
                                        agent_id=agent_id, started_at=now, ended_at=now,
                                        result=result, call_placed=False))
            self.log.info("Callback task {task_id}: {agent} recorded attempt {attempt} "
                          "({result}) with no call placed", task_id=task.id,
                          agent=agent.username, attempt=task.attempts, result=result.value)
        return agent, calling

    def _check_replay(self, session: Session, task: CallbackTask, agent_id: int, attempt: int,
                      expected: int, now: dt.datetime) -> None:
        """An outcome form for another attempt than the open one: this agent's own earlier
        outcome (already recorded); else refused, as a task not theirs or one held by
        someone else when it is, as stale when another agent's outcome overtook it."""
        recorded = session.scalar(
            select(CallbackAttempt.id).where(
                CallbackAttempt.task_id == task.id, CallbackAttempt.number == attempt,
                CallbackAttempt.agent_id == agent_id,
                CallbackAttempt.result.in_((AttemptResult.AGENT_REACHED,
                                            AttemptResult.AGENT_NOT_REACHED))).limit(1))
        if recorded is not None:
            raise OutcomeAlreadyRecorded(f"callback task {task.id}: the outcome of attempt "
                                         f"{attempt} is recorded already", TaskRecord.of(task))
        refusal = self._refusal(session, task.id, agent_id, now)
        if isinstance(refusal, (NotYours, TaskBusy)):
            raise refusal
        raise StaleOutcome(f"callback task {task.id}: attempt {attempt} is not the open one "
                           f"(attempt {expected} is)")

    # Lookups ---------------------------------------------------------------------------------

    def get(self, session: Session, task_id: int) -> TaskRecord:
        task = session.get(CallbackTask, task_id)
        if task is None:
            raise TaskNotFound(task_id)
        return TaskRecord.of(task)

    def for_appeal(self, session: Session, appeal_id: int) -> list[TaskRecord]:
        return [TaskRecord.of(t) for t in session.scalars(
            select(CallbackTask).where(CallbackTask.appeal_id == appeal_id)
            .order_by(CallbackTask.id))]

    def attempts(self, session: Session, task_id: int) -> list[AttemptRecord]:
        return [AttemptRecord.of(a) for a in session.scalars(
            select(CallbackAttempt).where(CallbackAttempt.task_id == task_id)
            .order_by(CallbackAttempt.id))]


def _channel_id(task_id: int, attempt: int) -> str:
    """Asterisk's ChannelId for a dial: unique even when an attempt that never reached
    Asterisk gives its number back."""
    return f"callback-{task_id}-{attempt}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class QueueCallCheck:
    """An answered queue callback a dispatcher asks Asterisk about (`queue_calls_to_check`):
    its attempt as a `Claim`, the owner whose lease ran out (None: the asking dispatcher's
    own), and until when the asking dispatcher now holds it."""

    claim: Claim
    taken_from: str | None
    lease_until: dt.datetime | None


def _claim_of(task: CallbackTask, attempt: CallbackAttempt) -> Claim:
    return Claim(task_id=task.id, attempt_id=attempt.id, attempt_number=attempt.number,
                 phone=task.citizen_phone, origin=task.origin, trunk=task.trunk or "",
                 channel_id=attempt.channel_id or "",
                 appeal_ids=(task.appeal_id,) if task.appeal_id else ())
