"""SmgpClientProtocol on a StringTransport: what it writes, byte for byte, and when."""

import datetime as dt
import hashlib

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.logger import capturedLogs, formatEvent

from sms_gateway.smgp import LoginRefused, SmgpBindConfig, SmgpClientProtocol, codec
from tests.sms_gateway.smgp.test_codec import DELIVER_MO, DELIVER_REPORT, header, pad

# 1 March 00:00:00 Beijing time: TimeStamp 0x11F0E540, as in the specification's example.
START = dt.datetime(2026, 2, 28, 16, 0, 0, tzinfo=dt.timezone.utc).timestamp()
AUTH = hashlib.md5(b"10690001" + bytes(7) + b"secret" + b"0301000000").digest()


def connected(**config):
    clock = Clock()
    clock.advance(START)
    receipts, messages = [], []
    held: list[Deferred] = []

    def on_receipt(receipt):
        receipts.append(receipt)
        d = Deferred()
        held.append(d)
        return d

    def on_message(message):
        messages.append(message)
        d = Deferred()
        held.append(d)
        return d

    settings = dict(client_id="10690001", password="secret", response_timeout=5.0)
    settings.update(config)
    protocol = SmgpClientProtocol(SmgpBindConfig(**settings), clock, on_receipt=on_receipt,
                                  on_message=on_message)
    transport = StringTransportWithDisconnection()
    transport.protocol = protocol
    protocol.makeConnection(transport)
    return protocol, transport, clock, receipts, messages, held


def logged_in(**config):
    protocol, transport, clock, receipts, messages, held = connected(**config)
    result = []
    protocol.login().addBoth(result.append)
    transport.clear()
    protocol.dataReceived(header(33, 0x80000001, 1) + bytes(4)
                          + hashlib.md5(bytes(4) + AUTH + b"secret").digest() + b"\x30")
    assert result == [protocol] and protocol.can_submit
    return protocol, transport, clock, receipts, messages, held


def test_login_is_the_specification_s_bytes_and_a_good_answer_binds():
    protocol, transport, *_ = connected()
    protocol.login()
    assert transport.value() == (header(42, 1, 1) + b"10690001" + AUTH + b"\x02"
                                 + bytes.fromhex("11F0E540") + b"\x30")
    logged_in()


def test_an_authenticator_server_made_with_another_secret_refuses_the_link():
    protocol, transport, *_ = connected()
    result = []
    protocol.login().addBoth(result.append)
    with capturedLogs():
        protocol.dataReceived(header(33, 0x80000001, 1) + bytes(4)
                              + hashlib.md5(bytes(4) + AUTH + b"other").digest() + b"\x30")
    assert result[0].check(LoginRefused) and "AuthenticatorServer" in result[0].value.reason
    assert not transport.connected and not protocol.can_submit


def test_a_report_is_acknowledged_only_after_it_is_stored():
    protocol, transport, _, receipts, _, held = logged_in()
    protocol.dataReceived(DELIVER_REPORT)
    assert [r.message_id for r in receipts] == ["01006101161700012345"]
    assert receipts[0].handset == "13312345678"
    assert transport.value() == b""  # not yet stored
    held[0].callback(None)
    assert transport.value() == (header(26, 0x80000003, 3)
                                 + bytes.fromhex("01006101161701000001") + bytes(4))


def test_a_reply_keeps_the_extension_of_the_service_number():
    protocol, transport, _, _, messages, held = logged_in()
    protocol.dataReceived(DELIVER_MO)
    assert [(m.source, m.destination, m.text) for m in messages] == [
        ("13312345678", "118000101", "满意")]
    held[0].callback(None)
    assert transport.value()[8:12] == (4).to_bytes(4, "big")  # answered with its SequenceID


def test_a_malformed_deliver_is_answered_with_the_status_that_says_why():
    protocol, transport, *_ = logged_in()
    with capturedLogs() as events:
        protocol.dataReceived(DELIVER_MO[:80] + b"\x30" + DELIVER_MO[81:])
    assert transport.value() == (header(26, 0x80000003, 4)
                                 + bytes.fromhex("01006101161701000002")
                                 + (36).to_bytes(4, "big"))
    assert any("Malformed SMGP PDU" in formatEvent(e) for e in events)
    assert transport.connected


def test_the_smgw_s_active_test_is_answered_and_an_unknown_request_ignored():
    protocol, transport, *_ = logged_in()
    with capturedLogs():
        protocol.dataReceived(header(12, 0x00000007, 8) + header(12, 4, 9))
    assert transport.value() == header(12, 0x80000004, 9)


def test_a_submit_counts_against_the_window_until_its_answer():
    protocol, transport, *_ = logged_in()
    answers = []
    protocol.submit(codec.Submit(("13312345678",), b"hi", "1180001")).addBoth(answers.append)
    assert protocol.submits_outstanding == 1
    protocol.dataReceived(header(26, 0x80000002, 2) + pad(b"\x01", 10) + bytes(4))
    assert protocol.submits_outstanding == 0 and answers[0].status == 0
