import pytest
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.logger import capturedLogs, formatEvent

from sms_gateway.cmpp.framing import CmppFramer
from tests.sms_gateway.cmpp.captured import (
    SESSION_2_0,
    SESSION_2_0_LENGTHS,
    SESSION_3_0,
    SESSION_3_0_LENGTHS,
)

SESSIONS = [(SESSION_2_0, SESSION_2_0_LENGTHS), (SESSION_3_0, SESSION_3_0_LENGTHS)]


class RecordingFramer(CmppFramer):
    def __init__(self):
        self.pdus = []
        self.feed = None  # data to feed back from inside pduReceived, once

    def pduReceived(self, data):
        self.pdus.append(data)
        if self.feed is not None:
            feed, self.feed = self.feed, None
            self.dataReceived(feed)


def connected(framer=None):
    framer = framer or RecordingFramer()
    transport = StringTransportWithDisconnection()
    transport.protocol = framer
    framer.makeConnection(transport)
    return framer, transport


def pdus_of(session, lengths):
    out, pos = [], 0
    for length in lengths:
        out.append(session[pos:pos + length])
        pos += length
    assert pos == len(session)
    return out


@pytest.mark.parametrize("session, lengths", SESSIONS)
def test_captured_session_split_at_every_offset_gives_the_same_pdus(session, lengths):
    for offset in range(len(session) + 1):
        framer, _ = connected()
        framer.dataReceived(session[:offset])
        framer.dataReceived(session[offset:])
        assert framer.pdus == pdus_of(session, lengths), f"split at offset {offset}"


@pytest.mark.parametrize("session, lengths", SESSIONS)
def test_captured_session_one_byte_at_a_time_gives_the_same_pdus(session, lengths):
    framer, _ = connected()
    for i in range(len(session)):
        framer.dataReceived(session[i:i + 1])
    assert framer.pdus == pdus_of(session, lengths)


def test_data_fed_from_inside_a_handler_keeps_its_order():
    framer = RecordingFramer()
    framer, _ = connected(framer)
    pdus = pdus_of(SESSION_3_0, SESSION_3_0_LENGTHS)
    framer.feed = pdus[3]
    framer.dataReceived(b"".join(pdus[:3]))
    assert framer.pdus == pdus[:4]  # behind what was already read, as on the wire


@pytest.mark.parametrize("length", [0, 4, 11])
def test_total_length_under_12_drops_the_link_with_the_reason_logged(length):
    framer, transport = connected()
    with capturedLogs() as events:
        framer.dataReceived(length.to_bytes(4, "big") + bytes.fromhex("00000008 00000009")
                            + SESSION_3_0)
    assert not transport.connected and transport.value() == b""  # CMPP has no generic_nack
    assert framer.pdus == []
    assert any(e.get("length") == length and "Total_Length" in formatEvent(e) for e in events)


def test_total_length_over_the_limit_drops_the_link_after_the_pdus_before_it():
    framer, transport = connected()
    with capturedLogs() as events:
        framer.dataReceived(SESSION_3_0[:33] + (4097).to_bytes(4, "big") + bytes(8))
    assert framer.pdus == [SESSION_3_0[:33]]
    assert not transport.connected
    assert [e["length"] for e in events if "length" in e] == [4097]


def test_garbage_text_on_the_link_is_refused_before_it_is_buffered():
    framer, transport = connected()
    framer.dataReceived(b"GET / HTTP/1.1\r\n\r\n")  # "GET " reads as a length of 1.2 GB
    assert not transport.connected
    framer.dataReceived(SESSION_3_0)
    assert framer.pdus == []
