"""`SmgpLink`: one SMGP 3.0 account at an SMGW as an `ISmsLink`, kept connected by
`ClientService`.

Owns the connection (one long connection in transmit mode carries submits, reports and
replies) and what SMGP's answers mean; the parts go through the shared `SubmitPump` (queue,
window, token bucket, retries). Status 1 (系统忙, and 103/104 of 企业信使 gateways) slows the
link down and retries the part; a response timeout retries with backoff; any other Status
fails the part, named (``SMGP Status 47 非法接收用户号码``). Each part's 10-octet MsgID from
Submit_Resp is its message id (20 hex digits), which is what the status report carries. When
the link drops, every part not yet answered fails with `LinkUnavailable`: the outbox resends
it. Long messages go with a UDH in MsgContent and the TP_udhi, PkTotal and PkNumber TLVs.
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
from sms_gateway.carrier_client import RecentDeliveries
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
from sms_gateway.smgp import codec
from sms_gateway.smgp.config import SmgpBindConfig
from sms_gateway.smgp.protocol import SmgpClientProtocol
from sms_gateway.submit_pump import Outcome, Part, PumpedLink, SubmitPump, Verdict


def submit_error(status: int) -> str:
    """How a refused part's error reads in the outbox: the Status and the specification's name."""
    return f"SMGP Status {status} {codec.status_name(status)}"


def classify(pdu: object) -> Outcome:
    """What a Submit_Resp means for its part."""
    assert isinstance(pdu, codec.SubmitResp)
    status = pdu.status
    if status == codec.STATUS_OK:
        return Outcome.ok(codec.format_msg_id(pdu.msg_id))
    if status in codec.SLOW_DOWN:
        return Outcome(Verdict.THROTTLE, submit_error(status))
    return Outcome(Verdict.FAIL, submit_error(status), status)


def submit_pdu(config: SmgpBindConfig, part: Part[CmppText]) -> codec.Submit:
    """The Submit of one part. (SMGP's MsgFormat numbers are CMPP's Msg_Fmt: 0, 8, 15, so the
    parts are cut by `sms_gateway.cmpp.segments`.)"""
    message = part.message
    tlvs: codec.Tlvs = ()
    if part.count > 1:
        tlvs = ((codec.Tag.TP_UDHI, b"\x01"), (codec.Tag.PK_TOTAL, bytes((part.count,))),
                (codec.Tag.PK_NUMBER, bytes((part.index + 1,))))
    return codec.Submit(
        dest_term_ids=(message.destination,), msg_content=part.payload,
        src_term_id=message.source or config.src_term_id, msg_format=part.encoded.msg_fmt,
        need_report=config.need_report if message.request_receipt else 0,
        priority=config.priority, service_id=config.service_id, fee_type=config.fee_type,
        fee_code=config.fee_code, fixed_fee=config.fixed_fee,
        charge_term_id=config.charge_term_id, tlvs=tlvs)


@implementer(ISmsLink)
class SmgpLink(PumpedLink[SmgpClientProtocol, CmppText]):
    """An `ISmsLink` over SMGP 3.0.

    `endpoint` is where the SMGW listens; `clock` runs every timer; `on_receipt` and
    `on_message` store what comes back and return Deferreds. `retry_policy` (attempt ->
    seconds) overrides the reconnect backoff built from the config.
    """

    log = Logger()

    def __init__(
        self,
        config: SmgpBindConfig,
        endpoint: IStreamClientEndpoint,
        clock: IReactorTime,
        *,
        on_receipt: ReceiptHandler,
        on_message: MessageHandler,
        name: str = "smgp",
        retry_policy=None,
    ):
        super().__init__(name, clock)
        self.config = config
        self.on_receipt = on_receipt
        self.on_message = on_message
        self.submits: SubmitPump[SmgpClientProtocol, CmppText] = SubmitPump(
            config, clock, send=self._send, classify=classify, name=name, peer="SMGW",
            pdu="Submit")
        self.references = self.submits.references
        self.bucket = self.submits.bucket
        self.recent = RecentDeliveries()
        policy = retry_policy or backoffPolicy(
            initialDelay=config.reconnect_initial_delay, maxDelay=config.reconnect_max_delay)
        self.connection = ClientService(
            # An SMGW closes after a refused Login: see `hotline.reconnect`.
            guarded(endpoint), _SmgpFactory(self), retryPolicy=policy, clock=clock,
            prepareConnection=_login)
        self.connection.setName(f"{name}:smgp3")
        self.connection.setServiceParent(self)

    @property
    def _protocol(self) -> SmgpClientProtocol | None:
        return self.submits.carrier

    # -- ISmsLink (and `PumpedLink`'s) ------------------------------------------------------------

    def submit_id_keys(self, message_id: str) -> frozenset[str]:
        return message_id_keys(message_id, 16)

    def receipt_id_keys(self, receipt: DeliveryReceipt) -> frozenset[str]:
        return message_id_keys(receipt.message_id, 16)

    def submit(self, message: OutboundMessage) -> Submission:
        msg_fmt = self.config.msg_fmt
        try:
            encoded = encode_text(message.text, msg_fmt=msg_fmt, max_parts=self.config.max_parts,
                                  reference=self.submits.reference_for(message.destination))
        except ReferencesExhausted as e:
            return self.submits.refuse(CarrierBusy(str(e)), *count_parts(message.text, msg_fmt))
        return self._enqueue(message, encoded)

    def _protocolBound(self, protocol: SmgpClientProtocol) -> None:
        self._carrierUp(protocol)

    def _protocolLost(self, protocol: SmgpClientProtocol) -> None:
        self._carrierLost(protocol)

    def stopService(self) -> Deferred:
        """Fail what is not yet sent, wait for the answers to what is, Exit."""
        self._beginStop()

        async def stop() -> None:
            if self._protocol is not None:
                await self._protocol.exit()
            await MultiService.stopService(self)

        return Deferred.fromCoroutine(stop())

    def _send(self, protocol: SmgpClientProtocol, part: Part[CmppText]) -> Deferred:
        try:
            return protocol.submit(submit_pdu(self.config, part))
        except codec.CodecError as error:  # a sender or number no field can hold
            raise PermanentSubmitError(f"SMGP Submit cannot be built: {error}") from None


def _login(protocol: IProtocol) -> Deferred:
    return cast(SmgpClientProtocol, protocol).login()


class _SmgpFactory(Factory):
    noisy = False  # connections coming and going are logged by the protocol

    def __init__(self, link: SmgpLink):
        self.link = link

    def buildProtocol(self, addr) -> SmgpClientProtocol:
        link = self.link
        return SmgpClientProtocol(
            link.config, link.clock,
            on_receipt=lambda receipt: link.on_receipt(receipt),
            on_message=lambda message: link.on_message(message),
            on_bound=link._protocolBound, on_lost=link._protocolLost, recent=link.recent,
        )
