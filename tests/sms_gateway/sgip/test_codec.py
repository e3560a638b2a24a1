"""The SGIP 1.2 codec against byte strings laid out by hand from the specification's field
tables (4.2 消息定义), each field commented with its name and size; and the same PDUs as one
stream through the framer, split at every byte offset."""

import datetime as dt

import pytest
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.logger import capturedLogs, formatEvent

from sms_gateway.sgip import codec
from sms_gateway.sgip.framing import SgipFramer

# Node 3053112345 (3 + area code 0531 + the SP's 5-digit corporation code 12345), 7 December
# 15:30:00, counter 1.
SEQ = codec.Sequence(3053112345, 1207153000, 1)
SEQ_BYTES = bytes.fromhex("B5FACC19") + bytes.fromhex("47F3B168") + bytes.fromhex("00000001")


def header(length, command_id, sequence=SEQ_BYTES):
    return length.to_bytes(4, "big") + command_id.to_bytes(4, "big") + sequence


def pad(text: bytes, size: int) -> bytes:
    assert len(text) <= size
    return text + bytes(size - len(text))


BIND = (header(61, 0x00000001)
        + b"\x01"  # Login Type 1: the SP binds to the SMG
        + pad(b"hotline", 16)  # Login Name 16
        + pad(b"secret", 16)  # Login Password 16
        + bytes(8))  # Reserve 8
BIND_RESP = header(29, 0x80000001) + b"\x00" + bytes(8)  # Result 1, Reserve 8
SUBMIT = (header(20 + 144 + 2, 0x00000003)
          + pad(b"10655019600110", 21)  # SPNumber 21
          + pad(b"000000000000000000000", 21)  # ChargeNumber 21: 21 zeros, the SP pays
          + b"\x01"  # UserCount 1
          + pad(b"8613012345678", 21)  # UserNumber 21, with the country code
          + b"12345"  # CorpId 5
          + pad(b"HOTLINE", 10)  # ServiceType 10
          + b"\x00"  # FeeType 1
          + pad(b"0", 6)  # FeeValue 6
          + pad(b"0", 6)  # GivenValue 6
          + b"\x00"  # AgentFlag 1
          + b"\x02"  # MorelatetoMTFlag 1: not caused by an MO
          + b"\x00"  # Priority 1
          + bytes(16)  # ExpireTime 16
          + bytes(16)  # ScheduleTime 16
          + b"\x01"  # ReportFlag 1
          + b"\x00"  # TP_pid 1
          + b"\x00"  # TP_udhi 1
          + b"\x00"  # MessageCoding 1: ASCII
          + b"\x00"  # MessageType 1
          + (2).to_bytes(4, "big") + b"hi"  # MessageLength 4, MessageContent
          + bytes(8))  # Reserve 8
SUBMIT_RESP = header(29, 0x80000003) + b"\x00" + bytes(8)
DELIVER = (header(20 + 57 + 4, 0x00000004, bytes.fromhex("7735940047F3B16C0000000A"))
           + pad(b"8613012345678", 21)  # UserNumber 21
           + pad(b"1065501960011001", 21)  # SPNumber 21: the service number and extension 01
           + b"\x00"  # TP_pid 1
           + b"\x00"  # TP_udhi 1
           + b"\x08"  # MessageCoding 1: UCS2
           + (4).to_bytes(4, "big") + "满意".encode("utf-16-be")
           + bytes(8))
REPORT = (header(20 + 44, 0x00000005, bytes.fromhex("7735940047F3B16D0000000B"))
          + SEQ_BYTES  # SubmitSequenceNumber 12: the Submit's own Sequence Number
          + b"\x00"  # ReportType 1: on an earlier Submit
          + pad(b"8613012345678", 21)  # UserNumber 21
          + b"\x02"  # State 1: failed
          + b"\x19"  # ErrorCode 1: 25, 用户不能通信
          + bytes(8))
REPORT_RESP = header(29, 0x80000005, bytes.fromhex("7735940047F3B16D0000000B")) + b"\x00" + bytes(8)
UNBIND = header(20, 0x00000002)
UNBIND_RESP = header(20, 0x80000002)

SMG = codec.Sequence(2000000000, 1207153004, 10)
PDUS = [
    (BIND, SEQ, codec.Bind(1, "hotline", "secret")),
    (BIND_RESP, SEQ, codec.BindResp(0)),
    (SUBMIT, SEQ, codec.Submit("10655019600110", ("8613012345678",), b"hi", corp_id="12345",
                               service_type="HOTLINE", message_coding=0)),
    (SUBMIT_RESP, SEQ, codec.SubmitResp(0)),
    (DELIVER, SMG, codec.Deliver("8613012345678", "1065501960011001",
                                 "满意".encode("utf-16-be"))),
    (REPORT, codec.Sequence(2000000000, 1207153005, 11),
     codec.Report(SEQ, "8613012345678", state=2, error_code=25)),
    (REPORT_RESP, codec.Sequence(2000000000, 1207153005, 11), codec.ReportResp(0)),
    (UNBIND, SEQ, codec.Unbind()),
    (UNBIND_RESP, SEQ, codec.UnbindResp()),
]


@pytest.mark.parametrize("data, sequence, pdu", PDUS, ids=[type(p[2]).__name__ for p in PDUS])
def test_each_pdu_is_the_bytes_of_its_field_table_both_ways(data, sequence, pdu):
    assert codec.encode(pdu, sequence) == data
    assert codec.decode(data) == (sequence, pdu)


def test_a_submit_for_one_number_is_144_octets_and_its_content():
    assert len(SUBMIT) == 20 + 144 + 2


def test_the_sequence_is_node_time_counter_and_names_the_part_its_report_names():
    assert SEQ.pack() == SEQ_BYTES
    assert SEQ.message_id == "305311234512071530000000000001"
    _, report = codec.decode(REPORT)
    assert report.submit_sequence.message_id == SEQ.message_id


def test_sequence_numbers_count_on_the_node_with_beijing_time():
    clock = Clock()
    clock.advance(dt.datetime(2026, 12, 7, 7, 30, tzinfo=dt.timezone.utc).timestamp())
    numbers = codec.SequenceNumbers(3053112345, clock)
    assert numbers.next() == codec.Sequence(3053112345, 1207153000, 1)
    clock.advance(1)
    assert numbers.next() == codec.Sequence(3053112345, 1207153001, 2)
    numbers.counter = 0xFFFFFFFF
    assert numbers.next().counter == 1


@pytest.mark.parametrize("data, message, result", [
    (DELIVER[:65] + (40).to_bytes(4, "big") + DELIVER[69:], "MessageContent of 40 octets",
     codec.RESULT_LENGTH),
    (header(30, 0x80000003) + b"\x00" + bytes(9), "1 octets after the last field",
     codec.RESULT_FORMAT),
    (header(25, 0x00000005) + bytes(5), "inside SubmitSequenceNumber", codec.RESULT_FORMAT),
])
def test_a_body_that_does_not_fit_its_table_is_malformed_with_the_result_to_answer(
        data, message, result):
    with pytest.raises(codec.MalformedPdu, match=message) as raised:
        codec.decode(data)
    assert raised.value.result == result


def test_an_unknown_command_is_told_apart():
    with pytest.raises(codec.UnknownCommand) as raised:
        codec.decode(header(20, 0x00000010))  # a GNS command, not an SP's
    assert raised.value.sequence == SEQ


def test_a_number_too_long_cannot_be_built():
    with pytest.raises(codec.CodecError, match="UserNumber"):
        codec.encode(codec.Submit("1065501", ("8" * 22,), b"x"), SEQ)


class RecordingFramer(SgipFramer):
    def __init__(self):
        self.pdus = []

    def pduReceived(self, data):
        self.pdus.append(data)


def connected():
    framer = RecordingFramer()
    transport = StringTransportWithDisconnection()
    transport.protocol = framer
    framer.makeConnection(transport)
    return framer, transport


STREAM = b"".join(data for data, _, _ in PDUS)


def test_the_stream_split_at_every_offset_gives_the_same_pdus():
    expected = [data for data, _, _ in PDUS]
    for offset in range(len(STREAM) + 1):
        framer, _ = connected()
        framer.dataReceived(STREAM[:offset])
        framer.dataReceived(STREAM[offset:])
        assert framer.pdus == expected, f"split at offset {offset}"
    assert [codec.decode(p)[1] for p in expected] == [p for _, _, p in PDUS]


def test_the_stream_one_byte_at_a_time_gives_the_same_pdus():
    framer, _ = connected()
    for i in range(len(STREAM)):
        framer.dataReceived(STREAM[i:i + 1])
    assert framer.pdus == [data for data, _, _ in PDUS]


@pytest.mark.parametrize("garbage", [
    (19).to_bytes(4, "big") + bytes(16),  # no room for the 20-octet header
    (2049).to_bytes(4, "big") + bytes(16),  # over the specification's 2K
    b"GET / HTTP/1.1\r\n",
])
def test_garbage_or_an_over_length_pdu_drops_the_link_with_the_reason_logged(garbage):
    framer, transport = connected()
    with capturedLogs() as events:
        framer.dataReceived(UNBIND + garbage + UNBIND_RESP)
    assert framer.pdus == [UNBIND] and not transport.connected and transport.value() == b""
    assert any(formatEvent(e).startswith("Dropping SGIP link: Message Length") for e in events)
