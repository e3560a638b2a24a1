"""The assessment of each handling unit (监督考核) over a period, from the rows the work-order
flow writes: `work_orders`, `work_order_extensions`, the satisfaction callbacks
(`callback_tasks`) and the ratings on the appeals' audit trail. docs/assessment.md defines
every column; in short, for the period [start, end) read at `now`:

- dispatched (派单数): work orders dispatched to the unit in the period (a dispatch or a
  re-dispatch to it); received (接收诉求数): the distinct appeals among them;
- signed on time / signed late (按时签收 / 超时签收): of those orders, signed by `sign_by` /
  after it; not signed in time (超时未签收): not signed, and `sign_by` passed while it still
  waited (still waiting, or returned or withdrawn after the limit);
- returned (退单数): orders the unit returned in the period; late returns (超时退单): of
  those, after `return_by` (the service refuses such a return, so this stays 0 unless a row
  was written otherwise: the column shows it if one was);
- extension requests / extended (延期申请 / 批准延期): requests made in the period / approvals
  decided in it, and the working days approved;
- resolved / resolved on time (办结数 / 按期办结): orders whose reply the hall accepted in the
  period / of those, the accepted reply given by the order's deadline (`due_at`, extensions
  included);
- overdue (超期数): orders whose deadline fell in the period and has passed as of `now`,
  still in the unit's hands at the deadline (not replied by then; sent back, still with it);
- urged / supervised (催办 / 督办): the unit's rows of `work_order_urgings` made in the
  period, by kind, the service's and the supervisors' alike;
- reworked (重办): work orders dispatched to the unit in the period that rework an accepted
  one (`rework_of`): the 不满意 callbacks sent back to it;
- callbacks (应回访 / 按时回访 / 未到期): the satisfaction callbacks of the unit's appeals due
  in the period, reached by their due time, not yet due at `now`: the callback compliance
  report's definitions (callback_queue.report), a test holds the two equal;
- ratings (满意 / 基本满意 / 不满意): ratings given in the period on the unit's appeals,
  whatever their channel (IVR survey, agent's callback, SMS reply): each is an audited step
  of the appeal (`AppealRepository.rate`: a close or a reopen noted `rated <value>`).

An assisting order (协办) counts for its unit as a lead's does; a duplicate merged into another
appeal (重复件) has its orders withdrawn, so they are never resolved (nor on time).

Rates divide by what could have met the goal: signed on time / orders whose sign-for limit
came; resolved on time / resolved; callbacks on time / callbacks due less those not due yet;
(满意 + 基本满意) / ratings. None when there is nothing to divide by.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from sqlalchemy import String, and_, case, cast, distinct, func, or_, select
from sqlalchemy.orm import Session

from hotline.appeals.lifecycle import WITH_THE_UNIT
from schemas.callbacks import CallbackOrigin, CallbackState, CallbackTask
from schemas.enums import ExtensionStatus, Satisfaction, UnitKind, WorkOrderStatus
from schemas.models import (
    Appeal,
    AuditEvent,
    Unit,
    UrgingKind,
    WorkOrder,
    WorkOrderExtension,
    WorkOrderUrging,
)

# The measures a ranking may be by (the rates below), best first.
RANKINGS = ("on_time_rate", "sign_on_time_rate", "callback_rate", "satisfaction_rate")
DEFAULT_RANKING = "on_time_rate"
RATED_NOTE = "rated "  # AppealRepository.rate's note on the close or reopen it writes
RATING_STEPS = ("close", "reopen")
_UNFINISHED = (CallbackState.PENDING, CallbackState.DIALING, CallbackState.IN_CALL,
               CallbackState.MERGED)


@dataclass(frozen=True)
class Figures:
    """One unit's counts for a period (or their sum, the total)."""

    dispatched: int = 0
    received: int = 0
    signed_on_time: int = 0
    signed_late: int = 0
    unsigned_late: int = 0
    returned: int = 0
    late_returns: int = 0
    extension_requests: int = 0
    extended: int = 0
    extended_days: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    overdue: int = 0
    urged: int = 0
    supervised: int = 0
    reworked: int = 0
    callbacks_due: int = 0
    callbacks_within: int = 0
    callbacks_not_due: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    dissatisfied: int = 0

    @property
    def sign_on_time_rate(self) -> float | None:
        return _rate(self.signed_on_time,
                     self.signed_on_time + self.signed_late + self.unsigned_late)

    @property
    def on_time_rate(self) -> float | None:
        return _rate(self.resolved_on_time, self.resolved)

    @property
    def callback_rate(self) -> float | None:
        return _rate(self.callbacks_within, self.callbacks_due - self.callbacks_not_due)

    @property
    def rated(self) -> int:
        return self.satisfied + self.basically_satisfied + self.dissatisfied

    @property
    def satisfaction_rate(self) -> float | None:
        return _rate(self.satisfied + self.basically_satisfied, self.rated)

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def value(self, name: str) -> int | float | None:
        return getattr(self, name)

    def as_dict(self) -> dict:
        return {**asdict(self), "rated": self.rated,
                **{name: getattr(self, name) for name in RANKINGS}}


COUNTS = tuple(f.name for f in fields(Figures))


@dataclass(frozen=True)
class UnitRow:
    unit_id: int | None  # None: the total
    code: str
    name: str
    figures: Figures
    previous: Figures  # the same unit in the period compared with
    rank: int | None = None  # by the ranking's measure; None: no figure for it (or the total)

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}" if self.unit_id is not None else self.name


@dataclass(frozen=True)
class Assessment:
    start: dt.datetime
    end: dt.datetime
    previous_start: dt.datetime
    previous_end: dt.datetime
    ranking: str
    units: list[UnitRow]  # ranked: best first; units without a figure for the measure last
    total: UnitRow


def assessment(session: Session, start: dt.datetime, end: dt.datetime,
               previous_start: dt.datetime, previous_end: dt.datetime, *, now: dt.datetime,
               ranking: str = DEFAULT_RANKING, total_label: str = "合计") -> Assessment:
    """Every unit's figures for [start, end) and [previous_start, previous_end), ranked by
    `ranking` (one of RANKINGS). Listed: the active units that handle appeals, and any
    other unit with a figure in either period."""
    if ranking not in RANKINGS:
        raise ValueError(f"ranking must be one of {', '.join(RANKINGS)}, got {ranking!r}")
    current = unit_figures(session, start, end, now=now)
    previous = unit_figures(session, previous_start, previous_end, now=now)
    units = session.execute(select(Unit.id, Unit.code, Unit.name, Unit.active, Unit.kind)
                            .order_by(Unit.code)).all()
    rows = [UnitRow(u.id, u.code, u.name, current.get(u.id, Figures()),
                    previous.get(u.id, Figures()))
            for u in units
            if (u.active and u.kind != UnitKind.SERVICE_HALL)
            or u.id in current or u.id in previous]
    ranked = rank(rows, ranking)
    total = UnitRow(None, "", total_label, sum((r.figures for r in rows), Figures()),
                    sum((r.previous for r in rows), Figures()))
    return Assessment(start, end, previous_start, previous_end, ranking, ranked, total)


def rank(rows: Sequence[UnitRow], ranking: str) -> list[UnitRow]:
    """Best first by `ranking`; ties share a rank (1, 2, 2, 4) and are listed by code; a
    unit with nothing to rate on that measure comes last, unranked."""
    rated = sorted((r for r in rows if r.figures.value(ranking) is not None),
                   key=lambda r: (-(r.figures.value(ranking) or 0), r.code))
    unrated = sorted((r for r in rows if r.figures.value(ranking) is None),
                     key=lambda r: r.code)
    ranked: list[UnitRow] = []
    for position, row in enumerate(rated, start=1):
        tied = ranked and ranked[-1].figures.value(ranking) == row.figures.value(ranking)
        ranked.append(replace(row, rank=ranked[-1].rank if tied else position))
    return ranked + unrated


def unit_figures(session: Session, start: dt.datetime, end: dt.datetime, *,
                 now: dt.datetime) -> dict[int, Figures]:
    """Each unit's counts for [start, end), read at `now`: units with none are absent."""
    parts: dict[int, dict[str, int]] = {}
    for query in (_work_orders, _extensions, _urgings, _callbacks, _ratings):
        for unit_id, values in query(session, start, end, now).items():
            parts.setdefault(unit_id, {}).update(values)
    return {unit_id: Figures(**values) for unit_id, values in parts.items()}


def _count(condition) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _between(column, start: dt.datetime, end: dt.datetime):
    return and_(column >= start, column < end)


def _grouped(session: Session, key, columns: dict[str, object], *where) -> dict[int, dict]:
    names = list(columns)
    rows = session.execute(select(key, *columns.values()).where(*where).group_by(key)).all()
    return {row[0]: {name: int(value or 0) for name, value in zip(names, row[1:], strict=True)}
            for row in rows if row[0] is not None}


def _work_orders(session: Session, start: dt.datetime, end: dt.datetime,
                 now: dt.datetime) -> dict[int, dict]:
    w = WorkOrder
    dispatched = _between(w.dispatched_at, start, end)
    returned = _between(w.returned_at, start, end)
    resolved = and_(w.status == WorkOrderStatus.ACCEPTED, _between(w.closed_at, start, end))
    # When the order left the unit's hands: its reply (awaiting review or accepted), its
    # return or withdrawal; NULL while the unit still has it (sent back included).
    left_at = case((w.status.in_((WorkOrderStatus.REPLIED, WorkOrderStatus.ACCEPTED)),
                    w.replied_at),
                   (w.status.in_((WorkOrderStatus.RETURNED, WorkOrderStatus.WITHDRAWN)),
                    w.closed_at), else_=None)
    due = and_(_between(w.due_at, start, end), w.due_at < now)
    return _grouped(session, w.unit_id, {
        "dispatched": _count(dispatched),
        "received": func.count(distinct(case((dispatched, w.appeal_id), else_=None))),
        "signed_on_time": _count(and_(dispatched, w.signed_at <= w.sign_by)),
        "signed_late": _count(and_(dispatched, w.signed_at > w.sign_by)),
        "unsigned_late": _count(and_(dispatched, w.signed_at.is_(None), w.sign_by < now,
                                     or_(w.closed_at.is_(None), w.closed_at > w.sign_by))),
        "returned": _count(returned),
        "late_returns": _count(and_(returned, w.returned_at > w.return_by)),
        "resolved": _count(resolved),
        "resolved_on_time": _count(and_(resolved, w.replied_at <= w.due_at)),
        "overdue": _count(and_(due, or_(w.status.in_(WITH_THE_UNIT),
                                        left_at > w.due_at))),
        "reworked": _count(and_(dispatched, w.rework_of.is_not(None))),
    }, or_(dispatched, returned, _between(w.closed_at, start, end),
           _between(w.due_at, start, end)))


def _extensions(session: Session, start: dt.datetime, end: dt.datetime,
                now: dt.datetime) -> dict[int, dict]:
    e = WorkOrderExtension
    requested = _between(e.requested_at, start, end)
    approved = and_(e.status == ExtensionStatus.APPROVED, _between(e.decided_at, start, end))
    statement = (select(WorkOrder.unit_id, _count(requested), _count(approved),
                        func.coalesce(func.sum(case((approved, e.days), else_=0)), 0))
                 .join(WorkOrder, WorkOrder.id == e.work_order_id)
                 .where(or_(requested, _between(e.decided_at, start, end)))
                 .group_by(WorkOrder.unit_id))
    return {unit_id: {"extension_requests": int(a), "extended": int(b), "extended_days": int(c)}
            for unit_id, a, b, c in session.execute(statement).all()}


def _urgings(session: Session, start: dt.datetime, end: dt.datetime,
             now: dt.datetime) -> dict[int, dict]:
    u = WorkOrderUrging
    return _grouped(session, u.unit_id, {
        "urged": _count(u.kind == UrgingKind.URGE),
        "supervised": _count(u.kind == UrgingKind.SUPERVISE),
    }, _between(u.at, start, end))


def _callbacks(session: Session, start: dt.datetime, end: dt.datetime,
               now: dt.datetime) -> dict[int, dict]:
    t = CallbackTask
    completed = t.state == CallbackState.COMPLETED
    return _grouped(session, t.unit_id, {
        "callbacks_due": func.count(),
        "callbacks_within": _count(and_(completed, t.completed_at <= t.due_by)),
        "callbacks_not_due": _count(and_(t.state.in_(_UNFINISHED), t.due_by > now)),
    }, t.origin == CallbackOrigin.RESOLUTION, t.state != CallbackState.CANCELLED,
        _between(t.due_by, start, end))


def _ratings(session: Session, start: dt.datetime, end: dt.datetime,
             now: dt.datetime) -> dict[int, dict]:
    a = AuditEvent

    def rated(value: Satisfaction):
        note = RATED_NOTE + value.value
        return or_(a.note == note, a.note.startswith(note + ":", autoescape=True))

    statement = (select(Appeal.unit_id,
                        _count(rated(Satisfaction.SATISFIED)),
                        _count(rated(Satisfaction.BASICALLY_SATISFIED)),
                        _count(rated(Satisfaction.DISSATISFIED)))
                 .join(Appeal, cast(Appeal.id, String) == a.entity_id)
                 .where(a.entity_type == "appeal", a.action.in_(RATING_STEPS),
                        a.note.startswith(RATED_NOTE), _between(a.at, start, end))
                 .group_by(Appeal.unit_id))
    return {unit_id: {"satisfied": int(s), "basically_satisfied": int(b),
                      "dissatisfied": int(d)}
            for unit_id, s, b, d in session.execute(statement).all() if unit_id is not None}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole > 0 else None
