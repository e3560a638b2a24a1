"""Sockets-free harness: the real FastAGI server protocol talking to the simulated Asterisk
through two StringTransports pumped by hand, with a task.Clock for timers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, globalLogPublisher
from twisted.python.failure import Failure

from ivr.agi import FastAGIProtocol, FlowRegistry
from ivr.agi.protocol import DONE_VARIABLE
from ivr.simulator import AsteriskCallSimulator, CallSetup

ASTERISK = IPv4Address("TCP", "127.0.0.1", 51788)
SERVICE = IPv4Address("TCP", "127.0.0.1", 4573)


class LogCapture:
    """Collects twisted.logger events (an observer on the global publisher)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def __enter__(self) -> "LogCapture":
        globalLogPublisher.addObserver(self)
        return self

    def __exit__(self, *exc: object) -> None:
        globalLogPublisher.removeObserver(self)

    def at(self, level: LogLevel) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("log_level") == level]

    def failures(self) -> list[dict[str, Any]]:
        return [e for e in self.events if "log_failure" in e]

    def text(self) -> str:
        from twisted.logger import formatEvent

        return "\n".join(formatEvent(e) for e in self.events)


def server_protocol(registry: FlowRegistry, clock: Clock | None = None, **options: Any):
    clock = clock or Clock()
    protocol = FastAGIProtocol(registry, clock, **options)
    transport = StringTransport(peerAddress=ASTERISK, hostAddress=SERVICE)
    protocol.makeConnection(transport)
    return protocol, transport, clock


@dataclass
class Call:
    server: FastAGIProtocol
    simulator: AsteriskCallSimulator
    server_transport: StringTransport
    simulator_transport: StringTransport
    clock: Clock
    wire: list[bytes] = field(default_factory=list)  # every chunk the service wrote
    asterisk_wire: list[bytes] = field(default_factory=list)  # every chunk the simulator wrote

    def commands(self) -> list[str]:
        """The flow's commands: every line the service wrote, less the done mark it adds
        when the flow ends on purpose (see `marked_done`)."""
        lines = self.all_commands()
        return lines[:-1] if self.marked_done else lines

    def all_commands(self) -> list[str]:
        return b"".join(self.wire).decode("utf-8").splitlines()

    @property
    def marked_done(self) -> bool:
        lines = self.all_commands()
        return bool(lines) and lines[-1] == f"SET VARIABLE {DONE_VARIABLE} 1"


def run_call(
    flow,
    script: str = "",
    setup: CallSetup | None = None,
    name: str = "hotline",
    simulator: AsteriskCallSimulator | None = None,
    marks_done: bool = False,
    **options: Any,
) -> Call:
    """Register `flow` as `name`, connect it to a simulated Asterisk call and pump bytes both
    ways until neither side has anything more to say."""
    registry = FlowRegistry()
    registry.register(name, flow, marks_done=marks_done)
    server, server_t, clock = server_protocol(registry, **options)
    simulator = simulator or AsteriskCallSimulator(setup or CallSetup(script=name), script)
    sim_t = StringTransport(peerAddress=SERVICE, hostAddress=ASTERISK)
    call = Call(server, simulator, server_t, sim_t, clock)
    simulator.makeConnection(sim_t)
    pump(call)
    return call


def pump(call: Call) -> None:
    server_closed = simulator_closed = False
    for _ in range(100000):
        moved = False
        to_server = call.simulator_transport.value()
        if to_server:
            call.simulator_transport.clear()
            call.asterisk_wire.append(to_server)
            if not server_closed:
                call.server.dataReceived(to_server)
            moved = True
        to_simulator = call.server_transport.value()
        if to_simulator:
            call.server_transport.clear()
            call.wire.append(to_simulator)
            if not simulator_closed:
                call.simulator.dataReceived(to_simulator)
            moved = True
        if moved:
            continue
        if call.server_transport.disconnecting and not server_closed:
            # the service closed: Asterisk reads EOF, says HANGUP (unread), and closes
            server_closed = True
            call.server.connectionLost(Failure(ConnectionDone()))
            call.simulator.readConnectionLost()
            continue
        if call.simulator_transport.disconnecting and not simulator_closed:
            simulator_closed = True
            if not server_closed:
                server_closed = True
                call.server.connectionLost(Failure(ConnectionDone()))
            call.simulator.connectionLost(Failure(ConnectionDone()))
            continue
        if server_closed and not simulator_closed:
            simulator_closed = True
            call.simulator.connectionLost(Failure(ConnectionDone()))
            continue
        return
    raise AssertionError("the call never went quiet")
