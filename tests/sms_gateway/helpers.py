"""Test plumbing: an in-memory endpoint that connects clients to a server factory (no sockets)."""

from __future__ import annotations

import math

from twisted.internet.defer import fail, succeed
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.task import Clock
from twisted.test import iosim
from zope.interface import implementer

from sms_gateway.link import DeliveryReceipt, MobileOriginated
from sms_gateway.simulator import SimulatedSmsc
from sms_gateway.smpp import SmppBindConfig, SmppLink


@implementer(IStreamClientEndpoint)
class MemoryEndpoint:
    """Each connect() builds a server protocol from `server_factory` and pipes the two."""

    def __init__(self, server_factory, clock: Clock):
        self.server_factory = server_factory
        self.clock = clock
        self.pumps: list[iosim.IOPump] = []
        self.refuse = False
        self.connects = 0

    def connect(self, factory):
        self.connects += 1
        if self.refuse:
            return fail(ConnectionRefusedError("refused by test"))
        client = factory.buildProtocol(iosim.FakeAddress())
        server = self.server_factory.buildProtocol(iosim.FakeAddress())
        client_io = iosim.FakeTransport(client, isServer=False)
        server_io = iosim.FakeTransport(server, isServer=True)
        self.pumps.append(iosim.connect(server, server_io, client, client_io, greet=False, clock=self.clock))
        return succeed(client)

    def flush(self) -> None:
        moved = True
        while moved:
            moved = False
            for pump in list(self.pumps):
                if pump.flush(advanceClock=True):
                    moved = True

    def advance(self, seconds: float, step: float = 0.01) -> None:
        """Move the clock in small steps, moving bytes in between."""
        self.flush()
        target = self.clock.seconds() + seconds
        steps = max(1, math.ceil(seconds / step - 1e-9))
        for _ in range(steps):
            self.clock.advance(seconds / steps)
            self.flush()
        self.clock.advance(max(0.0, target - self.clock.seconds()))
        self.flush()


class Inbox:
    """Stores receipts and MO messages; answers with Deferreds the test can hold back."""

    def __init__(self):
        self.receipts: list[DeliveryReceipt] = []
        self.messages: list[MobileOriginated] = []
        self.hold = False
        self.held: list = []

    def receipt(self, receipt: DeliveryReceipt):
        self.receipts.append(receipt)
        return succeed(None)

    def message(self, message: MobileOriginated):
        self.messages.append(message)
        if self.hold:
            from twisted.internet.defer import Deferred
            d = Deferred()
            self.held.append(d)
            return d
        return succeed(None)


def make_link(clock: Clock | None = None, *, smsc: SimulatedSmsc | None = None, **config):
    """(link, smsc, endpoint, inbox, clock), the link started and bound."""
    clock = clock or Clock()
    smsc = smsc or SimulatedSmsc(clock, receipt_delay=None)
    endpoint = MemoryEndpoint(smsc.factory(), clock)
    inbox = Inbox()
    defaults = dict(system_id="hotline", password="secret", rate=1000.0, window=10,
                    response_timeout=5.0, enquire_link_interval=30.0, retry_initial_delay=1.0)
    defaults.update(config)
    link = SmppLink(SmppBindConfig(**defaults), endpoint, clock,
                    on_receipt=inbox.receipt, on_message=inbox.message,
                    retry_policy=lambda attempt: 1.0)
    link.startService()
    endpoint.flush()
    return link, smsc, endpoint, inbox, clock
