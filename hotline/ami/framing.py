"""Bytes to manager messages: the framing layer shared by the client and the simulator.

Asterisk sends a one-line banner (``Asterisk Call Manager/12.0.0``), then messages that are
blocks of ``Key: Value`` lines ending in a blank line. Lines end in ``\\r\\n``; a bare ``\\n`` is
tolerated. This layer knows nothing of actions or events: it hands whole messages up and
drops the link, with a logged reason, on what is not the manager protocol.
"""

from __future__ import annotations

import abc
import re

from twisted.internet.interfaces import ITCPTransport
from twisted.internet.protocol import Protocol
from twisted.logger import Logger

from hotline.ami.message import Message
from hotline.masking import mask_text

BANNER_PREFIX = "Asterisk Call Manager/"
_BANNER = re.compile(r"^Asterisk Call Manager/(?P<version>[0-9][0-9A-Za-z.\-]*)$")
# A key is what Asterisk writes before the colon: letters, digits, and a few marks such as
# Cause-txt, CID-CallingPres or the legacy ChanVariable(<channel>) form.
_LINE = re.compile(rb"([A-Za-z0-9_\-()/;@.]+):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*)\Z")


class ManagerFramer(Protocol, metaclass=abc.ABCMeta):
    """Splits a manager byte stream into a banner and `Message`s.

    Subclasses implement `bannerReceived` and `messageReceived`. ``expectBanner`` is false on
    the server side, where the peer (a manager client) sends no banner.
    """

    log = Logger()

    MAX_LENGTH = 256 * 1024
    """Largest message accepted, in bytes (a QueueStatus of a busy queue is far smaller)."""

    expectBanner = True

    _buffer: bytearray
    _lines: list[tuple[str, str]]
    _lineBytes: int
    _bannerSeen: bool
    _dropped: bool
    dropReason: str | None = None
    transport: ITCPTransport | None  # a manager link is TCP: it can be aborted

    def connectionMade(self) -> None:
        self._resetFraming()

    def _resetFraming(self) -> None:
        self._buffer = bytearray()
        self._lines = []
        self._lineBytes = 0
        self._bannerSeen = not self.expectBanner
        self._dropped = False

    def dataReceived(self, data: bytes) -> None:
        if not hasattr(self, "_buffer"):
            self._resetFraming()
        if self._dropped:
            return
        if b"\n" not in data:
            self._buffer += data
        else:
            lines = (bytes(self._buffer) + data).split(b"\n")
            self._buffer = bytearray(lines.pop())
            for line in lines:
                self._lineReceived(line[:-1] if line.endswith(b"\r") else line)
                if self._dropped:
                    return
        if self._lineBytes + len(self._buffer) > self.MAX_LENGTH:
            self.dropLink(f"message longer than {self.MAX_LENGTH} bytes")

    def _lineReceived(self, line: bytes) -> None:
        if not self._bannerSeen:
            self._bannerLine(line)
            return
        if not line:
            if self._lines:
                message = Message(self._lines)
                self._lines = []
                self._lineBytes = 0
                self.messageReceived(message)
            return
        self._lineBytes += len(line) + 2
        if self._lineBytes > self.MAX_LENGTH:
            self.dropLink(f"message longer than {self.MAX_LENGTH} bytes")
            return
        match = _LINE.match(line)
        if match is None:
            self.dropLink(f"not a manager line: {line[:80]!r}")
            return
        self._lines.append((match.group(1).decode("ascii"), match.group(2).decode("utf-8", errors="replace")))

    def _bannerLine(self, line: bytes) -> None:
        text = line.decode("utf-8", errors="replace")
        match = _BANNER.match(text)
        if match is None:
            self.dropLink(f"not an Asterisk manager banner: {text[:80]!r}")
            return
        self._bannerSeen = True
        self.bannerReceived(match.group("version"))

    def dropLink(self, reason: str) -> None:
        """Stop reading and abort the connection; the reason is logged once."""
        if self._dropped:
            return
        self._dropped = True
        self.dropReason = reason
        self._lines = []
        self._buffer = bytearray()
        # The reason may quote a received line, which may hold a caller's number.
        self.log.warn("Dropping AMI link to {peer}: {reason}", peer=self._peerText(), reason=mask_text(reason))
        if self.transport is not None:
            self.transport.abortConnection()

    def _peerText(self) -> str:
        if self.transport is None:
            return "?"
        try:
            peer = self.transport.getPeer()
        except Exception:
            return "?"
        host = getattr(peer, "host", None)
        port = getattr(peer, "port", None)
        return f"{host}:{port}" if host is not None else str(peer)

    def sendMessage(self, message: Message) -> None:
        assert self.transport is not None, "sendMessage before connectionMade"
        self.transport.write(message.to_bytes())

    def bannerReceived(self, version: str) -> None:
        """The `Asterisk Call Manager/x.y` banner, once, before any message (only when
        `expectBanner`: a client overrides this; the server side never receives one)."""

    @abc.abstractmethod
    def messageReceived(self, message: Message) -> None:
        """One whole `Key: Value` block (a response or an event)."""
