"""What a citizen's reply does. The inbox stores each reply (state RECEIVED) before the SMSC
is acknowledged and then calls the listeners; `ReplyHandler` is one, and does its work in
one transaction:

- TD / 退订 / STOP: the number is opted out of reminders and warnings (OPT_OUT);
  订阅 / START: opted in again (OPT_IN). Full-width and any case count.
- 1 / 2 / 3 or 满意 / 基本满意 / 不满意 (full-width digits too): matched to the citizen's
  latest SURVEY message; within `survey_valid_hours` of its sending, and with the appeal
  still resolved, it is the appeal's rating through `AppealRepository.rate` (RATED). 不满意
  reopens the appeal for rework and is flagged to supervisors exactly as the callback
  queue's 不满意 is: the reopen in the audit trail and a warning in the log.
- 查询 / 查询 <case number>: the progress of the sender's appeal with that number, or of their
  latest open one, by SMS, as the IVR's progress query tells it (QUERIED); another person's
  number, one that does not exist, or no open appeal all get the same neutral reply.
- Anything else (a late or unsolicited rating included) is a note on the citizen's latest
  open appeal in its audit trail (NOTED), or, with no open appeal, waits for supervisors
  (UNMATCHED).

A reply already handled is left alone, and `handle_pending` picks up replies stored while
no handler ran (the process stopped between the two).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twisted.internet import defer
from twisted.logger import Logger

from hotline import audit, reply_notes
from hotline.appeals import AppealRecord, AppealRepository
from hotline.clock import WallClock
from hotline.db import Database
from hotline.masking import mask_phone
from hotline.phones import is_mobile
from schemas.enums import AppealStatus, Satisfaction, SmsInboundState, SmsKind, SmsState
from schemas.messaging import OptAction
from schemas.models import Appeal, Unit
from schemas.sms import SmsInbound, SmsMessage
from sms_gateway.inbox import StoredReply
from sms_gateway.messages import optout
from sms_gateway.messages.rules import ReplyKind, interpret

ACTOR = reply_notes.ACTOR
CITIZEN = "citizen-sms"
NOTE_ACTION = reply_notes.NOTE_ACTION
NOT_SENT = (SmsState.QUEUED, SmsState.CANCELLED, SmsState.FAILED)
OPEN = (AppealStatus.RECEIVED, AppealStatus.ASSIGNED, AppealStatus.IN_PROGRESS)
# Queues the answer to a 查询: (session, the sender, the appeal or None, its unit's name,
# now, the dedupe key); the SMS layer's AppealMessages.queue_progress_reply.
ProgressReply = Callable[[Session, str, "AppealRecord | None", "str | None", dt.datetime, str],
                         object]


@dataclass(frozen=True)
class ReplyResult:
    reply_id: int
    state: SmsInboundState
    appeal_id: int | None = None
    satisfaction: Satisfaction | None = None


class ReplyHandler:
    log = Logger()

    def __init__(self, db: Database, wall: WallClock, appeals: AppealRepository, *,
                 survey_valid: dt.timedelta, progress_reply: ProgressReply | None = None) -> None:
        self._db = db
        self._wall = wall
        self.appeals = appeals
        self.survey_valid = survey_valid
        self.progress_reply = progress_reply

    def __call__(self, reply: StoredReply) -> defer.Deferred:
        """The inbox listener: handle the stored reply in the database's thread pool."""
        d = self._db.write(self.handle, reply.id, self._wall.now())
        d.addCallback(self._logged)
        d.addErrback(lambda failure: self.log.failure(
            "Reply {id} from {source} not handled; it stays received", failure, id=reply.id,
            source=mask_phone(reply.source)))
        return d

    def _logged(self, result: ReplyResult | None) -> ReplyResult | None:
        if result is None:
            return None
        if result.satisfaction is Satisfaction.DISSATISFIED:
            self.log.warn("SMS survey reply {id}: citizen dissatisfied; appeal {appeal_id} "
                          "reopened for rework and flagged to supervisors", id=result.reply_id,
                          appeal_id=result.appeal_id)
        else:
            self.log.info("Reply {id}: {state} (appeal {appeal_id})", id=result.reply_id,
                          state=result.state.value, appeal_id=result.appeal_id)
        return result

    def handle_pending(self, session: Session, now: dt.datetime,
                       limit: int = 500) -> list[ReplyResult]:
        ids = session.scalars(select(SmsInbound.id)
                              .where(SmsInbound.state == SmsInboundState.RECEIVED)
                              .order_by(SmsInbound.id).limit(limit)).all()
        return [result for result in (self.handle(session, i, now) for i in ids) if result]

    def handle(self, session: Session, reply_id: int, now: dt.datetime) -> ReplyResult | None:
        reply = session.get(SmsInbound, reply_id, with_for_update=True)
        if reply is None or reply.state is not SmsInboundState.RECEIVED:
            return None  # handled already (by another process, or before a restart)
        meaning = interpret(reply.text)
        if meaning.kind in (ReplyKind.OPT_OUT, ReplyKind.OPT_IN) and not is_mobile(reply.source):
            return self._settle(reply, SmsInboundState.UNMATCHED, None, now)  # no list to be on
        if meaning.kind in (ReplyKind.OPT_OUT, ReplyKind.OPT_IN):
            action = OptAction.OPT_OUT if meaning.kind is ReplyKind.OPT_OUT else OptAction.OPT_IN
            optout.set_opt(session, reply.source, action, now=now, actor=CITIZEN,
                           inbound_id=reply.id, note=reply.text[:200])
            state = (SmsInboundState.OPT_OUT if action is OptAction.OPT_OUT
                     else SmsInboundState.OPT_IN)
            return self._settle(reply, state, None, now)
        if meaning.kind is ReplyKind.QUERY and self.progress_reply is not None:
            return self._query(session, reply, meaning.case_number, now)
        if meaning.kind is ReplyKind.RATING:
            appeal_id = self._surveyed_appeal(session, reply)
            if appeal_id is not None:
                self.appeals.rate(session, appeal_id, meaning.satisfaction, actor=ACTOR, now=now,
                                  note=f"SMS survey reply {reply.id}")
                result = self._settle(reply, SmsInboundState.RATED, appeal_id, now)
                return ReplyResult(result.reply_id, result.state, appeal_id,
                                   meaning.satisfaction)
        return self._note(session, reply, now)

    def _surveyed_appeal(self, session: Session, reply: SmsInbound) -> int | None:
        """The appeal of the citizen's latest survey, if the reply came within its validity
        and the appeal still waits for a rating."""
        sent_at = func.coalesce(SmsMessage.submitted_at, SmsMessage.not_before)
        survey = session.execute(
            select(SmsMessage.appeal_id, sent_at)
            .where(SmsMessage.destination == reply.source, SmsMessage.kind == SmsKind.SURVEY,
                   SmsMessage.appeal_id.is_not(None), SmsMessage.state.not_in(NOT_SENT))
            .order_by(sent_at.desc(), SmsMessage.id.desc()).limit(1)).first()
        if survey is None:
            return None
        appeal_id, sent = survey
        if sent.tzinfo is None:  # SQLite hands coalesce() back naive; stored times are UTC
            sent = sent.replace(tzinfo=dt.timezone.utc)
        if not sent <= reply.received_at <= sent + self.survey_valid:
            return None
        status = session.scalar(select(Appeal.status).where(Appeal.id == appeal_id))
        return appeal_id if status is AppealStatus.RESOLVED else None

    def _query(self, session: Session, reply: SmsInbound, case_number: str | None,
               now: dt.datetime) -> ReplyResult:
        """Only the sender's own appeals are told: the case number must be one of theirs."""
        where = [Appeal.citizen_phone == reply.source]
        where.append(Appeal.case_number == case_number if case_number
                     else Appeal.status.in_(OPEN))
        appeal = session.scalars(select(Appeal).where(*where)
                                 .order_by(Appeal.created_at.desc(), Appeal.id.desc())
                                 .limit(1)).first()
        record = AppealRecord.of(appeal) if appeal is not None else None
        unit = None
        if appeal is not None and appeal.unit_id is not None:
            unit = session.scalar(select(Unit.name).where(Unit.id == appeal.unit_id))
        assert self.progress_reply is not None
        self.progress_reply(session, reply.source, record, unit, now,
                            f"progress-reply:{reply.id}")
        if appeal is not None:
            audit.record_access(session, at=now, actor=CITIZEN, entity_type="appeal",
                                entity_id=appeal.id, note=f"查询 by SMS, reply {reply.id}")
        return self._settle(reply, SmsInboundState.QUERIED,
                            appeal.id if appeal is not None else None, now)

    def _note(self, session: Session, reply: SmsInbound, now: dt.datetime) -> ReplyResult:
        appeal_id = session.scalar(select(Appeal.id)
                                   .where(Appeal.citizen_phone == reply.source,
                                          Appeal.status != AppealStatus.CLOSED)
                                   .order_by(Appeal.created_at.desc(), Appeal.id.desc()).limit(1))
        if appeal_id is None:
            return self._settle(reply, SmsInboundState.UNMATCHED, None, now)
        audit.record(session, at=now, actor=ACTOR, action=NOTE_ACTION, entity_type="appeal",
                     entity_id=appeal_id, note=reply_notes.note(reply.id, reply.text))
        return self._settle(reply, SmsInboundState.NOTED, appeal_id, now)

    @staticmethod
    def _settle(reply: SmsInbound, state: SmsInboundState, appeal_id: int | None,
                now: dt.datetime) -> ReplyResult:
        reply.state, reply.appeal_id, reply.handled_at = state, appeal_id, now
        return ReplyResult(reply.id, state, appeal_id)
