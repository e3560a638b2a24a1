"""CMPP framing: cut the byte stream into whole PDUs.

The shape of Twisted's `IntNStringReceiver`: a four-octet length first, except that CMPP's
Total_Length counts the whole PDU, its own four octets included. A length under 12 (no room
for the header) or over `MAX_LENGTH` cannot be resynchronised, and CMPP has no
generic_nack to say so: the connection is dropped with the reason logged. Text sent by
mistake ("GET / HTTP/1.1" reads as a length of 1.2 GB) goes the same way before it is
buffered.
"""

from __future__ import annotations

import abc
import struct

from twisted.internet import protocol
from twisted.internet.interfaces import ITCPTransport
from twisted.logger import Logger

from sms_gateway.cmpp import codec

_LENGTH = struct.Struct(">L")

# The longest PDU either side sends: a 3.0 CMPP_SUBMIT to 100 destinations is 3,458 octets;
# what an ISMG sends a client (a CMPP_DELIVER of 255 octets of content) is under 400.
MAX_LENGTH = 4096


class CmppFramer(protocol.Protocol, metaclass=abc.ABCMeta):
    """Subclasses implement `pduReceived(data)`; `sendPdu` writes to the transport only.

    SMGP frames the same way (PacketLength counts the whole PDU, a 12-octet header): its
    framer is this one with its own names and limit (`sms_gateway.smgp.framing`).
    """

    log = Logger()
    transport: ITCPTransport  # set by makeConnection before any data
    MAX_LENGTH = MAX_LENGTH
    PROTOCOL = "CMPP"
    LENGTH_FIELD = "Total_Length"
    _buffer = b""
    _framingBroken = False
    _receiving = False

    def dataReceived(self, data: bytes) -> None:
        if self._framingBroken:
            return
        self._buffer += data
        if self._receiving:
            return  # fed from a handler: the loop further up the stack reads it in turn
        self._receiving = True
        offset = 0
        try:
            while not self._framingBroken:
                buffer = self._buffer
                if len(buffer) - offset < 4:
                    break
                (length,) = _LENGTH.unpack_from(buffer, offset)
                if length < codec.HEADER_LENGTH or length > self.MAX_LENGTH:
                    self.lengthLimitExceeded(length)
                    break
                if len(buffer) - offset < length:
                    break
                pdu = buffer[offset:offset + length]
                offset += length
                self.pduReceived(pdu)
        finally:
            self._receiving = False
            self._buffer = b"" if self._framingBroken else self._buffer[offset:]

    def stopFraming(self) -> None:
        """No more PDUs: the connection is gone (call from connectionLost)."""
        self._framingBroken = True

    def lengthLimitExceeded(self, length: int) -> None:
        self._framingBroken = True
        self.log.error(
            "Dropping {protocol} link: {field} {length} outside {minimum}..{maximum} (peer {peer})",
            protocol=self.PROTOCOL, field=self.LENGTH_FIELD,
            length=length, minimum=codec.HEADER_LENGTH, maximum=self.MAX_LENGTH,
            peer=str(self.transport.getPeer()) if self.transport else None,
        )
        self.transport.loseConnection()

    @abc.abstractmethod
    def pduReceived(self, data: bytes) -> None:
        """One whole PDU, its Total_Length checked against the limits."""

    def sendPdu(self, data: bytes) -> None:
        self.transport.write(data)
