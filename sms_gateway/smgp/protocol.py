"""The SP side of one SMGP 3.0 connection to an SMGW (China Telecom's short-message gateway).

Bytes to PDUs and back; Login with AuthenticatorClient, and AuthenticatorServer checked in
Login_Resp; requests matched with their responses by SequenceID, each with a timeout;
Active_Test on silence, sent again at once when unanswered, the link dropped after
`heartbeat_misses` in a row; the SMGW's own Active_Test and Exit answered; Deliver turned into
delivery receipts (IsReport 1) and replies, each acknowledged with Deliver_Resp only after the
handler's Deferred fired. A Deliver whose storing failed is not answered, so the SMGW sends it
again; one it sends again after a lost Deliver_Resp is recognised by its MsgID and answered
without being stored twice. No business rules: what to submit and when to retry belongs to
`sms_gateway.smgp.service.SmgpLink`.
"""

from __future__ import annotations

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
from sms_gateway.cmpp.protocol import RecentDeliveries
from sms_gateway.link import LinkUnavailable, ResponseTimeout
from sms_gateway.receipts import MoReassembler
from sms_gateway.smgp import codec
from sms_gateway.smgp.config import SmgpBindConfig
from sms_gateway.smgp.deliver import mo_part, receipt_from_report
from sms_gateway.smgp.framing import SmgpFramer

_RESPONSES = (codec.LoginResp, codec.SubmitResp, codec.DeliverResp, codec.ActiveTestResp,
              codec.ExitResp)


class LoginRefused(Exception):
    """The SMGW refused Login, or answered in a way that cannot be trusted."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status


def msg_id_key(msg_id: bytes) -> int:
    """A MsgID as `RecentDeliveries` keeps it (0, nothing to recognise, for all zeros)."""
    return int.from_bytes(msg_id, "big")


@dataclasses.dataclass
class _Request:
    request: codec.RequestId
    deferred: Deferred
    timeout: IDelayedCall | None


class SmgpClientProtocol(SmgpFramer):
    """One connection to an SMGW.

    `on_receipt(receipt)` and `on_message(mo)` return Deferreds; the Deliver_Resp goes out
    after they fire. `on_bound` and `on_lost` tell the owner when this connection can be used
    and when it is gone.
    """

    log = Logger()

    def __init__(
        self,
        config: SmgpBindConfig,
        clock: IReactorTime,
        *,
        on_receipt: Callable,
        on_message: Callable,
        on_bound: Callable[[SmgpClientProtocol], None] | None = None,
        on_lost: Callable[[SmgpClientProtocol], None] | None = None,
        recent: RecentDeliveries | None = None,
    ):
        self.config = config
        self.clock = clock
        self.on_receipt = on_receipt
        self.on_message = on_message
        self.on_bound = on_bound
        self.on_lost = on_lost
        self.recent = recent if recent is not None else RecentDeliveries()
        self.sequences = codec.SequenceNumbers()
        self.state = "new"  # open, logging-in, bound, exiting, closed
        self.submits_outstanding = 0
        self._outstanding: dict[int, _Request] = {}
        self._drain_waiters: list[Deferred] = []
        self._last_received = 0.0
        self._missed = 0
        self._idle_call: IDelayedCall | None = None
        self._expiry_call: IDelayedCall | None = None
        self._authenticator = b""
        self._reassembler = MoReassembler(config.mo_reassembly_timeout)

    @property
    def can_submit(self) -> bool:
        return self.state == "bound" and self.config.login_mode != "receive"

    def _where(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    def connectionMade(self) -> None:
        self.state = "open"
        self._last_received = self.clock.seconds()

    # -- Login ----------------------------------------------------------------------------------

    def login(self) -> Deferred:
        """Send Login; fires with self once bound, fails with `LoginRefused` (the link then
        dropped)."""
        self.state = "logging-in"
        config = self.config
        timestamp = codec.login_timestamp(self.clock.seconds())
        self._authenticator = codec.authenticator_client(config.client_id, config.password,
                                                         timestamp)
        d = self.request(codec.Login(config.client_id, self._authenticator, timestamp,
                                     config.login_mode_code))
        return d.addCallbacks(self._loginAnswered, self._loginFailed)

    def _refuse(self, reason: str, status: int | None = None) -> LoginRefused:
        self.log.error("SMGW {where} refused the SMGP link of {client_id}: {reason}",
                       where=self._where(), client_id=self.config.client_id, reason=reason)
        if self.transport is not None and self.state != "closed":
            self.transport.loseConnection()
        return LoginRefused(reason, status)

    def _loginAnswered(self, resp: codec.LoginResp) -> SmgpClientProtocol:
        if resp.status != codec.STATUS_OK:
            raise self._refuse(f"Status {resp.status} ({codec.status_name(resp.status)})",
                               resp.status)
        if self.config.verify_smgw and resp.authenticator_server not in {
                codec.authenticator_server(codec.STATUS_OK, self._authenticator,
                                           self.config.password, octets) for octets in (4, 1)}:
            raise self._refuse("AuthenticatorServer does not match our shared secret (a wrong "
                               "secret at either end, or not the carrier's SMGW)")
        self.state = "bound"
        self._missed = 0
        self.log.info("SMGP link to SMGW {where} up as {client_id} (server version 0x{v:02X})",
                      where=self._where(), client_id=self.config.client_id,
                      v=resp.server_version)
        self._scheduleIdleCheck(self.config.heartbeat_interval)
        if self.on_bound is not None:
            self.on_bound(self)
        return self

    def _loginFailed(self, failure: Failure) -> Failure:
        if not failure.check(LoginRefused):
            self.log.error("Login to {where} failed: {reason}", where=self._where(),
                           reason=failure.getErrorMessage())
            if self.transport is not None and self.state != "closed":
                self.transport.loseConnection()
        return failure

    def exit(self) -> Deferred:
        """Stop submitting, wait for every outstanding response, Exit, disconnect."""
        if self.state not in ("bound", "logging-in"):
            return succeed(None)
        self.state = "exiting"

        async def leave() -> None:
            await self.whenDrained()
            if self.state == "closed":
                return
            try:
                await self.request(codec.Exit())
            except (ResponseTimeout, LinkUnavailable):
                pass  # leaving either way
            if self.state != "closed":
                self.transport.loseConnection()

        return Deferred.fromCoroutine(leave())

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
        if was in ("bound", "exiting") or outstanding:
            self.log.info("SMGP link to {where} lost ({reason}); {count} requests unanswered",
                          where=self._where(), count=len(outstanding),
                          reason=reason.getErrorMessage())
        for sequence, request in outstanding.items():
            if request.timeout is not None and request.timeout.active():
                request.timeout.cancel()
            request.deferred.errback(LinkUnavailable(
                f"link lost before the response to {request.request.name} #{sequence}"))
        self._reassembler.drain()  # never acknowledged: the SMGW sends them again
        self._fireDrained()
        if self.on_lost is not None and was != "new":
            self.on_lost(self)

    # -- requests and responses -----------------------------------------------------------------

    def request(self, pdu: codec.Pdu) -> Deferred:
        """Send a request; fires with the response PDU, fails with `ResponseTimeout` or
        `LinkUnavailable`."""
        if self.state in ("closed", "new"):
            raise LinkUnavailable(f"{pdu.request.name} on a connection that is {self.state}")
        sequence = self.sequences.next()
        data = codec.encode(pdu, sequence)
        d: Deferred = Deferred()
        call = self.clock.callLater(self.config.response_timeout, self._timedOut, sequence)
        self._outstanding[sequence] = _Request(pdu.request, d, call)
        self.sendPdu(data)
        return d

    def submit(self, pdu: codec.Submit) -> Deferred:
        """Submit, counted against the window until its response (or timeout, or loss).
        Raises `codec.CodecError` for a PDU no field can hold, before anything is sent."""
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
        self.log.warn("No response to {request} #{sequence} from {where} within {timeout}s",
                      request=request.request.name, sequence=sequence, where=self._where(),
                      timeout=self.config.response_timeout)
        request.deferred.errback(ResponseTimeout(
            f"no response to {request.request.name} #{sequence}"))
        self._fireDrained()

    def _fireDrained(self) -> None:
        if self._outstanding or not self._drain_waiters:
            return
        waiters, self._drain_waiters = self._drain_waiters, []
        for d in waiters:
            d.callback(None)

    def _responseReceived(self, sequence: int, pdu: codec.Pdu) -> None:
        request = self._outstanding.get(sequence)
        if request is None or request.request | codec.RESPONSE_BIT != pdu.request:
            self.log.warn("Unexpected {request} #{sequence}: no request waits for it",
                          request=pdu.request.name, sequence=sequence)
            return
        del self._outstanding[sequence]
        if request.timeout is not None and request.timeout.active():
            request.timeout.cancel()
        request.deferred.callback(pdu)
        self._fireDrained()

    def pduReceived(self, data: bytes) -> None:
        self._last_received = self.clock.seconds()
        try:
            sequence, pdu = codec.decode(data)
        except codec.UnknownCommand as e:
            self.log.warn("Ignoring RequestID 0x{request_id:08X} #{sequence} from {where}: not "
                          "one an SP handles", request_id=e.request_id, sequence=e.sequence,
                          where=self._where())
            return
        except codec.MalformedPdu as e:
            # Not logged in full: a Deliver carries a citizen's number and text.
            self.log.error("Malformed SMGP PDU #{sequence} from {where}: {error} ({length} "
                           "octets, header {header})", sequence=e.sequence, where=self._where(),
                           error=str(e), length=len(data),
                           header=data[:codec.HEADER_LENGTH].hex())
            if e.request_id == codec.RequestId.DELIVER:
                self._sendDeliverResp(e.sequence, e.msg_id, e.status)
            return  # an answer we cannot read counts as none: it times out and is retried
        if isinstance(pdu, _RESPONSES):
            self._responseReceived(sequence, pdu)
        elif isinstance(pdu, codec.Deliver):
            self._deliverReceived(sequence, pdu)
        elif isinstance(pdu, codec.ActiveTest):
            self.sendPdu(codec.encode(codec.ActiveTestResp(), sequence))
        elif isinstance(pdu, codec.Exit):
            self.log.info("SMGW {where} ends the link (Exit)", where=self._where())
            self.sendPdu(codec.encode(codec.ExitResp(), sequence))
            self.state = "exiting"
            self.transport.loseConnection()
        else:
            self.log.warn("Ignoring {request} #{sequence} from {where}: a request only an SMGW "
                          "serves", request=pdu.request.name, sequence=sequence,
                          where=self._where())

    # -- Active_Test on silence -----------------------------------------------------------------

    def _scheduleIdleCheck(self, delay: float) -> None:
        self._idle_call = self.clock.callLater(delay, self._idleCheck)

    def _idleCheck(self) -> None:
        self._idle_call = None
        if self.state not in ("bound", "exiting"):
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
        if self.state in ("bound", "exiting"):
            self._scheduleIdleCheck(self.config.heartbeat_interval)

    def _activeTestUnanswered(self, failure: Failure) -> None:
        if failure.check(ResponseTimeout) and self.state != "closed":
            self._missed += 1
            if self._missed >= self.config.heartbeat_misses:
                self.log.error("Dead SMGP link to {where}: {count} Active_Test unanswered for "
                               "{timeout}s each; dropping it", where=self._where(),
                               count=self._missed, timeout=self.config.response_timeout)
                self.transport.abortConnection()
                return
            self._sendActiveTest()
        elif not failure.check(LinkUnavailable):
            self.log.failure("Active_Test failed", failure)

    # -- Deliver: status reports and replies ----------------------------------------------------

    def _deliverReceived(self, sequence: int, deliver: codec.Deliver) -> None:
        key = msg_id_key(deliver.msg_id)
        if key in self.recent:
            self.log.info("Deliver {msg_id} #{sequence} again: stored already, acknowledged",
                          msg_id=codec.format_msg_id(deliver.msg_id), sequence=sequence)
            self._sendDeliverResp(sequence, deliver.msg_id, codec.STATUS_OK)
            return
        token = (sequence, deliver.msg_id)
        if deliver.is_report == 1:
            try:
                report = codec.decode_report(deliver.msg_content, sequence)
            except codec.MalformedPdu as e:
                self.log.error("Unreadable status report in Deliver #{sequence}: {error}",
                               sequence=sequence, error=str(e))
                self._sendDeliverResp(sequence, deliver.msg_id, e.status)
                return
            receipt = receipt_from_report(report, deliver.src_term_id)
            self.log.debug("Report for {msg_id}: {stat} -> {state} ({handset})",
                           msg_id=receipt.message_id, stat=report.stat, state=receipt.state.value,
                           handset=mask_phone(deliver.src_term_id))
            self._handOver(self.on_receipt, receipt, [token])
            return
        try:
            fragment = mo_part(deliver)
        except ValueError as e:
            self.log.error("Unreadable reply in Deliver #{sequence} from {source}: {error}",
                           sequence=sequence, source=mask_phone(deliver.src_term_id),
                           error=str(e))
            self._sendDeliverResp(sequence, deliver.msg_id, codec.STATUS_STRUCTURE)
            return
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

    def _handOver(self, handler: Callable, item: object, tokens: list[Hashable]) -> None:
        def stored(_: object) -> None:
            for sequence, msg_id in _tokens(tokens):
                self.recent.add(msg_id_key(msg_id))
                self._sendDeliverResp(sequence, msg_id, codec.STATUS_OK)

        def failed(failure: Failure) -> None:
            self.log.failure("Could not store {kind}; not acknowledged, so the SMGW sends it "
                             "again", failure, kind=type(item).__name__)

        maybeDeferred(handler, item).addCallbacks(stored, failed)

    def _sendDeliverResp(self, sequence: int, msg_id: bytes, status: int) -> None:
        if self.state == "closed":
            self.log.info("Deliver #{sequence} stored after the link closed; not acknowledged",
                          sequence=sequence)
            return
        self.sendPdu(codec.encode(codec.DeliverResp(msg_id, status), sequence))

    def _scheduleExpiry(self) -> None:
        if self._expiry_call is None or not self._expiry_call.active():
            self._expiry_call = self.clock.callLater(self._reassembler.timeout, self._expireParts)

    def _expireParts(self) -> None:
        self._expiry_call = None
        for sequence, _ in _tokens(self._reassembler.expire(self.clock.seconds())):
            self.log.warn("Reply part #{sequence} incomplete after {timeout}s; dropped "
                          "unacknowledged, for the SMGW to send again", sequence=sequence,
                          timeout=self._reassembler.timeout)
        if len(self._reassembler):
            self._scheduleExpiry()


def _tokens(tokens: Iterable[Hashable]) -> list[tuple[int, bytes]]:
    """The reassembler's tokens as this protocol made them: (SequenceID, MsgID)."""
    return [cast(tuple[int, bytes], token) for token in tokens]
