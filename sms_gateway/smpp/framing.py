"""SMPP framing: cut the byte stream into whole PDUs.

The shape of Twisted's `IntNStringReceiver`, except that SMPP's command_length counts its own
four bytes. A length under 16 (no room for the header) or over `MAX_LENGTH` cannot be
resynchronised: the peer gets a generic_nack ESME_RINVCMDLEN and the connection is dropped
with the reason logged.
"""

from __future__ import annotations

import abc
import struct

from twisted.internet import protocol
from twisted.logger import Logger

from sms_gateway.smpp import codec

_LENGTH = struct.Struct(">L")


class SmppFramer(protocol.Protocol, metaclass=abc.ABCMeta):
    """Subclasses implement `pduReceived(data)`; `sendPdu` writes to the transport only.

    With `pdusPerTurn` set (and a `clock`), at most that many PDUs of one read are handled
    before yielding to the reactor for one turn: the responses to the first requests of a
    window then go out while the rest are still being read, instead of the whole window
    moving as one batch that each side handles while the other waits.
    """

    log = Logger()
    MAX_LENGTH = 64 * 1024
    pdusPerTurn: int | None = None
    clock = None
    _buffer = b""
    _offset = 0
    _framingBroken = False
    _resume = None

    def dataReceived(self, data: bytes) -> None:
        if self._framingBroken:
            return
        if self._offset:
            self._buffer = self._buffer[self._offset:] + data
            self._offset = 0
        else:
            self._buffer += data
        if self._resume is None:
            self._drain()

    def _drain(self) -> None:
        self._resume = None
        buffer = self._buffer
        offset = 0
        end = len(buffer)
        handled = 0
        limit = self.pdusPerTurn
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
            handled += 1
            if limit is not None and handled >= limit and end - offset >= 4:
                self._resume = self.clock.callLater(0, self._drain)
                break
        self._buffer = buffer[offset:] if offset else buffer
        self._offset = 0

    def stopFraming(self) -> None:
        """No more PDUs: the connection is gone (call from connectionLost)."""
        self._framingBroken = True
        if self._resume is not None and self._resume.active():
            self._resume.cancel()
        self._resume = None

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

    @abc.abstractmethod
    def pduReceived(self, data: bytes) -> None:
        """One whole PDU, its `command_length` checked."""

    def sendPdu(self, data: bytes) -> None:
        self.transport.write(data)
