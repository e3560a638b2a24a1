"""What the call flows ask of the rest of the service, each answer bounded in time.

Every method returns within the configured backend timeout or raises `BackendUnavailable`;
the flows catch that and send the caller to an agent with an apology (a backend fault never
drops a call). Work runs in the database's thread pool; the reactor thread never waits.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from hotline.appeals import (
    AppealNotFound,
    AppealService,
    AppealValidationError,
    InvalidTransition,
    NewAppeal,
)
from hotline.clock import WallClock
from hotline.db import Database
from hotline.masking import mask_phone
from hotline.phones import PhoneNumberError, normalise_phone
from ivr import call_records
from ivr.call_records import CallEnd, CallStart
from schemas.enums import AppealChannel, AppealKind, AppealStatus
from schemas.models import Appeal, Unit


class BackendUnavailable(Exception):
    """A lookup failed or took longer than the backend timeout."""


@dataclass(frozen=True)
class AppealView:
    """What the IVR may tell a caller about an appeal."""

    id: int
    case_number: str
    status: AppealStatus
    unit_code: str | None
    resolved_at: dt.datetime | None


@dataclass(frozen=True)
class FiledMessage:
    """Where a voice message went: a note on the caller's open appeal (`joined`), or an
    appeal of its own."""

    appeal_id: int
    case_number: str
    joined: bool


CallbackRequester = Callable[[str, str], Awaitable[object]]  # (phone, call_id); result unused
IVR_ACTOR = "system:ivr"


class HotlineBackend:
    log = Logger()

    def __init__(self, db: Database, appeals: AppealService, clock: WallClock,
                 timers: IReactorTime, timeout_s: float, process: str | None = None,
                 request_callback: CallbackRequester | None = None,
                 record_timeout_s: float | None = None) -> None:
        """`timeout_s` bounds the lookups a caller waits on; `record_timeout_s` (default: the
        same) the closing write of a call record, which the session waits for before it
        ends, so that a call that has ended is recorded even if the process dies next."""
        self._db = db
        self._appeals = appeals
        self._clock = clock
        self._timers = timers
        self._timeout = timeout_s
        self._record_timeout = record_timeout_s if record_timeout_s is not None else timeout_s
        self._process = process
        self.request_callback = request_callback
        self._records = call_records.CallRecordWriter(db)

    def now(self) -> dt.datetime:
        return self._clock.now()

    async def _bounded(self, deferred: defer.Deferred, what: str,
                       timeout: float | None = None) -> Any:
        limit = self._timeout if timeout is None else timeout
        deferred.addTimeout(limit, self._timers)
        try:
            return await deferred
        except (AppealNotFound, AppealValidationError, InvalidTransition):
            raise
        except defer.TimeoutError:
            self.log.warn("Backend too slow: {what} took over {timeout}s", what=what,
                          timeout=limit)
            raise BackendUnavailable(f"{what} timed out") from None
        except Exception as error:
            self.log.warn("Backend failed: {what}: {error!r}", what=what, error=error)
            raise BackendUnavailable(f"{what} failed: {error}") from None

    async def open_appeal(self, caller: str | None) -> AppealView | None:
        """The caller's newest appeal that is not closed, if the number is a citizen's."""
        phone = _phone_or_none(caller)
        if phone is None:
            return None
        return await self._bounded(self._db.read(_newest_open, phone), "open appeal lookup")

    async def appeal_by_case(self, case_number: str) -> AppealView | None:
        return await self._bounded(self._db.read(_by_case, case_number), "case number lookup")

    def _ours(self, start: CallStart) -> CallStart:
        """The record names the process that took the call: a process starting again after a
        kill settles its own records left in progress by that name (ivr.settling)."""
        if start.process is None and self._process is not None:
            return replace(start, process=self._process)
        return start

    async def begin_call(self, start: CallStart) -> None:
        await self._bounded(self._records.submit(("open", self._ours(start))), "call record")

    async def end_call(self, start: CallStart, end: CallEnd) -> None:
        await self._bounded(self._records.submit(("close", self._ours(start), end)),
                            "call record", self._record_timeout)

    async def leave_voice_message(self, caller: str | None, recording: str,
                                  call_id: str) -> FiledMessage | None:
        """A voice message from a caller with an open appeal joins it, as a note with the
        recording (the same citizen calling about the same matter); otherwise it becomes an
        appeal the agents work on the next opening. A caller with no usable number still has
        the recording kept, with no appeal."""
        phone = _phone_or_none(caller)
        if phone is None:
            self.log.warn("Voice message {recording} from an unusable number {caller}; no appeal",
                          recording=recording, caller=mask_phone(caller))
            return None
        open_appeal = await self._bounded(self._db.read(_newest_open, phone),
                                          "open appeal lookup")
        if open_appeal is not None:
            note = f"语音留言，录音文件：{recording}"
            try:
                await self._bounded(self._appeals.add_note(open_appeal.id, note, actor=IVR_ACTOR,
                                                           call_id=call_id), "voice message note")
            except InvalidTransition:
                pass  # closed since the lookup: the message opens an appeal of its own
            else:
                return FiledMessage(open_appeal.id, open_appeal.case_number, joined=True)
        new = NewAppeal(channel=AppealChannel.VOICE_MESSAGE, kind=AppealKind.CONSULTATION,
                        subject="语音留言（待坐席回听分类）", citizen_phone=phone,
                        body=f"录音文件：{recording}", call_id=call_id, recording_path=recording)
        record = await self._bounded(self._appeals.create(new, actor=IVR_ACTOR), "voice message")
        return FiledMessage(record.id, record.case_number, joined=False)

    async def recording_size(self, recording: str) -> int | None:
        """The size in bytes of a recording Asterisk wrote, when this process sees its spool
        (the same host, or a shared directory); None when it does not, or cannot tell in
        time. A stat of a spool that may be a network mount stays off the reactor."""
        try:
            return await self._bounded(self._db.read(_file_size, recording), "recording size")
        except BackendUnavailable:
            return None


def _phone_or_none(caller: str | None) -> str | None:
    if not caller:
        return None
    try:
        return normalise_phone(caller)
    except PhoneNumberError:
        return None


_VIEW_COLUMNS = (Appeal.id, Appeal.case_number, Appeal.status, Unit.code, Appeal.resolved_at)


def _view_query():
    """Only what the caller may hear, the unit joined in: one indexed query per lookup."""
    return select(*_VIEW_COLUMNS).outerjoin(Unit, Unit.id == Appeal.unit_id)


def _view(row) -> AppealView | None:
    return AppealView(*row) if row is not None else None


def _newest_open(session: Session, phone: str) -> AppealView | None:
    return _view(session.execute(
        _view_query().where(Appeal.citizen_phone == phone, Appeal.status != AppealStatus.CLOSED)
        .order_by(Appeal.created_at.desc(), Appeal.id.desc()).limit(1)).first())


def _by_case(session: Session, case_number: str) -> AppealView | None:
    return _view(session.execute(_view_query().where(Appeal.case_number == case_number)).first())


def _file_size(session: Session, path: str) -> int | None:
    """Runs in the database's pool only to be off the reactor; the session is not used (an
    unused session takes no connection)."""
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def unit_names(session: Session) -> list[tuple[str, str]]:
    """Every unit's (code, name), inactive ones too (an old appeal may still name one): what
    the unit prompts are made from."""
    return [(code, name) for code, name in
            session.execute(select(Unit.code, Unit.name).order_by(Unit.code))]
