"""The submit pump every link shares: the parts waiting to go, the window of submits awaiting
their answer, the token bucket at the contracted rate, retries, slowing down when the carrier
says so, and what happens to the parts in hand when the connection goes.

A link (SMPP, CMPP, SMGP, ...) keeps its connection and its PDUs; the pump keeps the parts.
The seam between them is protocol-neutral: the link hands the pump the connection that can
submit (anything with `can_submit` and `submits_outstanding`), a `send(connection, part)`
that builds the protocol's submit and returns a Deferred of the carrier's answer, and a
`classify(answer)` that reads that answer as an `Outcome`: accepted (with the part's message
id), retry later with backoff, throttled (slow the link down, then retry), or refused for
good. A response timeout retries with backoff; a lost link fails the part with
`LinkUnavailable` and the outbox resends it: nothing waits in memory for a reconnect.

Why one module: the same rules (the window, the bucket, halving the rate once a second under
flow control and regaining it per accepted part, the retry limit) were written out in each
link and had begun to drift; a carrier's protocol only changes what the words on the wire are.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
from collections.abc import Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar, cast

from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from hotline.masking import mask_phone
from sms_gateway.encoding import ReferenceAllocator
from sms_gateway.link import (
    CarrierBusy,
    LinkUnavailable,
    OutboundMessage,
    PermanentSubmitError,
    ResponseTimeout,
    RetryableSubmitError,
    Submission,
)
from sms_gateway.throttle import TokenBucket


class Verdict(enum.Enum):
    OK = "ok"  # accepted: `Outcome.detail` is the part's message id
    RETRY = "retry"  # the carrier is in trouble: resend after a backoff
    THROTTLE = "throttle"  # the carrier says too fast: slow the link down, then resend
    FAIL = "fail"  # refused for a reason resending will not fix


@dataclasses.dataclass(frozen=True)
class Outcome:
    """A carrier's answer to one submit, read by the link's classifier."""

    verdict: Verdict
    detail: str  # the message id when OK, else the carrier's reason as the outbox records it
    code: int | None = None  # the carrier's status or result number, for a refusal

    @classmethod
    def ok(cls, message_id: str) -> Outcome:
        return cls(Verdict.OK, message_id)


class PumpSettings(Protocol):
    """What the pump reads of a bind's configuration (every bind config has these keys)."""

    @property
    def window(self) -> int: ...
    @property
    def rate(self) -> float: ...
    @property
    def bucket_depth(self) -> float: ...
    @property
    def retry_limit(self) -> int: ...
    @property
    def retry_initial_delay(self) -> float: ...
    @property
    def retry_max_delay(self) -> float: ...
    @property
    def throttle_min_rate(self) -> float: ...
    @property
    def throttle_recovery(self) -> float: ...


class Carrier(Protocol):
    """The connection a link submits on, as the pump sees it."""

    @property
    def can_submit(self) -> bool: ...
    @property
    def submits_outstanding(self) -> int: ...


class Encoded(Protocol):
    """A message cut into parts (`sms_gateway.encoding.EncodedMessage`, CMPP's `CmppText`)."""

    @property
    def parts(self) -> Sequence[bytes]: ...
    @property
    def reference(self) -> int | None: ...
    @property
    def encoding(self) -> str: ...  # what the outbox records: "gsm7", "ucs2", "gbk", ...


C = TypeVar("C", bound=Carrier)
E = TypeVar("E", bound=Encoded)


@dataclasses.dataclass(eq=False)
class _Message(Generic[E]):
    message: OutboundMessage
    encoded: E
    unsettled: int


@dataclasses.dataclass(eq=False)
class Part(Generic[E]):
    """One part of one message on its way: what `send` builds a submit from."""

    owner: _Message[E]
    index: int  # 0-based; the protocols count from 1
    payload: bytes  # the part's octets as the encoding cut them (with its UDH)
    deferred: Deferred
    attempts: int = 0
    retry_call: IDelayedCall | None = None

    @property
    def message(self) -> OutboundMessage:
        return self.owner.message

    @property
    def encoded(self) -> E:
        return self.owner.encoded

    @property
    def count(self) -> int:
        return len(self.owner.encoded.parts)


class SubmitPump(Generic[C, E]):
    """The parts of one link, sent on its current connection within its window and rate.

    `peer` names the carrier's side in the log ("SMSC", "ISMG"), `pdu` the submit command
    ("submit_sm"). `send` may raise `PermanentSubmitError` for a part no PDU can carry.
    """

    log = Logger()

    def __init__(
        self,
        settings: PumpSettings,
        clock: IReactorTime,
        *,
        send: Callable[[C, Part[E]], Deferred],
        classify: Callable[[object], Outcome],
        name: str,
        peer: str,
        pdu: str,
    ):
        self.settings = settings
        self.clock = clock
        self.name = name
        self.peer = peer
        self.pdu = pdu
        self._send = send
        self._classify = classify
        self.references = ReferenceAllocator()
        self.bucket = TokenBucket(settings.rate, settings.bucket_depth, clock)
        self.carrier: C | None = None
        self._queue: collections.deque[Part[E]] = collections.deque()
        self._retrying: set[Part[E]] = set()
        self._drain_call: IDelayedCall | None = None
        self._last_slowdown = float("-inf")
        self._last_throttle = float("-inf")
        self._last_recovery = float("-inf")
        self._accepted_at: collections.deque[float] = collections.deque()  # the last second's
        self._measuring_since: float | None = None
        # Parts sent again by this pump, by the carrier's status ("ESME_RTHROTTLED") or
        # "response_timeout": hotline_sms_retried_total{bind, status}.
        self.retries: collections.Counter[str] = collections.Counter()

    # -- what the link asks -----------------------------------------------------------------------

    def reference_for(self, destination: str) -> Callable[[], int]:
        """The concatenation reference allocator a long message to `destination` is cut with."""
        return lambda: self.references.allocate(destination)

    def refuse(self, error: RetryableSubmitError, encoding: str, count: int) -> Submission:
        """A message that cannot be queued at all (no reference free): every part fails."""
        return Submission(tuple(fail(error) for _ in range(count)), encoding)

    def submit(self, message: OutboundMessage, encoded: E, *,
               unavailable: str | None) -> Submission:
        """Queue every part of `encoded`; with `unavailable` (why the link cannot take it) fail
        them at once with `LinkUnavailable` instead."""
        owner = _Message(message, encoded, len(encoded.parts))
        parts = [Part(owner, i, data, Deferred()) for i, data in enumerate(encoded.parts)]
        for part in parts:
            part.deferred.addBoth(self._settled, part)
        submission = Submission(tuple(p.deferred for p in parts), encoded.encoding)
        if unavailable is not None:
            for part in parts:
                part.deferred.errback(LinkUnavailable(unavailable))
            return submission
        self._queue.extend(parts)
        self.drain()
        return submission

    def pending(self) -> int:
        """Parts queued, waiting to be retried, or sent and not yet answered."""
        in_flight = self.carrier.submits_outstanding if self.carrier is not None else 0
        return len(self._queue) + len(self._retrying) + in_flight

    def attach(self, carrier: C) -> None:
        """`carrier` is the connection to submit on from now (call `drain` once it is told)."""
        self.carrier = carrier

    def detach(self, error: RetryableSubmitError) -> None:
        """The connection is gone: fail every part not yet sent with `error`."""
        self.carrier = None
        self.fail_waiting(error)

    def fail_waiting(self, error: RetryableSubmitError) -> None:
        """Fail every part not yet sent (queued, or waiting to be retried)."""
        if self._drain_call is not None and self._drain_call.active():
            self._drain_call.cancel()
        self._drain_call = None
        waiting = list(self._queue)
        self._queue.clear()
        for part in list(self._retrying):
            if part.retry_call is not None and part.retry_call.active():
                part.retry_call.cancel()
            waiting.append(part)
        self._retrying.clear()
        for part in waiting:
            part.deferred.errback(error)

    # -- the pump ---------------------------------------------------------------------------------

    def drain(self) -> None:
        """Send queued parts while the window and the bucket allow."""
        carrier = self.carrier
        queue = self._queue
        window = self.settings.window
        bucket = self.bucket
        while queue and carrier is not None and carrier.can_submit:
            if carrier.submits_outstanding >= window:
                return  # an answer will drain again
            if not bucket.consume():
                if self._drain_call is None or not self._drain_call.active():
                    self._drain_call = self.clock.callLater(bucket.delay(), self.drain)
                return
            self._sendPart(carrier, queue.popleft())

    def _sendPart(self, carrier: C, part: Part[E]) -> None:
        try:
            d = self._send(carrier, part)
        except PermanentSubmitError as error:
            part.deferred.errback(error)
            return
        d.addCallbacks(self._answered, self._unanswered, callbackArgs=(part,), errbackArgs=(part,))

    def _answered(self, answer: object, part: Part[E]) -> None:
        outcome = self._classify(answer)
        settings = self.settings
        if outcome.verdict is Verdict.OK:
            self._accepted()
            part.deferred.callback(outcome.detail)
        elif outcome.verdict is Verdict.THROTTLE:
            self._slowDown(outcome.detail)
            self._retry(part, settings.retry_initial_delay, CarrierBusy(outcome.detail),
                        outcome.detail)
        elif outcome.verdict is Verdict.RETRY:
            self._retry(part, self._backoff(part), CarrierBusy(outcome.detail), outcome.detail)
        else:
            self.log.warn("{peer} refused part {index} of {count} to {destination}: {error}",
                          peer=self.peer, index=part.index + 1, count=part.count,
                          destination=mask_phone(part.message.destination), error=outcome.detail)
            part.deferred.errback(PermanentSubmitError(outcome.detail, outcome.code))
        self.drain()

    def _unanswered(self, failure: Failure, part: Part[E]) -> None:
        if failure.check(ResponseTimeout):
            self._retry(part, self._backoff(part), cast(ResponseTimeout, failure.value),
                        "response_timeout")
        elif failure.check(LinkUnavailable):
            part.deferred.errback(failure)
        else:
            self.log.failure("{pdu} failed unexpectedly", failure, pdu=self.pdu)
            part.deferred.errback(RetryableSubmitError(failure.getErrorMessage()))
        self.drain()

    def _backoff(self, part: Part[E]) -> float:
        settings = self.settings
        return min(settings.retry_max_delay, settings.retry_initial_delay * 2 ** part.attempts)

    def _accepted(self) -> None:
        """Note an accepted part; regain `throttle_recovery` of the rate once a second while
        the carrier has said nothing of slowing down for a second. Regained per accepted part
        (as before), 50 parts a second won back in one second what a halving had taken, and the
        rate never came down to the carrier's limit."""
        now = self.clock.seconds()
        accepted = self._accepted_at
        accepted.append(now)
        while accepted[0] <= now - 1.0:
            accepted.popleft()
        if self._measuring_since is None:
            self._measuring_since = now
        bucket, settings = self.bucket, self.settings
        if bucket.rate < settings.rate and now - self._last_throttle >= 1.0 \
                and now - self._last_recovery >= 1.0:
            self._last_recovery = now
            bucket.rate = min(settings.rate,
                              bucket.rate + settings.rate * settings.throttle_recovery)

    def _slowDown(self, reason: str) -> None:
        # A whole window of answers says "throttled" at once: slow down once a second, not
        # once an answer; to just under what the carrier accepted in the last second when a
        # second of answers is known (its limit, as it enforces it), else to half.
        now = self.clock.seconds()
        self._last_throttle = now
        if now - self._last_slowdown < 1.0:
            return
        self._last_slowdown = now
        bucket = self.bucket
        slower = bucket.rate / 2
        accepted = self._accepted_at
        while accepted and accepted[0] <= now - 1.0:
            accepted.popleft()
        if self._measuring_since is not None and now - self._measuring_since >= 1.0 and accepted:
            slower = min(bucket.rate * 0.9, len(accepted) * 0.9)
        slower = max(self.settings.throttle_min_rate, slower)
        if slower < bucket.rate:
            self.log.warn("{peer} says {status}: slowing {name} from {old:.1f} to {new:.1f} "
                          "submits/s", peer=self.peer, status=reason, name=self.name,
                          old=bucket.rate, new=slower)
        bucket.rate = slower
        bucket.consume()  # spend what was saved up: the burst is what got us throttled

    def _retry(self, part: Part[E], delay: float, error: RetryableSubmitError,
               status: str) -> None:
        part.attempts += 1
        if part.attempts > self.settings.retry_limit or self.carrier is None:
            part.deferred.errback(error)
            return
        self.retries[status] += 1
        self.log.info("Retrying part {index} to {destination} in {delay}s after {error} "
                      "(attempt {attempt})", index=part.index + 1,
                      destination=mask_phone(part.message.destination), delay=delay,
                      error=str(error), attempt=part.attempts)
        self._retrying.add(part)
        part.retry_call = self.clock.callLater(delay, self._requeue, part)

    def _requeue(self, part: Part[E]) -> None:
        self._retrying.discard(part)
        part.retry_call = None
        self._queue.appendleft(part)
        self.drain()

    def _settled(self, result, part: Part[E]):
        owner = part.owner
        owner.unsettled -= 1
        if owner.unsettled == 0 and owner.encoded.reference is not None:
            self.references.release(owner.message.destination, owner.encoded.reference)
        return result


class PumpedLink(MultiService, Generic[C, E]):
    """What every `ISmsLink` over a `SubmitPump` does alike: available while its connection can
    submit and it is not stopping (`since` is when that last changed, for /healthz), callers
    waiting for that, and the parts failed when the connection goes or the link stops.

    A subclass builds `self.submits` and its connection(s), says how a message is cut into
    parts (`submit`) and its message ids' keys, and calls `_carrierUp` / `_carrierLost`.
    """

    submits: SubmitPump[C, E]
    not_ready = "is not connected"  # why a message is refused while down: "<name> is not ..."

    def __init__(self, name: str, clock: IReactorTime):
        super().__init__()
        self.name = name
        self.clock = clock
        self._available_waiters: list[Deferred] = []
        self._stopping = False
        self.since = clock.seconds()  # when is_available() last changed (clock seconds)
        # Why the link last failed to come up, for /healthz ("ESME_RBINDFAIL: bind refused");
        # None once it is up.
        self.down_reason: str | None = None

    def is_available(self) -> bool:
        carrier = self.submits.carrier
        return carrier is not None and carrier.can_submit and not self._stopping

    def when_available(self) -> Deferred:
        if self.is_available():
            return succeed(None)
        d: Deferred = Deferred()
        self._available_waiters.append(d)
        return d

    def pending(self) -> int:
        return self.submits.pending()

    def startService(self) -> None:
        self._stopping = False
        self.since = self.clock.seconds()
        super().startService()

    def _enqueue(self, message: OutboundMessage, encoded: E) -> Submission:
        unavailable = None
        if not self.is_available():
            unavailable = "link stopping" if self._stopping else f"{self.name} {self.not_ready}"
        return self.submits.submit(message, encoded, unavailable=unavailable)

    def _carrierUp(self, carrier: C) -> None:
        if self.submits.carrier is None:
            self.since = self.clock.seconds()
        self.down_reason = None
        self.submits.attach(carrier)
        waiters, self._available_waiters = self._available_waiters, []
        for d in waiters:
            d.callback(None)
        self.submits.drain()

    def _carrierLost(self, carrier: C) -> None:
        if carrier is not self.submits.carrier:
            return
        self.since = self.clock.seconds()
        self.down_reason = self.down_reason or "link lost"
        self.submits.detach(LinkUnavailable(f"{self.name} link lost"))

    def _beginStop(self) -> None:
        """Refuse new parts and fail those not yet sent; the answers to the rest still come."""
        self._stopping = True
        self.since = self.clock.seconds()
        self.submits.fail_waiting(LinkUnavailable(f"{self.name} link stopping"))


def check_pump_settings(settings: Any, bad: Callable[[str, str], Exception]) -> None:
    """The pump's keys of a carrier bind's table (CMPP, SMGP, SGIP), validated alike: `bad(key,
    expected)` builds the error naming the key."""
    if not 1 <= settings.window <= 1000:
        raise bad("window", "1..1000")
    if not settings.rate > 0:
        raise bad("rate", "a positive number of submits per second")
    if settings.burst < 0:
        raise bad("burst", "0 or more")
    for name in ("retry_initial_delay", "retry_max_delay"):
        if not getattr(settings, name) > 0:
            raise bad(name, "a positive number of seconds")
    if not settings.throttle_min_rate > 0:
        raise bad("throttle_min_rate", "a positive number of submits per second")
    if not 1 <= settings.max_parts <= 255:
        raise bad("max_parts", "1..255")
    if settings.retry_limit < 0:
        raise bad("retry_limit", "0 or more")
    if not 0 < settings.throttle_recovery <= 1:
        raise bad("throttle_recovery", "a fraction in (0, 1]")
