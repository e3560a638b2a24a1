"""The SP side of one CMPP connection to an ISMG (China Mobile's short-message gateway).

Bytes to PDUs and back; CMPP_CONNECT with AuthenticatorSource, and AuthenticatorISMG checked
in the answer; requests matched with their responses by Sequence_Id, each with a timeout;
CMPP_ACTIVE_TEST on silence, sent again at once when unanswered, the link dropped after
`heartbeat_misses` in a row (the specification's C, T and N); the ISMG's own
CMPP_ACTIVE_TEST and CMPP_TERMINATE answered; CMPP_DELIVER turned into delivery receipts
(Registered_Delivery 1) and replies, each acknowledged with CMPP_DELIVER_RESP only after the
handler's Deferred fired. A DELIVER whose storing failed is not answered, so that the ISMG
sends it again, as the specification has it resend what it got no response to. No business
rules: what to submit and when to retry belongs to `sms_gateway.cmpp.service.CmppLink`.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from collections.abc import Callable, Hashable, Iterable
from typing import cast

from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from hotline.masking import mask_phone, mask_text
from sms_gateway.cmpp import codec
from sms_gateway.cmpp.config import CmppBindConfig
from sms_gateway.cmpp.deliver import mo_part, receipt_from_report
from sms_gateway.cmpp.framing import CmppFramer
from sms_gateway.link import LinkUnavailable, ResponseTimeout
from sms_gateway.receipts import MoReassembler

_RESPONSES = (codec.ConnectResp, codec.SubmitResp, codec.DeliverResp, codec.ActiveTestResp,
              codec.TerminateResp)


class ConnectRefused(Exception):
    """The ISMG refused CMPP_CONNECT, or answered in a way that cannot be trusted."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class RecentDeliveries:
    """Msg_Ids of the CMPP_DELIVERs stored lately, across reconnects: one the ISMG sends
    again because our CMPP_DELIVER_RESP was lost is acknowledged without storing it twice."""

    def __init__(self, size: int = 4096):
        self._order: collections.deque[int] = collections.deque()
        self._ids: set[int] = set()
        self._size = size

    def __contains__(self, msg_id: object) -> bool:
        return msg_id in self._ids

    def add(self, msg_id: int) -> None:
        if not msg_id or msg_id in self._ids:
            return  # some ISMGs send 0: nothing to recognise a repeat by
        self._ids.add(msg_id)
        self._order.append(msg_id)
        if len(self._order) > self._size:
            self._ids.discard(self._order.popleft())


@dataclasses.dataclass
class _Request:
    command: codec.Command
    deferred: Deferred
    timeout: IDelayedCall | None


class CmppClientProtocol(CmppFramer):
    """One connection to an ISMG.

    `on_receipt(receipt)` and `on_message(mo)` return Deferreds; the CMPP_DELIVER_RESP goes
    out after they fire. `on_bound` and `on_lost` tell the owner when this connection can be
    used and when it is gone.
    """

    log = Logger()

    def __init__(
        self,
        config: CmppBindConfig,
        clock: IReactorTime,
        *,
        on_receipt: Callable,
        on_message: Callable,
        on_bound: Callable[[CmppClientProtocol], None] | None = None,
        on_lost: Callable[[CmppClientProtocol], None] | None = None,
        recent: RecentDeliveries | None = None,
    ):
        self.config = config
        self.clock = clock
        self.version = config.version
        self.on_receipt = on_receipt
        self.on_message = on_message
        self.on_bound = on_bound
        self.on_lost = on_lost
        self.recent = recent if recent is not None else RecentDeliveries()
        self.sequences = codec.SequenceNumbers()
        self.state = "new"  # open, connecting, bound, terminating, closed
        self.submits_outstanding = 0
        self._outstanding: dict[int, _Request] = {}
        self._drain_waiters: list[Deferred] = []
        self._last_received = 0.0
        self._missed = 0  # CMPP_ACTIVE_TEST unanswered in a row
        self._idle_call: IDelayedCall | None = None
        self._expiry_call: IDelayedCall | None = None
        self._authenticator = b""
        self._reassembler = MoReassembler(config.mo_reassembly_timeout)

    # -- lifecycle ----------------------------------------------------------------------------------

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

    def connect(self) -> Deferred:
        """Send CMPP_CONNECT; fires with self once bound, fails with `ConnectRefused` (the
        link then dropped)."""
        self.state = "connecting"
        config = self.config
        timestamp = codec.connect_timestamp(self.clock.seconds())
        self._authenticator = codec.authenticator_source(config.sp_id, config.password, timestamp)
        d = self.request(codec.Connect(config.sp_id, self._authenticator, self.version, timestamp))
        return d.addCallbacks(self._connectAnswered, self._connectFailed)

    def _refuse(self, reason: str, status: int | None = None) -> ConnectRefused:
        self.log.error("ISMG {where} refused the CMPP {version} link of SP {sp_id}: {reason}",
                       where=self._where(), version=codec.version_name(self.version),
                       sp_id=self.config.sp_id, reason=reason)
        if self.transport is not None and self.state != "closed":
            self.transport.loseConnection()
        return ConnectRefused(reason, status)

    def _connectAnswered(self, resp: codec.ConnectResp) -> CmppClientProtocol:
        if resp.status != codec.RESULT_OK:
            reason = f"Status {resp.status} ({codec.CONNECT_STATUS.get(resp.status, '其他错误')})"
            if resp.status == codec.STATUS_VERSION:
                reason += (f"; the ISMG speaks CMPP {codec.version_name(resp.version)}: set "
                           f"protocol = \"cmpp{resp.version >> 4}\"")
            raise self._refuse(reason, resp.status)
        if self.config.verify_ismg and resp.authenticator_ismg not in self._expected_ismg():
            raise self._refuse("AuthenticatorISMG does not match our shared secret (a wrong "
                               "secret at either end, or not the carrier's ISMG)")
        self.state = "bound"
        self._missed = 0
        self.log.info("CMPP {version} link to ISMG {where} up as SP {sp_id} (ISMG version {ismg})",
                      version=codec.version_name(self.version), where=self._where(),
                      sp_id=self.config.sp_id, ismg=codec.version_name(resp.version))
        self._scheduleIdleCheck(self.config.heartbeat_interval)
        if self.on_bound is not None:
            self.on_bound(self)
        return self

    def _expected_ismg(self) -> set[bytes]:
        secret = self.config.password
        expected = {codec.authenticator_ismg(codec.RESULT_OK, self._authenticator, secret,
                                             self.version)}
        if self.version == codec.V3:
            # Some 3.0 ISMGs hash Status as the one octet 2.0 gave it; the secret is what the
            # check is for, and either form proves it.
            expected.add(codec.authenticator_ismg(codec.RESULT_OK, self._authenticator, secret,
                                                  codec.V2))
        return expected

    def _connectFailed(self, failure: Failure) -> Failure:
        if not failure.check(ConnectRefused):
            self.log.error("CMPP_CONNECT to {where} failed: {reason}", where=self._where(),
                           reason=failure.getErrorMessage())
            if self.transport is not None and self.state != "closed":
                self.transport.loseConnection()
        return failure

    def terminate(self) -> Deferred:
        """Stop submitting, wait for every outstanding response, CMPP_TERMINATE, disconnect."""
        if self.state not in ("bound", "connecting"):
            return succeed(None)
        self.state = "terminating"

        async def terminate() -> None:
            await self.whenDrained()
            if self.state == "closed":
                return
            try:
                await self.request(codec.Terminate())
            except (ResponseTimeout, LinkUnavailable):
                pass  # leaving either way
            if self.state != "closed":
                self.transport.loseConnection()

        return Deferred.fromCoroutine(terminate())

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
        if was in ("bound", "terminating") or outstanding:
            self.log.info("CMPP link to {where} lost ({reason}); {count} requests unanswered",
                          where=self._where(), count=len(outstanding),
                          reason=reason.getErrorMessage())
        for sequence, request in outstanding.items():
            if request.timeout is not None and request.timeout.active():
                request.timeout.cancel()
            request.deferred.errback(LinkUnavailable(
                f"link lost before the response to {request.command.name} #{sequence}"))
        # Parts of replies held back were never acknowledged: the ISMG sends them again.
        self._reassembler.drain()
        self._fireDrained()
        if self.on_lost is not None and was != "new":
            self.on_lost(self)

    # -- requests and responses ---------------------------------------------------------------------

    def request(self, pdu: codec.Pdu, *, timeout: float | None = None) -> Deferred:
        """Send a request; fires with the response PDU, fails with `ResponseTimeout` or
        `LinkUnavailable`."""
        if self.state in ("closed", "new"):
            raise LinkUnavailable(f"{pdu.command.name} on a connection that is {self.state}")
        sequence = self.sequences.next()
        data = codec.encode(pdu, sequence, self.version)
        d: Deferred = Deferred()
        delay = self.config.response_timeout if timeout is None else timeout
        call = self.clock.callLater(delay, self._timedOut, sequence)
        self._outstanding[sequence] = _Request(pdu.command, d, call)
        self.sendPdu(data)
        return d

    def submit(self, pdu: codec.Submit) -> Deferred:
        """CMPP_SUBMIT, counted against the window until its response (or timeout, or loss)."""
        d = self.request(pdu)
        self.submits_outstanding += 1

        def settled(result):
            self.submits_outstanding -= 1
            return result

        return d.addBoth(settled)

    def _timedOut(self, sequence: int) -> None:
        request = self._outstanding.pop(sequence, None)
        if request is None:
            return
        self.log.warn("No response to {command} #{sequence} from {where} within {timeout}s",
                      command=request.command.name, sequence=sequence, where=self._where(),
                      timeout=self.config.response_timeout)
        request.deferred.errback(ResponseTimeout(
            f"no response to {request.command.name} #{sequence}"))
        self._fireDrained()

    def _fireDrained(self) -> None:
        if self._outstanding or not self._drain_waiters:
            return
        waiters, self._drain_waiters = self._drain_waiters, []
        for d in waiters:
            d.callback(None)

    def _responseReceived(self, sequence: int, pdu: codec.Pdu, length: int) -> None:
        request = self._outstanding.get(sequence)
        if request is None or request.command | codec.RESPONSE_BIT != pdu.command:
            self.log.warn("Unexpected {command} #{sequence}: no request waits for it",
                          command=pdu.command.name, sequence=sequence)
            return
        del self._outstanding[sequence]
        if request.timeout is not None and request.timeout.active():
            request.timeout.cancel()
        if isinstance(pdu, codec.ConnectResp) and length != self._connectRespLength():
            theirs = codec.V2 if self.version == codec.V3 else codec.V3
            request.deferred.errback(self._refuse(
                f"it answered in the CMPP {codec.version_name(theirs)} layout (Version "
                f"0x{pdu.version:02X}): set protocol = \"cmpp{theirs >> 4}\"", pdu.status))
        else:
            request.deferred.callback(pdu)
        self._fireDrained()

    def _connectRespLength(self) -> int:
        return codec.HEADER_LENGTH + (21 if self.version == codec.V3 else 18)

    def pduReceived(self, data: bytes) -> None:
        self._last_received = self.clock.seconds()
        try:
            sequence, pdu = codec.decode(data, self.version)
        except codec.UnknownCommand as e:
            self.log.warn("Ignoring Command_Id 0x{command_id:08X} #{sequence} from {where}: not "
                          "one an SP handles", command_id=e.command_id, sequence=e.sequence,
                          where=self._where())
            return
        except codec.MalformedPdu as e:
            self._malformed(e, data)
            return
        if isinstance(pdu, _RESPONSES):
            self._responseReceived(sequence, pdu, len(data))
        elif isinstance(pdu, codec.Deliver):
            self._deliverReceived(sequence, pdu)
        elif isinstance(pdu, codec.ActiveTest):
            self.sendPdu(codec.encode(codec.ActiveTestResp(), sequence, self.version))
        elif isinstance(pdu, codec.Terminate):
            self.log.info("ISMG {where} terminates the link", where=self._where())
            self.sendPdu(codec.encode(codec.TerminateResp(), sequence, self.version))
            self.state = "terminating"
            self.transport.loseConnection()
        else:
            self.log.warn("Ignoring {command} #{sequence} from {where}: a request only an ISMG "
                          "serves", command=pdu.command.name, sequence=sequence,
                          where=self._where())

    def _malformed(self, error: codec.MalformedPdu, data: bytes) -> None:
        # The bytes are not logged in full: a CMPP_DELIVER carries a citizen's number and text.
        self.log.error("Malformed CMPP PDU #{sequence} from {where}: {error} ({length} octets, "
                       "header {header})", sequence=error.sequence, where=self._where(),
                       error=str(error), length=len(data),
                       header=data[:codec.HEADER_LENGTH].hex())
        if error.command_id == codec.Command.DELIVER:
            # Stored nowhere, and the Result says why, so the ISMG does not count it delivered.
            self._sendDeliverResp(error.sequence, error.msg_id, error.result)
        # An answer we cannot read counts as none: the request times out and is retried.

    # -- CMPP_ACTIVE_TEST on silence -----------------------------------------------------------------

    def _scheduleIdleCheck(self, delay: float) -> None:
        self._idle_call = self.clock.callLater(delay, self._idleCheck)

    def _idleCheck(self) -> None:
        self._idle_call = None
        if self.state not in ("bound", "terminating"):
            return
        interval = self.config.heartbeat_interval
        quiet = self.clock.seconds() - self._last_received
        if quiet < interval:
            self._scheduleIdleCheck(interval - quiet)
            return
        self._sendActiveTest()

    def _sendActiveTest(self) -> None:
        self.request(codec.ActiveTest()).addCallbacks(self._linkAlive, self._activeTestUnanswered)

    def _linkAlive(self, pdu: codec.ActiveTestResp) -> None:
        self._missed = 0
        if self.state in ("bound", "terminating"):
            self._scheduleIdleCheck(self.config.heartbeat_interval)

    def _activeTestUnanswered(self, failure: Failure) -> None:
        if failure.check(ResponseTimeout) and self.state != "closed":
            self._missed += 1
            if self._missed >= self.config.heartbeat_misses:
                self.log.error("Dead CMPP link to {where}: {count} CMPP_ACTIVE_TEST unanswered "
                               "for {timeout}s each; dropping it", where=self._where(),
                               count=self._missed, timeout=self.config.response_timeout)
                self.transport.abortConnection()
                return
            self._sendActiveTest()  # at once, as the specification says
        elif not failure.check(LinkUnavailable):
            self.log.failure("CMPP_ACTIVE_TEST failed", failure)

    # -- CMPP_DELIVER: status reports and replies ----------------------------------------------------

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock.seconds(), dt.timezone.utc)

    def _deliverReceived(self, sequence: int, deliver: codec.Deliver) -> None:
        if deliver.msg_id in self.recent:
            self.log.info("CMPP_DELIVER {msg_id} #{sequence} again: stored already, acknowledged",
                          msg_id=codec.format_msg_id(deliver.msg_id), sequence=sequence)
            self._sendDeliverResp(sequence, deliver.msg_id, codec.RESULT_OK)
            return
        token = (sequence, deliver.msg_id)
        if deliver.registered_delivery == 1:
            try:
                report = codec.decode_report(deliver.msg_content, self.version, sequence)
            except codec.MalformedPdu as e:
                self.log.error("Unreadable status report in CMPP_DELIVER #{sequence}: {error}",
                               sequence=sequence, error=str(e))
                self._sendDeliverResp(sequence, deliver.msg_id, e.result)
                return
            receipt = receipt_from_report(report)
            self.log.debug("Report for {msg_id}: {stat} -> {state} ({handset})",
                           msg_id=receipt.message_id, stat=report.stat, state=receipt.state.value,
                           handset=mask_phone(report.dest_terminal_id))
            self._handOver(self.on_receipt, receipt, [token])
            return
        try:
            fragment = mo_part(deliver)
        except ValueError as e:
            self.log.error("Unreadable reply in CMPP_DELIVER #{sequence} from {source}: {error}",
                           sequence=sequence, source=mask_phone(deliver.src_terminal_id),
                           error=str(e))
            self._sendDeliverResp(sequence, deliver.msg_id, codec.RESULT_STRUCTURE)
            return
        complete = self._reassembler.add(fragment, token, self.clock.seconds())
        if complete is None:
            self._scheduleExpiry()
            return
        message, tokens = complete
        message = dataclasses.replace(message, received_at=self._now())
        self.log.info("MO from {source} to {destination} in {parts} part(s): {text}",
                      source=mask_phone(message.source), destination=message.destination,
                      parts=message.parts, text=mask_text(message.text))
        self._handOver(self.on_message, message, tokens)

    def _handOver(self, handler: Callable, item: object, tokens: list[Hashable]) -> None:
        def stored(_: object) -> None:
            for sequence, msg_id in _tokens(tokens):
                self.recent.add(msg_id)
                self._sendDeliverResp(sequence, msg_id, codec.RESULT_OK)

        def failed(failure: Failure) -> None:
            self.log.failure("Could not store {kind}; not acknowledged, so the ISMG sends it "
                             "again", failure, kind=type(item).__name__)

        maybeDeferred(handler, item).addCallbacks(stored, failed)

    def _sendDeliverResp(self, sequence: int, msg_id: int, result: int) -> None:
        if self.state == "closed":
            # The ISMG never got the acknowledgement and sends it again: handlers are idempotent.
            self.log.info("CMPP_DELIVER #{sequence} stored after the link closed; not "
                          "acknowledged", sequence=sequence)
            return
        self.sendPdu(codec.encode(codec.DeliverResp(msg_id, result), sequence, self.version))

    def _scheduleExpiry(self) -> None:
        if self._expiry_call is None or not self._expiry_call.active():
            self._expiry_call = self.clock.callLater(self._reassembler.timeout, self._expireParts)

    def _expireParts(self) -> None:
        self._expiry_call = None
        for sequence, _ in _tokens(self._reassembler.expire(self.clock.seconds())):
            self.log.warn("Reply part #{sequence} incomplete after {timeout}s; dropped "
                          "unacknowledged, for the ISMG to send again", sequence=sequence,
                          timeout=self._reassembler.timeout)
        if len(self._reassembler):
            self._scheduleExpiry()


def _tokens(tokens: Iterable[Hashable]) -> list[tuple[int, int]]:
    """The reassembler's tokens as this protocol made them: (Sequence_Id, Msg_Id)."""
    return [cast(tuple[int, int], token) for token in tokens]
