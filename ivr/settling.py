"""At start, close the call records an earlier run of this process left in progress.

A process killed mid-call never writes those calls' outcomes; without this they would stay
`in_progress` for good and count as live calls in every report. The rule for telling a
record's process is gone is `ivr.call_records.settle_left_in_progress`."""

from __future__ import annotations

from twisted.application import service
from twisted.logger import Logger

from hotline.core import Core
from ivr.call_records import settle_left_in_progress


class CallRecordSettler(service.Service):
    """Runs the settling once when started (it does not hold up the start: a failure is
    logged, and the next start tries again)."""

    log = Logger()

    def __init__(self, core: Core) -> None:
        self.core = core
        self.done = None

    def startService(self) -> None:
        super().startService()
        now = self.core.clock.now()
        process = self.core.config.service.name
        self.done = self.core.db.write(settle_left_in_progress, process=process,
                                       started_before=now, now=now)
        self.done.addCallbacks(self._settled, self._failed)

    def _settled(self, count: int) -> None:
        if count:
            self.log.warn("Settled {count} call record(s) left in progress by a process that "
                          "is gone (killed mid-call): outcome failed", count=count)

    def _failed(self, failure) -> None:
        self.log.failure("Could not settle call records left in progress", failure)
