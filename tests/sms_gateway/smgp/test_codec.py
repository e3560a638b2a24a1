"""The SMGP 3.0 codec against byte strings laid out by hand from the specification's field
tables (5.2 消息定义), field by field, each commented with its name and size; and the same PDUs
as one stream through the framer, split at every byte offset."""

import datetime as dt
import hashlib

import pytest
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.logger import capturedLogs, formatEvent

from sms_gateway.smgp import codec
from sms_gateway.smgp.framing import SmgpFramer


def header(length, request_id, sequence):
    return length.to_bytes(4, "big") + request_id.to_bytes(4, "big") + sequence.to_bytes(4, "big")


def pad(text: bytes, size: int) -> bytes:
    assert len(text) <= size
    return text + bytes(size - len(text))


MSG_ID = bytes.fromhex("01006101161700012345")  # the specification's example: SMGW 010061,
#                                                 16 January 17:00, sequence 012345
AUTH = hashlib.md5(b"10690001" + bytes(7) + b"secret" + b"0301000000").digest()

LOGIN = (header(42, 0x00000001, 1)
         + b"10690001"  # ClientID 8
         + AUTH  # AuthenticatorClient 16
         + b"\x02"  # LoginMode 1: transmit
         + bytes.fromhex("11F0E540")  # TimeStamp 4: 0301000000, the specification's example
         + b"\x30")  # ClientVersion 1: 3.0
LOGIN_RESP = (header(33, 0x80000001, 1)
              + bytes(4)  # Status 4
              + hashlib.md5(bytes(4) + AUTH + b"secret").digest()  # AuthenticatorServer 16
              + b"\x30")  # ServerVersion 1
SUBMIT = (header(149, 0x00000002, 7)
          + b"\x06"  # MsgType 1: MT
          + b"\x01"  # NeedReport 1
          + b"\x00"  # Priority 1
          + pad(b"HOTLINE", 10)  # ServiceID 10
          + b"00"  # FeeType 2: free
          + pad(b"0", 6)  # FeeCode 6
          + bytes(6)  # FixedFee 6
          + b"\x00"  # MsgFormat 1: ASCII                         (octet 39)
          + bytes(17)  # ValidTime 17
          + bytes(17)  # AtTime 17
          + pad(b"1180001", 21)  # SrcTermID 21                  (octet 74)
          + bytes(21)  # ChargeTermID 21
          + b"\x01"  # DestTermIDCount 1                          (octet 116)
          + pad(b"13312345678", 21)  # DestTermID 21 x 1
          + b"\x02" + b"hi"  # MsgLength 1, MsgContent
          + bytes(8))  # Reserve 8                                 149 = 126 + 21 + 2
UDH = bytes.fromhex("0500030a0402")  # reference 10, 4 parts, part 2
LONG_SUBMIT = (header(126 + 21 + 10 + 15, 0x00000002, 8)  # one destination, 10 octets, 3 TLVs
               + SUBMIT[12:116] + b"\x01" + pad(b"13312345678", 21)
               + b"\x0a" + UDH + "您好".encode("utf-16-be") + bytes(8)  # MsgLength 10
               + bytes.fromhex("0002 0001 01")  # TLV TP_udhi = 1
               + bytes.fromhex("0009 0001 04")  # TLV PkTotal = 4
               + bytes.fromhex("000A 0001 02"))  # TLV PkNumber = 2
LONG_SUBMIT = LONG_SUBMIT[:39] + b"\x08" + LONG_SUBMIT[40:]  # MsgFormat 8: UCS2
SUBMIT_RESP = header(26, 0x80000002, 7) + MSG_ID + bytes(4)  # MsgID 10, Status 4
REPORT = (b"id:" + MSG_ID + b" sub:001 dlvrd:001 submit date:2601161700 done date:2601161701"
          b" stat:DELIVRD err:000 text:" + bytes(20))
DELIVER_REPORT = (header(211, 0x00000003, 3)
                  + bytes.fromhex("01006101161701000001")  # MsgID 10 of the Deliver itself
                  + b"\x01"  # IsReport 1
                  + b"\x00"  # MsgFormat 1
                  + b"20260116170100"  # RecvTime 14
                  + pad(b"13312345678", 21)  # SrcTermID 21: the handset
                  + pad(b"1180001", 21)  # DestTermID 21: our number
                  + bytes((122,)) + REPORT  # MsgLength 1, MsgContent 122
                  + bytes(8))  # Reserve 8
DELIVER_MO = (header(89 + 4 + 5, 0x00000003, 4)
              + bytes.fromhex("01006101161701000002")
              + b"\x00"  # IsReport 0: a reply
              + b"\x08"  # MsgFormat 8: UCS2
              + b"20260116170105"
              + pad(b"13312345678", 21)
              + pad(b"118000101", 21)  # the service number and the extension 01
              + b"\x04" + "满意".encode("utf-16-be")
              + bytes(8)
              + bytes.fromhex("0002 0001 00"))  # TLV TP_udhi = 0
ACTIVE_TEST = header(12, 0x00000004, 5)
ACTIVE_TEST_RESP = header(12, 0x80000004, 9)
EXIT = header(12, 0x00000006, 6)
EXIT_RESP = header(12, 0x80000006, 10)

PDUS = [
    (LOGIN, 1, codec.Login("10690001", AUTH, 301000000)),
    (LOGIN_RESP, 1, codec.LoginResp(0, hashlib.md5(bytes(4) + AUTH + b"secret").digest())),
    (SUBMIT, 7, codec.Submit(("13312345678",), b"hi", "1180001", msg_format=0,
                             service_id="HOTLINE")),
    (LONG_SUBMIT, 8, codec.Submit(("13312345678",), UDH + "您好".encode("utf-16-be"), "1180001",
                                  service_id="HOTLINE",
                                  tlvs=((2, b"\x01"), (9, b"\x04"), (10, b"\x02")))),
    (SUBMIT_RESP, 7, codec.SubmitResp(MSG_ID, 0)),
    (DELIVER_REPORT, 3, codec.Deliver(bytes.fromhex("01006101161701000001"), "13312345678",
                                      "1180001", REPORT, is_report=1,
                                      recv_time="20260116170100")),
    (DELIVER_MO, 4, codec.Deliver(bytes.fromhex("01006101161701000002"), "13312345678",
                                  "118000101", "满意".encode("utf-16-be"), msg_format=8,
                                  recv_time="20260116170105", tlvs=((2, b"\x00"),))),
    (ACTIVE_TEST, 5, codec.ActiveTest()),
    (ACTIVE_TEST_RESP, 9, codec.ActiveTestResp()),
    (EXIT, 6, codec.Exit()),
    (EXIT_RESP, 10, codec.ExitResp()),
]


@pytest.mark.parametrize("data, sequence, pdu", PDUS, ids=[type(p[2]).__name__ for p in PDUS])
def test_each_pdu_is_the_bytes_of_its_field_table_both_ways(data, sequence, pdu):
    assert codec.encode(pdu, sequence) == data
    assert codec.decode(data) == (sequence, pdu)


def test_a_long_submit_reads_its_tlvs():
    _, pdu = codec.decode(LONG_SUBMIT)
    assert (pdu.tp_udhi, pdu.pk_total, pdu.pk_number, pdu.msg_format) == (1, 4, 2, 8)


def test_authenticator_client_is_md5_of_client_id_seven_zeros_secret_and_ten_digit_timestamp():
    assert codec.authenticator_client("10690001", "secret", 0x11F0E540) == AUTH
    assert codec.authenticator_server(0, AUTH, "secret") == LOGIN_RESP[16:32]


def test_the_timestamp_is_beijing_time_mmddhhmmss():
    seconds = dt.datetime(2026, 2, 28, 16, 0, 0, tzinfo=dt.timezone.utc).timestamp()
    assert codec.login_timestamp(seconds) == 301000000  # 1 March 00:00 in Shanghai


def test_the_report_in_msg_content_reads_its_fields_and_builds_back_the_same_octets():
    report = codec.decode_report(REPORT)
    assert report == codec.StatusReport(MSG_ID, "DELIVRD", "000", "2601161700", "2601161701")
    assert len(REPORT) == 122 and codec.encode_report(report) == REPORT
    assert codec.format_msg_id(report.msg_id) == "01006101161700012345"


def test_a_report_with_the_id_in_hex_digits_is_read_too():
    text = b"id:01006101161700012345" + REPORT[13:]
    assert codec.decode_report(text).msg_id == MSG_ID


def test_a_report_without_stat_is_malformed():
    with pytest.raises(codec.MalformedPdu, match="stat"):
        codec.decode_report(b"id:" + MSG_ID + b" sub:001")


def test_the_msg_id_is_bcd_of_the_smgw_code_time_and_sequence():
    assert codec.make_msg_id("010061", "01161700", 12345) == MSG_ID


@pytest.mark.parametrize("data, message, status", [
    (DELIVER_MO[:80] + b"\x30" + DELIVER_MO[81:], "MsgContent of 48 octets", codec.STATUS_LENGTH),
    (header(101, 3, 4) + DELIVER_MO[12:] + b"\x00\x02\x00", "after the last TLV",
     codec.STATUS_STRUCTURE),
    (header(102, 3, 4) + DELIVER_MO[12:] + b"\x00\x02\x00\x09", "TLV 0x0002 Length 9",
     codec.STATUS_STRUCTURE),
    (header(13, 0x80000004, 9) + b"\x00", "1 octets after the last field", codec.STATUS_STRUCTURE),
    (header(24, 0x80000002, 7) + bytes(12), "the body ends", codec.STATUS_STRUCTURE),
])
def test_a_body_that_does_not_fit_its_table_is_malformed_with_the_status_to_answer(
        data, message, status):
    with pytest.raises(codec.MalformedPdu, match=message) as raised:
        codec.decode(data)
    assert raised.value.status == status


def test_a_malformed_deliver_still_names_its_msg_id_for_the_answer():
    data = DELIVER_MO[:80] + b"\x30" + DELIVER_MO[81:]
    with pytest.raises(codec.MalformedPdu) as raised:
        codec.decode(data)
    assert raised.value.msg_id == bytes.fromhex("01006101161701000002")


def test_an_unknown_request_id_is_told_apart():
    with pytest.raises(codec.UnknownCommand) as raised:
        codec.decode(header(12, 0x00000007, 3))  # Query: not a client's
    assert (raised.value.request_id, raised.value.sequence) == (7, 3)


def test_a_field_too_long_cannot_be_built():
    with pytest.raises(codec.CodecError, match="SrcTermID"):
        codec.encode(codec.Submit(("13312345678",), b"x", "1" * 22), 1)


# -- the same PDUs as a stream through the framer ----------------------------------------------

class RecordingFramer(SmgpFramer):
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
        assert [codec.decode(p)[1] for p in framer.pdus] == [p for _, _, p in PDUS]


def test_the_stream_one_byte_at_a_time_gives_the_same_pdus():
    framer, _ = connected()
    for i in range(len(STREAM)):
        framer.dataReceived(STREAM[i:i + 1])
    assert framer.pdus == [data for data, _, _ in PDUS]


@pytest.mark.parametrize("garbage", [
    (0).to_bytes(4, "big") + bytes(8),  # no room for the header
    (11).to_bytes(4, "big") + bytes(8),
    (4097).to_bytes(4, "big") + bytes(8),  # over the limit
    b"GET / HTTP/1.1\r\n",  # text sent by mistake: a length of 1.2 GB
])
def test_garbage_or_an_over_length_pdu_drops_the_link_with_the_reason_logged(garbage):
    framer, transport = connected()
    with capturedLogs() as events:
        framer.dataReceived(ACTIVE_TEST + garbage + EXIT)
    assert framer.pdus == [ACTIVE_TEST] and not transport.connected
    assert transport.value() == b""  # SMGP has no generic_nack
    assert any(formatEvent(e).startswith("Dropping SMGP link: PacketLength") for e in events)
