"""One exception tree for the appeal core; each message says what was wrong."""


class AppealError(Exception):
    """Base of everything the appeal core refuses."""


class AppealNotFound(AppealError):
    def __init__(self, reference: object) -> None:
        super().__init__(f"no appeal {reference}")
        self.reference = reference


class InvalidTransition(AppealError):
    def __init__(self, action: str, status: str, allowed_from: frozenset[str]) -> None:
        super().__init__(f"cannot {action} an appeal that is {status}; "
                         f"{action} is allowed from {', '.join(sorted(allowed_from))}")
        self.action = action
        self.status = status


class AppealValidationError(AppealError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
