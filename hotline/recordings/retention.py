"""Retention: how long each recording is kept, the daily purge that deletes the files past
it (their index rows stay, marked purged, with their hash), and legal holds on appeals that
keep theirs. Blocking: run in the database's thread pool."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session
from twisted.logger import Logger

from hotline import audit
from hotline.recordings.config import RecordingsConfig
from schemas.enums import AppealKind
from schemas.models import Appeal
from schemas.recordings import Recording, RecordingHold, RecordingKind

log = Logger()
COMPLAINTS = (AppealKind.COMPLAINT, AppealKind.REPORT)  # 投诉举报: the evidence is kept longer
ACTOR = "retention"


class HoldError(ValueError):
    """A hold refused: no such appeal, an empty reason, already held or not held."""


@dataclass
class PurgeResult:
    purged: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)  # past their period, kept by a hold
    failed: list[str] = field(default_factory=list)


def keep_days(config: RecordingsConfig, kind: RecordingKind,
              appeal_kind: AppealKind | None) -> int:
    if appeal_kind in COMPLAINTS:
        return config.keep_complaints_days
    return {RecordingKind.CALL: config.keep_calls_days,
            RecordingKind.CALLBACK: config.keep_callbacks_days,
            RecordingKind.VOICE_MESSAGE: config.keep_voice_messages_days}[kind]


def held_appeals(session: Session) -> set[int]:
    return set(session.scalars(select(RecordingHold.appeal_id)
                               .where(RecordingHold.released_at.is_(None))))


def purge(session: Session, config: RecordingsConfig, roots: Mapping[str, str],
          now: dt.datetime) -> PurgeResult:
    """Delete the files past their period, unless their appeal is held; each purge is a
    row of the audit trail."""
    result = PurgeResult()
    shortest = min(config.keep_calls_days, config.keep_callbacks_days,
                   config.keep_voice_messages_days)
    held = held_appeals(session)
    rows = session.execute(
        select(Recording, Appeal.kind).outerjoin(Appeal, Appeal.id == Recording.appeal_id)
        .where(Recording.purged_at.is_(None),
               Recording.started_at < now - dt.timedelta(days=shortest))
        .order_by(Recording.id)).all()
    for row, appeal_kind in rows:
        days = keep_days(config, row.kind, appeal_kind)
        if row.started_at >= now - dt.timedelta(days=days):
            continue
        if row.appeal_id in held:
            result.held.append(row.id)
            continue
        root = roots.get(row.source)
        if not root:
            result.failed.append(f"{row.name}: no directory for {row.source}")
            continue
        try:
            os.remove(os.path.join(root, row.name))
        except FileNotFoundError:
            pass  # gone already (marked missing): the row is purged all the same
        except OSError as error:
            result.failed.append(f"{row.name}: {error.strerror or error}")
            continue
        row.purged_at = now
        row.purge_note = f"保存期 {days} 天已满"
        audit.record(session, at=now, actor=ACTOR, action="purge", entity_type="recording",
                     entity_id=row.id, note=f"{row.name} sha256={row.sha256} after {days} days")
        result.purged.append(row.id)
    if result.purged or result.failed:
        log.info("Recordings purge: {purged} purged, {held} kept by a legal hold, {failed} "
                 "failed", purged=len(result.purged), held=len(result.held),
                 failed=len(result.failed))
    for line in result.failed:
        log.warn("Recording not purged: {line}", line=line)
    return result


def hold(session: Session, appeal_id: int, reason: str, actor: str, now: dt.datetime) -> int:
    reason = (reason or "").strip()
    if session.get(Appeal, appeal_id) is None:
        raise HoldError("appeal")
    if not reason:
        raise HoldError("reason")
    if appeal_id in held_appeals(session):
        raise HoldError("held")
    row = RecordingHold(appeal_id=appeal_id, reason=reason[:2000], held_by=actor, held_at=now)
    session.add(row)
    session.flush()
    audit.record(session, at=now, actor=actor, action="recording_hold", entity_type="appeal",
                 entity_id=appeal_id, note=reason[:2000])
    return row.id


def release(session: Session, appeal_id: int, actor: str, now: dt.datetime) -> None:
    rows = list(session.scalars(select(RecordingHold).where(
        RecordingHold.appeal_id == appeal_id, RecordingHold.released_at.is_(None))))
    if not rows:
        raise HoldError("not_held")
    for row in rows:
        row.released_at, row.released_by = now, actor
    audit.record(session, at=now, actor=actor, action="recording_release", entity_type="appeal",
                 entity_id=appeal_id)
