"""Fixed-size field tables to bytes and back, for the codecs of the carriers' protocols that lay
a PDU out field after field (SMGP, SGIP): big-endian integers, octet strings left-aligned and
padded with NUL, a content preceded by its length, a list of numbers preceded by its count,
and trailing TLVs. A layout is a tuple of (attribute, the specification's name, kind, size):

| kind | on the wire |
|---|---|
| int | `size` octets, big-endian |
| text | `size` octets of ASCII, NUL-padded (read: up to the first NUL, stripped) |
| octets | `size` octets as they are |
| content | its length in `size` octets (1 in SMGP, 4 in SGIP), then that many octets |
| terms | a count in one octet, then that many numbers of `size` octets each |
| tlvs | Tag 2, Length 2, Value, to the end of the PDU |

Pure; each codec turns a `FieldError` into its own malformed-PDU error with the status that
says why.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

Layout = tuple[tuple[str, str, str, int], ...]


class FieldError(ValueError):
    """A body that does not fit its table; `length` when a length field is what is wrong."""

    def __init__(self, message: str, *, length: bool = False):
        super().__init__(message)
        self.length = length


def padded(value: str, size: int) -> bytes:
    raw = value.encode("ascii")
    if len(raw) > size:
        raise ValueError(f"{value!r} is longer than {size} octets")
    return raw.ljust(size, b"\0")


def read_text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1").strip()


def pack_field(kind: str, size: int, value: Any) -> bytes:
    """One field's octets; ValueError (or OverflowError) for a value it cannot hold."""
    if kind == "int":
        return int(value).to_bytes(size, "big")
    if kind == "text":
        return padded(value, size)
    if kind == "octets":
        if len(value) > size:
            raise ValueError(f"{len(value)} octets, at most {size}")
        return bytes(value).ljust(size, b"\0")
    if kind == "content":
        if len(value) >= 1 << (8 * size):
            raise ValueError(f"{len(value)} octets, more than its length field holds")
        return len(value).to_bytes(size, "big") + bytes(value)
    if kind == "terms":
        if not 1 <= len(value) <= 100:
            raise ValueError(f"{len(value)} numbers, 1..100 allowed")
        return bytes((len(value),)) + b"".join(padded(term, size) for term in value)
    out = bytearray()  # tlvs
    for tag, data in value:
        if len(data) > 0xFFFF:
            raise ValueError(f"TLV 0x{tag:04X} of {len(data)} octets")
        out += struct.pack(">HH", tag, len(data)) + data
    return bytes(out)


def pack(layout: Layout, item: object) -> bytes:
    """The body of `item` by `layout`; ValueError naming the field for one it cannot hold."""
    body = bytearray()
    for attr, wire, kind, size in layout:
        try:
            body += pack_field(kind, size, getattr(item, attr))
        except (ValueError, OverflowError, UnicodeEncodeError, TypeError) as error:
            raise ValueError(f"{wire}: {error}") from None
    return bytes(body)


def unpack(layout: Layout, body: bytes) -> Mapping[str, Any]:
    """The fields of `body` by `layout`; `FieldError` when it does not fit."""
    values: dict[str, Any] = {}
    pos, end = 0, len(body)
    for attr, wire, kind, size in layout:
        if kind == "tlvs":
            tlvs = []
            while pos < end:
                if pos + 4 > end:
                    raise FieldError(f"{end - pos} octets after the last TLV")
                tag, length = struct.unpack_from(">HH", body, pos)
                if pos + 4 + length > end:
                    raise FieldError(f"TLV 0x{tag:04X} Length {length} but {end - pos - 4} "
                                     "octets follow")
                tlvs.append((tag, body[pos + 4:pos + 4 + length]))
                pos += 4 + length
            values[attr] = tuple(tlvs)
            continue
        if kind in ("content", "terms"):
            width = size if kind == "content" else 1
            if pos + width > end:
                raise FieldError(f"the body ends at octet {end}, before {wire}")
            count = int.from_bytes(body[pos:pos + width], "big")
            pos += width
            need = count if kind == "content" else count * size
            if pos + need > end:
                raise FieldError(f"{wire} of {count} {'octets' if kind == 'content' else 'numbers'}"
                                 f" but {end - pos} octets follow", length=kind == "content")
            raw = body[pos:pos + need]
            pos += need
            values[attr] = raw if kind == "content" else tuple(
                read_text(raw[i * size:(i + 1) * size]) for i in range(count))
            continue
        if pos + size > end:
            raise FieldError(f"the body ends at octet {end}, inside {wire}")
        raw = body[pos:pos + size]
        pos += size
        values[attr] = (int.from_bytes(raw, "big") if kind == "int"
                        else read_text(raw) if kind == "text" else raw)
    if pos != end:
        raise FieldError(f"{end - pos} octets after the last field")
    return values
