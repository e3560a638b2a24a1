"""CMPP 2.0 and 3.0 PDUs to and from bytes, by the field tables of China Mobile's
specification (CMPP V2.0 and V3.0, 消息定义), with no network and no clock.

Every PDU is a 12-octet header (Total_Length, Command_Id, Sequence_Id; Total_Length counts
the whole PDU) and a body laid out field after field, each of a fixed size except
Msg_Content (its length in Msg_Length) and the destination list of CMPP_SUBMIT (its count
in DestUsr_tl). Integers are big-endian; octet strings are left-aligned and padded with NUL.
Where the versions differ (the table `_LAYOUTS` says it field by field):

| field | 2.0 | 3.0 |
|---|---|---|
| Status of CMPP_CONNECT_RESP, Result of CMPP_SUBMIT_RESP / CMPP_DELIVER_RESP | 1 octet | 4 |
| Fee_terminal_Id, Dest_terminal_Id, Src_terminal_Id, the report's Dest_terminal_Id | 21 | 32 |
| Fee_terminal_type, Dest_terminal_type, Src_terminal_type | absent | 1 |
| end of CMPP_SUBMIT / CMPP_DELIVER | Reserve, 8 | LinkID, 20 |

A status report travels as the Msg_Content of a CMPP_DELIVER with Registered_Delivery 1
(`StatusReport`, 60 octets in 2.0, 71 in 3.0). `decode` raises `UnknownCommand` for a
Command_Id this client does not handle and `MalformedPdu` (with the Result to answer it
with) for a body that does not fit its table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import struct
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

HEADER = struct.Struct(">LLL")
HEADER_LENGTH = 12
RESPONSE_BIT = 0x80000000

V2 = 0x20
V3 = 0x30
VERSIONS = (V2, V3)

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the specification's times are Beijing time


class Command(enum.IntEnum):
    CONNECT = 0x00000001
    CONNECT_RESP = 0x80000001
    TERMINATE = 0x00000002
    TERMINATE_RESP = 0x80000002
    SUBMIT = 0x00000004
    SUBMIT_RESP = 0x80000004
    DELIVER = 0x00000005
    DELIVER_RESP = 0x80000005
    ACTIVE_TEST = 0x00000008
    ACTIVE_TEST_RESP = 0x80000008


# Status of CMPP_CONNECT_RESP.
CONNECT_STATUS = {0: "正确", 1: "消息结构错", 2: "非法源地址", 3: "认证错", 4: "版本太高"}
# Result of CMPP_SUBMIT_RESP; 9 and up are "其他错误" in 2.0, named in 3.0.
SUBMIT_RESULT = {0: "正确", 1: "消息结构错", 2: "命令字错", 3: "消息序号重复", 4: "消息长度错",
                 5: "资费代码错", 6: "超过最大信息长", 7: "业务代码错", 8: "流量控制错",
                 9: "本网关不负责服务此计费号码", 10: "Src_Id错误", 11: "Msg_src错误",
                 12: "Fee_terminal_Id错误", 13: "Dest_terminal_Id错误"}
# Result of CMPP_DELIVER_RESP (what this client answers).
DELIVER_RESULT = {0: "正确", 1: "消息结构错", 2: "命令字错", 3: "消息序号重复", 4: "消息长度错",
                  5: "资费代码错", 6: "超过最大信息长", 7: "业务代码错", 8: "流量控制错"}

RESULT_OK = 0
RESULT_STRUCTURE = 1
RESULT_LENGTH = 4
RESULT_FLOW_CONTROL = 8
STATUS_AUTHENTICATION = 3
STATUS_VERSION = 4


def result_name(result: int, table: dict[int, str] = SUBMIT_RESULT) -> str:
    return table.get(result, "其他错误")


def version_name(version: int) -> str:
    return f"{version >> 4}.{version & 0x0F}"


class CodecError(Exception):
    """A PDU could not be built or read."""


class UnknownCommand(CodecError):
    """A well-framed PDU whose Command_Id this gateway does not handle."""

    def __init__(self, command_id: int, sequence: int):
        super().__init__("unknown Command_Id 0x%08X" % command_id)
        self.command_id = command_id
        self.sequence = sequence


class MalformedPdu(CodecError):
    """A body that does not fit its field table. `result` is the Result to answer a request
    with; `msg_id` its Msg_Id when the body holds one (a CMPP_DELIVER_RESP needs it)."""

    def __init__(self, message: str, command_id: int, sequence: int,
                 result: int = RESULT_STRUCTURE, msg_id: int = 0):
        super().__init__(message)
        self.command_id = command_id
        self.sequence = sequence
        self.result = result
        self.msg_id = msg_id


# -- the PDUs ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Connect:
    command: ClassVar[Command] = Command.CONNECT
    source_addr: str
    authenticator_source: bytes
    version: int
    timestamp: int  # MMDDHHMMSS as a number


@dataclasses.dataclass(frozen=True)
class ConnectResp:
    command: ClassVar[Command] = Command.CONNECT_RESP
    status: int
    authenticator_ismg: bytes
    version: int


@dataclasses.dataclass(frozen=True)
class Submit:
    command: ClassVar[Command] = Command.SUBMIT
    dest_terminal_ids: tuple[str, ...]
    msg_content: bytes
    src_id: str
    msg_src: str
    msg_fmt: int = 8
    pk_total: int = 1
    pk_number: int = 1
    registered_delivery: int = 1
    msg_level: int = 0
    service_id: str = ""
    fee_user_type: int = 2
    fee_terminal_id: str = ""
    fee_terminal_type: int = 0  # 3.0
    tp_pid: int = 0
    tp_udhi: int = 0
    fee_type: str = "01"
    fee_code: str = "0"
    valid_time: str = ""
    at_time: str = ""
    dest_terminal_type: int = 0  # 3.0
    link_id: str = ""  # 3.0
    reserve: bytes = bytes(8)  # 2.0
    msg_id: int = 0  # the ISMG numbers it; the SP sends 0


@dataclasses.dataclass(frozen=True)
class SubmitResp:
    command: ClassVar[Command] = Command.SUBMIT_RESP
    msg_id: int
    result: int


@dataclasses.dataclass(frozen=True)
class Deliver:
    command: ClassVar[Command] = Command.DELIVER
    msg_id: int
    dest_id: str  # our service number, with the extension digits the handset dialled
    src_terminal_id: str  # the handset (for a report: the destination of the submit)
    msg_content: bytes
    registered_delivery: int = 0  # 1: msg_content is a status report
    msg_fmt: int = 0
    service_id: str = ""
    tp_pid: int = 0
    tp_udhi: int = 0
    src_terminal_type: int = 0  # 3.0
    link_id: str = ""  # 3.0
    reserved: bytes = bytes(8)  # 2.0


@dataclasses.dataclass(frozen=True)
class DeliverResp:
    command: ClassVar[Command] = Command.DELIVER_RESP
    msg_id: int
    result: int


@dataclasses.dataclass(frozen=True)
class ActiveTest:
    command: ClassVar[Command] = Command.ACTIVE_TEST


@dataclasses.dataclass(frozen=True)
class ActiveTestResp:
    command: ClassVar[Command] = Command.ACTIVE_TEST_RESP
    reserved: int = 0


@dataclasses.dataclass(frozen=True)
class Terminate:
    command: ClassVar[Command] = Command.TERMINATE


@dataclasses.dataclass(frozen=True)
class TerminateResp:
    command: ClassVar[Command] = Command.TERMINATE_RESP


@dataclasses.dataclass(frozen=True)
class StatusReport:
    """The Msg_Content of a CMPP_DELIVER with Registered_Delivery 1."""

    msg_id: int  # the Msg_Id the ISMG gave the submit in CMPP_SUBMIT_RESP
    stat: str  # DELIVRD, UNDELIV, EXPIRED, ..., or an ISMG code such as MK:0005
    submit_time: str  # YYMMDDHHMM
    done_time: str  # YYMMDDHHMM
    dest_terminal_id: str
    smsc_sequence: int = 0


Pdu = (Connect | ConnectResp | Submit | SubmitResp | Deliver | DeliverResp | ActiveTest
       | ActiveTestResp | Terminate | TerminateResp)
_CLASSES: dict[int, type] = {cls.command: cls for cls in (
    Connect, ConnectResp, Submit, SubmitResp, Deliver, DeliverResp, ActiveTest, ActiveTestResp,
    Terminate, TerminateResp)}


# -- the field tables ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _Field:
    attr: str
    wire: str  # the specification's name, for errors
    kind: str  # "int", "text" (NUL-padded), "octets", "content" (Msg_Length + octets),
    #            "terminals" (DestUsr_tl + ids of `size` octets each)
    size: int = 0
    optional: bool = False  # a body may end before it (ISMGs that leave it out)


def _f(attr: str, wire: str, kind: str, size: int = 0, optional: bool = False) -> _Field:
    return _Field(attr, wire, kind, size, optional)


def _layouts() -> dict[tuple[object, int], tuple[_Field, ...]]:
    tables: dict[tuple[object, int], tuple[_Field, ...]] = {}
    for version in VERSIONS:
        v3 = version == V3
        terminal = 32 if v3 else 21
        status = 4 if v3 else 1
        tables[Command.CONNECT, version] = (
            _f("source_addr", "Source_Addr", "text", 6),
            _f("authenticator_source", "AuthenticatorSource", "octets", 16),
            _f("version", "Version", "int", 1),
            _f("timestamp", "Timestamp", "int", 4))
        tables[Command.CONNECT_RESP, version] = (
            _f("status", "Status", "int", status),
            _f("authenticator_ismg", "AuthenticatorISMG", "octets", 16),
            _f("version", "Version", "int", 1))
        tables[Command.SUBMIT, version] = tuple(field for field in (
            _f("msg_id", "Msg_Id", "int", 8),
            _f("pk_total", "Pk_total", "int", 1),
            _f("pk_number", "Pk_number", "int", 1),
            _f("registered_delivery", "Registered_Delivery", "int", 1),
            _f("msg_level", "Msg_level", "int", 1),
            _f("service_id", "Service_Id", "text", 10),
            _f("fee_user_type", "Fee_UserType", "int", 1),
            _f("fee_terminal_id", "Fee_terminal_Id", "text", terminal),
            _f("fee_terminal_type", "Fee_terminal_type", "int", 1) if v3 else None,
            _f("tp_pid", "TP_pId", "int", 1),
            _f("tp_udhi", "TP_udhi", "int", 1),
            _f("msg_fmt", "Msg_Fmt", "int", 1),
            _f("msg_src", "Msg_src", "text", 6),
            _f("fee_type", "FeeType", "text", 2),
            _f("fee_code", "FeeCode", "text", 6),
            _f("valid_time", "ValId_Time", "text", 17),
            _f("at_time", "At_Time", "text", 17),
            _f("src_id", "Src_Id", "text", 21),
            _f("dest_terminal_ids", "Dest_terminal_Id", "terminals", terminal),
            _f("dest_terminal_type", "Dest_terminal_type", "int", 1) if v3 else None,
            _f("msg_content", "Msg_Content", "content"),
            _f("link_id", "LinkID", "text", 20) if v3 else _f("reserve", "Reserve", "octets", 8),
        ) if field is not None)
        tables[Command.SUBMIT_RESP, version] = (
            _f("msg_id", "Msg_Id", "int", 8), _f("result", "Result", "int", status))
        tables[Command.DELIVER, version] = tuple(field for field in (
            _f("msg_id", "Msg_Id", "int", 8),
            _f("dest_id", "Dest_Id", "text", 21),
            _f("service_id", "Service_Id", "text", 10),
            _f("tp_pid", "TP_pid", "int", 1),
            _f("tp_udhi", "TP_udhi", "int", 1),
            _f("msg_fmt", "Msg_Fmt", "int", 1),
            _f("src_terminal_id", "Src_terminal_Id", "text", terminal),
            _f("src_terminal_type", "Src_terminal_type", "int", 1) if v3 else None,
            _f("registered_delivery", "Registered_Delivery", "int", 1),
            _f("msg_content", "Msg_Content", "content"),
            _f("link_id", "LinkID", "text", 20) if v3 else _f("reserved", "Reserved", "octets", 8),
        ) if field is not None)
        tables[Command.DELIVER_RESP, version] = (
            _f("msg_id", "Msg_Id", "int", 8), _f("result", "Result", "int", status))
        tables[Command.ACTIVE_TEST_RESP, version] = (
            _f("reserved", "Reserved", "int", 1, optional=True),)
        for command in (Command.ACTIVE_TEST, Command.TERMINATE, Command.TERMINATE_RESP):
            tables[command, version] = ()
        tables[StatusReport, version] = (
            _f("msg_id", "Msg_Id", "int", 8),
            _f("stat", "Stat", "text", 7),
            _f("submit_time", "Submit_time", "text", 10),
            _f("done_time", "Done_time", "text", 10),
            _f("dest_terminal_id", "Dest_terminal_Id", "text", terminal),
            _f("smsc_sequence", "SMSC_sequence", "int", 4))
    return tables


_LAYOUTS = _layouts()


def report_length(version: int) -> int:
    """Octets of a status report: 60 in CMPP 2.0, 71 in 3.0."""
    return sum(field.size for field in _LAYOUTS[StatusReport, version])


def _check_version(version: int) -> None:
    if version not in VERSIONS:
        raise ValueError(f"CMPP version must be 0x20 or 0x30, got 0x{version:02X}")


def _pack(layout: tuple[_Field, ...], item: object, what: str) -> bytes:
    out = bytearray()
    for field in layout:
        value: Any = getattr(item, field.attr)
        try:
            if field.kind == "int":
                out += int(value).to_bytes(field.size, "big")
            elif field.kind == "text":
                out += _text(value, field)
            elif field.kind == "octets":
                if len(value) > field.size:
                    raise ValueError(f"{len(value)} octets, at most {field.size}")
                out += bytes(value).ljust(field.size, b"\0")
            elif field.kind == "content":
                if len(value) > 255:
                    raise ValueError(f"{len(value)} octets, at most 255")
                out += bytes((len(value),)) + bytes(value)
            else:  # terminals
                if not 1 <= len(value) <= 100:
                    raise ValueError(f"{len(value)} destinations, 1..100 allowed")
                out += bytes((len(value),))
                for terminal in value:
                    out += _text(terminal, field)
        except (ValueError, OverflowError, UnicodeEncodeError, TypeError) as error:
            raise CodecError(f"{what} {field.wire}: {error}") from None
    return bytes(out)


def _text(value: str, field: _Field) -> bytes:
    raw = value.encode("ascii")
    if len(raw) > field.size:
        raise ValueError(f"{value!r} is longer than {field.size} octets")
    return raw.ljust(field.size, b"\0")


def _unpack(layout: tuple[_Field, ...], body: bytes, what: str, command_id: int,
            sequence: int) -> dict[str, Any]:
    values: dict[str, Any] = {}
    pos, end = 0, len(body)

    def malformed(message: str, result: int = RESULT_STRUCTURE) -> MalformedPdu:
        msg_id = int.from_bytes(body[:8], "big") if layout and layout[0].attr == "msg_id" \
            and end >= 8 else 0
        return MalformedPdu(f"{what}: {message}", command_id, sequence, result, msg_id)

    for field in layout:
        if pos == end and field.optional:
            break
        if field.kind in ("content", "terminals"):
            if pos + 1 > end:
                raise malformed(f"the body ends at octet {end}, before {field.wire}")
            count = body[pos]
            pos += 1
            if field.kind == "content":
                if pos + count > end:
                    raise malformed(f"Msg_Length {count} but {end - pos} octets follow",
                                    RESULT_LENGTH)
                values[field.attr] = body[pos:pos + count]
                pos += count
                continue
            size = count * field.size
            if pos + size > end:
                raise malformed(f"DestUsr_tl {count} but {end - pos} octets follow")
            values[field.attr] = tuple(_read_text(body[pos + i * field.size:
                                                       pos + (i + 1) * field.size])
                                       for i in range(count))
            pos += size
            continue
        if pos + field.size > end:
            raise malformed(f"the body ends at octet {end}, inside {field.wire}")
        raw = body[pos:pos + field.size]
        pos += field.size
        if field.kind == "int":
            values[field.attr] = int.from_bytes(raw, "big")
        elif field.kind == "text":
            values[field.attr] = _read_text(raw)
        else:
            values[field.attr] = raw
    if pos != end:
        raise malformed(f"{end - pos} octets after the last field "
                        f"({layout[-1].wire if layout else 'the header'})")
    return values


def _read_text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1").strip()


# -- PDUs to bytes and back ----------------------------------------------------------------------

def encode(pdu: Pdu, sequence: int, version: int) -> bytes:
    """The whole PDU, header included."""
    _check_version(version)
    body = _pack(_LAYOUTS[pdu.command, version], pdu, pdu.command.name)
    return HEADER.pack(HEADER_LENGTH + len(body), pdu.command, sequence) + body


def decode(data: bytes, version: int) -> tuple[int, Pdu]:
    """(Sequence_Id, PDU) of one whole PDU as framed.

    A CMPP_CONNECT_RESP is read by its length (18 octets of body in 2.0, 21 in 3.0), so an
    ISMG that answers in the other version is understood and told apart by its Version.
    """
    _check_version(version)
    length, command_id, sequence = HEADER.unpack_from(data)
    cls = _CLASSES.get(command_id)
    if cls is None:
        raise UnknownCommand(command_id, sequence)
    command = Command(command_id)
    if length != len(data):
        raise MalformedPdu(f"{command.name} Total_Length {length} but {len(data)} octets",
                           command_id, sequence, RESULT_LENGTH)
    body = data[HEADER_LENGTH:]
    if command is Command.CONNECT_RESP and len(body) in (18, 21):
        version = V3 if len(body) == 21 else V2
    values = _unpack(_LAYOUTS[command, version], body, command.name, command_id, sequence)
    return sequence, cls(**values)


def encode_report(report: StatusReport, version: int) -> bytes:
    _check_version(version)
    return _pack(_LAYOUTS[StatusReport, version], report, "status report")


def decode_report(content: bytes, version: int, sequence: int = 0) -> StatusReport:
    """The status report in a CMPP_DELIVER's Msg_Content; `MalformedPdu` when it is not one."""
    _check_version(version)
    values = _unpack(_LAYOUTS[StatusReport, version], content, "status report",
                     Command.DELIVER, sequence)
    return StatusReport(**values)


# -- authentication ------------------------------------------------------------------------------

def connect_timestamp(seconds: float) -> int:
    """Timestamp of CMPP_CONNECT: MMDDHHMMSS, Beijing time, as a number."""
    when = dt.datetime.fromtimestamp(seconds, SHANGHAI)
    return int(when.strftime("%m%d%H%M%S"))


def authenticator_source(source_addr: str, secret: str, timestamp: int) -> bytes:
    """MD5(Source_Addr + 9 octets of zero + shared secret + timestamp), the timestamp as its
    ten digits MMDDHHMMSS."""
    return hashlib.md5(source_addr.encode("ascii") + bytes(9) + secret.encode("ascii")
                       + b"%010d" % timestamp).digest()


def authenticator_ismg(status: int, source: bytes, secret: str, version: int) -> bytes:
    """MD5(Status + AuthenticatorSource + shared secret), Status as the octets it takes in
    CMPP_CONNECT_RESP (one in 2.0, four in 3.0)."""
    _check_version(version)
    size = 4 if version == V3 else 1
    return hashlib.md5(status.to_bytes(size, "big") + source + secret.encode("ascii")).digest()


# -- Msg_Id ----------------------------------------------------------------------------------------

def make_msg_id(when: dt.datetime, ismg_code: int, sequence: int) -> int:
    """A Msg_Id as an ISMG builds it: month (4 bits), day (5), hour (5), minute (6), second
    (6), the ISMG's code (22), a sequence (16)."""
    return ((when.month << 60) | (when.day << 55) | (when.hour << 50) | (when.minute << 44)
            | (when.second << 38) | ((ismg_code & 0x3FFFFF) << 16) | (sequence & 0xFFFF))


def format_msg_id(msg_id: int) -> str:
    """How a Msg_Id is stored and logged: the 64-bit number in decimal."""
    return str(msg_id)


class SequenceNumbers:
    """Sequence_Id of the requests of one connection: 1, 2, ... up to 0x7FFFFFFF, then 1
    again (ISMGs written in Java read it as a signed integer)."""

    MAXIMUM = 0x7FFFFFFF

    def __init__(self, start: int = 0):
        self.current = start

    def next(self) -> int:
        self.current = self.current + 1 if self.current < self.MAXIMUM else 1
        return self.current
