"""Reminders: imported from CSV files row by row, planned into the outbox before their due
dates.

Import: each row is validated on its own (a bad row is reported with its line number and
reason; the good rows go in); the file's encoding and its CSV rows, with the rows the CSV
reader refuses (an unbalanced quote, a field too long), come from `csv_input`; rows are read as a stream and written in batches, so memory
does not grow with the file. A reminder is one (kind, record, due date): importing the same
file again inserts nothing (the unique key, `ON CONFLICT DO NOTHING`).

Planning: vehicle and licence reminders have one stage per `[messages]
reminder_offsets_days` (default 30 and 7 days before the due date, from the morning of that
day); an ID card has one stage, at once. A planning round takes the reminders whose next
stage is due and queues the latest stage already due, skipping stages it overtook: imported
10 days before its due date, a reminder gets the 30-day message now and the 7-day one later;
imported 5 days before, only the 7-day one. The message's dedupe key is the reminder and its
offset, so a stage is queued once however often it is planned. A reminder whose message
cannot be rendered (a field too long for `max_parts`) is recorded as `unrenderable` and left.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hotline.phones import PhoneNumberError, is_mobile, normalise_phone
from schemas.enums import SmsKind
from schemas.messaging import Reminder, ReminderKind, ReminderState
from sms_gateway.messages.config import MessagesConfig
from sms_gateway.messages.csv_input import BadRecord, LongLine, records
from sms_gateway.messages.rules import local_day_bounds, morning_of
from sms_gateway.messages.sending import Request, Sender
from sms_gateway.messages.templates import MessageError, Templates

SMS_KIND = {ReminderKind.VEHICLE: SmsKind.REMINDER_VEHICLE,
            ReminderKind.LICENCE: SmsKind.REMINDER_LICENCE,
            ReminderKind.IDCARD: SmsKind.REMINDER_IDCARD}
# The columns each kind's file must have (extra columns are ignored); the record key first.
COLUMNS = {ReminderKind.VEHICLE: ("phone", "due_date", "plate"),
           ReminderKind.LICENCE: ("phone", "due_date", "licence_no"),
           ReminderKind.IDCARD: ("phone", "due_date", "application_no", "station",
                                 "opening_hours")}
RECORD_COLUMN = {ReminderKind.VEHICLE: "plate", ReminderKind.LICENCE: "licence_no",
                 ReminderKind.IDCARD: "application_no"}
PLATE = re.compile(r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
                   r"[A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警]?$")
RECORD_NUMBER = re.compile(r"^[0-9A-Za-z-]{4,64}$")
OLDEST_DUE = dt.timedelta(days=366)
UNRENDERABLE = "unrenderable"


class ImportFileError(ValueError):
    """The file as a whole cannot be read (no header, a missing column): nothing imported."""


@dataclass(frozen=True)
class ReminderRow:
    line: int
    kind: ReminderKind
    record_key: str
    due_date: dt.date
    phone: str
    plate: str | None = None
    station: str | None = None
    opening_hours: str | None = None


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


def read_rows(lines: Iterable[str | LongLine], kind: ReminderKind,
              today: dt.date) -> Iterator[ReminderRow | BadRow]:
    """Parse and validate a CSV's physical lines (header first) one row at a time; a row the
    CSV reader refuses (an unbalanced quote, a field too long) is a bad row like the rest."""
    rows = records(lines)
    header = next(rows, None)
    if header is None:
        raise ImportFileError("the file is empty (a header row is expected)")
    if isinstance(header, BadRecord):
        raise ImportFileError(f"line {header.line}: the header: {header.reason}")
    names = [name.strip().lower() for name in header.cells]
    missing = [c for c in COLUMNS[kind] if c not in names]
    if missing:
        raise ImportFileError(f"line 1: the header lacks column(s) {', '.join(missing)} "
                              f"(a {kind.value} file has {', '.join(COLUMNS[kind])})")
    index = {name: names.index(name) for name in COLUMNS[kind]}
    for row in rows:
        if isinstance(row, BadRecord):
            yield BadRow(row.line, row.reason)
            continue
        line, cells = row.line, row.cells
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) < len(names):
            yield BadRow(line, f"{len(cells)} columns, the header has {len(names)}")
            continue
        fields = {name: cells[i].strip() for name, i in index.items()}
        try:
            yield _validated(line, kind, fields, today)
        except ValueError as error:
            yield BadRow(line, str(error))


def _validated(line: int, kind: ReminderKind, fields: dict[str, str],
               today: dt.date) -> ReminderRow:
    try:
        phone = normalise_phone(fields["phone"])
    except PhoneNumberError as error:
        raise ValueError(f"phone: {error}") from None
    if not is_mobile(phone):
        raise ValueError(f"phone: {fields['phone']!r} is not a mobile number (no SMS)")
    due = _date(fields["due_date"])
    if due < today - OLDEST_DUE:
        raise ValueError(f"due_date: {due.isoformat()} is more than a year ago")
    record = fields[RECORD_COLUMN[kind]]
    extra: dict[str, str] = {}
    if kind is ReminderKind.VEHICLE:
        record = record.upper()
        if not PLATE.match(record):
            raise ValueError(f"plate: {fields['plate']!r} is not a vehicle plate (e.g. 鲁Q12345)")
        extra["plate"] = record
    elif not RECORD_NUMBER.match(record):
        raise ValueError(f"{RECORD_COLUMN[kind]}: {record!r} must be 4-64 letters, digits or -")
    if kind is ReminderKind.IDCARD:
        for name, limit in (("station", 64), ("opening_hours", 40)):
            if not fields[name]:
                raise ValueError(f"{name}: is required")
            if len(fields[name]) > limit:
                raise ValueError(f"{name}: longer than {limit} characters")
            extra[name] = fields[name]
    return ReminderRow(line, kind, record, due, phone, **extra)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise ValueError(f"due_date: {text!r} is not a date (YYYY-MM-DD)") from None


class ReminderPlan:
    """When each stage of a reminder is due, from the configuration."""

    def __init__(self, config: MessagesConfig, zone: ZoneInfo) -> None:
        self.config = config
        self.zone = zone

    def offsets(self, kind: ReminderKind) -> tuple[int, ...]:
        return (0,) if kind is ReminderKind.IDCARD else self.config.reminder_offsets_days

    def stage_times(self, kind: ReminderKind, due: dt.date,
                    created_at: dt.datetime) -> list[dt.datetime]:
        if kind is ReminderKind.IDCARD:
            return [created_at]  # ready for pickup: tell them at once (inside sending hours)
        return [morning_of(due - dt.timedelta(days=offset), self.zone, self.config.quiet)
                for offset in self.offsets(kind)]

    def end_of(self, due: dt.date) -> dt.datetime:
        return local_day_bounds(due, self.zone)[1]


def insert_reminders(session: Session, rows: Sequence[ReminderRow], plan: ReminderPlan,
                     now: dt.datetime) -> int:
    """Insert a batch; rows already known (kind, record, due date) are left alone. Returns
    how many were new."""
    if not rows:
        return 0
    values = [{"kind": r.kind, "record_key": r.record_key, "due_date": r.due_date,
               "phone": r.phone, "plate": r.plate, "station": r.station,
               "opening_hours": r.opening_hours, "state": ReminderState.PENDING, "stage": 0,
               "next_send_at": plan.stage_times(r.kind, r.due_date, now)[0],
               "last_result": None, "created_at": now, "updated_at": now} for r in rows]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(Reminder)
                 .on_conflict_do_nothing(index_elements=["kind", "record_key", "due_date"])
                 .returning(Reminder.id))
    return len(session.scalars(statement, values).all())


@dataclass(frozen=True)
class PlanRound:
    """What one planning pass did with the reminders it examined; the four outcomes add up
    to `examined`, so an operator's summary never leaves a reminder unaccounted for."""

    examined: int
    queued: int
    skipped: dict[str, int]  # reason -> reminders whose message was not queued
    expired: int  # past their due date's end: nothing is sent any more
    rescheduled: int = 0  # the configuration moved their next stage later: nothing due yet

    def __add__(self, other: PlanRound) -> PlanRound:
        return PlanRound(self.examined + other.examined, self.queued + other.queued,
                         {k: self.skipped.get(k, 0) + other.skipped.get(k, 0)
                          for k in {*self.skipped, *other.skipped}},
                         self.expired + other.expired, self.rescheduled + other.rescheduled)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        """One line for an operator, every count it holds, in an order that adds up."""
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(self.skipped.items()))
        return (f"{self.examined} due: {self.queued} messages queued, {self.skipped_total} "
                f"skipped{f' ({reasons})' if reasons else ''}, {self.expired} expired, "
                f"{self.rescheduled} rescheduled")


class ReminderPlanner:
    """One planning transaction over the reminders whose next stage is due."""

    def __init__(self, plan: ReminderPlan, sender: Sender, templates: Templates) -> None:
        self.plan = plan
        self.sender = sender
        self.templates = templates

    def plan_due(self, session: Session, now: dt.datetime, limit: int) -> PlanRound:
        query = (select(Reminder)
                 .where(Reminder.state == ReminderState.PENDING, Reminder.next_send_at <= now)
                 .order_by(Reminder.next_send_at, Reminder.id).limit(limit))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        reminders = session.scalars(query).all()
        requests, owners, expired, unrenderable, rescheduled = [], [], 0, 0, 0
        for reminder in reminders:
            reminder.updated_at = now
            if now >= self.plan.end_of(reminder.due_date):
                reminder.state, reminder.next_send_at = ReminderState.EXPIRED, None
                reminder.last_result = "expired"
                expired += 1
                continue
            times = self.plan.stage_times(reminder.kind, reminder.due_date, reminder.created_at)
            offsets = self.plan.offsets(reminder.kind)
            stage = max(i for i in range(reminder.stage, len(times)) if times[i] <= now) \
                if any(times[i] <= now for i in range(reminder.stage, len(times))) else None
            if stage is None:  # the configuration moved the stage later
                rescheduled += 1
                reminder.next_send_at = times[reminder.stage] if reminder.stage < len(times) \
                    else None
                if reminder.next_send_at is None:
                    reminder.state = ReminderState.DONE
                continue
            reminder.stage = stage + 1
            reminder.next_send_at = times[stage + 1] if stage + 1 < len(times) else None
            if reminder.next_send_at is None:
                reminder.state = ReminderState.DONE
            try:
                text = self._text(reminder)
            except MessageError:
                reminder.last_result = UNRENDERABLE
                unrenderable += 1
                continue
            requests.append(Request(SMS_KIND[reminder.kind], reminder.phone, text,
                                    dedupe_key=f"reminder:{reminder.id}:{offsets[stage]}",
                                    expires_at=self.plan.end_of(reminder.due_date)))
            owners.append(reminder)
        skipped: dict[str, int] = {UNRENDERABLE: unrenderable} if unrenderable else {}
        queued = 0
        for reminder, outcome in zip(owners, self.sender.queue_many(session, requests, now), strict=True):
            reminder.last_result = outcome.skipped or "queued"
            if outcome.skipped:
                skipped[outcome.skipped] = skipped.get(outcome.skipped, 0) + 1
            else:
                queued += 1
        session.flush()
        return PlanRound(len(reminders), queued, skipped, expired, rescheduled)

    def _text(self, reminder: Reminder) -> str:
        kind = SMS_KIND[reminder.kind]
        if reminder.kind is ReminderKind.VEHICLE:
            return self.templates.render(kind, plate=reminder.plate, due_date=reminder.due_date)
        if reminder.kind is ReminderKind.LICENCE:
            return self.templates.render(kind, due_date=reminder.due_date)
        return self.templates.render(kind, due_date=reminder.due_date, station=reminder.station,
                                     opening_hours=reminder.opening_hours)


@dataclass(frozen=True)
class ImportSummary:
    rows: int  # data rows read (blank lines not counted)
    inserted: int  # new reminders
    known: int  # valid rows already imported before
    bad: int


def import_stream(write_now, lines: Iterable[str | LongLine], kind: ReminderKind, plan: ReminderPlan,
                  now: dt.datetime, *, on_bad=None, on_progress=None,
                  batch: int = 1000) -> ImportSummary:
    """Validate and insert a CSV's physical lines (`TextFile.lines()`) in batches (each its own transaction, through
    `write_now(work, *args)`: `Database.write_now`), so memory does not grow with the file.
    `on_bad(BadRow)` hears of each bad row as it is read; `on_progress(rows)` after each batch."""
    today = now.astimezone(plan.zone).date()
    rows = inserted = bad = 0
    pending: list[ReminderRow] = []

    def write() -> int:
        count = write_now(insert_reminders, pending, plan, now)
        if on_progress is not None:
            on_progress(len(pending))
        pending.clear()
        return count

    for row in read_rows(lines, kind, today):
        rows += 1
        if isinstance(row, BadRow):
            bad += 1
            if on_bad is not None:
                on_bad(row)
            continue
        pending.append(row)
        if len(pending) >= batch:
            inserted += write()
    if pending:
        inserted += write()
    return ImportSummary(rows, inserted, rows - bad - inserted, bad)
