"""The CMPP codec against byte strings laid out by hand from the field tables of the CMPP 2.0
and 3.0 specifications (消息定义), field by field, each commented with its name and size."""

import datetime as dt
import hashlib

import pytest

from sms_gateway.cmpp import codec


def header(length, command_id, sequence):
    return length.to_bytes(4, "big") + command_id.to_bytes(4, "big") + sequence.to_bytes(4, "big")


def pad(text: bytes, size: int) -> bytes:
    assert len(text) <= size
    return text + bytes(size - len(text))


# -- CMPP_CONNECT -----------------------------------------------------------------------------

def test_authenticator_source_is_md5_of_source_addr_nine_zeros_secret_and_ten_digit_timestamp():
    # 1 January 08:00:00: the ten digits keep their leading zero inside the hash
    expected = hashlib.md5(b"901234" + b"\0" * 9 + b"secret" + b"0101080000").digest()
    assert codec.authenticator_source("901234", "secret", 101080000) == expected


@pytest.mark.parametrize("version", [codec.V2, codec.V3])
def test_connect_is_source_addr_authenticator_version_and_timestamp_in_both_versions(version):
    authenticator = hashlib.md5(b"901234" + bytes(9) + b"secret" + b"1128093000").digest()
    expected = (header(39, 0x00000001, 1)
                + b"901234"  # Source_Addr 6
                + authenticator  # AuthenticatorSource 16
                + bytes((version,))  # Version 1: 0x20 / 0x30
                + (1128093000).to_bytes(4, "big"))  # Timestamp 4: MMDDHHMMSS as a number
    pdu = codec.Connect("901234", authenticator, version, 1128093000)
    assert codec.encode(pdu, 1, version) == expected
    assert codec.decode(expected, version) == (1, pdu)


def test_connect_timestamp_is_beijing_time():
    seconds = dt.datetime(2026, 11, 28, 1, 30, 0, tzinfo=dt.timezone.utc).timestamp()
    assert codec.connect_timestamp(seconds) == 1128093000  # 09:30 in Shanghai


def test_connect_resp_2_0_has_a_one_octet_status():
    ismg = bytes(range(16))
    data = header(30, 0x80000001, 1) + b"\x00" + ismg + b"\x20"  # Status 1, Auth 16, Version 1
    assert codec.decode(data, codec.V2) == (1, codec.ConnectResp(0, ismg, 0x20))


def test_connect_resp_3_0_has_a_four_octet_status():
    ismg = bytes(range(16))
    data = header(33, 0x80000001, 1) + b"\x00\x00\x00\x03" + ismg + b"\x30"  # Status 4
    assert codec.decode(data, codec.V3) == (1, codec.ConnectResp(3, ismg, 0x30))


def test_connect_resp_is_read_by_its_length_whatever_version_was_asked():
    data = header(30, 0x80000001, 1) + b"\x04" + bytes(16) + b"\x20"
    assert codec.decode(data, codec.V3) == (1, codec.ConnectResp(4, bytes(16), 0x20))


def test_authenticator_ismg_hashes_status_as_its_wire_octets():
    source = bytes(range(16))
    assert codec.authenticator_ismg(0, source, "secret", codec.V2) == hashlib.md5(
        b"\x00" + source + b"secret").digest()
    assert codec.authenticator_ismg(0, source, "secret", codec.V3) == hashlib.md5(
        b"\x00\x00\x00\x00" + source + b"secret").digest()


# -- CMPP_SUBMIT ------------------------------------------------------------------------------

CONTENT = "您好".encode("utf-16-be")


def submit_pdu(**fields):
    values = dict(dest_terminal_ids=("13812345678",), msg_content=CONTENT, src_id="1065700101",
                  msg_src="901234", service_id="HOTLINE", msg_fmt=8)
    values.update(fields)
    return codec.Submit(**values)


def test_submit_2_0_bytes_follow_the_field_table():
    body = b"".join([
        bytes(8),  # Msg_Id 8: 0, the ISMG numbers it
        b"\x01", b"\x01",  # Pk_total 1, Pk_number 1
        b"\x01",  # Registered_Delivery 1
        b"\x00",  # Msg_level 1
        pad(b"HOTLINE", 10),  # Service_Id 10
        b"\x02",  # Fee_UserType 1
        bytes(21),  # Fee_terminal_Id 21
        b"\x00", b"\x00", b"\x08",  # TP_pId, TP_udhi, Msg_Fmt
        b"901234",  # Msg_src 6
        b"01",  # FeeType 2
        pad(b"0", 6),  # FeeCode 6
        bytes(17), bytes(17),  # ValId_Time 17, At_Time 17
        pad(b"1065700101", 21),  # Src_Id 21
        b"\x01", pad(b"13812345678", 21),  # DestUsr_tl 1, Dest_terminal_Id 21
        b"\x04", CONTENT,  # Msg_Length 1, Msg_Content
        bytes(8),  # Reserve 8
    ])
    expected = header(12 + len(body), 0x00000004, 7) + body
    assert len(body) == 147 + len(CONTENT)
    assert codec.encode(submit_pdu(), 7, codec.V2) == expected
    assert codec.decode(expected, codec.V2) == (7, submit_pdu())


def test_submit_3_0_bytes_have_32_octet_terminals_terminal_types_and_link_id():
    body = b"".join([
        bytes(8),  # Msg_Id 8
        b"\x02", b"\x01",  # Pk_total, Pk_number
        b"\x01", b"\x00",  # Registered_Delivery, Msg_level
        pad(b"HOTLINE", 10),  # Service_Id 10
        b"\x03",  # Fee_UserType 1
        pad(b"13900000000", 32),  # Fee_terminal_Id 32
        b"\x00",  # Fee_terminal_type 1
        b"\x00", b"\x01", b"\x08",  # TP_pId, TP_udhi, Msg_Fmt
        b"901234", b"02", pad(b"10", 6),  # Msg_src 6, FeeType 2, FeeCode 6
        bytes(17), bytes(17),  # ValId_Time, At_Time
        pad(b"1065700101", 21),  # Src_Id 21
        b"\x01", pad(b"13812345678", 32),  # DestUsr_tl 1, Dest_terminal_Id 32
        b"\x00",  # Dest_terminal_type 1
        b"\x04", CONTENT,  # Msg_Length, Msg_Content
        bytes(20),  # LinkID 20
    ])
    pdu = submit_pdu(pk_total=2, fee_user_type=3, fee_terminal_id="13900000000", tp_udhi=1,
                     fee_type="02", fee_code="10")
    expected = header(12 + len(body), 0x00000004, 8) + body
    assert codec.encode(pdu, 8, codec.V3) == expected
    assert codec.decode(expected, codec.V3) == (8, pdu)


def test_submit_refuses_a_field_longer_than_its_size_naming_it():
    with pytest.raises(codec.CodecError, match="Src_Id"):
        codec.encode(submit_pdu(src_id="1" * 22), 1, codec.V2)
    with pytest.raises(codec.CodecError, match="Msg_Content"):
        codec.encode(submit_pdu(msg_content=bytes(256)), 1, codec.V3)


def test_submit_resp_result_is_one_octet_in_2_0_and_four_in_3_0():
    msg_id = 0x0123456789ABCDEF
    v2 = header(21, 0x80000004, 5) + msg_id.to_bytes(8, "big") + b"\x08"
    v3 = header(24, 0x80000004, 5) + msg_id.to_bytes(8, "big") + b"\x00\x00\x00\x0d"
    assert codec.decode(v2, codec.V2) == (5, codec.SubmitResp(msg_id, 8))
    assert codec.decode(v3, codec.V3) == (5, codec.SubmitResp(msg_id, 13))


# -- CMPP_DELIVER -----------------------------------------------------------------------------

def report_bytes(version):
    terminal = 32 if version == codec.V3 else 21
    return b"".join([
        (0x1122334455667788).to_bytes(8, "big"),  # Msg_Id 8 (of the submit)
        b"UNDELIV",  # Stat 7
        b"2611280930", b"2611280931",  # Submit_time 10, Done_time 10 (YYMMDDHHMM)
        pad(b"13812345678", terminal),  # Dest_terminal_Id 21 / 32
        (42).to_bytes(4, "big"),  # SMSC_sequence 4
    ])


@pytest.mark.parametrize("version, report_length", [(codec.V2, 60), (codec.V3, 71)])
def test_deliver_of_a_status_report_carries_the_report_as_its_content(version, report_length):
    report = report_bytes(version)
    assert len(report) == report_length == codec.report_length(version)
    terminal = 32 if version == codec.V3 else 21
    body = b"".join([
        (0x99).to_bytes(8, "big"),  # Msg_Id 8 (the DELIVER's own)
        pad(b"1065700101", 21),  # Dest_Id 21
        pad(b"HOTLINE", 10),  # Service_Id 10
        b"\x00", b"\x00", b"\x00",  # TP_pid, TP_udhi, Msg_Fmt
        pad(b"13812345678", terminal),  # Src_terminal_Id 21 / 32
        b"\x00" if version == codec.V3 else b"",  # Src_terminal_type 1 (3.0)
        b"\x01",  # Registered_Delivery 1: a status report
        bytes((len(report),)), report,  # Msg_Length, Msg_Content
        bytes(20) if version == codec.V3 else bytes(8),  # LinkID 20 / Reserved 8
    ])
    sequence, deliver = codec.decode(header(12 + len(body), 0x00000005, 3) + body, version)
    assert sequence == 3 and deliver.registered_delivery == 1 and deliver.msg_id == 0x99
    assert deliver.dest_id == "1065700101" and deliver.src_terminal_id == "13812345678"
    assert codec.decode_report(deliver.msg_content, version) == codec.StatusReport(
        0x1122334455667788, "UNDELIV", "2611280930", "2611280931", "13812345678", 42)
    assert codec.encode(deliver, 3, version) == header(12 + len(body), 0x00000005, 3) + body


def test_deliver_3_0_of_a_reply_keeps_the_extension_digits_and_the_link_id():
    text = "满意".encode("utf-16-be")
    body = b"".join([
        (7).to_bytes(8, "big"), pad(b"106570010199", 21), bytes(10),  # Msg_Id, Dest_Id, Service_Id
        b"\x00", b"\x00", b"\x08",  # TP_pid, TP_udhi, Msg_Fmt 8
        pad(b"8613912345678", 32), b"\x00",  # Src_terminal_Id 32, Src_terminal_type 1
        b"\x00",  # Registered_Delivery 0: a reply
        bytes((len(text),)), text, pad(b"LINK0001", 20),  # Msg_Length, Msg_Content, LinkID
    ])
    _, deliver = codec.decode(header(12 + len(body), 0x00000005, 9) + body, codec.V3)
    assert deliver == codec.Deliver(msg_id=7, dest_id="106570010199",
                                    src_terminal_id="8613912345678", msg_content=text, msg_fmt=8,
                                    link_id="LINK0001")


def test_deliver_resp_is_msg_id_and_result_of_the_version_size():
    assert codec.encode(codec.DeliverResp(7, 0), 9, codec.V2) == (
        header(21, 0x80000005, 9) + (7).to_bytes(8, "big") + b"\x00")
    assert codec.encode(codec.DeliverResp(7, 0), 9, codec.V3) == (
        header(24, 0x80000005, 9) + (7).to_bytes(8, "big") + b"\x00\x00\x00\x00")


# -- ACTIVE_TEST and TERMINATE ---------------------------------------------------------------

@pytest.mark.parametrize("pdu, hexed", [
    (codec.ActiveTest(), "0000000c 00000008 00000004"),
    (codec.ActiveTestResp(), "0000000d 80000008 00000004 00"),  # Reserved 1
    (codec.Terminate(), "0000000c 00000002 00000004"),
    (codec.TerminateResp(), "0000000c 80000002 00000004"),
])
def test_bodiless_pdus_and_active_test_resp(pdu, hexed):
    for version in codec.VERSIONS:
        assert codec.encode(pdu, 4, version) == bytes.fromhex(hexed)
        assert codec.decode(bytes.fromhex(hexed), version) == (4, pdu)


def test_active_test_resp_without_its_reserved_octet_is_read():
    assert codec.decode(bytes.fromhex("0000000c 80000008 00000004"), codec.V2) == (
        4, codec.ActiveTestResp())


# -- what does not parse ---------------------------------------------------------------------

def test_a_deliver_cut_short_is_malformed_naming_the_field_and_keeping_its_msg_id():
    data = header(12 + 20, 0x00000005, 3) + (77).to_bytes(8, "big") + b"1065700101\0\0"
    with pytest.raises(codec.MalformedPdu, match="inside Dest_Id") as raised:
        codec.decode(data, codec.V2)
    assert (raised.value.msg_id, raised.value.sequence, raised.value.result) == (77, 3, 1)


def test_a_msg_length_past_the_end_is_a_length_error():
    body = bytearray(codec.encode(codec.Deliver(5, "10657", "13812345678", b"hi"), 1, codec.V2))
    body[12 + 8 + 21 + 10 + 3 + 21 + 1] = 200  # Msg_Length
    with pytest.raises(codec.MalformedPdu, match="Msg_Length 200") as raised:
        codec.decode(bytes(body), codec.V2)
    assert raised.value.result == codec.RESULT_LENGTH and raised.value.msg_id == 5


def test_a_3_0_deliver_read_as_2_0_does_not_parse():
    data = codec.encode(codec.Deliver(5, "10657", "13812345678", b"hi"), 1, codec.V3)
    with pytest.raises(codec.MalformedPdu, match="octets after the last field"):
        codec.decode(data, codec.V2)


def test_total_length_that_is_not_the_pdus_length_is_malformed():
    data = bytes.fromhex("0000000d 00000008 00000001")
    with pytest.raises(codec.MalformedPdu, match="Total_Length 13 but 12"):
        codec.decode(data, codec.V3)


def test_an_unknown_command_id_is_told_apart():
    with pytest.raises(codec.UnknownCommand) as raised:
        codec.decode(bytes.fromhex("0000000c 00000006 00000002"), codec.V2)  # CMPP_QUERY
    assert (raised.value.command_id, raised.value.sequence) == (6, 2)


def test_a_status_report_of_the_wrong_length_is_malformed():
    with pytest.raises(codec.MalformedPdu):
        codec.decode_report(report_bytes(codec.V2), codec.V3)


# -- Msg_Id and sequence numbers -------------------------------------------------------------

def test_msg_id_packs_time_ismg_code_and_sequence_in_the_specification_bits():
    msg_id = codec.make_msg_id(dt.datetime(2026, 11, 28, 9, 30, 15), 0x1A2B3, 7)
    assert msg_id >> 60 == 11  # bits 64-61 month
    assert (msg_id >> 55) & 0x1F == 28  # bits 60-56 day
    assert (msg_id >> 50) & 0x1F == 9  # bits 55-51 hour
    assert (msg_id >> 44) & 0x3F == 30  # bits 50-45 minute
    assert (msg_id >> 38) & 0x3F == 15  # bits 44-39 second
    assert (msg_id >> 16) & 0x3FFFFF == 0x1A2B3  # bits 38-17 ISMG code
    assert msg_id & 0xFFFF == 7  # bits 16-1 sequence
    assert codec.format_msg_id(msg_id) == str(msg_id)


def test_sequence_numbers_wrap_to_one_below_the_sign_bit():
    numbers = codec.SequenceNumbers(start=0x7FFFFFFE)
    assert [numbers.next(), numbers.next(), numbers.next()] == [0x7FFFFFFF, 1, 2]
