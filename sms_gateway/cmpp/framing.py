"""CMPP framing: cut the byte stream into whole PDUs.

CMPP's Total_Length counts the whole PDU, its own four octets included, as SMGP's PacketLength
does, so the framer is the carriers' one (`sms_gateway.carrier_client.CarrierFramer`, the shape
of Twisted's `IntNStringReceiver`) with CMPP's names and limit. A length under 12 (no room for
the header) or over `MAX_LENGTH` drops the connection with the reason logged; text sent by
mistake ("GET / HTTP/1.1" reads as a length of 1.2 GB) goes the same way before it is
buffered.
"""

from __future__ import annotations

from sms_gateway.carrier_client import CarrierFramer

# The longest PDU either side sends: a 3.0 CMPP_SUBMIT to 100 destinations is 3,458 octets;
# what an ISMG sends a client (a CMPP_DELIVER of 255 octets of content) is under 400.
MAX_LENGTH = 4096


class CmppFramer(CarrierFramer):
    """Subclasses implement `pduReceived(data)`; `sendPdu` writes to the transport only."""

    MAX_LENGTH = MAX_LENGTH
    PROTOCOL = "CMPP"
    LENGTH_FIELD = "Total_Length"
