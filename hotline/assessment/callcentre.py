"""The call centre's report for a period (话务报表): the agents' queue by day and by agent,
against GB/T 33358-2016's goals (answered within 15 seconds; a connection rate of at least
95%).

The definitions are the wallboard's (agents/wallboard.py, docs/wallboard.md), over a period
instead of today, so that the month's report and the day's board agree; a test holds the
constants below equal to the wallboard's. Each `queue_calls` row is one caller's passage
through the queue, counted on the Asia/Shanghai day it joined:

- answered (接通): outcome answered or completed;
- abandoned (放弃): outcome abandoned after more than SHORT_ABANDON_S seconds of waiting
  (`hold_s`; an abandon with no recorded wait counts as abandoned);
- short abandons (短时放弃): abandoned within SHORT_ABANDON_S seconds: shown apart, counted
  nowhere else (misdials, the greeting);
- left (超时离队): outcome left (the queue let them go: timeout, full, no agent);
- offered (呼入排队): answered + abandoned + left; a call still waiting is not offered yet;
- answered within 15 s (15 秒内接通): answered with `hold_s` <= ANSWER_WITHIN_S; its share of
  offered is marked against ANSWER_WITHIN_TARGET (the wallboard's headline) and its share of
  answered is shown beside it;
- connection rate (接通率): answered / offered, marked against CONNECTION_RATE_GOAL;
- calls in (进线): IVR call records of the hotline flow started that day, menu calls included
  (context: callers the menu served were never offered to an agent).

By agent: the answered calls of the period by the interface that answered, named by the
agent whose interface it is (an active agent first), with talk and wait times.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from hotline.assessment.periods import Period, day_bounds
from schemas.calls import CallRecord
from schemas.live import QueueCall
from schemas.models import Agent

# The wallboard's figures (agents/wallboard.py); tests hold the two equal.
ANSWER_WITHIN_S = 15            # GB/T 33358-2016: answered within 15 seconds
ANSWER_WITHIN_TARGET = 0.95     # the hall's target for the share answered within 15 s
CONNECTION_RATE_GOAL = 0.95     # GB/T 33358-2016: connection rate at least 95%
SHORT_ABANDON_S = 5             # hung up within this many seconds: a short abandon
HOTLINE_FLOW = "hotline"        # the IVR flow of calls into the hotline
ANSWERED = ("answered", "completed")


@dataclass(frozen=True)
class QueueFigures:
    calls_in: int = 0
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    left: int = 0
    hold_total_s: int = 0  # of the answered calls with a known wait
    hold_calls: int = 0

    @property
    def offered(self) -> int:
        return self.answered + self.abandoned + self.left

    @property
    def connection_rate(self) -> float | None:
        return _share(self.answered, self.offered)

    @property
    def connection_rate_met(self) -> bool | None:
        rate = self.connection_rate
        return None if rate is None else rate >= CONNECTION_RATE_GOAL

    @property
    def within_of_offered(self) -> float | None:
        return _share(self.answered_within, self.offered)

    @property
    def within_of_answered(self) -> float | None:
        return _share(self.answered_within, self.answered)

    @property
    def within_met(self) -> bool | None:
        share = self.within_of_offered
        return None if share is None else share >= ANSWER_WITHIN_TARGET

    @property
    def hold_avg_s(self) -> float | None:
        return None if not self.hold_calls else round(self.hold_total_s / self.hold_calls, 1)

    def __add__(self, other: QueueFigures) -> QueueFigures:
        return QueueFigures(*(a + b for a, b in zip(asdict(self).values(),
                                                     asdict(other).values(), strict=True)))


@dataclass(frozen=True)
class DayRow:
    day: dt.date
    figures: QueueFigures


@dataclass(frozen=True)
class AgentRow:
    interface: str
    name: str
    answered: int
    answered_within: int
    talk_total_s: int
    talk_calls: int  # answered calls whose talk time is known (ended)
    hold_total_s: int
    hold_calls: int

    @property
    def talk_avg_s(self) -> float | None:
        return None if not self.talk_calls else round(self.talk_total_s / self.talk_calls, 1)

    @property
    def hold_avg_s(self) -> float | None:
        return None if not self.hold_calls else round(self.hold_total_s / self.hold_calls, 1)

    @property
    def within_of_answered(self) -> float | None:
        return _share(self.answered_within, self.answered)


@dataclass(frozen=True)
class CallCentreReport:
    period: Period
    days: list[DayRow]  # every day of the period, days without a call included
    agents: list[AgentRow]  # most answered first
    total: QueueFigures


def callcentre_report(session: Session, period: Period, zone: ZoneInfo) -> CallCentreReport:
    """The period's queue calls by the day they joined, and the answered ones by agent."""
    bounds = day_bounds(period.first, period.last, zone)
    q = QueueCall

    def day_of(column) -> Any:
        return case(*((column < bound, n) for n, bound in enumerate(bounds[1:])), else_=None)

    # The day in a subquery, grouped on outside (PostgreSQL would not match a CASE with bound
    # parameters in GROUP BY to the same CASE in the select list).
    calls = (select(day_of(q.joined_at).label("day"), q.outcome, q.hold_s)
             .where(q.joined_at >= bounds[0], q.joined_at < bounds[-1])
             .subquery())
    c = calls.c

    def count(condition) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    is_answered = c.outcome.in_(ANSWERED)
    is_abandoned = c.outcome == "abandoned"
    is_short = and_(is_abandoned, c.hold_s <= SHORT_ABANDON_S)
    by_day = {row[0]: row[1:] for row in session.execute(
        select(c.day, count(is_answered), count(and_(is_answered,
                                                         c.hold_s <= ANSWER_WITHIN_S)),
               count(is_abandoned) - count(is_short), count(is_short),
               count(c.outcome == "left"),
               func.coalesce(func.sum(case((is_answered, c.hold_s), else_=0)), 0),
               count(and_(is_answered, c.hold_s.is_not(None))))
        .group_by(c.day)).all()}
    records = (select(day_of(CallRecord.started_at).label("day"))
               .where(CallRecord.flow == HOTLINE_FLOW, CallRecord.started_at >= bounds[0],
                      CallRecord.started_at < bounds[-1]).subquery())
    calls_in: dict[int, int] = {day: count for day, count in session.execute(
        select(records.c.day, func.count()).group_by(records.c.day)).all()}
    days = [DayRow(period.first + dt.timedelta(days=n),
                   QueueFigures(int(calls_in.get(n, 0)),
                                *(int(v) for v in by_day.get(n, (0,) * 7))))
            for n in range(period.days)]
    total = sum((d.figures for d in days), QueueFigures())
    return CallCentreReport(period, days, _agents(session, bounds[0], bounds[-1]), total)


def _agents(session: Session, start: dt.datetime, end: dt.datetime) -> list[AgentRow]:
    q = QueueCall
    rows = session.execute(
        select(q.interface, func.count(),
               func.coalesce(func.sum(case((q.hold_s <= ANSWER_WITHIN_S, 1), else_=0)), 0),
               func.coalesce(func.sum(q.talk_s), 0), func.count(q.talk_s),
               func.coalesce(func.sum(q.hold_s), 0), func.count(q.hold_s))
        .where(q.outcome.in_(ANSWERED), q.joined_at >= start, q.joined_at < end)
        .group_by(q.interface)).all()
    interfaces = [row[0] for row in rows if row[0]]
    names: dict[str, str] = {}
    if interfaces:
        # An active agent's name wins over a former holder of the same interface.
        names = {interface: name for interface, name in session.execute(
            select(Agent.interface, Agent.display_name)
            .where(Agent.interface.in_(interfaces)).order_by(Agent.active, Agent.id)).all()
            if interface is not None}
    agents = [AgentRow(row[0] or "", names.get(row[0] or "") or row[0] or "?",
                       *(int(v) for v in row[1:])) for row in rows]
    agents.sort(key=lambda a: (-a.answered, a.name, a.interface))
    return agents


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
