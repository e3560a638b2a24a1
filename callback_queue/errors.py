"""The callback queue's exception tree."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callback_queue.records import TaskRecord


class CallbackError(Exception):
    """Base of every error the callback queue reports to a caller."""


class TaskNotFound(CallbackError):
    def __init__(self, task_id: object) -> None:
        super().__init__(f"no callback task {task_id!r}")
        self.task_id = task_id


class TaskBusy(CallbackError):
    """Another dispatcher or agent holds the task, or it is already finished."""


class NotAllowed(CallbackError):
    """The agent may not act on this task (another agent's, not agent mode, bad input).
    `key`, when set, names the refusal for the pages, which say it in the user's language
    (`callbacks.refusal.<key>`); the message is for the log."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class NotYours(NotAllowed):
    """The task is not on this agent's worklist at all (reserved for its own agent, not open
    yet, an automated survey, finished): a caller answers as it would for no such task, so
    that ids reveal nothing of other people's work."""


class TooSoon(NotAllowed):
    """The task's next attempt is not due yet (the spacing between attempts)."""

    def __init__(self, message: str, at: dt.datetime) -> None:
        super().__init__(message)
        self.at = at  # when the next attempt is due (aware UTC)


class StaleOutcome(TaskBusy):
    """An outcome for an attempt that is not the one open now: another agent recorded it,
    or the form is from an earlier attempt."""


class OutcomeAlreadyRecorded(CallbackError):
    """This agent already recorded the outcome of that attempt (a double click, a replayed
    form): nothing was changed. `task` is the task as it stands."""

    def __init__(self, message: str, task: TaskRecord) -> None:
        super().__init__(message)
        self.task = task


class NoManagerLink(CallbackError):
    """There is no AMI link to place the call with; nothing was claimed."""
