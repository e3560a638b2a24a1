"""Each smpplib 2.2.4 trap: what smpplib does on its own, and that the codec survives it."""

import pytest
from smpplib import exceptions as smpplib_errors
from smpplib import smpp

from sms_gateway.smpp import codec
from tests.sms_gateway.captured import (
    SESSION_FROM_SMSC,
    TRAP_CANCEL_SM,
    TRAP_MO_WITH_ODD_TLVS,
    TRAP_RECEIPT_ID_WITHOUT_NUL,
    TRAP_UNKNOWN_COMMAND,
)

ENQUIRE_LINK_2 = SESSION_FROM_SMSC[24 + 25 + 169:24 + 25 + 169 + 16]


def test_smpplib_ignores_the_sequence_keyword_and_encode_pins_it():
    generator = codec.SequenceGenerator(start=100)
    raw = smpp.make_pdu("enquire_link_resp", client=generator, sequence=7).generate()
    assert int.from_bytes(raw[12:16], "big") == 100  # smpplib wrote the client's number, not 7
    sequence, data = codec.encode("enquire_link_resp", 7)
    assert sequence == 7 and data[12:16] == (7).to_bytes(4, "big")


def test_request_draws_its_number_from_the_connection_generator_once():
    generator = codec.SequenceGenerator()
    first, _ = codec.encode("enquire_link", client=generator)
    second, data = codec.encode("submit_sm", client=generator, destination_addr="13800000000",
                                short_message=b"hi")
    assert (first, second) == (1, 2)
    assert data[12:16] == (2).to_bytes(4, "big")
    assert generator.sequence == 2


def test_smpplib_parsing_a_request_burns_a_number_and_decode_does_not():
    generator = codec.SequenceGenerator(start=10)
    smpp.parse_pdu(ENQUIRE_LINK_2, client=generator)
    assert generator.sequence == 11  # smpplib consumed one of our numbers
    generator = codec.SequenceGenerator(start=10)
    pdu = codec.decode(ENQUIRE_LINK_2)
    assert (pdu.command, pdu.sequence) == ("enquire_link", 2)
    assert generator.sequence == 10


def test_smpplib_parse_without_a_client_raises():
    with pytest.raises(AttributeError):
        smpp.parse_pdu(ENQUIRE_LINK_2)


def test_smpplib_loses_the_last_char_of_a_c_string_tlv_without_nul_and_decode_keeps_the_bytes():
    parsed = smpp.parse_pdu(TRAP_RECEIPT_ID_WITHOUT_NUL, client=codec.SequenceGenerator(),
                            allow_unknown_opt_params=True)
    assert parsed.receipted_message_id == b"A1B2C3D"  # the "7" is gone
    pdu = codec.decode(TRAP_RECEIPT_ID_WITHOUT_NUL)
    assert pdu.tlvs[0x001E] == b"A1B2C3D7"
    assert pdu.tlvs[0x0427] == b"\x02"


def test_smpplib_raises_key_error_on_known_tags_deliver_sm_lacks_and_decode_reads_them():
    with pytest.raises(KeyError):
        smpp.parse_pdu(TRAP_MO_WITH_ODD_TLVS, client=codec.SequenceGenerator(), allow_unknown_opt_params=True)
    pdu = codec.decode(TRAP_MO_WITH_ODD_TLVS)
    assert pdu.tlvs == {0x1401: b"\xab\xcd", 0x0501: b"\x11", 0x001D: b"ok\x00"}
    assert pdu.octets_field("short_message") == b"1"
    assert pdu.text_field("source_addr") == "13812345678"


def test_smpplib_raises_on_unknown_tlvs_unless_allowed():
    unknown_only = TRAP_MO_WITH_ODD_TLVS[:-12]  # keep only the vendor TLV 0x1401
    unknown_only = len(unknown_only).to_bytes(4, "big") + unknown_only[4:]
    with pytest.raises(smpplib_errors.UnknownCommandError):
        smpp.parse_pdu(unknown_only, client=codec.SequenceGenerator())
    assert codec.decode(unknown_only).tlvs == {0x1401: b"\xab\xcd"}


@pytest.mark.parametrize("raw, command_id, sequence", [
    (TRAP_CANCEL_SM, 0x08, 0x2B),
    (TRAP_UNKNOWN_COMMAND, 0x99, 0x2C),
])
def test_unsupported_commands_raise_unsupported_command_with_their_sequence(raw, command_id, sequence):
    with pytest.raises(smpplib_errors.UnknownCommandError):
        smpp.parse_pdu(raw, client=codec.SequenceGenerator())
    with pytest.raises(codec.UnsupportedCommand) as caught:
        codec.decode(raw)
    assert (caught.value.command_id, caught.value.sequence) == (command_id, sequence)


def test_generic_nack_is_a_bare_header():
    assert codec.generic_nack(0x2B, codec.ESME_RINVCMDID) == bytes.fromhex(
        "00000010 80000000 00000003 0000002b")


def test_tlv_running_past_the_pdu_is_a_malformed_pdu():
    broken = TRAP_RECEIPT_ID_WITHOUT_NUL[:-1]  # message_state says 1 octet, none left
    broken = len(broken).to_bytes(4, "big") + broken[4:]
    with pytest.raises(codec.MalformedPdu, match="TLV 0x0427 length 1"):
        codec.decode(broken)


def test_sm_length_longer_than_the_body_is_a_malformed_pdu():
    raw = bytearray(TRAP_MO_WITH_ODD_TLVS[:-17])
    raw[0:4] = len(raw).to_bytes(4, "big")
    raw[-2] = 50  # sm_length claims 50 octets
    with pytest.raises(codec.MalformedPdu):
        codec.decode(bytes(raw))


def test_submit_sm_round_trips_with_binary_short_message_and_extra_tlvs():
    generator = codec.SequenceGenerator()
    udh_part = bytes((5, 0, 3, 9, 2, 1)) + "诉求".encode("utf-16-be")
    sequence, data = codec.encode(
        "submit_sm", client=generator, source_addr="9600110", destination_addr="13812345678",
        esm_class=0x40, data_coding=8, registered_delivery=1, short_message=udh_part,
        tlvs={0x1401: b"\x01"},
    )
    pdu = codec.decode(data)
    assert (pdu.command, pdu.sequence) == ("submit_sm", sequence)
    assert pdu.octets_field("short_message") == udh_part
    assert (pdu.int_field("esm_class"), pdu.int_field("data_coding")) == (0x40, 8)
    assert pdu.tlvs == {0x1401: b"\x01"}


def test_status_names_come_from_smpplib_constants():
    assert codec.status_name(0x58) == "ESME_RTHROTTLED"
    assert codec.status_name(0x14) == "ESME_RMSGQFUL"
    assert codec.status_name(0x0D) == "ESME_RBINDFAIL"
    assert codec.status_name(0x400) == "0x00000400"


def test_encode_gives_smpplib_bytes_and_still_encodes_an_optional_field_asked_for():
    fields = dict(source_addr="9600110", destination_addr="13812345678", esm_class=0x40,
                  data_coding=8, registered_delivery=1, short_message=b"\x05\x00\x03\x01\x02\x01ab")
    plain = smpp.make_pdu("submit_sm", client=codec.SequenceGenerator(), **fields)
    plain.sequence = 1
    assert codec.encode("submit_sm", 1, **fields)[1] == plain.generate()
    _, with_tlv = codec.encode("submit_sm", 1, user_message_reference=5, **fields)
    assert codec.decode(with_tlv).tlvs == {0x0204: b"\x00\x05"}


@pytest.mark.parametrize("status", [codec.ESME_ROK, codec.ESME_RX_T_APPN, codec.ESME_RX_P_APPN])
def test_the_packed_deliver_sm_resp_is_the_pdu_smpplib_builds(status):
    assert codec.deliver_sm_resp(0x01020304, status) == codec.encode(
        "deliver_sm_resp", 0x01020304, status=status)[1]
