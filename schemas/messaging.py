"""Tables of the SMS content layer (sms_gateway/messages): the opt-out list and its history,
reminders imported from the traffic and ID-card systems, and early-warning broadcasts with
the outbox messages each one queued. States are stored as their string values."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from schemas.base import Base, UtcDateTime
from schemas.models import _enum


class OptAction(enum.StrEnum):
    OPT_OUT = "opt_out"  # TD / 退订 / STOP
    OPT_IN = "opt_in"  # 订阅 / START


class ReminderKind(enum.StrEnum):
    VEHICLE = "vehicle"  # vehicle inspection due (机动车年检)
    LICENCE = "licence"  # driving licence review due (驾驶证审验 / 换证)
    IDCARD = "idcard"  # resident ID card ready for pickup


class ReminderState(enum.StrEnum):
    PENDING = "pending"  # a stage is still to come (next_send_at)
    DONE = "done"  # every stage planned
    EXPIRED = "expired"  # the due date passed before its stage could be planned


class BroadcastState(enum.StrEnum):
    ACTIVE = "active"  # its messages are in the outbox (some may already be sent)
    CANCELLED = "cancelled"  # what had not been submitted was cancelled


class SmsOptOut(Base):
    """The current opt-out state of one number (reminders and warnings are not sent to it)."""

    __tablename__ = "sms_opt_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    opted_out: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class SmsOptOutEvent(Base):
    """Append-only history of the opt-out list: who changed a number's state, when, how."""

    __tablename__ = "sms_opt_out_events"
    __table_args__ = (Index("ix_sms_opt_out_events_phone_at", "phone", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(32))
    action: Mapped[OptAction] = mapped_column(_enum(OptAction))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))  # citizen-sms, or cli:<user>
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("sms_inbound.id"))
    note: Mapped[str | None] = mapped_column(Text)  # the reply's text, or an operator's reason


class Reminder(Base):
    """One reminder owed to a citizen about one record (a plate, a licence, an ID-card
    application) and its due date; imported once however often its file is imported."""

    __tablename__ = "sms_reminders"
    __table_args__ = (UniqueConstraint("kind", "record_key", "due_date",
                                       name="uq_sms_reminders_kind_record_due"),
                      Index("ix_sms_reminders_state_next_send_at", "state", "next_send_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ReminderKind] = mapped_column(_enum(ReminderKind))
    record_key: Mapped[str] = mapped_column(String(64))  # plate, licence or application number
    due_date: Mapped[dt.date] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(32))
    plate: Mapped[str | None] = mapped_column(String(16))
    station: Mapped[str | None] = mapped_column(String(128))
    opening_hours: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[ReminderState] = mapped_column(_enum(ReminderState))
    stage: Mapped[int] = mapped_column(Integer, default=0)  # offsets already planned
    next_send_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_result: Mapped[str | None] = mapped_column(String(32))  # queued, opted_out, capped
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Broadcast(Base):
    """An early warning sent to a list of numbers or to the citizens of an area."""

    __tablename__ = "sms_broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)  # the supervisor's text, before the template
    urgent: Mapped[bool] = mapped_column(Boolean)
    audience: Mapped[str] = mapped_column(String(160))  # "numbers FILE" or "area X D1..D2"
    state: Mapped[BroadcastState] = mapped_column(_enum(BroadcastState))
    rate_per_s: Mapped[float] = mapped_column(Float)
    recipients: Mapped[int] = mapped_column(Integer, default=0)  # messages queued
    skipped_opted_out: Mapped[int] = mapped_column(Integer, default=0)
    skipped_invalid: Mapped[int] = mapped_column(Integer, default=0)
    skipped_capped: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    starts_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class BroadcastMessage(Base):
    """Which outbox message belongs to which broadcast (progress and cancellation)."""

    __tablename__ = "sms_broadcast_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("sms_broadcasts.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("sms_messages.id"), unique=True)
