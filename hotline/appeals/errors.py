"""One exception tree for the appeal core; each message says what was wrong."""


class AppealError(Exception):
    """Base of everything the appeal core refuses."""


class AppealNotFound(AppealError):
    def __init__(self, reference: object) -> None:
        super().__init__(f"no appeal {reference}")
        self.reference = reference


class InvalidTransition(AppealError):
    def __init__(self, action: str, status: str, allowed_from: frozenset[str], *,
                 what: str = "an appeal") -> None:
        super().__init__(f"cannot {action} {what} that is {status}; "
                         f"{action} is allowed from {', '.join(sorted(allowed_from))}")
        self.action = action
        self.status = status
        self.what = what


class AppealValidationError(AppealError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class WorkOrderRefused(AppealError):
    """A work-order step refused by a rule (a return too late, an extension too long, a
    dispatch while one is open): `reason` is a stable key for the pages' words, `values`
    what the words show."""

    def __init__(self, reason: str, message: str, **values: object) -> None:
        super().__init__(message)
        self.reason = reason
        self.values = values


class ExtensionNotFound(AppealError):
    def __init__(self, reference: object) -> None:
        super().__init__(f"no extension request {reference}")
        self.reference = reference
