"""Real processes for the crash test: `python -m tests.callback_queue.processes peer` runs
the simulated Asterisk on a TCP port (Originates are acknowledged and never answered, so a
call stays in the air); `... dispatcher URL PORT OWNER LEASE_S` runs one callback dispatcher
against it with the real reactor and the system clock."""

from __future__ import annotations

import sys
import time


def peer() -> None:
    from twisted.internet import reactor

    from hotline.ami.actions import OriginateReason
    from hotline.ami.simulator import AsteriskManagerSimulator, OriginateScript

    class Recording(AsteriskManagerSimulator):
        def originate(self, session, request):
            variables = ",".join(request.getall("Variable"))
            print(f"originate {variables} {time.time():.3f}", flush=True)
            super().originate(session, request)

    sim = Recording(reactor, default_outcome=OriginateScript(OriginateReason.ANSWERED, respond=False))
    port = reactor.listenTCP(0, sim, interface="127.0.0.1")
    print(f"port {port.getHost().port}", flush=True)
    reactor.run()


def dispatcher(url: str, port: str, owner: str, lease_s: str) -> None:
    from twisted.internet import reactor

    from callback_queue import CallbackDispatcher
    from callback_queue.config import CallbacksConfig
    from callback_queue.policy import CallbackPolicy
    from callback_queue.repository import CallbackRepository
    from hotline.ami import AMIService
    from hotline.clock import SystemClock
    from hotline.config import DatabaseConfig
    from hotline.db import Database, make_engine
    from hotline.workdays import WorkCalendar
    from tests.support.appeals import SHANGHAI, make_repository

    config = CallbacksConfig(calling_hours="00:00-24:00", call_on_holidays=True,
                             lease_s=float(lease_s), poll_s=0.2,
                             originate_response_s=float(lease_s) - 1.0)
    db = Database(make_engine(DatabaseConfig(url=url, pool_threads=2)), reactor, threads=2)
    ami = AMIService("127.0.0.1", int(port), "hotline", "secret", auth="plain", reactor=reactor,
                     ping_interval=None)
    repository = CallbackRepository(CallbackPolicy(config, WorkCalendar(), SHANGHAI),
                                    make_repository())
    service = CallbackDispatcher(db, repository, ami, SystemClock(), reactor, config, owner=owner)
    db.startService()
    ami.startService()

    def go():
        service.startService()
        print("started", flush=True)

    ami.when_logged_in(timeout=10).addCallback(lambda _: go())
    reactor.run()


if __name__ == "__main__":
    if sys.argv[1] == "peer":
        peer()
    else:
        dispatcher(*sys.argv[2:6])
