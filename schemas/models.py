"""Tables of the appeal core: units, agents and their logged-out sessions, the approval
catalogue, appeals, case-number counters and the audit trail. Other packages' tables live
in their own modules here."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Date, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schemas.base import Base, UtcDateTime
from schemas.enums import AgentRole, AppealChannel, AppealKind, AppealStatus, Satisfaction, UnitKind


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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(String(24), unique=True)
    channel: Mapped[AppealChannel] = mapped_column(_enum(AppealChannel))
    kind: Mapped[AppealKind] = mapped_column(_enum(AppealKind))
    status: Mapped[AppealStatus] = mapped_column(_enum(AppealStatus))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    citizen_phone: Mapped[str] = mapped_column(String(32))
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
