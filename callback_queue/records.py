"""Plain, frozen values that leave the database thread (ORM objects never do)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from schemas.callbacks import (
    AttemptResult,
    CallbackAttempt,
    CallbackMode,
    CallbackOrigin,
    CallbackOutcome,
    CallbackState,
    CallbackTask,
    ReturnCallDisposition,
)
from schemas.enums import AppealKind, AppealStatus, Satisfaction


@dataclass(frozen=True)
class TaskRecord:
    id: int
    appeal_id: int | None
    citizen_phone: str
    origin: CallbackOrigin
    mode: CallbackMode
    state: CallbackState
    appeal_kind: AppealKind | None
    unit_id: int | None
    assigned_agent_id: int | None
    resolved_at: dt.datetime | None
    call_id: str | None
    window_start: dt.datetime
    due_by: dt.datetime
    next_attempt_at: dt.datetime
    attempts: int
    max_attempts: int
    lease_owner: str | None
    lease_until: dt.datetime | None
    trunk: str | None
    merged_into_id: int | None
    outcome: CallbackOutcome | None
    rating: Satisfaction | None
    rating_reason: str | None
    completed_at: dt.datetime | None
    completed_by: str | None
    reached_without_call: bool
    created_at: dt.datetime
    call_notes: str | None = None  # a 回电's record (`callback_queue.return_calls`)
    disposition: ReturnCallDisposition | None = None
    result_appeal_id: int | None = None

    @classmethod
    def of(cls, task: CallbackTask) -> "TaskRecord":
        return cls(**{f.name: getattr(task, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class AttemptRecord:
    id: int
    task_id: int
    number: int
    owner: str
    trunk: str | None
    agent_id: int | None
    channel_id: str | None
    action_id: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    result: AttemptResult | None
    call_placed: bool

    @classmethod
    def of(cls, attempt: CallbackAttempt) -> "AttemptRecord":
        return cls(**{f.name: getattr(attempt, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class Claim:
    """A task a dispatcher took: dial `phone` now, under the lease of `owner`."""

    task_id: int
    attempt_id: int
    attempt_number: int
    phone: str
    origin: CallbackOrigin
    trunk: str
    channel_id: str
    appeal_ids: tuple[int, ...]  # the task's and those it absorbed


@dataclass(frozen=True)
class AgentDial:
    """What click-to-call needs: the agent's interface to ring first, then the citizen."""

    task_id: int
    attempt_id: int
    agent_id: int
    owner: str
    interface: str
    phone: str
    channel_id: str


@dataclass(frozen=True)
class OpenAppeal:
    """One of a citizen's appeals not closed yet, as a 回电 form offers it."""

    id: int
    case_number: str
    subject: str
    status: AppealStatus
    unclassified: bool  # a voice message's own appeal as the IVR filed it


@dataclass(frozen=True)
class WorklistItem:
    task_id: int
    appeal_id: int | None
    case_number: str | None
    appeal_kind: AppealKind | None
    subject: str | None
    phone_masked: str
    origin: CallbackOrigin
    window_start: dt.datetime
    due_by: dt.datetime
    overdue: bool
    attempts: int
    max_attempts: int
    assigned_agent_id: int | None
    personal: bool  # still reserved for the appeal's own agent
    attempt: int  # the attempt an outcome recorded now is for (the outcome form carries it)
    calling: bool  # this agent's click-to-call is under way: its outcome is due
    # For a 回电 (IVR origins): the citizen's open appeals the notes may join, newest first,
    # and what the caller chose in the IVR menu (the kind it suggests).
    open_appeals: tuple[OpenAppeal, ...] = ()
    menu_choice: str | None = None

    @property
    def return_call(self) -> bool:
        """A 回电 (a voice message's or a queue callback's), not a 回访."""
        return self.origin is not CallbackOrigin.RESOLUTION

    unclassified: bool = False  # its own appeal is a voice message still to be classified
