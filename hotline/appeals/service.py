"""The appeal core as a service: each operation runs its repository function in the
database's thread pool, with the time read from the injected wall clock, and returns a
Deferred with a plain record. The work-order steps are here too, whoever clicks: the hall's
(dispatch, re-dispatch, assisting units, review, merging duplicates), a supervisor's (an extension's decision, a 督办, a rework
after a 不满意 callback) and a unit
officer's (sign, return, extension request, note, reply; each for the officer's unit)."""

from __future__ import annotations

from twisted.internet import defer

from hotline.appeals.records import AppealRecord, ExtensionRecord, NewAppeal, WorkOrderRecord
from hotline.appeals.repository import AppealRepository
from hotline.appeals.urgings import OversightMark, UrgingRecord
from hotline.appeals.work_orders import PendingExtension, UnitAppeal, WorkList
from hotline.clock import WallClock
from hotline.db import Database
from schemas.enums import AppealKind, Satisfaction


class AppealService:
    def __init__(self, db: Database, repository: AppealRepository, clock: WallClock) -> None:
        self.db = db
        self.repository = repository
        self._clock = clock

    def create(self, new: NewAppeal, *, actor: str,
               answer: str | None = None) -> defer.Deferred[AppealRecord]:
        """`answer`: answered on the phone and closed at once (当场答复办结)."""
        return self.db.write(self.repository.create, new, actor=actor, now=self._clock.now(),
                             answer=answer)

    def answer(self, appeal_id: int, answer: str, *,
               actor: str) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.answer, appeal_id, answer, actor=actor,
                             now=self._clock.now())

    def correct(self, appeal_id: int, *, actor: str, kind: AppealKind | None = None,
                subject: str | None = None, citizen_name: str | None = None,
                area: str | None = None) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.correct, appeal_id, kind=kind, subject=subject,
                             citizen_name=citizen_name, area=area, actor=actor,
                             now=self._clock.now())

    def assign(self, appeal_id: int, unit_id: int, *, actor: str,
               note: str | None = None) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.assign, appeal_id, unit_id, actor=actor,
                             now=self._clock.now(), note=note)

    def start(self, appeal_id: int, *, actor: str) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.start, appeal_id, actor=actor, now=self._clock.now())

    def resolve(self, appeal_id: int, resolution: str, *,
                actor: str) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.resolve, appeal_id, resolution, actor=actor,
                             now=self._clock.now())

    def close(self, appeal_id: int, *, actor: str,
              note: str | None = None) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.close, appeal_id, actor=actor,
                             now=self._clock.now(), note=note)

    def reopen(self, appeal_id: int, reason: str, *, actor: str) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.reopen, appeal_id, reason, actor=actor,
                             now=self._clock.now())

    def add_note(self, appeal_id: int, text: str, *, actor: str,
                 call_id: str | None = None) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.add_note, appeal_id, text, actor=actor,
                             now=self._clock.now(), call_id=call_id)

    def rate(self, appeal_id: int, satisfaction: Satisfaction, *, actor: str,
             note: str | None = None) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.rate, appeal_id, satisfaction, actor=actor,
                             now=self._clock.now(), note=note)

    def return_to_hall(self, appeal_id: int, reason: str, *,
                       actor: str) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.return_to_hall, appeal_id, reason, actor=actor,
                             now=self._clock.now())

    # Work orders: the hall and supervisors ---------------------------------------------------

    def dispatch(self, appeal_id: int, unit_id: int, *, reason: str, instruction: str,
                 actor: str) -> defer.Deferred[WorkOrderRecord]:
        return self.db.write(self.repository.dispatch, appeal_id, unit_id, reason=reason,
                             instruction=instruction, actor=actor, now=self._clock.now())

    def redispatch(self, appeal_id: int, unit_id: int, *, reason: str, instruction: str,
                   actor: str) -> defer.Deferred[WorkOrderRecord]:
        return self.db.write(self.repository.redispatch, appeal_id, unit_id, reason=reason,
                             instruction=instruction, actor=actor, now=self._clock.now())

    def accept_reply(self, appeal_id: int, resolution: str | None = None, *,
                     actor: str) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.accept_reply, appeal_id, resolution, actor=actor,
                             now=self._clock.now())

    def send_back(self, appeal_id: int, reason: str, *,
                  actor: str) -> defer.Deferred[WorkOrderRecord]:
        return self.db.write(self.repository.send_back, appeal_id, reason, actor=actor,
                             now=self._clock.now())

    def decide_extension(self, extension_id: int, approve: bool, note: str | None = None, *,
                         actor: str) -> defer.Deferred[ExtensionRecord]:
        return self.db.write(self.repository.decide_extension, extension_id, approve, note,
                             actor=actor, now=self._clock.now())

    def rework(self, appeal_id: int, reason: str, instruction: str | None = None, *,
               actor: str) -> defer.Deferred[WorkOrderRecord]:
        """重办 after a 不满意 callback attributed to the unit (a supervisor's)."""
        return self.db.write(self.repository.rework, appeal_id, reason, instruction,
                             actor=actor, now=self._clock.now())

    def supervise(self, appeal_id: int, note: str, *, agent_id: int, actor: str,
                  work_order_id: int | None = None) -> defer.Deferred[UrgingRecord]:
        """督办 by hand (a supervisor's, with a note), on the lead order or `work_order_id`."""
        return self.db.write(self.repository.supervise, appeal_id, note, agent_id=agent_id,
                             actor=actor, now=self._clock.now(), work_order_id=work_order_id)

    def add_assist(self, appeal_id: int, unit_id: int, *, reason: str, instruction: str,
                   actor: str) -> defer.Deferred[WorkOrderRecord]:
        """协办: an assisting unit's order beside the lead's."""
        return self.db.write(self.repository.add_assist, appeal_id, unit_id, reason=reason,
                             instruction=instruction, actor=actor, now=self._clock.now())

    def withdraw_assist(self, appeal_id: int, order_id: int, reason: str, *,
                        actor: str) -> defer.Deferred[WorkOrderRecord]:
        return self.db.write(self.repository.withdraw_assist, appeal_id, order_id, reason,
                             actor=actor, now=self._clock.now())

    def merge(self, appeal_id: int, into_id: int, reason: str, *, actor: str,
              other_phone_confirmed: bool = False) -> defer.Deferred[AppealRecord]:
        """合并为重复件: `appeal_id` closed as a duplicate of `into_id`."""
        return self.db.write(self.repository.merge, appeal_id, into_id, reason,
                             other_phone_confirmed=other_phone_confirmed, actor=actor,
                             now=self._clock.now())

    def duplicates_of(self, appeal_id: int) -> defer.Deferred[list[AppealRecord]]:
        return self.db.read(self.repository.duplicates_of, appeal_id)

    def oversight_marks(self, appeal_ids: list[int]) -> defer.Deferred[dict[int, OversightMark]]:
        return self.db.read(self.repository.oversight_marks, appeal_ids)

    def urgings_of(self, appeal_id: int) -> defer.Deferred[list[UrgingRecord]]:
        return self.db.read(self.repository.urgings_of, appeal_id)

    def unit_notices(self, unit_id: int) -> defer.Deferred[list[UrgingRecord]]:
        return self.db.read(self.repository.unit_notices, unit_id)

    def work_orders_of(self, appeal_id: int) -> defer.Deferred[list[WorkOrderRecord]]:
        return self.db.read(self.repository.work_orders_of, appeal_id)

    def hall_work(self, name: str) -> defer.Deferred[WorkList]:
        return self.db.read(self.repository.hall_work, name, now=self._clock.now())

    def overdue_orders(self) -> defer.Deferred[WorkList]:
        return self.db.read(self.repository.overdue_orders, now=self._clock.now())

    def pending_extensions(self) -> defer.Deferred[list[PendingExtension]]:
        return self.db.read(self.repository.pending_extensions)

    # Work orders: a unit officer, for the officer's unit ---------------------------------------

    def sign(self, appeal_id: int, *, unit_id: int,
             actor: str) -> defer.Deferred[WorkOrderRecord]:
        return self.db.write(self.repository.sign, appeal_id, unit_id=unit_id, actor=actor,
                             now=self._clock.now())

    def return_order(self, appeal_id: int, reason: str, *, unit_id: int,
                     actor: str) -> defer.Deferred[WorkOrderRecord]:
        return self.db.write(self.repository.return_order, appeal_id, reason, unit_id=unit_id,
                             actor=actor, now=self._clock.now())

    def request_extension(self, appeal_id: int, days: int, reason: str, *, unit_id: int,
                          actor: str) -> defer.Deferred[ExtensionRecord]:
        return self.db.write(self.repository.request_extension, appeal_id, days, reason,
                             unit_id=unit_id, actor=actor, now=self._clock.now())

    def reply(self, appeal_id: int, text: str, *, unit_id: int,
              actor: str) -> defer.Deferred[WorkOrderRecord]:
        return self.db.write(self.repository.reply, appeal_id, text, unit_id=unit_id,
                             actor=actor, now=self._clock.now())

    def unit_note(self, appeal_id: int, text: str, *, unit_id: int,
                  actor: str) -> defer.Deferred[None]:
        return self.db.write(self.repository.unit_note, appeal_id, text, unit_id=unit_id,
                             actor=actor, now=self._clock.now())

    def unit_appeal(self, appeal_id: int, *, unit_id: int,
                    actor: str) -> defer.Deferred[UnitAppeal]:
        """A write: the read of the citizen's record is audited."""
        return self.db.write(self.repository.unit_appeal, appeal_id, unit_id=unit_id,
                             actor=actor, now=self._clock.now())

    def unit_work(self, unit_id: int, name: str) -> defer.Deferred[WorkList]:
        return self.db.read(self.repository.unit_work, unit_id, name, now=self._clock.now())

    # Lookups --------------------------------------------------------------------------------

    def get(self, appeal_id: int) -> defer.Deferred[AppealRecord]:
        return self.db.read(self.repository.get, appeal_id)

    def by_case_number(self, case_number: str) -> defer.Deferred[AppealRecord]:
        return self.db.read(self.repository.by_case_number, case_number)

    def open_for_phone(self, phone: str) -> defer.Deferred[list[AppealRecord]]:
        return self.db.read(self.repository.open_for_phone, phone)
