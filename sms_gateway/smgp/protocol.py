"""The SP side of one SMGP 3.0 connection to an SMGW (China Telecom's short-message gateway).

Bytes to PDUs and back; Login with AuthenticatorClient, and AuthenticatorServer checked in
Login_Resp; the SMGW's own Active_Test and Exit answered; Deliver turned into delivery
receipts (IsReport 1) and replies, each acknowledged with Deliver_Resp only after the
handler's Deferred fired. A Deliver whose storing failed is not answered, so the SMGW sends
it again; one it sends again after a lost Deliver_Resp is recognised by its MsgID and
answered without being stored twice. Requests and their timeouts, the heartbeat (Active_Test
on silence, the link dropped after `heartbeat_misses` unanswered) and the hand-over of
deliveries are `CarrierClientProtocol`'s, as for CMPP. No business rules: what to submit and
when to retry belongs to `sms_gateway.smgp.service.SmgpLink`.
"""

from __future__ import annotations

import enum
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from hotline.masking import mask_phone
from sms_gateway.carrier_client import CarrierClientProtocol
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


class SmgpClientProtocol(CarrierClientProtocol, SmgpFramer):
    """One connection to an SMGW.

    `on_receipt(receipt)` and `on_message(mo)` return Deferreds; the Deliver_Resp goes out
    after they fire. `on_bound` and `on_lost` tell the owner when this connection can be used
    and when it is gone.
    """

    PEER = "SMGW"
    ACTIVE_TEST = "Active_Test"

    def __init__(self, config: SmgpBindConfig, clock: IReactorTime, **handlers: Any):
        super().__init__(config, clock, **handlers)
        self.sequences = codec.SequenceNumbers()
        self._authenticator = b""

    @property
    def can_submit(self) -> bool:
        return self.state == "bound" and self.config.login_mode != "receive"

    # -- the words of SMGP ----------------------------------------------------------------------

    def encode(self, pdu: Any, sequence: int) -> bytes:
        return codec.encode(pdu, sequence)

    def kind(self, pdu: Any) -> enum.IntEnum:
        return pdu.request

    def nextSequence(self) -> int:
        return self.sequences.next()

    def activeTest(self) -> codec.ActiveTest:
        return codec.ActiveTest()

    def acknowledge(self, sequence: int, msg_id: bytes, status: int) -> None:
        self.sendPdu(codec.encode(codec.DeliverResp(msg_id, status), sequence))

    @staticmethod
    def recentKey(msg_id: Any) -> int:
        return int.from_bytes(msg_id, "big")  # 0, nothing to recognise, for all zeros

    # -- Login and Exit -------------------------------------------------------------------------

    def login(self) -> Deferred:
        """Send Login; fires with self once bound, fails with `LoginRefused` (the link then
        dropped)."""
        self.state = "connecting"
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
        # Status hashed in the four octets Login_Resp carries it in, or in one as some SMGWs
        # do: the secret is what the check is for, and either form proves it.
        if self.config.verify_smgw and resp.authenticator_server not in {
                codec.authenticator_server(codec.STATUS_OK, self._authenticator,
                                           self.config.password, octets) for octets in (4, 1)}:
            raise self._refuse("AuthenticatorServer does not match our shared secret (a wrong "
                               "secret at either end, or not the carrier's SMGW)")
        self.log.info("SMGP link to SMGW {where} up as {client_id} (server version 0x{v:02X})",
                      where=self._where(), client_id=self.config.client_id,
                      v=resp.server_version)
        self._bound()
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
        return self._leave(codec.Exit())

    # -- PDUs in --------------------------------------------------------------------------------

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
            self._malformedLogged(e, e.sequence, data)
            if e.request_id == codec.RequestId.DELIVER:
                self.acknowledge(e.sequence, e.msg_id, e.status)
            return  # an answer we cannot read counts as none: it times out and is retried
        if isinstance(pdu, _RESPONSES):
            self._responseReceived(sequence, pdu, len(data))
        elif isinstance(pdu, codec.Deliver):
            self._deliverReceived(sequence, pdu)
        elif isinstance(pdu, codec.ActiveTest):
            self.sendPdu(codec.encode(codec.ActiveTestResp(), sequence))
        elif isinstance(pdu, codec.Exit):
            self._closedByPeer(codec.ExitResp(), sequence)
        else:
            self.log.warn("Ignoring {request} #{sequence} from {where}: a request only an SMGW "
                          "serves", request=pdu.request.name, sequence=sequence,
                          where=self._where())

    def _deliverReceived(self, sequence: int, deliver: codec.Deliver) -> None:
        if self._repeated(sequence, deliver.msg_id, codec.format_msg_id(deliver.msg_id)):
            return
        token = (sequence, deliver.msg_id)
        if deliver.is_report == 1:
            try:
                report = codec.decode_report(deliver.msg_content, sequence)
            except codec.MalformedPdu as e:
                self.log.error("Unreadable status report in Deliver #{sequence}: {error}",
                               sequence=sequence, error=str(e))
                self.acknowledge(sequence, deliver.msg_id, e.status)
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
            self.acknowledge(sequence, deliver.msg_id, codec.STATUS_STRUCTURE)
            return
        self._replyPart(fragment, token)
