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
What any carrier's long connection does alike (requests and their timeouts, the heartbeat,
handing deliveries over and acknowledging them once stored) is `CarrierClientProtocol`'s.
"""

from __future__ import annotations

import enum
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from hotline.masking import mask_phone
from sms_gateway.carrier_client import CarrierClientProtocol, RecentDeliveries
from sms_gateway.cmpp import codec
from sms_gateway.cmpp.config import CmppBindConfig
from sms_gateway.cmpp.deliver import mo_part, receipt_from_report
from sms_gateway.cmpp.framing import CmppFramer

__all__ = ["CmppClientProtocol", "ConnectRefused", "RecentDeliveries"]

_RESPONSES = (codec.ConnectResp, codec.SubmitResp, codec.DeliverResp, codec.ActiveTestResp,
              codec.TerminateResp)


class ConnectRefused(Exception):
    """The ISMG refused CMPP_CONNECT, or answered in a way that cannot be trusted."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class CmppClientProtocol(CarrierClientProtocol, CmppFramer):
    """One connection to an ISMG.

    `on_receipt(receipt)` and `on_message(mo)` return Deferreds; the CMPP_DELIVER_RESP goes
    out after they fire. `on_bound` and `on_lost` tell the owner when this connection can be
    used and when it is gone.
    """

    PEER = "ISMG"
    ACTIVE_TEST = "CMPP_ACTIVE_TEST"

    def __init__(self, config: CmppBindConfig, clock: IReactorTime, **handlers: Any):
        super().__init__(config, clock, **handlers)
        self.version = config.version
        self.sequences = codec.SequenceNumbers()
        self._authenticator = b""

    # -- the words of CMPP ----------------------------------------------------------------------

    def encode(self, pdu: Any, sequence: int) -> bytes:
        return codec.encode(pdu, sequence, self.version)

    def kind(self, pdu: Any) -> enum.IntEnum:
        return pdu.command

    def nextSequence(self) -> int:
        return self.sequences.next()

    def activeTest(self) -> codec.ActiveTest:
        return codec.ActiveTest()

    def acknowledge(self, sequence: int, msg_id: int, status: int) -> None:
        self.sendPdu(codec.encode(codec.DeliverResp(msg_id, status), sequence, self.version))

    # -- CMPP_CONNECT and CMPP_TERMINATE --------------------------------------------------------

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
        self.log.info("CMPP {version} link to ISMG {where} up as SP {sp_id} (ISMG version {ismg})",
                      version=codec.version_name(self.version), where=self._where(),
                      sp_id=self.config.sp_id, ismg=codec.version_name(resp.version))
        self._bound()
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
        return self._leave(codec.Terminate())

    def _answer(self, deferred: Deferred, pdu: Any, length: int) -> None:
        if isinstance(pdu, codec.ConnectResp) and length != self._connectRespLength():
            theirs = codec.V2 if self.version == codec.V3 else codec.V3
            deferred.errback(self._refuse(
                f"it answered in the CMPP {codec.version_name(theirs)} layout (Version "
                f"0x{pdu.version:02X}): set protocol = \"cmpp{theirs >> 4}\"", pdu.status))
        else:
            deferred.callback(pdu)

    def _connectRespLength(self) -> int:
        return codec.HEADER_LENGTH + (21 if self.version == codec.V3 else 18)

    # -- PDUs in --------------------------------------------------------------------------------

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
            self._malformedLogged(e, e.sequence, data)
            if e.command_id == codec.Command.DELIVER:
                # Stored nowhere, and the Result says why, so the ISMG does not count it
                # delivered.
                self.acknowledge(e.sequence, e.msg_id, e.result)
            return  # an answer we cannot read counts as none: it times out and is retried
        if isinstance(pdu, _RESPONSES):
            self._responseReceived(sequence, pdu, len(data))
        elif isinstance(pdu, codec.Deliver):
            self._deliverReceived(sequence, pdu)
        elif isinstance(pdu, codec.ActiveTest):
            self.sendPdu(codec.encode(codec.ActiveTestResp(), sequence, self.version))
        elif isinstance(pdu, codec.Terminate):
            self._closedByPeer(codec.TerminateResp(), sequence)
        else:
            self.log.warn("Ignoring {command} #{sequence} from {where}: a request only an ISMG "
                          "serves", command=pdu.command.name, sequence=sequence,
                          where=self._where())

    def _deliverReceived(self, sequence: int, deliver: codec.Deliver) -> None:
        if self._repeated(sequence, deliver.msg_id, codec.format_msg_id(deliver.msg_id)):
            return
        token = (sequence, deliver.msg_id)
        if deliver.registered_delivery == 1:
            try:
                report = codec.decode_report(deliver.msg_content, self.version, sequence)
            except codec.MalformedPdu as e:
                self.log.error("Unreadable status report in CMPP_DELIVER #{sequence}: {error}",
                               sequence=sequence, error=str(e))
                self.acknowledge(sequence, deliver.msg_id, e.result)
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
            self.acknowledge(sequence, deliver.msg_id, codec.RESULT_STRUCTURE)
            return
        self._replyPart(fragment, token)
