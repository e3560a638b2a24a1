"""A token bucket on the injected clock: the contracted rate, counted per PDU, for every link
and every simulator (one rule for "the contracted rate")."""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime

_EPSILON = 1e-9  # float refills land a hair short of a whole token; count them as whole
MIN_DELAY = 0.001  # never schedule a retry closer than a timer can tell apart


class TokenBucket:
    """`rate` tokens per second, at most `depth` saved up; starts full."""

    def __init__(self, rate: float, depth: float, clock: IReactorTime):
        self.rate = rate
        self.depth = depth
        self._clock = clock
        self._tokens = depth
        self._stamp = clock.seconds()

    def _refill(self) -> None:
        now = self._clock.seconds()
        if now > self._stamp:
            self._tokens = min(self.depth, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def consume(self) -> bool:
        """Take one token if there is one."""
        self._refill()
        if self._tokens >= 1.0 - _EPSILON:
            self._tokens = max(0.0, self._tokens - 1.0)
            return True
        return False

    def delay(self) -> float:
        """Seconds until a token is available (0 if one is)."""
        self._refill()
        if self._tokens >= 1.0 - _EPSILON:
            return 0.0
        return max(MIN_DELAY, (1.0 - self._tokens) / self.rate)
