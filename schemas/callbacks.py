"""Tables of the callback queue (回访): one task per follow-up call owed to a citizen, and
one attempt row per dial. The states and outcomes are stored as their string values."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schemas.base import Base, UtcDateTime
from schemas.enums import AppealKind, Satisfaction
from schemas.models import _enum


class CallbackOrigin(enum.StrEnum):
    RESOLUTION = "resolution"  # an appeal was resolved: the satisfaction callback
    IVR_CALLBACK_REQUEST = "ivr_callback_request"  # a caller chose a callback over waiting
    VOICE_MESSAGE = "voice_message"  # a voice message left after hours


class CallbackMode(enum.StrEnum):
    AUTOMATED = "automated"  # the survey flow asks for the rating
    AGENT = "agent"  # an officer calls back from the worklist


class CallbackState(enum.StrEnum):
    PENDING = "pending"  # waiting for its next attempt (or, agent mode, for an agent)
    DIALING = "dialing"  # claimed under a lease; an Originate is in the air
    IN_CALL = "in_call"  # answered; the survey flow (or the agent) is talking to the citizen
    MERGED = "merged"  # absorbed by another task for the same phone; finishes with it
    COMPLETED = "completed"  # the citizen was reached
    UNREACHABLE = "unreachable"  # all attempts failed (outcome says whether an SMS went)
    CANCELLED = "cancelled"  # superseded (the appeal was resolved again)


OPEN_STATES = (CallbackState.PENDING, CallbackState.DIALING, CallbackState.IN_CALL,
               CallbackState.MERGED)
LEASED_STATES = (CallbackState.DIALING, CallbackState.IN_CALL)


class CallbackOutcome(enum.StrEnum):
    RATED = "rated"  # reached, and a rating was given
    REACHED = "reached"  # reached without a rating (an agent's call, a queue callback)
    SMS_SURVEY = "sms_survey"  # unreachable; an SMS survey was queued instead
    UNREACHABLE = "unreachable"  # unreachable; no fallback
    CANCELLED = "cancelled"


class ReturnCallDisposition(enum.StrEnum):
    """What became of a 回电 (an officer calling back a voice message or a queue callback):
    the matter the citizen raised is on an appeal, was answered there and then, or needed
    nothing."""

    APPEAL = "appeal"  # 登记诉求: the message's own appeal classified, or a new appeal
    JOINED = "joined"  # 补充到已有诉求: a note on one of the citizen's open appeals
    ANSWERED = "answered"  # 当场答复: answered on the phone, the appeal closed with the answer
    NO_ACTION = "no_action"  # 无需处理: nothing to follow (said why in the notes)


class AttemptResult(enum.StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    FAILED = "failed"
    NO_RESPONSE = "no_response"  # no OriginateResponse in time: treated as failed
    CONNECTION_LOST = "connection_lost"  # the AMI link dropped; the call may have been placed
    NOT_PLACED = "not_placed"  # never reached Asterisk (no AMI link): not counted
    LEASE_EXPIRED = "lease_expired"  # its dispatcher vanished mid-call
    NO_RATING = "no_rating"  # answered but the survey got no valid key
    QUEUE_ABANDONED = "queue_abandoned"  # answered, then gone from the queue before an agent
    RATED = "rated"
    AGENT_REACHED = "agent_reached"
    AGENT_NOT_REACHED = "agent_not_reached"


class CallbackTask(Base):
    """A follow-up call owed to a citizen. Claimed by a dispatcher (or an agent's
    click-to-call) with a lease: a claim whose process died runs out and is taken again."""

    __tablename__ = "callback_tasks"
    __table_args__ = (
        Index("ix_callback_tasks_claim", "state", "mode", "origin", "next_attempt_at"),
        Index("ix_callback_tasks_lease", "state", "lease_until"),
        Index("ix_callback_tasks_phone_state", "citizen_phone", "state"),
        Index("ix_callback_tasks_report_due", "origin", "due_by"),
        Index("ix_callback_tasks_report_resolved", "origin", "resolved_at"),
        Index("ix_callback_tasks_worklist", "mode", "state", "due_by"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"), index=True)
    citizen_phone: Mapped[str] = mapped_column(String(32))
    origin: Mapped[CallbackOrigin] = mapped_column(_enum(CallbackOrigin))
    mode: Mapped[CallbackMode] = mapped_column(_enum(CallbackMode))
    state: Mapped[CallbackState] = mapped_column(_enum(CallbackState))
    # Copied from the appeal at resolution, so that the report needs no join of appeals.
    appeal_kind: Mapped[AppealKind | None] = mapped_column(_enum(AppealKind))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    assigned_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    call_id: Mapped[str | None] = mapped_column(String(64))  # the IVR call that asked for it
    window_start: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    due_by: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    lease_owner: Mapped[str | None] = mapped_column(String(96))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    trunk: Mapped[str | None] = mapped_column(String(32))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("callback_tasks.id"), index=True)
    outcome: Mapped[CallbackOutcome | None] = mapped_column(_enum(CallbackOutcome))
    rating: Mapped[Satisfaction | None] = mapped_column(_enum(Satisfaction))
    rating_reason: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(64))
    # A 回电's record (IVR origins): what the citizen said, what the officer did with it, and
    # the appeal that now holds it.
    call_notes: Mapped[str | None] = mapped_column(Text)
    disposition: Mapped[ReturnCallDisposition | None] = mapped_column(
        _enum(ReturnCallDisposition))
    result_appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"))
    # Completed on an agent's word with no call placed through the system (no click-to-call):
    # the compliance report shows these apart.
    reached_without_call: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class CallbackAttempt(Base):
    """One dial of a task: by a dispatcher (Originate to the citizen) or an agent."""

    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("callback_tasks.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str] = mapped_column(String(96))  # the lease owner that dialled
    trunk: Mapped[str | None] = mapped_column(String(32))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    channel_id: Mapped[str | None] = mapped_column(String(80))
    action_id: Mapped[str | None] = mapped_column(String(80))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    result: Mapped[AttemptResult | None] = mapped_column(_enum(AttemptResult))
    # False for an outcome an agent recorded without a call through the system (dialled
    # from the desk phone, or not at all): the attempt is counted, and shown as such.
    call_placed: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
