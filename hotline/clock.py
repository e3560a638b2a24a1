"""The wall clock behind business rules (deadlines, calling hours, case-number dates).

Timers use Twisted's `IReactorTime` (tests: `task.Clock`); rules read this clock, which tests
freeze with freezegun. Never mix the two on one code path.
"""

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo


class WallClock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware, in UTC."""


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)


def local_zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
