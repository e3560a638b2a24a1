"""Alerts for supervisors: raised in the transaction of the event that causes them (a 不满意
rating reopening an appeal, whichever channel it came by), read and acknowledged on the
supervisor's desk or with `hotline alerts`. Acknowledging is audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import audit
from schemas.models import Appeal, SupervisorAlert

DISSATISFIED = "dissatisfied"


@dataclass(frozen=True)
class AlertRecord:
    id: int
    at: dt.datetime
    kind: str
    source: str
    appeal_id: int | None
    case_number: str | None
    note: str | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None


def raise_alert(session: Session, *, kind: str, source: str, at: dt.datetime,
                appeal_id: int | None = None, note: str | None = None) -> int:
    alert = SupervisorAlert(kind=kind, source=source, at=at, appeal_id=appeal_id, note=note)
    session.add(alert)
    session.flush()
    return alert.id


def open_alerts(session: Session, limit: int = 200) -> list[AlertRecord]:
    rows = session.execute(select(SupervisorAlert, Appeal.case_number)
                           .outerjoin(Appeal, Appeal.id == SupervisorAlert.appeal_id)
                           .where(SupervisorAlert.acknowledged_at.is_(None))
                           .order_by(SupervisorAlert.at.desc(), SupervisorAlert.id.desc())
                           .limit(limit))
    return [AlertRecord(a.id, a.at, a.kind, a.source, a.appeal_id, case_number, a.note,
                        a.acknowledged_at, a.acknowledged_by) for a, case_number in rows]


def acknowledge(session: Session, alert_id: int, *, actor: str, now: dt.datetime) -> bool:
    alert = session.get(SupervisorAlert, alert_id, with_for_update=True)
    if alert is None or alert.acknowledged_at is not None:
        return False
    alert.acknowledged_at, alert.acknowledged_by = now, actor
    audit.record(session, at=now, actor=actor, action="acknowledge", entity_type="alert",
                 entity_id=alert_id, note=alert.kind)
    return True
