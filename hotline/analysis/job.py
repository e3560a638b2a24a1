"""The hourly spike job: a few minutes past each hour, the process holding the analysis
lease analyses the hour just ended (and any hour of the last `catch_up_hours` that no one
analysed: the process was down, or the holder died before it ran).

Everything on this path reads one clock, the injected `IReactorTime` (`reactor.seconds()` is
the wall clock in production; `task.Clock` in tests): rounds every third of the lease, the
hour that is due, and the time stamped on alerts. A round renews the lease (see `hotline.singleton`), so
a standby process notices a vanished holder within a round and takes over.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any
from zoneinfo import ZoneInfo

from twisted.application import service
from twisted.internet import defer, task
from twisted.logger import Logger

from hotline.analysis import repository
from hotline.analysis.config import AnalysisConfig
from hotline.analysis.repository import HOUR, RunResult
from hotline.db import Database
from hotline.singleton import LeaseLock
from hotline.workdays import WorkCalendar

LOCK_KEY = zlib.crc32(b"hotline:spike-analysis")


class SpikeJob(service.Service):
    log = Logger()

    def __init__(self, db: Database, config: AnalysisConfig, *, zone: ZoneInfo,
                 calendar: WorkCalendar, clock: Any, runner: str,
                 lock: LeaseLock | None = None) -> None:
        self._db = db
        self._config = config
        self._thresholds = config.thresholds
        self._zone = zone
        self._calendar = calendar
        self._clock = clock
        self._runner = runner
        self._lock = lock or LeaseLock(db.engine, LOCK_KEY, config.lease_s)
        self.round_s = config.lease_s / 3
        self._loop: task.LoopingCall | None = None
        self._round: defer.Deferred | None = None
        self.leader: bool | None = None  # not known before the first round
        self.done_through: dt.datetime | None = None  # the latest hour known analysed
        self.analysed = 0  # hours this process analysed
        self.rounds = 0  # rounds finished, holder or not

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._clock.seconds(), dt.timezone.utc)

    def due_hour(self) -> dt.datetime:
        """The start of the latest hour whose analysis time (its end + offset) has come."""
        shifted = self.now() - dt.timedelta(minutes=self._config.offset_min)
        return repository.hour_start(shifted) - HOUR

    def startService(self) -> None:
        super().startService()
        self._loop = task.LoopingCall(self._tick)
        self._loop.clock = self._clock
        self._loop.start(self.round_s, now=True)

    def stopService(self) -> defer.Deferred:
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        return defer.Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        if self._round is not None:
            await self._round  # let the hour in hand finish: its claim and alerts are one commit
        await self._db.read(lambda _session: self._lock.release())
        self.leader = False

    def _tick(self) -> defer.Deferred:
        d = defer.Deferred.fromCoroutine(self.run_round())
        d.addErrback(lambda failure: self.log.failure("Spike analysis round failed", failure))
        d.addBoth(self._round_done)
        self._round = d
        return d

    def _round_done(self, result: Any) -> None:
        self._round = None
        self.rounds += 1

    async def _renew(self) -> bool:
        leader = await self._db.read(lambda _session: self._lock.try_acquire())
        if leader != self.leader:
            self.log.info("Spike analysis: {role}",
                          role="runs in this process" if leader else "another process runs it")
            self.leader = leader
        return leader

    async def run_round(self) -> list[RunResult]:
        """Analyse the hours due and not yet analysed, if this process holds the lease."""
        if not await self._renew():
            return []
        due = self.due_hour()
        if self.done_through is not None and self.done_through >= due:
            return []
        first = due - HOUR * (self._config.catch_up_hours - 1)
        if self.done_through is not None:
            first = max(first, self.done_through + HOUR)
        hours = await self._db.read(repository.missing_hours, first, due)
        results: list[RunResult] = []
        for index, hour in enumerate(hours):
            if index and not await self._renew():  # a long catch-up keeps the lease fresh
                return results
            results.append(await self.run_hour(hour))
        self.done_through = due
        return results

    async def run_hour(self, hour: dt.datetime) -> RunResult:
        result = await self._db.write(repository.run_hour, hour, zone=self._zone,
                                      calendar=self._calendar, thresholds=self._thresholds,
                                      now=self.now(), runner=self._runner)
        analysis = result.analysis
        if analysis is None:  # analysed already (another process, or an earlier round)
            return result
        self.analysed += 1
        self.log.info("Spike analysis of {hour}: {cells} cells, {flagged} unusual "
                      "(p threshold {threshold:.2g}, {days} baseline days)",
                      hour=f"{hour.astimezone(self._zone):%Y-%m-%d %H:00}",
                      cells=len(analysis.cells), flagged=len(analysis.flagged),
                      threshold=analysis.threshold, days=analysis.days)
        for cell in analysis.flagged:
            self.log.warn("Unusual appeal count: {kind} in {area}: {count} against a baseline "
                          "of {expected:.2f} (p={p_value:.2g})", kind=cell.kind,
                          area=cell.area or "-", count=cell.count, expected=cell.expected,
                          p_value=cell.p_value)
        return result
