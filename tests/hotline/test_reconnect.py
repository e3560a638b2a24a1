"""`hotline.reconnect.guarded`: a `ClientService` whose prepareConnection (login, bind) fails
or is cut by the peer keeps retrying on schedule, with no `NoTransition` out of the close;
a connection lost once it is up still reaches ClientService, which reconnects."""

from __future__ import annotations

import pytest
from automat import NoTransition
from twisted.application.internet import ClientService
from twisted.internet import defer
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs
from twisted.python.failure import Failure
from zope.interface import implementer

from hotline.reconnect import guarded

CLOSED = Failure(ConnectionDone("the peer closed"))


class _Client(Protocol):
    """Logs in as AMI and SMPP do: the attempt fails when the connection goes first."""

    def __init__(self) -> None:
        self.login: defer.Deferred | None = None
        self.lost: list[Failure] = []

    def log_in(self) -> defer.Deferred:
        self.login = defer.Deferred()
        return self.login

    def connectionLost(self, reason: Failure = CLOSED) -> None:
        self.lost.append(reason)
        if self.login is not None and not self.login.called:
            self.login.errback(reason)


class _Clients(Factory):
    def __init__(self) -> None:
        self.built: list[_Client] = []

    def buildProtocol(self, addr):
        self.built.append(_Client())
        return self.built[-1]


@implementer(IStreamClientEndpoint)
class _Peer:
    """Every connection succeeds at once; `transports_protocols` are what the transport
    talks to, whose `connectionLost` the reactor would call."""

    def __init__(self) -> None:
        self.transports_protocols: list = []

    def connect(self, factory):
        protocol = factory.buildProtocol(None)
        protocol.makeConnection(StringTransport())
        self.transports_protocols.append(protocol)
        return defer.succeed(protocol)


def _service(endpoint, clients: _Clients, clock: Clock) -> ClientService:
    service = ClientService(endpoint, clients, retryPolicy=lambda attempt: 2.0, clock=clock,
                            prepareConnection=lambda proxy: proxy.log_in())
    service.startService()
    return service


WHEN = ["after a refused login", "while logging in"]


@pytest.mark.parametrize("when", WHEN)
def test_without_the_guard_a_close_before_the_connection_was_up_raises_no_transition(when):
    """The gap in Twisted 26.10 that `guarded` closes: when this fails, Twisted has closed it
    and `hotline.reconnect` can go."""
    peer, clients = _Peer(), _Clients()
    _service(peer, clients, Clock())
    if when == "after a refused login":
        clients.built[0].login.errback(Failure(RuntimeError("Authentication failed")))
    with pytest.raises(NoTransition):
        peer.transports_protocols[0].connectionLost(CLOSED)


@pytest.mark.parametrize("when", WHEN)
def test_a_connection_closed_before_it_was_up_is_retried_on_schedule(when):
    clock, peer, clients = Clock(), _Peer(), _Clients()
    with capturedLogs() as events:
        _service(guarded(peer), clients, clock)
        first = clients.built[0]
        if when == "after a refused login":
            first.login.errback(Failure(RuntimeError("Authentication failed")))
        peer.transports_protocols[0].connectionLost(CLOSED)  # no NoTransition out of here
        assert len(first.lost) == 1  # our protocol still hears its loss
        clock.advance(1.9)
        assert len(clients.built) == 1
        clock.advance(0.1)
    assert len(clients.built) == 2  # the next attempt, on the policy's schedule
    assert not any(event.get("log_failure") for event in events)


def test_a_connection_lost_once_up_reaches_client_service_which_reconnects():
    clock, peer, clients = Clock(), _Peer(), _Clients()
    service = _service(guarded(peer), clients, clock)
    clients.built[0].login.callback(None)
    assert service.whenConnected().result is clients.built[0]  # the protocol, not a guard
    peer.transports_protocols[0].connectionLost(CLOSED)
    clock.advance(2.0)
    clients.built[1].login.callback(None)
    assert service.whenConnected().result is clients.built[1]
