"""The framing layer, fed every golden AMI stream in every chunking, and bad input."""

import re

import pytest
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs

from hotline.ami.message import Message
from tests.ami.support import AMI_STREAMS, Collector, from_asterisk, split_messages


def parse(chunks, expect_banner=True):
    collector = Collector(expect_banner)
    transport = StringTransport()
    collector.makeConnection(transport)
    for chunk in chunks:
        collector.dataReceived(chunk)
    return collector, transport


def test_every_golden_stream_parses_to_the_same_messages_split_at_every_byte_offset():
    # The framer's state is empty at every message boundary, so a split anywhere in a
    # stream only affects the message it falls in: each message split at each of its
    # offsets covers every split of the whole stream. Messages that differ only in their
    # digits (Uniqueid, CommandId, timestamps) have the same line structure, hence the same
    # split behaviour, so one of each shape is tested, across all the streams.
    collector = Collector(expect_banner=False)
    collector.makeConnection(StringTransport())
    seen = set()
    for name in AMI_STREAMS:
        stream = from_asterisk(name)
        whole, transport = parse([stream])
        assert whole.banner == "12.0.0"
        assert not transport.disconnecting
        banner, raws = split_messages(stream)
        assert len(whole.messages) == len(raws)
        for raw, expected in zip(raws, whole.messages, strict=True):
            shape = re.sub(rb"[0-9]", b"0", raw)
            if shape in seen:
                continue
            seen.add(shape)
            for offset in range(1, len(raw)):
                collector.messages = []
                collector.dataReceived(raw[:offset])
                collector.dataReceived(raw[offset:])
                assert collector.messages == [expected], (name, offset)
        for offset in range(1, len(banner)):
            got, _ = parse([banner[:offset], banner[offset:]])
            assert got.banner == "12.0.0"
    assert len(seen) > 300


@pytest.mark.parametrize("name", AMI_STREAMS)
def test_golden_stream_parses_the_same_fed_one_byte_at_a_time(name):
    stream = from_asterisk(name)
    whole, _ = parse([stream])
    bytewise, transport = parse([stream[i : i + 1] for i in range(len(stream))])
    assert bytewise.messages == whole.messages
    assert not transport.disconnecting


def test_golden_misc_stream_gives_the_fields_in_order_with_values_exact():
    collector, _ = parse([from_asterisk("ami_misc")])
    ping = collector.messages[3]
    assert ping.fields == (("Response", "Success"), ("ActionID", "probe-2"), ("Ping", "Pong"), ("Timestamp", "1795887545.878141"))
    settings = collector.messages[4]
    assert settings["SystemName"] == ""
    bad = next(m for m in collector.messages if m.event == "RequestBadFormat")
    assert bad["RequestType"] == "Action: NoSuchAction"


def test_bare_newline_terminators_are_tolerated():
    collector, transport = parse([b"Asterisk Call Manager/12.0.0\nResponse: Success\nActionID: a-1\nMessage: ok\n\n"])
    assert collector.messages == [Message([("Response", "Success"), ("ActionID", "a-1"), ("Message", "ok")])]
    assert not transport.disconnecting


def test_keys_are_looked_up_in_any_case_and_duplicates_keep_their_order():
    collector, _ = parse([b"Asterisk Call Manager/12.0.0\r\nEvent: Foo\r\nChanVariable: A=1\r\nchanvariable: B=2\r\n\r\n"])
    event = collector.messages[0]
    assert event.get("EVENT") == "Foo"
    assert event.getall("ChanVariable") == ["A=1", "B=2"]
    assert [k for k, _ in event] == ["Event", "ChanVariable", "chanvariable"]


def test_caller_name_in_a_legacy_encoding_is_kept_not_dropped():
    # Carriers here may send GBK caller names; they are not garbage.
    name = "张三".encode("gbk")
    collector, transport = parse([b"Asterisk Call Manager/12.0.0\r\nEvent: Newchannel\r\nCallerIDName: " + name + b"\r\n\r\n"])
    assert not transport.disconnecting
    assert collector.messages[0]["CallerIDName"] == name.decode("utf-8", errors="replace")


def test_garbage_quoting_a_phone_number_is_logged_masked():
    with capturedLogs() as events:
        parse([b"Asterisk Call Manager/12.0.0\r\ncaller 13812345678 garbage\r\n"])
    reasons = [e.get("reason", "") for e in events]
    assert any("138****5678" in r for r in reasons)
    assert not any("13812345678" in r for r in reasons)


def test_stray_blank_lines_between_messages_are_ignored():
    collector, _ = parse([b"Asterisk Call Manager/12.0.0\r\n\r\n\r\nEvent: A\r\n\r\n\r\nEvent: B\r\n\r\n"])
    assert [m.event for m in collector.messages] == ["A", "B"]


def test_line_without_colon_drops_the_link_with_a_logged_reason():
    with capturedLogs() as events:
        collector, transport = parse([b"Asterisk Call Manager/12.0.0\r\nEvent: A\r\nthis is not AMI\r\n\r\nEvent: B\r\n\r\n"])
    assert transport.disconnecting
    assert collector.messages == []
    assert "not a manager line" in collector.dropReason
    assert any("Dropping AMI link" in e.get("log_format", "") and "not a manager line" in e.get("reason", "") for e in events)


def test_binary_garbage_drops_the_link():
    collector, transport = parse([b"Asterisk Call Manager/12.0.0\r\nEvent: A\x00\x01\xff\r\n\r\n"])
    assert transport.disconnecting
    assert collector.messages == []


def test_wrong_banner_drops_the_link_with_a_logged_reason():
    with capturedLogs() as events:
        collector, transport = parse([b"SSH-2.0-OpenSSH_9.6\r\n"])
    assert transport.disconnecting
    assert "banner" in collector.dropReason
    assert any("banner" in e.get("reason", "") for e in events)


def test_oversize_message_drops_the_link_with_a_logged_reason():
    collector = Collector()
    collector.MAX_LENGTH = 1000
    transport = StringTransport()
    collector.makeConnection(transport)
    with capturedLogs() as events:
        collector.dataReceived(b"Asterisk Call Manager/12.0.0\r\nEvent: Big\r\n")
        for n in range(100):
            collector.dataReceived(f"Variable{n}: {'x' * 20}\r\n".encode())
    assert transport.disconnecting
    assert "longer than 1000 bytes" in collector.dropReason
    assert any("longer than" in e.get("reason", "") for e in events)


def test_oversize_line_without_terminator_drops_the_link():
    collector = Collector()
    collector.MAX_LENGTH = 1000
    transport = StringTransport()
    collector.makeConnection(transport)
    collector.dataReceived(b"Asterisk Call Manager/12.0.0\r\nEvent: " + b"y" * 2000)
    assert transport.disconnecting


def test_bytes_after_a_drop_are_ignored():
    collector, transport = parse([b"garbage\r\n", b"Asterisk Call Manager/12.0.0\r\nEvent: A\r\n\r\n"])
    assert collector.messages == []


def test_message_value_with_a_line_break_is_refused():
    with pytest.raises(ValueError, match="line break"):
        Message([("CallerID", "x\r\nAction: Hangup")])


@pytest.mark.parametrize("name", AMI_STREAMS)
def test_parsing_a_golden_stream_is_lossless_so_message_comparisons_are_byte_comparisons(name):
    stream = from_asterisk(name)
    collector, _ = parse([stream])
    banner, _ = split_messages(stream)
    assert banner + b"".join(m.to_bytes() for m in collector.messages) == stream
