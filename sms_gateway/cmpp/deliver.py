"""What a CMPP_DELIVER means: a status report as a `DeliveryReceipt`, or a part of a reply
(MO) as a `MoFragment` for the reassembler the SMPP link uses too.

Pure. The Stat of a report maps to a message state by this table (the ISMG's own codes, two
letters, a colon and four digits, say where delivery failed):

| Stat | state | final |
|---|---|---|
| DELIVRD | delivered | yes |
| EXPIRED | expired | yes |
| DELETED | deleted (failed) | yes |
| UNDELIV | undeliverable (failed) | yes |
| REJECTD | rejected (failed) | yes |
| ACCEPTD | accepted | no: a later report settles it |
| UNKNOWN | unknown | no |
| MA:xxxx, MB:xxxx, MC:xxxx (the SMSC, the HLR), CA:/CB: (the SCP), DA:/DB: (DSMP), SA:/SB: (the SP), IA:/IB:/IC: (the next ISMG), MK:xxxx, MI:, MN:, ID:, ... and any other Stat | undeliverable (failed), the Stat kept as the error code | yes |

A report is the carrier's word on the part; only DELIVRD says it reached the handset, so any
code not in the table is a failure whose Stat an operator can look up with the carrier.
"""

from __future__ import annotations

from sms_gateway.cmpp import codec
from sms_gateway.cmpp.segments import MSG_FMT_ASCII, MSG_FMT_GBK, MSG_FMT_UCS2
from sms_gateway.link import DeliveryReceipt, MessageState
from sms_gateway.receipts import ESM_CLASS_UDHI, MoFragment, mo_fragment, parse_receipt_date

STATES = {
    "DELIVRD": MessageState.DELIVERED,
    "EXPIRED": MessageState.EXPIRED,
    "DELETED": MessageState.DELETED,
    "UNDELIV": MessageState.UNDELIVERABLE,
    "REJECTD": MessageState.REJECTED,
    "ACCEPTD": MessageState.ACCEPTED,
    "UNKNOWN": MessageState.UNKNOWN,
}

# Msg_Fmt of an MO -> the data_coding `sms_gateway.receipts.decode_short_message` reads it by:
# CMPP's 0 is ASCII (SMPP's 0 is GSM 7-bit), 8 UCS2, 15 GBK; anything else octet for octet.
_DATA_CODING = {MSG_FMT_ASCII: 0x01, MSG_FMT_UCS2: 0x08, MSG_FMT_GBK: 0x0F}
_OCTETS = 0x04


def mo_data_coding(msg_fmt: int) -> int:
    """The data_coding an MO's Msg_Fmt (SMGP's MsgFormat: the same numbers) is read by."""
    return _DATA_CODING.get(msg_fmt, _OCTETS)


def state_of(stat: str) -> MessageState:
    return STATES.get(stat.strip().upper(), MessageState.UNDELIVERABLE)


def receipt_from_report(report: codec.StatusReport) -> DeliveryReceipt:
    state = state_of(report.stat)
    return DeliveryReceipt(
        message_id=codec.format_msg_id(report.msg_id),
        state=state,
        error_code=None if state is MessageState.DELIVERED else (report.stat or None),
        submitted_at=parse_receipt_date(report.submit_time),
        done_at=parse_receipt_date(report.done_time),
        handset=report.dest_terminal_id or None,
    )


def mo_part(deliver: codec.Deliver) -> MoFragment:
    """One CMPP_DELIVER of a reply; Dest_Id is kept whole, extension digits and all (sites
    route survey answers by an extension of the 106 number). Raises ValueError for a UDH
    that does not parse."""
    return mo_fragment(
        source=deliver.src_terminal_id, destination=deliver.dest_id,
        esm_class=ESM_CLASS_UDHI if deliver.tp_udhi else 0,
        data_coding=mo_data_coding(deliver.msg_fmt),
        short_message=deliver.msg_content, tlvs={},
    )
