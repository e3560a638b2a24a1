"""Work orders: an appeal dispatched by the hall to a unit and back (转办 -> 签收 -> 办理 ->
办结 -> 审核), the unit's returns and extension requests, and the lists each side works from.

The steps are `AppealRepository`'s (this module is its mixin): each runs in the one
transaction `Database` hands in, locks the appeal row first (so that two dispatches of one
appeal, or a return racing a re-dispatch, take turns), checks the work order's move and the
appeal's in `hotline.appeals.lifecycle` before changing either, and writes its audit rows in
that transaction: one on the appeal (who, when, which unit, why: the trail both sides read)
and one on the work order or extension request with its states.

How each step moves the appeal:
- dispatch (转办): the appeal is assigned to the unit (its `unit_id`), a work order opens;
  refused while one is open (re-dispatch it).
- re-dispatch (改派): the open order is withdrawn, a new one goes to the other unit, the
  appeal is assigned to it.
- sign (签收): the appeal starts (in_progress). Later than `sign_by` (working hours after
  the dispatch) it is signed late, and shows so.
- return (退单): the appeal goes back to the hall (received, no unit) with the reason; refused
  after `return_by` (working days after the dispatch's day).
- extension (延期申请): a pending request; a supervisor approves (the order's deadline moves
  by the days, the appeal's too when the new one is later) or refuses. Approved extensions of
  one order add up to `max_extension_working_days` at most.
- reply (办结): the unit's reply text; the appeal stays in progress until the hall reviews.
- rework (重办): after a 不满意 callback the supervisor attributes to the unit, the appeal
  (reopened by the rating) goes back to the unit of its accepted order as a new order
  naming it (`rework_of`), with a full time limit; it is listed with the sent-back ones.
- review (审核): accept resolves the appeal through `resolve`'s own path, so its callback and
  SMS are written by the resolve hook in the same transaction; send back returns the order
  to the unit with the reason, for another reply.
- co-handling (协办): with a lead order (主办) open, the hall adds assisting units, one
  order each (`role` assist). An assisting unit signs for, returns, notes, asks for an
  extension and replies on its own order as the lead does, and its steps leave the appeal
  where the lead has it (a line on its trail each). The hall reviews the lead's reply only,
  and accepts it only when every assisting order has replied or was withdrawn (the hall
  withdraws one that is no longer needed); the assisting replies are accepted with it. The
  lead's officers see the assisting replies on their page.
While an order is open the appeal moves only through it: the hall's plain assign, start,
resolve and return are refused.

A unit officer acts for one unit and sees an appeal only through that unit's work order on
it (any but one it returned or that was withdrawn from it); anything else is not found,
exactly as an unknown id is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from hotline import audit
from hotline.appeals.deadlines import add_working_hours, end_of_working_day
from hotline.appeals.errors import (
    AppealNotFound,
    AppealValidationError,
    ExtensionNotFound,
    InvalidTransition,
    WorkOrderRefused,
)
from hotline.appeals.lifecycle import (
    HANDLING,
    OPEN_WORK_ORDER,
    WITH_THE_UNIT,
    Action,
    ExtensionAction,
    WorkOrderAction,
    extension_target_of,
    target_of,
    work_order_target_of,
)
from hotline.appeals.records import AppealRecord, ExtensionRecord, WorkOrderRecord
from hotline.appeals.urgings import UrgingRecord
from hotline.audit import AuditRecord
from hotline.config import WorkOrdersConfig
from hotline.hooks import TransactionHook
from hotline.workdays import WorkCalendar
from schemas.enums import AppealStatus, ExtensionStatus, Satisfaction, WorkOrderStatus
from schemas.models import Appeal, Unit, WorkOrder, WorkOrderExtension, WorkOrderRole

ENTITY = "appeal"
WORK_ORDER_ENTITY = "work_order"
EXTENSION_ENTITY = "work_order_extension"
TEXT_MAX = 2000  # a reason, an instruction, a note
REPLY_MAX = 4000
LIST_LIMIT = 200

# fn(session, appeal, order): an order was dispatched, or its deadline extended, e.g. the
# citizen's SMS naming the unit or the new date (the SMS layer joins these).
WorkOrderHook = TransactionHook[[AppealRecord, WorkOrderRecord]]

# The unit's work lists and the hall's, by name (the pages' tabs).
UNIT_LISTS = ("to_sign", "in_progress", "due_soon", "overdue", "rework", "replied")
HALL_LISTS = ("to_review", "returned", "sign_late")


@dataclass(frozen=True)
class WorkListRow:
    appeal_id: int
    case_number: str
    subject: str
    kind: str
    appeal_status: AppealStatus
    order: WorkOrderRecord


@dataclass(frozen=True)
class WorkList:
    name: str
    rows: list[WorkListRow]  # at most LIST_LIMIT
    counts: dict[str, int]  # every list of its side, by name


@dataclass(frozen=True)
class UnitAppeal:
    """What a unit officer's appeal page shows: the appeal, the unit's work order on it (its
    extension requests within) and the appeal's trail."""

    appeal: AppealRecord
    order: WorkOrderRecord
    trail: list[AuditRecord]
    extension_days_left: int
    urgings: tuple[UrgingRecord, ...] = ()  # the order's 催办 and 督办, oldest first
    # For the lead (主办): the assisting units' orders (协办), with their replies.
    assists: tuple[WorkOrderRecord, ...] = ()


@dataclass(frozen=True)
class PendingExtension:
    extension: ExtensionRecord
    appeal_id: int
    case_number: str
    subject: str
    unit_name: str
    due_at: dt.datetime
    days_left: int  # what an approval may still add (the maximum less those approved)


def _text(value: str | None, field: str, limit: int = TEXT_MAX, *,
          required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise AppealValidationError(field, "is required", "required")
    if len(text) > limit:
        raise AppealValidationError(field, f"at most {limit} characters", "length",
                                        max=limit)
    return text


def _unit_label(unit: Unit) -> str:
    return f"{unit.code} {unit.name}"


class WorkOrderSteps:
    """The work-order half of `AppealRepository` (a mixin: `self` is the repository)."""

    _zone: ZoneInfo
    _calendar: WorkCalendar
    work_orders: WorkOrdersConfig
    dispatched_hook: WorkOrderHook
    extended_hook: WorkOrderHook
    _locked: Callable[[Session, int], Appeal]
    _move: Callable[..., AppealRecord]
    _resolve: Callable[..., AppealRecord]
    urgings_of: Callable[[Session, int], list[UrgingRecord]]

    # The hall ------------------------------------------------------------------------------

    def dispatch(self, session: Session, appeal_id: int, unit_id: int, *, reason: str,
                 instruction: str, actor: str, now: dt.datetime) -> WorkOrderRecord:
        """转办: the appeal to `unit_id`, with why and what to do."""
        appeal = self._locked(session, appeal_id)
        open_order = self._open_order(session, appeal_id)
        if open_order is not None:
            raise WorkOrderRefused("order_open", f"appeal {appeal_id} is at a unit already "
                                   f"(work order {open_order.id}): re-dispatch it",
                                   unit=self._unit(session, open_order.unit_id).name)
        target_of(Action.ASSIGN, appeal.status)
        unit = self._dispatch_unit(session, unit_id)
        self._not_assisting(session, appeal_id, unit)
        reason, instruction = _text(reason, "reason"), _text(instruction, "instruction")
        return self._new_order(session, appeal, unit, reason, instruction, actor, now,
                               audit_action="dispatch",
                               note=f"{_unit_label(unit)}；原因：{reason}；要求：{instruction}")

    def redispatch(self, session: Session, appeal_id: int, unit_id: int, *, reason: str,
                   instruction: str, actor: str, now: dt.datetime) -> WorkOrderRecord:
        """改派: the open order withdrawn, a new one to another unit."""
        appeal = self._locked(session, appeal_id)
        old = self._open_order(session, appeal_id)
        if old is None:
            raise WorkOrderRefused("no_open_order",
                                   f"appeal {appeal_id} has no open work order to re-dispatch")
        work_order_target_of(WorkOrderAction.WITHDRAW, old.status)
        target_of(Action.ASSIGN, appeal.status)
        unit = self._dispatch_unit(session, unit_id)
        if unit.id == old.unit_id:
            raise WorkOrderRefused("same_unit", f"the work order is at {unit.code} already",
                                   unit=unit.name)
        self._not_assisting(session, appeal_id, unit)
        reason, instruction = _text(reason, "reason"), _text(instruction, "instruction")
        previous = self._unit(session, old.unit_id)
        self._order_move(session, old, WorkOrderAction.WITHDRAW, actor, now,
                         note=f"改派至 {_unit_label(unit)}")
        old.closed_at = now
        self._cancel_pending(session, old, actor, now)
        return self._new_order(session, appeal, unit, reason, instruction, actor, now,
                               audit_action="redispatch",
                               note=f"{_unit_label(previous)} → {_unit_label(unit)}；"
                                    f"原因：{reason}；要求：{instruction}")

    def add_assist(self, session: Session, appeal_id: int, unit_id: int, *, reason: str,
                   instruction: str, actor: str, now: dt.datetime) -> WorkOrderRecord:
        """协办: an assisting unit for the appeal's open lead order, with its own order (and
        time limits from now); the appeal stays where the lead has it."""
        appeal = self._locked(session, appeal_id)
        lead = self._open_order(session, appeal_id)
        if lead is None:
            raise WorkOrderRefused("no_lead", f"appeal {appeal_id} has no open lead order "
                                   "to assist")
        unit = self._dispatch_unit(session, unit_id)
        if unit.id == lead.unit_id:
            raise WorkOrderRefused("assist_is_lead", f"{unit.code} is the lead unit",
                                   unit=unit.name)
        self._not_assisting(session, appeal_id, unit)
        reason, instruction = _text(reason, "reason"), _text(instruction, "instruction")
        order = self._order_row(session, appeal, unit, reason, instruction, actor, now,
                                role=WorkOrderRole.ASSIST)
        self._appeal_step(session, appeal, "assist", actor, now,
                          f"{_unit_label(unit)}（协办）；原因：{reason}；要求：{instruction}")
        return self._order_record(session, order)

    def withdraw_assist(self, session: Session, appeal_id: int, order_id: int, reason: str,
                        *, actor: str, now: dt.datetime) -> WorkOrderRecord:
        """The hall withdraws an assisting order no longer needed (before the lead's reply
        is accepted, which waits for every open assisting order)."""
        appeal = self._locked(session, appeal_id)
        order = session.get(WorkOrder, order_id, with_for_update=True)
        if order is None or order.appeal_id != appeal_id \
                or order.role is not WorkOrderRole.ASSIST:
            raise WorkOrderRefused("no_assist", f"appeal {appeal_id} has no assisting order "
                                   f"{order_id}")
        work_order_target_of(WorkOrderAction.WITHDRAW, order.status)
        reason = _text(reason, "reason")
        unit = self._unit(session, order.unit_id)
        self._order_move(session, order, WorkOrderAction.WITHDRAW, actor, now, note=reason)
        order.closed_at = now
        self._cancel_pending(session, order, actor, now)
        self._appeal_step(session, appeal, "assist_withdraw", actor, now,
                          f"{_unit_label(unit)}（协办）；撤回原因：{reason}")
        return self._order_record(session, order)

    def accept_reply(self, session: Session, appeal_id: int, resolution: str | None = None,
                     *, actor: str, now: dt.datetime) -> AppealRecord:
        """审核通过: the appeal resolved with the unit's reply (or the hall's wording of it,
        `resolution`), through the resolve path: its callback in this transaction."""
        appeal = self._locked(session, appeal_id)
        order = self._reviewed_order(session, appeal_id)
        work_order_target_of(WorkOrderAction.ACCEPT, order.status)
        target_of(Action.RESOLVE, appeal.status)
        assists = self._open_assists(session, appeal_id)
        waiting = [a for a in assists if a.status is not WorkOrderStatus.REPLIED]
        if waiting:
            raise WorkOrderRefused("assists_pending", f"{len(waiting)} assisting orders have "
                                   "not replied",
                                   units="、".join(self._unit(session, a.unit_id).name
                                                  for a in waiting))
        text = _text(resolution, "resolution", REPLY_MAX, required=False) or order.reply or ""
        unit = self._unit(session, order.unit_id)
        for assist in [order, *assists]:
            self._order_move(session, assist, WorkOrderAction.ACCEPT, actor, now)
            assist.reviewed_at, assist.reviewed_by, assist.closed_at = now, actor, now
        session.flush()
        return self._resolve(session, appeal_id, text, actor=actor, now=now,
                             audit_action="accept",
                             note=f"{_unit_label(unit)}；审核通过：{text}")

    def rework(self, session: Session, appeal_id: int, reason: str,
               instruction: str | None = None, *, actor: str,
               now: dt.datetime) -> WorkOrderRecord:
        """重办: a 不满意 callback the supervisor attributes to the unit's handling (`reason`)
        sends the appeal back to the unit of its accepted order, as a new order naming that
        one (`rework_of`) with a full time limit from now; the appeal's deadline moves to
        the new order's when that is later. Refused unless the appeal's latest rating is
        不满意 (which reopened it) and its latest order was accepted."""
        appeal = self._locked(session, appeal_id)
        open_order = self._open_order(session, appeal_id)
        if open_order is not None:
            raise WorkOrderRefused("order_open", f"appeal {appeal_id} is at a unit already "
                                   f"(work order {open_order.id})",
                                   unit=self._unit(session, open_order.unit_id).name)
        if appeal.satisfaction is not Satisfaction.DISSATISFIED:
            raise WorkOrderRefused("not_dissatisfied", f"appeal {appeal_id} has no 不满意 "
                                   "rating to rework")
        last = session.scalar(select(WorkOrder).where(WorkOrder.appeal_id == appeal_id,
                                                      WorkOrder.role == WorkOrderRole.LEAD)
                              .order_by(WorkOrder.id.desc()).limit(1).with_for_update())
        if last is None:
            raise WorkOrderRefused("no_order", f"appeal {appeal_id} was never at a unit")
        work_order_target_of(WorkOrderAction.REWORK, last.status)
        target_of(Action.ASSIGN, appeal.status)
        unit = self._dispatch_unit(session, last.unit_id)
        reason = _text(reason, "reason")
        instruction = _text(instruction, "instruction", required=False) or reason
        order = self._new_order(session, appeal, unit, f"不满意回访重办：{reason}",
                                instruction, actor, now, audit_action="rework",
                                note=f"{_unit_label(unit)}；重办：{reason}；要求：{instruction}",
                                rework_of=last.id)
        appeal.deadline_at = max(appeal.deadline_at, order.due_at)
        session.flush()
        return order

    def send_back(self, session: Session, appeal_id: int, reason: str, *, actor: str,
                  now: dt.datetime) -> WorkOrderRecord:
        """审核退回: the reply goes back to the unit with the reason, for another reply."""
        appeal = self._locked(session, appeal_id)
        order = self._reviewed_order(session, appeal_id)
        work_order_target_of(WorkOrderAction.SEND_BACK, order.status)
        reason = _text(reason, "reason")
        unit = self._unit(session, order.unit_id)
        self._order_move(session, order, WorkOrderAction.SEND_BACK, actor, now, note=reason)
        order.reviewed_at, order.reviewed_by = now, actor
        order.send_back_reason = reason
        order.send_backs += 1
        self._appeal_step(session, appeal, "send_back", actor, now,
                          f"{_unit_label(unit)}；退回原因：{reason}")
        return self._order_record(session, order)

    def decide_extension(self, session: Session, extension_id: int, approve: bool,
                         note: str | None = None, *, actor: str,
                         now: dt.datetime) -> ExtensionRecord:
        """A supervisor's decision on a pending request; a refusal says why."""
        found = session.get(WorkOrderExtension, extension_id)
        if found is None:
            raise ExtensionNotFound(extension_id)
        order_row = session.get(WorkOrder, found.work_order_id)
        assert order_row is not None
        appeal = self._locked(session, order_row.appeal_id)  # the appeal first, as every step
        extension = session.get(WorkOrderExtension, extension_id, with_for_update=True,
                                populate_existing=True)
        order = session.get(WorkOrder, found.work_order_id, with_for_update=True,
                            populate_existing=True)
        assert extension is not None and order is not None
        action = ExtensionAction.APPROVE if approve else ExtensionAction.REFUSE
        target = extension_target_of(action, extension.status)
        note = _text(note, "note", required=not approve)
        left = self.work_orders.max_extension_working_days - order.extended_days
        if approve and extension.days > left:
            # Asked within the maximum, but the maximum was lowered since.
            raise WorkOrderRefused("extension_days", "the work order's extensions would "
                                   "exceed the maximum", most=left)
        unit = self._unit(session, order.unit_id)
        extension.status, extension.decided_at, extension.decided_by = target, now, actor
        extension.decision_note = note or None
        if approve:
            order.due_at = end_of_working_day(self._calendar, self._zone, order.due_at,
                                              extension.days)
            order.extended_days += extension.days
            order.updated_at = now
            extension.due_after = order.due_at
            appeal.deadline_at = max(appeal.deadline_at, order.due_at)
        new_due = f"，新时限 {self._local_day(order.due_at)}" if approve else ""
        audit.record(session, at=now, actor=actor, action=action.value,
                     entity_type=EXTENSION_ENTITY, entity_id=extension.id,
                     from_state=ExtensionStatus.PENDING.value, to_state=target.value, note=note)
        self._appeal_step(session, appeal, f"extension_{action.value}", actor, now,
                          f"{_unit_label(unit)}；延期 {extension.days} 个工作日"
                          f"{'批准' if approve else '不批准'}{new_due}"
                          + (f"；{note}" if note else ""))
        session.flush()
        if approve:
            self.extended_hook.run(session, AppealRecord.of(appeal),
                                   self._order_record(session, order))
        return ExtensionRecord.of(extension)

    # The unit ------------------------------------------------------------------------------

    def sign(self, session: Session, appeal_id: int, *, unit_id: int, actor: str,
             now: dt.datetime) -> WorkOrderRecord:
        """签收, on time or late (after `sign_by`)."""
        appeal = self._locked(session, appeal_id)
        order = self._unit_order(session, appeal_id, unit_id)
        work_order_target_of(WorkOrderAction.SIGN, order.status)
        lead = order.role is WorkOrderRole.LEAD
        if lead:
            target_of(Action.START, appeal.status)
        unit = self._unit(session, order.unit_id)
        late = now > order.sign_by
        self._order_move(session, order, WorkOrderAction.SIGN, actor, now,
                         note="超时签收" if late else None)
        order.signed_at, order.signed_by = now, actor
        note = f"{_unit_label(unit)}{'' if lead else '（协办）'}签收" \
            + ("（超时签收）" if late else "")
        if lead:
            self._move(session, appeal_id, Action.START, actor, now, note, audit_action="sign")
        else:
            self._appeal_step(session, appeal, "sign", actor, now, note)
        return self._order_record(session, order)

    def return_order(self, session: Session, appeal_id: int, reason: str, *, unit_id: int,
                     actor: str, now: dt.datetime) -> WorkOrderRecord:
        """退单: outside the unit's remit, within `return_by`; the appeal back to the hall."""
        appeal = self._locked(session, appeal_id)
        order = self._unit_order(session, appeal_id, unit_id)
        work_order_target_of(WorkOrderAction.RETURN, order.status)
        lead = order.role is WorkOrderRole.LEAD
        if lead:
            target_of(Action.RETURN, appeal.status)
        reason = _text(reason, "reason")
        if now > order.return_by:
            raise WorkOrderRefused("return_late", f"a return was possible until "
                                   f"{order.return_by.isoformat()}",
                                   until=self._local_minute(order.return_by))
        unit = self._unit(session, order.unit_id)
        self._order_move(session, order, WorkOrderAction.RETURN, actor, now, note=reason)
        order.returned_at, order.returned_by, order.return_reason = now, actor, reason
        order.closed_at = now
        self._cancel_pending(session, order, actor, now)
        if not lead:  # an assisting unit's return: the hall sees it, the lead goes on
            self._appeal_step(session, appeal, "return", actor, now,
                              f"{_unit_label(unit)}（协办）退单；原因：{reason}")
            return self._order_record(session, order)

        def change(row: Appeal) -> None:
            row.unit_id = None

        self._move(session, appeal_id, Action.RETURN, actor, now,
                   f"{_unit_label(unit)}退单；原因：{reason}", change, audit_action="return")
        return self._order_record(session, order)

    def request_extension(self, session: Session, appeal_id: int, days: int, reason: str, *,
                          unit_id: int, actor: str, now: dt.datetime) -> ExtensionRecord:
        """延期申请: `days` working days more, for a supervisor to decide."""
        appeal = self._locked(session, appeal_id)
        order = self._unit_order(session, appeal_id, unit_id)
        if order.status not in HANDLING:
            raise InvalidTransition("request an extension of", order.status.value,
                                    frozenset(s.value for s in HANDLING), what="a work order")
        reason = _text(reason, "reason")
        left = self.work_orders.max_extension_working_days - order.extended_days
        if not 1 <= days <= left:
            raise WorkOrderRefused("extension_days", f"days must be 1 to {left}", most=left)
        if self._pending(session, order.id) is not None:
            raise WorkOrderRefused("extension_pending",
                                   "a request for this work order awaits a decision")
        extension = WorkOrderExtension(work_order_id=order.id, status=ExtensionStatus.PENDING,
                                       days=days, reason=reason, requested_at=now,
                                       requested_by=actor, due_before=order.due_at)
        session.add(extension)
        session.flush()
        unit = self._unit(session, order.unit_id)
        audit.record(session, at=now, actor=actor, action="request",
                     entity_type=EXTENSION_ENTITY, entity_id=extension.id,
                     to_state=ExtensionStatus.PENDING.value, note=reason)
        self._appeal_step(session, appeal, "extension_request", actor, now,
                          f"{_unit_label(unit)}；申请延期 {days} 个工作日；原因：{reason}")
        return ExtensionRecord.of(extension)

    def reply(self, session: Session, appeal_id: int, text: str, *, unit_id: int,
              actor: str, now: dt.datetime) -> WorkOrderRecord:
        """办结: the unit's reply, which the hall reviews."""
        appeal = self._locked(session, appeal_id)
        order = self._unit_order(session, appeal_id, unit_id)
        work_order_target_of(WorkOrderAction.REPLY, order.status)
        text = _text(text, "reply", REPLY_MAX)
        unit = self._unit(session, order.unit_id)
        self._order_move(session, order, WorkOrderAction.REPLY, actor, now)
        order.replied_at, order.replied_by, order.reply = now, actor, text
        self._cancel_pending(session, order, actor, now)
        role = "" if order.role is WorkOrderRole.LEAD else "（协办）"
        self._appeal_step(session, appeal, "reply", actor, now,
                          f"{_unit_label(unit)}{role}办结回复：{text}")
        return self._order_record(session, order)

    def unit_note(self, session: Session, appeal_id: int, text: str, *, unit_id: int,
                  actor: str, now: dt.datetime) -> None:
        """A progress note on an order the unit is handling (or has yet to sign)."""
        appeal = self._locked(session, appeal_id)
        order = self._unit_order(session, appeal_id, unit_id)
        if order.status not in WITH_THE_UNIT:
            raise InvalidTransition("add a note to", order.status.value,
                                    frozenset(s.value for s in WITH_THE_UNIT),
                                    what="a work order")
        text = _text(text, "note")
        unit = self._unit(session, order.unit_id)
        self._appeal_step(session, appeal, "note", actor, now, f"{unit.name}：{text}")

    # Reading -------------------------------------------------------------------------------

    def work_orders_of(self, session: Session, appeal_id: int) -> list[WorkOrderRecord]:
        """Every work order of the appeal, newest first, with its extension requests."""
        rows = session.scalars(select(WorkOrder).where(WorkOrder.appeal_id == appeal_id)
                               .order_by(WorkOrder.id.desc()))
        return [self._order_record(session, order) for order in rows]

    def unit_appeal(self, session: Session, appeal_id: int, *, unit_id: int, actor: str,
                    now: dt.datetime) -> UnitAppeal:
        """The unit officer's view of an appeal, audited as a read of the citizen's record
        like the hall's; not found unless the unit has it (see the module docstring)."""
        appeal = session.get(Appeal, appeal_id)
        order = self._visible_order(session, appeal_id, unit_id) if appeal else None
        if appeal is None or order is None:
            raise AppealNotFound(appeal_id)
        unit = self._unit(session, unit_id)
        audit.record_access(session, at=now, actor=actor, entity_type=ENTITY,
                            entity_id=appeal.id, note=f"unit {unit.code}")
        session.flush()
        left = self.work_orders.max_extension_working_days - order.extended_days
        urgings = tuple(u for u in self.urgings_of(session, appeal.id)
                        if u.work_order_id == order.id)
        assists: tuple[WorkOrderRecord, ...] = ()
        if order.role is WorkOrderRole.LEAD:
            assists = tuple(o for o in self.work_orders_of(session, appeal.id) if o.assisting)
        return UnitAppeal(AppealRecord.of(appeal), self._order_record(session, order),
                          audit.trail(session, ENTITY, appeal.id), left, urgings, assists)

    def unit_work(self, session: Session, unit_id: int, name: str, *,
                  now: dt.datetime) -> WorkList:
        """One of the unit's work lists (UNIT_LISTS), and the size of each."""
        conditions = self._unit_lists(now)
        counts = {key: self._count(session, [WorkOrder.unit_id == unit_id, *where])
                  for key, (where, _order) in conditions.items()}
        where, order_by = conditions[name]
        return WorkList(name, self._rows(session, [WorkOrder.unit_id == unit_id, *where],
                                         order_by), counts)

    def hall_work(self, session: Session, name: str, *, now: dt.datetime) -> WorkList:
        """One of the hall's work-order lists (HALL_LISTS), and the size of each."""
        later = aliased(WorkOrder)
        conditions: dict[str, tuple[list[ColumnElement[bool]], list]] = {
            # The leads' replies: an assisting reply is read with its lead's.
            "to_review": ([WorkOrder.status == WorkOrderStatus.REPLIED,
                           WorkOrder.role == WorkOrderRole.LEAD], [WorkOrder.replied_at]),
            # Returned and not dispatched again since: back at the hall.
            "returned": ([WorkOrder.status == WorkOrderStatus.RETURNED,
                          Appeal.status == AppealStatus.RECEIVED,
                          ~exists().where(later.appeal_id == WorkOrder.appeal_id,
                                          later.id > WorkOrder.id)],
                         [WorkOrder.returned_at]),
            "sign_late": ([WorkOrder.status == WorkOrderStatus.DISPATCHED,
                           WorkOrder.sign_by < now], [WorkOrder.sign_by]),
        }
        counts = {key: self._count(session, where) for key, (where, _o) in conditions.items()}
        where, order_by = conditions[name]
        return WorkList(name, self._rows(session, where, order_by), counts)

    def overdue_orders(self, session: Session, *, now: dt.datetime) -> WorkList:
        """Orders still with their unit past the unit's deadline, oldest deadline first (the
        supervisors' overdue page: a unit's deadline may come before the appeal's own)."""
        where = [WorkOrder.status.in_(WITH_THE_UNIT), WorkOrder.due_at < now]
        return WorkList("overdue", self._rows(session, where, [WorkOrder.due_at]),
                        {"overdue": self._count(session, where)})

    def pending_extensions(self, session: Session) -> list[PendingExtension]:
        """Requests awaiting a supervisor, oldest first."""
        rows = session.execute(
            select(WorkOrderExtension, WorkOrder, Appeal, Unit)
            .join(WorkOrder, WorkOrder.id == WorkOrderExtension.work_order_id)
            .join(Appeal, Appeal.id == WorkOrder.appeal_id)
            .join(Unit, Unit.id == WorkOrder.unit_id)
            .where(WorkOrderExtension.status == ExtensionStatus.PENDING)
            .order_by(WorkOrderExtension.requested_at, WorkOrderExtension.id)
            .limit(LIST_LIMIT)).all()
        most = self.work_orders.max_extension_working_days
        return [PendingExtension(ExtensionRecord.of(e), a.id, a.case_number, a.subject, u.name,
                                 o.due_at, most - o.extended_days) for e, o, a, u in rows]

    # Helpers -------------------------------------------------------------------------------

    def _unit_lists(self, now: dt.datetime) -> dict[str, tuple[list[ColumnElement[bool]],
                                                               list]]:
        soon = end_of_working_day(self._calendar, self._zone, now,
                                  self.work_orders.due_soon_working_days)
        with_unit = WorkOrder.status.in_(WITH_THE_UNIT)
        return {
            "to_sign": ([WorkOrder.status == WorkOrderStatus.DISPATCHED],
                        [WorkOrder.dispatched_at]),
            "in_progress": ([WorkOrder.status == WorkOrderStatus.SIGNED], [WorkOrder.due_at]),
            "due_soon": ([with_unit, WorkOrder.due_at >= now, WorkOrder.due_at <= soon],
                         [WorkOrder.due_at]),
            "overdue": ([with_unit, WorkOrder.due_at < now], [WorkOrder.due_at]),
            # Sent back by the review, or a 重办 after a 不满意 callback, still with the unit.
            "rework": ([or_(WorkOrder.status == WorkOrderStatus.SENT_BACK,
                            and_(WorkOrder.rework_of.is_not(None), with_unit))],
                       [WorkOrder.due_at]),
            "replied": ([WorkOrder.status == WorkOrderStatus.REPLIED], [WorkOrder.replied_at]),
        }

    @staticmethod
    def _count(session: Session, where: list[ColumnElement[bool]]) -> int:
        return session.scalar(select(func.count(WorkOrder.id))
                              .join(Appeal, Appeal.id == WorkOrder.appeal_id)
                              .where(*where)) or 0

    def _rows(self, session: Session, where: list[ColumnElement[bool]],
              order_by: list) -> list[WorkListRow]:
        rows = session.execute(select(WorkOrder, Appeal, Unit)
                               .join(Appeal, Appeal.id == WorkOrder.appeal_id)
                               .join(Unit, Unit.id == WorkOrder.unit_id)
                               .where(*where).order_by(*order_by, WorkOrder.id)
                               .limit(LIST_LIMIT)).all()
        return [WorkListRow(a.id, a.case_number, a.subject, a.kind.value, a.status,
                            WorkOrderRecord.of(o, u)) for o, a, u in rows]

    def _dispatch_unit(self, session: Session, unit_id: int) -> Unit:
        unit = session.get(Unit, unit_id)
        if unit is None or not unit.active:
            raise AppealValidationError("unit_id", f"no active unit {unit_id}",
                                        "unknown_unit")
        return unit

    def _new_order(self, session: Session, appeal: Appeal, unit: Unit, reason: str,
                   instruction: str, actor: str, now: dt.datetime, *, audit_action: str,
                   note: str, rework_of: int | None = None) -> WorkOrderRecord:
        """A lead order, the appeal assigned to its unit."""
        order = self._order_row(session, appeal, unit, reason, instruction, actor, now,
                                rework_of=rework_of)

        def change(row: Appeal) -> None:
            row.unit_id = unit.id

        record = self._move(session, appeal.id, Action.ASSIGN, actor, now, note, change,
                            audit_action=audit_action)
        order_record = self._order_record(session, order)
        if rework_of is None:  # a rework is told to the citizen at its callback, not here
            self.dispatched_hook.run(session, record, order_record)
        return order_record

    def _order_row(self, session: Session, appeal: Appeal, unit: Unit, reason: str,
                   instruction: str, actor: str, now: dt.datetime, *,
                   rework_of: int | None = None,
                   role: WorkOrderRole = WorkOrderRole.LEAD) -> WorkOrder:
        policy = self.work_orders
        order = WorkOrder(
            appeal_id=appeal.id, unit_id=unit.id, status=WorkOrderStatus.DISPATCHED,
            dispatched_at=now, dispatched_by=actor, reason=reason, instruction=instruction,
            sign_by=add_working_hours(self._calendar, self._zone, now,
                                      policy.sign_within_working_hours, policy.hours),
            return_by=end_of_working_day(self._calendar, self._zone, now,
                                         policy.return_within_working_days),
            due_at=end_of_working_day(self._calendar, self._zone, now,
                                      policy.handling_working_days),
            extended_days=0, send_backs=0, updated_at=now, rework_of=rework_of, role=role)
        session.add(order)
        session.flush()
        audit.record(session, at=now, actor=actor,
                     action="dispatch" if rework_of is None else WorkOrderAction.REWORK.value,
                     entity_type=WORK_ORDER_ENTITY, entity_id=order.id,
                     to_state=WorkOrderStatus.DISPATCHED.value,
                     note=f"appeal {appeal.id} to {unit.code}"
                          + ("" if role is WorkOrderRole.LEAD else " (assisting)")
                          + ("" if rework_of is None else f", reworks order {rework_of}"))
        return order

    def _order_move(self, session: Session, order: WorkOrder, action: WorkOrderAction,
                    actor: str, now: dt.datetime, note: str | None = None) -> None:
        source = order.status
        target = work_order_target_of(action, source)
        order.status, order.updated_at = target, now
        audit.record(session, at=now, actor=actor, action=action.value,
                     entity_type=WORK_ORDER_ENTITY, entity_id=order.id,
                     from_state=source.value, to_state=target.value, note=note)

    def _appeal_step(self, session: Session, appeal: Appeal, action: str, actor: str,
                     now: dt.datetime, note: str) -> None:
        """A step that leaves the appeal's status as it is, on its trail."""
        appeal.updated_at = now
        audit.record(session, at=now, actor=actor, action=action, entity_type=ENTITY,
                     entity_id=appeal.id, note=note)
        session.flush()

    def _cancel_pending(self, session: Session, order: WorkOrder, actor: str,
                        now: dt.datetime) -> None:
        """A request is moot once its order leaves handling (replied, returned, withdrawn)."""
        extension = self._pending(session, order.id)
        if extension is None:
            return
        extension.status = extension_target_of(ExtensionAction.CANCEL, extension.status)
        extension.decided_at, extension.decided_by = now, actor
        audit.record(session, at=now, actor=actor, action=ExtensionAction.CANCEL.value,
                     entity_type=EXTENSION_ENTITY, entity_id=extension.id,
                     from_state=ExtensionStatus.PENDING.value,
                     to_state=ExtensionStatus.CANCELLED.value, note=f"order {order.status}")

    @staticmethod
    def _pending(session: Session, order_id: int) -> WorkOrderExtension | None:
        return session.scalar(select(WorkOrderExtension)
                              .where(WorkOrderExtension.work_order_id == order_id,
                                     WorkOrderExtension.status == ExtensionStatus.PENDING)
                              .with_for_update())

    @staticmethod
    def _open_order(session: Session, appeal_id: int) -> WorkOrder | None:
        """The open lead order (主办), locked."""
        return session.scalar(select(WorkOrder)
                              .where(WorkOrder.appeal_id == appeal_id,
                                     WorkOrder.role == WorkOrderRole.LEAD,
                                     WorkOrder.status.in_(OPEN_WORK_ORDER))
                              .order_by(WorkOrder.id.desc()).limit(1).with_for_update())

    @staticmethod
    def _open_assists(session: Session, appeal_id: int) -> list[WorkOrder]:
        """The open assisting orders (协办), oldest first, locked."""
        return list(session.scalars(select(WorkOrder)
                                    .where(WorkOrder.appeal_id == appeal_id,
                                           WorkOrder.role == WorkOrderRole.ASSIST,
                                           WorkOrder.status.in_(OPEN_WORK_ORDER))
                                    .order_by(WorkOrder.id).with_for_update()))

    def _not_assisting(self, session: Session, appeal_id: int, unit: Unit) -> None:
        """One open order per unit on an appeal: a unit assisting is not made the lead or
        asked to assist again (withdraw its order first)."""
        if any(o.unit_id == unit.id for o in self._open_assists(session, appeal_id)):
            raise WorkOrderRefused("assisting", f"{unit.code} assists on the appeal already",
                                   unit=unit.name)

    def _reviewed_order(self, session: Session, appeal_id: int) -> WorkOrder:
        order = self._open_order(session, appeal_id)
        if order is None:
            raise WorkOrderRefused("no_open_order",
                                   f"appeal {appeal_id} has no open work order to review")
        return order

    @staticmethod
    def _visible_order(session: Session, appeal_id: int, unit_id: int, *,
                       lock: bool = False) -> WorkOrder | None:
        """The unit's latest work order on the appeal that lets it see the appeal."""
        query = (select(WorkOrder)
                 .where(WorkOrder.appeal_id == appeal_id, WorkOrder.unit_id == unit_id,
                        WorkOrder.status.not_in((WorkOrderStatus.RETURNED,
                                                 WorkOrderStatus.WITHDRAWN)))
                 .order_by(WorkOrder.id.desc()).limit(1))
        return session.scalar(query.with_for_update() if lock else query)

    def _unit_order(self, session: Session, appeal_id: int, unit_id: int) -> WorkOrder:
        order = self._visible_order(session, appeal_id, unit_id, lock=True)
        if order is None:
            raise AppealNotFound(appeal_id)
        return order

    @staticmethod
    def _unit(session: Session, unit_id: int) -> Unit:
        unit = session.get(Unit, unit_id)
        assert unit is not None  # a foreign key, or checked by the caller
        return unit

    def _order_record(self, session: Session, order: WorkOrder) -> WorkOrderRecord:
        unit = self._unit(session, order.unit_id)
        extensions = tuple(ExtensionRecord.of(e) for e in session.scalars(
            select(WorkOrderExtension).where(WorkOrderExtension.work_order_id == order.id)
            .order_by(WorkOrderExtension.id)))
        return WorkOrderRecord.of(order, unit, extensions)

    def _local_day(self, moment: dt.datetime) -> str:
        return moment.astimezone(self._zone).strftime("%Y-%m-%d")

    def _local_minute(self, moment: dt.datetime) -> str:
        return moment.astimezone(self._zone).strftime("%Y-%m-%d %H:%M")

    def open_order_guard(self, session: Session, appeal_id: int, action: str) -> None:
        """Refuse the hall's plain `action` while the appeal is at a unit (leading or
        assisting)."""
        order = self._open_order(session, appeal_id) \
            or next(iter(self._open_assists(session, appeal_id)), None)
        if order is not None:
            unit = self._unit(session, order.unit_id)
            raise WorkOrderRefused("order_open", f"cannot {action} appeal {appeal_id} while "
                                   f"work order {order.id} is open at {unit.code}",
                                   unit=unit.name)
