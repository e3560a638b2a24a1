"""Who may hear a recording, what the pages list, and the audit row of each listen and
download. Blocking: run in the database's thread pool.

Hear: supervisors any; an officer the calls they took (the queue's member, or the appeal's
officer), the callbacks they placed or were given, and the hall's voice messages (the hall
classifies them); a unit officer the recordings of the appeals dispatched to their unit.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hotline import audit
from schemas.callbacks import CallbackAttempt, CallbackTask
from schemas.enums import AgentRole
from schemas.live import QueueCall
from schemas.models import Agent, Appeal, WorkOrder
from schemas.recordings import Recording, RecordingHold, RecordingKind


class RecordingNotFound(LookupError):
    pass


class RecordingForbidden(PermissionError):
    pass


@dataclass(frozen=True)
class Listener:
    agent_id: int
    username: str
    role: AgentRole
    unit_id: int | None


@dataclass(frozen=True)
class RecordingView:
    id: int
    kind: RecordingKind
    name: str
    call_id: str | None
    task_id: int | None
    appeal_id: int | None
    size_bytes: int
    duration_s: float | None
    sha256: str
    started_at: dt.datetime
    first_seen_at: dt.datetime
    altered: bool
    missing: bool
    purged_at: dt.datetime | None
    purge_note: str | None


@dataclass(frozen=True)
class Holding:
    reason: str
    held_by: str
    held_at: dt.datetime


def _view(row: Recording) -> RecordingView:
    return RecordingView(row.id, row.kind, row.name, row.call_id, row.task_id, row.appeal_id,
                         row.size_bytes, row.duration_s, row.sha256, row.started_at,
                         row.first_seen_at, row.altered_at is not None,
                         row.missing_at is not None, row.purged_at, row.purge_note)


def may_hear(session: Session, row: Recording, who: Listener) -> bool:
    if who.role is AgentRole.SUPERVISOR:
        return True
    appeal = session.get(Appeal, row.appeal_id) if row.appeal_id is not None else None
    if who.role is AgentRole.UNIT_OFFICER:
        return appeal is not None and _unit_sees(session, appeal, who.unit_id)
    if who.role is not AgentRole.AGENT:
        return False
    if row.kind is RecordingKind.VOICE_MESSAGE:
        return True
    if appeal is not None and appeal.agent_id == who.agent_id:
        return True
    if row.kind is RecordingKind.CALL and row.call_id:
        interface = session.scalar(select(Agent.interface).where(Agent.id == who.agent_id))
        return interface is not None and session.scalar(
            select(QueueCall.caller_uniqueid).where(QueueCall.call_id == row.call_id,
                                                    QueueCall.interface == interface)
            .limit(1)) is not None
    if row.task_id is not None:
        task = session.get(CallbackTask, row.task_id)
        if task is not None and task.assigned_agent_id == who.agent_id:
            return True
        return session.scalar(select(CallbackAttempt.id).where(
            CallbackAttempt.task_id == row.task_id,
            CallbackAttempt.agent_id == who.agent_id).limit(1)) is not None
    return False


def playable(session: Session, recording_id: int, who: Listener,
             roots: Mapping[str, str]) -> tuple[RecordingView, str]:
    """The recording and its file's path, if `who` may hear it and the file is here."""
    row = session.get(Recording, recording_id)
    if row is None or row.purged_at is not None:
        raise RecordingNotFound(recording_id)
    if not may_hear(session, row, who):
        raise RecordingForbidden(recording_id)
    root = roots.get(row.source) or ""
    path = os.path.join(root, row.name)
    if not root or not os.path.isfile(path):
        raise RecordingNotFound(recording_id)
    return _view(row), path


def _unit_sees(session: Session, appeal: Appeal, unit_id: int | None) -> bool:
    if unit_id is None:
        return False
    return appeal.unit_id == unit_id or session.scalar(
        select(WorkOrder.id).where(WorkOrder.appeal_id == appeal.id,
                                   WorkOrder.unit_id == unit_id).limit(1)) is not None


def of_appeal(session: Session, appeal_id: int, who: Listener) -> list[RecordingView]:
    """The appeal's recordings `who` may hear, oldest first: those tied to it, and those of
    its call and callback tasks. A unit officer finds only their unit's appeals."""
    appeal = session.get(Appeal, appeal_id)
    if appeal is None or (who.role is AgentRole.UNIT_OFFICER
                          and not _unit_sees(session, appeal, who.unit_id)):
        raise RecordingNotFound(appeal_id)
    tasks = select(CallbackTask.id).where(or_(CallbackTask.appeal_id == appeal_id,
                                              CallbackTask.result_appeal_id == appeal_id))
    ties = [Recording.appeal_id == appeal_id, Recording.task_id.in_(tasks)]
    if appeal.call_id:
        ties.append(Recording.call_id == appeal.call_id)
    rows = session.scalars(select(Recording).where(or_(*ties))
                           .order_by(Recording.started_at, Recording.id))
    return [_view(row) for row in rows if may_hear(session, row, who)]


def of_task(session: Session, task_id: int, who: Listener) -> list[RecordingView]:
    """A callback task's recordings `who` may hear: its attempts', and those of the call
    that asked for it and of its appeal."""
    task = session.get(CallbackTask, task_id)
    if task is None:
        raise RecordingNotFound(task_id)
    ties = [Recording.task_id == task_id]
    if task.call_id:  # the call that asked for it (a voice message, a queue callback)
        ties.append(Recording.call_id == task.call_id)
    if task.appeal_id is not None:  # what the officer calls back about
        ties.append(Recording.appeal_id == task.appeal_id)
    rows = session.scalars(select(Recording).where(or_(*ties))
                           .order_by(Recording.started_at, Recording.id))
    return [_view(row) for row in rows if may_hear(session, row, who)]


def holding(session: Session, appeal_id: int) -> Holding | None:
    row = session.scalar(select(RecordingHold).where(RecordingHold.appeal_id == appeal_id,
                                                     RecordingHold.released_at.is_(None))
                         .order_by(RecordingHold.id.desc()).limit(1))
    return Holding(row.reason, row.held_by, row.held_at) if row is not None else None


def listened(session: Session, recording: RecordingView, actor: str, now: dt.datetime, *,
             watermark: str | None = None) -> None:
    """A listen (or, with its watermark, a download) on the recording's trail and, when it
    has one, on its appeal's."""
    action, note = ("download", f"watermark {watermark}") if watermark else \
        ("listen", f"{recording.kind.value} recording {recording.name}")
    audit.record(session, at=now, actor=actor, action=action, entity_type="recording",
                 entity_id=recording.id, note=note)
    if recording.appeal_id is not None:
        audit.record(session, at=now, actor=actor, action=action, entity_type="appeal",
                     entity_id=recording.appeal_id, note=f"recording #{recording.id}: {note}")
