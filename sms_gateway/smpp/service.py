"""`SmppLink`: one SMSC account as an `ISmsLink`, kept bound by `ClientService`.

Owns the bind(s) (a transceiver, or a transmitter and a receiver), the submit queue, the window
of outstanding submit_sm, the token bucket at the contracted rate (per PDU), and what to do with
each answer: ESME_RTHROTTLED / ESME_RMSGQFUL slow the bind down and retry the part;
ESME_RSYSERR and response timeouts retry with backoff; any other error fails the part with the
status name. When the link drops, every part not yet answered fails with `LinkUnavailable` (a
`RetryableSubmitError`): the outbox resends it; nothing waits in memory for a reconnect.
"""

from __future__ import annotations

import collections
import dataclasses

from twisted.application.internet import ClientService, backoffPolicy
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime, IStreamClientEndpoint
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from hotline.masking import mask_phone
from hotline.reconnect import guarded
from sms_gateway.encoding import (
    EncodedMessage,
    ReferenceAllocator,
    ReferencesExhausted,
    count_parts,
    encode_message,
)
from sms_gateway.link import (
    CarrierBusy,
    DeliveryReceipt,
    ISmsLink,
    LinkUnavailable,
    MessageHandler,
    OutboundMessage,
    PermanentSubmitError,
    ReceiptHandler,
    ResponseTimeout,
    RetryableSubmitError,
    Submission,
)
from sms_gateway.receipts import message_id_keys
from sms_gateway.smpp import codec
from sms_gateway.smpp.config import SmppBindConfig
from sms_gateway.smpp.protocol import EsmeProtocol
from sms_gateway.smpp.throttle import TokenBucket

_SLOW_DOWN = (codec.ESME_RTHROTTLED, codec.ESME_RMSGQFUL)


@dataclasses.dataclass(eq=False)
class _Message:
    message: OutboundMessage
    encoded: EncodedMessage
    unsettled: int


@dataclasses.dataclass(eq=False)
class _Part:
    owner: _Message
    index: int
    short_message: bytes
    deferred: Deferred
    attempts: int = 0
    retry_call: IDelayedCall | None = None


@implementer(ISmsLink)
class SmppLink(MultiService):
    """An `ISmsLink` over SMPP 3.4.

    `endpoint` is where the SMSC listens (one connection per bind is made to it); `clock` runs
    every timer; `on_receipt` and `on_message` store what comes back and return Deferreds.
    `retry_policy` (attempt -> seconds) overrides the reconnect backoff built from the config.
    """

    log = Logger()

    def __init__(
        self,
        config: SmppBindConfig,
        endpoint: IStreamClientEndpoint,
        clock: IReactorTime,
        *,
        on_receipt: ReceiptHandler,
        on_message: MessageHandler,
        name: str = "smpp",
        retry_policy=None,
    ):
        super().__init__()
        self.name = name
        self.config = config
        self.clock = clock
        self.on_receipt = on_receipt
        self.on_message = on_message
        self.references = ReferenceAllocator()
        self.bucket = TokenBucket(config.rate, config.bucket_depth, clock)
        self._queue: collections.deque[_Part] = collections.deque()
        self._retrying: set[_Part] = set()
        self._transmitter: EsmeProtocol | None = None
        self._bound: set[EsmeProtocol] = set()
        self._available_waiters: list[Deferred] = []
        self._pump_call: IDelayedCall | None = None
        self._stopping = False
        self._last_slowdown = float("-inf")
        self.since = clock.seconds()  # when is_available() last changed (clock seconds)
        policy = retry_policy or backoffPolicy(
            initialDelay=config.reconnect_initial_delay, maxDelay=config.reconnect_max_delay)
        commands = ("bind_transceiver",) if config.bind_mode == "transceiver" else (
            "bind_transmitter", "bind_receiver")
        self.binds: list[ClientService] = []
        for command in commands:
            bind = ClientService(
                # An SMSC closes after a refused bind: see `hotline.reconnect`.
                guarded(endpoint), _EsmeFactory(self, command),
                retryPolicy=policy, clock=clock, prepareConnection=_bind,
            )
            bind.setName(f"{name}:{command}")
            bind.setServiceParent(self)
            self.binds.append(bind)

    # -- ISmsLink ---------------------------------------------------------------------------------

    def is_available(self) -> bool:
        return self._transmitter is not None and self._transmitter.can_submit and not self._stopping

    def when_available(self) -> Deferred:
        if self.is_available():
            return succeed(None)
        d: Deferred = Deferred()
        self._available_waiters.append(d)
        return d

    def pending(self) -> int:
        in_flight = self._transmitter.submits_outstanding if self._transmitter else 0
        return len(self._queue) + len(self._retrying) + in_flight

    def submit_id_keys(self, message_id: str) -> frozenset[str]:
        return message_id_keys(message_id, self.config.submit_id_base)

    def receipt_id_keys(self, receipt: DeliveryReceipt) -> frozenset[str]:
        return message_id_keys(receipt.message_id, self.config.receipt_id_base)

    def startService(self) -> None:
        self._stopping = False
        self.since = self.clock.seconds()
        super().startService()

    def submit(self, message: OutboundMessage) -> Submission:
        destination = message.destination
        try:
            encoded = encode_message(
                message.text, max_parts=self.config.max_parts,
                reference=lambda: self.references.allocate(destination),
            )
        except ReferencesExhausted as e:
            encoding, count = count_parts(message.text)
            return Submission(tuple(fail(CarrierBusy(str(e))) for _ in range(count)), encoding)
        owner = _Message(message, encoded, len(encoded.parts))
        parts = [_Part(owner, i, data, Deferred()) for i, data in enumerate(encoded.parts)]
        for part in parts:
            part.deferred.addBoth(self._partSettled, part)
        submission = Submission(tuple(p.deferred for p in parts), encoded.encoding)
        if not self.is_available():
            reason = "link stopping" if self._stopping else f"{self.name} is not bound"
            for part in parts:
                part.deferred.errback(LinkUnavailable(reason))
            return submission
        self._queue.extend(parts)
        self._pump()
        return submission

    # -- binds coming and going -------------------------------------------------------------------

    def _protocolBound(self, protocol: EsmeProtocol) -> None:
        self._bound.add(protocol)
        if protocol.can_submit:
            if self._transmitter is None:
                self.since = self.clock.seconds()
            self._transmitter = protocol
            waiters, self._available_waiters = self._available_waiters, []
            for d in waiters:
                d.callback(None)
            self._pump()

    def _protocolLost(self, protocol: EsmeProtocol) -> None:
        self._bound.discard(protocol)
        if protocol is not self._transmitter:
            return
        self._transmitter = None
        self.since = self.clock.seconds()
        self._failWaiting(LinkUnavailable(f"{self.name} link lost"))

    def _failWaiting(self, error: RetryableSubmitError) -> None:
        """Fail every part not yet sent (queued, or waiting to be retried)."""
        if self._pump_call is not None and self._pump_call.active():
            self._pump_call.cancel()
        self._pump_call = None
        waiting = list(self._queue)
        self._queue.clear()
        for part in list(self._retrying):
            if part.retry_call is not None and part.retry_call.active():
                part.retry_call.cancel()
            waiting.append(part)
        self._retrying.clear()
        for part in waiting:
            part.deferred.errback(error)

    def stopService(self) -> Deferred:
        """Fail what is not yet sent, wait for the answers to what is, unbind, disconnect."""
        self._stopping = True
        self.since = self.clock.seconds()
        self._failWaiting(LinkUnavailable(f"{self.name} link stopping"))

        async def stop() -> None:
            for protocol in list(self._bound):
                await protocol.unbind()
            await MultiService.stopService(self)

        return Deferred.fromCoroutine(stop())

    # -- the submit pump --------------------------------------------------------------------------

    def _pump(self) -> None:
        protocol = self._transmitter
        queue = self._queue
        window = self.config.window
        bucket = self.bucket
        while queue and protocol is not None and protocol.can_submit:
            if protocol.submits_outstanding >= window:
                return  # a response will pump again
            if not bucket.consume():
                if self._pump_call is None or not self._pump_call.active():
                    self._pump_call = self.clock.callLater(bucket.delay(), self._pump)
                return
            self._send(protocol, queue.popleft())

    def _send(self, protocol: EsmeProtocol, part: _Part) -> None:
        config = self.config
        message = part.owner.message
        encoded = part.owner.encoded
        d = protocol.submit(
            source_addr_ton=config.source_addr_ton, source_addr_npi=config.source_addr_npi,
            source_addr=message.source or config.source_addr,
            dest_addr_ton=config.dest_addr_ton, dest_addr_npi=config.dest_addr_npi,
            destination_addr=message.destination,
            esm_class=encoded.esm_class, data_coding=encoded.data_coding,
            registered_delivery=config.registered_delivery if message.request_receipt else 0,
            short_message=part.short_message,
        )
        d.addCallbacks(self._answered, self._unanswered, callbackArgs=(part,), errbackArgs=(part,))

    def _answered(self, pdu: codec.Pdu, part: _Part) -> None:
        status = pdu.status
        if status == codec.ESME_ROK:
            bucket = self.bucket
            if bucket.rate < self.config.rate:
                bucket.rate = min(self.config.rate, bucket.rate + self.config.rate * self.config.throttle_recovery)
            part.deferred.callback(pdu.text_field("message_id"))
        elif status in _SLOW_DOWN:
            self._slowDown(status)
            self._retry(part, self.config.retry_initial_delay, CarrierBusy(codec.status_name(status)))
        elif status == codec.ESME_RSYSERR:
            self._retry(part, self._backoff(part), CarrierBusy(codec.status_name(status)))
        else:
            name = codec.status_name(status)
            self.log.warn(
                "SMSC refused part {index} of {count} to {destination}: {status}",
                index=part.index + 1, count=len(part.owner.encoded.parts),
                destination=mask_phone(part.owner.message.destination), status=name,
            )
            part.deferred.errback(PermanentSubmitError(name, status))
        self._pump()

    def _unanswered(self, failure: Failure, part: _Part) -> None:
        if failure.check(ResponseTimeout):
            self._retry(part, self._backoff(part), failure.value)
        elif failure.check(LinkUnavailable):
            part.deferred.errback(failure)
        else:
            self.log.failure("submit_sm failed unexpectedly", failure)
            part.deferred.errback(RetryableSubmitError(failure.getErrorMessage()))
        self._pump()

    def _backoff(self, part: _Part) -> float:
        config = self.config
        return min(config.retry_max_delay, config.retry_initial_delay * 2 ** part.attempts)

    def _slowDown(self, status: int) -> None:
        # A whole window of answers says "throttled" at once: halve once per second, not per answer.
        now = self.clock.seconds()
        if now - self._last_slowdown < 1.0:
            return
        self._last_slowdown = now
        bucket = self.bucket
        slower = max(self.config.throttle_min_rate, bucket.rate / 2)
        if slower < bucket.rate:
            self.log.warn("SMSC says {status}: slowing {name} from {old:.1f} to {new:.1f} PDU/s",
                          status=codec.status_name(status), name=self.name, old=bucket.rate, new=slower)
        bucket.rate = slower
        bucket.consume()  # spend what was saved up: the burst is what got us throttled

    def _retry(self, part: _Part, delay: float, error: RetryableSubmitError) -> None:
        part.attempts += 1
        if part.attempts > self.config.retry_limit or self._transmitter is None:
            part.deferred.errback(error)
            return
        self.log.info("Retrying part {index} to {destination} in {delay}s after {error} (attempt {attempt})",
                      index=part.index + 1, destination=mask_phone(part.owner.message.destination),
                      delay=delay, error=str(error), attempt=part.attempts)
        self._retrying.add(part)
        part.retry_call = self.clock.callLater(delay, self._requeue, part)

    def _requeue(self, part: _Part) -> None:
        self._retrying.discard(part)
        part.retry_call = None
        self._queue.appendleft(part)
        self._pump()

    def _partSettled(self, result, part: _Part):
        owner = part.owner
        owner.unsettled -= 1
        if owner.unsettled == 0 and owner.encoded.reference is not None:
            self.references.release(owner.message.destination, owner.encoded.reference)
        return result


def _bind(protocol) -> Deferred:
    return protocol.bind()


class _EsmeFactory(Factory):
    noisy = False  # binds coming and going are logged by the protocol
    def __init__(self, link: SmppLink, bind_command: str):
        self.link = link
        self.bind_command = bind_command

    def buildProtocol(self, addr) -> EsmeProtocol:
        link = self.link
        return EsmeProtocol(
            link.config, link.clock, self.bind_command,
            on_receipt=lambda receipt: link.on_receipt(receipt),
            on_message=lambda message: link.on_message(message),
            on_bound=link._protocolBound, on_lost=link._protocolLost,
        )
