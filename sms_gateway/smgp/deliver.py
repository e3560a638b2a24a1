"""What an SMGP Deliver means: a status report (IsReport 1) as a `DeliveryReceipt`, or a part of
a reply (MO) as a `MoFragment` for the reassembler every link uses.

Pure. The stat of a report maps to a message state by CMPP's table (`sms_gateway.cmpp.deliver`:
the same SMPP words), and the err field is kept beside a failed stat:

| stat | state | final |
|---|---|---|
| DELIVRD | delivered | yes |
| EXPIRED | expired | yes |
| DELETED | deleted (failed) | yes |
| UNDELIV | undeliverable (failed) | yes |
| REJECTD | rejected (failed) | yes |
| ACCEPTD | accepted | no: a later report settles it |
| UNKNOWN | unknown | no |
| any other stat (an SMGW's own code) | undeliverable (failed) | yes |

The error code recorded for a failure is ``stat/err`` (``UNDELIV/003``), so an operator can
look both up with the carrier.
"""

from __future__ import annotations

from sms_gateway.cmpp.deliver import STATES, mo_data_coding, state_of
from sms_gateway.link import DeliveryReceipt, MessageState
from sms_gateway.receipts import ESM_CLASS_UDHI, MoFragment, mo_fragment, parse_receipt_date
from sms_gateway.smgp import codec

__all__ = ["STATES", "mo_part", "receipt_from_report"]


def receipt_from_report(report: codec.StatusReport, handset: str | None) -> DeliveryReceipt:
    state = state_of(report.stat)
    error = None
    if state is not MessageState.DELIVERED:
        error = f"{report.stat}/{report.err}" if report.err.strip("0 ") else (report.stat or None)
    return DeliveryReceipt(
        message_id=codec.format_msg_id(report.msg_id),
        state=state,
        error_code=error,
        submitted_at=parse_receipt_date(report.submit_date),
        done_at=parse_receipt_date(report.done_date),
        handset=handset or None,
    )


def mo_part(deliver: codec.Deliver) -> MoFragment:
    """One Deliver of a reply; DestTermID is kept whole, extension digits and all. Raises
    ValueError for a UDH that does not parse."""
    return mo_fragment(
        source=deliver.src_term_id, destination=deliver.dest_term_id,
        esm_class=ESM_CLASS_UDHI if deliver.tp_udhi else 0,
        data_coding=mo_data_coding(deliver.msg_format),
        short_message=deliver.msg_content, tlvs={},
    )
