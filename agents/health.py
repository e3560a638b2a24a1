"""`GET /metrics`: the process's Prometheus metrics.

`GET /healthz`: is the database reachable and migrated to head; which version runs; each
link (database, AMI, each SMSC bind) up or down, and since when.

`warnings`: what an operator must act on though the service runs, e.g. a year a deadline
was computed in that has neither the calendar library's data nor a loaded holiday list
(`hotline calendar load`); `calendar.unknown_years` lists those years. The packages add
their own through the core's `warnings` registry (the IVR: prompts or the voice-message
spool missing from Asterisk), each line naming its fix.

Only the database decides the status code: a down AMI or SMSC link, or a warning, is
reported, but the service still answers calls, so it stays 200."""

from __future__ import annotations

import datetime as dt
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server

import hotline
from hotline import db as database
from hotline.db import Database
from hotline.metrics import CONTENT_TYPE, Metrics
from hotline.workdays import WorkCalendar


class HealthResource(resource.Resource):
    isLeaf = True
    log = Logger()

    def __init__(self, db: Database, head_revision: str | None = None, *,
                 links: Mapping[str, Callable[[], tuple[bool, float]]] | None = None,
                 clock=None, calendar: WorkCalendar | None = None,
                 warnings: Mapping[str, Callable[[], list[str]]] | None = None) -> None:
        """`links`: name -> fn() -> (up, since in `clock` seconds), read at each request (a
        live mapping: packages may register after this is built); `clock`: an IReactorTime
        that dates the database's changes of state as this resource observes them;
        `calendar`: the process's working-day calendar, whose unknown years are warned of;
        `warnings`: name -> fn() -> lines to warn of, read at each request like `links`."""
        super().__init__()
        self._db = db
        self._calendar = calendar
        self._links = links if links is not None else {}
        self._more_warnings = warnings if warnings is not None else {}
        self._clock = clock
        self._database_state: tuple[bool, float] | None = None
        # Read once here: the migration scripts are files, and the reactor thread reads none.
        self._head = head_revision or database.head_revision()

    def render_GET(self, request):
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))
        defer.Deferred.fromCoroutine(self._respond(request, gone))
        return server.NOT_DONE_YET

    async def _respond(self, request, gone: list[bool]) -> None:
        head = self._head
        report: dict[str, Any] = {"version": hotline.__version__,
                                  "database": {"up": False, "head": head}}
        try:
            current = await self._db.read(_current_revision)
            report["database"].update(up=True, revision=current, migrated=current == head)
        except Exception as error:  # any driver error means "down", named in the report
            self.log.warn("Health check: database unreachable: {error}", error=error)
            report["database"]["error"] = type(error).__name__
        report["links"] = self._link_report(report["database"]["up"])
        if self._calendar is not None:
            report["calendar"] = {"loaded_years": list(self._calendar.loaded_years),
                                  "unknown_years": list(self._calendar.unknown_years())}
        report["warnings"] = self._warnings(report)
        healthy = report["database"].get("migrated", False)
        report["status"] = "ok" if healthy else "unhealthy"
        request.setResponseCode(200 if healthy else 503)
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        if not gone:
            request.write(json.dumps(report).encode())
            request.finish()

    def _warnings(self, report: dict) -> list[str]:
        warnings = []
        unknown = report.get("calendar", {}).get("unknown_years")
        if unknown:
            warnings.append(f"calendar: no holiday data for {', '.join(map(str, unknown))}: "
                            f"deadlines there count its public holidays as working days; load "
                            f"the State Council's list with `hotline calendar load FILE`")
        for name, lines in sorted(self._more_warnings.items()):
            try:
                warnings.extend(lines())
            except Exception:  # one package's fault must not take the health check down
                self.log.failure("Health check: warnings of {name} failed", name=name)
        return warnings

    def _link_report(self, database_up: bool) -> dict:
        links = {}
        if self._clock is not None:
            now = self._clock.seconds()
            if self._database_state is None or self._database_state[0] != database_up:
                self._database_state = (database_up, now)
            links["database"] = {"up": database_up, "since": _iso(self._database_state[1])}
        for name, state in sorted(self._links.items()):
            up, since = state()
            links[name] = {"up": bool(up), "since": _iso(since)}
            reason = getattr(state, "down_reason", None)  # an SMS bind says why it is down
            if not up and reason is not None and reason():
                links[name]["reason"] = reason()
        return links


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat()


def _current_revision(session):
    database.ping(session)
    return database.current_revision(session)


class MetricsResource(resource.Resource):
    """The Prometheus text exposition. Needs no login: firewall it to the monitoring host,
    or give a `token` that each scrape must send as `Authorization: Bearer <token>`.
    Rendering only reads memory (the database counts are a snapshot refreshed elsewhere)."""

    isLeaf = True

    def __init__(self, metrics: Metrics, token: str | None = None) -> None:
        super().__init__()
        self._metrics = metrics
        self._token = token.encode() if token else None

    def render_GET(self, request):
        request.setHeader(b"cache-control", b"no-store")
        if self._token is not None:
            given = request.getHeader(b"authorization") or b""
            if not hmac.compare_digest(given, b"Bearer " + self._token):
                request.setResponseCode(401)
                request.setHeader(b"www-authenticate", b"Bearer")
                return b""
        request.setHeader(b"content-type", CONTENT_TYPE.encode())
        return self._metrics.render()
