"""StopOnce: the reactor's stop on the first SIGTERM or SIGINT, a log line after."""

import signal

from twisted.internet.testing import MemoryReactorClock

from hotline.stop_signals import StopOnce
from tests.ivr.helpers import LogCapture


class Reactor(MemoryReactorClock):
    def __init__(self):
        super().__init__()
        self.signalled = []

    def sigTerm(self, number, frame):
        self.signalled.append("TERM")

    def sigInt(self, number, frame):
        self.signalled.append("INT")


def test_only_the_first_stop_signal_reaches_the_reactor():
    reactor = Reactor()
    handler = StopOnce(reactor)
    with LogCapture() as logs:
        handler(signal.SIGINT, None)
        handler(signal.SIGTERM, None)
        handler(signal.SIGINT, None)
    assert reactor.signalled == ["INT"]
    assert logs.text().count("while already stopping") == 2


def test_a_stop_begun_another_way_makes_a_signal_a_log_line():
    reactor = Reactor()
    handler = StopOnce(reactor)
    previous = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        handler.install()
        assert signal.getsignal(signal.SIGTERM) is handler
        for trigger, args, kwargs in reactor.triggers["before"]["shutdown"]:
            trigger(*args, **kwargs)
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
    handler(signal.SIGTERM, None)
    assert reactor.signalled == []
