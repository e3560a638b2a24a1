"""The messages about an appeal: received, dispatched to a unit, extended, resolved, the
satisfaction survey, and the confirmation of a callback the IVR promised; and the 催办 / 督办
to a unit's duty phone.

The citizen's progress notices (dispatched, extended) carry the case number, the unit's name
and the date only, never the matter, and go only for the appeal kinds `[messages]
progress_notice_kinds` names (a report, 举报, is not among the defaults: its caller may not
want a text about it). Each is sent once per step: its dedupe key is the work order's (and,
for an extension, the new deadline's), so a retried transaction or a second process queues
nothing twice.

`on_created` and `on_resolved` are participants of the core's create and resolve hooks: they
run inside the transaction that opens or resolves the appeal, so the appeal and its message
commit together. A citizen without a mobile number gets no message (a landline cannot read
one); a template that fails rolls the transaction back, like any participant that raises.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from twisted.logger import Logger

from hotline.appeals import AppealRecord
from hotline.appeals.records import WorkOrderRecord
from hotline.appeals.urgings import UrgingRecord
from hotline.masking import mask_phone
from hotline.phones import PhoneNumberError, is_mobile, normalise_phone
from schemas.enums import SmsKind
from schemas.models import Appeal, UrgingKind
from sms_gateway.messages.sending import Outcome, Request, Sender
from sms_gateway.messages.templates import Templates

if TYPE_CHECKING:
    from hotline.core import Core

CREATE_PARTICIPANT = "sms-appeal-received"
RESOLVE_PARTICIPANT = "sms-appeal-resolved"
DISPATCHED_PARTICIPANT = "sms-appeal-dispatched"
EXTENDED_PARTICIPANT = "sms-appeal-extended"
URGED_PARTICIPANT = "sms-unit-urged"


class AppealMessages:
    log = Logger()

    def __init__(self, sender: Sender, templates: Templates) -> None:
        self.sender = sender
        self.templates = templates

    def on_created(self, session: Session, appeal: AppealRecord) -> Outcome | None:
        text = self.templates.render(SmsKind.APPEAL_RECEIVED, case_number=appeal.case_number,
                                     deadline=appeal.deadline_at)
        return self._queue(session, SmsKind.APPEAL_RECEIVED, appeal.citizen_phone, text,
                           appeal.created_at, appeal_id=appeal.id,
                           dedupe_key=f"appeal-received:{appeal.id}")

    def on_resolved(self, session: Session, appeal: AppealRecord) -> Outcome | None:
        resolved_at = appeal.resolved_at or appeal.updated_at
        text = self.templates.render(SmsKind.APPEAL_RESOLVED, case_number=appeal.case_number,
                                     resolution=appeal.resolution or "")
        # A reopened appeal resolved again is told again: the key carries the resolution time.
        return self._queue(session, SmsKind.APPEAL_RESOLVED, appeal.citizen_phone, text,
                           resolved_at, appeal_id=appeal.id,
                           dedupe_key=f"appeal-resolved:{appeal.id}:{resolved_at.isoformat()}")

    def on_dispatched(self, session: Session, appeal: AppealRecord,
                      order: WorkOrderRecord) -> Outcome | None:
        """转办: the citizen learns which unit handles it and by when."""
        if not self._notices_for(appeal):
            return None
        text = self.templates.render(SmsKind.APPEAL_DISPATCHED, case_number=appeal.case_number,
                                     unit_name=order.unit_name, deadline=appeal.deadline_at)
        return self._queue(session, SmsKind.APPEAL_DISPATCHED, appeal.citizen_phone, text,
                           order.dispatched_at, appeal_id=appeal.id,
                           dedupe_key=f"appeal-dispatched:{order.id}")

    def on_extended(self, session: Session, appeal: AppealRecord,
                    order: WorkOrderRecord) -> Outcome | None:
        """An approved extension: the citizen learns the new date (the appeal's, which an
        extension moves when the order's comes later)."""
        if not self._notices_for(appeal):
            return None
        deadline = max(appeal.deadline_at, order.due_at)
        text = self.templates.render(SmsKind.APPEAL_EXTENDED, case_number=appeal.case_number,
                                     unit_name=order.unit_name, deadline=deadline)
        return self._queue(session, SmsKind.APPEAL_EXTENDED, appeal.citizen_phone, text,
                           appeal.updated_at, appeal_id=appeal.id,
                           dedupe_key=f"appeal-extended:{order.id}:{order.due_at.isoformat()}")

    def on_urged(self, session: Session, urging: UrgingRecord) -> Outcome | None:
        """催办 / 督办: to the unit's duty phone when it has a mobile one (a landline or none:
        the notice on the unit's pages is all)."""
        if not urging.duty_phone:
            self.log.info("No urging SMS for {unit}: no duty phone", unit=urging.unit_code)
            return None
        text = self.templates.render(SmsKind.UNIT_URGED, case_number=urging.case_number,
                                     unit_name=urging.unit_name, deadline=urging.deadline_at,
                                     supervise=urging.kind is UrgingKind.SUPERVISE)
        return self._queue(session, SmsKind.UNIT_URGED, urging.duty_phone, text, urging.at,
                           appeal_id=urging.appeal_id, dedupe_key=f"unit-urged:{urging.id}")

    def queue_progress_reply(self, session: Session, phone: str, appeal: AppealRecord | None,
                             unit_name: str | None, now: dt.datetime,
                             dedupe_key: str) -> Outcome | None:
        """The answer to a 查询 by SMS: the sender's appeal's state (status, the unit, the
        date), or the neutral text when there is none of theirs to tell."""
        if appeal is None:
            text = self.templates.render(SmsKind.PROGRESS_REPLY, found=False)
        else:
            text = self.templates.render(
                SmsKind.PROGRESS_REPLY, found=True, case_number=appeal.case_number,
                status=appeal.status.value, unit_name=unit_name, deadline=appeal.deadline_at,
                resolved_at=appeal.resolved_at)
        return self._queue(session, SmsKind.PROGRESS_REPLY, phone, text, now,
                           appeal_id=appeal.id if appeal is not None else None,
                           dedupe_key=dedupe_key)

    def _notices_for(self, appeal: AppealRecord) -> bool:
        kinds = self.templates.config.progress_notice_kinds
        if appeal.kind.value in kinds:
            return True
        self.log.info("No progress notice for appeal {case_number}: kind {kind} is not in "
                      "[messages] progress_notice_kinds", case_number=appeal.case_number,
                      kind=appeal.kind.value)
        return False

    def queue_survey(self, session: Session, appeal_id: int, now: dt.datetime, *,
                     dedupe_key: str | None = None) -> Outcome | None:
        """The SMS satisfaction survey for an appeal (kind SURVEY with its appeal_id: the
        reply is matched to it and rates the appeal)."""
        case_number, phone = session.execute(select(Appeal.case_number, Appeal.citizen_phone)
                                             .where(Appeal.id == appeal_id)).one()
        text = self.templates.render(SmsKind.SURVEY, case_number=case_number,
                                     valid_hours=_hours(self.templates.config.survey_valid_hours))
        return self._queue(session, SmsKind.SURVEY, phone, text, now, appeal_id=appeal_id,
                           dedupe_key=dedupe_key or f"survey:{appeal_id}:{now.isoformat()}")

    def queue_callback_confirmation(self, session: Session, *, phone: str, now: dt.datetime,
                                    case_number: str | None = None,
                                    within_minutes: int | None = None,
                                    appeal_id: int | None = None,
                                    dedupe_key: str | None = None) -> Outcome | None:
        """"We will call you back": for the IVR's callback offer and the callback queue."""
        text = self.templates.render(SmsKind.CALLBACK_CONFIRMATION, case_number=case_number,
                                     within_minutes=within_minutes)
        return self._queue(session, SmsKind.CALLBACK_CONFIRMATION, phone, text, now,
                           appeal_id=appeal_id, dedupe_key=dedupe_key)

    def on_callback_requested(self, session: Session, phone: str, call_id: str,
                              now: dt.datetime, due_by: dt.datetime | None) -> None:
        """The IVR's callback offer was taken: confirm it, with the promised delay."""
        within = None
        if due_by is not None:
            within = max(1, int((due_by - now).total_seconds() // 60))
        self.queue_callback_confirmation(session, phone=phone, now=now, within_minutes=within,
                                         dedupe_key=f"callback-confirmation:{call_id}")

    def _queue(self, session: Session, kind: SmsKind, phone: str, text: str, now: dt.datetime,
               **fields: Any) -> Outcome | None:
        try:
            number = normalise_phone(phone)
        except PhoneNumberError:
            number = None
        if number is None or not is_mobile(number):
            self.log.info("No {kind} SMS: {phone} is not a mobile number", kind=kind.value,
                          phone=mask_phone(phone))
            return None
        outcome = self.sender.queue(session, Request(kind, number, text, **fields), now)
        self.log.info("{kind} SMS {id} to {phone} queued, not before {not_before}",
                      kind=kind.value, id=outcome.message_id, phone=mask_phone(number),
                      not_before=outcome.not_before.isoformat() if outcome.not_before else None)
        return outcome


def _hours(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def register(core: Core, messages: AppealMessages) -> None:
    """Join the core's transactions: "received" when an appeal opens, "resolved" when it is
    resolved, the confirmation of a callback request, and the survey SMS."""
    if core.create_hook is not None:
        core.create_hook.register(CREATE_PARTICIPANT, messages.on_created)
    core.resolve_hook.register(RESOLVE_PARTICIPANT, messages.on_resolved)
    repository = core.appeals.repository
    repository.dispatched_hook.register(DISPATCHED_PARTICIPANT, messages.on_dispatched)
    repository.extended_hook.register(EXTENDED_PARTICIPANT, messages.on_extended)
    repository.urged_hook.register(URGED_PARTICIPANT, messages.on_urged)
    requested = core.callback_requested_hook
    if requested is not None:
        requested.register("sms-callback-confirmation", messages.on_callback_requested)
    surveys = core.survey_sms_hook
    if surveys is not None:
        surveys.register("sms-survey", lambda session, appeal_id, now, dedupe_key:
                         messages.queue_survey(session, appeal_id, now, dedupe_key=dedupe_key))
