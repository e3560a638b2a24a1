"""Database work for call records: opened when a call arrives, closed with its outcome."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from twisted.internet import defer
from twisted.python.failure import Failure

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


def apply(session: Session, operations: list[tuple]) -> None:
    """A batch of openings and closings, in the order the calls made them."""
    for operation in operations:
        if operation[0] == "open":
            open_call(session, operation[1])
        else:
            close_call(session, operation[1], operation[2])


class CallRecordWriter:
    """Coalesces call-record writes: while one transaction is in flight the next ones wait
    and go together in the following one. Idle, a write goes at once; busy (hundreds of calls
    a second), one transaction carries many, instead of one each."""

    def __init__(self, db) -> None:
        self._db = db
        self._pending: list[tuple[tuple, defer.Deferred]] = []
        self._busy = False

    def submit(self, operation: tuple) -> defer.Deferred:
        done: defer.Deferred = defer.Deferred()
        self._pending.append((operation, done))
        if not self._busy:
            self._flush()
        return done

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        self._busy = True
        self._db.write(apply, [operation for operation, _ in batch]).addBoth(self._written, batch)

    def _written(self, result, batch) -> None:
        self._busy = False
        for _, done in batch:
            if isinstance(result, Failure):
                done.errback(result)
            else:
                done.callback(None)
        if self._pending:
            self._flush()


def get_call(session: Session, call_id: str) -> CallRecordView | None:
    r = session.scalar(select(CallRecord).where(CallRecord.call_id == call_id))
    if r is None:
        return None
    return CallRecordView(r.call_id, r.flow, r.caller, r.started_at, r.ended_at, r.path,
                          r.menu_choice, r.outcome, r.abandoned_at, r.appeal_id)


# A call longer than this is not a call: the IVR's own steps take minutes, and the queue wait
# it hands over to ends at the queue's timeout (600 s in docs/asterisk/).
STALE_AFTER = dt.timedelta(hours=12)


def settle_left_in_progress(session: Session, *, process: str, started_before: dt.datetime,
                            now: dt.datetime) -> int:
    """Close the records a process that is gone left in progress (it was killed mid-call, so
    it never wrote the outcome); the number settled.

    How a starting process knows a record's process is gone: every record names the process
    that took the call (`[service] name`, distinct per process: docs/operations.md), so a
    record in progress under this process's own name, started before this process did, was
    left by an earlier run of it. A record under another name is settled only once it is
    older than `STALE_AFTER`: that process may be running and the call still going on.

    The outcome is `failed` with the time of settling as its end: the session was cut, and
    the dialplan sent the caller to the agents (extensions.conf: the flow never marked the
    channel done). The path the call took was in the dead process's memory and stays empty."""
    from sqlalchemy import and_, or_, update

    result = session.execute(
        update(CallRecord)
        .where(CallRecord.outcome == CallOutcome.IN_PROGRESS,
               or_(and_(CallRecord.process == process, CallRecord.started_at < started_before),
                   CallRecord.started_at < now - STALE_AFTER))
        .values(outcome=CallOutcome.FAILED, ended_at=now)
        .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
