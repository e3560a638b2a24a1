"""The append-only audit trail: who did what to which record, when, from which state to
which. Appeal transitions and every agent read of a citizen's record are written here, in
the same transaction as the change (a read is audited even though it changes nothing)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.models import AuditEvent


@dataclass(frozen=True)
class AuditRecord:
    at: dt.datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    from_state: str | None
    to_state: str | None
    note: str | None


def record(session: Session, *, at: dt.datetime, actor: str, action: str, entity_type: str,
           entity_id: object, from_state: str | None = None, to_state: str | None = None,
           note: str | None = None) -> None:
    session.add(AuditEvent(at=at, actor=actor, action=action, entity_type=entity_type,
                           entity_id=str(entity_id), from_state=from_state, to_state=to_state,
                           note=note))


def record_access(session: Session, *, at: dt.datetime, actor: str, entity_type: str,
                  entity_id: object, note: str | None = None) -> None:
    """An agent read a citizen's record (a card, an appeal's detail, a call's history)."""
    record(session, at=at, actor=actor, action="view", entity_type=entity_type,
           entity_id=entity_id, note=note)


def trail(session: Session, entity_type: str, entity_id: object) -> list[AuditRecord]:
    rows = session.scalars(select(AuditEvent)
                           .where(AuditEvent.entity_type == entity_type,
                                  AuditEvent.entity_id == str(entity_id))
                           .order_by(AuditEvent.id))
    return [AuditRecord(r.at, r.actor, r.action, r.entity_type, r.entity_id, r.from_state,
                        r.to_state, r.note) for r in rows]
