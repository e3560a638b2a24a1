"""One reminder planner as a real process, for the two-process test:
`python -m tests.sms_gateway.messages.planner_process URL NAME POLL_S` runs the planner
service with the real reactor and wall clock and prints its log lines, prefixed with NAME."""

from __future__ import annotations

import sys


def main(url: str, name: str, poll_s: str) -> None:
    from twisted.internet import defer, reactor
    from twisted.logger import formatEvent, globalLogBeginner

    from hotline.clock import SystemClock
    from hotline.config import Config, DatabaseConfig
    from hotline.db import Database, make_engine
    from sms_gateway.messages.planner import PlannerService
    from sms_gateway.messages.service import build
    from tests.support.appeals import SHANGHAI

    def observer(event):
        if event.get("log_namespace", "").startswith("sms_gateway.messages"):
            print(f"{name}: {formatEvent(event)}", flush=True)
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)

    db = Database(make_engine(DatabaseConfig(url=url, pool_threads=2)), reactor, threads=2)
    parts = build(Config(), SHANGHAI)
    planner = PlannerService(db, parts.planner, wall=SystemClock(), clock=reactor,
                             poll_s=float(poll_s), batch=50)
    db.startService()
    planner.startService()
    async def stop():
        await planner.stopService()
        db.stopService()
    reactor.addSystemEventTrigger("before", "shutdown",
                                  lambda: defer.Deferred.fromCoroutine(stop()))
    print(f"{name}: started", flush=True)
    reactor.run()


if __name__ == "__main__":
    main(*sys.argv[1:])
