"""`SgipLink`: one SGIP 1.2 account at China Unicom's SMG as an `ISmsLink`, a `CarrierLink`
for its submitting side (the SP binds to the SMG, kept by `ClientService`; the parts go
through the shared `SubmitPump`), and a listener for its delivering side (the SMG binds to
the SP to send replies and Reports, on `listen_port`, from `allowed_peers` only, with the
SMG's login checked).

What is SGIP's here: Bind before use, Unbind on stop and when idle, each part's Submit (the
number with 86 before it; a long text in UDH parts with TP_udhi), and what its answer means:
Result 0 accepts the part, whose carrier message id is the Submit's own Sequence Number
(node id, time, counter, ten digits each) that its Report names; Result 11 (节点忙) slows the
link down and retries the part; any other Result fails the part, named (``SGIP Result 6
非法手机号码``).
"""

from __future__ import annotations

from typing import Any

from twisted.application.internet import StreamServerEndpointService
from twisted.internet import endpoints
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.internet.protocol import Factory
from zope.interface import implementer

from sms_gateway.carrier_link import CarrierLink
from sms_gateway.cmpp.segments import CmppText
from sms_gateway.link import DeliveryReceipt, ISmsLink
from sms_gateway.receipts import message_id_keys
from sms_gateway.sgip import codec
from sms_gateway.sgip.config import SgipBindConfig
from sms_gateway.sgip.protocol import SgipClientProtocol, SgipServerProtocol, international
from sms_gateway.submit_pump import Outcome, Part, Verdict


def submit_error(result: int) -> str:
    return f"SGIP Result {result} {codec.result_name(result)}"


def classify(pdu: object) -> Outcome:
    """What (the Submit's Sequence Number, its Submit_Resp) means for its part."""
    assert isinstance(pdu, tuple)
    sequence, resp = pdu
    assert isinstance(sequence, codec.Sequence) and isinstance(resp, codec.SubmitResp)
    if resp.result == codec.RESULT_OK:
        return Outcome.ok(sequence.message_id)
    if resp.result == codec.RESULT_NODE_BUSY:
        return Outcome(Verdict.THROTTLE, submit_error(resp.result))
    return Outcome(Verdict.FAIL, submit_error(resp.result), resp.result)


@implementer(ISmsLink)
class SgipLink(CarrierLink[SgipClientProtocol]):
    """An `ISmsLink` over SGIP 1.2. `listen_endpoint` is where the SMG's binds are taken
    (default: `listen_host`:`listen_port` on the reactor given as `clock`)."""

    PEER = "SMG"
    SUBMIT = "SGIP Submit"
    PROTOCOL_CLASS = SgipClientProtocol
    CODEC_ERROR = codec.CodecError
    classify = staticmethod(classify)

    def __init__(self, config: SgipBindConfig, endpoint, clock, *, on_receipt, on_message,
                 name: str = "sgip", retry_policy=None,
                 listen_endpoint: IStreamServerEndpoint | None = None):
        super().__init__(config, endpoint, clock, on_receipt=on_receipt, on_message=on_message,
                         name=name, retry_policy=retry_policy)
        self.sequences = codec.SequenceNumbers(config.node_id, clock)
        if listen_endpoint is None:
            listen_endpoint = endpoints.TCP4ServerEndpoint(
                clock, config.listen_port, interface=config.listen_host)
        self.listener = StreamServerEndpointService(listen_endpoint, _SmgFactory(self))
        self.listener.setName(f"{name}:sgip12-listener")
        self.listener.setServiceParent(self)

    def protocolOptions(self) -> dict[str, Any]:
        # One counter for the node: a Sequence Number names its part across reconnects.
        return {"sequences": self.sequences}

    def submit_id_keys(self, message_id: str) -> frozenset[str]:
        return message_id_keys(message_id, 10)

    def receipt_id_keys(self, receipt: DeliveryReceipt) -> frozenset[str]:
        return message_id_keys(receipt.message_id, 10)

    def login(self, protocol: Any) -> Deferred:
        return protocol.bind()

    def leave(self, protocol: SgipClientProtocol) -> Deferred:
        return protocol.unbind()

    def submitPdu(self, part: Part[CmppText]) -> codec.Submit:
        config = self.config
        message = part.message
        return codec.Submit(
            sp_number=message.source or config.sp_number,
            user_numbers=(international(message.destination),),
            message_content=part.payload, corp_id=config.corp_id,
            service_type=config.service_type, charge_number=config.charge_number,
            fee_type=config.fee_type, fee_value=config.fee_value,
            given_value=config.given_value, agent_flag=config.agent_flag,
            morelateto_mt_flag=config.morelateto_mt_flag, priority=config.priority,
            report_flag=config.report_flag if message.request_receipt else 2,
            tp_udhi=part.encoded.udhi, message_coding=part.encoded.msg_fmt)


class _SmgFactory(Factory):
    """The SMG's connections to the SP: each an `SgipServerProtocol`."""

    noisy = False

    def __init__(self, link: SgipLink):
        self.link = link

    def buildProtocol(self, addr) -> SgipServerProtocol:
        link = self.link
        return SgipServerProtocol(
            link.config, link.clock, sequences=link.sequences,
            on_receipt=lambda receipt: link.on_receipt(receipt),
            on_message=lambda message: link.on_message(message), recent=link.recent)
