"""The callback compliance report for supervisors: by unit, agent or appeal kind, and by
day (`daily_report`, for the report page's chart).

Definitions (docs/callbacks.md has them in full). Only satisfaction callbacks (origin
`resolution`) count; a task cancelled because its appeal was resolved again is left out.
For the period [start, end):

- resolved: tasks whose appeal was resolved in the period;
- due: tasks whose due time falls in the period; the columns below describe these;
- within / late: reached (completed) at or before / after the due time;
- reached_without_call: of those, completed on an agent's word with no call placed through
  the system (no click-to-call); not a column of the files' table: the XLSX has it on a
  sheet of its own (`callback_queue.export`);
- unreachable: every attempt failed (of which sms_fallback: an SMS survey was sent);
- pending (未完成): not finished, and its due time has passed (as of `now`);
- not_due (未到期): not finished, its due time still ahead: a month viewed mid-month is not
  failing for the callbacks whose time has not come;
- attempts per completed: dials for completed callbacks / completed callbacks (a call that
  covered several appeals counts for each of them);
- ratings of completed callbacks: satisfied, basically satisfied, dissatisfied, none;
- compliance: within / (due - not_due): of the callbacks whose time has come.

One GROUP BY over `callback_tasks` (which carries the appeal's unit, kind and agent), so a
month over a million tasks needs no join of appeals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from schemas.callbacks import CallbackOrigin, CallbackOutcome, CallbackState, CallbackTask
from schemas.enums import AppealKind, Satisfaction
from schemas.models import Agent, Unit

GROUPINGS = ("unit", "agent", "kind")
KIND_LABELS = {AppealKind.CONSULTATION.value: "咨询", AppealKind.HELP.value: "求助",
               AppealKind.COMPLAINT.value: "投诉", AppealKind.REPORT.value: "举报",
               AppealKind.APPROVAL_PROGRESS.value: "办理进度", AppealKind.DISPUTE.value: "纠纷"}
GROUP_HEADERS = {"unit": "单位", "agent": "坐席", "kind": "诉求类型"}
TOTAL_LABEL = "合计"
NONE_LABEL = "（未指定）"

# (field, Chinese header) in the order of the columns.
COLUMNS = (
    ("resolved", "办结数"),
    ("due", "应回访数"),
    ("within", "按时完成"),
    ("late", "超时完成"),
    ("unreachable", "无法联系"),
    ("sms_fallback", "其中转短信评价"),
    ("pending", "未完成"),
    ("not_due", "未到期"),
    ("attempts_per_completed", "每次完成回访拨打次数"),
    ("satisfied", "满意"),
    ("basically_satisfied", "基本满意"),
    ("dissatisfied", "不满意"),
    ("unrated", "未评价"),
    ("compliance", "按时回访率"),
)


@dataclass(frozen=True)
class ReportRow:
    group: str | None  # the unit code, agent username or kind; None for "not set"; "*" total
    label: str
    resolved: int
    due: int
    within: int
    late: int
    unreachable: int
    sms_fallback: int
    pending: int
    not_due: int
    completed_attempts: int
    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    unrated: int
    reached_without_call: int

    @property
    def completed(self) -> int:
        return self.within + self.late

    @property
    def attempts_per_completed(self) -> float | None:
        return round(self.completed_attempts / self.completed, 2) if self.completed else None

    @property
    def come_due(self) -> int:
        """The callbacks whose due time has come (or that finished anyway)."""
        return self.due - self.not_due

    @property
    def compliance(self) -> float | None:
        return round(self.within / self.come_due, 4) if self.come_due else None

    def as_dict(self) -> dict:
        """For the JSON API."""
        return {**asdict(self), "completed": self.completed,
                "attempts_per_completed": self.attempts_per_completed,
                "compliance": self.compliance}

    def values(self) -> list:
        return [self.label] + [getattr(self, name) for name, _ in COLUMNS]


def compliance_report(session: Session, start: dt.datetime, end: dt.datetime,
                      by: str = "unit", *, now: dt.datetime) -> list[ReportRow]:
    """Rows per group, ordered by label, then the total ("合计"); `now` tells the callbacks
    not due yet (未到期) from those not done in time (未完成)."""
    if by not in GROUPINGS:
        raise ValueError(f"report grouping must be one of {', '.join(GROUPINGS)}, got {by!r}")
    if not start < end:
        raise ValueError(f"report period must end after it starts: {start} .. {end}")
    t = CallbackTask
    key = {"unit": t.unit_id, "agent": t.assigned_agent_id, "kind": t.appeal_kind}[by]
    in_resolved = and_(t.resolved_at >= start, t.resolved_at < end)
    in_due = and_(t.due_by >= start, t.due_by < end)
    completed = and_(in_due, t.state == CallbackState.COMPLETED)

    def count(condition) -> object:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    statement = (
        select(key.label("key"),
               count(in_resolved), count(in_due),
               count(and_(completed, t.completed_at <= t.due_by)),
               count(and_(completed, t.completed_at > t.due_by)),
               count(and_(in_due, t.state == CallbackState.UNREACHABLE)),
               count(and_(in_due, t.outcome == CallbackOutcome.SMS_SURVEY)),
               count(and_(in_due, t.state.in_(_UNFINISHED), t.due_by <= now)),
               count(and_(in_due, t.state.in_(_UNFINISHED), t.due_by > now)),
               func.coalesce(func.sum(case((completed, t.attempts), else_=0)), 0),
               count(and_(completed, t.rating == Satisfaction.SATISFIED)),
               count(and_(completed, t.rating == Satisfaction.BASICALLY_SATISFIED)),
               count(and_(completed, t.rating == Satisfaction.DISSATISFIED)),
               count(and_(completed, t.rating.is_(None))),
               count(and_(completed, t.reached_without_call.is_(True))))
        .where(t.origin == CallbackOrigin.RESOLUTION, t.state != CallbackState.CANCELLED,
               or_(in_resolved, in_due))
        .group_by(key))
    results = session.execute(statement).all()
    labels = _labels(session, by, [r[0] for r in results])
    rows = [ReportRow(_group(by, r[0], labels), labels.get(_plain(r[0]), NONE_LABEL),
                      *(int(v) for v in r[1:])) for r in results]
    rows.sort(key=lambda row: (row.group is None, row.label))
    totals = [sum(getattr(row, f) for row in rows) for f in _COUNT_FIELDS]
    rows.append(ReportRow("*", TOTAL_LABEL, *totals))
    return rows


_COUNT_FIELDS = ("resolved", "due", "within", "late", "unreachable", "sms_fallback", "pending",
                 "not_due", "completed_attempts", "satisfied", "basically_satisfied", "dissatisfied",
                 "unrated", "reached_without_call")
# The completed callbacks recorded with no call placed, as the files name them.
REACHED_WITHOUT_CALL = "其中未经系统拨号（坐席直接登记结果）"


def _plain(value: object) -> object:
    return value.value if isinstance(value, AppealKind) else value


def _labels(session: Session, by: str, keys: list) -> dict:
    ids = [k for k in keys if k is not None]
    if by == "kind":
        return {_plain(k): KIND_LABELS.get(_plain(k), str(_plain(k))) for k in ids}
    if not ids:
        return {}
    if by == "unit":
        return {u.id: f"{u.code} {u.name}" for u in
                session.scalars(select(Unit).where(Unit.id.in_(ids)))}
    return {a.id: f"{a.display_name}（{a.username}）" for a in
            session.scalars(select(Agent).where(Agent.id.in_(ids)))}


def _group(by: str, key: object, labels: dict) -> str | None:
    if key is None:
        return None
    return str(_plain(key)) if by == "kind" else str(key)


def period(start_day: dt.date, end_day: dt.date, zone) -> tuple[dt.datetime, dt.datetime]:
    """Days `start_day` to `end_day` inclusive, in the business zone, as UTC bounds."""
    if end_day < start_day:
        raise ValueError(f"--to {end_day} is before --from {start_day}")
    start = dt.datetime.combine(start_day, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(end_day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


def headers(by: str) -> list[str]:
    return [GROUP_HEADERS[by]] + [title for _, title in COLUMNS]


# By day ------------------------------------------------------------------------------------

# A period longer than this is refused: each day is one branch of the CASE that buckets rows.
MAX_DAYS = 366


@dataclass(frozen=True)
class DayRow:
    """One business day: `resolved` counts the tasks whose appeal was resolved that day; the
    other columns describe the tasks that fell due that day (as in `compliance_report`)."""

    day: dt.date
    resolved: int
    due: int
    within: int
    late: int
    unreachable: int
    pending: int

    @property
    def compliance(self) -> float | None:
        return round(self.within / self.due, 4) if self.due else None

    def as_dict(self) -> dict:
        return {**asdict(self), "day": self.day.isoformat(), "compliance": self.compliance}


def daily_report(session: Session, first: dt.date, last: dt.date, zone) -> list[DayRow]:
    """A row for every day from `first` to `last` (both included, days of `zone`), days
    without a task included, with the same definitions and exclusions as the report."""
    if last < first:
        raise ValueError(f"report period must end after it starts: {first} .. {last}")
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    if len(days) > MAX_DAYS:
        raise ValueError(f"a report by day covers at most {MAX_DAYS} days, got {len(days)}")
    # Midnight of each day and of the day after the last, as UTC instants: each row's day is
    # found by comparing instants, so the database needs no time-zone function of its own.
    bounds = [dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.timezone.utc)
              for day in (*days, last + dt.timedelta(days=1))]
    t = CallbackTask

    def day_of(column) -> object:
        return case(*((column < bound, n) for n, bound in enumerate(bounds[1:])), else_=None)

    in_resolved = and_(t.resolved_at >= bounds[0], t.resolved_at < bounds[-1])
    in_due = and_(t.due_by >= bounds[0], t.due_by < bounds[-1])
    # The day is computed in a subquery and grouped on outside: PostgreSQL would not match a
    # CASE with bound parameters in GROUP BY to the same CASE in the select list.
    tasks = (select(case((in_resolved, day_of(t.resolved_at)), else_=None).label("resolved_day"),
                    case((in_due, day_of(t.due_by)), else_=None).label("due_day"),
                    t.state, t.completed_at, t.due_by)
             .where(t.origin == CallbackOrigin.RESOLUTION, t.state != CallbackState.CANCELLED,
                    or_(in_resolved, in_due))
             .subquery())
    resolved = dict(session.execute(select(tasks.c.resolved_day, func.count())
                                    .where(tasks.c.resolved_day.is_not(None))
                                    .group_by(tasks.c.resolved_day)).all())
    completed = tasks.c.state == CallbackState.COMPLETED

    def count(condition) -> object:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    due = {row[0]: row[1:] for row in session.execute(
        select(tasks.c.due_day, func.count(),
               count(and_(completed, tasks.c.completed_at <= tasks.c.due_by)),
               count(and_(completed, tasks.c.completed_at > tasks.c.due_by)),
               count(tasks.c.state == CallbackState.UNREACHABLE),
               count(tasks.c.state.in_(_UNFINISHED)))
        .where(tasks.c.due_day.is_not(None))
        .group_by(tasks.c.due_day))}
    return [DayRow(day, int(resolved.get(n, 0)), *(int(v) for v in due.get(n, (0,) * 5)))
            for n, day in enumerate(days)]


_UNFINISHED = (CallbackState.PENDING, CallbackState.DIALING, CallbackState.IN_CALL,
               CallbackState.MERGED)
