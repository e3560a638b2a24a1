"""The record every call leaves: who, when, the path through the menu, the outcome."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schemas.base import Base, UtcDateTime
from schemas.enums import CallOutcome
from schemas.models import _enum


class CallRecord(Base):
    __tablename__ = "call_records"
    __table_args__ = (Index("ix_call_records_caller_started_at", "caller", "started_at"),
                      Index("ix_call_records_started_at", "started_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)  # ours, set on the channel
    asterisk_uniqueid: Mapped[str | None] = mapped_column(String(64))
    channel_name: Mapped[str | None] = mapped_column(String(128))
    flow: Mapped[str] = mapped_column(String(32))
    caller: Mapped[str | None] = mapped_column(String(32))
    dnid: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    path: Mapped[str] = mapped_column(Text, default="")  # steps joined by ">"
    menu_choice: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[CallOutcome] = mapped_column(_enum(CallOutcome))
    abandoned_at: Mapped[str | None] = mapped_column(String(64))  # the step the caller left
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"))
    queue_waiting: Mapped[int | None] = mapped_column(Integer)  # callers ahead when joining
    process: Mapped[str | None] = mapped_column(String(64))
