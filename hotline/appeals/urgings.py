"""Urging (催办) and supervision (督办) of work orders: the service's own, before and after an
order's deadline, and a supervisor's by hand; each a row of `work_order_urgings` (counted
per unit) and a line on the appeal's trail, in one transaction.

- 催办: `[workorders] urge_before_working_hours` working hours before the deadline of an order
  still with the unit (dispatched, signed or sent back), the service urges the unit: the
  urged hook's participants (the SMS to the unit's duty phone) run in the transaction, and
  the unit's pages show it.
- 督办: from the opening of the first working day after an overdue deadline's day, the service
  raises one to the supervisors (a supervisor alert, kind `supervise`); a supervisor may
  issue one by hand, with a note, on any open order (the urged hook runs for it too).

Each order is urged on its own, the lead's (主办) and each assisting unit's (协办) alike.
The service's are made once per order, kind and deadline: an extension's new deadline is
urged again, a re-dispatch's new order has its own. Each is checked again under the
appeal's row lock, and a unique index refuses a second row, so several processes running
the job (`hotline.appeals.urging_job`) cannot urge one order twice.

This module is `AppealRepository`'s mixin, as `hotline.appeals.work_orders` is.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session

from hotline import alerts, audit
from hotline.appeals.deadlines import (
    end_of_working_day,
    first_working_day_after,
    subtract_working_hours,
)
from hotline.appeals.errors import AppealValidationError, WorkOrderRefused
from hotline.appeals.lifecycle import OPEN_WORK_ORDER, WITH_THE_UNIT
from hotline.config import WorkOrdersConfig
from hotline.hooks import TransactionHook
from hotline.workdays import WorkCalendar
from schemas.enums import Satisfaction, WorkOrderStatus
from schemas.models import (
    Agent,
    Appeal,
    Unit,
    UrgingKind,
    WorkOrder,
    WorkOrderRole,
    WorkOrderUrging,
)

ENTITY = "appeal"
URGING_ENTITY = "work_order_urging"
ACTOR = "system:urging"
SUPERVISE_ALERT = "supervise"  # the supervisor alert a 督办 of the service's raises
NOTE_MAX = 2000
NOTICE_LIMIT = 50


@dataclass(frozen=True)
class UrgingRecord:
    id: int
    appeal_id: int
    case_number: str
    work_order_id: int
    unit_id: int
    unit_code: str
    unit_name: str
    duty_contact: str | None  # personal data: masked in logs
    duty_phone: str | None
    kind: UrgingKind
    automatic: bool
    agent_id: int | None
    agent_name: str | None  # a supervisor's by hand: who
    note: str | None
    at: dt.datetime
    deadline_at: dt.datetime  # the order's deadline it is about


@dataclass(frozen=True)
class DueUrging:
    """An order the service is to urge or supervise now, and the deadline it is about."""

    work_order_id: int
    kind: UrgingKind
    deadline_at: dt.datetime


@dataclass(frozen=True)
class UnitUrgingCount:
    unit_id: int
    unit_code: str
    unit_name: str
    urged: int  # 催办, the service's and by hand
    supervised: int  # 督办
    automatic: int


@dataclass(frozen=True)
class OversightMark:
    open_order: bool
    urged: int
    supervised: int
    reworkable: bool
    reworks: int


# fn(session, urging): an order was urged or supervised, e.g. the SMS to the unit's duty
# phone (the SMS layer joins it).
UrgedHook = TransactionHook[[UrgingRecord]]


class UrgingSteps:
    """The urging half of `AppealRepository` (a mixin: `self` is the repository)."""

    _zone: ZoneInfo
    _calendar: WorkCalendar
    work_orders: WorkOrdersConfig
    urged_hook: UrgedHook
    _locked: Callable[[Session, int], Appeal]

    # The service's ----------------------------------------------------------------------

    def urge_at(self, due_at: dt.datetime) -> dt.datetime:
        """When the service urges an order due at `due_at`."""
        policy = self.work_orders
        return subtract_working_hours(self._calendar, self._zone, due_at,
                                      policy.urge_before_working_hours, policy.hours)

    def supervise_at(self, due_at: dt.datetime) -> dt.datetime:
        """When the service raises a 督办 on an order still with the unit after `due_at`."""
        return first_working_day_after(self._calendar, self._zone, due_at,
                                       self.work_orders.hours)

    def due_urgings(self, session: Session, *, now: dt.datetime) -> list[DueUrging]:
        """The orders to urge or supervise at `now` that the service has not yet, oldest
        deadline first."""
        policy = self.work_orders
        opens, closes = policy.hours
        days = math.ceil(policy.urge_before_working_hours * 60 / (closes - opens)) + 1
        horizon = end_of_working_day(self._calendar, self._zone, now, days)
        found: list[DueUrging] = []
        for kind, where in (
                (UrgingKind.URGE, (WorkOrder.due_at > now, WorkOrder.due_at <= horizon)),
                (UrgingKind.SUPERVISE, (WorkOrder.due_at < now,))):
            done = exists().where(WorkOrderUrging.work_order_id == WorkOrder.id,
                                  WorkOrderUrging.kind == kind,
                                  WorkOrderUrging.automatic.is_(True),
                                  WorkOrderUrging.deadline_at == WorkOrder.due_at)
            rows = session.execute(select(WorkOrder.id, WorkOrder.due_at)
                                   .where(WorkOrder.status.in_(WITH_THE_UNIT), *where, ~done)
                                   .order_by(WorkOrder.due_at, WorkOrder.id)).all()
            for order_id, due_at in rows:
                if self._due(kind, due_at, now):
                    found.append(DueUrging(order_id, kind, due_at))
        found.sort(key=lambda d: (d.deadline_at, d.work_order_id))
        return found

    def _due(self, kind: UrgingKind, due_at: dt.datetime, now: dt.datetime) -> bool:
        if kind is UrgingKind.URGE:
            return self.urge_at(due_at) <= now < due_at
        return self.supervise_at(due_at) <= now

    def urge_automatically(self, session: Session, work_order_id: int, kind: UrgingKind, *,
                           now: dt.datetime) -> UrgingRecord | None:
        """The service's 催办 or 督办 of one order, if it is still due (checked again under
        the appeal's lock); None when it is not (replied meanwhile, or done already)."""
        appeal_id = session.scalar(select(WorkOrder.appeal_id)
                                   .where(WorkOrder.id == work_order_id))
        if appeal_id is None:
            return None
        appeal = self._locked(session, appeal_id)
        order = session.get(WorkOrder, work_order_id, with_for_update=True)
        assert order is not None
        if order.status not in WITH_THE_UNIT or not self._due(kind, order.due_at, now):
            return None
        done = session.scalar(select(func.count(WorkOrderUrging.id))
                              .where(WorkOrderUrging.work_order_id == order.id,
                                     WorkOrderUrging.kind == kind,
                                     WorkOrderUrging.automatic.is_(True),
                                     WorkOrderUrging.deadline_at == order.due_at))
        if done:
            return None
        unit = session.get(Unit, order.unit_id)
        assert unit is not None
        local_due = order.due_at.astimezone(self._zone).strftime("%Y-%m-%d %H:%M")
        if kind is UrgingKind.URGE:
            note = f"{unit.code} {unit.name}；办理期限 {local_due}，即将到期，系统催办"
        else:
            note = f"{unit.code} {unit.name}；办理期限 {local_due} 已超期未办结，系统督办"
        record = self._write(session, appeal, order, unit, kind, automatic=True,
                             agent=None, actor=ACTOR, note=note, now=now)
        if kind is UrgingKind.SUPERVISE:
            alerts.raise_alert(session, kind=SUPERVISE_ALERT, source=ACTOR, at=now,
                               appeal_id=appeal.id, note=note)
        return record

    # A supervisor's -------------------------------------------------------------------------

    def supervise(self, session: Session, appeal_id: int, note: str, *, agent_id: int,
                  actor: str, now: dt.datetime,
                  work_order_id: int | None = None) -> UrgingRecord:
        """督办 by hand: a supervisor's, with a note, on the appeal's open lead order (主办), or
        on its open order `work_order_id` (an assisting unit's, 协办)."""
        text = (note or "").strip()
        if not text:
            raise AppealValidationError("note", "is required", "required")
        if len(text) > NOTE_MAX:
            raise AppealValidationError("note", f"at most {NOTE_MAX} characters", "length",
                                        max=NOTE_MAX)
        appeal = self._locked(session, appeal_id)
        which = WorkOrder.role == WorkOrderRole.LEAD if work_order_id is None \
            else WorkOrder.id == work_order_id
        order = session.scalar(select(WorkOrder)
                               .where(WorkOrder.appeal_id == appeal_id, which,
                                      WorkOrder.status.in_(OPEN_WORK_ORDER))
                               .order_by(WorkOrder.id.desc()).limit(1).with_for_update())
        if order is None:
            raise WorkOrderRefused("no_open_order",
                                   f"appeal {appeal_id} has no open work order to supervise")
        unit = session.get(Unit, order.unit_id)
        agent = session.get(Agent, agent_id)
        assert unit is not None
        return self._write(session, appeal, order, unit, UrgingKind.SUPERVISE,
                           automatic=False, agent=agent, actor=actor,
                           note=f"{unit.code} {unit.name}；督办：{text}", now=now,
                           stored_note=text)

    # Reading --------------------------------------------------------------------------------

    def urgings_of(self, session: Session, appeal_id: int) -> list[UrgingRecord]:
        """The appeal's urgings and 督办, oldest first."""
        return self._records(session, [WorkOrderUrging.appeal_id == appeal_id],
                             newest_first=False)

    def unit_notices(self, session: Session, unit_id: int) -> list[UrgingRecord]:
        """The urgings and 督办 of the unit's orders still with it, newest first: the notices
        on its pages."""
        return self._records(session, [WorkOrderUrging.unit_id == unit_id,
                                       WorkOrder.status.in_(WITH_THE_UNIT)],
                             limit=NOTICE_LIMIT)

    def oversight_marks(self, session: Session,
                        appeal_ids: list[int]) -> dict[int, OversightMark]:
        """For the supervisors' lists: each appeal's open order (a 督办 needs one), its
        urgings and 督办 so far, and whether a 重办 may be issued (its latest rating 不满意,
        its latest order accepted, none open) and how many it has had."""
        if not appeal_ids:
            return {}
        wanted = set(appeal_ids)
        latest: dict[int, WorkOrder] = {}
        reworks: dict[int, int] = {}
        for order in session.scalars(select(WorkOrder).where(WorkOrder.appeal_id.in_(wanted))
                                     .order_by(WorkOrder.id)):
            latest[order.appeal_id] = order
            reworks[order.appeal_id] = reworks.get(order.appeal_id, 0) \
                + (order.rework_of is not None)
        counts: dict[tuple[int, UrgingKind], int] = {
            (appeal_id, kind): n for appeal_id, kind, n in session.execute(
                select(WorkOrderUrging.appeal_id, WorkOrderUrging.kind, func.count())
                .where(WorkOrderUrging.appeal_id.in_(wanted))
                .group_by(WorkOrderUrging.appeal_id, WorkOrderUrging.kind))}
        ratings = dict(session.execute(select(Appeal.id, Appeal.satisfaction)
                                       .where(Appeal.id.in_(wanted))).all())
        marks = {}
        for appeal_id in wanted:
            last = latest.get(appeal_id)
            is_open = last is not None and last.status in OPEN_WORK_ORDER
            marks[appeal_id] = OversightMark(
                open_order=is_open,
                urged=counts.get((appeal_id, UrgingKind.URGE), 0),
                supervised=counts.get((appeal_id, UrgingKind.SUPERVISE), 0),
                reworkable=(last is not None and last.status is WorkOrderStatus.ACCEPTED
                            and ratings.get(appeal_id) is Satisfaction.DISSATISFIED),
                reworks=reworks.get(appeal_id, 0))
        return marks

    def urging_counts(self, session: Session, *, start: dt.datetime,
                      end: dt.datetime) -> list[UnitUrgingCount]:
        """Per unit, the urgings and 督办 made in [start, end), most first."""
        u = WorkOrderUrging
        urged = func.sum(case((u.kind == UrgingKind.URGE, 1), else_=0))
        supervised = func.sum(case((u.kind == UrgingKind.SUPERVISE, 1), else_=0))
        automatic = func.sum(case((u.automatic.is_(True), 1), else_=0))
        rows = session.execute(select(Unit.id, Unit.code, Unit.name, urged, supervised,
                                      automatic)
                               .join(u, u.unit_id == Unit.id)
                               .where(u.at >= start, u.at < end)
                               .group_by(Unit.id, Unit.code, Unit.name)).all()
        counts = [UnitUrgingCount(i, code, name, int(a or 0), int(b or 0), int(c or 0))
                  for i, code, name, a, b, c in rows]
        counts.sort(key=lambda c: (-(c.urged + c.supervised), c.unit_code))
        return counts

    # Helpers -------------------------------------------------------------------------------

    def _write(self, session: Session, appeal: Appeal, order: WorkOrder, unit: Unit,
               kind: UrgingKind, *, automatic: bool, agent: Agent | None, actor: str,
               note: str, now: dt.datetime, stored_note: str | None = None) -> UrgingRecord:
        row = WorkOrderUrging(appeal_id=appeal.id, work_order_id=order.id, unit_id=unit.id,
                              kind=kind, automatic=automatic,
                              agent_id=agent.id if agent else None,
                              note=stored_note if stored_note is not None else note, at=now,
                              deadline_at=order.due_at)
        session.add(row)
        session.flush()
        appeal.updated_at = now
        audit.record(session, at=now, actor=actor, action=kind.value, entity_type=ENTITY,
                     entity_id=appeal.id, note=note)
        audit.record(session, at=now, actor=actor, action=kind.value,
                     entity_type=URGING_ENTITY, entity_id=row.id,
                     note=f"order {order.id} of appeal {appeal.id} at {unit.code}")
        session.flush()
        record = _record(row, appeal, unit, agent)
        self.urged_hook.run(session, record)
        return record

    def _records(self, session: Session, where: list, *, newest_first: bool = True,
                 limit: int | None = None) -> list[UrgingRecord]:
        u = WorkOrderUrging
        order_by = (u.at.desc(), u.id.desc()) if newest_first else (u.at, u.id)
        query = (select(u, Appeal, Unit, Agent)
                 .join(Appeal, Appeal.id == u.appeal_id)
                 .join(Unit, Unit.id == u.unit_id)
                 .join(WorkOrder, WorkOrder.id == u.work_order_id)
                 .outerjoin(Agent, Agent.id == u.agent_id)
                 .where(*where).order_by(*order_by))
        if limit is not None:
            query = query.limit(limit)
        return [_record(row, appeal, unit, agent)
                for row, appeal, unit, agent in session.execute(query).all()]


def _record(row: WorkOrderUrging, appeal: Appeal, unit: Unit,
            agent: Agent | None) -> UrgingRecord:
    return UrgingRecord(row.id, appeal.id, appeal.case_number, row.work_order_id, unit.id,
                        unit.code, unit.name, unit.duty_contact, unit.duty_phone, row.kind,
                        row.automatic, row.agent_id, agent.display_name if agent else None,
                        row.note, row.at, row.deadline_at)
