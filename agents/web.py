"""The web application's resource tree and its listening service."""

from __future__ import annotations

from twisted.application import internet, service
from twisted.internet import endpoints
from twisted.web import http, resource

from agents.app import WebApp
from agents.config import AuthConfig, auth_config
from agents.health import HealthResource, MetricsResource
from agents.http import WebAdapter, WebSite
from agents.live import LiveRecorder
from hotline.core import Core
from hotline.masking import mask_text
from hotline.metrics import SnapshotRefresher


def masked_access_log(timestamp: str, request) -> str:
    # Paths carry phone numbers (/callers/138...); the access log masks them like any log.
    return mask_text(http.combinedLogFormatter(timestamp, request))


class _Root(resource.Resource):
    """/healthz and /metrics as resources of their own; every other path to the application."""

    def __init__(self, app_resource: resource.Resource) -> None:
        super().__init__()
        self._app = app_resource

    def getChild(self, path: bytes, request) -> resource.Resource:
        return self._app


def auth_settings(core: Core) -> AuthConfig:
    return auth_config(core.config.auth)


def make_app(core: Core, auth: AuthConfig | None = None, reports=None,
             callbacks=None) -> WebApp:
    return WebApp(core, auth if auth is not None else auth_settings(core), reports=reports,
                  callbacks=callbacks)


def make_root(core: Core, app: WebApp | None = None) -> resource.Resource:
    app = app or make_app(core)
    root = _Root(WebAdapter(app.handle, clock=core.reactor))
    root.putChild(b"healthz", HealthResource(core.db, links=getattr(core, "links", None),
                                             clock=core.reactor,
                                             calendar=getattr(core, "calendar", None),
                                             warnings=getattr(core, "warnings", None)))
    metrics = getattr(core, "metrics", None)
    if metrics is not None:
        # No login: firewall it to the monitoring host, or set [metrics] token
        # (HOTLINE_METRICS_TOKEN) and have Prometheus send it as a bearer token.
        root.putChild(b"metrics", MetricsResource(metrics, core.config.metrics.token or None))
    return root


class _LiveService(service.Service):
    """While the process runs: records the queue's AMI events in the database (every
    process with an AMI link does, idempotently), and serves its terminals from there."""

    def __init__(self, app: WebApp, recorder: LiveRecorder | None) -> None:
        self._app = app
        self._recorder = recorder

    def startService(self) -> None:
        super().startService()
        if self._recorder is not None:
            self._recorder.start()
        self._app.hub.start()

    def stopService(self):
        super().stopService()
        self._app.hub.stop()
        if self._recorder is not None:
            return self._recorder.stop()
        return None


def makeService(core: Core, auth: AuthConfig | None = None,
                reports=None, callbacks=None) -> service.MultiService:
    """`reports`: report queries by name, injected by the wiring (e.g. the callback queue's
    compliance report) so that the web app imports no other package; `callbacks`: the
    callback queue's facade for the agents' worklist (its service's `.queue`)."""
    web = core.config.web
    top = service.MultiService()
    top.setName("web")
    app = make_app(core, auth, reports, callbacks)
    recorder = None
    if core.ami is not None:
        recorder = LiveRecorder(core.ami, core.db, core.clock, queue=core.config.agi.queue,
                                default_wrap_up_s=core.config.agi.queue_wrapup_s)
        recorder.recorded.append(app.hub.wake)
    _LiveService(app, recorder).setServiceParent(top)
    metrics = getattr(core, "metrics", None)
    if metrics is not None:
        refresher = SnapshotRefresher(metrics.snapshot, core.db, core.reactor, core.clock,
                                      interval=core.config.metrics.refresh_s)
        refresher.setName("metrics-refresh")
        refresher.setServiceParent(top)
    endpoint = core.listening.endpoint(
        "web", endpoints.TCP4ServerEndpoint(core.reactor, web.port, interface=web.host))
    site = WebSite(make_root(core, app), logFormatter=masked_access_log)
    site.displayTracebacks = False
    internet.StreamServerEndpointService(endpoint, site).setServiceParent(top)
    return top
