"""Text to CMPP parts (Msg_Fmt, UDH, Pk_total) and what a CMPP_DELIVER means (the Stat table)."""

import pytest

from sms_gateway.cmpp import codec
from sms_gateway.cmpp.deliver import mo_part, receipt_from_report, state_of
from sms_gateway.cmpp.segments import MSG_FMT_ASCII, MSG_FMT_GBK, MSG_FMT_UCS2, encode_text
from sms_gateway.link import MessageState, MessageTooLong
from sms_gateway.receipts import MoReassembler

OUTSIDE_BMP = "\U00020000"  # 𠀀, a CJK Extension B character: a surrogate pair in UTF-16


def boundary_text():
    """Four UCS2 parts, the character outside the BMP where part 1 ends (66 units + 2)."""
    return "您" * 66 + OUTSIDE_BMP + "好" * 190 + "。"


def test_a_chinese_text_of_four_parts_never_splits_a_surrogate_pair():
    text = boundary_text()
    encoded = encode_text(text, max_parts=6, reference=0x2A)
    assert (encoded.msg_fmt, encoded.encoding, encoded.udhi) == (MSG_FMT_UCS2, "ucs2", 1)
    assert len(encoded.parts) == 4
    for number, part in enumerate(encoded.parts, start=1):
        assert part[:6] == bytes((0x05, 0x00, 0x03, 0x2A, 4, number))  # the 6-octet UDH
        assert len(part) <= 140
        part[6:].decode("utf-16-be")  # strict: a lone surrogate would raise
    assert encoded.parts[0][6:].decode("utf-16-be") == "您" * 66  # 132 octets, pair moved on
    assert encoded.parts[1][6:].decode("utf-16-be").startswith(OUTSIDE_BMP)
    assert "".join(p[6:].decode("utf-16-be") for p in encoded.parts) == text


def test_seventy_chinese_characters_are_one_part_without_a_udh():
    encoded = encode_text("您" * 70, max_parts=1)
    assert encoded.parts == (("您" * 70).encode("utf-16-be"),) and encoded.udhi == 0


def test_gbk_is_chosen_when_configured_and_every_character_is_in_gbk():
    encoded = encode_text("您的诉求已办结" * 20, msg_fmt="gbk", max_parts=6, reference=1)
    assert (encoded.msg_fmt, encoded.encoding) == (MSG_FMT_GBK, "gbk")
    assert len(encoded.parts) == 3  # 280 octets in parts of 134
    assert b"".join(p[6:] for p in encoded.parts).decode("gbk") == "您的诉求已办结" * 20


def test_gbk_never_splits_a_two_octet_character():
    text = "a" + "您" * 100  # 201 octets in GBK: 1 + 66*2 = 133, so the 67th character moves on
    encoded = encode_text(text, msg_fmt="gbk", max_parts=6, reference=1)
    assert [len(p) - 6 for p in encoded.parts] == [133, 68]
    assert [p[6:].decode("gbk") for p in encoded.parts] == ["a" + "您" * 66, "您" * 34]


def test_a_character_gbk_lacks_sends_the_whole_text_in_ucs2():
    encoded = encode_text("您好" + OUTSIDE_BMP, msg_fmt="gbk", max_parts=1)
    assert encoded.msg_fmt == MSG_FMT_UCS2


def test_ascii_that_fits_one_part_goes_as_msg_fmt_0():
    encoded = encode_text("Reply TD to stop", max_parts=1)
    assert (encoded.msg_fmt, encoded.parts) == (MSG_FMT_ASCII, (b"Reply TD to stop",))


def test_a_text_over_the_part_limit_is_refused():
    with pytest.raises(MessageTooLong):
        encode_text(boundary_text(), max_parts=3, reference=1)


@pytest.mark.parametrize("stat, state", [
    ("DELIVRD", MessageState.DELIVERED), ("EXPIRED", MessageState.EXPIRED),
    ("DELETED", MessageState.DELETED), ("UNDELIV", MessageState.UNDELIVERABLE),
    ("REJECTD", MessageState.REJECTED), ("ACCEPTD", MessageState.ACCEPTED),
    ("UNKNOWN", MessageState.UNKNOWN), ("MA:0001", MessageState.UNDELIVERABLE),
    ("MK:0005", MessageState.UNDELIVERABLE), ("IC:0015", MessageState.UNDELIVERABLE),
    ("DB:0008", MessageState.UNDELIVERABLE), ("BLACK", MessageState.UNDELIVERABLE),
])
def test_each_stat_maps_to_its_state(stat, state):
    assert state_of(stat) is state


def test_a_report_becomes_a_receipt_with_its_submit_msg_id_and_the_stat_as_error():
    report = codec.StatusReport(6814414635189600257, "MK:0005", "2611280930", "2611280931",
                                "13812345678", 3)
    receipt = receipt_from_report(report)
    assert receipt.message_id == "6814414635189600257"
    assert (receipt.state, receipt.error_code, receipt.handset) == (
        MessageState.UNDELIVERABLE, "MK:0005", "13812345678")
    assert receipt.done_at.isoformat() == "2026-11-28T01:31:00+00:00"  # Beijing time, in UTC
    assert receipt_from_report(report.__class__(1, "DELIVRD", "", "", "", 0)).error_code is None


def test_reply_parts_reassemble_across_a_surrogate_pair_and_keep_the_extension():
    encoded = encode_text(boundary_text(), max_parts=6, reference=9)
    reassembler = MoReassembler()
    result = None
    for index in (2, 0, 3, 1):
        deliver = codec.Deliver(index, "106570010199", "13912345678", encoded.parts[index],
                                msg_fmt=encoded.msg_fmt, tp_udhi=1)
        result = reassembler.add(mo_part(deliver), index, 0.0)
    message, tokens = result
    assert (message.text, message.destination, message.parts) == (
        boundary_text(), "106570010199", 4)
    assert sorted(tokens) == [0, 1, 2, 3]


def test_a_reply_in_msg_fmt_0_reads_as_ascii_not_gsm():
    deliver = codec.Deliver(1, "10657", "13912345678", b"a_b$c@", msg_fmt=0)
    message, _ = MoReassembler().add(mo_part(deliver), 1, 0.0)
    assert message.text == "a_b$c@"


def test_a_reply_in_gbk_is_decoded():
    deliver = codec.Deliver(1, "10657", "13912345678", "不满意".encode("gbk"), msg_fmt=15)
    message, _ = MoReassembler().add(mo_part(deliver), 1, 0.0)
    assert message.text == "不满意"
