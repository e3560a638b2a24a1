"""The one write path of a process's SMS traffic: one transaction at a time, group-committed.

The dispatcher's claims, lease renewals and releases, its submit results, and the receipts and
replies the links hand over all go through one `SmsWriter`. Results, receipts and replies that
arrive while a transaction runs wait for the next one and go in it together (at most
`max_batch`), results first: a receipt that came right after its submit_sm_resp finds its part
recorded in the same transaction instead of being held for later. A claim or another single
job waiting goes before the next batch, so a stream of receipts never starves the claims
(and on SQLite no write of ours queues on the single writer's lock behind another of ours).

Durability: each Deferred fires only after its transaction committed; the links acknowledge a
receipt or a reply to the carrier only then. A batch that fails fails its receipts and replies
(the links answer "try again" and the carrier redelivers them) and keeps its results, which are
written again after `retry_s` (their leases protect the messages meanwhile).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from hotline.clock import WallClock
from hotline.db import Database
from sms_gateway import outbox
from sms_gateway.link import DeliveryReceipt, MobileOriginated


@dataclasses.dataclass(frozen=True)
class ReceiptIn:
    receipt: DeliveryReceipt
    keys: frozenset[str] | None
    link: str | None


@dataclasses.dataclass(frozen=True)
class BatchOutcome:
    """What one committed batch did: per item, in the order the items were added."""

    results: Any
    receipts: list[outbox.ReceiptOutcome]
    replies: list[Any]


ResultWriter = Callable[[Session, list, dt.datetime], Any]


class SmsWriter:
    """Runs this process's SMS writes one transaction at a time (see the module docstring).

    `write_results(session, results, now)` records the dispatcher's submit results (the
    dispatcher sets it); `store_reply(session, reply, now)` stores one reply."""

    log = Logger()

    def __init__(self, db: Database, wall: WallClock, timers: IReactorTime | None = None, *,
                 max_batch: int = 500, retry_s: float = 0.5, linger_s: float = 0.0) -> None:
        self._db = db
        self._wall = wall
        self._timers = timers
        self.max_batch = max_batch
        self.retry_s = retry_s
        self.linger_s = linger_s
        self._linger_call = None
        self.write_results: ResultWriter | None = None
        self.store_reply: Callable[[Session, MobileOriginated, dt.datetime], Any] | None = None
        self._jobs: collections.deque[tuple[Callable, tuple, dict, defer.Deferred]] = \
            collections.deque()
        self._results: list[tuple[object, defer.Deferred]] = []
        self._receipts: list[tuple[ReceiptIn, defer.Deferred]] = []
        self._replies: list[tuple[MobileOriginated, defer.Deferred]] = []
        self._busy = False
        self._retry_call = None
        self._idle_waiters: list[defer.Deferred] = []
        self.batches = 0  # transactions of results, receipts and replies (for the benchmark)

    # -- what the dispatcher and the inbox hand over -------------------------------------------

    def run(self, work: Callable, *args, **kwargs) -> defer.Deferred:
        """`work(session, *args, **kwargs)` in a transaction of its own, before the next batch."""
        d: defer.Deferred = defer.Deferred()
        self._jobs.append((work, args, kwargs, d))
        self._next()
        return d

    def result(self, result: object) -> defer.Deferred:
        """A submit result; fires (None) once it is committed."""
        d: defer.Deferred = defer.Deferred()
        self._results.append((result, d))
        self._linger()
        return d

    def receipt(self, receipt: DeliveryReceipt, keys: frozenset[str] | None = None,
                link: str | None = None) -> defer.Deferred:
        """Fires with the receipt's `outbox.ReceiptOutcome` once it is committed."""
        d: defer.Deferred = defer.Deferred()
        self._receipts.append((ReceiptIn(receipt, keys, link), d))
        self._linger()
        return d

    def reply(self, message: MobileOriginated) -> defer.Deferred:
        """Fires with what `store_reply` answered once it is committed."""
        d: defer.Deferred = defer.Deferred()
        self._replies.append((message, d))
        self._linger()
        return d

    def _linger(self) -> None:
        """An idle writer given its first item waits `linger_s` for company; a busy one will
        take it with the rest when its transaction ends."""
        if self._busy or self._timers is None or self.linger_s <= 0 or \
                self._linger_call is not None:
            self._next()
            return
        self._linger_call = self._timers.callLater(self.linger_s, self._lingered)

    def _lingered(self) -> None:
        self._linger_call = None
        self._next()

    def pending(self) -> int:
        return len(self._jobs) + len(self._results) + len(self._receipts) + len(self._replies)

    def idle(self) -> defer.Deferred:
        """Fires once nothing handed over is waiting or being written."""
        if not self._busy and not self.pending():
            return defer.succeed(None)
        d: defer.Deferred = defer.Deferred()
        self._idle_waiters.append(d)
        return d

    # -- one transaction at a time -------------------------------------------------------------

    def _next(self) -> None:
        if self._busy:
            return
        if self._jobs:
            work, args, kwargs, d = self._jobs.popleft()
            self._busy = True
            self._db.write(work, *args, **kwargs).addBoth(self._job_done, d)
            return
        if self._retry_call is not None and self._retry_call.active() and \
                not (self._receipts or self._replies):
            return  # results wait out their retry delay
        if self._results or self._receipts or self._replies:
            if self._linger_call is not None and self._linger_call.active():
                return
            self._write_batch()
            return
        waiters, self._idle_waiters = self._idle_waiters, []
        for waiter in waiters:
            waiter.callback(None)

    def _job_done(self, result, d: defer.Deferred) -> None:
        self._busy = False
        d.callback(result) if not isinstance(result, Failure) else d.errback(result)
        self._next()

    def _write_batch(self) -> None:
        room = self.max_batch
        if self._retry_call is not None and self._retry_call.active():
            room = 0  # results wait out their retry delay; receipts and replies need not
        results, self._results = self._results[:room], self._results[room:]
        room = self.max_batch
        room -= len(results)
        receipts, self._receipts = self._receipts[:room], self._receipts[room:]
        room -= len(receipts)
        replies, self._replies = self._replies[:room], self._replies[room:]
        self._busy = True
        self.batches += 1
        d = self._db.write(self._write, [r for r, _ in results], [r for r, _ in receipts],
                           [m for m, _ in replies], self._wall.now())
        d.addCallbacks(self._written, self._failed, callbackArgs=(results, receipts, replies),
                       errbackArgs=(results, receipts, replies))

    def _write(self, session: Session, results: list, receipts: list[ReceiptIn],
               replies: list[MobileOriginated], now: dt.datetime) -> BatchOutcome:
        written = None
        if results:
            if self.write_results is None:
                raise RuntimeError("submit results handed to a writer no dispatcher set up")
            written = self.write_results(session, results, now)
        taken = outbox.take_receipts(session, [(r.receipt, r.keys, r.link) for r in receipts],
                                     now) if receipts else []
        stored = []
        if replies:
            if self.store_reply is None:
                raise RuntimeError("replies handed to a writer no inbox set up")
            stored = [self.store_reply(session, message, now) for message in replies]
        return BatchOutcome(written, taken, stored)

    def _written(self, outcome: BatchOutcome, results, receipts, replies) -> None:
        self._busy = False
        for _, d in results:
            d.callback(outcome.results)
        for (_, d), taken in zip(receipts, outcome.receipts, strict=True):
            d.callback(taken)
        for (_, d), stored in zip(replies, outcome.replies, strict=True):
            d.callback(stored)
        self._next()

    def _failed(self, failure: Failure, results, receipts, replies) -> None:
        self._busy = False
        if results:
            self.log.failure("Writing {count} SMS result(s) failed; retrying in {delay}s",
                             failure, count=len(results), delay=self.retry_s)
            self._results[:0] = results
            if self._timers is not None:
                self._retry_call = self._timers.callLater(self.retry_s, self._next)
        for _, d in receipts + replies:
            d.errback(failure)
        if self._timers is not None or not results:
            self._next()
