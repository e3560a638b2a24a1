"""Working days in mainland China: weekends, public holidays and make-up working days (调休).

Three sources decide a day, first match wins:
1. a year's official list as the operator loaded it (`hotline calendar load`, stored in the
   database and handed to the calendar by `hotline.calendar_store.CalendarRefresher`): a
   loaded year is decided wholly by its list, so that the State Council's notice, not a
   library release, is the authority once it is in;
2. the operator's `[calendar] extra_holidays` / `extra_workdays`, then the maintained
   `chinese_calendar` library, which knows each year once a release has caught up with the
   notice;
3. for a year neither knows, Monday to Friday (plus the configured extra days), with a
   warning logged once per year. Such a year is remembered (`unknown_years`) and /healthz
   reports it until a list for it is loaded: a deadline in it would count Spring Festival
   as working days.

The calendar itself never reads the database: it is asked on the reactor thread (calling
hours) and in the database threads (deadlines), and only swaps in a new set of loaded years
as a whole (`use_years`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import chinese_calendar
from twisted.logger import Logger


@dataclass(frozen=True)
class YearList:
    """One loaded year: its holidays and make-up working days; every other day of the year
    is a working day from Monday to Friday."""

    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]

    def is_workday(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        return day not in self.holidays and day.weekday() < 5


def library_years() -> range:
    """The years the installed `chinese_calendar` release has data for."""
    years = [day.year for day in chinese_calendar.holidays]
    return range(min(years), max(years) + 1)


class WorkCalendar:
    log = Logger()

    def __init__(self, extra_holidays: Iterable[dt.date] = (),
                 extra_workdays: Iterable[dt.date] = (),
                 years: Mapping[int, YearList] | None = None) -> None:
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_workdays = frozenset(extra_workdays)
        self._years: Mapping[int, YearList] = dict(years or {})
        self._unknown: set[int] = set()
        self._lock = threading.Lock()

    def use_years(self, years: Mapping[int, YearList]) -> None:
        """Replace the loaded years with `years` (all of them: a year absent from it falls
        back to the library again)."""
        self._years = dict(years)  # one reference swap: a reader sees the old set or the new

    @property
    def loaded_years(self) -> tuple[int, ...]:
        return tuple(sorted(self._years))

    def unknown_years(self) -> tuple[int, ...]:
        """Years asked about (a deadline, an opening-hours check) that have neither a loaded
        list nor library data, and so were counted Monday to Friday."""
        years = self._years
        with self._lock:
            return tuple(sorted(year for year in self._unknown if year not in years))

    def is_workday(self, day: dt.date) -> bool:
        loaded = self._years.get(day.year)
        if loaded is not None:
            return loaded.is_workday(day)
        if day in self._extra_workdays:
            return True
        if day in self._extra_holidays:
            return False
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            self._asked_unknown(day.year)
            return day.weekday() < 5

    def _asked_unknown(self, year: int) -> None:
        if year in self._unknown:
            return
        with self._lock:
            first = year not in self._unknown
            self._unknown.add(year)
        if first:
            self.log.warn("The holiday calendar has no data for {year}: counting Monday to "
                          "Friday plus [calendar] extra days, so its public holidays count as "
                          "working days. Load the State Council's list for {year} with "
                          "`hotline calendar load FILE`", year=year)

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
