"""What comes back from the carrier: delivery receipts and mobile-originated (MO) replies.

Pure: bytes and numbers in, `DeliveryReceipt` / `MobileOriginated` out; the protocol decides
when to acknowledge. Owns:
- receipts from the ``receipted_message_id`` + ``message_state`` TLVs, else from the
  ``id:... sub:... dlvrd:... submit date:... done date:... stat:... err:... text:`` body;
- message id matching: ids are opaque strings, but SMSCs write the same id in hex in one PDU and
  in decimal (or zero-padded) in another, so `message_id_keys` gives the candidate keys of an id
  and two ids match when their key sets meet;
- the state of a long message from the states of its parts;
- MO decoding by data_coding and reassembly of concatenated parts (UDH 8- and 16-bit
  references, or SAR TLVs), in any order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from sms_gateway.encoding import gsm_decode
from sms_gateway.link import DeliveryReceipt, MessageState, MobileOriginated

ESM_CLASS_TYPE_MASK = 0x3C
ESM_CLASS_RECEIPT = 0x04  # SMSC delivery receipt
ESM_CLASS_INTERMEDIATE = 0x20  # intermediate delivery notification
ESM_CLASS_UDHI = 0x40

TAG_RECEIPTED_MESSAGE_ID = 0x001E
TAG_MESSAGE_STATE = 0x0427
TAG_NETWORK_ERROR_CODE = 0x0423
TAG_MESSAGE_PAYLOAD = 0x0424
TAG_SAR_MSG_REF_NUM = 0x020C
TAG_SAR_TOTAL_SEGMENTS = 0x020E
TAG_SAR_SEGMENT_SEQNUM = 0x020F

SHANGHAI = ZoneInfo("Asia/Shanghai")

_TLV_STATES = {
    1: MessageState.ENROUTE, 2: MessageState.DELIVERED, 3: MessageState.EXPIRED,
    4: MessageState.DELETED, 5: MessageState.UNDELIVERABLE, 6: MessageState.ACCEPTED,
    7: MessageState.UNKNOWN, 8: MessageState.REJECTED,
}
# Receipt text "stat:" values, matched on their first five letters (DELIVRD, DELIVERED, ...).
_STAT_PREFIXES = {
    "DELIV": MessageState.DELIVERED, "EXPIR": MessageState.EXPIRED, "DELET": MessageState.DELETED,
    "UNDEL": MessageState.UNDELIVERABLE, "ACCEP": MessageState.ACCEPTED,
    "UNKNO": MessageState.UNKNOWN, "REJEC": MessageState.REJECTED, "ENROU": MessageState.ENROUTE,
}
_FAILED = (MessageState.UNDELIVERABLE, MessageState.REJECTED, MessageState.EXPIRED, MessageState.DELETED)

_FIELD = re.compile(r"(?i)\b(id|sub|dlvrd|submit date|done date|stat|err|text)\s*:")


class ReceiptParseError(ValueError):
    """A deliver_sm flagged as a receipt carries neither the TLVs nor a readable body."""


# -- message ids ---------------------------------------------------------------------------------

_HEX = re.compile(r"[0-9a-fA-F]+")
_DEC = re.compile(r"[0-9]+")


def message_id_keys(message_id: str, base: int | None = None) -> frozenset[str]:
    """Candidate keys of a message id; two ids denote the same message when their sets meet.

    With `base` (10 or 16: how this SMSC writes ids in this place, when known from
    configuration) the id is read as that number: one key, exact. Without it, "s:" is the id as
    text (case-folded, leading zeros dropped) and "n:" keys are the number it denotes read as
    decimal and read as hex. The heuristic is ambiguous for short all-digit ids (hex "10" is
    decimal "16"): configure the bases when an SMSC mixes them. Store the keys of each part's id
    at submit time and look a receipt up by any of its keys.
    """
    text = message_id.strip().strip("\x00")
    if base is not None:
        try:
            return frozenset({"n:%d" % int(text, base)})
        except ValueError:
            pass  # not a number in that base after all: fall back to the text
    keys = {"s:" + (text.lower().lstrip("0") or "0")}
    if base is None and text and _HEX.fullmatch(text):
        keys.add("n:%d" % int(text, 16))
        if _DEC.fullmatch(text):
            keys.add("n:%d" % int(text, 10))
    return frozenset(keys)


def ids_match(a: str, b: str) -> bool:
    return not message_id_keys(a).isdisjoint(message_id_keys(b))


def combine_part_states(states: Sequence[MessageState | None]) -> MessageState | None:
    """The state of a long message: failed as soon as any part failed (that part's state),
    delivered when every part is, otherwise None (still open)."""
    for state in states:
        if state in _FAILED:
            return state
    if states and all(state is MessageState.DELIVERED for state in states):
        return MessageState.DELIVERED
    return None


# -- receipts ------------------------------------------------------------------------------------

def is_receipt(esm_class: int) -> bool:
    """Any message type but "default" (bits 2-5): SMSC receipt, SME acknowledgements,
    intermediate notification. Bits 6-7 (UDHI, reply path) do not make an MO a receipt."""
    return bool(esm_class & ESM_CLASS_TYPE_MASK)


def parse_receipt_text(text: str) -> dict[str, str]:
    """The ``key:value`` fields of a receipt body; absent fields are absent, ``text`` runs to the end."""
    fields: dict[str, str] = {}
    matches = list(_FIELD.finditer(text))
    for i, match in enumerate(matches):
        key = match.group(1).lower()
        end = matches[i + 1].start() if i + 1 < len(matches) and key != "text" else len(text)
        if key == "text":
            fields[key] = text[match.end():]
            break
        fields.setdefault(key, text[match.end():end].strip())
    return fields


def parse_receipt_date(value: str | None, tz: dt.tzinfo = SHANGHAI) -> dt.datetime | None:
    """YYMMDDhhmm or YYMMDDhhmmss in the SMSC's zone -> aware UTC; None when absent or invalid."""
    if not value or not value.isdigit() or len(value) not in (10, 12):
        return None
    try:
        when = dt.datetime.strptime(value, "%y%m%d%H%M%S" if len(value) == 12 else "%y%m%d%H%M")
    except ValueError:
        return None
    return when.replace(tzinfo=tz).astimezone(dt.timezone.utc)


def _state_from_stat(stat: str | None) -> MessageState:
    if not stat:
        return MessageState.UNKNOWN
    return _STAT_PREFIXES.get(stat.strip().upper()[:5], MessageState.UNKNOWN)


def decode_c_string(value: bytes) -> str:
    """A C-octet-string TLV value with or without its NUL (SMSCs send both)."""
    return value.split(b"\x00", 1)[0].decode("latin-1")


def receipt_from_deliver(
    short_message: bytes,
    tlvs: Mapping[int, bytes],
    *,
    handset: str | None = None,
    tz: dt.tzinfo = SHANGHAI,
) -> DeliveryReceipt:
    """A receipt from a deliver_sm whose esm_class says it is one.

    The TLVs win when both are present (they are structured); the body fills in dates, the
    error code and whatever the TLVs lack. Raises `ReceiptParseError` when no id is found.
    """
    body = short_message or tlvs.get(TAG_MESSAGE_PAYLOAD, b"")
    fields = parse_receipt_text(body.decode("latin-1")) if body else {}
    message_id = None
    if TAG_RECEIPTED_MESSAGE_ID in tlvs:
        message_id = decode_c_string(tlvs[TAG_RECEIPTED_MESSAGE_ID]) or None
    if message_id is None:
        message_id = fields.get("id") or None
    if message_id is None:
        raise ReceiptParseError("receipt has no receipted_message_id TLV and no id: field")
    state = None
    raw_state = tlvs.get(TAG_MESSAGE_STATE)
    if raw_state:
        state = _TLV_STATES.get(int.from_bytes(raw_state, "big"))
    if state is None:
        state = _state_from_stat(fields.get("stat"))
    error = fields.get("err") or None
    if error is None and TAG_NETWORK_ERROR_CODE in tlvs:
        error = tlvs[TAG_NETWORK_ERROR_CODE].hex()
    return DeliveryReceipt(
        message_id=message_id,
        state=state,
        error_code=error,
        submitted_at=parse_receipt_date(fields.get("submit date"), tz),
        done_at=parse_receipt_date(fields.get("done date"), tz),
        handset=handset,
        text_sample=fields.get("text"),
    )


# -- MO decoding and reassembly ------------------------------------------------------------------

def decode_short_message(data_coding: int, data: bytes) -> str:
    """Decode MO user data (without UDH) by its data_coding."""
    alphabet = _alphabet(data_coding)
    if alphabet == "gsm":
        return gsm_decode(data)
    if alphabet == "ucs2":
        return data.decode("utf-16-be", errors="replace")
    if alphabet == "gbk":
        return data.decode("gbk", errors="replace")
    if alphabet == "ascii":
        return data.decode("ascii", errors="replace")
    return data.decode("latin-1")


def _alphabet(dc: int) -> str:
    if dc == 0x00:
        return "gsm"
    if dc == 0x01:
        return "ascii"
    if dc == 0x08:
        return "ucs2"
    if dc == 0x0F:  # GB 2312/GBK, sent by Chinese handsets through CMPP-bridged SMSCs
        return "gbk"
    if dc & 0xF0 == 0xF0:  # GSM 03.38 "data coding / message class" group
        return "latin1" if dc & 0x04 else "gsm"
    if dc & 0xC0 == 0x00 and dc >= 0x10:  # general data coding group
        return {0: "gsm", 1: "latin1", 2: "ucs2"}.get((dc >> 2) & 0x03, "latin1")
    return "latin1"  # 0x03 Latin-1, and 8-bit data read byte for byte


@dataclasses.dataclass(frozen=True)
class Concatenation:
    reference: int
    total: int
    sequence: int


def split_udh(data: bytes) -> tuple[Concatenation | None, bytes]:
    """(concatenation info or None, user data after the UDH) for data that starts with a UDH."""
    if not data:
        return None, data
    udhl = data[0]
    if 1 + udhl > len(data):
        raise ValueError(f"UDH length {udhl} exceeds user data of {len(data)} octets")
    header, payload = data[1:1 + udhl], data[1 + udhl:]
    concat = None
    pos = 0
    while pos + 2 <= len(header):
        iei, length = header[pos], header[pos + 1]
        value = header[pos + 2:pos + 2 + length]
        if iei == 0x00 and length == 3 and len(value) == 3:
            concat = Concatenation(value[0], value[1], value[2])
        elif iei == 0x08 and length == 4 and len(value) == 4:
            concat = Concatenation(int.from_bytes(value[:2], "big"), value[2], value[3])
        pos += 2 + length
    return concat, payload


@dataclasses.dataclass(frozen=True)
class MoFragment:
    """One deliver_sm of an MO message, decoded as far as it can be alone."""

    source: str
    destination: str
    data_coding: int
    payload: bytes
    concatenation: Concatenation | None


def mo_fragment(
    *, source: str, destination: str, esm_class: int, data_coding: int,
    short_message: bytes, tlvs: Mapping[int, bytes],
) -> MoFragment:
    data = short_message or tlvs.get(TAG_MESSAGE_PAYLOAD, b"")
    concat = None
    if esm_class & ESM_CLASS_UDHI:
        concat, data = split_udh(data)
    elif TAG_SAR_MSG_REF_NUM in tlvs and TAG_SAR_TOTAL_SEGMENTS in tlvs and TAG_SAR_SEGMENT_SEQNUM in tlvs:
        concat = Concatenation(
            int.from_bytes(tlvs[TAG_SAR_MSG_REF_NUM], "big"),
            int.from_bytes(tlvs[TAG_SAR_TOTAL_SEGMENTS], "big"),
            int.from_bytes(tlvs[TAG_SAR_SEGMENT_SEQNUM], "big"),
        )
    if concat is not None and concat.total <= 1:
        concat = None  # "part 1 of 1": a whole message
    if concat is not None and not 1 <= concat.sequence <= concat.total:
        raise ValueError(f"part {concat.sequence} of {concat.total} is out of range")
    return MoFragment(source, destination, data_coding, data, concat)


@dataclasses.dataclass
class _Pending:
    started: float
    total: int
    data_coding: int
    payloads: dict[int, bytes] = dataclasses.field(default_factory=dict)
    tokens: list[Hashable] = dataclasses.field(default_factory=list)


class MoReassembler:
    """Collects MO parts until a message is whole.

    Each part comes with a token (what the caller needs to acknowledge that PDU later). `add`
    answers the complete message with every token of its parts (a part delivered twice
    contributes both tokens, so both are acknowledged), or None while parts are missing.
    `expire(now)` gives back the tokens of messages still incomplete after `timeout` seconds,
    for the caller to refuse so the carrier redelivers them.
    """

    def __init__(self, timeout: float = 120.0):
        self.timeout = timeout
        self._pending: dict[tuple, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, fragment: MoFragment, token: Hashable, now: float) -> tuple[MobileOriginated, list[Hashable]] | None:
        concat = fragment.concatenation
        if concat is None:
            text = decode_short_message(fragment.data_coding, fragment.payload)
            return MobileOriginated(fragment.source, fragment.destination, text, 1), [token]
        key = (fragment.source, fragment.destination, concat.reference, concat.total)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(now, concat.total, fragment.data_coding)
        pending.payloads.setdefault(concat.sequence, fragment.payload)
        pending.tokens.append(token)
        if len(pending.payloads) < pending.total:
            return None
        del self._pending[key]
        # Join the octets before decoding: a UCS2 surrogate pair may straddle two parts.
        data = b"".join(pending.payloads[i] for i in range(1, pending.total + 1))
        text = decode_short_message(pending.data_coding, data)
        return MobileOriginated(fragment.source, fragment.destination, text, pending.total), pending.tokens

    def expire(self, now: float) -> list[Hashable]:
        tokens: list[Hashable] = []
        for key, pending in list(self._pending.items()):
            if now - pending.started >= self.timeout:
                tokens.extend(pending.tokens)
                del self._pending[key]
        return tokens

    def drain(self) -> Iterable[Hashable]:
        """Every held token (the connection is going away)."""
        tokens = [t for p in self._pending.values() for t in p.tokens]
        self._pending.clear()
        return tokens
