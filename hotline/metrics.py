"""The process's metrics: one Prometheus `CollectorRegistry`, built with the core and handed to
the packages (never the library's global default registry, so that tests stay isolated).

Packages increment the counters and histograms here as things happen; values that live in
memory elsewhere (dispatcher counters, windows, the connection pool) are read at scrape time
by collectors the packages register; counts that need the database (SMS by state, callbacks
by state) come from `DatabaseSnapshot`, refreshed on a timer in the database thread pool, so
that a scrape never queries the database, and never on the reactor thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from twisted.application import service
from twisted.internet import defer, task
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

CONTENT_TYPE = CONTENT_TYPE_LATEST

# An AGI command answers in milliseconds unless it plays or waits for the caller.
AGI_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

# The label values of the login counters, present (at 0) from the start so that an alert
# on their rate has a series to watch.
LOGIN_FAILURE_REASONS = ("credentials", "locked")
LOGIN_RATE_LIMITS = ("username", "address")

# fn(session, now) -> metric families; runs in the database thread.
SnapshotQuery = Callable[[Any, Any], Iterable[Metric]]


class _FunctionCollector:
    """Families computed at scrape time from in-memory state (no I/O)."""

    def __init__(self, produce: Callable[[], Iterable[Metric]]) -> None:
        self._produce = produce

    def collect(self) -> Iterable[Metric]:
        return list(self._produce())


class DatabaseSnapshot:
    """Families computed by database queries and kept until the next refresh; a scrape
    returns the last snapshot as it is."""

    log = Logger()

    def __init__(self) -> None:
        self._queries: dict[str, SnapshotQuery] = {}
        self._families: list[Metric] = []
        self.refreshed_at: float | None = None

    def add_query(self, name: str, query: SnapshotQuery) -> None:
        if name in self._queries:
            raise ValueError(f"snapshot query {name!r} registered twice")
        self._queries[name] = query

    def _run(self, session, now) -> list[Metric]:
        families: list[Metric] = []
        for query in self._queries.values():
            families.extend(query(session, now))
        return families

    async def refresh(self, db, now, timestamp: float | None = None) -> None:
        """`db.read` runs every query in one read-only transaction in the pool's thread."""
        if not self._queries:
            return
        self._families = await db.read(self._run, now)
        self.refreshed_at = timestamp

    def collect(self) -> Iterable[Metric]:
        families = list(self._families)
        if self.refreshed_at is not None:
            families.append(GaugeMetricFamily(
                "hotline_db_snapshot_timestamp_seconds",
                "When the database counts were last refreshed (reactor clock)",
                value=self.refreshed_at))
        return families


class Metrics:
    """The registry of one process and the metrics the packages update directly."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.calls = Counter("hotline_calls", "IVR calls ended, by outcome", ["outcome"],
                             registry=r)
        self.agi_command_seconds = Histogram(
            "hotline_agi_command_seconds", "Time from an AGI command to its answer, by command",
            ["command"], buckets=AGI_BUCKETS, registry=r)
        self.sms_receipts = Counter("hotline_sms_receipts",
                                    "SMS delivery receipts received, by state", ["state"],
                                    registry=r)
        # Logins: a lockout storm (someone failing other people's passwords) shows here.
        self.login_failures = Counter(
            "hotline_login_failures", "Logins refused after a check, by reason: credentials "
            "(wrong password, unknown or inactive username), locked (a locked username)",
            ["reason"], registry=r)
        self.login_lockouts = Counter("hotline_login_lockouts",
                                      "Usernames locked by their failed logins", registry=r)
        self.login_rate_limited = Counter(
            "hotline_login_rate_limited", "Login attempts refused unchecked, by the limit they "
            "met: username, address", ["reason"], registry=r)
        for reason in LOGIN_FAILURE_REASONS:
            self.login_failures.labels(reason)
        for reason in LOGIN_RATE_LIMITS:
            self.login_rate_limited.labels(reason)
        self.snapshot = DatabaseSnapshot()
        r.register(self.snapshot)

    def add_collector(self, produce: Callable[[], Iterable[Metric]]) -> None:
        """Register `produce()`, called at each scrape; it must only read memory."""
        self.registry.register(_FunctionCollector(produce))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def agi_verb(command: str) -> str:
    """The command's verb ("STREAM FILE", "GET DATA", "EXEC"): a label of bounded size,
    without the arguments (file names, variable values, numbers)."""
    words = []
    for word in command.split()[:3]:
        if not (word.isalpha() and word.isupper()):
            break
        words.append(word)
    return " ".join(words) or "?"


class SnapshotRefresher(service.Service):
    """Refreshes a `DatabaseSnapshot` every `interval` seconds on the injected clock; a
    refresh that fails is logged and the last snapshot kept."""

    log = Logger()

    def __init__(self, snapshot: DatabaseSnapshot, db, timers: IReactorTime, wall,
                 interval: float = 15.0) -> None:
        self._snapshot = snapshot
        self._db = db
        self._timers = timers
        self._wall = wall
        self.interval = interval
        self._loop: task.LoopingCall | None = None

    def startService(self) -> None:
        super().startService()
        self._loop = task.LoopingCall(self._refresh)
        self._loop.clock = self._timers
        self._loop.start(self.interval, now=True)

    def stopService(self):
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        return super().stopService()

    def _refresh(self):
        d = defer.Deferred.fromCoroutine(
            self._snapshot.refresh(self._db, self._wall.now(), self._timers.seconds()))
        return d.addErrback(lambda failure: self.log.failure(
            "Refreshing the database metrics failed; keeping the last values", failure))
