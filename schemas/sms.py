"""The SMS outbox (one row per logical message, one per submitted part), the inbox, and the
delivery receipts held until their message is known."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from schemas.base import Base, UtcDateTime
from schemas.enums import SmsInboundState, SmsKind, SmsState
from schemas.models import _enum


class SmsMessage(Base):
    """A message to send. Claimed by a dispatcher with a lease (`lease_owner`,
    `lease_until`): a crashed dispatcher's claim runs out and another takes it."""

    __tablename__ = "sms_messages"
    __table_args__ = (Index("ix_sms_messages_due", "state", "lane", "not_before"),
                      Index("ix_sms_messages_destination_created_at", "destination", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SmsKind] = mapped_column(_enum(SmsKind))
    lane: Mapped[int] = mapped_column(Integer)
    destination: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[SmsState] = mapped_column(_enum(SmsState))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    not_before: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    link: Mapped[str | None] = mapped_column(String(32))  # the bind that took it
    encoding: Mapped[str | None] = mapped_column(String(8))
    part_count: Mapped[int | None] = mapped_column(Integer)
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class SmsPart(Base):
    """One submitted part of a message, with the carrier's opaque id for its receipt."""

    __tablename__ = "sms_parts"
    __table_args__ = (UniqueConstraint("message_id", "attempt", "part_index",
                                       name="uq_sms_parts_message_attempt_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("sms_messages.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    part_index: Mapped[int] = mapped_column(Integer)
    carrier_message_id: Mapped[str | None] = mapped_column(String(80), index=True)
    state: Mapped[SmsState] = mapped_column(_enum(SmsState))
    error_code: Mapped[str | None] = mapped_column(String(32))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    receipt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class SmsInbound(Base):
    """A reply from a citizen (mobile-originated), stored before it is acknowledged."""

    __tablename__ = "sms_inbound"
    __table_args__ = (Index("ix_sms_inbound_source_received_at", "source", "received_at"),
                      Index("ix_sms_inbound_state", "state"))

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    parts: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    state: Mapped[SmsInboundState] = mapped_column(_enum(SmsInboundState))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"))
    handled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class SmsPartKey(Base):
    """The lookup keys of a part's carrier message id (decimal, hex and zero-padded forms
    denote one message at different SMSCs): a receipt is matched by any of its keys."""

    __tablename__ = "sms_part_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("sms_parts.id"))
    key: Mapped[str] = mapped_column(String(96), index=True)


class HeldReceiptState(enum.StrEnum):
    PENDING = "pending"  # its part is not known yet
    APPLIED = "applied"  # settled its part (`part_id`)
    EXPIRED = "expired"  # no part in `outbox.HELD_RECEIPT_TTL`: given up


class SmsHeldReceipt(Base):
    """A final delivery receipt that came before its part's id was recorded (the SMSC sends the
    receipt milliseconds after submit_sm_resp, and the dispatcher writes results in batches).
    Stored before the receipt is acknowledged; applied when the part's id is written or by the
    sweep; expired after a bound. `receipt_state` is a `sms_gateway.link.MessageState` value."""

    __tablename__ = "sms_held_receipts"
    __table_args__ = (Index("ix_sms_held_receipts_state_received_at", "state", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    link: Mapped[str | None] = mapped_column(String(32))  # the bind it came on, when known
    carrier_message_id: Mapped[str] = mapped_column(String(80))  # as the SMSC wrote it
    receipt_state: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(32))
    done_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # the SMSC's "done date"
    state: Mapped[HeldReceiptState] = mapped_column(_enum(HeldReceiptState))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # applied or expired
    part_id: Mapped[int | None] = mapped_column(ForeignKey("sms_parts.id"))


class SmsHeldReceiptKey(Base):
    """The lookup keys of a held receipt's id (`receipt_id_keys`), matched against
    `SmsPartKey.key`; deleted once the receipt is applied or expired."""

    __tablename__ = "sms_held_receipt_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("sms_held_receipts.id"), index=True)
    key: Mapped[str] = mapped_column(String(96), index=True)
