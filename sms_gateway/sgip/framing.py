"""SGIP framing: the byte stream into whole PDUs with the carriers' `CarrierFramer` (Message
Length counts the whole PDU, its own four octets included; a 20-octet header). A Message
Length under 20 or over 2,048 octets (the specification's limit for any message) cannot be
resynchronised and SGIP has no generic_nack: the connection is dropped with the reason
logged, before anything is buffered.
"""

from __future__ import annotations

from sms_gateway.carrier_client import CarrierFramer
from sms_gateway.sgip import codec


class SgipFramer(CarrierFramer):
    """Subclasses implement `pduReceived(data)`; `sendPdu` writes to the transport only."""

    MAX_LENGTH = codec.MAX_LENGTH
    HEADER_LENGTH = codec.HEADER_LENGTH
    PROTOCOL = "SGIP"
    LENGTH_FIELD = "Message Length"
