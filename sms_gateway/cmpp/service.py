"""`CmppLink`: one CMPP account at an ISMG as an `ISmsLink`, kept connected by `ClientService`.

Owns the connection (one long connection carries submits, reports and replies), the submit
queue, the window of CMPP_SUBMIT awaiting their response (16 by default, as ISMGs enforce),
the token bucket at the contracted rate, and what to do with each answer: Result 8 (flow
control) slows the link down and retries the part; a response timeout retries with backoff;
any other Result fails the part, named (``CMPP Result 13 Dest_terminal_Id错误``). Each part's
Msg_Id from CMPP_SUBMIT_RESP is its message id (the 64-bit number in decimal), which is what
the status report carries, so a report matches its part exactly. When the link drops, every
part not yet answered fails with `LinkUnavailable`: the outbox resends it; nothing waits in
memory for a reconnect. The dispatcher sees what it sees of an `SmppLink`.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import cast

from twisted.application.internet import ClientService, backoffPolicy
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import (
    IDelayedCall,
    IProtocol,
    IReactorTime,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from hotline.masking import mask_phone
from hotline.reconnect import guarded
from sms_gateway.cmpp import codec
from sms_gateway.cmpp.config import CmppBindConfig
from sms_gateway.cmpp.protocol import CmppClientProtocol, RecentDeliveries
from sms_gateway.cmpp.segments import CmppText, count_parts, encode_text
from sms_gateway.encoding import ReferenceAllocator, ReferencesExhausted
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
from sms_gateway.smpp.throttle import TokenBucket  # one rule for "the contracted rate"


@dataclasses.dataclass(eq=False)
class _Message:
    message: OutboundMessage
    encoded: CmppText
    unsettled: int


@dataclasses.dataclass(eq=False)
class _Part:
    owner: _Message
    index: int
    content: bytes
    deferred: Deferred
    attempts: int = 0
    retry_call: IDelayedCall | None = None


def submit_error(result: int) -> str:
    """How a refused part's error reads in the outbox: the Result and the specification's name."""
    return f"CMPP Result {result} {codec.result_name(result)}"


@implementer(ISmsLink)
class CmppLink(MultiService):
    """An `ISmsLink` over CMPP 2.0 or 3.0 (`config.protocol`).

    `endpoint` is where the ISMG listens; `clock` runs every timer; `on_receipt` and
    `on_message` store what comes back and return Deferreds. `retry_policy` (attempt ->
    seconds) overrides the reconnect backoff built from the config.
    """

    log = Logger()

    def __init__(
        self,
        config: CmppBindConfig,
        endpoint: IStreamClientEndpoint,
        clock: IReactorTime,
        *,
        on_receipt: ReceiptHandler,
        on_message: MessageHandler,
        name: str = "cmpp",
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
        self.recent = RecentDeliveries()
        self._queue: collections.deque[_Part] = collections.deque()
        self._retrying: set[_Part] = set()
        self._protocol: CmppClientProtocol | None = None
        self._available_waiters: list[Deferred] = []
        self._pump_call: IDelayedCall | None = None
        self._stopping = False
        self._last_slowdown = float("-inf")
        self.since = clock.seconds()  # when is_available() last changed (clock seconds)
        policy = retry_policy or backoffPolicy(
            initialDelay=config.reconnect_initial_delay, maxDelay=config.reconnect_max_delay)
        self.connection = ClientService(
            # An ISMG closes after a refused CMPP_CONNECT: see `hotline.reconnect`.
            guarded(endpoint), _CmppFactory(self), retryPolicy=policy, clock=clock,
            prepareConnection=_connect)
        self.connection.setName(f"{name}:{config.protocol}")
        self.connection.setServiceParent(self)

    # -- ISmsLink ---------------------------------------------------------------------------------

    def is_available(self) -> bool:
        return self._protocol is not None and self._protocol.can_submit and not self._stopping

    def when_available(self) -> Deferred:
        if self.is_available():
            return succeed(None)
        d: Deferred = Deferred()
        self._available_waiters.append(d)
        return d

    def pending(self) -> int:
        in_flight = self._protocol.submits_outstanding if self._protocol else 0
        return len(self._queue) + len(self._retrying) + in_flight

    def submit_id_keys(self, message_id: str) -> frozenset[str]:
        return message_id_keys(message_id, 10)

    def receipt_id_keys(self, receipt: DeliveryReceipt) -> frozenset[str]:
        return message_id_keys(receipt.message_id, 10)

    def startService(self) -> None:
        self._stopping = False
        self.since = self.clock.seconds()
        super().startService()

    def submit(self, message: OutboundMessage) -> Submission:
        destination = message.destination
        try:
            encoded = encode_text(
                message.text, msg_fmt=self.config.msg_fmt, max_parts=self.config.max_parts,
                reference=lambda: self.references.allocate(destination))
        except ReferencesExhausted as e:
            encoding, count = count_parts(message.text, self.config.msg_fmt)
            return Submission(tuple(fail(CarrierBusy(str(e))) for _ in range(count)), encoding)
        owner = _Message(message, encoded, len(encoded.parts))
        parts = [_Part(owner, i, data, Deferred()) for i, data in enumerate(encoded.parts)]
        for part in parts:
            part.deferred.addBoth(self._partSettled, part)
        submission = Submission(tuple(p.deferred for p in parts), encoded.encoding)
        if not self.is_available():
            reason = "link stopping" if self._stopping else f"{self.name} is not connected"
            for part in parts:
                part.deferred.errback(LinkUnavailable(reason))
            return submission
        self._queue.extend(parts)
        self._pump()
        return submission

    # -- the connection coming and going ----------------------------------------------------------

    def _protocolBound(self, protocol: CmppClientProtocol) -> None:
        if self._protocol is None:
            self.since = self.clock.seconds()
        self._protocol = protocol
        waiters, self._available_waiters = self._available_waiters, []
        for d in waiters:
            d.callback(None)
        self._pump()

    def _protocolLost(self, protocol: CmppClientProtocol) -> None:
        if protocol is not self._protocol:
            return
        self._protocol = None
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
        """Fail what is not yet sent, wait for the answers to what is, CMPP_TERMINATE."""
        self._stopping = True
        self.since = self.clock.seconds()
        self._failWaiting(LinkUnavailable(f"{self.name} link stopping"))

        async def stop() -> None:
            if self._protocol is not None:
                await self._protocol.terminate()
            await MultiService.stopService(self)

        return Deferred.fromCoroutine(stop())

    # -- the submit pump --------------------------------------------------------------------------

    def _pump(self) -> None:
        protocol = self._protocol
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

    def _send(self, protocol: CmppClientProtocol, part: _Part) -> None:
        config = self.config
        message = part.owner.message
        encoded = part.owner.encoded
        pdu = codec.Submit(
            pk_total=len(encoded.parts), pk_number=part.index + 1,
            registered_delivery=config.registered_delivery if message.request_receipt else 0,
            service_id=config.service_id, fee_user_type=config.fee_user_type,
            fee_terminal_id=config.fee_terminal_id, tp_udhi=encoded.udhi,
            msg_fmt=encoded.msg_fmt, msg_src=config.sp_id, fee_type=config.fee_type,
            fee_code=config.fee_code, src_id=message.source or config.src_id,
            dest_terminal_ids=(message.destination,), msg_content=part.content,
        )
        try:
            d = protocol.submit(pdu)
        except codec.CodecError as error:  # a sender or number no field can hold
            part.deferred.errback(PermanentSubmitError(f"CMPP_SUBMIT cannot be built: {error}"))
            return
        d.addCallbacks(self._answered, self._unanswered, callbackArgs=(part,), errbackArgs=(part,))

    def _answered(self, pdu: codec.SubmitResp, part: _Part) -> None:
        result = pdu.result
        if result == codec.RESULT_OK:
            bucket = self.bucket
            if bucket.rate < self.config.rate:
                bucket.rate = min(self.config.rate,
                                  bucket.rate + self.config.rate * self.config.throttle_recovery)
            part.deferred.callback(codec.format_msg_id(pdu.msg_id))
        elif result == codec.RESULT_FLOW_CONTROL:
            self._slowDown()
            self._retry(part, self.config.retry_initial_delay, CarrierBusy(submit_error(result)))
        else:
            error = submit_error(result)
            self.log.warn("ISMG refused part {index} of {count} to {destination}: {error}",
                          index=part.index + 1, count=len(part.owner.encoded.parts),
                          destination=mask_phone(part.owner.message.destination), error=error)
            part.deferred.errback(PermanentSubmitError(error, result))
        self._pump()

    def _unanswered(self, failure: Failure, part: _Part) -> None:
        if failure.check(ResponseTimeout):
            self._retry(part, self._backoff(part), cast(ResponseTimeout, failure.value))
        elif failure.check(LinkUnavailable):
            part.deferred.errback(failure)
        else:
            self.log.failure("CMPP_SUBMIT failed unexpectedly", failure)
            part.deferred.errback(RetryableSubmitError(failure.getErrorMessage()))
        self._pump()

    def _backoff(self, part: _Part) -> float:
        config = self.config
        return min(config.retry_max_delay, config.retry_initial_delay * 2 ** part.attempts)

    def _slowDown(self) -> None:
        # A whole window of answers says "flow control" at once: halve once a second, not
        # once an answer.
        now = self.clock.seconds()
        if now - self._last_slowdown < 1.0:
            return
        self._last_slowdown = now
        bucket = self.bucket
        slower = max(self.config.throttle_min_rate, bucket.rate / 2)
        if slower < bucket.rate:
            self.log.warn("ISMG says Result 8 (流量控制错): slowing {name} from {old:.1f} to "
                          "{new:.1f} submits/s", name=self.name, old=bucket.rate, new=slower)
        bucket.rate = slower
        bucket.consume()  # spend what was saved up: the burst is what got us slowed down

    def _retry(self, part: _Part, delay: float, error: RetryableSubmitError) -> None:
        part.attempts += 1
        if part.attempts > self.config.retry_limit or self._protocol is None:
            part.deferred.errback(error)
            return
        self.log.info("Retrying part {index} to {destination} in {delay}s after {error} "
                      "(attempt {attempt})", index=part.index + 1,
                      destination=mask_phone(part.owner.message.destination), delay=delay,
                      error=str(error), attempt=part.attempts)
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


def _connect(protocol: IProtocol) -> Deferred:
    return cast(CmppClientProtocol, protocol).connect()


class _CmppFactory(Factory):
    noisy = False  # connections coming and going are logged by the protocol

    def __init__(self, link: CmppLink):
        self.link = link

    def buildProtocol(self, addr) -> CmppClientProtocol:
        link = self.link
        return CmppClientProtocol(
            link.config, link.clock,
            on_receipt=lambda receipt: link.on_receipt(receipt),
            on_message=lambda message: link.on_message(message),
            on_bound=link._protocolBound, on_lost=link._protocolLost, recent=link.recent,
        )
