"""The supervisor's live wallboard: what it counts, and the queries that count it.

Every figure is read from the live hall tables (`schemas.live`), which the AMI recorder of
every process keeps, so that every process shows the same wallboard. Definitions (also in
docs/wallboard.md):

Now
- **Calls waiting**: `queue_calls` rows in `waiting` that joined the queue less than
  `STALE_WAITING_AFTER` ago. An older waiting row is a lost end event (a process was down
  when the caller left), not a caller: no queue keeps one that long, so it is ignored here
  and in the day's figures.
- **Longest wait**: now minus the earliest `joined_at` of the calls waiting (never below 0
  when another process's clock runs ahead).
- **Agents by state**: one row per `queue_members` interface, in its reported state
  (logged_out, available, paused, on_call, wrap_up, unreachable), with its phone's device
  state as Asterisk reports it (0 Unknown .. 8 On hold). A member logged in with a phone
  Asterisk reports Invalid or Unavailable (unregistered) is `unreachable`, not available: no
  queued call can ring it (callers meet JOINEMPTY when nobody else is there). A member in `wrap_up` whose
  `wrap_up_until` has passed is `available` (or `paused`, if paused meanwhile) since
  `wrap_up_until`: Asterisk sends no event when wrap-up time ends (`QueueMember.state_at`);
  a member in wrap-up shows its seconds left (the queue's wrap-up time, `[agi]
  queue_wrapup_s`, unless the member has its own). Named by the agent whose `interface` it
  is, else by Asterisk's member name.

Today: the Asia/Shanghai calendar day (local midnight to local midnight, converted to UTC),
each queue call counted on the day it *joined* the queue. The standard speaks of any 24
consecutive hours; a wallboard shows the operating day.
- **Calls into the hotline**: IVR call records of the inbound flow that started today, menu
  calls included. For context only: callers served by the menu were not offered to agents.
- **Answered**: queue calls in `answered` or `completed` (a call still in conversation
  counts as soon as it was answered).
- **Abandoned**: queue calls in `abandoned` after more than `SHORT_ABANDON_S` seconds of
  waiting (`hold_s`). A caller who hangs up within `SHORT_ABANDON_S` seconds (misdial, the
  queue's greeting) is a **short abandon**: shown, but counted nowhere else. An abandon with
  no recorded `hold_s` counts as abandoned (it cannot be shown to be short).
- **Left**: queue calls in `left`: the queue let them go (timeout, queue full, no agents);
  offered and not answered.
- **Offered**: answered + abandoned + left. Calls still waiting are not offered yet: they count
  once they have an outcome, on the day they joined. (So a call that joined at 23:59:50 and is
  answered at 00:00:20 belongs to the day before, and is not in the new day's figures.)
- **Answered within 15 s**: answered calls with `hold_s` <= `ANSWER_WITHIN_S`, as a count,
  as a share of answered, and as a share of offered. GB/T 33358-2016 asks that calls be
  answered within 15 seconds; it sets no share, so the wallboard marks the share of answered
  against our hall's target `ANSWER_WITHIN_TARGET`, and marks the longest wait red once a
  caller has waited longer than `ANSWER_WITHIN_S`.
- **Connection rate (接通率)**: answered / offered; the standard's goal is at least
  `CONNECTION_RATE_GOAL` (95%). No rate (and no mark) while nothing was offered.

Per agent, today (answered calls, by the interface that answered)
- **Answered**: as above. **Total talk / average talk**: over the answered calls whose
  conversation has ended (`talk_s` recorded); a conversation in progress adds when it ends.
- **Average wait before answer**: mean `hold_s` of the agent's answered calls.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from hotline.assessment.callcentre import (
    ANSWER_WITHIN_S,
    ANSWER_WITHIN_TARGET,
    ANSWERED,
    CONNECTION_RATE_GOAL,
    HOTLINE_FLOW,
    SHORT_ABANDON_S,
)
from schemas.calls import CallRecord
from schemas.live import QueueCall, QueueMember
from schemas.models import Agent

# GB/T 33358's 15 s and 95% goals, the short abandon, the hotline flow and the answered
# outcomes are the core's (hotline.assessment.callcentre), shared with the call-centre report.
STALE_WAITING_AFTER = dt.timedelta(hours=1)

STATES = ("available", "on_call", "wrap_up", "paused", "unreachable", "logged_out")


# What the wallboard shows --------------------------------------------------------------

@dataclass(frozen=True)
class Queue:
    waiting: int
    longest_wait_s: int | None  # None when nobody waits


@dataclass(frozen=True)
class Member:
    interface: str
    name: str
    state: str
    since: dt.datetime
    paused_reason: str
    wrap_up_until: dt.datetime | None = None  # in wrap-up: when it ends
    device: int | None = None  # the phone's device state (hotline.ami.device_states)


@dataclass(frozen=True)
class AgentStates:
    counts: tuple[tuple[str, int], ...]  # every state of STATES (and any other reported)
    members: tuple[Member, ...]          # by state in STATES order, then by name

    def count(self, state: str) -> int:
        return dict(self.counts).get(state, 0)


@dataclass(frozen=True)
class DayFigures:
    day: dt.date
    calls_in: int
    answered: int
    abandoned: int
    short_abandoned: int
    left: int
    answered_within: int

    @property
    def offered(self) -> int:
        return self.answered + self.abandoned + self.left

    @property
    def within_of_answered(self) -> float | None:
        return _share(self.answered_within, self.answered)

    @property
    def within_of_offered(self) -> float | None:
        return _share(self.answered_within, self.offered)

    @property
    def within_met(self) -> bool | None:
        """The headline's mark: the share answered within 15 s out of the calls offered
        (GB/T 33358's measure: an abandoned call was not answered in time either), not out
        of those answered, which a hall losing callers would pass."""
        share = self.within_of_offered
        return None if share is None else share >= ANSWER_WITHIN_TARGET

    @property
    def connection_rate(self) -> float | None:
        return _share(self.answered, self.offered)

    @property
    def connection_rate_met(self) -> bool | None:
        rate = self.connection_rate
        return None if rate is None else rate >= CONNECTION_RATE_GOAL


@dataclass(frozen=True)
class AgentFigures:
    interface: str
    name: str
    answered: int
    talk_total_s: int
    talk_calls: int   # answered calls whose talk time is known (ended)
    hold_total_s: int
    hold_calls: int

    @property
    def talk_avg_s(self) -> float | None:
        return _mean(self.talk_total_s, self.talk_calls)

    @property
    def hold_avg_s(self) -> float | None:
        return _mean(self.hold_total_s, self.hold_calls)


@dataclass(frozen=True)
class Wallboard:
    as_of: dt.datetime
    queue: Queue
    agents: AgentStates
    today: DayFigures
    per_agent: tuple[AgentFigures, ...]

    def as_dict(self, zone: ZoneInfo) -> dict:
        """The JSON document of /supervisor/wallboard.json (times in UTC, ISO 8601; shares as
        fractions; None where there is nothing to divide by)."""
        today = self.today
        return {
            "as_of": _iso(self.as_of),
            "as_of_local": self.as_of.astimezone(zone).strftime("%H:%M:%S"),
            "day": today.day.isoformat(),
            "goals": {"answer_within_s": ANSWER_WITHIN_S,
                      "answer_within_target": ANSWER_WITHIN_TARGET,
                      "connection_rate": CONNECTION_RATE_GOAL,
                      "short_abandon_s": SHORT_ABANDON_S},
            "queue": {"waiting": self.queue.waiting,
                      "longest_wait_s": self.queue.longest_wait_s,
                      "longest_wait_met": (None if self.queue.longest_wait_s is None
                                           else self.queue.longest_wait_s <= ANSWER_WITHIN_S)},
            "agents": {
                "counts": dict(self.agents.counts),
                "members": [{"interface": m.interface, "name": m.name, "state": m.state,
                             "since": _iso(m.since),
                             "since_local": m.since.astimezone(zone).strftime("%H:%M:%S"),
                             "for_s": max(0, int((self.as_of - m.since).total_seconds())),
                             "paused_reason": m.paused_reason,
                             "wrap_up_left_s": _seconds_left(m.wrap_up_until, self.as_of),
                             "device": m.device}
                            for m in self.agents.members],
            },
            "today": {"calls_in": today.calls_in, "offered": today.offered,
                      "answered": today.answered, "abandoned": today.abandoned,
                      "short_abandoned": today.short_abandoned, "left": today.left,
                      "answered_within": today.answered_within,
                      "within_of_answered": today.within_of_answered,
                      "within_of_offered": today.within_of_offered,
                      "within_met": today.within_met,
                      "connection_rate": today.connection_rate,
                      "connection_rate_met": today.connection_rate_met},
            "per_agent": [{"interface": a.interface, "name": a.name, "answered": a.answered,
                           "talk_total_s": a.talk_total_s, "talk_avg_s": _rounded(a.talk_avg_s),
                           "hold_avg_s": _rounded(a.hold_avg_s)}
                          for a in self.per_agent],
        }


# Queries (in the database thread) -----------------------------------------------------

def wallboard(session: Session, now: dt.datetime, zone: ZoneInfo) -> Wallboard:
    day = now.astimezone(zone).date()
    return Wallboard(as_of=now, queue=waiting_calls(session, now),
                     agents=agent_states(session, now), today=day_figures(session, day, zone),
                     per_agent=agent_figures(session, day, zone))


def day_bounds(day: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The local day `day` as [start, end) in UTC: local midnight to the next local midnight."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


def waiting_calls(session: Session, now: dt.datetime) -> Queue:
    """Calls waiting now, and the longest wait; waiting rows that joined more than
    `STALE_WAITING_AFTER` ago are lost end events, not callers, and are ignored."""
    count, oldest = session.execute(
        select(func.count(), func.min(QueueCall.joined_at))
        .where(QueueCall.outcome == "waiting",
               QueueCall.joined_at > now - STALE_WAITING_AFTER)).one()
    if not count:
        return Queue(0, None)
    return Queue(count, max(0, int((now - oldest).total_seconds())))


def agent_states(session: Session, now: dt.datetime) -> AgentStates:
    """Each queue member's state now (a wrap-up past its end is `available`), and the
    number of members in each state."""
    rows = session.scalars(select(QueueMember)).all()
    names = _agent_names(session, [row.interface for row in rows])
    members = []
    for row in rows:
        state, since = row.state_at(now)
        name = names.get(row.interface) or row.member_name or row.interface
        members.append(Member(row.interface, name, state, since,
                              row.paused_reason if state == "paused" else "",
                              row.wrap_up_until if state == "wrap_up" else None,
                              row.device_state if row.logged_in else None))
    order = {state: index for index, state in enumerate(STATES)}
    members.sort(key=lambda m: (order.get(m.state, len(STATES)), m.name, m.interface))
    counts = Counter(m.state for m in members)
    others = sorted(state for state in counts if state not in order)
    return AgentStates(tuple((state, counts.get(state, 0)) for state in (*STATES, *others)),
                       tuple(members))


def day_figures(session: Session, day: dt.date, zone: ZoneInfo) -> DayFigures:
    """The day's queue calls by outcome (see the module's definitions), and the calls into
    the hotline."""
    start, end = day_bounds(day, zone)
    within = func.sum(case((QueueCall.hold_s <= ANSWER_WITHIN_S, 1), else_=0))
    short = func.sum(case((QueueCall.hold_s <= SHORT_ABANDON_S, 1), else_=0))
    by_outcome = {row.outcome: row for row in session.execute(
        select(QueueCall.outcome, func.count().label("calls"), within.label("within"),
               short.label("short"))
        .where(QueueCall.joined_at >= start, QueueCall.joined_at < end)
        .group_by(QueueCall.outcome))}

    def total(outcomes: tuple[str, ...], column: str) -> int:
        return sum(int(getattr(by_outcome[o], column) or 0) for o in outcomes if o in by_outcome)

    abandoned = total(("abandoned",), "calls")
    short_abandoned = total(("abandoned",), "short")
    calls_in = session.scalar(select(func.count()).select_from(CallRecord)
                              .where(CallRecord.flow == HOTLINE_FLOW,
                                     CallRecord.started_at >= start,
                                     CallRecord.started_at < end))
    return DayFigures(day=day, calls_in=calls_in or 0, answered=total(ANSWERED, "calls"),
                      abandoned=abandoned - short_abandoned, short_abandoned=short_abandoned,
                      left=total(("left",), "calls"),
                      answered_within=total(ANSWERED, "within"))


def agent_figures(session: Session, day: dt.date, zone: ZoneInfo) -> tuple[AgentFigures, ...]:
    """Per interface that answered calls that joined the queue on `day`: most answered
    first."""
    start, end = day_bounds(day, zone)
    rows = session.execute(
        select(QueueCall.interface, func.count().label("answered"),
               func.sum(QueueCall.talk_s).label("talk_total"),
               func.count(QueueCall.talk_s).label("talk_calls"),
               func.sum(QueueCall.hold_s).label("hold_total"),
               func.count(QueueCall.hold_s).label("hold_calls"))
        .where(QueueCall.outcome.in_(ANSWERED),
               QueueCall.joined_at >= start, QueueCall.joined_at < end)
        .group_by(QueueCall.interface)).all()
    names = _agent_names(session, [row.interface for row in rows if row.interface])
    figures = [AgentFigures(interface=row.interface or "", name=names.get(row.interface)
                            or row.interface or "?", answered=row.answered,
                            talk_total_s=int(row.talk_total or 0), talk_calls=row.talk_calls,
                            hold_total_s=int(row.hold_total or 0), hold_calls=row.hold_calls)
               for row in rows]
    figures.sort(key=lambda a: (-a.answered, a.name, a.interface))
    return tuple(figures)


def _agent_names(session: Session, interfaces: list[str]) -> dict[str, str]:
    if not interfaces:
        return {}
    rows = session.execute(select(Agent.interface, Agent.display_name)
                           .where(Agent.interface.in_(interfaces))
                           .order_by(Agent.active, Agent.id)).all()
    # An active agent's name wins over a former holder of the same interface.
    return {interface: name for interface, name in rows}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(total: int, count: int) -> float | None:
    return total / count if count else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _seconds_left(until: dt.datetime | None, now: dt.datetime) -> int | None:
    """Whole seconds from `now` to `until`, rounded up (a wrap-up's 15 s show as 15)."""
    if until is None:
        return None
    return max(0, math.ceil((until - now).total_seconds()))


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
