"""The staffing view (服务决策): next week's calls offered per half-hour, the officers they need,
and last week's officers on the phones beside what its calls needed.

- **Forecast**: the mean of the same weekday and half-hour over the last N complete weeks
  (a seasonal mean; the current, unfinished week is left out). A hall's calls follow the
  week's rhythm (Monday mornings, lunch, the evening dip) far more than a trend over a month,
  and a supervisor can check the figure by hand from the weeks shown.
- **Offered**: passages through the agents' queue (`queue_calls`) as the call-centre report
  counts them (`hotline.assessment.callcentre`): answered, abandoned after more than the
  short-abandon seconds, or left; counted in the half-hour the caller joined.
- **Handle time**: the mean talk time of the calls completed in those weeks (TalkTime of
  Asterisk's AgentComplete) plus the queue's wrap-up (`[agi] queue_wrapup_s`, queues.conf's
  `wrapuptime`): what one call keeps an officer from the next.
- **Needed**: Erlang C (`hotline.staffing`) for that half-hour's rate and the handle time,
  against the answer-within target (GB/T 33358's 95% within 15 s by default).
- **Staffed**: officers logged in to the queue and not paused (available, on a call or in
  wrap-up) from the members' state history (`queue_member_states`), time-weighted over the
  half-hour: 1.5 means one officer all of it and another half of it.
- **Marks**: a half-hour is short-staffed (不足) when fewer were staffed than needed, and
  over-staffed (富余) when at least OVER_BY more were staffed than needed; half-hours with no
  call and no officer are not shown.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from hotline.assessment.callcentre import ANSWERED, SHORT_ABANDON_S
from hotline.staffing import ANSWER_WITHIN_S, TARGET, officers_needed
from schemas.live import QueueCall, QueueMemberState

SLOT = dt.timedelta(minutes=30)
SLOTS_PER_DAY = 48
WEEK = dt.timedelta(days=7)
STAFFED_STATES = frozenset({"available", "on_call", "wrap_up"})
OVER_BY = 2  # officers beyond the need that mark a half-hour over-staffed
DEFAULT_WEEKS = 4
MAX_WEEKS = 12

SlotKey = tuple[dt.date, int]  # a day in the zone and its half-hour (0 = 00:00-00:30)


def slot_label(index: int) -> str:
    start = index * 30
    end = start + 30
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def week_of(day: dt.date) -> dt.date:
    """The Monday of `day`'s week."""
    return day - dt.timedelta(days=day.weekday())


def _local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.timezone.utc)


def slot_of(moment: dt.datetime, zone: ZoneInfo) -> SlotKey:
    local = moment.astimezone(zone)
    return local.date(), (local.hour * 60 + local.minute) // 30


def _slot_start(key: SlotKey, zone: ZoneInfo) -> dt.datetime:
    day, index = key
    local = dt.datetime.combine(day, dt.time(index // 2, 30 * (index % 2)), tzinfo=zone)
    return local.astimezone(dt.timezone.utc)


# -- what the records say ------------------------------------------------------------------

def offered_counts(session: Session, queue: str, start: dt.datetime, end: dt.datetime,
                   zone: ZoneInfo) -> Counter[SlotKey]:
    """Calls offered to the queue per half-hour in [start, end) (the report's definition)."""
    offered = or_(QueueCall.outcome.in_((*ANSWERED, "left")),
                  and_(QueueCall.outcome == "abandoned",
                       or_(QueueCall.hold_s.is_(None), QueueCall.hold_s > SHORT_ABANDON_S)))
    joined = session.scalars(select(QueueCall.joined_at).where(
        QueueCall.queue == queue, QueueCall.joined_at >= start, QueueCall.joined_at < end,
        offered))
    return Counter(slot_of(moment, zone) for moment in joined)


def mean_talk_s(session: Session, queue: str, start: dt.datetime,
                end: dt.datetime) -> tuple[float | None, int]:
    """The mean talk time of the calls completed in [start, end), and how many there were."""
    talks = [talk for talk in session.scalars(select(QueueCall.talk_s).where(
        QueueCall.queue == queue, QueueCall.joined_at >= start, QueueCall.joined_at < end,
        QueueCall.outcome == "completed", QueueCall.talk_s.is_not(None))) if talk is not None]
    return (sum(talks) / len(talks) if talks else None), len(talks)


def staffed_average(session: Session, queue: str, start: dt.datetime, end: dt.datetime,
                    zone: ZoneInfo) -> dict[SlotKey, float]:
    """Officers staffed (logged in, not paused) per half-hour in [start, end), time-weighted:
    each member's state runs from its row's `since` to the member's next row."""
    spans: dict[str, list[tuple[dt.datetime, str]]] = defaultdict(list)
    # Each member's state as the window opens: its last row before it (rows are written
    # in time order, so the highest id).
    last_before = select(func.max(QueueMemberState.id)).where(
        QueueMemberState.queue == queue, QueueMemberState.since < start).group_by(
        QueueMemberState.interface)
    before = session.execute(select(QueueMemberState.interface, QueueMemberState.state).where(
        QueueMemberState.id.in_(last_before)))
    for interface, state in before:
        spans[interface] = [(start, state)]
    within = session.execute(select(QueueMemberState.interface, QueueMemberState.since,
                                    QueueMemberState.state).where(
        QueueMemberState.queue == queue, QueueMemberState.since >= start,
        QueueMemberState.since < end).order_by(QueueMemberState.since, QueueMemberState.id))
    for interface, since, state in within:
        spans[interface].append((since, state))
    seconds: dict[SlotKey, float] = defaultdict(float)
    for changes in spans.values():
        for (since, state), (until, _next) in zip(changes, [*changes[1:], (end, "")],
                                                  strict=True):
            if state in STAFFED_STATES:
                _spread(seconds, since, until, zone)
    return {key: value / SLOT.total_seconds() for key, value in seconds.items()}


def _spread(seconds: dict[SlotKey, float], since: dt.datetime, until: dt.datetime,
            zone: ZoneInfo) -> None:
    """Adds the span [since, until) to the half-hours it covers."""
    moment = since
    while moment < until:
        key = slot_of(moment, zone)
        slot_end = _slot_start(key, zone) + SLOT
        upto = min(slot_end, until)
        seconds[key] += (upto - moment).total_seconds()
        moment = upto


def seasonal_mean(history: Counter[SlotKey], week: dt.date, weeks: int, *,
                  skip: int = 0) -> dict[SlotKey, float]:
    """Each half-hour of the week starting `week` (a Monday): the mean of the same weekday
    and half-hour over `weeks` weeks before it, leaving out the `skip` weeks just before it
    (the current, unfinished week when next week is forecast)."""
    forecast: dict[SlotKey, float] = {}
    back = range(1 + skip, 1 + skip + weeks)
    for offset in range(7):
        day = week + dt.timedelta(days=offset)
        for index in range(SLOTS_PER_DAY):
            total = sum(history.get((day - WEEK * n, index), 0) for n in back)
            if total:
                forecast[(day, index)] = total / weeks
    return forecast


# -- the view ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanCell:
    key: SlotKey
    offered: float  # forecast (next week) or counted (last week), per half-hour
    needed: int
    staffed: float | None = None  # last week only

    @property
    def mark(self) -> str | None:
        """'short', 'over' or None (last week only)."""
        if self.staffed is None:
            return None
        if self.staffed < self.needed:
            return "short"
        if self.staffed - self.needed >= OVER_BY:
            return "over"
        return None


@dataclass(frozen=True)
class StaffingPlan:
    weeks: int
    history_from: dt.date  # the first Monday of the weeks the forecast reads
    next_week: dt.date  # the Monday of the week forecast
    last_week: dt.date  # the Monday of the week reviewed
    handle_s: float | None  # talk + wrap-up; None: no completed call to measure
    talk_s: float | None
    wrap_up_s: int
    measured_calls: int
    answer_within_s: float
    target: float
    forecast: dict[SlotKey, PlanCell] = field(default_factory=dict)
    review: dict[SlotKey, PlanCell] = field(default_factory=dict)

    def rows(self, cells: dict[SlotKey, PlanCell]) -> list[int]:
        """The half-hours to show: from the first with anything in it to the last."""
        used = sorted({index for _day, index in cells})
        return list(range(used[0], used[-1] + 1)) if used else []

    def count(self, mark: str) -> int:
        return sum(1 for cell in self.review.values() if cell.mark == mark)


def _needed(offered_per_slot: float, handle_s: float | None, answer_within_s: float,
            target: float) -> int:
    if offered_per_slot <= 0 or handle_s is None:
        return 0
    per_hour = offered_per_slot * (3600 / SLOT.total_seconds())
    return officers_needed(per_hour, handle_s, answer_within_s=answer_within_s,
                           target=target).officers


def build_plan(session: Session, *, queue: str, now: dt.datetime, zone: ZoneInfo,
               wrap_up_s: int, weeks: int = DEFAULT_WEEKS,
               answer_within_s: float = ANSWER_WITHIN_S, target: float = TARGET) -> StaffingPlan:
    """The view as of `now`: next week forecast from the `weeks` complete weeks before this
    one, and the last complete week reviewed."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks must be 1 to {MAX_WEEKS}, got {weeks}")
    this_week = week_of(now.astimezone(zone).date())
    history_from = this_week - WEEK * weeks
    start, end = _local_midnight(history_from, zone), _local_midnight(this_week, zone)
    history = offered_counts(session, queue, start, end, zone)
    talk_s, measured = mean_talk_s(session, queue, start, end)
    handle_s = None if talk_s is None else talk_s + wrap_up_s
    next_week = this_week + WEEK
    forecast = {key: PlanCell(key, offered, _needed(offered, handle_s, answer_within_s, target))
                for key, offered in seasonal_mean(history, next_week, weeks, skip=1).items()}
    last_week = this_week - WEEK
    counted = {key: n for key, n in history.items() if key[0] >= last_week}
    staffed = staffed_average(session, queue, _local_midnight(last_week, zone), end, zone)
    review = {key: PlanCell(key, float(counted.get(key, 0)),
                            _needed(counted.get(key, 0), handle_s, answer_within_s, target),
                            round(staffed.get(key, 0.0), 2))
              for key in set(counted) | {k for k, v in staffed.items() if v > 0}}
    return StaffingPlan(weeks=weeks, history_from=history_from, next_week=next_week,
                        last_week=last_week, handle_s=handle_s, talk_s=talk_s,
                        wrap_up_s=wrap_up_s, measured_calls=measured,
                        answer_within_s=answer_within_s, target=target,
                        forecast=forecast, review=review)


def days_of(week: dt.date) -> Iterable[dt.date]:
    return (week + dt.timedelta(days=n) for n in range(7))
