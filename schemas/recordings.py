"""The recordings index (migration 0023): every file Asterisk wrote for a call, a callback
or a voice message, seen once with its size, duration and SHA-256, tied to its call, task
and appeal by the ids in its name; and the legal holds on appeals that keep theirs from the
retention purge. hotline.recordings owns both."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from schemas.base import Base, UtcDateTime
from schemas.models import _enum


class RecordingKind(enum.StrEnum):
    CALL = "call"  # an agent's call from the queue (queues.conf monitor-format)
    CALLBACK = "callback"  # a survey, queue callback or agent callback (回访, 回电)
    VOICE_MESSAGE = "voice_message"  # RECORD FILE in the IVR


class Recording(Base):
    """One recording file. `source` says which directory it is in (`recordings`: [recordings]
    dir, `voice_messages`: [ivr] voice_message_dir) and `name` its file name there; a purged
    one keeps its row (and its hash) with `purged_at`."""

    __tablename__ = "recordings"
    __table_args__ = (
        UniqueConstraint("source", "name", name="uq_recordings_source_name"),
        Index("ix_recordings_call_id", "call_id"),
        Index("ix_recordings_task_id", "task_id"),
        Index("ix_recordings_appeal_id", "appeal_id"),
        Index("ix_recordings_kind_started_at", "kind", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RecordingKind] = mapped_column(_enum(RecordingKind))
    source: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(160))
    call_id: Mapped[str | None] = mapped_column(String(64))  # HOTLINE_CALL_ID
    task_id: Mapped[int | None] = mapped_column(ForeignKey("callback_tasks.id"))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("callback_attempts.id"))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[float | None] = mapped_column(Float)  # None: a format not measured
    sha256: Mapped[str] = mapped_column(String(64))  # of the file as first seen
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # its call's start, else mtime
    first_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    modified_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # the file's mtime then
    # The file changed after it was indexed (size or mtime, then the hash differs).
    altered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    missing_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # gone, not by us
    purged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    purge_note: Mapped[str | None] = mapped_column(Text)


class RecordingHold(Base):
    """A legal hold (法律保全) on an appeal: while it is not released, no recording tied to the
    appeal is purged, whatever its age."""

    __tablename__ = "recording_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    held_by: Mapped[str] = mapped_column(String(64))
    held_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
