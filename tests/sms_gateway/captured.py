"""PDUs captured on the wire, as hex, for replay tests.

SESSION_FROM_SMSC: what the simulated SMSC sent an ESME in one session (captured from the
client's dataReceived): bind_transceiver_resp #1, submit_sm_resp #2 (id "00000001"), a delivery
receipt deliver_sm #1 (TLVs and text body), enquire_link #2, and a two-part UCS2 MO reply sent
part 2 first (deliver_sm #3, #4).

The TRAP_* PDUs are laid out by hand from SMPP 3.4 section 4 to trip smpplib 2.2.4.
"""

SESSION_FROM_SMSC = bytes.fromhex(
    "0000001880000009000000000000000153494d534d534300000000198000000400000000000000023030303030303031"
    "00000000a900000005000000000000000100010131333831323334353637380000003936303031313000040000000000"
    "0000006469643a3030303030303031207375623a30303120646c7672643a303031207375626d697420646174653a3236"
    "313133303038353320646f6e6520646174653a3236313133303038353320737461743a44454c49565244206572723a30"
    "303020746578743a001e0009303030303030303100042700010200000010000000150000000000000002000000530000"
    "000500000000000000030001013133393132333435363738000000393630303131300040000000000000080020050003"
    "000202610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f000000bf000000050000000000000004000101"
    "313339313233343536373800000039363030313130004000000000000008008c0500030002016ee1610f6ee1610f6ee1"
    "610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1"
    "610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1"
    "610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1610f6ee1"
)
SESSION_PDU_LENGTHS = (24, 25, 169, 16, 83, 191)


def _deliver_sm(sequence: int, *, esm_class: int, short_message: bytes, tlvs: bytes) -> bytes:
    body = (
        b"\x00"  # service_type ""
        + b"\x01\x01" + b"13812345678\x00"  # source ton, npi, addr
        + b"\x00\x00" + b"9600110\x00"  # dest ton, npi, addr
        + bytes((esm_class, 0, 0)) + b"\x00" + b"\x00"  # esm_class, protocol_id, priority, 2 empty times
        + bytes((0, 0, 0, 0, len(short_message))) + short_message  # reg_delivery .. sm_length
        + tlvs
    )
    return (16 + len(body)).to_bytes(4, "big") + bytes.fromhex("00000005 00000000") + sequence.to_bytes(4, "big") + body


# A receipt whose receipted_message_id TLV (0x001E) is sent without its NUL: smpplib drops "7".
TRAP_RECEIPT_ID_WITHOUT_NUL = _deliver_sm(
    41, esm_class=0x04, short_message=b"",
    tlvs=bytes.fromhex("001E 0008") + b"A1B2C3D7" + bytes.fromhex("0427 0001 02"),
)

# An MO with a vendor TLV 0x1401 (unknown to smpplib), ussd_service_op 0x0501 and
# additional_status_info_text 0x001D (known to smpplib, absent from its deliver_sm: KeyError).
TRAP_MO_WITH_ODD_TLVS = _deliver_sm(
    42, esm_class=0x00, short_message=b"1",
    tlvs=bytes.fromhex("1401 0002 abcd") + bytes.fromhex("0501 0001 11") + bytes.fromhex("001D 0003") + b"ok\x00",
)

# cancel_sm (0x00000008): a command smpplib has a code for but cannot build or parse.
TRAP_CANCEL_SM = bytes.fromhex("00000013 00000008 00000000 0000002b") + b"\x00\x00\x00"
# A command id nobody defines.
TRAP_UNKNOWN_COMMAND = bytes.fromhex("00000010 00000099 00000000 0000002c")
