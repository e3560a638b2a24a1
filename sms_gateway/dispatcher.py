"""The outbox dispatcher: claims due messages, submits them, records what the carrier said.

Claims, results and lease renewals are each one transaction per round, not per message, so
the database keeps up with a fast SMSC. One round claims at a time, so `max_in_flight` bounds
the leases a process holds (and with them the duplicate window of a crash). Every write goes
through the process's `SmsWriter`: results of messages in flight are group-committed with the
receipts and replies that came meanwhile, a claim goes before the next such batch. The leases
of messages still in flight are renewed while they wait, so a slow link does not hand them to
another process. Timers run on the injected `IReactorTime`; business
time (lease expiry, retry times) comes from the wall clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from twisted.application import service
from twisted.internet import defer, task
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from hotline.clock import WallClock
from hotline.db import Database
from hotline.masking import mask_phone
from sms_gateway import outbox
from sms_gateway.link import (
    LinkUnavailable,
    MessageTooLong,
    OutboundMessage,
    PermanentSubmitError,
    RetryableSubmitError,
)
from sms_gateway.outbox import Claimed
from sms_gateway.routing import NoRoute, Router
from sms_gateway.writer import SmsWriter


@dataclass(frozen=True)
class DispatchSettings:
    owner: str
    batch: int = 200
    max_in_flight: int = 1000
    lease: dt.timedelta = dt.timedelta(seconds=120)
    poll_s: float = 0.5
    # An idle writer waits this long for more before it writes a result (a busy one writes
    # what came at once, when its transaction ends).
    flush_s: float = 0.002
    max_attempts: int = 5
    retry_initial: dt.timedelta = dt.timedelta(seconds=30)
    retry_max: dt.timedelta = dt.timedelta(minutes=30)
    # Graceful stop: how long to wait for the SMSC's answers to parts already sent; parts not
    # yet sent are given back at once. Match it to the links' response timeout.
    stop_wait_s: float = 15.0
    # How often held receipts are retried against recorded parts and expired (a safety net:
    # the result write applies most of them).
    receipt_sweep_s: float = 30.0
    # A message submitted this long ago without a final receipt becomes `unknown` (checked
    # with the receipt sweep).
    unknown_after: dt.timedelta = outbox.UNKNOWN_AFTER


def _claimed(result: tuple) -> Claimed:
    return result[1].claimed if result[0] == "submitted" else result[1]


class OutboxDispatcher(service.Service):
    log = Logger()

    def __init__(self, db: Database, links: Mapping[str, object], router: Router,
                 timers: IReactorTime, wall: WallClock, settings: DispatchSettings,
                 writer: SmsWriter | None = None) -> None:
        """`writer`: the process's SMS writer, shared with its inbox (None: one of its own)."""
        self._db = db
        self._writer = writer if writer is not None else SmsWriter(db, wall, timers,
                                                                    linger_s=settings.flush_s)
        self._writer.write_results = self._write_results
        self._links = links
        self._router = router
        self._timers = timers
        self._wall = wall
        self.settings = settings
        self._in_flight: dict[int, Claimed] = {}
        self._round: IDelayedCall | None = None
        self._renew_call: IDelayedCall | None = None
        self._sweep_call: IDelayedCall | None = None
        self._claiming = False
        self.submitted = 0  # counters for metrics and the benchmark
        self.failed = 0
        self.retried = 0
        self.receipts_expired = 0  # held receipts that never met their message
        self.unknown = 0  # messages that became unknown (no final receipt in their validity)

    # Lifecycle ----------------------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self._schedule(0)
        self._renew_call = self._timers.callLater(self._renew_every(), self._renew)
        self._sweep_call = self._timers.callLater(self.settings.receipt_sweep_s,
                                                  self._sweep_receipts)

    async def _stop(self) -> None:
        """Claim nothing more; wait (at most `stop_wait_s`) for the answers to parts already
        sent while their leases are still renewed; record them; give back every lease still
        held, so that another process takes those messages at once. Parts the links had not
        sent yet come back as `LinkUnavailable` while stopping and are given back unsent."""
        if self._round is not None and self._round.active():
            self._round.cancel()
        deadline = self._timers.seconds() + self.settings.stop_wait_s
        while (self._in_flight or self._claiming) and self._timers.seconds() < deadline:
            await task.deferLater(self._timers, self.STOP_POLL_S, lambda: None)
        await self._writer.idle()
        for call in (self._renew_call, self._sweep_call):
            if call is not None and call.active():
                call.cancel()
        leased = list(self._in_flight)
        if leased:
            self.log.warn("Stopping with {count} SMS unanswered after {seconds}s; their leases "
                          "are given back (they may be sent again)", count=len(leased),
                          seconds=self.settings.stop_wait_s)
            await self._writer.run(outbox.release, leased, self.settings.owner)
            self._in_flight.clear()

    STOP_POLL_S = 0.05

    def stopService(self) -> defer.Deferred:
        super().stopService()
        return defer.Deferred.fromCoroutine(self._stop())

    def in_flight(self) -> int:
        return len(self._in_flight)

    # Rounds -------------------------------------------------------------------------------

    def _schedule(self, delay: float) -> None:
        # A round in progress schedules the next itself when its claim is in.
        if not self.running or self._claiming or (self._round is not None and self._round.active()):
            return
        self._round = self._timers.callLater(delay, self._run_round)

    def _run_round(self) -> None:
        self._round = None
        self._claiming = True
        d = defer.Deferred.fromCoroutine(self._claim_and_submit())
        d.addBoth(self._round_done)
        d.addErrback(self._round_failed)

    def _round_done(self, result):
        self._claiming = False
        return result

    def _round_failed(self, failure: Failure) -> None:
        self.log.failure("Outbox round failed; retrying in {delay}s", failure,
                         delay=self.settings.poll_s)
        self._schedule(self.settings.poll_s)

    def _next_round(self, delay: float) -> None:
        """Called by a round as it ends (while `_claiming` still holds off other schedules)."""
        self._claiming = False
        self._schedule(delay)

    def _any_link_available(self) -> bool:
        return any(link.is_available() for link in self._links.values())

    async def _claim_and_submit(self) -> None:
        room = self.settings.max_in_flight - len(self._in_flight)
        if not self.running or room <= 0 or not self._any_link_available():
            self._next_round(self.settings.poll_s)
            return
        limit = min(self.settings.batch, room)
        claimed = await self._writer.run(outbox.claim_due, owner=self.settings.owner,
                                       now=self._wall.now(), lease=self.settings.lease,
                                       limit=limit)
        if not self.running:  # stopped while the claim was in the database: give it back
            if claimed:
                await self._writer.run(outbox.release, [m.id for m in claimed],
                                       self.settings.owner)
            self._claiming = False
            return
        for message in claimed:
            self._submit(message)
        # A full batch means more is due: go again at once; otherwise wait for new rows.
        self._next_round(0 if len(claimed) == limit else self.settings.poll_s)

    def _submit(self, message: Claimed) -> None:
        self._in_flight[message.id] = message
        try:
            link = self._router.choose(message.destination, self._links)
            submission = link.submit(OutboundMessage(message.destination, message.text))
        except (MessageTooLong, NoRoute) as error:
            self._result(("failed", message, str(error)))
            return
        submission.message_ids().addCallbacks(
            lambda ids: self._result(("submitted", outbox.Submitted(
                message, link.name, submission.encoding, tuple(ids),
                tuple(link.submit_id_keys(i) for i in ids)))),
            lambda failure: self._submit_failed(failure, message))

    def _submit_failed(self, failure: Failure, message: Claimed) -> None:
        if not self.running and failure.check(LinkUnavailable):
            self._result(("release", message))  # stopping: back to the queue, unsent
        elif failure.check(PermanentSubmitError):
            self._result(("failed", message, failure.value.status))
        elif failure.check(RetryableSubmitError):
            self._result(("retry", message, str(failure.value)))
        else:
            self.log.failure("Unexpected submit failure for message {id}", failure, id=message.id)
            self._result(("retry", message, repr(failure.value)))

    # Results ------------------------------------------------------------------------------

    def _result(self, result: tuple) -> None:
        self._writer.result(result).addCallback(lambda _: self._committed(result))

    def _committed(self, result: tuple) -> None:
        """The result's transaction committed (a failed write is retried by the writer; the
        lease protects the message meanwhile)."""
        self._count(result)
        self._in_flight.pop(_claimed(result).id, None)
        self._schedule(0)

    def _write_results(self, session, batch: list[tuple], now: dt.datetime) -> None:
        settings = self.settings
        accepted = [result[1] for result in batch if result[0] == "submitted"]
        outbox.record_submitted_many(session, accepted, now)
        released = [result[1].id for result in batch if result[0] == "release"]
        if released:
            outbox.release(session, released, settings.owner)
        for result in batch:
            kind, message = result[0], result[1]
            if kind in ("submitted", "release"):
                continue
            if kind == "failed":
                outbox.record_failed(session, message, error=result[2], now=now)
            else:
                delay = min(settings.retry_initial * 2 ** (message.attempt - 1), settings.retry_max)
                outbox.record_retry(session, message, error=result[2], retry_at=now + delay,
                                    max_attempts=settings.max_attempts, now=now)

    def _count(self, result: tuple) -> None:
        """The counters and the failure log lines, once the result's transaction committed:
        counted inside it, a reader of the counters could look at the database before the
        rows they count were there (and a batch rolled back and written again counted twice)."""
        kind, message = result[0], result[1]
        if kind == "submitted":
            self.submitted += 1
        elif kind == "failed":
            self.failed += 1
            self.log.warn("SMS {id} to {to} failed: {error}", id=message.id,
                          to=mask_phone(message.destination), error=result[2])
        elif kind == "retry":
            self.retried += 1

    # Leases -------------------------------------------------------------------------------

    def _renew_every(self) -> float:
        return max(1.0, self.settings.lease.total_seconds() / 3)

    def _renew(self) -> None:
        self._renew_call = self._timers.callLater(self._renew_every(), self._renew)
        if self._in_flight:
            self._writer.run(outbox.renew_leases, list(self._in_flight), self.settings.owner,
                           self._wall.now() + self.settings.lease).addErrback(
                lambda failure: self.log.failure("Renewing outbox leases failed", failure))

    # Held receipts ------------------------------------------------------------------------

    def _sweep_receipts(self) -> None:
        self._sweep_call = self._timers.callLater(self.settings.receipt_sweep_s,
                                                  self._sweep_receipts)
        self._writer.run(outbox.sweep_held_receipts, self._wall.now()).addCallbacks(
            self._swept, lambda failure: self.log.failure("Sweeping held receipts failed",
                                                          failure))
        self._writer.run(outbox.settle_unknown, self._wall.now(),
                         self.settings.unknown_after).addCallbacks(
            self._unknown, lambda failure: self.log.failure("Settling unknown SMS failed",
                                                            failure))

    def _unknown(self, count: int) -> None:
        if count:
            self.unknown += count
            self.log.warn("{count} SMS had no final delivery receipt within {after} and are "
                          "now unknown (hotline sms unknown lists them)", count=count,
                          after=self.settings.unknown_after)

    def _swept(self, result: outbox.SweepResult) -> None:
        if result.expired:  # each receipt is expired by exactly one sweep, so logged once
            self.receipts_expired += len(result.expired)
            self.log.warn("{count} held receipt(s) matched no message in {ttl} and were "
                          "dropped: {ids}", count=len(result.expired), ttl=outbox.HELD_RECEIPT_TTL,
                          ids=", ".join(f"{r.carrier_message_id} ({r.receipt_state}, "
                                        f"{r.link or '?'})" for r in result.expired[:20]))
        if result.applied:
            self.log.info("{count} held receipt(s) applied by the sweep", count=result.applied)
