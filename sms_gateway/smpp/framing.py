"""SMPP framing: cut the byte stream into whole PDUs.

The shape of Twisted's `IntNStringReceiver`, except that SMPP's command_length counts its own
four bytes. A length under 16 (no room for the header) or over `MAX_LENGTH` cannot be
resynchronised: the peer gets a generic_nack ESME_RINVCMDLEN and the connection is dropped
with the reason logged.
"""

from __future__ import annotations

import struct

from twisted.internet import protocol
from twisted.logger import Logger

from sms_gateway.smpp import codec

_LENGTH = struct.Struct(">L")


class SmppFramer(protocol.Protocol):
    """Subclasses implement `pduReceived(data)`; `sendPdu` writes to the transport only."""

    log = Logger()
    MAX_LENGTH = 64 * 1024
    _buffer = b""
    _offset = 0
    _framingBroken = False

    def dataReceived(self, data: bytes) -> None:
        if self._framingBroken:
            return
        if self._offset:
            self._buffer = self._buffer[self._offset:] + data
            self._offset = 0
        else:
            self._buffer += data
        buffer = self._buffer
        offset = 0
        end = len(buffer)
        while end - offset >= 4:
            (length,) = _LENGTH.unpack_from(buffer, offset)
            if length < codec.HEADER_LENGTH or length > self.MAX_LENGTH:
                self._buffer = b""
                self.lengthLimitExceeded(length, buffer[offset:offset + codec.HEADER_LENGTH])
                return
            if end - offset < length:
                break
            pdu = buffer[offset:offset + length]
            offset += length
            self._offset = offset
            self.pduReceived(pdu)
            if self._framingBroken or self._buffer is not buffer:
                # The handler dropped the link or fed data re-entrantly: stop on this buffer.
                return
        self._buffer = buffer[offset:] if offset else buffer
        self._offset = 0

    def lengthLimitExceeded(self, length: int, header: bytes) -> None:
        self._framingBroken = True
        sequence = 0
        if len(header) >= codec.HEADER_LENGTH:
            sequence = codec.HEADER.unpack_from(header)[3]
        self.log.error(
            "Dropping SMPP link: command_length {length} outside {minimum}..{maximum} (peer {peer})",
            length=length, minimum=codec.HEADER_LENGTH, maximum=self.MAX_LENGTH,
            peer=str(self.transport.getPeer()) if self.transport else None,
        )
        self.sendPdu(codec.generic_nack(sequence, codec.ESME_RINVCMDLEN))
        self.transport.loseConnection()

    def pduReceived(self, data: bytes) -> None:
        raise NotImplementedError

    def sendPdu(self, data: bytes) -> None:
        self.transport.write(data)
