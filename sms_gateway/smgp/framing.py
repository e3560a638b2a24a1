"""SMGP framing: the byte stream into whole PDUs with the carriers' `CarrierFramer`, as CMPP's
(PacketLength counts the whole PDU, its own four octets included; 12 octets of header). A
PacketLength under 12 or over `MAX_LENGTH` cannot be resynchronised and SMGP has no
generic_nack: the connection is dropped with the reason logged, before anything is buffered.
"""

from __future__ import annotations

from sms_gateway.carrier_client import CarrierFramer

# The longest PDU either side sends: a Submit to 100 destinations is 2,481 octets plus its
# TLVs; a Deliver of 255 octets of content with its TLVs is under 500.
MAX_LENGTH = 4096


class SmgpFramer(CarrierFramer):
    """Subclasses implement `pduReceived(data)`; `sendPdu` writes to the transport only."""

    MAX_LENGTH = MAX_LENGTH
    PROTOCOL = "SMGP"
    LENGTH_FIELD = "PacketLength"
