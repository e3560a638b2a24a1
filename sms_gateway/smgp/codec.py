"""SMGP 3.0 PDUs to and from bytes, by the field tables of China Telecom's specification
(中国电信短消息网关协议 SMGP V3.0, 5.2 消息定义 and 6 参数定义), with no network and no clock.

Every PDU is a 12-octet header (PacketLength, RequestID, SequenceID; PacketLength counts the
whole PDU) and a body of fixed-size fields, then, for Submit and Deliver only, optional TLVs
(Tag 2 octets, Length 2, Value). Integers are big-endian; octet strings are left-aligned and
padded with NUL. The body of each PDU, in octets:

| PDU | fields |
|---|---|
| Login | ClientID 8, AuthenticatorClient 16, LoginMode 1, TimeStamp 4, ClientVersion 1 |
| Login_Resp | Status 4, AuthenticatorServer 16, ServerVersion 1 |
| Submit | MsgType 1, NeedReport 1, Priority 1, ServiceID 10, FeeType 2, FeeCode 6, FixedFee 6, MsgFormat 1, ValidTime 17, AtTime 17, SrcTermID 21, ChargeTermID 21, DestTermIDCount 1, DestTermID 21 each, MsgLength 1, MsgContent, Reserve 8, TLVs |
| Submit_Resp, Deliver_Resp | MsgID 10, Status 4 |
| Deliver | MsgID 10, IsReport 1, MsgFormat 1, RecvTime 14, SrcTermID 21, DestTermID 21, MsgLength 1, MsgContent, Reserve 8, TLVs |
| Active_Test(_Resp), Exit(_Resp) | none |

The MsgID is ten octets of BCD: the SMGW's code (3), MMDDHHMM (4), a sequence (3); it is
stored and logged as its 20 hexadecimal digits. A status report is the MsgContent of a
Deliver with IsReport 1, in SMPP's text form with the MsgID as its ten raw octets:
``id:IIIIIIIIII sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD
err:000 text:...`` (122 octets as this codec builds it).

AuthenticatorClient = MD5(ClientID + 7 octets of zero + shared secret + TimeStamp), the
TimeStamp as its ten digits MMDDHHMMSS (0301000000 for 0x11F0E540, the specification's own
example). AuthenticatorServer = MD5(Status + AuthenticatorClient + shared secret).

Sources, cross-checked field by field (sizes, offsets, tags):
- the SMGP V3.0.2 text as published at http://32336.cn/mlhd_7tz430aqwz0h1ll029wv_4.html
  (5.2.1 header, 5.2.2.1 Login / Login_Resp, 5.2.2.2 Submit);
- clz619/smgp3 (Java, github): SmgpLoginBody (the authenticator rule and its example),
  SmgpSubmitEncoder, SmgpDeliverDecoder, SmgpReportMessageDecoder (report offsets),
  SmgpStatusEnum (the Status table), SmgpTlvCollectionEncoder (TLV layout);
- chenjiangtao/gateway-pack (Java, github): SMGP3SubmitMessage (absolute offsets: MsgFormat
  at 39, SrcTermID at 74, DestTermIDCount at 116, 126 + 21 n + content octets before the
  TLVs), SMGP3DeliverMessage, SMGP3LoginMessage (42 octets), SMGP3LoginRespMessage,
  SMGP3SubmitRespMessage, tlv/TlvId.java (the tags);
- boxtsecond/gosmgp (Go, github) pkg/login.go for AuthenticatorServer, which it hashes with
  Status as one octet: both forms are accepted (`protocol.SmgpClientProtocol`).
`decode` raises `UnknownCommand` for a RequestID this client does not handle and
`MalformedPdu` (with the Status to answer it with) for a body that does not fit its table.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import re
import struct
from typing import Any, ClassVar

from sms_gateway import carrier_fields as fields

# SequenceID runs 1 .. 0x7FFFFFFF then 1 again, as CMPP's Sequence_Id: one counter for both.
from sms_gateway.cmpp.codec import SequenceNumbers as SequenceNumbers
from sms_gateway.cmpp.codec import connect_timestamp
from sms_gateway.receipts import parse_receipt_text

HEADER = struct.Struct(">LLL")
HEADER_LENGTH = 12
RESPONSE_BIT = 0x80000000
VERSION = 0x30  # ClientVersion of SMGP 3.0
MSG_ID_LENGTH = 10
TERMINAL = 21


class RequestId(enum.IntEnum):
    LOGIN = 0x00000001
    LOGIN_RESP = 0x80000001
    SUBMIT = 0x00000002
    SUBMIT_RESP = 0x80000002
    DELIVER = 0x00000003
    DELIVER_RESP = 0x80000003
    ACTIVE_TEST = 0x00000004
    ACTIVE_TEST_RESP = 0x80000004
    EXIT = 0x00000006
    EXIT_RESP = 0x80000006


class Tag(enum.IntEnum):
    TP_PID = 0x0001
    TP_UDHI = 0x0002
    LINK_ID = 0x0003
    CHARGE_USER_TYPE = 0x0004
    CHARGE_TERM_TYPE = 0x0005
    CHARGE_TERM_PSEUDO = 0x0006
    DEST_TERM_TYPE = 0x0007
    DEST_TERM_PSEUDO = 0x0008
    PK_TOTAL = 0x0009
    PK_NUMBER = 0x000A
    SUBMIT_MSG_TYPE = 0x000B
    SP_DEAL_RESULT = 0x000C
    SRC_TERM_TYPE = 0x000D
    SRC_TERM_PSEUDO = 0x000E
    NODES_COUNT = 0x000F
    MSG_SRC = 0x0010
    SRC_TYPE = 0x0011
    M_SERVICE_ID = 0x0012


# Status of every response (6.2.6 / 6.2.16).
STATUS = {
    0: "成功", 1: "系统忙", 2: "超过最大连接数", 10: "消息结构错", 11: "命令字错",
    12: "序列号重复", 20: "IP地址错", 21: "认证错", 22: "版本太高", 30: "非法消息类型",
    31: "非法优先级", 32: "非法资费类型", 33: "非法资费代码", 34: "非法短消息格式",
    35: "非法时间格式", 36: "非法短消息长度", 37: "有效期已过", 38: "非法查询类别",
    39: "路由错误", 40: "非法包月费/封顶费", 41: "非法更新类型", 42: "非法路由编号",
    43: "非法服务代码", 44: "非法有效时间", 45: "非法定时发送时间", 46: "非法发送用户号码",
    47: "非法接收用户号码", 48: "非法计费用户号码", 49: "非法SP服务代码", 56: "非法源网关代码",
    57: "非法查询号码", 58: "没有匹配路由", 59: "非法SP类型", 60: "非法上一条路由编号",
    61: "非法路由类型", 62: "非法目标网关代码", 63: "非法目标网关IP", 64: "非法目标网关端口",
    65: "非法路由号码段", 66: "非法终端所属省代码", 67: "非法用户类型", 68: "本节点不支持路由更新",
    69: "非法SP企业代码", 70: "非法SP接入类型", 71: "路由信息更新失败", 72: "非法时间戳",
    73: "非法业务代码", 74: "SP禁止下发时段", 75: "SP发送超过日流量", 76: "SP帐号过有效期",
}

STATUS_OK = 0
STATUS_BUSY = 1
STATUS_STRUCTURE = 10
STATUS_AUTHENTICATION = 21
STATUS_VERSION = 22
STATUS_LENGTH = 36
# 系统忙 says "slow down"; gateways built on 企业信使 answer 103 (提交过快) and 104 (系统忙) too.
SLOW_DOWN = frozenset({STATUS_BUSY, 103, 104})

LOGIN_SEND, LOGIN_RECEIVE, LOGIN_TRANSMIT = 0, 1, 2
MSG_TYPE_MO, MSG_TYPE_MT = 0, 6


def status_name(status: int) -> str:
    return STATUS.get(status, "其他错误")


class CodecError(Exception):
    """A PDU could not be built or read."""


class UnknownCommand(CodecError):
    """A well-framed PDU whose RequestID this gateway does not handle."""

    def __init__(self, request_id: int, sequence: int):
        super().__init__("unknown RequestID 0x%08X" % request_id)
        self.request_id = request_id
        self.sequence = sequence


class MalformedPdu(CodecError):
    """A body that does not fit its field table. `status` is what to answer a request with;
    `msg_id` the MsgID when the body holds one (a Deliver_Resp needs it)."""

    def __init__(self, message: str, request_id: int, sequence: int,
                 status: int = STATUS_STRUCTURE, msg_id: bytes = bytes(MSG_ID_LENGTH)):
        super().__init__(message)
        self.request_id = request_id
        self.sequence = sequence
        self.status = status
        self.msg_id = msg_id


# -- the PDUs ------------------------------------------------------------------------------------

Tlvs = tuple[tuple[int, bytes], ...]


def tlv_value(tlvs: Tlvs, tag: int, default: int = 0) -> int:
    """An integer TLV's value (the first with `tag`), or `default`."""
    for t, value in tlvs:
        if t == tag:
            return int.from_bytes(value, "big") if value else default
    return default


def tlv_text(tlvs: Tlvs, tag: int) -> str:
    for t, value in tlvs:
        if t == tag:
            return value.split(b"\0", 1)[0].decode("latin-1")
    return ""


@dataclasses.dataclass(frozen=True)
class Login:
    request: ClassVar[RequestId] = RequestId.LOGIN
    client_id: str
    authenticator_client: bytes
    timestamp: int  # MMDDHHMMSS as a number
    login_mode: int = LOGIN_TRANSMIT
    client_version: int = VERSION


@dataclasses.dataclass(frozen=True)
class LoginResp:
    request: ClassVar[RequestId] = RequestId.LOGIN_RESP
    status: int
    authenticator_server: bytes
    server_version: int = VERSION


@dataclasses.dataclass(frozen=True)
class Submit:
    request: ClassVar[RequestId] = RequestId.SUBMIT
    dest_term_ids: tuple[str, ...]
    msg_content: bytes
    src_term_id: str
    msg_format: int = 8
    need_report: int = 1
    msg_type: int = MSG_TYPE_MT
    priority: int = 0
    service_id: str = ""
    fee_type: str = "00"
    fee_code: str = "0"
    fixed_fee: str = ""
    valid_time: str = ""
    at_time: str = ""
    charge_term_id: str = ""
    reserve: bytes = bytes(8)
    tlvs: Tlvs = ()

    @property
    def tp_udhi(self) -> int:
        return tlv_value(self.tlvs, Tag.TP_UDHI)

    @property
    def pk_total(self) -> int:
        return tlv_value(self.tlvs, Tag.PK_TOTAL, 1)

    @property
    def pk_number(self) -> int:
        return tlv_value(self.tlvs, Tag.PK_NUMBER, 1)


@dataclasses.dataclass(frozen=True)
class SubmitResp:
    request: ClassVar[RequestId] = RequestId.SUBMIT_RESP
    msg_id: bytes
    status: int


@dataclasses.dataclass(frozen=True)
class Deliver:
    request: ClassVar[RequestId] = RequestId.DELIVER
    msg_id: bytes
    src_term_id: str  # the handset (for a report: the destination of the submit)
    dest_term_id: str  # our service number, with the extension digits the handset dialled
    msg_content: bytes
    is_report: int = 0
    msg_format: int = 0
    recv_time: str = ""  # YYYYMMDDHHMMSS
    reserve: bytes = bytes(8)
    tlvs: Tlvs = ()

    @property
    def tp_udhi(self) -> int:
        return tlv_value(self.tlvs, Tag.TP_UDHI)


@dataclasses.dataclass(frozen=True)
class DeliverResp:
    request: ClassVar[RequestId] = RequestId.DELIVER_RESP
    msg_id: bytes
    status: int


@dataclasses.dataclass(frozen=True)
class ActiveTest:
    request: ClassVar[RequestId] = RequestId.ACTIVE_TEST


@dataclasses.dataclass(frozen=True)
class ActiveTestResp:
    request: ClassVar[RequestId] = RequestId.ACTIVE_TEST_RESP


@dataclasses.dataclass(frozen=True)
class Exit:
    request: ClassVar[RequestId] = RequestId.EXIT


@dataclasses.dataclass(frozen=True)
class ExitResp:
    request: ClassVar[RequestId] = RequestId.EXIT_RESP


Pdu = (Login | LoginResp | Submit | SubmitResp | Deliver | DeliverResp | ActiveTest
       | ActiveTestResp | Exit | ExitResp)
_CLASSES: dict[int, type] = {cls.request: cls for cls in (
    Login, LoginResp, Submit, SubmitResp, Deliver, DeliverResp, ActiveTest, ActiveTestResp,
    Exit, ExitResp)}

# attr, the specification's name, kind, octets (`sms_gateway.carrier_fields`): "content" is
# MsgLength (1 octet) + MsgContent, "terms" DestTermIDCount + 21 octets each, "tlvs" what follows.
_LAYOUTS: dict[RequestId, fields.Layout] = {
    RequestId.LOGIN: (
        ("client_id", "ClientID", "text", 8),
        ("authenticator_client", "AuthenticatorClient", "octets", 16),
        ("login_mode", "LoginMode", "int", 1),
        ("timestamp", "TimeStamp", "int", 4),
        ("client_version", "ClientVersion", "int", 1)),
    RequestId.LOGIN_RESP: (
        ("status", "Status", "int", 4),
        ("authenticator_server", "AuthenticatorServer", "octets", 16),
        ("server_version", "ServerVersion", "int", 1)),
    RequestId.SUBMIT: (
        ("msg_type", "MsgType", "int", 1),
        ("need_report", "NeedReport", "int", 1),
        ("priority", "Priority", "int", 1),
        ("service_id", "ServiceID", "text", 10),
        ("fee_type", "FeeType", "text", 2),
        ("fee_code", "FeeCode", "text", 6),
        ("fixed_fee", "FixedFee", "text", 6),
        ("msg_format", "MsgFormat", "int", 1),
        ("valid_time", "ValidTime", "text", 17),
        ("at_time", "AtTime", "text", 17),
        ("src_term_id", "SrcTermID", "text", TERMINAL),
        ("charge_term_id", "ChargeTermID", "text", TERMINAL),
        ("dest_term_ids", "DestTermID", "terms", TERMINAL),
        ("msg_content", "MsgContent", "content", 1),
        ("reserve", "Reserve", "octets", 8),
        ("tlvs", "TLV", "tlvs", 0)),
    RequestId.SUBMIT_RESP: (
        ("msg_id", "MsgID", "octets", MSG_ID_LENGTH), ("status", "Status", "int", 4)),
    RequestId.DELIVER: (
        ("msg_id", "MsgID", "octets", MSG_ID_LENGTH),
        ("is_report", "IsReport", "int", 1),
        ("msg_format", "MsgFormat", "int", 1),
        ("recv_time", "RecvTime", "text", 14),
        ("src_term_id", "SrcTermID", "text", TERMINAL),
        ("dest_term_id", "DestTermID", "text", TERMINAL),
        ("msg_content", "MsgContent", "content", 1),
        ("reserve", "Reserve", "octets", 8),
        ("tlvs", "TLV", "tlvs", 0)),
    RequestId.DELIVER_RESP: (
        ("msg_id", "MsgID", "octets", MSG_ID_LENGTH), ("status", "Status", "int", 4)),
    RequestId.ACTIVE_TEST: (),
    RequestId.ACTIVE_TEST_RESP: (),
    RequestId.EXIT: (),
    RequestId.EXIT_RESP: (),
}


def _decode_body(request: RequestId, body: bytes, sequence: int) -> dict[str, Any]:
    try:
        return dict(fields.unpack(_LAYOUTS[request], body))
    except fields.FieldError as error:
        msg_id = body[:MSG_ID_LENGTH] if request in (RequestId.DELIVER, RequestId.SUBMIT_RESP,
                                                     RequestId.DELIVER_RESP) \
            and len(body) >= MSG_ID_LENGTH else bytes(MSG_ID_LENGTH)
        raise MalformedPdu(f"{request.name}: {error}", request, sequence,
                           STATUS_LENGTH if error.length else STATUS_STRUCTURE, msg_id) from None


# -- PDUs to bytes and back ----------------------------------------------------------------------

def encode(pdu: Pdu, sequence: int) -> bytes:
    """The whole PDU, header included."""
    try:
        body = fields.pack(_LAYOUTS[pdu.request], pdu)
    except ValueError as error:
        raise CodecError(f"{pdu.request.name} {error}") from None
    return HEADER.pack(HEADER_LENGTH + len(body), pdu.request, sequence) + body


def decode(data: bytes) -> tuple[int, Pdu]:
    """(SequenceID, PDU) of one whole PDU as framed."""
    length, request_id, sequence = HEADER.unpack_from(data)
    cls = _CLASSES.get(request_id)
    if cls is None:
        raise UnknownCommand(request_id, sequence)
    request = RequestId(request_id)
    if length != len(data):
        raise MalformedPdu(f"{request.name} PacketLength {length} but {len(data)} octets",
                           request, sequence)
    return sequence, cls(**_decode_body(request, data[HEADER_LENGTH:], sequence))


# -- status reports ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class StatusReport:
    """The MsgContent of a Deliver with IsReport 1."""

    msg_id: bytes  # the MsgID the SMGW gave the submit in Submit_Resp
    stat: str  # DELIVRD, UNDELIV, EXPIRED, ...
    err: str = "000"
    submit_date: str = ""  # YYMMDDhhmm
    done_date: str = ""  # YYMMDDhhmm
    sub: str = "001"
    dlvrd: str = "001"
    text: bytes = b""


def encode_report(report: StatusReport) -> bytes:
    def fixed(value: str, size: int) -> bytes:
        return value.encode("ascii")[:size].ljust(size, b"0" if value.isdigit() else b" ")

    return (b"id:" + report.msg_id + b" sub:" + fixed(report.sub, 3)
            + b" dlvrd:" + fixed(report.dlvrd, 3)
            + b" submit date:" + fixed(report.submit_date, 10)
            + b" done date:" + fixed(report.done_date, 10)
            + b" stat:" + report.stat.encode("ascii")[:7].ljust(7)
            + b" err:" + fixed(report.err, 3) + b" text:" + report.text[:20].ljust(20, b"\0"))


_HEX_ID = re.compile(rb"[0-9A-Fa-f]{20}")


def decode_report(content: bytes, sequence: int = 0) -> StatusReport:
    """The status report in a Deliver's MsgContent; `MalformedPdu` when it is not one. The id
    is the MsgID's ten octets; an SMGW that writes its 20 hex digits instead is read too."""
    def malformed(message: str) -> MalformedPdu:
        return MalformedPdu(f"status report: {message}", RequestId.DELIVER, sequence)

    if content[:3].lower() != b"id:":
        raise malformed("it does not start with id:")
    if _HEX_ID.fullmatch(content[3:23]) and content[23:28].lower() == b" sub:":
        msg_id, rest = bytes.fromhex(content[3:23].decode("ascii")), content[23:]
    elif len(content) >= 3 + MSG_ID_LENGTH:
        msg_id, rest = content[3:3 + MSG_ID_LENGTH], content[3 + MSG_ID_LENGTH:]
    else:
        raise malformed(f"{len(content)} octets, too short for an id")
    fields = parse_receipt_text(rest.decode("latin-1"))
    if "stat" not in fields:
        raise malformed("no stat: field")
    return StatusReport(
        msg_id=msg_id, stat=fields["stat"], err=fields.get("err", ""),
        submit_date=fields.get("submit date", ""), done_date=fields.get("done date", ""),
        sub=fields.get("sub", ""), dlvrd=fields.get("dlvrd", ""),
        text=fields.get("text", "").encode("latin-1").rstrip(b"\0"))


# -- authentication and MsgID --------------------------------------------------------------------

login_timestamp = connect_timestamp  # MMDDHHMMSS, Beijing time, as a number: CMPP's rule too


def authenticator_client(client_id: str, secret: str, timestamp: int) -> bytes:
    """MD5(ClientID + 7 octets of zero + shared secret + TimeStamp as its ten digits)."""
    return hashlib.md5(client_id.encode("ascii") + bytes(7) + secret.encode("ascii")
                       + b"%010d" % timestamp).digest()


def authenticator_server(status: int, client: bytes, secret: str, status_octets: int = 4) -> bytes:
    """MD5(Status + AuthenticatorClient + shared secret), Status in `status_octets` octets
    (4 as Login_Resp carries it; some SMGWs hash one)."""
    return hashlib.md5(status.to_bytes(status_octets, "big") + client
                       + secret.encode("ascii")).digest()


def make_msg_id(smgw_code: str, when_mmddhhmm: str, sequence: int) -> bytes:
    """A MsgID as an SMGW builds it: its six-digit code, MMDDHHMM, a six-digit sequence, BCD."""
    return bytes.fromhex(f"{smgw_code[:6]:0>6}{when_mmddhhmm}{sequence % 1_000_000:06d}")


def format_msg_id(msg_id: bytes) -> str:
    """How a MsgID is stored and logged: its 20 hexadecimal (BCD) digits."""
    return msg_id.hex()
