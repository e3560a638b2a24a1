"""Text to CMPP parts: the Msg_Fmt of a message and the Msg_Content of each part.

Pure: no network, no clock.
- Msg_Fmt 0 (ASCII) for text all in ASCII that fits one part;
- otherwise the bind's Chinese format (`msg_fmt`): 15 (GBK: a Chinese character two octets,
  ASCII one) when every character is in GBK, else 8 (UCS2: UTF-16BE, which also carries the
  characters outside the BMP as surrogate pairs);
- one part holds 140 octets; longer text goes in parts of 134 octets after the 6-octet UDH
  (05 00 03, reference, total, number), sent with TP_udhi = 1 and Pk_total / Pk_number, and a
  character is never split between parts: neither a GBK pair nor a surrogate pair.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from sms_gateway.encoding import split_units
from sms_gateway.link import MessageTooLong

MSG_FMT_ASCII = 0
MSG_FMT_BINARY = 4
MSG_FMT_UCS2 = 8
MSG_FMT_GBK = 15

PART_OCTETS = 140
UDH_LENGTH = 6
SEGMENT_OCTETS = PART_OCTETS - UDH_LENGTH


@dataclasses.dataclass(frozen=True)
class CmppText:
    """The parts of one message, ready for CMPP_SUBMIT's Msg_Content."""

    msg_fmt: int
    encoding: str  # "ascii", "gbk" or "ucs2": what the outbox records
    parts: tuple[bytes, ...]  # each with its UDH when there is more than one
    reference: int | None  # the concatenation reference, None for a single part

    @property
    def udhi(self) -> int:
        return 1 if len(self.parts) > 1 else 0


def _choose(text: str, msg_fmt: str) -> tuple[int, str, list[bytes]]:
    """(Msg_Fmt, encoding name, each character's octets)."""
    if text.isascii() and len(text) <= PART_OCTETS:
        return MSG_FMT_ASCII, "ascii", [ch.encode("ascii") for ch in text]
    if msg_fmt == "gbk":
        try:
            return MSG_FMT_GBK, "gbk", [ch.encode("gbk") for ch in text]
        except UnicodeEncodeError:
            pass  # a character GBK lacks (an emoji, a rare name): the whole text in UCS2
    return MSG_FMT_UCS2, "ucs2", [ch.encode("utf-16-be") for ch in text]


def _chunks(units: list[bytes]) -> list[bytes]:
    if sum(len(unit) for unit in units) <= PART_OCTETS:
        return [b"".join(units)]
    return split_units(units, SEGMENT_OCTETS, octets_per_unit=1)


def count_parts(text: str, msg_fmt: str = "ucs2") -> tuple[str, int]:
    """(encoding, number of parts) for `text`, without any limit applied."""
    _, encoding, units = _choose(text, msg_fmt)
    return encoding, len(_chunks(units))


def encode_text(text: str, *, msg_fmt: str = "ucs2", max_parts: int,
                reference: int | Callable[[], int] | None = None) -> CmppText:
    """`text` in at most `max_parts` parts (else `MessageTooLong`).

    `reference` (0-255) is needed only when the text takes more than one part; a callable
    (a bound `ReferenceAllocator.allocate`) is called only then, once the count is allowed.
    """
    code, encoding, units = _choose(text, msg_fmt)
    chunks = _chunks(units)
    if len(chunks) == 1:
        return CmppText(code, encoding, (chunks[0],), None)
    if len(chunks) > max_parts:
        raise MessageTooLong(len(chunks), max_parts)
    if callable(reference):
        reference = reference()
    if reference is None or not 0 <= reference <= 0xFF:
        raise ValueError("a multi-part message needs a reference 0..255")
    count = len(chunks)
    parts = tuple(bytes((0x05, 0x00, 0x03, reference, count, number)) + chunk
                  for number, chunk in enumerate(chunks, start=1))
    return CmppText(code, encoding, parts, reference)
