"""Tables of the appeal core: units, agents and their logged-out sessions, the approval
catalogue, appeals, their work orders to the units, the units' extension requests and the
urgings and 督办 on the orders, case-number counters and the audit trail. Other packages' tables live in their own modules
here."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Date, Enum, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from schemas.base import Base, UtcDateTime
from schemas.enums import (
    AgentRole,
    AppealChannel,
    AppealKind,
    AppealStatus,
    ExtensionStatus,
    Satisfaction,
    UnitKind,
    WorkOrderStatus,
)


def _enum(kind: type[enum.Enum]) -> Enum:
    """Stored as its value in a VARCHAR: portable, and a new member needs no migration of a type."""
    return Enum(kind, native_enum=False, create_constraint=False, length=32,
                values_callable=lambda members: [m.value for m in members])


class Unit(Base):
    """A police station, squad or department that appeals are assigned to."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[UnitKind] = mapped_column(_enum(UnitKind))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Who the hall reaches at the unit (值班): the urging SMS goes to this phone (migration
    # 0018). Personal data: masked in logs.
    duty_contact: Mapped[str | None] = mapped_column(String(64))
    duty_phone: Mapped[str | None] = mapped_column(String(32))


class Agent(Base):
    """An officer at a hall terminal, a supervisor or an administrator."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[AgentRole] = mapped_column(_enum(AgentRole))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    interface: Mapped[str | None] = mapped_column(String(128))  # e.g. PJSIP/1001 in the queue
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # A password reset or a deactivation: sessions issued before it are refused.
    sessions_revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class RevokedSession(Base):
    """A session logged out before it ended: its cookie is refused by every process, after a
    restart too. Kept until the session would have ended anyway (`expires_at`, its login
    plus the session lifetime); a logout deletes the rows past it."""

    __tablename__ = "revoked_sessions"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)  # the cookie's own id
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


class ApprovalCategory(Base):
    __tablename__ = "approval_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))


class ApprovalItem(Base):
    """One of the administrative approval items (审批事项) a citizen may ask about."""

    __tablename__ = "approval_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("approval_categories.id"))
    name: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Appeal(Base):
    """A citizen's appeal (诉求 / 工单), from whichever channel it came."""

    __tablename__ = "appeals"
    __table_args__ = (
        Index("ix_appeals_citizen_phone_created_at", "citizen_phone", "created_at"),
        Index("ix_appeals_status_deadline_at", "status", "deadline_at"),
        # The search's unit criteria, newest first (migration 0009).
        Index("ix_appeals_unit_id_status_created_at", "unit_id", "status", "created_at"),
        Index("ix_appeals_unit_id_created_at", "unit_id", "created_at"),
        # The search by the last four digits a caller gives, and an officer's own open work
        # (migration 0017).
        Index("ix_appeals_phone_tail_created_at", "phone_tail", "created_at"),
        Index("ix_appeals_agent_id_status_created_at", "agent_id", "status", "created_at"),
        # The analysis page's groupings of a period, answered from the index (migration 0022).
        Index("ix_appeals_created_at_analysis", "created_at", "kind", "channel", "unit_id",
              "area", "approval_item_id", "satisfaction", "citizen_phone"),
        # The duplicates merged into an appeal (migration 0021).
        Index("ix_appeals_merged_into_id", "merged_into_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(String(24), unique=True)
    channel: Mapped[AppealChannel] = mapped_column(_enum(AppealChannel))
    kind: Mapped[AppealKind] = mapped_column(_enum(AppealKind))
    status: Mapped[AppealStatus] = mapped_column(_enum(AppealStatus))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    citizen_phone: Mapped[str] = mapped_column(String(32))
    # Its last four digits, which callers often give for a number: set with the number.
    phone_tail: Mapped[str | None] = mapped_column(String(4))
    citizen_name: Mapped[str | None] = mapped_column(String(64))
    citizen_id_number: Mapped[str | None] = mapped_column(String(18))
    area: Mapped[str | None] = mapped_column(String(64))  # township or street (乡镇/街道)
    approval_item_id: Mapped[int | None] = mapped_column(ForeignKey("approval_items.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))  # who took it
    call_id: Mapped[str | None] = mapped_column(String(64))  # the IVR call it came from
    recording_path: Mapped[str | None] = mapped_column(String(512))  # voice messages
    deadline_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[Satisfaction | None] = mapped_column(_enum(Satisfaction))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # 重复件: this appeal was merged into that one (same citizen, same matter) and closed
    # with it; its calls and SMS moved there (migration 0021).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"))


class WorkOrderRole(enum.StrEnum):
    """A work order's part in handling its appeal (stored by value)."""

    LEAD = "lead"  # 主办: the unit whose reply the hall reviews and accepts
    ASSIST = "assist"  # 协办: an assisting unit, replying on its own order


class WorkOrder(Base):
    """One dispatch of an appeal to a unit (转办 / 派单) and what became of it: signed for,
    returned, replied, reviewed, or withdrawn by a re-dispatch (改派). An appeal has at most
    one open lead order (主办) at a time (dispatched, signed, replied or sent back), and any
    number of open assisting ones (协办, one per unit), kept so by the appeal row's lock; the
    closed ones are its history. Who is a username, as in the audit
    trail, which has a row for every step."""

    __tablename__ = "work_orders"
    __table_args__ = (
        Index("ix_work_orders_appeal_id", "appeal_id"),
        # A unit's work lists: its orders in a state, by deadline.
        Index("ix_work_orders_unit_id_status_due_at", "unit_id", "status", "due_at"),
        # The hall's lists across units (to review, returned, signed late).
        Index("ix_work_orders_status_dispatched_at", "status", "dispatched_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    status: Mapped[WorkOrderStatus] = mapped_column(_enum(WorkOrderStatus))
    dispatched_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    dispatched_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)  # 转办原因
    instruction: Mapped[str] = mapped_column(Text)  # 办理要求
    sign_by: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # signed later: shown as late
    return_by: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # a return after: refused
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # the unit's deadline
    extended_days: Mapped[int] = mapped_column(Integer, default=0)  # approved, working days
    signed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    signed_by: Mapped[str | None] = mapped_column(String(64))
    returned_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    returned_by: Mapped[str | None] = mapped_column(String(64))
    return_reason: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    replied_by: Mapped[str | None] = mapped_column(String(64))
    reply: Mapped[str | None] = mapped_column(Text)  # 办结回复, the latest
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    send_back_reason: Mapped[str | None] = mapped_column(Text)  # the latest
    send_backs: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # accepted, returned, withdrawn
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # 重办: this order sends the appeal back to the unit after a 不满意 callback the supervisor
    # attributed to it; the accepted order it reworks (migration 0018). A unit's reworks are
    # its orders with one.
    rework_of: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    # 主办 or 协办 (migration 0021; the orders before it are all leads).
    role: Mapped[WorkOrderRole] = mapped_column(_enum(WorkOrderRole), default=WorkOrderRole.LEAD,
                                                server_default=WorkOrderRole.LEAD.value)


class WorkOrderExtension(Base):
    """A unit's request for more time on a work order (延期申请) and a supervisor's decision;
    an approval moves the work order's deadline (and the appeal's, when it is later)."""

    __tablename__ = "work_order_extensions"
    __table_args__ = (
        Index("ix_work_order_extensions_work_order_id", "work_order_id"),
        Index("ix_work_order_extensions_status_requested_at", "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    status: Mapped[ExtensionStatus] = mapped_column(_enum(ExtensionStatus))
    days: Mapped[int] = mapped_column(Integer)  # working days asked for
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    requested_by: Mapped[str] = mapped_column(String(64))
    due_before: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # the deadline when asked
    due_after: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # set on approval
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_note: Mapped[str | None] = mapped_column(Text)


class UrgingKind(enum.StrEnum):
    """What a `WorkOrderUrging` is (stored by value)."""

    URGE = "urge"  # 催办: before the deadline, to the unit
    SUPERVISE = "supervise"  # 督办: after it, raised to the supervisors or by one


class WorkOrderUrging(Base):
    """A 催办 or a 督办 on a work order: the service's own before or after the deadline
    (`automatic`, no agent), or a supervisor's by hand with a note. Counted per unit by the
    assessment. The service's are made once per order, kind and deadline (`deadline_at`, the
    order's deadline it was about): a unique index, so that two processes cannot both make
    one, and an extension's new deadline is urged again."""

    __tablename__ = "work_order_urgings"
    __table_args__ = (
        Index("ix_work_order_urgings_appeal_id", "appeal_id"),
        Index("ix_work_order_urgings_unit_id_at", "unit_id", "at"),
        Index("ix_work_order_urgings_automatic_once", "work_order_id", "kind", "deadline_at",
              unique=True, sqlite_where=text("automatic"),
              postgresql_where=text("automatic")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"))
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[UrgingKind] = mapped_column(_enum(UrgingKind))
    automatic: Mapped[bool] = mapped_column(Boolean)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))  # by hand: who
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deadline_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class CaseNumberCounter(Base):
    """The last sequence handed out for one Asia/Shanghai day; incremented under a row lock
    so that every process draws distinct case numbers."""

    __tablename__ = "case_number_counters"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class AuditEvent(Base):
    """Append-only trail: every appeal transition and every agent read of a citizen's record.

    A database trigger refuses UPDATE and DELETE on this table.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))  # agent username, or system:<component>
    action: Mapped[str] = mapped_column(String(32))  # create, assign, resolve, view, ...
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)


class SupervisorAlert(Base):
    """Something a supervisor must look at: a 不满意 rating (from a callback or an SMS
    survey), later an overdue appeal or an unusual spike. Written in the transaction of the
    event that raises it; acknowledged by a supervisor (audited)."""

    __tablename__ = "supervisor_alerts"
    __table_args__ = (Index("ix_supervisor_alerts_open", "acknowledged_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(32))  # dissatisfied, ...
    source: Mapped[str] = mapped_column(String(64))  # who raised it: callback:12, sms:reply
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"))
    note: Mapped[str | None] = mapped_column(Text)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
