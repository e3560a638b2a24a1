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
    """A field of an appeal refused: the message is for the log and the API; `reason` (a
    stable key: required, length, phone, id_number, unknown_item, unknown_unit, invalid)
    and `values` are what the pages say it with, in the user's language."""

    def __init__(self, field: str, message: str, reason: str = "invalid",
                 **values: object) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = reason
        self.values = values


class WorkOrderRefused(AppealError):
    """A work-order step refused by a rule (a return too late, an extension too long, a
    dispatch while one is open): `reason` is a stable key for the pages' words, `values`
    what the words show."""

    def __init__(self, reason: str, message: str, **values: object) -> None:
        super().__init__(message)
        self.reason = reason
        self.values = values


class MergeRefused(AppealError):
    """A merge of duplicates (重复件) refused by a rule (the other appeal closed, merged
    itself, a different caller not confirmed, a unit's reply awaiting review): `reason` is a
    stable key for the pages' words, `values` what the words show."""

    def __init__(self, reason: str, message: str, **values: object) -> None:
        super().__init__(message)
        self.reason = reason
        self.values = values


class ExtensionNotFound(AppealError):
    def __init__(self, reference: object) -> None:
        super().__init__(f"no extension request {reference}")
        self.reference = reference
