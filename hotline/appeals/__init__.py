"""The appeal (诉求 / 工单) core: lifecycle, case numbers, deadlines, the resolve hook."""

from hotline.appeals.errors import (  # noqa: F401
                                    AppealError,
                                    AppealNotFound,
                                    AppealValidationError,
                                    InvalidTransition,
)
from hotline.appeals.records import AppealRecord, NewAppeal  # noqa: F401
from hotline.appeals.repository import AppealRepository  # noqa: F401
from hotline.appeals.resolve_hook import ResolveHook  # noqa: F401
from hotline.appeals.service import AppealService  # noqa: F401
