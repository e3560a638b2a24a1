"""Which port each listener of this process got.

A process told to listen on port 0 (tests, a benchmark, a supervisor that hands out no
ports) gets whatever free port the kernel picks; probing for a free port first and passing
it on races with every other process on the machine. So each package wraps its listening
endpoint here, the port it got is recorded under the listener's name, and the whole map is
written as JSON to `[service] ports_file` each time it grows (written to a temporary file and
renamed: a reader never sees half of it). Something in this process that must reach one of
its own listeners (the SMS link to the embedded SMSC simulator) asks `port_of(name)`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from twisted.internet import defer
from twisted.internet.interfaces import IListeningPort, IProtocolFactory, IStreamServerEndpoint
from twisted.logger import Logger
from zope.interface import implementer


class ListeningPorts:
    log = Logger()

    def __init__(self, ports_file: str = "") -> None:
        self._path = Path(ports_file) if ports_file else None
        self.ports: dict[str, int] = {}
        self._waiting: dict[str, list[defer.Deferred[int]]] = {}

    def endpoint(self, name: str, endpoint: IStreamServerEndpoint) -> IStreamServerEndpoint:
        """`endpoint`, recording under `name` the port it listens on once it does."""
        return _RecordingEndpoint(endpoint, name, self)

    def port_of(self, name: str) -> defer.Deferred[int]:
        """The port listener `name` got, once it listens."""
        if name in self.ports:
            return defer.succeed(self.ports[name])
        d: defer.Deferred[int] = defer.Deferred()
        self._waiting.setdefault(name, []).append(d)
        return d

    def record(self, name: str, port: int) -> None:
        self.ports[name] = port
        self.log.info("Listening for {name} on port {port}", name=name, port=port)
        if self._path is not None:
            self._write(self._path)
        for waiter in self._waiting.pop(name, []):
            waiter.callback(port)

    def _write(self, path: Path) -> None:
        # A few dozen bytes, once per listener at start-up: not worth a thread.
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(self.ports, sort_keys=True), encoding="utf-8")
        os.replace(partial, path)


def read_ports_file(path: str | Path) -> dict[str, int]:
    """The ports a process wrote to its ports file ({} while it has written none)."""
    try:
        return {str(k): int(v) for k, v in json.loads(Path(path).read_text("utf-8")).items()}
    except FileNotFoundError:
        return {}


@implementer(IStreamServerEndpoint)
class _RecordingEndpoint:
    def __init__(self, inner: IStreamServerEndpoint, name: str, ports: ListeningPorts) -> None:
        self._inner = inner
        self._name = name
        self._ports = ports

    def listen(self, protocolFactory: IProtocolFactory) -> defer.Deferred[IListeningPort]:
        d: defer.Deferred[IListeningPort] = self._inner.listen(protocolFactory)
        d.addCallback(self._listening)
        return d

    def _listening(self, port: IListeningPort) -> IListeningPort:
        self._ports.record(self._name, port.getHost().port)  # type: ignore[attr-defined]
        return port
