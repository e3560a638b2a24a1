"""Working days in mainland China: weekends, public holidays and make-up working days (调休).

The maintained `chinese_calendar` library knows each year once the State Council publishes
it. A year it does not know yet falls back to "Monday to Friday" plus the operator's own
`[calendar] extra_holidays` / `extra_workdays`, with a warning logged once per year, so that
a deadline in January is still computed when the library has not caught up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import chinese_calendar
from twisted.logger import Logger


class WorkCalendar:
    log = Logger()

    def __init__(self, extra_holidays: Iterable[dt.date] = (),
                 extra_workdays: Iterable[dt.date] = ()) -> None:
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_workdays = frozenset(extra_workdays)
        self._warned_years: set[int] = set()

    def is_workday(self, day: dt.date) -> bool:
        if day in self._extra_workdays:
            return True
        if day in self._extra_holidays:
            return False
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            if day.year not in self._warned_years:
                self._warned_years.add(day.year)
                self.log.warn("The holiday calendar has no data for {year}; counting Monday to "
                              "Friday plus [calendar] extra days for it", year=day.year)
            return day.weekday() < 5

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date of the `days`-th working day after `start` (the day itself not counted)."""
        if days < 0:
            raise ValueError("days must not be negative")
        current = start
        remaining = days
        while remaining:
            current += dt.timedelta(days=1)
            if self.is_workday(current):
                remaining -= 1
        return current
