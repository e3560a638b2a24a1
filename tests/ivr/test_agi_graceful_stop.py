"""Stopping the FastAGI service: it stops listening at once, lets a call in progress run to
its end (its commands answered as usual), and closes what is left after the bound."""

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactor, StringTransport

from ivr.agi import FlowRegistry, makeService
from tests.ivr.helpers import LogCapture

HEADER = (b"agi_network: yes\nagi_network_script: hotline\nagi_request: agi://127.0.0.1/hotline\n"
          b"agi_channel: PJSIP/trunk-00000001\nagi_uniqueid: 1795887564.7\n"
          b"agi_callerid: 13812345678\n\n")


class TwoCommands:
    def __init__(self):
        self.finished = []

    async def __call__(self, channel, env):
        await channel.answer()
        await channel.verbose("still here")
        self.finished.append(env.uniqueid)


def stopping(service):
    """Stop the service; a list that gets the result once the stop is complete."""
    done = []
    service.stopService().addBoth(done.append)
    return done


def started(drain_timeout=30.0):
    flow, clock, reactor = TwoCommands(), Clock(), MemoryReactor()
    registry = FlowRegistry()
    registry.register("hotline", flow)
    service = makeService(registry, clock, port=0, reactor=reactor, drain_timeout=drain_timeout)
    service.startService()
    factory = reactor.tcpServers[0][1]
    protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
    transport = StringTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(HEADER)
    return service, reactor, clock, flow, protocol, transport


def test_stop_stops_listening_and_lets_the_call_in_progress_finish():
    service, reactor, clock, flow, protocol, transport = started()
    assert transport.value() == b"ANSWER\n"
    stopped = stopping(service)
    assert not service.running
    clock.advance(5)
    assert not stopped  # the call goes on
    transport.clear()
    protocol.dataReceived(b"200 result=0\n")  # the in-flight ANSWER completes
    assert transport.value().startswith(b"VERBOSE")
    protocol.dataReceived(b"200 result=1\n")
    assert flow.finished == ["1795887564.7"]
    clock.advance(0.2)
    assert stopped == [None] and transport.disconnecting


def test_a_call_still_in_progress_after_the_bound_is_closed_and_logged():
    service, reactor, clock, flow, protocol, transport = started(drain_timeout=3.0)
    stopped = stopping(service)
    with LogCapture() as logs:
        clock.advance(2.9)
        assert not stopped and not transport.disconnecting
        clock.advance(0.2)
    assert stopped == [None] and transport.disconnecting
    assert flow.finished == []
    assert "service stopping: call still in progress after 3.0s" in logs.text()


def test_a_service_without_calls_stops_at_once():
    flow, clock, reactor = TwoCommands(), Clock(), MemoryReactor()
    registry = FlowRegistry()
    registry.register("hotline", flow)
    service = makeService(registry, clock, port=0, reactor=reactor)
    service.startService()
    assert stopping(service) == [None]
