import datetime as dt

import pytest

from sms_gateway.encoding import encode_message
from sms_gateway.link import MessageState
from sms_gateway.receipts import (
    Concatenation,
    MoReassembler,
    ReceiptParseError,
    combine_part_states,
    decode_short_message,
    ids_match,
    message_id_keys,
    mo_fragment,
    parse_receipt_text,
    receipt_from_deliver,
)

UTC = dt.timezone.utc
BODY = (b"id:0A1B2C3D sub:001 dlvrd:001 submit date:2611281530 done date:261128153142 "
        b"stat:DELIVRD err:000 text:\xc4\xfa\xba\xc3")


def test_receipt_from_text_body_reads_id_state_error_and_both_date_lengths():
    receipt = receipt_from_deliver(BODY, {}, handset="13812345678")
    assert receipt.message_id == "0A1B2C3D"
    assert receipt.state is MessageState.DELIVERED
    assert receipt.error_code == "000"
    # The SMSC writes Beijing time; we store UTC.
    assert receipt.submitted_at == dt.datetime(2026, 11, 28, 7, 30, tzinfo=UTC)
    assert receipt.done_at == dt.datetime(2026, 11, 28, 7, 31, 42, tzinfo=UTC)
    assert receipt.handset == "13812345678"


def test_receipt_tlvs_win_over_the_body_and_the_body_fills_the_dates():
    tlvs = {0x001E: b"169552957\x00", 0x0427: bytes((5,))}
    receipt = receipt_from_deliver(BODY, tlvs)
    assert receipt.message_id == "169552957"
    assert receipt.state is MessageState.UNDELIVERABLE
    assert receipt.done_at is not None


def test_receipt_with_only_tlvs_and_no_body():
    receipt = receipt_from_deliver(b"", {0x001E: b"abc", 0x0427: bytes((2,))})
    assert (receipt.message_id, receipt.state) == ("abc", MessageState.DELIVERED)
    assert receipt.submitted_at is None


def test_receipt_body_with_missing_fields_is_tolerated():
    receipt = receipt_from_deliver(b"id:77 stat:UNDELIV", {})
    assert receipt.message_id == "77"
    assert receipt.state is MessageState.UNDELIVERABLE
    assert receipt.error_code is None and receipt.done_at is None


def test_receipt_body_in_capitals_with_long_stat_words():
    fields = parse_receipt_text("ID:5 SUB:1 DLVRD:1 SUBMIT DATE:2611281530 DONE DATE:bad STAT:EXPIRED ERR:12 TEXT:hi")
    assert fields["stat"] == "EXPIRED" and fields["done date"] == "bad" and fields["text"] == "hi"
    receipt = receipt_from_deliver(b"id:5 done date:bad stat:REJECTED", {})
    assert receipt.state is MessageState.REJECTED and receipt.done_at is None


def test_receipt_without_any_id_raises_a_named_error():
    with pytest.raises(ReceiptParseError, match="id"):
        receipt_from_deliver(b"stat:DELIVRD", {})


def test_receipted_message_id_without_its_nul_keeps_its_last_character():
    receipt = receipt_from_deliver(b"", {0x001E: b"12345", 0x0427: bytes((2,))})
    assert receipt.message_id == "12345"


@pytest.mark.parametrize("submitted, reported", [
    ("0A1B2C3D", "169552957"),  # hex in submit_sm_resp, decimal in the receipt
    ("169552957", "0a1b2c3d"),  # and the other way round, lower case
    ("00001234", "1234"),  # zero-padded
    ("1234", "0000001234"),
    ("ABC", "abc"),
])
def test_message_id_variants_match(submitted, reported):
    assert ids_match(submitted, reported)
    assert message_id_keys(submitted) & message_id_keys(reported)


def test_different_message_ids_do_not_match():
    assert not ids_match("0A1B2C3D", "0A1B2C3E")
    assert not ids_match("msg-1", "msg-2")


def test_long_message_is_delivered_when_every_part_is_and_failed_when_any_part_is():
    D, U = MessageState.DELIVERED, MessageState.UNDELIVERABLE
    assert combine_part_states([D, D, D]) is D
    assert combine_part_states([D, None, D]) is None
    assert combine_part_states([D, U, None]) is U


@pytest.mark.parametrize("data_coding, data, text", [
    (0x00, b"Hello \x1b\x28x\x1b\x29", "Hello {x}"),
    (0x08, "满意".encode("utf-16-be"), "满意"),
    (0x03, "café".encode("latin-1"), "café"),
    (0x0F, "满意".encode("gbk"), "满意"),
    (0xF0, b"1", "1"),
])
def test_mo_text_decoded_by_data_coding(data_coding, data, text):
    assert decode_short_message(data_coding, data) == text


def fragments(text, reference16=False, source="13912345678"):
    encoded = encode_message(text, max_parts=9, reference=200)
    parts = list(encoded.parts)
    if reference16:
        parts = [bytes((6, 8, 4, 0x01, 0x2C)) + p[4:] for p in parts]
    return [
        mo_fragment(source=source, destination="9600110", esm_class=encoded.esm_class,
                    data_coding=encoded.data_coding, short_message=p, tlvs={})
        for p in parts
    ]


@pytest.mark.parametrize("reference16", [False, True])
def test_mo_in_parts_out_of_order_is_reassembled_with_every_token(reference16):
    text = "我对处理结果" * 30 + "😀" + "满意"
    parts = fragments(text, reference16=reference16)
    assert len(parts) == 3
    reassembler = MoReassembler()
    assert reassembler.add(parts[2], "t3", now=0) is None
    assert reassembler.add(parts[0], "t1", now=1) is None
    message, tokens = reassembler.add(parts[1], "t2", now=2)
    assert message.text == text and message.parts == 3
    assert tokens == ["t3", "t1", "t2"]
    assert len(reassembler) == 0


def test_mo_part_delivered_twice_is_kept_once_and_both_tokens_returned():
    parts = fragments("诉" * 100)
    reassembler = MoReassembler()
    reassembler.add(parts[0], "a", now=0)
    reassembler.add(parts[0], "a-again", now=1)
    message, tokens = reassembler.add(parts[1], "b", now=2)
    assert message.text == "诉" * 100 and tokens == ["a", "a-again", "b"]


def test_mo_parts_from_two_senders_with_one_reference_are_kept_apart():
    a = fragments("诉" * 100, source="13900000001")
    b = fragments("求" * 100, source="13900000002")
    reassembler = MoReassembler()
    reassembler.add(a[0], 1, now=0)
    reassembler.add(b[0], 2, now=0)
    assert reassembler.add(a[1], 3, now=0)[0].text == "诉" * 100
    assert reassembler.add(b[1], 4, now=0)[0].text == "求" * 100


def test_incomplete_mo_expires_and_gives_back_its_tokens():
    parts = fragments("诉" * 100)
    reassembler = MoReassembler(timeout=60)
    reassembler.add(parts[0], "held", now=0)
    assert reassembler.expire(now=59) == []
    assert reassembler.expire(now=60) == ["held"]
    assert len(reassembler) == 0


def test_mo_concatenated_by_sar_tlvs():
    fragment = mo_fragment(source="1", destination="2", esm_class=0, data_coding=0,
                           short_message=b"abc", tlvs={0x020C: b"\x00\x07", 0x020E: b"\x02", 0x020F: b"\x01"})
    assert fragment.concatenation == Concatenation(7, 2, 1)


def test_mo_part_number_out_of_range_is_rejected():
    with pytest.raises(ValueError, match="out of range"):
        mo_fragment(source="1", destination="2", esm_class=0x40, data_coding=0,
                    short_message=bytes((5, 0, 3, 1, 2, 3)) + b"x", tlvs={})


def test_short_all_digit_ids_are_ambiguous_without_bases_and_exact_with_them():
    # Hex "10" is decimal 16: the heuristic cannot tell which the SMSC meant.
    assert ids_match("10", "16") and ids_match("10", "10")
    assert message_id_keys("10", base=16) == message_id_keys("16", base=10) == {"n:16"}
    assert not message_id_keys("10", base=16) & message_id_keys("10", base=10)
    assert message_id_keys("0000000A", base=16) == message_id_keys("10", base=10)


def test_id_that_is_not_a_number_in_its_configured_base_falls_back_to_text():
    assert message_id_keys("msg-7", base=10) == {"s:msg-7"}
