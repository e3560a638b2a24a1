"""What one FastAGI connection may cost the process: a session is forgotten when its call
ends, a header block or a 520 usage block past anything Asterisk sends is dropped with a
logged reason and its buffers freed, and only the allowed Asterisk hosts get in.
StringTransport and task.Clock only (bench/agi_soak.py measures the memory of the real
service)."""

from __future__ import annotations

import gc
import weakref

import pytest
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure

from hotline.allow_list import AllowList
from hotline.config import ConfigError, load_config
from ivr.agi import AGIConnectionClosed, FastAGIFactory, FastAGIProtocol, FlowRegistry
from ivr.agi.response import ResponseParser
from tests.ivr.helpers import ASTERISK, SERVICE, LogCapture

HEADER = (b"agi_network: yes\nagi_network_script: hotline\n"
          b"agi_request: agi://127.0.0.1:4573/hotline\nagi_channel: SIP/trunk-00000001\n"
          b"agi_uniqueid: 1.1\nagi_callerid: 13812345678\n")


def registry_of(flow) -> FlowRegistry:
    registry = FlowRegistry()
    registry.register("hotline", flow)
    return registry


def connect(factory: FastAGIFactory) -> tuple[FastAGIProtocol, StringTransport]:
    protocol = factory.buildProtocol(ASTERISK)
    assert protocol is not None
    transport = StringTransport(peerAddress=ASTERISK, hostAddress=SERVICE)
    protocol.makeConnection(transport)
    return protocol, transport


async def answer_and_hang_up(channel, env):
    await channel.answer()
    await channel.hangup()


# -- sessions end with their call -----------------------------------------------------------


def test_a_finished_call_leaves_nothing_behind_in_the_factory():
    factory = FastAGIFactory(registry_of(answer_and_hang_up), Clock())
    refs = []
    for _ in range(50):
        protocol, transport = connect(factory)
        protocol.dataReceived(HEADER + b"\n")
        protocol.dataReceived(b"200 result=0\n200 result=1\n")
        assert transport.disconnecting
        protocol.connectionLost(Failure(ConnectionDone()))
        refs.append(weakref.ref(protocol))
        del protocol, transport
    gc.collect()
    assert factory.live() == []
    held = [holders(ref()) for ref in refs if ref() is not None]
    assert [h for h in held if h] == []


def holders(protocol: FastAGIProtocol) -> list[object]:
    """What keeps `protocol` alive, less the log events (and the loggers bound to it that
    they carry) that Twisted's start-up buffer holds in a test process; a service that begins
    logging empties that buffer."""
    found = []
    for referrer in gc.get_referrers(protocol):
        if isinstance(referrer, dict) and referrer.get("log_source") is protocol:
            continue
        if isinstance(referrer, Logger) and referrer.source is protocol:
            continue
        found.append(referrer)
    return found


def test_an_open_call_stays_known_for_the_drain_until_its_connection_is_lost():
    async def waits(channel, env):
        await channel.command("WAIT FOR DIGIT 10000")

    factory = FastAGIFactory(registry_of(waits), Clock())
    protocol, _ = connect(factory)
    protocol.dataReceived(HEADER + b"\n")
    assert factory.live() == [protocol]
    protocol.connectionLost(Failure(ConnectionDone()))
    assert factory.live() == []


# -- floods are dropped, with a reason, their buffers freed ---------------------------------


def flood(lines: list[bytes]) -> tuple[FastAGIProtocol, StringTransport, LogCapture]:
    ran = []

    async def flow(channel, env):
        ran.append(env)

    factory = FastAGIFactory(registry_of(flow), Clock())
    with LogCapture() as logs:
        protocol, transport = connect(factory)
        protocol.dataReceived(HEADER + b"".join(lines) + b"\n")
    assert ran == [], "no flow may run for a flooded header block"
    return protocol, transport, logs


def warned(logs: LogCapture) -> str:
    return "\n".join(str(event.get("log_format", "")).format(**event)
                     for event in logs.at(LogLevel.warn))


def test_a_header_block_of_too_many_distinct_lines_is_dropped():
    lines = [b"agi_flood_%d: x\n" % n for n in range(100_000)]
    protocol, transport, logs = flood(lines)
    assert transport.disconnecting
    assert "agi_* header block over 200 lines or 65536 bytes" in warned(logs)
    assert "13812345678" not in logs.text()
    # what the connection sent is not kept: the headers read so far and the unread rest
    assert len(protocol._headers) <= FastAGIProtocol.MAX_HEADER_LINES
    assert protocol._buffer == b""


def test_a_header_block_of_too_many_bytes_is_dropped():
    lines = [b"agi_long_%d: %s\n" % (n, b"v" * 15_000) for n in range(20)]
    protocol, transport, logs = flood(lines)
    assert transport.disconnecting
    assert "header block over" in warned(logs)
    assert sum(len(v) for v in protocol._headers.values()) <= FastAGIProtocol.MAX_HEADER_BYTES


def test_the_largest_header_block_asterisk_sends_is_served():
    """res_agi.c: the fixed agi_* lines and up to 127 arguments (MAX_ARGS 128 with the script)."""
    seen = []

    async def flow(channel, env):
        seen.append(env)

    factory = FastAGIFactory(registry_of(flow), Clock())
    protocol, transport = connect(factory)
    fixed = b"".join(b"agi_fixed_%d: value\n" % n for n in range(20))
    args = b"".join(b"agi_arg_%d: %s\n" % (n, b"a" * 100) for n in range(1, 128))
    protocol.dataReceived(HEADER + fixed + args + b"\n")
    assert len(seen) == 1 and len(seen[0].args) == 127


def test_a_usage_block_that_never_ends_drops_the_call():
    outcomes = []

    async def flow(channel, env):
        try:
            outcomes.append(await channel.command("NOOP"))
        except AGIConnectionClosed as error:
            outcomes.append(error)

    factory = FastAGIFactory(registry_of(flow), Clock())
    with LogCapture() as logs:
        protocol, transport = connect(factory)
        protocol.dataReceived(HEADER + b"\n")
        protocol.dataReceived(b"520-Invalid command syntax.  Proper usage follows:\n"
                              + b"Usage: more and more\n" * 100_000)
    assert transport.disconnecting
    assert "520 usage block over 100 lines" in warned(logs)
    assert isinstance(outcomes[0], AGIConnectionClosed)
    assert protocol._buffer == b""


def test_a_usage_block_of_asterisks_length_is_read_whole():
    parser = ResponseParser()
    assert parser.feed("520-Invalid command syntax.  Proper usage follows:") is None
    for _ in range(40):
        assert parser.feed("Usage: STREAM FILE <filename> <escape_digits> [sample offset]") is None
    error = parser.feed("520 End of proper usage.")
    assert str(error).count("Usage:") == 40


# -- who may connect ------------------------------------------------------------------------


@pytest.mark.parametrize("entries, host, allowed", [
    (["10.0.0.5"], "10.0.0.5", True),
    (["10.0.0.5"], "10.0.0.6", False),
    (["10.0.0.0/24"], "10.0.0.77", True),
    (["10.0.0.0/24"], "10.0.1.1", False),
    (["10.0.0.5"], "::ffff:10.0.0.5", True),   # a dual-stack listener's view of an IPv4 peer
    (["::1"], "::1", True),
    (["fe80::/10"], "fe80::1%eth0", True),
    (["127.0.0.1"], "not-an-address", False),
    (["0.0.0.0/0", "::/0"], "203.0.113.9", True),
])
def test_allow_list_matches_addresses_and_networks(entries, host, allowed):
    assert AllowList(entries).allows(host) is allowed


def test_the_factory_refuses_a_peer_outside_a_network_and_serves_one_inside():
    factory = FastAGIFactory(registry_of(answer_and_hang_up), Clock(),
                             allowed_hosts=["192.0.2.0/28"])
    with LogCapture() as logs:
        assert factory.buildProtocol(IPv4Address("TCP", "192.0.2.99", 1)) is None
    assert "Refused FastAGI connection from 192.0.2.99" in logs.text()
    assert factory.buildProtocol(IPv4Address("TCP", "192.0.2.9", 1)) is not None
    assert factory.buildProtocol(IPv6Address("TCP", "::ffff:192.0.2.9", 1, 0)) is not None


def test_by_default_only_loopback_may_connect():
    config = load_config(environ={})
    assert config.agi.allow == ("127.0.0.1", "::1")
    factory = FastAGIFactory(registry_of(answer_and_hang_up), Clock(),
                             allowed_hosts=config.agi.allow)
    assert factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1)) is not None
    assert factory.buildProtocol(IPv6Address("TCP", "::1", 1, 0)) is not None
    assert factory.buildProtocol(IPv4Address("TCP", "10.0.0.5", 1)) is None


@pytest.mark.parametrize("value, complaint", [
    ("", "agi.allow is empty, so no Asterisk could connect"),
    ("10.0.0.5, 10.0.0.300", "agi.allow: '10.0.0.300' is not an IP address or network"),
])
def test_an_empty_or_bad_allow_list_stops_the_service_at_start(value, complaint):
    with pytest.raises(ConfigError, match=complaint):
        load_config(environ={"HOTLINE_AGI_ALLOW": value})
