"""The appeal core's database work: open, move through the lifecycle, rate, look up; the
work orders to the units are its mixin's (`hotline.appeals.work_orders`), and so are their
urgings and 督办 (`hotline.appeals.urgings`) and the merging of duplicates
(`hotline.appeals.merges`).

Every function runs inside one transaction handed in by `Database` (in its thread pool) and
writes its audit rows in that same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import String, select
from sqlalchemy.orm import Session

from hotline import alerts, audit
from hotline.appeals.case_numbers import next_case_number
from hotline.appeals.deadlines import end_of_working_day
from hotline.appeals.errors import AppealNotFound, AppealValidationError, InvalidTransition
from hotline.appeals.lifecycle import Action, target_of
from hotline.appeals.merges import MergedHook, MergeSteps
from hotline.appeals.records import AppealRecord, NewAppeal
from hotline.appeals.resolve_hook import ResolveHook
from hotline.appeals.urgings import UrgedHook, UrgingSteps
from hotline.appeals.work_orders import WorkOrderHook, WorkOrderSteps
from hotline.citizen_ids import IdNumberError, normalise_id_number
from hotline.config import WorkOrdersConfig
from hotline.phones import PhoneNumberError, normalise_phone
from hotline.workdays import WorkCalendar
from schemas.enums import AppealKind, AppealStatus, Satisfaction
from schemas.models import Appeal, ApprovalItem, Unit

ENTITY = "appeal"
NOTE_MAX = 2000
SUBJECT_MAX = 200
# Text columns of a set length: SQLite stores any length, PostgreSQL refuses the row (a 500 on
# whichever path brought it in: web, IVR, SMS), so every path is checked here, by the column.
BOUNDED_TEXT = ("citizen_name", "area", "call_id", "recording_path")


def _column_length(name: str) -> int:
    column_type = Appeal.__table__.c[name].type
    assert isinstance(column_type, String) and column_type.length is not None
    return column_type.length


class AppealRepository(WorkOrderSteps, UrgingSteps, MergeSteps):
    def __init__(self, *, zone: ZoneInfo, calendar: WorkCalendar,
                 deadline_working_days: dict[str, int], resolve_hook: ResolveHook,
                 create_hook: ResolveHook | None = None,
                 work_orders: WorkOrdersConfig | None = None) -> None:
        self._zone = zone
        self._calendar = calendar
        self._deadline_days = deadline_working_days
        self._resolve_hook = resolve_hook
        self.create_hook = create_hook or ResolveHook()
        self.work_orders = work_orders or WorkOrdersConfig()
        self.dispatched_hook = WorkOrderHook()
        self.extended_hook = WorkOrderHook()
        self.urged_hook = UrgedHook()
        self.merged_hook = MergedHook()

    # Opening ------------------------------------------------------------------------------

    def deadline_for(self, kind: str, received_at: dt.datetime) -> dt.datetime:
        """End of the N-th working day after the day of receipt (Asia/Shanghai), in UTC."""
        return end_of_working_day(self._calendar, self._zone, received_at,
                                  self._deadline_days[kind])

    def create(self, session: Session, new: NewAppeal, *, actor: str,
               now: dt.datetime, answer: str | None = None) -> AppealRecord:
        """Opens an appeal. With `answer`, the hall answered it on the phone (当场答复办结):
        it is opened and closed with that answer in one transaction, and the create hook
        (the "appeal received" SMS, a voice message's callback) does not run: the citizen
        heard the answer, and nothing is left to follow."""
        fields = self._validated(session, new)
        if answer is not None:
            answer = self._answer_text(answer)
        appeal = Appeal(case_number=next_case_number(session, now, self._zone),
                        channel=new.channel, kind=new.kind, status=AppealStatus.RECEIVED,
                        deadline_at=self.deadline_for(new.kind, now), created_at=now,
                        updated_at=now, reopen_count=0, **fields)
        session.add(appeal)
        session.flush()
        audit.record(session, at=now, actor=actor, action="create", entity_type=ENTITY,
                     entity_id=appeal.id, to_state=AppealStatus.RECEIVED.value,
                     note=f"{new.channel.value}/{new.kind.value} {appeal.case_number}")
        if answer is not None:
            return self.answer(session, appeal.id, answer, actor=actor, now=now)
        record = AppealRecord.of(appeal)
        self.create_hook.run(session, record)  # e.g. the "appeal received" SMS, same transaction
        return record

    def answer(self, session: Session, appeal_id: int, answer: str, *, actor: str,
               now: dt.datetime) -> AppealRecord:
        """当场答复办结: a received appeal the hall answered itself, on the phone, closed with
        its answer as the resolution. No resolution hook runs (no "resolved" SMS and no
        satisfaction callback: the answer was given in the citizen's own call)."""
        answer = self._answer_text(answer)
        self._locked(session, appeal_id)
        self.open_order_guard(session, appeal_id, Action.ANSWER.value)

        def change(appeal: Appeal) -> None:
            appeal.resolution = answer
            appeal.resolved_at = appeal.closed_at = now

        return self._move(session, appeal_id, Action.ANSWER, actor, now, answer, change)

    @staticmethod
    def _answer_text(answer: str) -> str:
        answer = (answer or "").strip()
        if not answer:
            raise AppealValidationError("resolution", "is required to answer an appeal",
                                        "required")
        if len(answer) > NOTE_MAX:
            raise AppealValidationError("resolution", f"at most {NOTE_MAX} characters", "length",
                                        max=NOTE_MAX)
        return answer

    def reclassify(self, session: Session, appeal_id: int, *, kind: AppealKind,
                   subject: str, actor: str, now: dt.datetime) -> AppealRecord:
        """Corrects an appeal's kind and subject (a voice message filed as 咨询 until an
        officer listened to it): `correct` with those two."""
        return self.correct(session, appeal_id, kind=kind, subject=subject, actor=actor,
                            now=now)

    def correct(self, session: Session, appeal_id: int, *, actor: str, now: dt.datetime,
                kind: AppealKind | None = None, subject: str | None = None,
                citizen_name: str | None = None, area: str | None = None) -> AppealRecord:
        """Corrects what the desk recorded (a kind chosen wrongly, a misheard name): each
        field given is set, None leaves it (an empty name or area clears it). The deadline
        follows the kind, counted from the day of receipt; one trail line says what changed
        from what. A closed appeal is not corrected (reopen it)."""
        changes: dict[str, object] = {}
        if kind is not None:
            changes["kind"] = kind
        if subject is not None:
            subject = subject.strip()
            if not subject:
                raise AppealValidationError("subject", "is required", "required")
            if len(subject) > SUBJECT_MAX:
                raise AppealValidationError("subject", f"is longer than {SUBJECT_MAX} "
                                            "characters", "length", max=SUBJECT_MAX)
            changes["subject"] = subject
        for name, value in (("citizen_name", citizen_name), ("area", area)):
            if value is not None:
                value = value.strip() or None
                limit = _column_length(name)
                if value is not None and len(value) > limit:
                    raise AppealValidationError(name, f"is longer than {limit} characters",
                                                "length", max=limit)
                changes[name] = value
        appeal = self._locked(session, appeal_id)
        if appeal.status is AppealStatus.CLOSED:
            raise InvalidTransition("correct", appeal.status.value,
                                    frozenset(s.value for s in AppealStatus
                                              if s is not AppealStatus.CLOSED))
        lines, changed = [], set()
        for name, new_value in changes.items():
            old_value = getattr(appeal, name)
            if old_value == new_value:
                continue
            shown = [v.value if isinstance(v, AppealKind) else (v or "")
                     for v in (old_value, new_value)]
            lines.append(f"{name}: {shown[0]} -> {shown[1]}")
            setattr(appeal, name, new_value)
            changed.add(name)
        if kind is not None and "kind" in changed:
            appeal.deadline_at = self.deadline_for(kind, appeal.created_at)
        if lines:
            appeal.updated_at = now
            audit.record(session, at=now, actor=actor, action="correct", entity_type=ENTITY,
                         entity_id=appeal.id, note="; ".join(lines))
            session.flush()
        return AppealRecord.of(appeal)

    def _validated(self, session: Session, new: NewAppeal) -> dict:
        subject = (new.subject or "").strip()
        if not subject:
            raise AppealValidationError("subject", "is required", "required")
        if len(subject) > SUBJECT_MAX:
            raise AppealValidationError("subject", f"is longer than {SUBJECT_MAX} characters",
                                        "length", max=SUBJECT_MAX)
        try:
            phone = normalise_phone(new.citizen_phone)
        except PhoneNumberError as error:
            raise AppealValidationError("citizen_phone", str(error), "phone") from None
        id_number = None
        if new.citizen_id_number:
            try:
                id_number = normalise_id_number(new.citizen_id_number)
            except IdNumberError as error:
                raise AppealValidationError("citizen_id_number", str(error),
                                            "id_number") from None
        approval_item_id = None
        if new.approval_item_code:
            approval_item_id = session.scalar(
                select(ApprovalItem.id).where(ApprovalItem.code == new.approval_item_code))
            if approval_item_id is None:
                raise AppealValidationError("approval_item_code",
                                            f"no approval item {new.approval_item_code!r}",
                                            "unknown_item")
        if new.unit_id is not None and session.get(Unit, new.unit_id) is None:
            raise AppealValidationError("unit_id", f"no unit {new.unit_id}", "unknown_unit")
        values = dict(subject=subject, body=new.body or "", citizen_phone=phone,
                      phone_tail=phone[-4:],
                      citizen_name=(new.citizen_name or "").strip() or None,
                      citizen_id_number=id_number, area=(new.area or "").strip() or None,
                      approval_item_id=approval_item_id, unit_id=new.unit_id,
                      agent_id=new.agent_id, call_id=new.call_id,
                      recording_path=new.recording_path)
        for name in BOUNDED_TEXT:
            value, limit = values[name], _column_length(name)
            if isinstance(value, str) and len(value) > limit:
                raise AppealValidationError(name, f"is longer than {limit} characters",
                                        "length", max=limit)
        return values

    # Lifecycle ----------------------------------------------------------------------------

    def assign(self, session: Session, appeal_id: int, unit_id: int, *, actor: str,
               now: dt.datetime, note: str | None = None) -> AppealRecord:
        """交办 as a label: the hall names the unit and handles the appeal itself (a unit that
        handles it gets a work order: `dispatch`)."""
        self._locked(session, appeal_id)
        self.open_order_guard(session, appeal_id, Action.ASSIGN.value)
        unit = session.get(Unit, unit_id)
        if unit is None:
            raise AppealValidationError("unit_id", f"no unit {unit_id}", "unknown_unit")

        def change(appeal: Appeal) -> None:
            appeal.unit_id = unit_id

        return self._move(session, appeal_id, Action.ASSIGN, actor, now,
                          note or f"to {unit.code} {unit.name}", change)

    def start(self, session: Session, appeal_id: int, *, actor: str, now: dt.datetime,
              note: str | None = None) -> AppealRecord:
        self._locked(session, appeal_id)
        self.open_order_guard(session, appeal_id, Action.START.value)
        return self._move(session, appeal_id, Action.START, actor, now, note)

    def resolve(self, session: Session, appeal_id: int, resolution: str, *, actor: str,
                now: dt.datetime) -> AppealRecord:
        self._locked(session, appeal_id)
        self.open_order_guard(session, appeal_id, Action.RESOLVE.value)
        return self._resolve(session, appeal_id, resolution, actor=actor, now=now)

    def _resolve(self, session: Session, appeal_id: int, resolution: str, *, actor: str,
                 now: dt.datetime, audit_action: str | None = None,
                 note: str | None = None) -> AppealRecord:
        """The one resolve path, the hall's own and an accepted unit reply's: the resolve
        hook's participants (the callback task, the SMS) run in this transaction."""
        resolution = (resolution or "").strip()
        if not resolution:
            raise AppealValidationError("resolution", "is required to resolve an appeal",
                                        "required")

        def change(appeal: Appeal) -> None:
            appeal.resolution = resolution
            appeal.resolved_at = now
            appeal.satisfaction = None

        record = self._move(session, appeal_id, Action.RESOLVE, actor, now, note or resolution,
                            change, audit_action=audit_action)
        self._resolve_hook.run(session, record)
        return record

    def return_to_hall(self, session: Session, appeal_id: int, reason: str, *, actor: str,
                       now: dt.datetime) -> AppealRecord:
        """An assigned appeal back to the hall (received, no unit), as a unit's return does
        for one dispatched to it (`return_order`)."""
        reason = (reason or "").strip()
        if not reason:
            raise AppealValidationError("reason", "is required to return an appeal", "required")
        self._locked(session, appeal_id)
        self.open_order_guard(session, appeal_id, Action.RETURN.value)

        def change(appeal: Appeal) -> None:
            appeal.unit_id = None

        return self._move(session, appeal_id, Action.RETURN, actor, now, reason, change)

    def close(self, session: Session, appeal_id: int, *, actor: str, now: dt.datetime,
              note: str | None = None) -> AppealRecord:
        def change(appeal: Appeal) -> None:
            appeal.closed_at = now

        return self._move(session, appeal_id, Action.CLOSE, actor, now, note, change)

    def reopen(self, session: Session, appeal_id: int, reason: str, *, actor: str,
               now: dt.datetime) -> AppealRecord:
        reason = (reason or "").strip()
        if not reason:
            raise AppealValidationError("reason", "is required to reopen an appeal", "required")

        def change(appeal: Appeal) -> None:
            appeal.reopen_count += 1
            appeal.closed_at = None

        return self._move(session, appeal_id, Action.REOPEN, actor, now, reason, change)

    def add_note(self, session: Session, appeal_id: int, text: str, *, actor: str,
                 now: dt.datetime, call_id: str | None = None) -> AppealRecord:
        """Progress on an appeal, or what a citizen added by calling again about it (the call
        named by `call_id`): a line of its trail; the status does not change. A closed
        appeal takes no more notes (reopen it)."""
        text = (text or "").strip()
        if not text:
            raise AppealValidationError("note", "is required", "required")
        if len(text) > NOTE_MAX:
            raise AppealValidationError("note", f"at most {NOTE_MAX} characters", "length",
                                        max=NOTE_MAX)
        appeal = self._locked(session, appeal_id)
        if appeal.status is AppealStatus.CLOSED:
            raise InvalidTransition("add a note to", appeal.status.value,
                                    frozenset(s.value for s in AppealStatus
                                              if s is not AppealStatus.CLOSED))
        appeal.updated_at = now
        audit.record(session, at=now, actor=actor, action="note", entity_type=ENTITY,
                     entity_id=appeal.id,
                     note=text if call_id is None else f"{text} (call {call_id})")
        session.flush()
        return AppealRecord.of(appeal)

    def rate(self, session: Session, appeal_id: int, satisfaction: Satisfaction, *,
             actor: str, now: dt.datetime, note: str | None = None) -> AppealRecord:
        """A citizen's rating from a callback or an SMS survey: 满意 and 基本满意 close the
        appeal, 不满意 reopens it for rework with the reason."""
        appeal = self._locked(session, appeal_id)
        appeal.satisfaction = satisfaction
        label = f"rated {satisfaction.value}" + (f": {note}" if note else "")
        if satisfaction is Satisfaction.DISSATISFIED:
            record = self.reopen(session, appeal_id, label, actor=actor, now=now)
            alerts.raise_alert(session, kind=alerts.DISSATISFIED, source=actor, at=now,
                               appeal_id=appeal_id, note=note)
            return record
        return self.close(session, appeal_id, actor=actor, now=now, note=label)

    def _locked(self, session: Session, appeal_id: int) -> Appeal:
        appeal = session.get(Appeal, appeal_id, with_for_update=True)
        if appeal is None:
            raise AppealNotFound(appeal_id)
        return appeal

    def _move(self, session: Session, appeal_id: int, action: Action, actor: str,
              now: dt.datetime, note: str | None,
              change: Callable[[Appeal], None] | None = None, *,
              audit_action: str | None = None) -> AppealRecord:
        """`action` on the appeal, audited as `audit_action` (default: the action's name;
        a work-order step names itself, e.g. a dispatch is an assign)."""
        appeal = self._locked(session, appeal_id)
        source = appeal.status
        target = target_of(action, source)
        if change is not None:
            change(appeal)
        appeal.status = target
        appeal.updated_at = now
        audit.record(session, at=now, actor=actor, action=audit_action or action.value,
                     entity_type=ENTITY,
                     entity_id=appeal.id, from_state=source.value, to_state=target.value,
                     note=note)
        session.flush()
        return AppealRecord.of(appeal)

    # Lookups ------------------------------------------------------------------------------

    def get(self, session: Session, appeal_id: int) -> AppealRecord:
        appeal = session.get(Appeal, appeal_id)
        if appeal is None:
            raise AppealNotFound(appeal_id)
        return AppealRecord.of(appeal)

    def by_case_number(self, session: Session, case_number: str) -> AppealRecord:
        appeal = session.scalar(select(Appeal).where(Appeal.case_number == case_number))
        if appeal is None:
            raise AppealNotFound(case_number)
        return AppealRecord.of(appeal)

    def open_for_phone(self, session: Session, phone: str) -> list[AppealRecord]:
        """The caller's appeals not yet closed, newest first (the IVR and the screen pop)."""
        rows = session.scalars(select(Appeal)
                               .where(Appeal.citizen_phone == phone,
                                      Appeal.status != AppealStatus.CLOSED)
                               .order_by(Appeal.created_at.desc(), Appeal.id.desc()))
        return [AppealRecord.of(a) for a in rows]
