"""`SmgpLink`: one SMGP 3.0 account at an SMGW as an `ISmsLink`, a `CarrierLink` (one long
connection in transmit mode, kept by `ClientService`, carries submits, reports and replies;
the parts go through the shared `SubmitPump`: window, token bucket, retries).

What is SMGP's here: Login before use, Exit on stop, each part's Submit, and what its answer
means. Status 1 (系统忙, and 103/104 of 企业信使 gateways) slows the link down and retries
the part; a response timeout retries with backoff; any other Status fails the part, named (``SMGP Status 47 非法接收用户号码``). Each part's 10-octet MsgID from
Submit_Resp is its message id (20 hex digits), which is what the status report carries. When
the link drops, every part not yet answered fails with `LinkUnavailable`: the outbox resends
it. Long messages go with a UDH in MsgContent and the TP_udhi, PkTotal and PkNumber TLVs.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from zope.interface import implementer

from sms_gateway.carrier_link import CarrierLink
from sms_gateway.cmpp.segments import CmppText
from sms_gateway.link import DeliveryReceipt, ISmsLink
from sms_gateway.receipts import message_id_keys
from sms_gateway.smgp import codec
from sms_gateway.smgp.config import SmgpBindConfig
from sms_gateway.smgp.protocol import SmgpClientProtocol
from sms_gateway.submit_pump import Outcome, Part, Verdict


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
class SmgpLink(CarrierLink[SmgpClientProtocol]):
    """An `ISmsLink` over SMGP 3.0."""

    PEER = "SMGW"
    SUBMIT = "SMGP Submit"
    PROTOCOL_CLASS = SmgpClientProtocol
    CODEC_ERROR = codec.CodecError
    classify = staticmethod(classify)

    def __init__(self, config, endpoint, clock, *, on_receipt, on_message, name: str = "smgp",
                 retry_policy=None):
        super().__init__(config, endpoint, clock, on_receipt=on_receipt, on_message=on_message,
                         name=name, retry_policy=retry_policy)

    def submit_id_keys(self, message_id: str) -> frozenset[str]:
        return message_id_keys(message_id, 16)

    def receipt_id_keys(self, receipt: DeliveryReceipt) -> frozenset[str]:
        return message_id_keys(receipt.message_id, 16)

    def login(self, protocol: Any) -> Deferred:
        return protocol.login()

    def leave(self, protocol: SmgpClientProtocol) -> Deferred:
        return protocol.exit()

    def submitPdu(self, part: Part[CmppText]) -> codec.Submit:
        return submit_pdu(self.config, part)
