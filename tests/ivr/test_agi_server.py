"""The listening side: allow-list, the service, and one real loopback call (port 0) between the
FastAGI server and the simulated Asterisk."""

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactor
from twisted.trial import unittest

from ivr.agi import FastAGIFactory, FastAGIProtocol, FlowRegistry, makeService
from ivr.simulator import CallSetup, simulate_call
from tests.ivr.helpers import LogCapture


def registry_with(flow, name="hotline"):
    registry = FlowRegistry()
    registry.register(name, flow)
    return registry


async def noop_flow(channel, env):
    pass


def test_allow_list_refuses_and_logs_other_hosts():
    factory = FastAGIFactory(registry_with(noop_flow), Clock(), allowed_hosts=["10.1.2.3"])
    with LogCapture() as logs:
        refused = factory.buildProtocol(IPv4Address("TCP", "10.9.9.9", 40000))
    assert refused is None
    assert "Refused FastAGI connection from 10.9.9.9" in logs.text()
    accepted = factory.buildProtocol(IPv4Address("TCP", "10.1.2.3", 40000))
    assert isinstance(accepted, FastAGIProtocol)


def test_without_allow_list_every_host_is_served():
    factory = FastAGIFactory(registry_with(noop_flow), Clock())
    assert isinstance(factory.buildProtocol(IPv4Address("TCP", "192.0.2.7", 1)), FastAGIProtocol)


def test_make_service_listens_on_the_given_interface_and_port():
    reactor = MemoryReactor()
    service = makeService(
        registry_with(noop_flow), Clock(), interface="10.0.0.5", port=4573,
        allowed_hosts=["10.0.0.1"], command_timeout=5, reactor=reactor,
    )
    service.startService()
    try:
        (port, factory, backlog, interface) = reactor.tcpServers[0]
        assert (port, interface) == (4573, "10.0.0.5")
        assert factory.allowed_hosts == frozenset({"10.0.0.1"})
        assert factory.command_timeout == 5
    finally:
        service.stopService()


def test_make_service_accepts_an_ipv6_interface():
    reactor = MemoryReactor()
    service = makeService(registry_with(noop_flow), Clock(), interface="::1", port=0, reactor=reactor)
    service.startService()
    assert reactor.tcpServers[0][3] == "::1"
    service.stopService()


class LoopbackCallTests(unittest.TestCase):
    """A real TCP connection on 127.0.0.1, the service on an ephemeral port."""

    def test_simulated_caller_completes_a_progress_query_over_loopback(self):
        from twisted.internet import reactor

        seen = []

        async def flow(channel, env):
            await channel.answer()
            choice = await channel.stream_file("hotline/main-menu", "0123456789*#")
            case_number = await channel.get_data("hotline/enter-case-number", 5000, 20)
            seen.append((choice, case_number, env.callerid))
            await channel.say_digits(case_number)
            await channel.stream_file("hotline/thanks-goodbye")
            await channel.hangup()

        factory = FastAGIFactory(registry_with(flow), reactor)
        listening = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(listening.stopListening)
        port = listening.getHost().port

        d = simulate_call(reactor, "127.0.0.1", port, "hotline", "4 2026112800001#",
                          setup=CallSetup(callerid="13812345678"))

        def check(heard):
            self.assertEqual(seen, [("4", "2026112800001", "13812345678")])
            self.assertEqual(
                [str(h) for h in heard],
                [
                    "keys 4",
                    "play hotline/main-menu (interrupted by 4)",
                    "play hotline/enter-case-number (interrupted by 2)",
                    "keys 2026112800001#",
                    "say-digits 2026112800001",
                    "play hotline/thanks-goodbye",
                    "hangup service",
                ],
            )

        return d.addCallback(check)
