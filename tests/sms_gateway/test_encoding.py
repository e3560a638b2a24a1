import pytest

from sms_gateway.encoding import (
    DATA_CODING_GSM,
    DATA_CODING_UCS2,
    ESM_CLASS_UDHI,
    ReferenceAllocator,
    ReferencesExhausted,
    count_parts,
    encode_message,
    gsm_decode,
    gsm_encode,
)
from sms_gateway.link import MessageTooLong
from sms_gateway.receipts import split_udh


def texts_of(encoded):
    """Decode each part back to text (UDH stripped)."""
    out = []
    for part in encoded.parts:
        payload = split_udh(part)[1] if encoded.esm_class & ESM_CLASS_UDHI else part
        if encoded.data_coding == DATA_CODING_GSM:
            out.append(gsm_decode(payload))
        else:
            out.append(payload.decode("utf-16-be"))
    return out


def test_ascii_text_is_gsm_in_one_part_up_to_160_septets():
    encoded = encode_message("a" * 160, max_parts=3)
    assert encoded.data_coding == DATA_CODING_GSM
    assert encoded.parts == (b"a" * 160,)
    assert encoded.esm_class == 0 and encoded.reference is None


def test_gsm_text_of_161_septets_takes_two_parts_of_153_with_udh():
    encoded = encode_message("a" * 161, max_parts=3, reference=7)
    assert [len(p) for p in encoded.parts] == [6 + 153, 6 + 8]
    assert encoded.parts[0][:6] == bytes((5, 0, 3, 7, 2, 1))
    assert encoded.parts[1][:6] == bytes((5, 0, 3, 7, 2, 2))
    assert encoded.esm_class == ESM_CLASS_UDHI


def test_chinese_text_is_ucs2_70_units_alone_and_67_per_part():
    assert encode_message("诉" * 70, max_parts=2).parts == (("诉" * 70).encode("utf-16-be"),)
    encoded = encode_message("诉" * 71, max_parts=2, reference=1)
    assert encoded.data_coding == DATA_CODING_UCS2
    assert [len(p) - 6 for p in encoded.parts] == [134, 8]


def test_gsm_extension_characters_count_two_septets():
    assert count_parts("€" * 80) == ("gsm7", 1)
    assert count_parts("€" * 81) == ("gsm7", 2)


@pytest.mark.parametrize("prefix", [152, 151])
def test_gsm_escape_pair_at_the_part_boundary_is_never_split(prefix):
    text = "a" * prefix + "{" + "b" * 200
    encoded = encode_message(text, max_parts=5, reference=3)
    for part in encoded.parts:
        assert not split_udh(part)[1].endswith(b"\x1b")
    assert "".join(texts_of(encoded)) == text
    assert all(len(split_udh(p)[1]) <= 153 for p in encoded.parts)


@pytest.mark.parametrize("boundary", [1, 2, 3])
def test_character_outside_the_bmp_at_each_part_boundary_is_never_split(boundary):
    # Put a 4-byte character (a surrogate pair in UTF-16) across the end of part `boundary`.
    rare = "\U00020BB7"  # 𠮷, a rare character in a Chinese name
    text = "诉" * (67 * boundary - 1) + rare + "求" * 100
    encoded = encode_message(text, max_parts=6, reference=9)
    decoded = texts_of(encoded)  # raises if any part holds half a surrogate pair
    assert "".join(decoded) == text
    assert decoded[boundary].startswith(rare)
    assert all(len(split_udh(p)[1]) <= 134 for p in encoded.parts)


def test_emoji_exactly_fitting_the_last_two_units_stays_in_the_part():
    text = "诉" * 65 + "😀" + "求" * 10
    decoded = texts_of(encode_message(text, max_parts=3, reference=1))
    assert decoded[0].endswith("😀")


def test_text_needing_more_parts_than_allowed_raises_message_too_long():
    with pytest.raises(MessageTooLong) as caught:
        encode_message("诉" * 300, max_parts=4, reference=1)
    assert caught.value.parts_needed == 5 and caught.value.max_parts == 4


def test_reference_callable_is_called_only_for_an_allowed_multi_part_text():
    calls = []

    def take():
        calls.append(1)
        return 5

    encode_message("short", max_parts=2, reference=take)
    with pytest.raises(MessageTooLong):
        encode_message("诉" * 300, max_parts=2, reference=take)
    assert calls == []
    assert encode_message("诉" * 100, max_parts=2, reference=take).reference == 5


def test_gsm_alphabet_maps_section_sign_and_rejects_backtick_unlike_smpplib():
    assert gsm_encode("§") == b"\x5f"
    with pytest.raises(ValueError, match="'`'"):
        gsm_encode("`")
    assert encode_message("price `1`", max_parts=1).data_coding == DATA_CODING_UCS2


def test_gsm_round_trip_with_extension_table():
    text = "Hello {world} [x] ~ | \\ ^ € @£$"
    assert gsm_decode(gsm_encode(text)) == text


def test_references_for_one_destination_do_not_collide_while_in_flight():
    refs = ReferenceAllocator()
    taken = {refs.allocate("13800000000") for _ in range(256)}
    assert taken == set(range(256))
    with pytest.raises(ReferencesExhausted):
        refs.allocate("13800000000")
    refs.release("13800000000", 42)
    assert refs.allocate("13800000000") == 42
    # Another destination has its own references.
    assert refs.allocate("13900000000") == 0


def test_released_reference_is_not_reused_at_once():
    refs = ReferenceAllocator()
    first = refs.allocate("138")
    refs.release("138", first)
    assert refs.allocate("138") != first
