"""The FastAGI listening side: a factory that refuses unlisted Asterisk hosts, and a service."""

from __future__ import annotations

from typing import Iterable

from twisted.application import strports
from twisted.application.service import IService
from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import Factory
from twisted.logger import Logger

from ivr.agi.protocol import FastAGIProtocol
from ivr.agi.registry import FlowRegistry

DEFAULT_PORT = 4573


class FastAGIFactory(Factory):
    """Builds one FastAGIProtocol per Asterisk connection. `allowed_hosts` (IP address strings)
    is an allow-list of Asterisk servers; None or empty lets anyone connect (as the
    configuration's `allow = []` means; bind to loopback then)."""

    log = Logger()

    def __init__(
        self,
        registry: FlowRegistry,
        clock: IReactorTime,
        allowed_hosts: Iterable[str] | None = None,
        command_timeout: float | None = 10.0,
        header_timeout: float = 10.0,
    ) -> None:
        self.registry = registry
        self.clock = clock
        self.allowed_hosts = frozenset(allowed_hosts) if allowed_hosts else None
        self.command_timeout = command_timeout
        self.header_timeout = header_timeout

    def buildProtocol(self, addr: IAddress) -> FastAGIProtocol | None:
        host = getattr(addr, "host", None)
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
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
        return protocol


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
) -> IService:
    """A service listening for Asterisk's `AGI(agi://<interface>:<port>/<flow>)` connections.
    `reactor` is the one that listens (None: Twisted's default, resolved when the service
    starts); `clock` drives command timeouts."""
    factory = FastAGIFactory(
        registry,
        clock,
        allowed_hosts=allowed_hosts,
        command_timeout=command_timeout,
        header_timeout=header_timeout,
    )
    description = f"tcp:{int(port)}:interface={_escape_strport(interface)}"
    service = strports.service(description, factory, reactor=reactor)
    service.setName("fastagi")
    return service
