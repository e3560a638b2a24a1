"""What the SP side of a carrier's long connection does whatever the protocol (CMPP to China
Mobile's ISMG, SMGP to China Telecom's SMGW): requests matched with their responses by
sequence number, each with a timeout, and a way to wait until none is outstanding; the
heartbeat (an active test after `heartbeat_interval` of silence, sent again at once when
unanswered, the link dropped after `heartbeat_misses` in a row); and what comes in from the
carrier (status reports and replies) handed to the owner's handlers, acknowledged only once
their Deferred fired, a reply in parts reassembled first, and a delivery the carrier sends
again after our acknowledgement was lost recognised and answered without storing it twice.

The framing is shared too (`CarrierFramer`): both count the whole PDU in its first four
octets. A protocol subclass says what its words are: how a PDU is encoded and which request it is,
its active test, its delivery acknowledgement, and how it logs in and says goodbye. One home
for these rules: CMPP and SMGP had each written them out.
"""

from __future__ import annotations

import abc
import collections
import dataclasses
import datetime as dt
import enum
import struct
from collections.abc import Callable, Hashable, Iterable
from typing import Any, ClassVar, cast

from twisted.internet import protocol
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime, ITCPTransport
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from hotline.masking import mask_phone, mask_text
from sms_gateway.link import LinkUnavailable, ResponseTimeout
from sms_gateway.receipts import MoFragment, MoReassembler

HEADER_LENGTH = 12
_LENGTH = struct.Struct(">L")


class CarrierFramer(protocol.Protocol, metaclass=abc.ABCMeta):
    """The stream into whole PDUs: a four-octet length that counts the whole PDU (its own four
    octets included) and a header, as CMPP's Total_Length, SMGP's PacketLength and SGIP's
    Message Length. A length under the header's (12 octets; SGIP's 20) or over `MAX_LENGTH` cannot be resynchronised and neither protocol has a
    generic_nack to say so: the connection is dropped with the reason logged, before anything
    is buffered. Subclasses name the protocol and its length field and implement
    `pduReceived(data)`; `sendPdu` writes to the transport only.
    """

    log = Logger()
    transport: ITCPTransport  # set by makeConnection before any data
    MAX_LENGTH = 4096
    HEADER_LENGTH = HEADER_LENGTH  # SGIP's header is 20 octets
    PROTOCOL: ClassVar[str]
    LENGTH_FIELD: ClassVar[str]
    _buffer = b""
    _framingBroken = False
    _receiving = False

    def dataReceived(self, data: bytes) -> None:
        if self._framingBroken:
            return
        self._buffer += data
        if self._receiving:
            return  # fed from a handler: the loop further up the stack reads it in turn
        self._receiving = True
        offset = 0
        try:
            while not self._framingBroken:
                buffer = self._buffer
                if len(buffer) - offset < 4:
                    break
                (length,) = _LENGTH.unpack_from(buffer, offset)
                if length < self.HEADER_LENGTH or length > self.MAX_LENGTH:
                    self.lengthLimitExceeded(length)
                    break
                if len(buffer) - offset < length:
                    break
                pdu = buffer[offset:offset + length]
                offset += length
                self.pduReceived(pdu)
        finally:
            self._receiving = False
            self._buffer = b"" if self._framingBroken else self._buffer[offset:]

    def stopFraming(self) -> None:
        """No more PDUs: the connection is gone (call from connectionLost)."""
        self._framingBroken = True

    def lengthLimitExceeded(self, length: int) -> None:
        self._framingBroken = True
        self.log.error(
            "Dropping {protocol} link: {field} {length} outside {minimum}..{maximum} (peer {peer})",
            protocol=self.PROTOCOL, field=self.LENGTH_FIELD,
            length=length, minimum=self.HEADER_LENGTH, maximum=self.MAX_LENGTH,
            peer=str(self.transport.getPeer()) if self.transport else None,
        )
        self.transport.loseConnection()

    @abc.abstractmethod
    def pduReceived(self, data: bytes) -> None:
        """One whole PDU, its Total_Length checked against the limits."""

    def sendPdu(self, data: bytes) -> None:
        self.transport.write(data)


class RecentDeliveries:
    """Message ids of the deliveries stored lately, across reconnects: one the carrier sends
    again because our acknowledgement was lost is acknowledged without storing it twice."""

    def __init__(self, size: int = 4096):
        self._order: collections.deque[int] = collections.deque()
        self._ids: set[int] = set()
        self._size = size

    def __contains__(self, msg_id: object) -> bool:
        return msg_id in self._ids

    def add(self, msg_id: int) -> None:
        if not msg_id or msg_id in self._ids:
            return  # some gateways send 0: nothing to recognise a repeat by
        self._ids.add(msg_id)
        self._order.append(msg_id)
        if len(self._order) > self._size:
            self._ids.discard(self._order.popleft())


@dataclasses.dataclass
class _Request:
    kind: enum.IntEnum  # the request's command (Command_Id, RequestID)
    deferred: Deferred
    timeout: IDelayedCall | None


class CarrierClientProtocol(CarrierFramer, metaclass=abc.ABCMeta):
    """One long connection to a carrier's gateway. A subclass also inherits its framer (for the
    protocol's name, length field and limit).

    `on_receipt(receipt)` and `on_message(mo)` return Deferreds; the acknowledgement goes out
    after they fire. `on_bound` and `on_lost` tell the owner when this connection can be used
    and when it is gone. States: new, open, connecting, bound, closing, closed.
    """

    log = Logger()
    PEER: ClassVar[str]  # the gateway, in the log: "ISMG", "SMGW"
    ACTIVE_TEST: ClassVar[str]  # its active test's name, in the log
    RESPONSE_BIT = 0x80000000

    def __init__(
        self,
        config: Any,
        clock: IReactorTime,
        *,
        on_receipt: Callable,
        on_message: Callable,
        on_bound: Callable[[Any], None] | None = None,
        on_lost: Callable[[Any], None] | None = None,
        recent: RecentDeliveries | None = None,
    ):
        self.config = config
        self.clock = clock
        self.on_receipt = on_receipt
        self.on_message = on_message
        self.on_bound = on_bound
        self.on_lost = on_lost
        self.recent = recent if recent is not None else RecentDeliveries()
        self.state = "new"
        self.last_sequence: Any = None
        self.submits_outstanding = 0
        self._outstanding: dict[Any, _Request] = {}  # by sequence number
        self._drain_waiters: list[Deferred] = []
        self._last_received = 0.0
        self._missed = 0  # active tests unanswered in a row
        self._idle_call: IDelayedCall | None = None
        self._expiry_call: IDelayedCall | None = None
        self._reassembler = MoReassembler(config.mo_reassembly_timeout)

    # -- what a protocol says -------------------------------------------------------------------

    @abc.abstractmethod
    def encode(self, pdu: Any, sequence: Any) -> bytes:
        """The whole PDU; raises the codec's error for one no field can hold."""

    @abc.abstractmethod
    def kind(self, pdu: Any) -> enum.IntEnum:
        """The PDU's command (a response's has `RESPONSE_BIT` set)."""

    @abc.abstractmethod
    def nextSequence(self) -> Any:
        """The sequence number of the next request."""

    @abc.abstractmethod
    def activeTest(self) -> object:
        """The active test PDU."""

    @abc.abstractmethod
    def acknowledge(self, sequence: Any, msg_id: Any, status: int) -> None:
        """Write the delivery's answer (Status / Result `status`, 0 for stored)."""

    @staticmethod
    def recentKey(msg_id: Any) -> int:
        """A delivery's message id as `RecentDeliveries` keeps it."""
        return int(msg_id)

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def can_submit(self) -> bool:
        return self.state == "bound"

    @property
    def outstanding(self) -> int:
        return len(self._outstanding)

    def _where(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    def connectionMade(self) -> None:
        self.state = "open"
        self._last_received = self.clock.seconds()

    def _bound(self) -> None:
        """Logged in: the heartbeat starts and the owner is told."""
        self.state = "bound"
        self._missed = 0
        self._scheduleIdleCheck(self.config.heartbeat_interval)
        if self.on_bound is not None:
            self.on_bound(self)

    def _leave(self, goodbye: object) -> Deferred:
        """Stop submitting, wait for every outstanding response, send `goodbye` (CMPP_TERMINATE,
        Exit), disconnect."""
        if self.state not in ("bound", "connecting"):
            return succeed(None)
        self.state = "closing"

        async def leave() -> None:
            await self.whenDrained()
            if self.state == "closed":
                return
            try:
                await self.request(goodbye)
            except (ResponseTimeout, LinkUnavailable):
                pass  # leaving either way
            if self.state != "closed":
                self.transport.loseConnection()

        return Deferred.fromCoroutine(leave())

    def _closedByPeer(self, answer: object, sequence: Any) -> None:
        """The gateway says goodbye: answer it and disconnect."""
        self.log.info("{peer} {where} ends the link", peer=self.PEER, where=self._where())
        self.sendPdu(self.encode(answer, sequence))
        self.state = "closing"
        self.transport.loseConnection()

    def whenDrained(self) -> Deferred:
        """Fires once no request awaits its response."""
        if not self._outstanding:
            return succeed(None)
        d: Deferred = Deferred()
        self._drain_waiters.append(d)
        return d

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        was = self.state
        self.state = "closed"
        self.stopFraming()
        for call in (self._idle_call, self._expiry_call):
            if call is not None and call.active():
                call.cancel()
        self._idle_call = self._expiry_call = None
        outstanding, self._outstanding = self._outstanding, {}
        if was in ("bound", "closing") or outstanding:
            self.log.info("{protocol} link to {where} lost ({reason}); {count} requests "
                          "unanswered", protocol=self.PROTOCOL, where=self._where(),
                          count=len(outstanding), reason=reason.getErrorMessage())
        for sequence, request in outstanding.items():
            if request.timeout is not None and request.timeout.active():
                request.timeout.cancel()
            request.deferred.errback(LinkUnavailable(
                f"link lost before the response to {request.kind.name} #{sequence}"))
        # Parts of replies held back were never acknowledged: the gateway sends them again.
        self._reassembler.drain()
        self._fireDrained()
        if self.on_lost is not None and was != "new":
            self.on_lost(self)

    # -- requests and responses -----------------------------------------------------------------

    def request(self, pdu: Any, *, timeout: float | None = None) -> Deferred:
        """Send a request; fires with the response PDU, fails with `ResponseTimeout` or
        `LinkUnavailable`."""
        if self.state in ("closed", "new"):
            raise LinkUnavailable(f"{self.kind(pdu).name} on a connection that is {self.state}")
        sequence = self.nextSequence()
        data = self.encode(pdu, sequence)
        self.last_sequence = sequence  # SGIP names a submit by it
        d: Deferred = Deferred()
        delay = self.config.response_timeout if timeout is None else timeout
        call = self.clock.callLater(delay, self._timedOut, sequence)
        self._outstanding[sequence] = _Request(self.kind(pdu), d, call)
        self.sendPdu(data)
        return d

    def submit(self, pdu: Any) -> Deferred:
        """A submit, counted against the window until its response (or timeout, or loss)."""
        d = self.request(pdu)
        self.submits_outstanding += 1

        def settled(result):
            self.submits_outstanding -= 1
            return result

        return d.addBoth(settled)

    def _timedOut(self, sequence: Any) -> None:
        request = self._outstanding.pop(sequence, None)
        if request is None:
            return
        self.log.warn("No response to {command} #{sequence} from {where} within {timeout}s",
                      command=request.kind.name, sequence=sequence, where=self._where(),
                      timeout=self.config.response_timeout)
        request.deferred.errback(ResponseTimeout(
            f"no response to {request.kind.name} #{sequence}"))
        self._fireDrained()

    def _fireDrained(self) -> None:
        if self._outstanding or not self._drain_waiters:
            return
        waiters, self._drain_waiters = self._drain_waiters, []
        for d in waiters:
            d.callback(None)

    def _responseReceived(self, sequence: Any, pdu: Any, length: int) -> None:
        request = self._outstanding.get(sequence)
        kind = self.kind(pdu)
        if request is None or request.kind | self.RESPONSE_BIT != kind:
            self.log.warn("Unexpected {command} #{sequence}: no request waits for it",
                          command=kind.name, sequence=sequence)
            return
        del self._outstanding[sequence]
        if request.timeout is not None and request.timeout.active():
            request.timeout.cancel()
        self._answer(request.deferred, pdu, length)
        self._fireDrained()

    def _answer(self, deferred: Deferred, pdu: Any, length: int) -> None:
        """Fire a request's Deferred with its response (a protocol may refuse one here)."""
        deferred.callback(pdu)

    def _malformedLogged(self, error: Exception, sequence: Any, data: bytes) -> None:
        # The bytes are not logged in full: a delivery carries a citizen's number and text.
        self.log.error("Malformed {protocol} PDU #{sequence} from {where}: {error} ({length} "
                       "octets, header {header})", protocol=self.PROTOCOL, sequence=sequence,
                       where=self._where(), error=str(error), length=len(data),
                       header=data[:self.HEADER_LENGTH].hex())

    # -- the heartbeat --------------------------------------------------------------------------

    def _scheduleIdleCheck(self, delay: float) -> None:
        self._idle_call = self.clock.callLater(delay, self._idleCheck)

    def _idleCheck(self) -> None:
        self._idle_call = None
        if self.state not in ("bound", "closing"):
            return
        interval = self.config.heartbeat_interval
        quiet = self.clock.seconds() - self._last_received
        if quiet < interval:
            self._scheduleIdleCheck(interval - quiet)
            return
        self._sendActiveTest()

    def _sendActiveTest(self) -> None:
        self.request(self.activeTest()).addCallbacks(self._linkAlive, self._activeTestUnanswered)

    def _linkAlive(self, pdu: object) -> None:
        self._missed = 0
        if self.state in ("bound", "closing"):
            self._scheduleIdleCheck(self.config.heartbeat_interval)

    def _activeTestUnanswered(self, failure: Failure) -> None:
        if failure.check(ResponseTimeout) and self.state != "closed":
            self._missed += 1
            if self._missed >= self.config.heartbeat_misses:
                self.log.error("Dead {protocol} link to {where}: {count} {test} unanswered for "
                               "{timeout}s each; dropping it", protocol=self.PROTOCOL,
                               where=self._where(), count=self._missed, test=self.ACTIVE_TEST,
                               timeout=self.config.response_timeout)
                self.transport.abortConnection()
                return
            self._sendActiveTest()  # at once, as the specifications say
        elif not failure.check(LinkUnavailable):
            self.log.failure("{test} failed", failure, test=self.ACTIVE_TEST)

    # -- deliveries: status reports and replies -------------------------------------------------

    def _repeated(self, sequence: Any, msg_id: Any, shown: str) -> bool:
        """A delivery stored already (its acknowledgement was lost): answered, not stored."""
        if self.recentKey(msg_id) not in self.recent:
            return False
        self.log.info("Delivery {msg_id} #{sequence} again: stored already, acknowledged",
                      msg_id=shown, sequence=sequence)
        self.acknowledge(sequence, msg_id, 0)
        return True

    def _replyPart(self, fragment: MoFragment, token: tuple[Any, Any]) -> None:
        """One part of a reply: handed over once every part is in."""
        complete = self._reassembler.add(fragment, token, self.clock.seconds())
        if complete is None:
            self._scheduleExpiry()
            return
        message, tokens = complete
        message = dataclasses.replace(message, received_at=dt.datetime.fromtimestamp(
            self.clock.seconds(), dt.timezone.utc))
        self.log.info("MO from {source} to {destination} in {parts} part(s): {text}",
                      source=mask_phone(message.source), destination=message.destination,
                      parts=message.parts, text=mask_text(message.text))
        self._handOver(self.on_message, message, tokens)

    def _handOver(self, handler: Callable, item: object, tokens: Iterable[Hashable]) -> None:
        def stored(_: object) -> None:
            for sequence, msg_id in _tokens(tokens):
                self.recent.add(self.recentKey(msg_id))
                self._acknowledgeStored(sequence, msg_id)

        def failed(failure: Failure) -> None:
            self.log.failure("Could not store {kind}; not acknowledged, so the {peer} sends it "
                             "again", failure, kind=type(item).__name__, peer=self.PEER)

        maybeDeferred(handler, item).addCallbacks(stored, failed)

    def _acknowledgeStored(self, sequence: Any, msg_id: Any) -> None:
        if self.state == "closed":
            # The gateway never got the acknowledgement and sends it again: handlers are
            # idempotent.
            self.log.info("Delivery #{sequence} stored after the link closed; not "
                          "acknowledged", sequence=sequence)
            return
        self.acknowledge(sequence, msg_id, 0)

    def _scheduleExpiry(self) -> None:
        if self._expiry_call is None or not self._expiry_call.active():
            self._expiry_call = self.clock.callLater(self._reassembler.timeout, self._expireParts)

    def _expireParts(self) -> None:
        self._expiry_call = None
        for sequence, _ in _tokens(self._reassembler.expire(self.clock.seconds())):
            self.log.warn("Reply part #{sequence} incomplete after {timeout}s; dropped "
                          "unacknowledged, for the {peer} to send again", sequence=sequence,
                          timeout=self._reassembler.timeout, peer=self.PEER)
        if len(self._reassembler):
            self._scheduleExpiry()


def _tokens(tokens: Iterable[Hashable]) -> list[tuple[Any, Any]]:
    """The reassembler's tokens as these protocols make them: (sequence, message id)."""
    return [cast(tuple[Any, Any], token) for token in tokens]
