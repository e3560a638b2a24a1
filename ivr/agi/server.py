"""The FastAGI listening side: a factory that refuses unlisted Asterisk hosts, and a service
that, when it stops, stops taking calls and lets the calls in progress finish (bounded)."""

from __future__ import annotations

from typing import Iterable

from twisted.application import strports
from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import IService
from twisted.internet import defer, task
from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import Factory
from twisted.logger import Logger

from hotline.allow_list import AllowList
from hotline.listening import ListeningPorts
from ivr.agi.protocol import FastAGIProtocol
from ivr.agi.registry import FlowRegistry

DEFAULT_PORT = 4573
DRAIN_TIMEOUT_S = 30.0  # a stopping service lets calls in progress run this long at most


class FastAGIFactory(Factory):
    """Builds one FastAGIProtocol per Asterisk connection. `allowed_hosts` (addresses or
    networks, see hotline.allow_list) is an allow-list of Asterisk servers; None lets anyone
    connect (tests do; the configuration's `[agi] allow` is loopback unless it names others).

    It knows the sessions whose connection is open, for the drain at stop, and forgets each
    when its connection is lost: a session buffers its call (headers, flow, channel), and
    keeping every one ever built grew the process by kilobytes a call for its lifetime."""

    log = Logger()

    def __init__(
        self,
        registry: FlowRegistry,
        clock: IReactorTime,
        allowed_hosts: Iterable[str] | None = None,
        command_timeout: float | None = 10.0,
        header_timeout: float = 10.0,
        metrics: object | None = None,
    ) -> None:
        """`metrics`: the process's `hotline.metrics` object (AGI command latency), handed to
        each protocol built; None records nothing."""
        self.registry = registry
        self.metrics = metrics
        self.clock = clock
        self.allowed_hosts = frozenset(allowed_hosts) if allowed_hosts is not None else None
        self._allow_list = AllowList(self.allowed_hosts, key="agi.allow") \
            if self.allowed_hosts is not None else None
        self.command_timeout = command_timeout
        self.header_timeout = header_timeout
        self._sessions: set[FastAGIProtocol] = set()

    def live(self) -> list[FastAGIProtocol]:
        """The sessions whose call is still in progress."""
        return [p for p in self._sessions if not p.closed]

    def forget(self, protocol: FastAGIProtocol) -> None:
        """Called by a session whose connection is lost."""
        self._sessions.discard(protocol)

    def allows(self, host: object) -> bool:
        """Whether a peer at `host` may connect (always, with no allow-list)."""
        return self._allow_list is None or self._allow_list.allows(host)

    def buildProtocol(self, addr: IAddress) -> FastAGIProtocol | None:
        host = getattr(addr, "host", None)
        if not self.allows(host):
            self.log.warn(
                "Refused FastAGI connection from {host}: not in the allow-list", host=host
            )
            return None
        protocol = FastAGIProtocol(
            self.registry,
            self.clock,
            command_timeout=self.command_timeout,
            header_timeout=self.header_timeout,
        )
        protocol.factory = self
        self._sessions.add(protocol)
        return protocol


class FastAGIService(StreamServerEndpointService):
    """The listener. Stopping it stops taking calls at once (Asterisk's `hagi://` then
    connects to the next SRV target), lets the calls in progress finish for at most
    `drain_timeout` seconds of `clock`, and then closes the ones left (their flows record
    them as abandoned at the step they were in)."""

    log = Logger()
    POLL_S = 0.1

    def __init__(self, endpoint, factory: FastAGIFactory, clock: IReactorTime,
                 drain_timeout: float = DRAIN_TIMEOUT_S) -> None:
        super().__init__(endpoint, factory)
        self.clock = clock
        self.drain_timeout = drain_timeout

    def stopService(self) -> defer.Deferred:
        d = defer.maybeDeferred(super().stopService)
        return d.addCallback(lambda _: defer.Deferred.fromCoroutine(self._drain()))

    async def _drain(self) -> None:
        live = self.factory.live()
        if not live:
            return
        self.log.info("FastAGI: no new calls; waiting up to {seconds}s for {count} in progress",
                      seconds=self.drain_timeout, count=len(live))
        deadline = self.clock.seconds() + self.drain_timeout
        while live and self.clock.seconds() < deadline:
            await task.deferLater(self.clock, self.POLL_S, lambda: None)
            live = self.factory.live()
        for protocol in live:
            protocol.drop("service stopping: call still in progress after {seconds}s",
                          seconds=self.drain_timeout)


def _escape_strport(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")


def makeService(
    registry: FlowRegistry,
    clock: IReactorTime,
    interface: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    allowed_hosts: Iterable[str] | None = None,
    command_timeout: float | None = 10.0,
    header_timeout: float = 10.0,
    reactor: object | None = None,
    drain_timeout: float = DRAIN_TIMEOUT_S,
    metrics: object | None = None,
    listening: ListeningPorts | None = None,
) -> IService:
    """A service listening for Asterisk's `AGI(agi://<interface>:<port>/<flow>)` connections.
    `reactor` is the one that listens (None: Twisted's default); `clock` drives command
    timeouts and the drain at stop (`drain_timeout`, see `FastAGIService`)."""
    factory = FastAGIFactory(
        registry,
        clock,
        allowed_hosts=allowed_hosts,
        command_timeout=command_timeout,
        header_timeout=header_timeout,
        metrics=metrics,
    )
    description = f"tcp:{int(port)}:interface={_escape_strport(interface)}"
    endpoint = strports.service(description, factory, reactor=reactor).endpoint
    if listening is not None:  # the port it got, for a process started on port 0
        endpoint = listening.endpoint("agi", endpoint)
    service = FastAGIService(endpoint, factory, clock, drain_timeout)
    service._raiseSynchronously = True
    service.setName("fastagi")
    return service
