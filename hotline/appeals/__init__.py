"""The appeal (诉求 / 工单) core: lifecycle, case numbers, deadlines, the resolve hook, and the
work orders that take an appeal to a unit and back."""

from hotline.appeals.errors import (  # noqa: F401
                                    AppealError,
                                    AppealNotFound,
                                    AppealValidationError,
                                    ExtensionNotFound,
                                    InvalidTransition,
                                    MergeRefused,
                                    WorkOrderRefused,
)
from hotline.appeals.records import (  # noqa: F401
                                     AppealRecord,
                                     ExtensionRecord,
                                     NewAppeal,
                                     WorkOrderRecord,
)
from hotline.appeals.repository import AppealRepository  # noqa: F401
from hotline.appeals.resolve_hook import ResolveHook  # noqa: F401
from hotline.appeals.service import AppealService  # noqa: F401
