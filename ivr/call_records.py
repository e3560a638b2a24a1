"""Database work for call records: opened when a call arrives, closed with its outcome."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
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


def _insert(session: Session):
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(CallRecord)


def _start_values(start: CallStart) -> dict:
    return dict(call_id=start.call_id, flow=start.flow, caller=start.caller, dnid=start.dnid,
                asterisk_uniqueid=start.asterisk_uniqueid, channel_name=start.channel_name,
                started_at=start.started_at, process=start.process)


def open_call(session: Session, start: CallStart) -> None:
    """One statement; a no-op if the call was already closed (the two may run in either
    order, as the flow does not wait for the opening write)."""
    session.execute(_insert(session)
                    .values(**_start_values(start), path="", outcome=CallOutcome.IN_PROGRESS)
                    .on_conflict_do_nothing(index_elements=["call_id"]))


def close_call(session: Session, start: CallStart, end: CallEnd) -> None:
    """One statement: the record with its outcome, whether or not opening it got through."""
    closing = dict(ended_at=end.ended_at, outcome=end.outcome, path=">".join(end.path),
                   menu_choice=end.menu_choice, abandoned_at=end.abandoned_at,
                   appeal_id=end.appeal_id, queue_waiting=end.queue_waiting)
    session.execute(_insert(session)
                    .values(**_start_values(start), **closing)
                    .on_conflict_do_update(index_elements=["call_id"], set_=closing))


def get_call(session: Session, call_id: str) -> CallRecordView | None:
    r = session.scalar(select(CallRecord).where(CallRecord.call_id == call_id))
    if r is None:
        return None
    return CallRecordView(r.call_id, r.flow, r.caller, r.started_at, r.ended_at, r.path,
                          r.menu_choice, r.outcome, r.abandoned_at, r.appeal_id)
