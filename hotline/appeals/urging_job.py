"""The urging job: every round, the process holding the urging lease urges (催办) the work
orders whose deadline is near and raises a 督办 on those overdue since the day before
(`hotline.appeals.urgings` says when, and makes each at most once).

One clock, the injected `IReactorTime` (`task.Clock` in tests): the rounds, every third of
`[workorders] urging_lease_s`, and the time each urging is stamped with. A round renews the
lease (`hotline.singleton`), so a standby process takes over within a round of a holder
going silent. Each order is urged in its own transaction, so one that fails (logged) does
not hold back the others.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import TYPE_CHECKING, Any

from twisted.application import service
from twisted.internet import defer, task
from twisted.logger import Logger

from hotline.appeals.urgings import UrgingRecord
from hotline.db import Database
from hotline.masking import mask_phone
from hotline.singleton import LeaseLock

if TYPE_CHECKING:
    from hotline.appeals.repository import AppealRepository
    from hotline.core import Core

LOCK_KEY = zlib.crc32(b"hotline:work-order-urging")


class UrgingJob(service.Service):
    log = Logger()

    def __init__(self, db: Database, repository: AppealRepository, *, clock: Any,
                 lease_s: float, lock: LeaseLock | None = None) -> None:
        self.setName("urging")
        self._db = db
        self._repository = repository
        self._clock = clock
        self._lock = lock or LeaseLock(db.engine, LOCK_KEY, lease_s)
        self.round_s = lease_s / 3
        self._loop: task.LoopingCall | None = None
        self._round: defer.Deferred | None = None
        self.leader: bool | None = None  # not known before the first round
        self.urged = 0  # urgings and 督办 this process made
        self.rounds = 0

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._clock.seconds(), dt.timezone.utc)

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
            await self._round
        await self._db.read(lambda _session: self._lock.release())
        self.leader = False

    def _tick(self) -> defer.Deferred:
        d = defer.Deferred.fromCoroutine(self.run_round())
        d.addErrback(lambda failure: self.log.failure("Urging round failed", failure))
        d.addBoth(self._round_done)
        self._round = d
        return d

    def _round_done(self, result: Any) -> None:
        self._round = None
        self.rounds += 1

    async def run_round(self) -> list[UrgingRecord]:
        """Urge and supervise what is due, if this process holds the lease."""
        leader = await self._db.read(lambda _session: self._lock.try_acquire())
        if leader != self.leader:
            self.log.info("Work-order urging: {role}",
                          role="runs in this process" if leader else "another process runs it")
            self.leader = leader
        if not leader:
            return []
        now = self.now()
        made: list[UrgingRecord] = []
        for due in await self._db.read(self._repository.due_urgings, now=now):
            try:
                record = await self._db.write(self._repository.urge_automatically,
                                              due.work_order_id, due.kind, now=now)
            except Exception:
                self.log.failure("Urging work order {order} failed", order=due.work_order_id)
                continue
            if record is None:
                continue
            self.urged += 1
            made.append(record)
            self.log.info("{kind} of work order {order} (appeal {case_number}) at {unit}, "
                          "duty phone {phone}", kind=record.kind.value,
                          order=record.work_order_id, case_number=record.case_number,
                          unit=record.unit_code, phone=mask_phone(record.duty_phone or ""))
        return made


def makeService(core: Core) -> UrgingJob:
    """The urging job of one process (one at a time runs it: the lease)."""
    return UrgingJob(core.db, core.appeals.repository, clock=core.reactor,
                     lease_s=core.config.workorders.urging_lease_s)
