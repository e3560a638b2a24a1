"""The recordings job: every `scan_s` the process holding the recordings lease indexes what
Asterisk wrote (`hotline.recordings.index`), and once a day from `purge_hour` (local time)
it purges what retention no longer keeps (`hotline.recordings.retention`). Every process
measures the recordings' disk each round for /metrics and /healthz.

One clock, the injected `IReactorTime` (`task.Clock` in tests), for the rounds, the "now" of
the index and the purge's day. Everything blocking runs in the database's thread pool.
"""

from __future__ import annotations

import datetime as dt
import os
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twisted.application import service
from twisted.internet import defer, task
from twisted.logger import Logger

from hotline.db import Database
from hotline.recordings import index, retention
from hotline.recordings.config import RecordingsConfig
from hotline.recordings.names import roots
from hotline.singleton import LeaseLock
from schemas.recordings import Recording, RecordingKind

LOCK_KEY = zlib.crc32(b"hotline:recordings")
VERIFY_EVERY = 30  # scans: the indexed files are checked every 10 minutes at scan_s = 20


@dataclass(frozen=True)
class DiskUsage:
    by_kind: Mapping[str, tuple[int, int]]  # kind -> (files, bytes) not purged
    total_bytes: int | None  # the recordings' filesystem; None: not readable here
    free_bytes: int | None
    problem: str | None = None


def measure(session: Session, directory: str) -> DiskUsage:
    rows = session.execute(select(Recording.kind, func.count(), func.sum(Recording.size_bytes))
                           .where(Recording.purged_at.is_(None)).group_by(Recording.kind))
    by_kind = {kind.value: (0, 0) for kind in RecordingKind}
    for kind, files, size in rows:
        by_kind[kind.value] = (files, int(size or 0))
    try:
        stat = os.statvfs(directory)
    except OSError as error:
        return DiskUsage(by_kind, None, None, f"{directory}: {error.strerror or error}")
    return DiskUsage(by_kind, stat.f_blocks * stat.f_frsize, stat.f_bavail * stat.f_frsize)


class RecordingsJob(service.Service):
    log = Logger()

    def __init__(self, db: Database, config: RecordingsConfig, *, voice_message_dir: str,
                 zone: ZoneInfo, clock: Any, lock: LeaseLock | None = None) -> None:
        self._db = db
        self._config = config
        self.roots = roots(config.dir, voice_message_dir)
        self._zone = zone
        self._clock = clock
        self._lock = lock or LeaseLock(db.engine, LOCK_KEY, config.lease_s)
        self._loop: task.LoopingCall | None = None
        self._round: defer.Deferred | None = None
        self.leader: bool | None = None
        self.purged_on: dt.date | None = None  # the local day this process last purged
        self.usage: DiskUsage | None = None
        self.problems: list[str] = []
        self.rounds = 0
        self._scans = 0  # as holder: every VERIFY_EVERY-th also checks the indexed files

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._clock.seconds(), dt.timezone.utc)

    def startService(self) -> None:
        super().startService()
        self._loop = task.LoopingCall(self._tick)
        self._loop.clock = self._clock
        self._loop.start(self._config.scan_s, now=True)

    def stopService(self) -> defer.Deferred:
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        return defer.Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        if self._round is not None:
            await self._round
        await self._db.read(lambda _session: self._lock.release())
        self.leader = False

    def _tick(self) -> defer.Deferred:
        d = defer.Deferred.fromCoroutine(self.run_round())
        d.addErrback(lambda failure: self.log.failure("Recordings round failed", failure))
        d.addBoth(self._done)
        self._round = d
        return d

    def _done(self, _result: object) -> None:
        self._round = None
        self.rounds += 1

    async def run_round(self) -> index.ScanResult | None:
        """Measure the disk; if this process holds the lease, index, and purge once a day."""
        self.usage = await self._db.read(measure, self._config.dir)
        leader = await self._db.read(lambda _session: self._lock.try_acquire())
        if leader != self.leader:
            self.log.info("Recordings index and purge: {role}",
                          role="run in this process" if leader else "another process runs them")
            self.leader = leader
        if not leader:
            return None
        now = self.now()
        verify = self._scans % VERIFY_EVERY == 0
        result = await self._db.write(index.scan, self.roots, now, self._config.settle_s,
                                      verify=verify)
        self._scans += 1
        if result.problems != self.problems:
            for line in result.problems:
                self.log.warn("Recordings directory unreadable: {line}", line=line)
        self.problems = result.problems
        local = now.astimezone(self._zone)
        if local.hour >= self._config.purge_hour and self.purged_on != local.date():
            await self.purge(now)
            self.purged_on = local.date()
        return result

    async def purge(self, now: dt.datetime) -> retention.PurgeResult:
        return await self._db.write(retention.purge, self._config, self.roots, now)

    # /metrics and /healthz: memory only ---------------------------------------------------

    def metrics(self) -> Iterable[Metric]:
        usage = self.usage
        if usage is None:
            return
        files = GaugeMetricFamily("hotline_recordings_files", "Recordings indexed and not "
                                  "purged, by kind", labels=["kind"])
        size = GaugeMetricFamily("hotline_recordings_bytes", "Bytes of the recordings indexed "
                                 "and not purged, by kind", labels=["kind"])
        for kind, (count, total) in sorted(usage.by_kind.items()):
            files.add_metric([kind], count)
            size.add_metric([kind], total)
        yield files
        yield size
        if usage.total_bytes is not None and usage.free_bytes is not None:
            yield GaugeMetricFamily("hotline_recordings_disk_bytes",
                                    "Size of the recordings' filesystem", value=usage.total_bytes)
            yield GaugeMetricFamily("hotline_recordings_disk_free_bytes",
                                    "Bytes free for Asterisk on the recordings' filesystem",
                                    value=usage.free_bytes)

    def warnings(self) -> list[str]:
        lines = [f"recordings: directory unreadable: {line}" for line in self.problems]
        usage = self.usage
        if usage is None:
            return lines
        if usage.problem:
            lines.append(f"recordings: disk not measured: {usage.problem}")
        elif usage.total_bytes:
            used = 100 * (1 - (usage.free_bytes or 0) / usage.total_bytes)
            if used >= self._config.disk_warn_percent:
                lines.append(f"recordings: the filesystem of {self._config.dir} is {used:.0f}% "
                             f"full (warned from {self._config.disk_warn_percent:g}%): shorten "
                             f"[recordings] keep_*_days or add space before Asterisk can no "
                             f"longer record")
        return lines
