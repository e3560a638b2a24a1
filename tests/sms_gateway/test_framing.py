import pytest
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.logger import capturedLogs

from sms_gateway.smpp.framing import SmppFramer
from tests.sms_gateway.captured import SESSION_FROM_SMSC, SESSION_PDU_LENGTHS


class RecordingFramer(SmppFramer):
    def __init__(self):
        self.pdus = []

    def pduReceived(self, data):
        self.pdus.append(data)


def connected(framer=None):
    framer = framer or RecordingFramer()
    transport = StringTransportWithDisconnection()
    transport.protocol = framer
    framer.makeConnection(transport)
    return framer, transport


def expected_pdus():
    out, pos = [], 0
    for length in SESSION_PDU_LENGTHS:
        out.append(SESSION_FROM_SMSC[pos:pos + length])
        pos += length
    return out


def test_captured_session_split_at_every_offset_gives_the_same_pdus():
    for offset in range(len(SESSION_FROM_SMSC) + 1):
        framer, _ = connected()
        framer.dataReceived(SESSION_FROM_SMSC[:offset])
        framer.dataReceived(SESSION_FROM_SMSC[offset:])
        assert framer.pdus == expected_pdus(), f"split at offset {offset}"


def test_captured_session_one_byte_at_a_time_gives_the_same_pdus():
    framer, _ = connected()
    for i in range(len(SESSION_FROM_SMSC)):
        framer.dataReceived(SESSION_FROM_SMSC[i:i + 1])
    assert framer.pdus == expected_pdus()


@pytest.mark.parametrize("length", [0, 4, 15])
def test_command_length_under_16_gets_generic_nack_and_a_dropped_link(length):
    framer, transport = connected()
    header = length.to_bytes(4, "big") + bytes.fromhex("00000004 00000000 00000009")
    with capturedLogs() as events:
        framer.dataReceived(header + SESSION_FROM_SMSC)
    assert transport.value() == bytes.fromhex("00000010 80000000 00000002 00000009")
    assert not transport.connected
    assert framer.pdus == []
    assert any(e.get("length") == length and "command_length" in e["log_format"] for e in events)


def test_command_length_over_the_limit_gets_generic_nack_and_a_dropped_link():
    framer = RecordingFramer()
    framer.MAX_LENGTH = 1024
    framer, transport = connected(framer)
    with capturedLogs() as events:
        framer.dataReceived(SESSION_FROM_SMSC[:24] + (1025).to_bytes(4, "big") + b"\x00" * 12)
    assert framer.pdus == [SESSION_FROM_SMSC[:24]]
    assert transport.value()[4:12] == bytes.fromhex("80000000 00000002")
    assert not transport.connected
    assert [e["length"] for e in events if "length" in e] == [1025]


def test_garbage_text_on_the_link_is_refused_before_it_is_buffered():
    framer, transport = connected()
    framer.dataReceived(b"GET / HTTP/1.1\r\n\r\n")  # "GET " reads as a length of 1.2 GB
    assert not transport.connected
    framer.dataReceived(SESSION_FROM_SMSC)
    assert framer.pdus == []


def test_pdus_per_turn_yields_to_the_reactor_and_keeps_order_with_data_arriving_meanwhile():
    from twisted.internet.task import Clock

    framer = RecordingFramer()
    framer.pdusPerTurn = 2
    framer.clock = Clock()
    framer, _ = connected(framer)
    pdus = expected_pdus()
    framer.dataReceived(SESSION_FROM_SMSC[:300])  # four whole PDUs and a piece of the fifth
    assert framer.pdus == pdus[:2]
    assert len(framer.clock.getDelayedCalls()) == 1  # the rest waits for the next turn
    framer.dataReceived(SESSION_FROM_SMSC[300:])  # arrives meanwhile: queued behind, not handled
    assert framer.pdus == pdus[:2]
    framer.clock.advance(0)  # task.Clock runs the chained turns at once; a reactor one per loop
    assert framer.pdus == pdus
    assert not framer.clock.getDelayedCalls()


def test_stop_framing_cancels_a_pending_turn():
    from twisted.internet.task import Clock

    framer = RecordingFramer()
    framer.pdusPerTurn = 1
    framer.clock = Clock()
    framer, _ = connected(framer)
    framer.dataReceived(SESSION_FROM_SMSC)
    framer.stopFraming()
    framer.clock.advance(0)
    assert len(framer.pdus) == 1 and not framer.clock.getDelayedCalls()
