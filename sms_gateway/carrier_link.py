"""`CarrierLink`: an `ISmsLink` over one long connection to a Chinese carrier's gateway (CMPP
to China Mobile's ISMG, SMGP to China Telecom's SMGW), kept connected by `ClientService`.

What such a link does whatever the protocol: one connection, logged in by the protocol before
it is used, carries submits, reports and replies; the parts go through the shared
`SubmitPump`; the text is cut by `sms_gateway.cmpp.segments` (both protocols number their
formats alike: 0 ASCII, 8 UCS2, 15 GBK, and carry a 6-octet UDH for long text); deliveries
the carrier sends again after a lost acknowledgement are recognised across reconnects
(`RecentDeliveries`); on stop, what is not yet sent fails, the answers to what is are awaited,
and the protocol says goodbye. When the link drops, every part not yet answered fails with
`LinkUnavailable`: the outbox resends it; nothing waits in memory for a reconnect.

A subclass names its protocol class, builds one part's submit (`submitPdu`), reads the
answer (`classify`), and says how to log in and leave.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Generic, TypeVar

from twisted.application.internet import ClientService, backoffPolicy
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
from twisted.internet.protocol import Factory
from twisted.logger import Logger

from hotline.reconnect import guarded
from sms_gateway.carrier_client import CarrierClientProtocol, RecentDeliveries
from sms_gateway.cmpp.segments import CmppText, count_parts, encode_text
from sms_gateway.encoding import ReferencesExhausted
from sms_gateway.link import (
    CarrierBusy,
    MessageHandler,
    OutboundMessage,
    PermanentSubmitError,
    ReceiptHandler,
    Submission,
)
from sms_gateway.submit_pump import Outcome, Part, PumpedLink, SubmitPump

P = TypeVar("P", bound=CarrierClientProtocol)


class CarrierLink(PumpedLink[P, CmppText], Generic[P]):
    """`endpoint` is where the gateway listens; `clock` runs every timer; `on_receipt` and
    `on_message` store what comes back and return Deferreds. `retry_policy` (attempt ->
    seconds) overrides the reconnect backoff built from the config."""

    log = Logger()
    PEER: ClassVar[str]  # the gateway, in the log: "ISMG", "SMGW"
    SUBMIT: ClassVar[str]  # the submit command, in the log and in errors
    PROTOCOL_CLASS: ClassVar[type]
    CODEC_ERROR: ClassVar[type[Exception]]  # what the codec raises for a PDU it cannot build

    def __init__(
        self,
        config: Any,
        endpoint: IStreamClientEndpoint,
        clock: IReactorTime,
        *,
        on_receipt: ReceiptHandler,
        on_message: MessageHandler,
        name: str,
        retry_policy=None,
    ):
        super().__init__(name, clock)
        self.config = config
        self.on_receipt = on_receipt
        self.on_message = on_message
        self.submits: SubmitPump[P, CmppText] = SubmitPump(
            config, clock, send=self._send, classify=self.classify, name=name, peer=self.PEER,
            pdu=self.SUBMIT)
        self.references = self.submits.references
        self.bucket = self.submits.bucket
        self.recent = RecentDeliveries()
        policy = retry_policy or backoffPolicy(
            initialDelay=config.reconnect_initial_delay, maxDelay=config.reconnect_max_delay)
        self.connection = ClientService(
            # A gateway closes after a refused login: see `hotline.reconnect`.
            guarded(endpoint), _CarrierFactory(self), retryPolicy=policy, clock=clock,
            prepareConnection=self.login)
        self.connection.setName(f"{name}:{config.protocol}")
        self.connection.setServiceParent(self)

    # -- what a protocol says -------------------------------------------------------------------

    @staticmethod
    @abc.abstractmethod
    def classify(pdu: object) -> Outcome:
        """What the submit's answer means for its part."""

    @abc.abstractmethod
    def submitPdu(self, part: Part[CmppText]) -> object:
        """The submit of one part (raises the codec's error for one no field can hold)."""

    @abc.abstractmethod
    def login(self, protocol: Any) -> Deferred:
        """Log a new connection in; fires once it can be used."""

    @abc.abstractmethod
    def leave(self, protocol: P) -> Deferred:
        """Say goodbye on stop, once the answers to what was sent are in."""

    # -- the link -------------------------------------------------------------------------------

    def protocolOptions(self) -> dict[str, Any]:
        """More keyword arguments for each connection's protocol."""
        return {}

    @property
    def _protocol(self) -> P | None:
        return self.submits.carrier

    def submit(self, message: OutboundMessage) -> Submission:
        msg_fmt = self.config.msg_fmt
        try:
            encoded = encode_text(message.text, msg_fmt=msg_fmt, max_parts=self.config.max_parts,
                                  reference=self.submits.reference_for(message.destination))
        except ReferencesExhausted as e:
            return self.submits.refuse(CarrierBusy(str(e)), *count_parts(message.text, msg_fmt))
        return self._enqueue(message, encoded)

    def _send(self, protocol: P, part: Part[CmppText]) -> Deferred:
        try:
            return protocol.submit(self.submitPdu(part))
        except self.CODEC_ERROR as error:  # a sender or number no field can hold
            raise PermanentSubmitError(f"{self.SUBMIT} cannot be built: {error}") from None

    def _protocolBound(self, protocol: P) -> None:
        self._carrierUp(protocol)

    def _protocolLost(self, protocol: P) -> None:
        self._carrierLost(protocol)

    def stopService(self) -> Deferred:
        """Fail what is not yet sent, wait for the answers to what is, say goodbye."""
        self._beginStop()

        async def stop() -> None:
            if self._protocol is not None:
                await self.leave(self._protocol)
            await MultiService.stopService(self)

        return Deferred.fromCoroutine(stop())


class _CarrierFactory(Factory):
    noisy = False  # connections coming and going are logged by the protocol

    def __init__(self, link: CarrierLink):
        self.link = link

    def buildProtocol(self, addr) -> CarrierClientProtocol:
        link = self.link
        return link.PROTOCOL_CLASS(
            link.config, link.clock,
            on_receipt=lambda receipt: link.on_receipt(receipt),
            on_message=lambda message: link.on_message(message),
            on_bound=link._protocolBound, on_lost=link._protocolLost, recent=link.recent,
            **link.protocolOptions(),
        )
