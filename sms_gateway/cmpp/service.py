"""`CmppLink`: one CMPP account at an ISMG as an `ISmsLink`, kept connected by `ClientService`.

Owns the connection (one long connection carries submits, reports and replies) and what
CMPP's answers mean; the parts go through the shared `SubmitPump` (queue, the window of
CMPP_SUBMIT awaiting their response, 16 by default as ISMGs enforce, the token bucket at the
contracted rate, retries). Result 8 (flow control) slows the link down and retries the part;
a response timeout retries with backoff; any other Result fails the part, named (``CMPP
Result 13 Dest_terminal_Id错误``). Each part's Msg_Id from CMPP_SUBMIT_RESP is its message id
(the 64-bit number in decimal), which is what the status report carries, so a report matches
its part exactly. When the link drops, every part not yet answered fails with
`LinkUnavailable`: the outbox resends it; nothing waits in memory for a reconnect. The
dispatcher sees what it sees of an `SmppLink`.
"""

from __future__ import annotations

from typing import cast

from twisted.application.internet import ClientService, backoffPolicy
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IProtocol, IReactorTime, IStreamClientEndpoint
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from zope.interface import implementer

from hotline.reconnect import guarded
from sms_gateway.cmpp import codec
from sms_gateway.cmpp.config import CmppBindConfig
from sms_gateway.cmpp.protocol import CmppClientProtocol, RecentDeliveries
from sms_gateway.cmpp.segments import CmppText, count_parts, encode_text
from sms_gateway.encoding import ReferencesExhausted
from sms_gateway.link import (
    CarrierBusy,
    DeliveryReceipt,
    ISmsLink,
    MessageHandler,
    OutboundMessage,
    PermanentSubmitError,
    ReceiptHandler,
    Submission,
)
from sms_gateway.receipts import message_id_keys
from sms_gateway.submit_pump import Outcome, Part, PumpedLink, SubmitPump, Verdict


def submit_error(result: int) -> str:
    """How a refused part's error reads in the outbox: the Result and the specification's name."""
    return f"CMPP Result {result} {codec.result_name(result)}"


def classify(pdu: object) -> Outcome:
    """What a CMPP_SUBMIT_RESP means for its part."""
    assert isinstance(pdu, codec.SubmitResp)
    result = pdu.result
    if result == codec.RESULT_OK:
        return Outcome.ok(codec.format_msg_id(pdu.msg_id))
    if result == codec.RESULT_FLOW_CONTROL:
        return Outcome(Verdict.THROTTLE, submit_error(result))
    return Outcome(Verdict.FAIL, submit_error(result), result)


@implementer(ISmsLink)
class CmppLink(PumpedLink[CmppClientProtocol, CmppText]):
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
        super().__init__(name, clock)
        self.config = config
        self.on_receipt = on_receipt
        self.on_message = on_message
        self.submits: SubmitPump[CmppClientProtocol, CmppText] = SubmitPump(
            config, clock, send=self._send, classify=classify, name=name, peer="ISMG",
            pdu="CMPP_SUBMIT")
        self.references = self.submits.references
        self.bucket = self.submits.bucket
        self.recent = RecentDeliveries()
        policy = retry_policy or backoffPolicy(
            initialDelay=config.reconnect_initial_delay, maxDelay=config.reconnect_max_delay)
        self.connection = ClientService(
            # An ISMG closes after a refused CMPP_CONNECT: see `hotline.reconnect`.
            guarded(endpoint), _CmppFactory(self), retryPolicy=policy, clock=clock,
            prepareConnection=_connect)
        self.connection.setName(f"{name}:{config.protocol}")
        self.connection.setServiceParent(self)

    @property
    def _protocol(self) -> CmppClientProtocol | None:
        return self.submits.carrier

    # -- ISmsLink (and `PumpedLink`'s) ------------------------------------------------------------

    def submit_id_keys(self, message_id: str) -> frozenset[str]:
        return message_id_keys(message_id, 10)

    def receipt_id_keys(self, receipt: DeliveryReceipt) -> frozenset[str]:
        return message_id_keys(receipt.message_id, 10)

    def submit(self, message: OutboundMessage) -> Submission:
        msg_fmt = self.config.msg_fmt
        try:
            encoded = encode_text(message.text, msg_fmt=msg_fmt, max_parts=self.config.max_parts,
                                  reference=self.submits.reference_for(message.destination))
        except ReferencesExhausted as e:
            return self.submits.refuse(CarrierBusy(str(e)), *count_parts(message.text, msg_fmt))
        return self._enqueue(message, encoded)

    # -- the connection coming and going ----------------------------------------------------------

    def _protocolBound(self, protocol: CmppClientProtocol) -> None:
        self._carrierUp(protocol)

    def _protocolLost(self, protocol: CmppClientProtocol) -> None:
        self._carrierLost(protocol)

    def stopService(self) -> Deferred:
        """Fail what is not yet sent, wait for the answers to what is, CMPP_TERMINATE."""
        self._beginStop()

        async def stop() -> None:
            if self._protocol is not None:
                await self._protocol.terminate()
            await MultiService.stopService(self)

        return Deferred.fromCoroutine(stop())

    # -- what a part is in CMPP -------------------------------------------------------------------

    def _send(self, protocol: CmppClientProtocol, part: Part[CmppText]) -> Deferred:
        config = self.config
        message = part.message
        encoded = part.encoded
        pdu = codec.Submit(
            pk_total=part.count, pk_number=part.index + 1,
            registered_delivery=config.registered_delivery if message.request_receipt else 0,
            service_id=config.service_id, fee_user_type=config.fee_user_type,
            fee_terminal_id=config.fee_terminal_id, tp_udhi=encoded.udhi,
            msg_fmt=encoded.msg_fmt, msg_src=config.sp_id, fee_type=config.fee_type,
            fee_code=config.fee_code, src_id=message.source or config.src_id,
            dest_terminal_ids=(message.destination,), msg_content=part.payload,
        )
        try:
            return protocol.submit(pdu)
        except codec.CodecError as error:  # a sender or number no field can hold
            raise PermanentSubmitError(f"CMPP_SUBMIT cannot be built: {error}") from None


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
