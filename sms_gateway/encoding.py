"""Text to SMS parts: alphabet choice, splitting with UDH concatenation, reference numbers.

Pure: no network, no clock. GSM 03.38 7-bit (one septet per octet, as SMPP carries it with
data_coding 0) when every character is in the GSM default alphabet or its extension table;
UCS2 (UTF-16BE, data_coding 8) otherwise, which is every Chinese text.

Limits per part: 160 septets or 70 UTF-16 units alone; 153 / 67 with the 6-octet UDH
(IE 0x00, 8-bit reference). An extension character is two septets and is never split from its
escape; a character outside the BMP is two UTF-16 units and is never split between parts.

smpplib's own `gsm.make_parts` is not used: it splits escape pairs and surrogate pairs, and
its GSM table maps '`' to 0x5F (which is '§').
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable

from sms_gateway.link import MessageTooLong

DATA_CODING_GSM = 0x00
DATA_CODING_LATIN1 = 0x03
DATA_CODING_UCS2 = 0x08
ESM_CLASS_UDHI = 0x40

GSM_SINGLE_LIMIT = 160
GSM_PART_LIMIT = 153
UCS2_SINGLE_LIMIT = 70
UCS2_PART_LIMIT = 67
MAX_PARTS_LIMIT = 255

# GSM 03.38 default alphabet, index = septet value. 0x1B is the escape to the extension table.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = {
    "\x0c": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F,
    "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65,
}
GSM_ESCAPE = 0x1B

_ENCODE_BASIC = {ch: i for i, ch in enumerate(GSM_BASIC) if i != GSM_ESCAPE}
_DECODE_EXTENSION = {v: k for k, v in GSM_EXTENSION.items()}
# str.translate table: character -> its septet(s) as code points < 128, then encoded as Latin-1.
_TRANSLATE = {ord(ch): chr(i) for ch, i in _ENCODE_BASIC.items()}
_TRANSLATE.update({ord(ch): "\x1b" + chr(code) for ch, code in GSM_EXTENSION.items()})
_NOT_GSM = re.compile("[^" + re.escape("".join(_ENCODE_BASIC) + "".join(GSM_EXTENSION)) + "]")


def gsm_septets(ch: str) -> bytes | None:
    """The septets for one character (one, or escape + one), or None outside the alphabet."""
    basic = _ENCODE_BASIC.get(ch)
    if basic is not None:
        return bytes((basic,))
    ext = GSM_EXTENSION.get(ch)
    if ext is not None:
        return bytes((GSM_ESCAPE, ext))
    return None


def fits_gsm(text: str) -> bool:
    return _NOT_GSM.search(text) is None


def gsm_encode(text: str) -> bytes:
    """Unpacked GSM 7-bit; raises ValueError naming the first character outside the alphabet."""
    outside = _NOT_GSM.search(text)
    if outside is not None:
        raise ValueError(f"character {outside.group()!r} is not in the GSM 7-bit alphabet")
    return text.translate(_TRANSLATE).encode("latin-1")


def gsm_decode(data: bytes) -> str:
    """Unpacked GSM 7-bit to text; an unknown extension code decodes as its basic character."""
    out = []
    escaped = False
    for septet in data:
        septet &= 0x7F
        if escaped:
            out.append(_DECODE_EXTENSION.get(septet, GSM_BASIC[septet] if septet != GSM_ESCAPE else " "))
            escaped = False
        elif septet == GSM_ESCAPE:
            escaped = True
        else:
            out.append(GSM_BASIC[septet])
    return "".join(out)


@dataclasses.dataclass(frozen=True)
class EncodedMessage:
    """The parts of one message, ready for submit_sm's short_message."""

    data_coding: int
    esm_class: int
    parts: tuple[bytes, ...]  # each with its UDH when there is more than one
    reference: int | None  # the concatenation reference, None for a single part

    @property
    def encoding(self) -> str:
        return "gsm7" if self.data_coding == DATA_CODING_GSM else "ucs2"


def _gsm_units(text: str) -> list[bytes]:
    return [gsm_septets(ch) for ch in text]  # type: ignore[misc]


def _ucs2_units(text: str) -> list[bytes]:
    # One unit per code point: 2 octets in the BMP, 4 (a surrogate pair) outside it.
    return [ch.encode("utf-16-be") for ch in text]


def count_parts(text: str) -> tuple[str, int]:
    """("gsm7" | "ucs2", number of parts) for `text`, without any limit applied."""
    if fits_gsm(text):
        septets = sum(len(u) for u in _gsm_units(text))
        if septets <= GSM_SINGLE_LIMIT:
            return "gsm7", 1
        return "gsm7", len(_split(_gsm_units(text), GSM_PART_LIMIT, octets_per_unit=1))
    units = sum(len(u) // 2 for u in _ucs2_units(text))
    if units <= UCS2_SINGLE_LIMIT:
        return "ucs2", 1
    return "ucs2", len(_split(_ucs2_units(text), UCS2_PART_LIMIT, octets_per_unit=2))


def _split(units: list[bytes], limit: int, *, octets_per_unit: int) -> list[bytes]:
    chunks: list[bytes] = []
    current = bytearray()
    size = 0
    for unit in units:
        width = len(unit) // octets_per_unit
        if size + width > limit:
            chunks.append(bytes(current))
            current = bytearray()
            size = 0
        current += unit
        size += width
    if current or not chunks:
        chunks.append(bytes(current))
    return chunks


def split_units(units: list[bytes], limit: int, *, octets_per_unit: int) -> list[bytes]:
    """Whole characters (each its octets) into chunks of at most `limit` units, a character
    never cut: the carrier protocols' own segmentation (CMPP's GBK and UCS2) splits here too."""
    return _split(units, limit, octets_per_unit=octets_per_unit)


def encode_message(
    text: str, *, max_parts: int, reference: int | Callable[[], int] | None = None,
) -> EncodedMessage:
    """Encode `text` into at most `max_parts` parts; raises `MessageTooLong`.

    `reference` (0-255) is the concatenation reference, needed only when the text takes more
    than one part; pass a callable (e.g. a bound `ReferenceAllocator.allocate`) to take one
    only then, and only once the part count is known to be allowed.
    """
    if not 1 <= max_parts <= MAX_PARTS_LIMIT:
        raise ValueError(f"max_parts must be 1..{MAX_PARTS_LIMIT}, got {max_parts}")
    if fits_gsm(text):
        whole = text.translate(_TRANSLATE).encode("latin-1")
        coding, single, per_part, width = DATA_CODING_GSM, GSM_SINGLE_LIMIT, GSM_PART_LIMIT, 1
    else:
        whole = text.encode("utf-16-be")
        coding, single, per_part, width = DATA_CODING_UCS2, UCS2_SINGLE_LIMIT, UCS2_PART_LIMIT, 2
    if len(whole) // width <= single:
        return EncodedMessage(coding, 0, (whole,), None)
    # Split on whole characters: an escape pair or a surrogate pair is one indivisible unit.
    units = _gsm_units(text) if coding == DATA_CODING_GSM else _ucs2_units(text)
    chunks = _split(units, per_part, octets_per_unit=width)
    if len(chunks) > max_parts:
        raise MessageTooLong(len(chunks), max_parts)
    if callable(reference):
        reference = reference()
    if reference is None or not 0 <= reference <= 0xFF:
        raise ValueError("a multi-part message needs a reference 0..255")
    count = len(chunks)
    parts = tuple(
        bytes((0x05, 0x00, 0x03, reference, count, seq)) + chunk
        for seq, chunk in enumerate(chunks, start=1)
    )
    return EncodedMessage(coding, ESM_CLASS_UDHI, parts, reference)


class ReferencesExhausted(RuntimeError):
    """All 256 references for one destination are in flight."""


class ReferenceAllocator:
    """Concatenation references per destination that never collide while in flight.

    A handset reassembles by (sender, reference); two long messages to one number sharing a
    reference while either is incomplete would be merged. References rotate per destination so
    a released one is also not reused at once.
    """

    MAX_REMEMBERED = 100_000

    def __init__(self) -> None:
        self._next: dict[str, int] = {}
        self._in_flight: dict[str, set[int]] = {}

    def allocate(self, destination: str) -> int:
        used = self._in_flight.setdefault(destination, set())
        if len(used) >= 256:
            raise ReferencesExhausted("256 long messages in flight to one destination")
        start = self._next.get(destination, 0)
        for ref in itertools.chain(range(start, 256), range(0, start)):
            if ref not in used:
                used.add(ref)
                if len(self._next) >= self.MAX_REMEMBERED and destination not in self._next:
                    # Forget rotation points of destinations with nothing in flight.
                    self._next = {d: n for d, n in self._next.items() if d in self._in_flight}
                self._next[destination] = (ref + 1) % 256
                return ref
        raise AssertionError("unreachable")

    def release(self, destination: str, reference: int) -> None:
        used = self._in_flight.get(destination)
        if used is None:
            return
        used.discard(reference)
        if not used:
            # Keep the rotation point so the next message still gets a fresh reference.
            del self._in_flight[destination]

    def in_flight(self, destination: str) -> frozenset[int]:
        return frozenset(self._in_flight.get(destination, ()))
