"""The loaded holiday lists in the database, and the service that brings them into the
running process's `WorkCalendar`.

`store_year` replaces a year's days in one transaction and writes the audit row beside them
(the audit note keeps every date loaded, so the trail still says what a replaced list was).
`CalendarRefresher` reads every stored year in the database's thread pool when the service
starts and every `interval` seconds after, and hands the result to the calendar in one swap:
a year an operator loads with `hotline calendar load` is used by every running process
within one interval, without a restart. Each refresh also asks the calendar for the longest
deadline from today, so that a year a deadline would reach without data is reported
(log, /healthz) before the first appeal is due in it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from twisted.application import service
from twisted.internet import defer, task
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from hotline import audit
from hotline.clock import WallClock
from hotline.db import Database
from hotline.holidays import HolidayList, ListedDay
from hotline.workdays import WorkCalendar, YearList
from schemas.calendar import CalendarDay, CalendarDayKind, CalendarYear

# Loading a year is a yearly task; a process sees it within this many seconds.
REFRESH_INTERVAL_S = 300.0


@dataclass(frozen=True)
class StoreSummary:
    year: int
    holidays: int
    workdays: int
    replaced: tuple[int, int] | None  # (holidays, workdays) of the list it replaced, if any


@dataclass(frozen=True)
class StoredYear:
    year: int
    notice: str
    source: str
    loaded_at: dt.datetime
    loaded_by: str
    holidays: int
    workdays: int


def store_year(session: Session, listed: HolidayList, *, source: str, text: str, actor: str,
               now: dt.datetime) -> StoreSummary:
    """Replace `listed.year`'s stored days with `listed`'s, audited; in the caller's
    transaction, so that a failure leaves the previous list whole."""
    year = session.get(CalendarYear, listed.year, with_for_update=True)
    replaced = None
    if year is not None:
        counts = {kind: count for kind, count in session.execute(
            select(CalendarDay.kind, func.count()).where(CalendarDay.year == listed.year)
            .group_by(CalendarDay.kind))}
        replaced = (counts.get(CalendarDayKind.HOLIDAY, 0), counts.get(CalendarDayKind.WORKDAY, 0))
        session.execute(delete(CalendarDay).where(CalendarDay.year == listed.year))
        year.notice, year.source, year.loaded_at, year.loaded_by = \
            listed.notice, source[-255:], now, actor
    else:
        session.add(CalendarYear(year=listed.year, notice=listed.notice, source=source[-255:],
                                 loaded_at=now, loaded_by=actor))
    session.flush()
    for kind, days in ((CalendarDayKind.HOLIDAY, listed.holidays),
                       (CalendarDayKind.WORKDAY, listed.workdays)):
        session.add_all(CalendarDay(day=d.day, year=listed.year, kind=kind, name=d.name)
                        for d in days)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    audit.record(session, at=now, actor=actor, action="load", entity_type="calendar_year",
                 entity_id=listed.year, from_state="loaded" if replaced else None,
                 to_state="loaded",
                 note=f"{listed.notice}; {source} (sha256 {digest}); "
                      f"holidays: {_spans(listed.holidays)}; "
                      f"make-up working days: {_spans(listed.workdays) or 'none'}"
                      + (f"; replaced {replaced[0]} holidays, {replaced[1]} make-up days"
                         if replaced else ""))
    return StoreSummary(listed.year, len(listed.holidays), len(listed.workdays), replaced)


def _spans(days: Iterable[ListedDay]) -> str:
    """2027-02-05..2027-02-11 春节, 2027-04-05 清明节: consecutive days of one name as a span."""
    spans: list[list] = []
    for d in sorted(days, key=lambda d: d.day):
        if spans and spans[-1][2] == d.name and spans[-1][1] + dt.timedelta(days=1) == d.day:
            spans[-1][1] = d.day
        else:
            spans.append([d.day, d.day, d.name])
    return ", ".join((f"{a}" if a == b else f"{a}..{b}") + (f" {name}" if name else "")
                     for a, b, name in spans)


def stored_years(session: Session) -> dict[int, YearList]:
    """Every loaded year as the calendar uses it."""
    holidays: dict[int, set[dt.date]] = {}
    workdays: dict[int, set[dt.date]] = {}
    for (year,) in session.execute(select(CalendarYear.year)):
        holidays[year], workdays[year] = set(), set()
    for year, day, kind in session.execute(select(CalendarDay.year, CalendarDay.day,
                                                  CalendarDay.kind)):
        (holidays if kind == CalendarDayKind.HOLIDAY else workdays)[year].add(day)
    return {year: YearList(frozenset(holidays[year]), frozenset(workdays[year]))
            for year in holidays}


def year_summaries(session: Session) -> list[StoredYear]:
    counts: dict[tuple[int, CalendarDayKind], int] = {
        (year, kind): count for year, kind, count in session.execute(
            select(CalendarDay.year, CalendarDay.kind, func.count())
            .group_by(CalendarDay.year, CalendarDay.kind))}
    return [StoredYear(y.year, y.notice, y.source, y.loaded_at, y.loaded_by,
                       counts.get((y.year, CalendarDayKind.HOLIDAY), 0),
                       counts.get((y.year, CalendarDayKind.WORKDAY), 0))
            for y in session.scalars(select(CalendarYear).order_by(CalendarYear.year))]


def year_days(session: Session, year: int) -> list[tuple[dt.date, CalendarDayKind, str | None]]:
    return [(day, kind, name) for day, kind, name in session.execute(
        select(CalendarDay.day, CalendarDay.kind, CalendarDay.name)
        .where(CalendarDay.year == year).order_by(CalendarDay.day))]


class CalendarRefresher(service.Service):
    """Keeps `calendar`'s loaded years equal to the database's, refreshed every `interval`
    seconds on `timers`; a refresh that fails is logged and the last years kept.

    `horizon_days`: the longest deadline in working days; each refresh computes it from
    today (`wall`, in `zone`) so that a year it reaches without data is known at once."""

    log = Logger()

    def __init__(self, calendar: WorkCalendar, db: Database, *, timers: IReactorTime,
                 wall: WallClock, zone: ZoneInfo, horizon_days: int,
                 interval: float = REFRESH_INTERVAL_S) -> None:
        self.calendar = calendar
        self._db = db
        self._timers = timers
        self._wall = wall
        self._zone = zone
        self._horizon_days = horizon_days
        self.interval = interval
        self._loop: task.LoopingCall | None = None
        self._stopped: defer.Deferred | None = None

    def startService(self) -> None:
        super().startService()
        self._loop = task.LoopingCall(self._tick)
        self._loop.clock = self._timers
        self._stopped = self._loop.start(self.interval, now=True)

    def stopService(self):
        super().stopService()
        loop, stopped, self._loop, self._stopped = self._loop, self._stopped, None, None
        if loop is None or stopped is None or not loop.running:
            return None
        loop.stop()
        # Fires once a read in flight has come back: the database outlives this service.
        return stopped.addCallback(lambda _: None)

    def _tick(self) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self.refresh()).addErrback(
            lambda failure: self.log.failure(
                "Reading the loaded holiday lists failed; keeping the last ones", failure))

    async def refresh(self) -> None:
        years = await self._db.read(stored_years)
        before = set(self.calendar.loaded_years)
        self.calendar.use_years(years)
        for year in sorted(set(years) - before):
            self.log.info("Holiday calendar: using the loaded list for {year}", year=year)
        today = self._wall.now().astimezone(self._zone).date()
        self.calendar.add_working_days(today, self._horizon_days)
