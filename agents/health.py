"""`GET /healthz`: is the database reachable and migrated to head; which version runs."""

from __future__ import annotations

import json

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server

import hotline
from hotline import db as database
from hotline.db import Database


class HealthResource(resource.Resource):
    isLeaf = True
    log = Logger()

    def __init__(self, db: Database, head_revision: str | None = None) -> None:
        super().__init__()
        self._db = db
        # Read once here: the migration scripts are files, and the reactor thread reads none.
        self._head = head_revision or database.head_revision()

    def render_GET(self, request):
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))
        defer.Deferred.fromCoroutine(self._respond(request, gone))
        return server.NOT_DONE_YET

    async def _respond(self, request, gone: list[bool]) -> None:
        head = self._head
        report = {"version": hotline.__version__, "database": {"up": False, "head": head}}
        try:
            current = await self._db.read(_current_revision)
            report["database"].update(up=True, revision=current, migrated=current == head)
        except Exception as error:  # any driver error means "down", named in the report
            self.log.warn("Health check: database unreachable: {error}", error=error)
            report["database"]["error"] = type(error).__name__
        healthy = report["database"].get("migrated", False)
        report["status"] = "ok" if healthy else "unhealthy"
        request.setResponseCode(200 if healthy else 503)
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        if not gone:
            request.write(json.dumps(report).encode())
            request.finish()


def _current_revision(session):
    database.ping(session)
    return database.current_revision(session)
