"""The one workaround every `ClientService` link needs: a connection lost before it counted.

`ClientService` (Twisted 26.10) hears of a lost connection through the proxy it wraps around
each protocol. Its state machine has a transition for that only once the connection is up
(``prepareConnection`` done): a connection lost while ``prepareConnection`` (an AMI Login,
an SMPP bind) is still pending, or after it failed, finds the machine connecting or already
waiting to retry, and ``NoTransition`` is raised out of ``connectionLost`` into the
reactor. Peers do exactly that: Asterisk answers a refused Login and closes; an SMSC closes
after a refused bind. That attempt is counted through ``prepareConnection``'s failure
already, so the loss is news only for our protocol, which still hears it.

`guarded(endpoint)` is the endpoint to give `ClientService`: the transport talks to a guard
that hands everything to ClientService's proxy and absorbs that one ``NoTransition``;
`ClientService` still gets (and later unwraps) the proxy it built. The AMI link and every
SMS bind use it, so the gap is closed in one place, and closed once for all if Twisted
closes it.
"""

from __future__ import annotations

from typing import Any, cast

from automat import NoTransition
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IAddress,
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
    ITransport,
)
from twisted.python.failure import Failure
from zope.interface import implementer


def guarded(endpoint: IStreamClientEndpoint) -> IStreamClientEndpoint:
    """`endpoint`, for a `ClientService` whose ``prepareConnection`` may fail or be cut."""
    return _GuardedEndpoint(endpoint)


@implementer(IStreamClientEndpoint)
class _GuardedEndpoint:
    def __init__(self, endpoint: IStreamClientEndpoint) -> None:
        self._endpoint = endpoint

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        # The transport talks to the guard; ClientService gets the proxy it built.
        def unwrap(guard: IProtocol) -> IProtocol:
            return cast(_LossGuard, guard).proxy

        # The guard factory is the factory it wraps, attribute for attribute (__getattr__),
        # which the type checker cannot see.
        factory = cast(IProtocolFactory, _GuardedFactory(protocolFactory))
        return self._endpoint.connect(factory).addCallback(unwrap)

    def __repr__(self) -> str:
        return repr(self._endpoint)  # ClientService names its endpoint in its log lines


class _GuardedFactory:
    """Builds ClientService's proxy, as asked, and puts a guard in front of it."""

    def __init__(self, factory: IProtocolFactory) -> None:
        self._factory = factory

    def buildProtocol(self, addr: IAddress) -> _LossGuard | None:
        proxy = self._factory.buildProtocol(addr)
        return None if proxy is None else _LossGuard(proxy)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._factory, name)


class _LossGuard:
    """The transport's protocol: everything goes to ClientService's proxy (and through it to
    ours); only the notification its machine has no transition for stops here."""

    def __init__(self, proxy: IProtocol) -> None:
        self.proxy = proxy

    def makeConnection(self, transport: ITransport) -> None:
        self.proxy.makeConnection(transport)

    def connectionMade(self) -> None:
        pass  # makeConnection has told the proxy, which told our protocol

    def dataReceived(self, data: bytes) -> None:
        self.proxy.dataReceived(data)

    def connectionLost(self, reason: Failure) -> None:
        # The proxy tells our protocol first, then ClientService (try/finally): by the time
        # NoTransition comes out, our protocol has heard the loss.
        try:
            self.proxy.connectionLost(reason)
        except NoTransition:
            pass  # lost before or after a failed prepareConnection: already counted

    def __getattr__(self, name: str) -> Any:
        return getattr(self.proxy, name)

    def __repr__(self) -> str:
        return f"<guarded {self.proxy!r}>"
