"""What the supervisor's oversight pages read, in the database thread: appeals past their
deadline by unit (督办), and the standing list of 不满意 ratings with their reasons.

A 不满意 rating, whichever channel brought it, goes through `AppealRepository.rate`, which
reopens the appeal and raises a `dissatisfied` supervisor alert in the same transaction
(source: who rated, note: what came with the rating). Those alerts, acknowledged or not,
are the record this list reads. The channel is told by the rating's author, as the
packages that rate write it: the callback queue's survey flow (`system:callback-survey`,
note `callback <task>`), an agent's callback (the agent's username, note
`callback <task>: <reason>`), and the SMS reply handler (`system:sms-reply`, note
`SMS survey reply <id>`; a survey reply is a bare 1/2/3, so what the citizen wrote next,
noted on the appeal as `sms_reply`, is shown as the explanation).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import String, cast, exists, func, select
from sqlalchemy.orm import Session

from hotline import alerts, audit, reply_notes
from hotline.workdays import WorkCalendar
from schemas.enums import AppealStatus
from schemas.models import Appeal, AuditEvent, SupervisorAlert, Unit

OPEN_STATUSES = (AppealStatus.RECEIVED, AppealStatus.ASSIGNED, AppealStatus.IN_PROGRESS)
OVERDUE_LIMIT = 500  # appeals listed under their units; the counts are over all of them
DISSATISFIED_LIMIT = 500

# The rating's authors and notes, as the rating packages write them (see the docstring).
SURVEY_ACTOR = "system:callback-survey"
SMS_ACTOR = reply_notes.ACTOR
SMS_NOTE_ACTION = reply_notes.NOTE_ACTION
_CALLBACK_NOTE = re.compile(r"callback \d+(?:: (?P<reason>.*))?\Z", re.S)

CHANNELS = ("ivr", "sms", "agent", "other")


# Overdue appeals ---------------------------------------------------------------------------

@dataclass(frozen=True)
class OverdueAppeal:
    id: int
    case_number: str
    kind: str
    status: str
    subject: str
    deadline_at: dt.datetime
    days_overdue: int  # working days after the deadline's day, up to today (see below)


@dataclass(frozen=True)
class OverdueUnit:
    unit_id: int | None  # None: not assigned to a unit yet
    label: str
    count: int
    oldest_deadline: dt.datetime
    most_days_overdue: int
    appeals: tuple[OverdueAppeal, ...]  # oldest deadline first; at most OVERDUE_LIMIT in all


@dataclass(frozen=True)
class OverdueReport:
    units: list[OverdueUnit]  # most overdue appeals first
    total: int
    listed: int  # appeals listed under the units (fewer than total past the limit)


def overdue_by_unit(session: Session, *, now: dt.datetime, zone: ZoneInfo,
                    calendar: WorkCalendar, limit: int = OVERDUE_LIMIT) -> OverdueReport:
    """Appeals past their deadline and not resolved or closed, by unit.

    Days overdue are working days of the calendar (weekends, public holidays and make-up
    days as the deadlines are set): the working days after the deadline's own day, up to and
    including today, in the business zone. An appeal overdue since earlier today shows 0.
    """
    overdue = (Appeal.status.in_(OPEN_STATUSES), Appeal.deadline_at < now)
    summary = session.execute(select(Appeal.unit_id, func.count(), func.min(Appeal.deadline_at))
                              .where(*overdue).group_by(Appeal.unit_id)).all()
    listed = session.execute(select(Appeal.id, Appeal.case_number, Appeal.kind, Appeal.status,
                                    Appeal.subject, Appeal.deadline_at, Appeal.unit_id)
                             .where(*overdue)
                             .order_by(Appeal.deadline_at, Appeal.id).limit(limit)).all()
    labels = _unit_labels(session, [unit_id for unit_id, _, _ in summary])
    today = now.astimezone(zone).date()
    days = _WorkingDaysSince(calendar, today)
    by_unit: dict[int | None, list[OverdueAppeal]] = {}
    for row in listed:
        by_unit.setdefault(row.unit_id, []).append(OverdueAppeal(
            row.id, row.case_number, row.kind.value, row.status.value, row.subject,
            row.deadline_at, days(row.deadline_at.astimezone(zone).date())))
    units = [OverdueUnit(unit_id, labels.get(unit_id, ""), count, oldest,
                         days(oldest.astimezone(zone).date()), tuple(by_unit.get(unit_id, ())))
             for unit_id, count, oldest in summary]
    units.sort(key=lambda u: (-u.count, u.oldest_deadline, u.label))
    return OverdueReport(units, sum(u.count for u in units), len(listed))


class _WorkingDaysSince:
    """Working days after a day, up to and including `today`; remembered per day."""

    def __init__(self, calendar: WorkCalendar, today: dt.date) -> None:
        self.calendar, self.today, self.known = calendar, today, {}

    def __call__(self, day: dt.date) -> int:
        if day not in self.known:
            count, current = 0, day
            while current < self.today:
                current += dt.timedelta(days=1)
                count += self.calendar.is_workday(current)
            self.known[day] = count
        return self.known[day]


def _unit_labels(session: Session, ids: list[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {u.id: f"{u.code} {u.name}"
            for u in session.scalars(select(Unit).where(Unit.id.in_(wanted)))}


# Dissatisfied ratings ----------------------------------------------------------------------

@dataclass(frozen=True)
class DissatisfiedRating:
    alert_id: int
    at: dt.datetime
    appeal_id: int
    case_number: str
    unit_label: str
    citizen_phone: str  # for the page to mask; its view is audited
    channel: str  # one of CHANNELS
    reason: str | None  # given with the rating (an agent's callback)
    follow_up: str | None  # for an SMS rating: what the citizen wrote next
    status: str  # the appeal's now
    reopened: bool  # reopened at or after the rating
    acknowledged: bool


def dissatisfied_ratings(session: Session, *, start: dt.datetime, end: dt.datetime,
                         unit_id: int | None, actor: str, now: dt.datetime,
                         limit: int = DISSATISFIED_LIMIT) -> list[DissatisfiedRating]:
    """不满意 ratings given in [start, end), newest first, of one unit's appeals or all.
    The list shows what citizens said, so each citizen on it gets an audited view."""
    a = SupervisorAlert
    reopened = exists().where(AuditEvent.entity_type == "appeal",
                              AuditEvent.entity_id == cast(Appeal.id, String),
                              AuditEvent.action == "reopen", AuditEvent.at >= a.at)
    query = (select(a, Appeal.case_number, Appeal.citizen_phone, Appeal.status, Unit.code,
                    Unit.name, reopened.label("reopened"))
             .join(Appeal, Appeal.id == a.appeal_id)
             .outerjoin(Unit, Unit.id == Appeal.unit_id)
             .where(a.kind == alerts.DISSATISFIED, a.at >= start, a.at < end))
    if unit_id is not None:
        query = query.where(Appeal.unit_id == unit_id)
    rows = session.execute(query.order_by(a.at.desc(), a.id.desc()).limit(limit)).all()
    follow_ups = _sms_follow_ups(session, [(r[0].appeal_id, r[0].at) for r in rows
                                           if _channel(r[0]) == "sms"])
    listed = []
    for alert, case_number, phone, status, code, name, was_reopened in rows:
        channel = _channel(alert)
        found = _CALLBACK_NOTE.match(alert.note or "") if channel in ("ivr", "agent") else None
        reason = found.group("reason") if found else (alert.note if channel == "other" else None)
        listed.append(DissatisfiedRating(
            alert.id, alert.at, alert.appeal_id, case_number,
            f"{code} {name}" if code else "", phone, channel, reason,
            follow_ups.get((alert.appeal_id, alert.at)), status.value, bool(was_reopened),
            alert.acknowledged_at is not None))
    for phone in dict.fromkeys(r.citizen_phone for r in listed):
        audit.record_access(session, at=now, actor=actor, entity_type="citizen",
                            entity_id=phone, note="dissatisfied ratings")
    return listed


def _channel(alert: SupervisorAlert) -> str:
    if alert.source == SURVEY_ACTOR:
        return "ivr"
    if alert.source == SMS_ACTOR:
        return "sms"
    if not alert.source.startswith("system:") and _CALLBACK_NOTE.match(alert.note or ""):
        return "agent"
    return "other"


def _sms_follow_ups(session: Session, ratings: list[tuple[int, dt.datetime]]) -> dict:
    """(appeal, rating time) -> the first SMS the citizen sent after that rating, noted on
    the appeal."""
    if not ratings:
        return {}
    notes = session.execute(select(AuditEvent.entity_id, AuditEvent.at, AuditEvent.note)
                            .where(AuditEvent.entity_type == "appeal",
                                   AuditEvent.action == SMS_NOTE_ACTION,
                                   AuditEvent.entity_id.in_({str(i) for i, _ in ratings}))
                            .order_by(AuditEvent.at, AuditEvent.id)).all()
    found = {}
    for appeal_id, at in ratings:
        for entity_id, noted_at, note in notes:
            text = reply_notes.text_of(note)
            if entity_id == str(appeal_id) and noted_at >= at and text is not None:
                found[(appeal_id, at)] = text
                break
    return found
