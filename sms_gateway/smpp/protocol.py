"""The ESME side of one SMPP connection: bind, requests and their responses, what the SMSC asks.

Bytes to PDUs and back, response matching by sequence number with a timeout, enquire_link on
silence (a missing response is a dead link: the connection is aborted), the SMSC's
enquire_link / unbind answered, deliver_sm turned into receipts and MO messages and
acknowledged only after the handler's Deferred fires. No business rules: what to send and
when to retry belongs to `sms_gateway.smpp.service.SmppLink`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from hotline.masking import mask_phone, mask_text
from sms_gateway.link import LinkUnavailable, ResponseTimeout
from sms_gateway.receipts import (
    MoReassembler,
    ReceiptParseError,
    is_receipt,
    mo_fragment,
    receipt_from_deliver,
)
from sms_gateway.smpp import codec
from sms_gateway.smpp.config import SmppBindConfig
from sms_gateway.smpp.framing import SmppFramer


class BindRefused(Exception):
    """The SMSC answered the bind with an error status."""

    def __init__(self, command: str, status: int):
        self.command = command
        self.status = status
        self.status_name = codec.status_name(status)
        super().__init__(f"{command} refused: {self.status_name}")


@dataclasses.dataclass
class _Request:
    command: str
    deferred: Deferred
    timeout: IDelayedCall | None


class EsmeProtocol(SmppFramer):
    """One connection to an SMSC, bound as `bind_command`.

    `on_receipt(receipt)` and `on_message(mo)` return Deferreds; the deliver_sm_resp goes out
    after they fire (ESME_RX_T_APPN if they fail, so the SMSC delivers again). `on_bound` and
    `on_lost` tell the owner when this connection can be used and when it is gone.
    """

    log = Logger()

    def __init__(
        self,
        config: SmppBindConfig,
        clock: IReactorTime,
        bind_command: str,
        *,
        on_receipt: Callable,
        on_message: Callable,
        on_bound: Callable[[EsmeProtocol], None] | None = None,
        on_lost: Callable[[EsmeProtocol], None] | None = None,
    ):
        self.config = config
        self.clock = clock
        self.bind_command = bind_command
        self.on_receipt = on_receipt
        self.on_message = on_message
        self.on_bound = on_bound
        self.on_lost = on_lost
        self.MAX_LENGTH = config.max_pdu_length
        self.pdusPerTurn = config.pdus_per_turn
        self.sequences = codec.SequenceGenerator()
        self.state = "new"  # open, binding, bound, unbinding, closed
        self.bound_once = False
        self.submits_outstanding = 0
        self._outstanding: dict[int, _Request] = {}
        self._drain_waiters: list[Deferred] = []
        self._last_received = 0.0
        self._idle_call: IDelayedCall | None = None
        self._expiry_call: IDelayedCall | None = None
        self._reassembler = MoReassembler(config.mo_reassembly_timeout)

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def can_submit(self) -> bool:
        return self.state == "bound" and self.bind_command != "bind_receiver"

    @property
    def outstanding(self) -> int:
        return len(self._outstanding)

    def connectionMade(self) -> None:
        self.state = "open"
        self._last_received = self.clock.seconds()

    def bind(self) -> Deferred:
        """Send the bind; fires with self once bound, fails with `BindRefused` (link dropped)."""
        self.state = "binding"
        config = self.config
        d = self.request(
            self.bind_command,
            system_id=config.system_id, password=config.password,
            system_type=config.system_type, addr_ton=0, addr_npi=0, address_range="",
        )
        return d.addCallbacks(self._bindAnswered, self._bindFailed)

    def _bindAnswered(self, pdu: codec.Pdu) -> EsmeProtocol:
        if pdu.status != codec.ESME_ROK:
            error = BindRefused(self.bind_command, pdu.status)
            self.log.error(
                "SMSC {host}:{port} refused {command} for {system_id}: {status}",
                host=self.config.host, port=self.config.port, command=self.bind_command,
                system_id=self.config.system_id, status=error.status_name,
            )
            self.transport.loseConnection()
            raise error
        self.state = "bound"
        self.bound_once = True
        self.log.info(
            "Bound {command} to {smsc} ({host}:{port}) as {system_id}",
            command=self.bind_command, smsc=pdu.text_field("system_id"),
            host=self.config.host, port=self.config.port, system_id=self.config.system_id,
        )
        self._scheduleIdleCheck(self.config.enquire_link_interval)
        if self.on_bound is not None:
            self.on_bound(self)
        return self

    def _bindFailed(self, failure: Failure) -> Failure:
        if not failure.check(BindRefused):
            self.log.error(
                "{command} to {host}:{port} failed: {reason}",
                command=self.bind_command, host=self.config.host, port=self.config.port,
                reason=failure.getErrorMessage(),
            )
            if self.transport is not None and self.state != "closed":
                self.transport.loseConnection()
        return failure

    def unbind(self) -> Deferred:
        """Stop submitting, wait for every outstanding response, unbind, drop the connection."""
        if self.state not in ("bound", "binding"):
            return succeed(None)
        self.state = "unbinding"

        async def unbind() -> None:
            await self.whenDrained()
            if self.state == "closed":
                return
            try:
                await self.request("unbind")
            except (ResponseTimeout, LinkUnavailable):
                pass  # we are leaving either way
            if self.state != "closed":
                self.transport.loseConnection()

        return Deferred.fromCoroutine(unbind())

    def whenDrained(self) -> Deferred:
        """Fires once no request awaits its response."""
        if not self._outstanding:
            return succeed(None)
        d: Deferred = Deferred()
        self._drain_waiters.append(d)
        return d

    def connectionLostUnannounced(self, reason: Failure) -> None:
        """connectionLost for a connection that never bound (see `service._BindGuard`)."""
        self.connectionLost(reason)

    def connectionLost(self, reason: Failure) -> None:
        was = self.state
        self.state = "closed"
        self.stopFraming()
        for call in (self._idle_call, self._expiry_call):
            if call is not None and call.active():
                call.cancel()
        self._idle_call = self._expiry_call = None
        outstanding, self._outstanding = self._outstanding, {}
        if was in ("bound", "unbinding") or outstanding:
            self.log.info(
                "SMPP link {command} to {host}:{port} lost ({reason}); {count} requests unanswered",
                command=self.bind_command, host=self.config.host, port=self.config.port,
                reason=reason.getErrorMessage(), count=len(outstanding),
            )
        for sequence, request in outstanding.items():
            if request.timeout is not None and request.timeout.active():
                request.timeout.cancel()
            request.deferred.errback(LinkUnavailable(
                f"link lost before the response to {request.command} #{sequence}"))
        # Held MO parts were never acknowledged: the SMSC delivers them again.
        self._reassembler.drain()
        self._fireDrained()
        if self.on_lost is not None and was != "new":
            self.on_lost(self)

    # -- requests and responses -------------------------------------------------------------------

    def request(self, command: str, *, timeout: float | None = None, **fields) -> Deferred:
        """Send a request; fires with the response `Pdu` (any status), fails with
        `ResponseTimeout` or `LinkUnavailable`."""
        if self.state in ("closed", "new"):
            raise LinkUnavailable(f"{command} on a connection that is {self.state}")
        sequence, data = codec.encode(command, client=self.sequences, **fields)
        d: Deferred = Deferred()
        delay = self.config.response_timeout if timeout is None else timeout
        call = self.clock.callLater(delay, self._timedOut, sequence)
        self._outstanding[sequence] = _Request(command, d, call)
        self.sendPdu(data)
        return d

    def submit(self, **fields) -> Deferred:
        """submit_sm, counted against the window until its response (or timeout, or loss)."""
        d = self.request("submit_sm", **fields)
        self.submits_outstanding += 1

        def settled(result):
            self.submits_outstanding -= 1
            return result

        return d.addBoth(settled)

    def _timedOut(self, sequence: int) -> None:
        request = self._outstanding.pop(sequence, None)
        if request is None:
            return
        self.log.warn(
            "No response to {command} #{sequence} from {host}:{port} within {timeout}s",
            command=request.command, sequence=sequence, host=self.config.host,
            port=self.config.port, timeout=self.config.response_timeout,
        )
        request.deferred.errback(ResponseTimeout(f"no response to {request.command} #{sequence}"))
        self._fireDrained()

    def _fireDrained(self) -> None:
        if self._outstanding or not self._drain_waiters:
            return
        waiters, self._drain_waiters = self._drain_waiters, []
        for d in waiters:
            d.callback(None)

    def _responseReceived(self, pdu: codec.Pdu) -> None:
        request = self._outstanding.pop(pdu.sequence, None)
        if request is None:
            self.log.warn(
                "Unexpected {command} #{sequence} (status {status}): no request waits for it",
                command=pdu.command, sequence=pdu.sequence, status=codec.status_name(pdu.status),
            )
            return
        if request.timeout is not None and request.timeout.active():
            request.timeout.cancel()
        request.deferred.callback(pdu)
        self._fireDrained()

    def pduReceived(self, data: bytes) -> None:
        self._last_received = self.clock.seconds()
        try:
            pdu = codec.decode(data)
        except codec.UnsupportedCommand as e:
            self.log.warn(
                "Answering generic_nack to unsupported command_id 0x{command_id:08X} #{sequence}",
                command_id=e.command_id, sequence=e.sequence,
            )
            if not e.command_id & codec.RESPONSE_BIT:
                self.sendPdu(codec.generic_nack(e.sequence, codec.ESME_RINVCMDID))
            return
        except codec.MalformedPdu as e:
            self._malformed(e, data)
            return
        if pdu.is_response:
            self._responseReceived(pdu)
        elif pdu.command == "deliver_sm":
            self._deliverReceived(pdu)
        elif pdu.command == "enquire_link":
            self.sendPdu(codec.encode("enquire_link_resp", pdu.sequence)[1])
        elif pdu.command == "unbind":
            self.log.info("SMSC {host}:{port} unbinds", host=self.config.host, port=self.config.port)
            self.sendPdu(codec.encode("unbind_resp", pdu.sequence)[1])
            self.state = "unbinding"
            self.transport.loseConnection()
        elif pdu.command == "alert_notification":
            self.log.info("alert_notification for {addr}", addr=mask_phone(pdu.text_field("source_addr")))
        else:
            self.log.warn(
                "Answering generic_nack to {command} #{sequence}: not handled by an ESME",
                command=pdu.command, sequence=pdu.sequence,
            )
            self.sendPdu(codec.generic_nack(pdu.sequence, codec.ESME_RINVCMDID))

    def _malformed(self, error: codec.MalformedPdu, data: bytes) -> None:
        # The bytes are not logged in full: a deliver_sm carries a citizen's number and text.
        self.log.error("Malformed PDU #{sequence}, answered {status}: {error} ({length} octets, "
                       "header {header})", sequence=error.sequence,
                       status=codec.status_name(error.status), error=str(error),
                       length=len(data), header=data[:codec.HEADER_LENGTH].hex())
        if error.command_id & codec.RESPONSE_BIT:
            # An answer we cannot read counts as none: the request times out and is retried.
            return
        if error.command_id == codec.COMMAND_IDS["deliver_sm"]:
            # Nothing is handed over: what does not parse is stored nowhere, and the error
            # says why, so that the SMSC does not take it for delivered.
            self._sendDeliverResp(error.sequence, error.status)
        else:
            self.sendPdu(codec.generic_nack(error.sequence, error.status))

    # -- enquire_link on silence -----------------------------------------------------------------

    def _scheduleIdleCheck(self, delay: float) -> None:
        self._idle_call = self.clock.callLater(delay, self._idleCheck)

    def _idleCheck(self) -> None:
        self._idle_call = None
        if self.state not in ("bound", "unbinding"):
            return
        interval = self.config.enquire_link_interval
        quiet = self.clock.seconds() - self._last_received
        if quiet < interval:
            self._scheduleIdleCheck(interval - quiet)
            return
        self.request("enquire_link").addCallbacks(self._linkAlive, self._linkDead)

    def _linkAlive(self, pdu: codec.Pdu) -> None:
        if self.state in ("bound", "unbinding"):
            self._scheduleIdleCheck(self.config.enquire_link_interval)

    def _linkDead(self, failure: Failure) -> None:
        if failure.check(ResponseTimeout) and self.state != "closed":
            self.log.error(
                "Dead SMPP link to {host}:{port}: enquire_link unanswered for {timeout}s; dropping it",
                host=self.config.host, port=self.config.port, timeout=self.config.response_timeout,
            )
            self.transport.abortConnection()
        elif not failure.check(LinkUnavailable):
            self.log.failure("enquire_link failed", failure)

    # -- deliver_sm: receipts and MO ---------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock.seconds(), dt.timezone.utc)

    def _deliverReceived(self, pdu: codec.Pdu) -> None:
        esm_class = pdu.int_field("esm_class")
        source = pdu.text_field("source_addr")
        try:
            if is_receipt(esm_class):
                receipt = receipt_from_deliver(pdu.octets_field("short_message"), pdu.tlvs, handset=source)
                self.log.debug(
                    "Receipt for {message_id}: {state} ({handset})",
                    message_id=receipt.message_id, state=receipt.state.value, handset=mask_phone(source),
                )
                self._handOver(self.on_receipt, receipt, [pdu.sequence])
                return
            fragment = mo_fragment(
                source=source, destination=pdu.text_field("destination_addr"),
                esm_class=esm_class, data_coding=pdu.int_field("data_coding"),
                short_message=pdu.octets_field("short_message"), tlvs=pdu.tlvs,
            )
        except (ReceiptParseError, ValueError) as e:
            self.log.error(
                "Unreadable deliver_sm #{sequence} from {source}: {error}",
                sequence=pdu.sequence, source=mask_phone(source), error=str(e),
            )
            self._sendDeliverResp(pdu.sequence, codec.ESME_RX_P_APPN)
            return
        complete = self._reassembler.add(fragment, pdu.sequence, self.clock.seconds())
        if complete is None:
            self._scheduleExpiry()
            return
        message, sequences = complete
        message = dataclasses.replace(message, received_at=self._now())
        self.log.info(
            "MO from {source} to {destination} in {parts} part(s): {text}",
            source=mask_phone(message.source), destination=message.destination,
            parts=message.parts, text=mask_text(message.text),
        )
        self._handOver(self.on_message, message, sequences)

    def _handOver(self, handler: Callable, item: object, sequences: list[int]) -> None:
        def stored(_: object) -> None:
            for sequence in sequences:
                self._sendDeliverResp(sequence, codec.ESME_ROK)

        def failed(failure: Failure) -> None:
            self.log.failure("Could not store {kind}; asking the SMSC to redeliver", failure,
                             kind=type(item).__name__)
            for sequence in sequences:
                self._sendDeliverResp(sequence, codec.ESME_RX_T_APPN)

        maybeDeferred(handler, item).addCallbacks(stored, failed)

    def _sendDeliverResp(self, sequence: int, status: int) -> None:
        if self.state == "closed":
            # The SMSC never got the acknowledgement and will deliver again: handlers are idempotent.
            self.log.info("deliver_sm #{sequence} stored after the link closed; not acknowledged",
                          sequence=sequence)
            return
        self.sendPdu(codec.deliver_sm_resp(sequence, status))

    def _scheduleExpiry(self) -> None:
        if self._expiry_call is None or not self._expiry_call.active():
            self._expiry_call = self.clock.callLater(self._reassembler.timeout, self._expireParts)

    def _expireParts(self) -> None:
        self._expiry_call = None
        for sequence in self._reassembler.expire(self.clock.seconds()):
            self.log.warn("MO part #{sequence} incomplete after {timeout}s; refused for redelivery",
                          sequence=sequence, timeout=self._reassembler.timeout)
            self._sendDeliverResp(sequence, codec.ESME_RX_T_APPN)
        if len(self._reassembler):
            self._scheduleExpiry()
