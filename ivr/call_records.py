"""Database work for call records: opened when a call arrives, closed with its outcome."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.calls import CallRecord
from schemas.enums import CallOutcome


@dataclass(frozen=True)
class CallStart:
    call_id: str
    flow: str
    caller: str | None
    dnid: str | None
    asterisk_uniqueid: str | None
    channel_name: str | None
    started_at: dt.datetime
    process: str | None = None


@dataclass(frozen=True)
class CallEnd:
    call_id: str
    outcome: CallOutcome
    ended_at: dt.datetime
    path: tuple[str, ...]
    menu_choice: str | None = None
    abandoned_at: str | None = None
    appeal_id: int | None = None
    queue_waiting: int | None = None


@dataclass(frozen=True)
class CallRecordView:
    call_id: str
    flow: str
    caller: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    path: str
    menu_choice: str | None
    outcome: CallOutcome
    abandoned_at: str | None
    appeal_id: int | None


def open_call(session: Session, start: CallStart) -> None:
    session.add(CallRecord(call_id=start.call_id, flow=start.flow, caller=start.caller,
                           dnid=start.dnid, asterisk_uniqueid=start.asterisk_uniqueid,
                           channel_name=start.channel_name, started_at=start.started_at,
                           path="", outcome=CallOutcome.IN_PROGRESS, process=start.process))


def close_call(session: Session, start: CallStart, end: CallEnd) -> None:
    """Close the record; create it first if opening it had failed (a slow database at the
    start of the call must not lose the record at its end)."""
    record = session.scalar(select(CallRecord).where(CallRecord.call_id == end.call_id))
    if record is None:
        open_call(session, start)
        session.flush()
        record = session.scalar(select(CallRecord).where(CallRecord.call_id == end.call_id))
    record.ended_at = end.ended_at
    record.outcome = end.outcome
    record.path = ">".join(end.path)
    record.menu_choice = end.menu_choice
    record.abandoned_at = end.abandoned_at
    record.appeal_id = end.appeal_id
    record.queue_waiting = end.queue_waiting


def get_call(session: Session, call_id: str) -> CallRecordView | None:
    r = session.scalar(select(CallRecord).where(CallRecord.call_id == call_id))
    if r is None:
        return None
    return CallRecordView(r.call_id, r.flow, r.caller, r.started_at, r.ended_at, r.path,
                          r.menu_choice, r.outcome, r.abandoned_at, r.appeal_id)
