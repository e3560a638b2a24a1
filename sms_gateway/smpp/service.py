"""`SmppLink`: one SMSC account as an `ISmsLink`, kept bound by `ClientService`.

Owns the bind(s) (a transceiver, or a transmitter and a receiver) and what SMPP's answers
mean; the parts themselves go through the shared `SubmitPump` (queue, window, token bucket
at the contracted rate per PDU, retries). ESME_RTHROTTLED / ESME_RMSGQFUL slow the bind down
and retry the part; ESME_RSYSERR and response timeouts retry with backoff; any other error
fails the part with the status name. When the link drops, every part not yet answered fails
with `LinkUnavailable` (a `RetryableSubmitError`): the outbox resends it; nothing waits in
memory for a reconnect.
"""

from __future__ import annotations

from twisted.application.internet import ClientService, backoffPolicy
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from zope.interface import implementer

from hotline.reconnect import guarded
from sms_gateway.encoding import (
    EncodedMessage,
    ReferencesExhausted,
    count_parts,
    encode_message,
)
from sms_gateway.link import (
    CarrierBusy,
    DeliveryReceipt,
    ISmsLink,
    MessageHandler,
    OutboundMessage,
    ReceiptHandler,
    Submission,
)
from sms_gateway.receipts import message_id_keys
from sms_gateway.smpp import codec
from sms_gateway.smpp.config import SmppBindConfig
from sms_gateway.smpp.protocol import BindRefused, EsmeProtocol
from sms_gateway.submit_pump import Outcome, Part, PumpedLink, SubmitPump, Verdict

_SLOW_DOWN = (codec.ESME_RTHROTTLED, codec.ESME_RMSGQFUL)


def classify(pdu: object) -> Outcome:
    """What a submit_sm_resp means for its part."""
    assert isinstance(pdu, codec.Pdu)
    status = pdu.status
    if status == codec.ESME_ROK:
        return Outcome.ok(pdu.text_field("message_id"))
    name = codec.status_name(status)
    if status in _SLOW_DOWN:
        return Outcome(Verdict.THROTTLE, name)
    if status == codec.ESME_RSYSERR:
        return Outcome(Verdict.RETRY, name)
    return Outcome(Verdict.FAIL, name, status)


@implementer(ISmsLink)
class SmppLink(PumpedLink[EsmeProtocol, EncodedMessage]):
    """An `ISmsLink` over SMPP 3.4.

    `endpoint` is where the SMSC listens (one connection per bind is made to it); `clock` runs
    every timer; `on_receipt` and `on_message` store what comes back and return Deferreds.
    `retry_policy` (attempt -> seconds) overrides the reconnect backoff built from the config.
    """

    log = Logger()
    not_ready = "is not bound"

    def __init__(
        self,
        config: SmppBindConfig,
        endpoint: IStreamClientEndpoint,
        clock: IReactorTime,
        *,
        on_receipt: ReceiptHandler,
        on_message: MessageHandler,
        name: str = "smpp",
        retry_policy=None,
    ):
        super().__init__(name, clock)
        self.config = config
        self.on_receipt = on_receipt
        self.on_message = on_message
        self.submits: SubmitPump[EsmeProtocol, EncodedMessage] = SubmitPump(
            config, clock, send=self._send, classify=classify, name=name, peer="SMSC",
            pdu="submit_sm")
        self.references = self.submits.references
        self.bucket = self.submits.bucket
        self._bound: set[EsmeProtocol] = set()
        policy = retry_policy or backoffPolicy(
            initialDelay=config.reconnect_initial_delay, maxDelay=config.reconnect_max_delay)
        commands = ("bind_transceiver",) if config.bind_mode == "transceiver" else (
            "bind_transmitter", "bind_receiver")
        self.binds: list[ClientService] = []
        for command in commands:
            bind = ClientService(
                # An SMSC closes after a refused bind: see `hotline.reconnect`.
                guarded(_ReasonEndpoint(endpoint, self)), _EsmeFactory(self, command),
                retryPolicy=policy, clock=clock, prepareConnection=self._bind,
            )
            bind.setName(f"{name}:{command}")
            bind.setServiceParent(self)
            self.binds.append(bind)

    @property
    def _transmitter(self) -> EsmeProtocol | None:
        return self.submits.carrier

    # -- ISmsLink (and `PumpedLink`'s) ------------------------------------------------------------

    def submit_id_keys(self, message_id: str) -> frozenset[str]:
        return message_id_keys(message_id, self.config.submit_id_base)

    def receipt_id_keys(self, receipt: DeliveryReceipt) -> frozenset[str]:
        return message_id_keys(receipt.message_id, self.config.receipt_id_base)

    def submit(self, message: OutboundMessage) -> Submission:
        try:
            encoded = encode_message(message.text, max_parts=self.config.max_parts,
                                     reference=self.submits.reference_for(message.destination))
        except ReferencesExhausted as e:
            return self.submits.refuse(CarrierBusy(str(e)), *count_parts(message.text))
        return self._enqueue(message, encoded)

    # -- binds coming and going -------------------------------------------------------------------

    def _bind(self, protocol: EsmeProtocol) -> Deferred:
        def refused(failure):
            if failure.check(BindRefused):
                self.down_reason = f"{failure.value.status_name}: {protocol.bind_command} refused"
            else:
                self.down_reason = f"{protocol.bind_command} failed: {failure.getErrorMessage()}"
            return failure
        return protocol.bind().addErrback(refused)

    def _protocolBound(self, protocol: EsmeProtocol) -> None:
        self._bound.add(protocol)
        if protocol.can_submit:
            self._carrierUp(protocol)

    def _protocolLost(self, protocol: EsmeProtocol) -> None:
        self._bound.discard(protocol)
        self._carrierLost(protocol)

    def stopService(self) -> Deferred:
        """Fail what is not yet sent, wait for the answers to what is, unbind, disconnect."""
        self._beginStop()

        async def stop() -> None:
            for protocol in list(self._bound):
                await protocol.unbind()
            await MultiService.stopService(self)

        return Deferred.fromCoroutine(stop())

    # -- what a part is in SMPP -------------------------------------------------------------------

    def _send(self, protocol: EsmeProtocol, part: Part[EncodedMessage]) -> Deferred:
        config = self.config
        message = part.message
        encoded = part.encoded
        return protocol.submit(
            source_addr_ton=config.source_addr_ton, source_addr_npi=config.source_addr_npi,
            source_addr=message.source or config.source_addr,
            dest_addr_ton=config.dest_addr_ton, dest_addr_npi=config.dest_addr_npi,
            destination_addr=message.destination,
            esm_class=encoded.esm_class, data_coding=encoded.data_coding,
            registered_delivery=config.registered_delivery if message.request_receipt else 0,
            short_message=part.payload,
        )


@implementer(IStreamClientEndpoint)
class _ReasonEndpoint:
    """`endpoint`, noting on the link why a connection attempt failed (for /healthz)."""

    def __init__(self, endpoint: IStreamClientEndpoint, link: SmppLink):
        self._endpoint = endpoint
        self._link = link

    def connect(self, factory) -> Deferred:
        def failed(failure):
            self._link.down_reason = f"cannot connect: {failure.getErrorMessage()}"
            return failure
        return self._endpoint.connect(factory).addErrback(failed)


class _EsmeFactory(Factory):
    noisy = False  # binds coming and going are logged by the protocol
    def __init__(self, link: SmppLink, bind_command: str):
        self.link = link
        self.bind_command = bind_command

    def buildProtocol(self, addr) -> EsmeProtocol:
        link = self.link
        return EsmeProtocol(
            link.config, link.clock, self.bind_command,
            on_receipt=lambda receipt: link.on_receipt(receipt),
            on_message=lambda message: link.on_message(message),
            on_bound=link._protocolBound, on_lost=link._protocolLost,
        )
