"""When and how often a citizen is called back: pure rules, no I/O, no clock of their own.

Every function takes the time it reasons about; times are aware UTC in and out, and the
rules (calling hours, holidays) are evaluated in the configured zone (Asia/Shanghai).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from callback_queue.config import CallbacksConfig
from hotline.workdays import WorkCalendar
from schemas.callbacks import AttemptResult, CallbackMode, CallbackOrigin, CallbackOutcome
from schemas.enums import AppealKind

DAY_MINUTES = 24 * 60
# A calendar with no calling day in this many days is a configuration error, not a loop.
SEARCH_DAYS = 400


class CallingHours:
    """Daily hours [start, end) on the days calls are allowed."""

    def __init__(self, start_min: int, end_min: int, on_holidays: bool,
                 calendar: WorkCalendar, zone: ZoneInfo) -> None:
        self.start_min = start_min
        self.end_min = end_min
        self.on_holidays = on_holidays
        self._calendar = calendar
        self._zone = zone

    def _day_open(self, day: dt.date) -> bool:
        return self.on_holidays or self._calendar.is_workday(day)

    def _at(self, day: dt.date, minutes: int) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time(0), tzinfo=self._zone) + dt.timedelta(minutes=minutes)
        return local.astimezone(dt.timezone.utc)

    def is_open(self, when: dt.datetime) -> bool:
        local = when.astimezone(self._zone)
        minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 6e7
        return self._day_open(local.date()) and self.start_min <= minute < self.end_min

    def next_open(self, when: dt.datetime) -> dt.datetime:
        """The earliest instant at or after `when` inside calling hours."""
        if self.is_open(when):
            return when
        day = when.astimezone(self._zone).date()
        for _ in range(SEARCH_DAYS):
            if self._day_open(day):
                start = self._at(day, self.start_min)
                if start >= when:
                    return start
            day += dt.timedelta(days=1)
        raise ValueError(f"no calling hours within {SEARCH_DAYS} days of {when.isoformat()}")

    def window_end(self, when: dt.datetime) -> dt.datetime:
        """The end of the calling hours `when` falls in (it must be open)."""
        day = when.astimezone(self._zone).date()
        return self._at(day, self.end_min)

    def add(self, when: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """`when` plus `duration` of calling time: only time inside calling hours counts."""
        current = self.next_open(when)
        remaining = duration
        for _ in range(SEARCH_DAYS * 2):
            end = self.window_end(current)
            available = end - current
            if remaining <= available:
                return current + remaining
            remaining -= available
            current = self.next_open(end)
        raise ValueError("calling-time sum did not converge")


@dataclass(frozen=True)
class Plan:
    """A new task's schedule."""

    mode: CallbackMode
    window_start: dt.datetime
    due_by: dt.datetime
    max_attempts: int


@dataclass(frozen=True)
class Retry:
    at: dt.datetime


@dataclass(frozen=True)
class GiveUp:
    outcome: CallbackOutcome  # SMS_SURVEY or UNREACHABLE


class CallbackPolicy:
    def __init__(self, config: CallbacksConfig, calendar: WorkCalendar, zone: ZoneInfo,
                 opening: tuple[tuple[int, int], bool] | None = None) -> None:
        self.config = config
        start, end = config.hours
        self.calling = CallingHours(start, end, config.call_on_holidays, calendar, zone)
        (open_start, open_end), open_holidays = opening or (config.hours, config.call_on_holidays)
        self.opening = CallingHours(open_start, open_end, open_holidays, calendar, zone)

    def hours_for(self, origin: CallbackOrigin) -> CallingHours:
        """Satisfaction calls keep to calling hours; callbacks an agent makes from the queue
        keep to the agents' opening hours."""
        return self.calling if origin is CallbackOrigin.RESOLUTION else self.opening

    def mode_for(self, kind: AppealKind) -> CallbackMode:
        return CallbackMode(self.config.mode[kind.value])

    def plan_resolution(self, kind: AppealKind, resolved_at: dt.datetime) -> Plan:
        c = self.config
        start = self.calling.next_open(resolved_at + dt.timedelta(hours=c.delay_h[kind.value]))
        due = self.calling.add(start, dt.timedelta(hours=c.due_h[kind.value]))
        return Plan(self.mode_for(kind), start, due, c.max_attempts[kind.value])

    def plan_ivr(self, now: dt.datetime) -> Plan:
        """A queue callback or a voice message: an agent, soonest, within minutes of opening."""
        start = self.opening.next_open(now)
        due = self.opening.add(start, dt.timedelta(minutes=self.config.ivr_due_min))
        return Plan(CallbackMode.AGENT, start, due, self.config.ivr_max_attempts)

    def may_dial(self, origin: CallbackOrigin, now: dt.datetime) -> bool:
        return self.hours_for(origin).is_open(now)

    def after_failure(self, origin: CallbackOrigin, kind: AppealKind | None, attempts: int,
                      max_attempts: int, result: AttemptResult, now: dt.datetime) -> Retry | GiveUp:
        """What follows an attempt that did not reach the citizen (or got no rating)."""
        if attempts >= max_attempts:
            if origin is not CallbackOrigin.RESOLUTION or kind is None:
                return GiveUp(CallbackOutcome.UNREACHABLE)
            fallback = self.config.fallback[kind.value]
            return GiveUp(CallbackOutcome.SMS_SURVEY if fallback == "sms"
                          else CallbackOutcome.UNREACHABLE)
        if origin is CallbackOrigin.RESOLUTION:
            minutes = self.config.busy_retry_min if result is AttemptResult.BUSY \
                else self.config.retry_min
        else:
            minutes = min(self.config.ivr_retry_min, self.config.busy_retry_min) \
                if result is AttemptResult.BUSY else self.config.ivr_retry_min
        return Retry(self.hours_for(origin).next_open(now + dt.timedelta(minutes=minutes)))

    def merge_horizon(self, now: dt.datetime) -> dt.datetime:
        """A call also covers the citizen's other tasks whose window opens before this."""
        return now + dt.timedelta(hours=self.config.merge_ahead_h)

    def personal_until(self, window_start: dt.datetime) -> dt.datetime:
        """Until then only the appeal's own agent sees an agent-mode callback."""
        return window_start + dt.timedelta(hours=self.config.personal_delay_h)
