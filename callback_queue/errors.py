"""The callback queue's exception tree."""


class CallbackError(Exception):
    """Base of every error the callback queue reports to a caller."""


class TaskNotFound(CallbackError):
    def __init__(self, task_id: object) -> None:
        super().__init__(f"no callback task {task_id!r}")
        self.task_id = task_id


class TaskBusy(CallbackError):
    """Another dispatcher or agent holds the task, or it is already finished."""


class NotAllowed(CallbackError):
    """The agent may not act on this task (another agent's, not agent mode, bad input)."""


class NoManagerLink(CallbackError):
    """There is no AMI link to place the call with; nothing was claimed."""
