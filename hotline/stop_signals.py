"""A stop asked for twice is one stop.

Twisted's handlers call `reactor.stop()` for every SIGTERM or SIGINT, and a second call while
the service is already stopping raises ReactorNotRunning (logged CRITICAL with a traceback).
Two signals are ordinary: `make run` under a supervisor that signals the whole process group
(systemd's default KillMode) delivers one from the supervisor and one forwarded by make, and
an operator may press Ctrl-C twice while calls drain. The first starts the staged stop
(service_tree.py); the others are logged and change nothing."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from twisted.logger import Logger

log = Logger()

STOP_SIGNALS = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "SIGINT"}


class StopOnce:
    """The SIGTERM and SIGINT handler: the reactor's own on the first, a log line after."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor
        self.stopping = False

    def install(self) -> None:
        """Replace Twisted's handlers; call once the reactor runs (it installs its own as it
        starts). A stop begun some other way counts as well."""
        for number in STOP_SIGNALS:
            signal.signal(number, self)
        self.reactor.addSystemEventTrigger("before", "shutdown", self._stopped)

    def _stopped(self) -> None:
        self.stopping = True

    def __call__(self, number: int, frame: FrameType | None) -> None:
        name = STOP_SIGNALS.get(signal.Signals(number), str(number))
        if self.stopping:
            log.info("Received {signal} while already stopping: the stop in progress goes on",
                     signal=name)
            return
        self.stopping = True
        if number == signal.SIGINT:
            self.reactor.sigInt(number, frame)
        else:
            self.reactor.sigTerm(number, frame)


def install_when_running(reactor: Any) -> StopOnce:
    handler = StopOnce(reactor)
    reactor.callWhenRunning(handler.install)
    return handler
