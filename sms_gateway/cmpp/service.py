"""`CmppLink`: one CMPP account at an ISMG as an `ISmsLink`, a `CarrierLink` (one long
connection, kept by `ClientService`, carries submits, reports and replies; the parts go
through the shared `SubmitPump`: the window of CMPP_SUBMIT awaiting their response, 16 by
default as ISMGs enforce, the token bucket at the contracted rate, retries).

What is CMPP's here: CMPP_CONNECT before use, CMPP_TERMINATE on stop, each part's
CMPP_SUBMIT, and what its answer means. Result 8 (flow control) slows the link down and
retries the part; a response timeout retries with backoff; any other Result fails the part,
named (``CMPP Result 13 Dest_terminal_Id错误``). Each part's Msg_Id from CMPP_SUBMIT_RESP is its message id
(the 64-bit number in decimal), which is what the status report carries, so a report matches
its part exactly. When the link drops, every part not yet answered fails with
`LinkUnavailable`: the outbox resends it; nothing waits in memory for a reconnect. The
dispatcher sees what it sees of an `SmppLink`.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from zope.interface import implementer

from sms_gateway.carrier_link import CarrierLink
from sms_gateway.cmpp import codec
from sms_gateway.cmpp.protocol import CmppClientProtocol
from sms_gateway.cmpp.segments import CmppText
from sms_gateway.link import DeliveryReceipt, ISmsLink
from sms_gateway.receipts import message_id_keys
from sms_gateway.submit_pump import Outcome, Part, Verdict


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
class CmppLink(CarrierLink[CmppClientProtocol]):
    """An `ISmsLink` over CMPP 2.0 or 3.0 (`config.protocol`)."""

    PEER = "ISMG"
    SUBMIT = "CMPP_SUBMIT"
    PROTOCOL_CLASS = CmppClientProtocol
    CODEC_ERROR = codec.CodecError
    classify = staticmethod(classify)

    def __init__(self, config, endpoint, clock, *, on_receipt, on_message, name: str = "cmpp",
                 retry_policy=None):
        super().__init__(config, endpoint, clock, on_receipt=on_receipt, on_message=on_message,
                         name=name, retry_policy=retry_policy)

    def submit_id_keys(self, message_id: str) -> frozenset[str]:
        return message_id_keys(message_id, 10)

    def receipt_id_keys(self, receipt: DeliveryReceipt) -> frozenset[str]:
        return message_id_keys(receipt.message_id, 10)

    def login(self, protocol: Any) -> Deferred:
        return protocol.connect()

    def leave(self, protocol: CmppClientProtocol) -> Deferred:
        return protocol.terminate()

    def submitPdu(self, part: Part[CmppText]) -> codec.Submit:
        config = self.config
        message = part.message
        encoded = part.encoded
        return codec.Submit(
            pk_total=part.count, pk_number=part.index + 1,
            registered_delivery=config.registered_delivery if message.request_receipt else 0,
            service_id=config.service_id, fee_user_type=config.fee_user_type,
            fee_terminal_id=config.fee_terminal_id, tp_udhi=encoded.udhi,
            msg_fmt=encoded.msg_fmt, msg_src=config.sp_id, fee_type=config.fee_type,
            fee_code=config.fee_code, src_id=message.source or config.src_id,
            dest_terminal_ids=(message.destination,), msg_content=part.payload,
        )
