"""Running thread-pool work from tests without a real reactor.

`Database` hands results back with `reactor.callFromThread`; `PumpedReactor` queues those
calls and `PumpedReactor.wait(d)` runs them on the test's thread until `d` has fired.
"""

from __future__ import annotations

import queue
from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure


class PumpedReactor:
    def __init__(self) -> None:
        self._calls: queue.Queue = queue.Queue()

    def callFromThread(self, function, *args, **kwargs) -> None:
        self._calls.put((function, args, kwargs))

    def wait(self, deferred: defer.Deferred, timeout: float = 30.0) -> Any:
        results: list = []
        deferred.addBoth(results.append)
        while not results:
            try:
                function, args, kwargs = self._calls.get(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(f"no result within {timeout}s") from None
            function(*args, **kwargs)
        result = results[0]
        if isinstance(result, Failure):
            result.raiseException()
        return result

    def pump(self, until, timeout: float = 30.0, clock=None, step: float = 0.0) -> None:
        """Run queued thread results (advancing `clock` by `step` when idle) until `until()`."""
        import time

        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not reached")
            try:
                function, args, kwargs = self._calls.get(timeout=0.01)
            except queue.Empty:
                if clock is not None:
                    clock.advance(step)
                continue
            function(*args, **kwargs)
