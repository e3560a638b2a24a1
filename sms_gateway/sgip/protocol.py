"""The SP's two sides of SGIP 1.2 (China Unicom's SMG).

`SgipClientProtocol`: the SP binds to the SMG (Login Type 1) to submit. Each Submit is named
by the Sequence Number the SP gives it (node id, time, counter), which is what the SMG's
Report names, so the Deferred of a submit fires with (Sequence, Submit_Resp). SGIP has no
heartbeat: after `idle_timeout` without traffic the SP unbinds, as SGIP expects, and the link
binds again for the next message.

`SgipServerProtocol`: the SMG binds to the SP (Login Type 2) to deliver. A connection from an
address not in `allowed_peers` is closed at once; a Bind with another login is refused
(Result 1) and closed; anything before a good Bind closes the connection. Deliver (a reply)
and Report (the outcome of a submit) are handed over and answered (Deliver_Resp, Report_Resp)
(an SMG that sends them on the SP's submit connection instead is answered there the same)
only once stored; one sent again after its answer was lost is answered without storing it
twice (recognised by the SMG's Sequence Number).

Requests and their timeouts, the wait for the answers before leaving, and the hand-over of
deliveries are `CarrierClientProtocol`'s, as for CMPP and SMGP.
"""

from __future__ import annotations

import enum
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from hotline.masking import mask_phone
from sms_gateway.carrier_client import CarrierClientProtocol
from sms_gateway.cmpp.deliver import mo_data_coding
from sms_gateway.link import DeliveryReceipt, MessageState
from sms_gateway.receipts import ESM_CLASS_UDHI, mo_fragment
from sms_gateway.sgip import codec
from sms_gateway.sgip.config import SgipBindConfig
from sms_gateway.sgip.framing import SgipFramer

_RESPONSES = (codec.BindResp, codec.SubmitResp, codec.UnbindResp)

# State of a Report -> the part's state.
STATES = {
    codec.STATE_DELIVERED: MessageState.DELIVERED,
    codec.STATE_WAITING: MessageState.ACCEPTED,
    codec.STATE_FAILED: MessageState.UNDELIVERABLE,
}


class BindRefused(Exception):
    """The SMG refused our Bind."""

    def __init__(self, reason: str, result: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.result = result


def national(number: str) -> str:
    """A number as the rest of the service keeps it: without SGIP's 86."""
    return number[2:] if number.startswith("86") and len(number) == 13 else number


def international(number: str) -> str:
    """A handset number as SGIP wants it, with 86 before it."""
    return number if number.startswith("86") else "86" + number


def receipt_from_report(report: codec.Report) -> DeliveryReceipt:
    state = STATES.get(report.state, MessageState.UNDELIVERABLE)
    error = None
    if state is not MessageState.DELIVERED:
        error = f"{report.error_code} {codec.result_name(report.error_code)}"
    return DeliveryReceipt(message_id=report.submit_sequence.message_id, state=state,
                           error_code=error, handset=national(report.user_number) or None)


class _SgipProtocol(CarrierClientProtocol, SgipFramer):
    """What both sides say alike."""

    PEER = "SMG"
    ACTIVE_TEST = "idle check"

    def __init__(self, config: SgipBindConfig, clock: IReactorTime, *,
                 sequences: codec.SequenceNumbers | None = None, **handlers: Any):
        super().__init__(config, clock, **handlers)
        self.sequences = sequences or codec.SequenceNumbers(config.node_id, clock)

    def encode(self, pdu: Any, sequence: Any) -> bytes:
        return codec.encode(pdu, sequence)

    def kind(self, pdu: Any) -> enum.IntEnum:
        return pdu.command

    def nextSequence(self) -> codec.Sequence:
        return self.sequences.next()

    def activeTest(self) -> object:  # SGIP has none: see `_sendActiveTest`
        return codec.Unbind()

    def _decoded(self, data: bytes) -> tuple[codec.Sequence, Any] | None:
        self._last_received = self.clock.seconds()
        try:
            return codec.decode(data)
        except codec.UnknownCommand as e:
            self.log.warn("Ignoring Command ID 0x{command_id:08X} from {where}",
                          command_id=e.command_id, where=self._where())
        except codec.MalformedPdu as e:
            self._malformedLogged(e, e.sequence.counter, data)
            self._malformedAnswer(e)
        return None

    def _malformedAnswer(self, error: codec.MalformedPdu) -> None:
        """A Deliver or Report we cannot read is answered with its error Result (the SMG
        does not send it again); an answer we cannot read counts as none: it times out and
        is retried."""
        if error.command_id in (codec.Command.DELIVER, codec.Command.REPORT):
            kind = codec.Command(error.command_id)
            self.acknowledge(error.sequence, (kind, error.sequence), error.result)

    @staticmethod
    def recentKey(msg_id: Any) -> int:
        kind, sequence = msg_id
        return int(sequence.message_id) * 2 + (kind is codec.Command.REPORT)

    def acknowledge(self, sequence: Any, msg_id: Any, status: int) -> None:
        kind, _ = msg_id
        answer = codec.ReportResp(status) if kind is codec.Command.REPORT else \
            codec.DeliverResp(status)
        self.sendPdu(codec.encode(answer, sequence))

    def _deliverReceived(self, sequence: codec.Sequence, deliver: codec.Deliver) -> None:
        token = (sequence, (codec.Command.DELIVER, sequence))
        if self._repeated(sequence, token[1], sequence.message_id):
            return
        try:
            fragment = mo_fragment(
                source=national(deliver.user_number), destination=deliver.sp_number,
                esm_class=ESM_CLASS_UDHI if deliver.tp_udhi else 0,
                data_coding=mo_data_coding(deliver.message_coding),
                short_message=deliver.message_content, tlvs={})
        except ValueError as e:
            self.log.error("Unreadable reply in SGIP Deliver from {source}: {error}",
                           source=mask_phone(deliver.user_number), error=str(e))
            self.acknowledge(sequence, token[1], codec.RESULT_FORMAT)
            return
        self._replyPart(fragment, token)

    def _reportReceived(self, sequence: codec.Sequence, report: codec.Report) -> None:
        token = (sequence, (codec.Command.REPORT, sequence))
        if self._repeated(sequence, token[1], sequence.message_id):
            return
        receipt = receipt_from_report(report)
        self.log.debug("Report for {msg_id}: State {state} -> {result} ({handset})",
                       msg_id=receipt.message_id, state=report.state,
                       result=receipt.state.value, handset=mask_phone(report.user_number))
        self._handOver(self.on_receipt, receipt, [token])


class SgipClientProtocol(_SgipProtocol):
    """One connection of the SP to the SMG, to submit."""

    def bind(self) -> Deferred:
        """Send Bind; fires with self once bound, fails with `BindRefused` (then dropped)."""
        self.state = "connecting"
        config = self.config
        d = self.request(codec.Bind(codec.LOGIN_SP_TO_SMG, config.login_name, config.password))
        return d.addCallbacks(self._bindAnswered, self._bindFailed)

    def _bindAnswered(self, resp: codec.BindResp) -> SgipClientProtocol:
        if resp.result != codec.RESULT_OK:
            reason = f"Result {resp.result} ({codec.result_name(resp.result)})"
            self.log.error("SMG {where} refused the SGIP bind of {login}: {reason}",
                           where=self._where(), login=self.config.login_name, reason=reason)
            self.transport.loseConnection()
            raise BindRefused(reason, resp.result)
        self.log.info("SGIP link to SMG {where} up as {login} (node {node})",
                      where=self._where(), login=self.config.login_name,
                      node=self.config.node_id)
        self._bound()
        return self

    def _bindFailed(self, failure: Failure) -> Failure:
        if not failure.check(BindRefused):
            self.log.error("SGIP Bind to {where} failed: {reason}", where=self._where(),
                           reason=failure.getErrorMessage())
            if self.transport is not None and self.state != "closed":
                self.transport.loseConnection()
        return failure

    def unbind(self) -> Deferred:
        """Stop submitting, wait for every outstanding answer, Unbind, disconnect."""
        return self._leave(codec.Unbind())

    def submit(self, pdu: Any) -> Deferred:
        """A Submit; fires with (its Sequence Number, Submit_Resp)."""
        d = super().submit(pdu)
        sequence = self.last_sequence
        return d.addCallback(lambda resp: (sequence, resp))

    def _sendActiveTest(self) -> None:
        # Idle for `idle_timeout`: SGIP expects the SP to unbind rather than keep a silent link.
        if self.state == "bound" and not self.outstanding:
            self.log.info("SGIP link to {where} idle for {idle}s: unbinding", where=self._where(),
                          idle=self.config.idle_timeout)
            self.unbind()

    def pduReceived(self, data: bytes) -> None:
        decoded = self._decoded(data)
        if decoded is None:
            return
        sequence, pdu = decoded
        if isinstance(pdu, _RESPONSES):
            self._responseReceived(sequence, pdu, len(data))
        elif isinstance(pdu, codec.Unbind):
            self._closedByPeer(codec.UnbindResp(), sequence)
        elif isinstance(pdu, codec.Deliver):
            # SGIP 1.2 has the SMG deliver on a connection of its own; one that sends on ours
            # anyway is stored and answered the same, rather than a reply or report lost.
            self._deliverReceived(sequence, pdu)
        elif isinstance(pdu, codec.Report):
            self._reportReceived(sequence, pdu)
        else:
            self.log.warn("Ignoring {command} from {where} on the SP's submit connection",
                          command=pdu.command.name, where=self._where())


class SgipServerProtocol(_SgipProtocol):
    """One connection of the SMG to the SP, to deliver replies and reports."""

    @property
    def can_submit(self) -> bool:
        return False

    def connectionMade(self) -> None:
        super().connectionMade()
        peer = self.transport.getPeer()
        address = getattr(peer, "host", "")
        if not self.config.allows(address):
            self.log.warn("Refusing an SGIP connection from {address}: not in allowed_peers",
                          address=address)
            self.state = "closed"
            self.transport.loseConnection()

    def _scheduleIdleCheck(self, delay: float) -> None:
        """The SMG unbinds its own idle connection; the SP waits."""

    def pduReceived(self, data: bytes) -> None:
        decoded = self._decoded(data)
        if decoded is None:
            return
        sequence, pdu = decoded
        if isinstance(pdu, codec.Bind):
            self._bind(sequence, pdu)
        elif self.state != "bound":
            self.log.warn("{command} from {where} before a Bind: closing",
                          command=pdu.command.name, where=self._where())
            self.transport.loseConnection()
        elif isinstance(pdu, codec.Deliver):
            self._deliverReceived(sequence, pdu)
        elif isinstance(pdu, codec.Report):
            self._reportReceived(sequence, pdu)
        elif isinstance(pdu, codec.Unbind):
            self._closedByPeer(codec.UnbindResp(), sequence)
        else:
            self.log.warn("Ignoring {command} from the SMG {where}", command=pdu.command.name,
                          where=self._where())

    def _where(self) -> str:
        peer = self.transport.getPeer() if self.transport is not None else None
        return f"{getattr(peer, 'host', '?')}:{getattr(peer, 'port', '?')}"

    def _bind(self, sequence: codec.Sequence, bind: codec.Bind) -> None:
        config = self.config
        good = (self.state == "open" and bind.login_type == codec.LOGIN_SMG_TO_SP
                and bind.login_name == config.smg_login_name
                and bind.login_password == config.smg_password)
        result = codec.RESULT_OK if good else (
            codec.RESULT_ILLEGAL_LOGIN if self.state == "open" else 2)  # 2: 重复登录
        self.sendPdu(codec.encode(codec.BindResp(result), sequence))
        if not good:
            self.log.error("Refused the SMG's SGIP bind from {where}: Result {result} "
                           "({name})", where=self._where(), result=result,
                           name=codec.result_name(result))
            self.transport.loseConnection()
            return
        self.log.info("SMG {where} bound to deliver as {login}", where=self._where(),
                      login=bind.login_name)
        self._bound()

