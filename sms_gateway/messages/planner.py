"""The reminder planner service: one process at a time plans reminders into the outbox.

On PostgreSQL the planner that holds the lease `PLANNER_LOCK_KEY` (`hotline.singleton`: a
session advisory lock on a connection of its own, renewed each round) is the one that plans;
the others try again each round and take over when it goes: at once when its connection
closes, within the lease (`LEASE_ROUNDS` rounds, at least `MIN_LEASE_S`) when it hangs. On
SQLite there is one process: it just plans.

Rounds run on the injected `IReactorTime` every `planner_poll_s`; the rules read the wall
clock. A round plans batches of `planner_batch` reminders, each batch its own transaction,
until none is due.
"""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import Engine
from twisted.application import service
from twisted.internet import defer, task
from twisted.logger import Logger

from hotline.clock import WallClock
from hotline.db import Database
from hotline.singleton import LeaseLock
from sms_gateway.messages.reminders import PlanRound, ReminderPlanner

PLANNER_LOCK_KEY = zlib.crc32(b"hotline:reminder-planner")
# The lease lasts this many rounds, and never less than MIN_LEASE_S: a holder late by a
# round or two (a busy machine, a slow batch) keeps it.
LEASE_ROUNDS = 3
MIN_LEASE_S = 10.0


def planner_lock(engine: Engine, poll_s: float) -> LeaseLock:
    return LeaseLock(engine, PLANNER_LOCK_KEY, lease_s=max(MIN_LEASE_S, LEASE_ROUNDS * poll_s))


class PlannerService(service.Service):
    log = Logger()

    def __init__(self, db: Database, planner: ReminderPlanner, *, wall: WallClock, clock: Any,
                 poll_s: float, batch: int, lock: LeaseLock | None = None) -> None:
        self._db = db
        self._planner = planner
        self._wall = wall
        self._clock = clock
        self._poll_s = poll_s
        self._batch = batch
        self._lock = lock or planner_lock(db.engine, poll_s)
        self._loop: task.LoopingCall | None = None
        self.leader: bool | None = None  # not known before the first round
        self.rounds = 0

    def startService(self) -> None:
        super().startService()
        self._loop = task.LoopingCall(self._tick)
        self._loop.clock = self._clock
        self._loop.start(self._poll_s, now=True)

    async def _release(self) -> None:
        await self._db.read(lambda _session: self._lock.release())

    def stopService(self) -> defer.Deferred:
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self.leader = False
        return defer.Deferred.fromCoroutine(self._release())

    def _tick(self) -> defer.Deferred:
        d = defer.Deferred.fromCoroutine(self.run_round())
        d.addErrback(lambda failure: self.log.failure("Reminder planning round failed", failure))
        return d

    async def run_round(self) -> PlanRound | None:
        """Plan everything due now, if this process holds the planner lock."""
        leader = await self._db.read(lambda _session: self._lock.try_acquire())
        if leader != self.leader:
            self.log.info("Reminder planner: {role} in this process",
                          role="planning" if leader else "another process plans")
            self.leader = leader
        if not leader:
            return None
        total = PlanRound(0, 0, {}, 0)
        while True:
            result = await self._db.write(self._planner.plan_due, self._wall.now(), self._batch)
            total = total + result
            if result.examined < self._batch:
                break
        self.rounds += 1  # rounds completed as the planning process
        if total.examined:
            self.log.info("Reminders planned: {summary}", summary=total.summary(),
                          queued=total.queued, skipped=total.skipped, expired=total.expired,
                          rescheduled=total.rescheduled, examined=total.examined)
        return total
