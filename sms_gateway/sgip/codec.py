"""SGIP 1.2 PDUs to and from bytes, by the field tables of China Unicom's specification
(中国联通短消息网关系统接口协议 SGIP 1.2, 4.2 消息定义), with no network and no clock.

Every PDU is a 20-octet header (Message Length 4, counting the whole PDU; Command ID 4;
Sequence Number 12: the sending node's id 4, its time MMDDhhmmss as a number 4, a counter
4) and a body of fixed-size fields. Integers are big-endian; octet strings left-aligned and
padded with NUL. The body of each PDU, in octets:

| PDU | fields |
|---|---|
| Bind | Login Type 1 (1: the SP binds to the SMG, 2: the SMG to the SP), Login Name 16, Login Password 16, Reserve 8 |
| Unbind, Unbind_Resp | none |
| Submit | SPNumber 21, ChargeNumber 21, UserCount 1, UserNumber 21 each, CorpId 5, ServiceType 10, FeeType 1, FeeValue 6, GivenValue 6, AgentFlag 1, MorelatetoMTFlag 1, Priority 1, ExpireTime 16, ScheduleTime 16, ReportFlag 1, TP_pid 1, TP_udhi 1, MessageCoding 1, MessageType 1, MessageLength 4, MessageContent, Reserve 8 |
| Deliver | UserNumber 21, SPNumber 21, TP_pid 1, TP_udhi 1, MessageCoding 1, MessageLength 4, MessageContent, Reserve 8 |
| Report | SubmitSequenceNumber 12, ReportType 1, UserNumber 21, State 1, ErrorCode 1, Reserve 8 |
| Bind_Resp, Submit_Resp, Deliver_Resp, Report_Resp | Result 1, Reserve 8 |

A submit has no message id of its own: the Report names it by the Sequence Number the SP
gave it, so a part's carrier message id is that sequence (`Sequence.message_id`). A message
is at most 2,048 octets (the specification's 2K). Numbers carry the country code (86...).

Sources, cross-checked field by field: yedamao/go_sgip (Go, github) sgip/protocol/
op_submit.go, op_deliver.go, op_report.go, op_response.go, header.go, constants.go (the Result
codes; its iota numbers the report codes from 33, the specification from 21); and
jarven-zhang/paas_smsp (C++, github) smsp_c2s/direct/SGIPConnectReq.cpp (Bind: 1 + 16 + 16 +
8), SGIPSubmitReq.cpp (144 octets + the content for one number), SGIPDeliverReq.cpp,
SGIPReportReq.cpp (12 + 1 + 21 + 1 + 1 + 8), SGIPBase.cpp (the header: node, MMDDhhmmss,
counter).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import struct
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sms_gateway import carrier_fields as fields

HEADER = struct.Struct(">LLLLL")
HEADER_LENGTH = 20
RESPONSE_BIT = 0x80000000
MAX_LENGTH = 2048
TERMINAL = 21
SHANGHAI = ZoneInfo("Asia/Shanghai")

LOGIN_SP_TO_SMG = 1
LOGIN_SMG_TO_SP = 2


class Command(enum.IntEnum):
    BIND = 0x00000001
    BIND_RESP = 0x80000001
    UNBIND = 0x00000002
    UNBIND_RESP = 0x80000002
    SUBMIT = 0x00000003
    SUBMIT_RESP = 0x80000003
    DELIVER = 0x00000004
    DELIVER_RESP = 0x80000004
    REPORT = 0x00000005
    REPORT_RESP = 0x80000005


# Result of every response (1-20), and ErrorCode of a Report (21-33).
RESULT = {
    0: "无错误", 1: "非法登录", 2: "重复登录", 3: "连接过多", 4: "登录类型错", 5: "参数格式错",
    6: "非法手机号码", 7: "消息ID错", 8: "信息长度错", 9: "非法序列号", 10: "非法操作GNS",
    11: "节点忙", 21: "目的地址不可达", 22: "路由错", 23: "路由不存在", 24: "计费号码无效",
    25: "用户不能通信", 26: "手机内存不足", 27: "手机不支持短消息", 28: "手机接收短消息出现错误",
    29: "不知道的用户", 30: "不提供此功能", 31: "非法设备", 32: "系统失败", 33: "短信中心队列满",
}
RESULT_OK = 0
RESULT_ILLEGAL_LOGIN = 1
RESULT_FORMAT = 5
RESULT_LENGTH = 8
RESULT_NODE_BUSY = 11  # 节点忙: the SMG's queue is full, slow down

# State of a Report.
STATE_DELIVERED, STATE_WAITING, STATE_FAILED = 0, 1, 2


def result_name(result: int) -> str:
    return RESULT.get(result, "其他错误")


class CodecError(Exception):
    """A PDU could not be built or read."""


class UnknownCommand(CodecError):
    def __init__(self, command_id: int, sequence: Sequence):
        super().__init__("unknown Command ID 0x%08X" % command_id)
        self.command_id = command_id
        self.sequence = sequence


class MalformedPdu(CodecError):
    """A body that does not fit its table; `result` is what to answer a request with."""

    def __init__(self, message: str, command_id: int, sequence: Sequence,
                 result: int = RESULT_FORMAT):
        super().__init__(message)
        self.command_id = command_id
        self.sequence = sequence
        self.result = result


# -- the Sequence Number ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, order=True)
class Sequence:
    """Sequence Number: the sending node's id, its time MMDDhhmmss as a number, a counter."""

    node: int
    time: int
    counter: int

    def pack(self) -> bytes:
        return struct.pack(">LLL", self.node, self.time, self.counter)

    @classmethod
    def unpack(cls, raw: bytes) -> Sequence:
        return cls(*struct.unpack(">LLL", raw))

    @property
    def message_id(self) -> str:
        """How a submit's sequence is stored as its part's carrier message id (and matched to
        its Report): the three numbers in decimal, ten digits each."""
        return f"{self.node:010d}{self.time:010d}{self.counter:010d}"


def sgip_time(seconds: float) -> int:
    """MMDDhhmmss, Beijing time, as a number."""
    return int(dt.datetime.fromtimestamp(seconds, SHANGHAI).strftime("%m%d%H%M%S"))


class SequenceNumbers:
    """The Sequence Numbers a node gives its requests: its node id, the time, and a counter
    that runs 1 .. 0xFFFFFFFF and round again, shared by every connection of the node."""

    def __init__(self, node: int, clock: Any):
        self.node = node
        self.clock = clock
        self.counter = 0

    def next(self) -> Sequence:
        self.counter = self.counter + 1 if self.counter < 0xFFFFFFFF else 1
        return Sequence(self.node, sgip_time(self.clock.seconds()), self.counter)


# -- the PDUs ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Bind:
    command: ClassVar[Command] = Command.BIND
    login_type: int
    login_name: str
    login_password: str
    reserve: bytes = bytes(8)


@dataclasses.dataclass(frozen=True)
class Unbind:
    command: ClassVar[Command] = Command.UNBIND


@dataclasses.dataclass(frozen=True)
class UnbindResp:
    command: ClassVar[Command] = Command.UNBIND_RESP


@dataclasses.dataclass(frozen=True)
class Submit:
    command: ClassVar[Command] = Command.SUBMIT
    sp_number: str
    user_numbers: tuple[str, ...]
    message_content: bytes
    corp_id: str = ""
    service_type: str = ""
    charge_number: str = "000000000000000000000"  # 21 zeros: the SP pays
    fee_type: int = 0
    fee_value: str = "0"
    given_value: str = "0"
    agent_flag: int = 0
    morelateto_mt_flag: int = 2  # 2: not caused by an MO
    priority: int = 0
    expire_time: str = ""
    schedule_time: str = ""
    report_flag: int = 1  # 1: a Report whatever the outcome
    tp_pid: int = 0
    tp_udhi: int = 0
    message_coding: int = 8
    message_type: int = 0
    reserve: bytes = bytes(8)


@dataclasses.dataclass(frozen=True)
class Deliver:
    command: ClassVar[Command] = Command.DELIVER
    user_number: str  # the handset
    sp_number: str  # our service number, with the extension digits the handset dialled
    message_content: bytes
    tp_pid: int = 0
    tp_udhi: int = 0
    message_coding: int = 8
    reserve: bytes = bytes(8)


@dataclasses.dataclass(frozen=True)
class Report:
    command: ClassVar[Command] = Command.REPORT
    submit_sequence: Sequence
    user_number: str
    state: int  # 0 delivered, 1 waiting, 2 failed
    error_code: int = 0
    report_type: int = 0  # 0: a report on an earlier Submit
    reserve: bytes = bytes(8)


@dataclasses.dataclass(frozen=True)
class _Resp:
    result: int
    reserve: bytes = bytes(8)


@dataclasses.dataclass(frozen=True)
class BindResp(_Resp):
    command: ClassVar[Command] = Command.BIND_RESP


@dataclasses.dataclass(frozen=True)
class SubmitResp(_Resp):
    command: ClassVar[Command] = Command.SUBMIT_RESP


@dataclasses.dataclass(frozen=True)
class DeliverResp(_Resp):
    command: ClassVar[Command] = Command.DELIVER_RESP


@dataclasses.dataclass(frozen=True)
class ReportResp(_Resp):
    command: ClassVar[Command] = Command.REPORT_RESP


Pdu = (Bind | BindResp | Unbind | UnbindResp | Submit | SubmitResp | Deliver | DeliverResp
       | Report | ReportResp)
_CLASSES: dict[int, type] = {cls.command: cls for cls in (
    Bind, BindResp, Unbind, UnbindResp, Submit, SubmitResp, Deliver, DeliverResp, Report,
    ReportResp)}

_RESPONSE: fields.Layout = (("result", "Result", "int", 1), ("reserve", "Reserve", "octets", 8))
_LAYOUTS: dict[Command, fields.Layout] = {
    Command.BIND: (
        ("login_type", "Login Type", "int", 1),
        ("login_name", "Login Name", "text", 16),
        ("login_password", "Login Password", "text", 16),
        ("reserve", "Reserve", "octets", 8)),
    Command.UNBIND: (),
    Command.UNBIND_RESP: (),
    Command.SUBMIT: (
        ("sp_number", "SPNumber", "text", TERMINAL),
        ("charge_number", "ChargeNumber", "text", TERMINAL),
        ("user_numbers", "UserNumber", "terms", TERMINAL),
        ("corp_id", "CorpId", "text", 5),
        ("service_type", "ServiceType", "text", 10),
        ("fee_type", "FeeType", "int", 1),
        ("fee_value", "FeeValue", "text", 6),
        ("given_value", "GivenValue", "text", 6),
        ("agent_flag", "AgentFlag", "int", 1),
        ("morelateto_mt_flag", "MorelatetoMTFlag", "int", 1),
        ("priority", "Priority", "int", 1),
        ("expire_time", "ExpireTime", "text", 16),
        ("schedule_time", "ScheduleTime", "text", 16),
        ("report_flag", "ReportFlag", "int", 1),
        ("tp_pid", "TP_pid", "int", 1),
        ("tp_udhi", "TP_udhi", "int", 1),
        ("message_coding", "MessageCoding", "int", 1),
        ("message_type", "MessageType", "int", 1),
        ("message_content", "MessageContent", "content", 4),
        ("reserve", "Reserve", "octets", 8)),
    Command.DELIVER: (
        ("user_number", "UserNumber", "text", TERMINAL),
        ("sp_number", "SPNumber", "text", TERMINAL),
        ("tp_pid", "TP_pid", "int", 1),
        ("tp_udhi", "TP_udhi", "int", 1),
        ("message_coding", "MessageCoding", "int", 1),
        ("message_content", "MessageContent", "content", 4),
        ("reserve", "Reserve", "octets", 8)),
    Command.REPORT: (
        ("submit_sequence", "SubmitSequenceNumber", "octets", 12),
        ("report_type", "ReportType", "int", 1),
        ("user_number", "UserNumber", "text", TERMINAL),
        ("state", "State", "int", 1),
        ("error_code", "ErrorCode", "int", 1),
        ("reserve", "Reserve", "octets", 8)),
    Command.BIND_RESP: _RESPONSE,
    Command.SUBMIT_RESP: _RESPONSE,
    Command.DELIVER_RESP: _RESPONSE,
    Command.REPORT_RESP: _RESPONSE,
}


def encode(pdu: Pdu, sequence: Sequence) -> bytes:
    """The whole PDU, header included."""
    item: Any = pdu
    if isinstance(pdu, Report):
        item = dataclasses.replace(pdu, submit_sequence=pdu.submit_sequence.pack())  # type: ignore[arg-type]
    try:
        body = fields.pack(_LAYOUTS[pdu.command], item)
    except ValueError as error:
        raise CodecError(f"{pdu.command.name} {error}") from None
    length = HEADER_LENGTH + len(body)
    return HEADER.pack(length, pdu.command, sequence.node, sequence.time, sequence.counter) + body


def decode(data: bytes) -> tuple[Sequence, Pdu]:
    """(Sequence Number, PDU) of one whole PDU as framed."""
    length, command_id, node, time, counter = HEADER.unpack_from(data)
    sequence = Sequence(node, time, counter)
    cls = _CLASSES.get(command_id)
    if cls is None:
        raise UnknownCommand(command_id, sequence)
    command = Command(command_id)
    if length != len(data):
        raise MalformedPdu(f"{command.name} Message Length {length} but {len(data)} octets",
                           command, sequence, RESULT_LENGTH)
    try:
        values = dict(fields.unpack(_LAYOUTS[command], data[HEADER_LENGTH:]))
    except fields.FieldError as error:
        raise MalformedPdu(f"{command.name}: {error}", command, sequence,
                           RESULT_LENGTH if error.length else RESULT_FORMAT) from None
    if command is Command.REPORT:
        values["submit_sequence"] = Sequence.unpack(values["submit_sequence"])
    return sequence, cls(**values)
