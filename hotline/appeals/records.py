"""Plain, frozen views of appeals, their work orders and extension requests that leave the
database thread (ORM objects never do)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from hotline.appeals.lifecycle import OPEN_WORK_ORDER, WITH_THE_UNIT
from schemas.enums import (
    AppealChannel,
    AppealKind,
    AppealStatus,
    ExtensionStatus,
    Satisfaction,
    WorkOrderStatus,
)
from schemas.models import Appeal, Unit, WorkOrder, WorkOrderExtension, WorkOrderRole


@dataclass(frozen=True)
class NewAppeal:
    """What an agent, the IVR, the web portal or an SMS supplies to open an appeal."""

    channel: AppealChannel
    kind: AppealKind
    subject: str
    citizen_phone: str
    body: str = ""
    citizen_name: str | None = None
    citizen_id_number: str | None = None
    area: str | None = None
    approval_item_code: str | None = None
    unit_id: int | None = None
    agent_id: int | None = None
    call_id: str | None = None
    recording_path: str | None = None


@dataclass(frozen=True)
class AppealRecord:
    id: int
    case_number: str
    channel: AppealChannel
    kind: AppealKind
    status: AppealStatus
    subject: str
    body: str
    citizen_phone: str
    citizen_name: str | None
    citizen_id_number: str | None
    area: str | None
    approval_item_id: int | None
    unit_id: int | None
    agent_id: int | None
    call_id: str | None
    recording_path: str | None
    deadline_at: dt.datetime
    resolution: str | None
    satisfaction: Satisfaction | None
    reopen_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    merged_into_id: int | None = None  # 重复件: the appeal this one was merged into

    @classmethod
    def of(cls, appeal: Appeal) -> "AppealRecord":
        return cls(**{f.name: getattr(appeal, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class ExtensionRecord:
    id: int
    work_order_id: int
    status: ExtensionStatus
    days: int
    reason: str
    requested_at: dt.datetime
    requested_by: str
    due_before: dt.datetime
    due_after: dt.datetime | None
    decided_at: dt.datetime | None
    decided_by: str | None
    decision_note: str | None

    @classmethod
    def of(cls, extension: WorkOrderExtension) -> "ExtensionRecord":
        return cls(**{f.name: getattr(extension, f.name) for f in fields(cls)
                      if f.name in WORK_ORDER_EXTENSION_COLUMNS})


@dataclass(frozen=True)
class WorkOrderRecord:
    id: int
    appeal_id: int
    unit_id: int
    unit_code: str
    unit_name: str
    status: WorkOrderStatus
    dispatched_at: dt.datetime
    dispatched_by: str
    reason: str
    instruction: str
    sign_by: dt.datetime
    return_by: dt.datetime
    due_at: dt.datetime
    extended_days: int
    signed_at: dt.datetime | None
    signed_by: str | None
    returned_at: dt.datetime | None
    returned_by: str | None
    return_reason: str | None
    replied_at: dt.datetime | None
    replied_by: str | None
    reply: str | None
    reviewed_at: dt.datetime | None
    reviewed_by: str | None
    send_back_reason: str | None
    send_backs: int
    closed_at: dt.datetime | None
    rework_of: int | None  # 重办: the accepted order this one reworks
    role: WorkOrderRole = WorkOrderRole.LEAD  # 主办 or 协办
    extensions: tuple[ExtensionRecord, ...] = ()  # oldest first

    @classmethod
    def of(cls, order: WorkOrder, unit: Unit,
           extensions: tuple[ExtensionRecord, ...] = ()) -> "WorkOrderRecord":
        values = {f.name: getattr(order, f.name) for f in fields(cls)
                  if f.name in WORK_ORDER_COLUMNS}
        return cls(**values, unit_code=unit.code, unit_name=unit.name, extensions=extensions)

    @property
    def open(self) -> bool:
        return self.status in OPEN_WORK_ORDER

    @property
    def assisting(self) -> bool:
        return self.role is WorkOrderRole.ASSIST

    @property
    def signed_late(self) -> bool:
        return self.signed_at is not None and self.signed_at > self.sign_by

    def sign_overdue(self, now: dt.datetime) -> bool:
        """Not signed for, and past its sign-for limit."""
        return self.status is WorkOrderStatus.DISPATCHED and now > self.sign_by

    def overdue(self, now: dt.datetime) -> bool:
        """With the unit, not replied, and past its deadline."""
        return self.status in WITH_THE_UNIT and now > self.due_at

    def returnable(self, now: dt.datetime) -> bool:
        return self.status in (WorkOrderStatus.DISPATCHED, WorkOrderStatus.SIGNED) \
            and now <= self.return_by

    @property
    def pending_extension(self) -> ExtensionRecord | None:
        return next((e for e in self.extensions if e.status is ExtensionStatus.PENDING), None)


WORK_ORDER_COLUMNS = frozenset(WorkOrder.__table__.c.keys())
WORK_ORDER_EXTENSION_COLUMNS = frozenset(WorkOrderExtension.__table__.c.keys())
