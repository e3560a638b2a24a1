"""A deliver_sm that does not parse, through the ESME protocol into the real inbox: it is
answered with the SMPP 3.4 error that says why (a body cut short: ESME_RINVCMDLEN; an
sm_length past the octets that follow: ESME_RINVMSGLEN; an unreadable header: generic_nack)
and stored nowhere, neither as a reply nor as a receipt."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.logger import capturedLogs, formatEvent

from schemas.sms import SmsHeldReceipt, SmsInbound
from sms_gateway.inbox import Inbox
from sms_gateway.smpp import EsmeProtocol, SmppBindConfig, codec

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)

# An MO "1" from 8613812345678 to 9600110, sequence 5, as an SMSC writes it.
MO = bytes.fromhex(
    "00000036 00000005 00000000 00000005"
    "00" "01 01" "3836313338313233343536373800" "00 00" "3936303031313000"
    "00 00 00" "00" "00" "00 00 00 00" "01" "31")
MO_BODY = MO[16:]
SM_LENGTH_AT = len(MO_BODY) - 2  # the octet before the one-octet text
RECEIPT_TEXT = (b"id:A1B2C3D7 sub:001 dlvrd:001 submit date:2611301000 done date:2611301001 "
                b"stat:DELIVRD err:000 text:")


def receipt_pdu(sequence: int = 6) -> bytes:
    """A delivery receipt (esm_class 0x04) for message A1B2C3D7, laid out by hand."""
    body = (b"\x00" + b"\x01\x01" + b"8613812345678\x00" + b"\x00\x00" + b"9600110\x00"
            + b"\x04\x00\x00" + b"\x00" + b"\x00" + b"\x00\x00\x00\x00"
            + bytes([len(RECEIPT_TEXT)]) + RECEIPT_TEXT)
    return (16 + len(body)).to_bytes(4, "big") + bytes.fromhex("00000005 00000000") \
        + sequence.to_bytes(4, "big") + body


def cut(pdu: bytes, body_octets: int) -> bytes:
    """The PDU with its body cut to `body_octets`, command_length saying so."""
    data = pdu[:16 + body_octets]
    return len(data).to_bytes(4, "big") + data[4:]


def deliver_sm_resp(sequence: int, status: int) -> bytes:
    return bytes.fromhex("00000011 80000005") + status.to_bytes(4, "big") \
        + sequence.to_bytes(4, "big") + b"\x00"


class Wall:
    def now(self) -> dt.datetime:
        return NOW


def bound(database):
    inbox = Inbox(database, Wall())
    config = SmppBindConfig(system_id="hotline", password="secret", response_timeout=5.0,
                            enquire_link_interval=30.0, mo_reassembly_timeout=60.0)
    protocol = EsmeProtocol(config, Clock(), "bind_transceiver", on_receipt=inbox.on_receipt,
                            on_message=inbox.on_message)
    transport = StringTransportWithDisconnection()
    transport.protocol = protocol
    protocol.makeConnection(transport)
    protocol.bind()
    bind = transport.value()
    transport.clear()
    sequence = int.from_bytes(bind[12:16], "big")
    protocol.dataReceived(codec.encode("bind_transceiver_resp", sequence, system_id="SMSC")[1])
    assert protocol.state == "bound"
    return protocol, transport


def stored(database) -> tuple[int, int]:
    """(inbox rows, held receipts)."""
    return database.read_now(lambda s: (s.scalar(select(func.count()).select_from(SmsInbound)),
                                        s.scalar(select(func.count()).select_from(SmsHeldReceipt))))


def test_the_intact_mo_and_receipt_are_stored_and_acknowledged(database, pumped_reactor):
    protocol, transport = bound(database)
    protocol.dataReceived(MO)
    pumped_reactor.pump(lambda: transport.value())
    assert transport.value() == deliver_sm_resp(5, codec.ESME_ROK)
    transport.clear()
    protocol.dataReceived(receipt_pdu(6))
    pumped_reactor.pump(lambda: transport.value())
    assert transport.value() == deliver_sm_resp(6, codec.ESME_ROK)
    assert stored(database) == (1, 1)
    texts = database.read_now(lambda s: list(s.scalars(select(SmsInbound.text))))
    assert texts == ["1"]


def test_an_mo_cut_short_anywhere_is_refused_with_its_length_error_and_not_stored(database):
    for body_octets in range(len(MO_BODY)):
        protocol, transport = bound(database)
        with capturedLogs() as events:
            protocol.dataReceived(cut(MO, body_octets))
        status = codec.ESME_RINVMSGLEN if body_octets > SM_LENGTH_AT else codec.ESME_RINVCMDLEN
        assert transport.value() == deliver_sm_resp(5, status), body_octets
        assert transport.connected
        lines = [formatEvent(e) for e in events]
        assert any("Malformed PDU #5" in line and codec.status_name(status) in line
                   for line in lines), lines
        assert not any("13812345678" in line or "3133383132333435363738" in line
                       for line in lines)
    assert stored(database) == (0, 0)


def test_a_receipt_cut_short_anywhere_is_refused_and_not_held(database):
    pdu = receipt_pdu(6)
    for body_octets in range(len(pdu) - 16):
        protocol, transport = bound(database)
        protocol.dataReceived(cut(pdu, body_octets))
        status = codec.ESME_RINVMSGLEN if body_octets > SM_LENGTH_AT else codec.ESME_RINVCMDLEN
        assert transport.value() == deliver_sm_resp(6, status), body_octets
    assert stored(database) == (0, 0)


def test_an_sm_length_over_254_is_a_bad_message_length(database):
    protocol, transport = bound(database)
    body = MO_BODY[:SM_LENGTH_AT] + b"\xff" + b"x" * 255
    protocol.dataReceived((16 + len(body)).to_bytes(4, "big") + MO[4:16] + body)
    assert transport.value() == deliver_sm_resp(5, codec.ESME_RINVMSGLEN)
    assert stored(database) == (0, 0)


def test_a_command_length_short_of_the_pdu_refuses_it_and_drops_the_unreadable_rest(database):
    protocol, transport = bound(database)
    inconsistent = (40).to_bytes(4, "big") + MO[4:]  # says 40 octets; 54 follow
    with capturedLogs() as events:
        protocol.dataReceived(inconsistent)
    # The first 40 octets are a deliver_sm cut short; what follows reads as a header whose
    # command_length is absurd: generic_nack, and the link goes (it cannot be resynchronised).
    assert transport.value() == deliver_sm_resp(5, codec.ESME_RINVCMDLEN) + bytes.fromhex(
        "00000010 80000000 00000002 00000000")
    assert not transport.connected
    assert stored(database) == (0, 0)
    assert any("Dropping SMPP link: command_length" in formatEvent(e) for e in events)


def test_a_header_too_short_to_read_gets_a_generic_nack_and_nothing_is_stored(database):
    protocol, transport = bound(database)
    protocol.dataReceived(bytes.fromhex("0000000c 00000005 00000000"))
    assert transport.value() == bytes.fromhex("00000010 80000000 00000002 00000000")
    assert not transport.connected
    assert stored(database) == (0, 0)


def test_decode_refuses_a_command_length_that_is_not_the_pdus_length():
    with pytest.raises(codec.MalformedPdu, match="command_length 60 but 54 octets") as caught:
        codec.decode((60).to_bytes(4, "big") + MO[4:])
    assert caught.value.status == codec.ESME_RINVCMDLEN
