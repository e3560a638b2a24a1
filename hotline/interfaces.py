"""The reactor interface the core and the packages are typed with.

Twisted splits what a reactor does into interfaces; the core's reactor is used for three of
them, and this names the three together so that a seam can say so.
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorFromThreads, IReactorTCP, IReactorTime


class IReactor(IReactorTime, IReactorTCP, IReactorFromThreads):
    """Timers (the core's reactor is every package's timer clock), TCP listeners and
    connections, and handing the database pool's results back to the reactor thread.

    For the type checker only: Twisted's reactors provide the three interfaces, not this
    union of them, so nothing asks `IReactor.providedBy`."""
