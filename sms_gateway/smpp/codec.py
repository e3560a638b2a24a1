"""SMPP 3.4 PDUs to and from bytes, through smpplib, around its traps.

smpplib builds and parses the PDUs (`make_pdu` / `parse_pdu`); this module keeps it honest:
- `make_pdu(..., sequence=7)` ignores the keyword and writes the client's current number, so
  `encode` always sets ``.sequence`` after building;
- a request built with ``client=`` draws its number from that client: that is how requests are
  numbered here (the per-connection `SequenceGenerator`);
- parsing a request draws a number too, so `decode` parses with a throwaway client and never
  touches the connection's generator;
- optional parameters (TLVs) are parsed here, not by smpplib: it raises on unknown tags (unless
  told not to), raises KeyError on tags it knows but not for that command (``ussd_service_op``,
  ``additional_status_info_text`` in deliver_sm), drops the last character of a C-string TLV sent
  without its NUL (``receipted_message_id``), and reads integer TLVs by its own size, not the
  length on the wire;
- commands it does not build (cancel_sm, replace_sm, submit_multi, outbind, unknown ids) raise
  `UnsupportedCommand`, which the protocols answer with generic_nack ESME_RINVCMDID.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Mapping

from smpplib import command_codes, consts, smpp
from smpplib import exceptions as smpplib_errors

HEADER = struct.Struct(">LLLL")
HEADER_LENGTH = 16
TLV_HEADER = struct.Struct(">HH")

# command ids, by name, from smpplib's table
COMMAND_IDS: Mapping[str, int] = dict(command_codes.commands)
COMMAND_NAMES: Mapping[int, str] = {code: name for name, code in command_codes.commands.items()}
RESPONSE_BIT = 0x80000000

# Commands smpplib can build and parse (its `command.factory`).
SUPPORTED = frozenset({
    "bind_transmitter", "bind_transmitter_resp", "bind_receiver", "bind_receiver_resp",
    "bind_transceiver", "bind_transceiver_resp", "data_sm", "data_sm_resp", "generic_nack",
    "submit_sm", "submit_sm_resp", "deliver_sm", "deliver_sm_resp", "query_sm", "query_sm_resp",
    "unbind", "unbind_resp", "enquire_link", "enquire_link_resp", "alert_notification",
})

# status code -> "ESME_RTHROTTLED", from smpplib's constants
STATUS_NAMES: Mapping[int, str] = {
    value: name[len("SMPP_"):]
    for name, value in vars(consts).items()
    if name.startswith("SMPP_ESME_") and isinstance(value, int)
}

ESME_ROK = consts.SMPP_ESME_ROK
ESME_RINVCMDLEN = consts.SMPP_ESME_RINVCMDLEN
ESME_RINVCMDID = consts.SMPP_ESME_RINVCMDID
ESME_RINVBNDSTS = consts.SMPP_ESME_RINVBNDSTS
ESME_RALYBND = consts.SMPP_ESME_RALYBND
ESME_RSYSERR = consts.SMPP_ESME_RSYSERR
ESME_RBINDFAIL = consts.SMPP_ESME_RBINDFAIL
ESME_RMSGQFUL = consts.SMPP_ESME_RMSGQFUL
ESME_RTHROTTLED = consts.SMPP_ESME_RTHROTTLED
ESME_RX_T_APPN = consts.SMPP_ESME_RX_T_APPN
ESME_RX_P_APPN = consts.SMPP_ESME_RX_P_APPN
ESME_RINVMSGLEN = consts.SMPP_ESME_RINVMSGLEN
ESME_RINVOPTPARSTREAM = consts.SMPP_ESME_RINVOPTPARSTREAM


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, "0x%08X" % status)


class CodecError(Exception):
    """A PDU could not be built or read."""


class UnsupportedCommand(CodecError):
    """A well-framed PDU whose command this gateway does not handle."""

    def __init__(self, command_id: int, sequence: int):
        super().__init__("unsupported command_id 0x%08X" % command_id)
        self.command_id = command_id
        self.sequence = sequence


class MalformedPdu(CodecError):
    """A PDU whose body does not parse. `status` is the SMPP 3.4 error to answer it with."""

    def __init__(self, message: str, command_id: int, sequence: int, status: int = ESME_RSYSERR):
        super().__init__(message)
        self.command_id = command_id
        self.sequence = sequence
        self.status = status


class SequenceGenerator:
    """Per-connection sequence numbers 1..0x7FFFFFFF, shaped as smpplib's ``client=``."""

    MIN_SEQUENCE = 0x00000001
    MAX_SEQUENCE = 0x7FFFFFFF

    def __init__(self, start: int = 0):
        self.sequence = start

    def next_sequence(self) -> int:
        self.sequence = self.sequence + 1 if self.sequence < self.MAX_SEQUENCE else self.MIN_SEQUENCE
        return self.sequence


class _ParseClient:
    """Given to smpplib when parsing so a received request does not burn our numbers."""

    sequence = 0

    def next_sequence(self) -> int:
        return 0


_PARSE_CLIENT = _ParseClient()


@dataclasses.dataclass(frozen=True)
class Pdu:
    """A decoded PDU: the header, smpplib's view of the mandatory body, and the raw TLVs."""

    command: str
    command_id: int
    status: int
    sequence: int
    fields: object  # the smpplib PDU (mandatory parameters as attributes; C-strings as bytes)
    tlvs: Mapping[int, bytes]

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)

    def text_field(self, name: str) -> str:
        """A mandatory C-string field as text ('' when absent)."""
        value = getattr(self.fields, name, None)
        if value is None:
            return ""
        if isinstance(value, bytes):
            return value.decode("latin-1")
        return str(value)

    def int_field(self, name: str) -> int:
        return getattr(self.fields, name, None) or 0

    def octets_field(self, name: str) -> bytes:
        return getattr(self.fields, name, None) or b""


def _mandatory_layout(command: str) -> tuple[tuple[str, object], ...]:
    """(name, smpplib Param) of each mandatory field, in wire order, up to short_message."""
    pdu = smpp.make_pdu(command, client=_PARSE_CLIENT)
    order = pdu.params_order
    return tuple((name, pdu.params[name]) for name in order[:order.index("short_message") + 1])


# The message-carrying commands, whose mandatory body `decode` walks itself: smpplib reads
# a body cut short as fields that are empty (a deliver_sm of the bare header parses "fine").
_MANDATORY_LAYOUT = {command: _mandatory_layout(command) for command in ("submit_sm", "deliver_sm")}
_MANDATORY_ORDER = {command: tuple(name for name, _ in layout)
                    for command, layout in _MANDATORY_LAYOUT.items()}


def encode(command: str, sequence: int | None = None, *, client: SequenceGenerator | None = None,
           status: int = ESME_ROK, tlvs: Mapping[int, bytes] | None = None, **fields) -> tuple[int, bytes]:
    """Build a PDU with smpplib: (sequence, bytes).

    A request passes the connection's generator as ``client`` and no ``sequence``: smpplib
    draws the number from it while building. A response passes the request's ``sequence``,
    set on the PDU after building (smpplib ignores the ``sequence=`` keyword and would write the
    client's current number). Extra ``tlvs`` (tag -> value) are appended raw, for the tags
    smpplib would encode wrongly or not at all.
    """
    if sequence is None:
        if client is None:
            raise ValueError(f"{command}: a request needs the connection's sequence generator")
        pdu = smpp.make_pdu(command, client=client, status=status, **fields)
        sequence = pdu.sequence
    else:
        pdu = smpp.make_pdu(command, client=client or _PARSE_CLIENT, status=status, **fields)
    pdu.sequence = sequence
    mandatory = _MANDATORY_ORDER.get(command)
    if mandatory is not None and fields.keys().isdisjoint(consts.OPTIONAL_PARAMS):
        # No TLV asked of smpplib: skip its walk over ~30 empty optional fields (half its
        # generate time, which is the hot path of every submit).
        pdu.params_order = mandatory
    data = pdu.generate()
    if tlvs:
        extra = b"".join(TLV_HEADER.pack(tag, len(value)) + value for tag, value in tlvs.items())
        data = struct.pack(">L", len(data) + len(extra)) + data[4:] + extra
    return sequence, data


def generic_nack(sequence: int, status: int) -> bytes:
    return HEADER.pack(HEADER_LENGTH, COMMAND_IDS["generic_nack"], status, sequence)


def deliver_sm_resp(sequence: int, status: int = ESME_ROK) -> bytes:
    """The answer to every receipt and reply: a header and an empty message_id, packed here
    because building it through smpplib cost as much as parsing the deliver_sm itself."""
    return HEADER.pack(HEADER_LENGTH + 1, COMMAND_IDS["deliver_sm_resp"], status, sequence) \
        + b"\x00"


def parse_tlvs(data: bytes) -> dict[int, bytes]:
    """Optional parameters as tag -> raw value; any tag, any length, as on the wire."""
    tlvs: dict[int, bytes] = {}
    pos = 0
    end = len(data)
    while pos < end:
        if pos + 4 > end:
            raise ValueError(f"truncated TLV header at body offset {pos}")
        tag, length = TLV_HEADER.unpack_from(data, pos)
        pos += 4
        if pos + length > end:
            raise ValueError(f"TLV 0x{tag:04X} length {length} runs past the PDU")
        tlvs[tag] = data[pos:pos + length]
        pos += length
    return tlvs


def decode(data: bytes) -> Pdu:
    """Parse one whole PDU (as framed). Raises `UnsupportedCommand` or `MalformedPdu` (with
    the status to answer it with)."""
    length, command_id, status, sequence = HEADER.unpack_from(data)
    name = COMMAND_NAMES.get(command_id)
    if name is None or name not in SUPPORTED:
        raise UnsupportedCommand(command_id, sequence)
    if length != len(data):
        raise MalformedPdu(f"{name} command_length {length} but {len(data)} octets", command_id,
                           sequence, ESME_RINVCMDLEN)
    layout = _MANDATORY_LAYOUT.get(name)
    if layout is not None and status == ESME_ROK:
        _check_mandatory(layout, name, data[HEADER_LENGTH:], command_id, sequence)
    captured: list[bytes] = []
    try:
        pdu = smpp.make_pdu(name, client=_PARSE_CLIENT, allow_unknown_opt_params=True)
        # smpplib hands everything after the mandatory fields to this method: take it raw.
        pdu.parse_optional_params = captured.append
        pdu.parse(data)
    except (smpplib_errors.UnknownCommandError, struct.error, ValueError, IndexError, TypeError) as e:
        raise MalformedPdu(f"{name} body does not parse: {e}", command_id, sequence) from e
    try:
        tlvs = parse_tlvs(captured[0]) if captured else {}
    except ValueError as e:
        raise MalformedPdu(f"{name} optional parameters do not parse: {e}", command_id, sequence,
                           ESME_RINVOPTPARSTREAM) from e
    return Pdu(name, command_id, status, sequence, pdu, tlvs)


def _check_mandatory(layout: tuple[tuple[str, object], ...], name: str, body: bytes,
                     command_id: int, sequence: int) -> None:
    """Walk the mandatory fields over the body as SMPP 3.4 lays them out (smpplib's layout):
    every field must be there whole. A body that ends early is a bad command_length
    (ESME_RINVCMDLEN); an sm_length beyond the octets that follow, or beyond 254, a bad
    message length (ESME_RINVMSGLEN)."""
    pos, end = 0, len(body)
    values: dict[str, int] = {}
    for field, param in layout:
        kind = getattr(param, "type", None)
        if kind is int:
            size = getattr(param, "size", 1)
            if pos + size > end:
                raise MalformedPdu(f"{name} ends at body octet {end}, inside {field}",
                                   command_id, sequence, ESME_RINVCMDLEN)
            values[field] = int.from_bytes(body[pos:pos + size], "big")
            pos += size
        elif kind is str:
            nul = body.find(b"\0", pos)
            if nul < 0:
                raise MalformedPdu(f"{name} ends at body octet {end}, inside {field} (no NUL)",
                                   command_id, sequence, ESME_RINVCMDLEN)
            pos = nul + 1
        else:  # the octet string, its length in the field named by len_field
            length = values.get(getattr(param, "len_field", ""), 0)
            maximum = getattr(param, "max", 254)
            if length > maximum or pos + length > end:
                raise MalformedPdu(f"{name} sm_length {length} but {end - pos} octets follow",
                                   command_id, sequence, ESME_RINVMSGLEN)
            pos += length

