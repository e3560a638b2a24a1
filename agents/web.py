"""The web application's resource tree and its listening service."""

from __future__ import annotations

from twisted.application import internet, service
from twisted.internet import endpoints
from twisted.web import resource, server

from agents.health import HealthResource
from hotline.core import Core


def make_root(core: Core) -> resource.Resource:
    root = resource.Resource()
    root.putChild(b"healthz", HealthResource(core.db))
    return root


def makeService(core: Core) -> service.MultiService:
    web = core.config.web
    top = service.MultiService()
    top.setName("web")
    endpoint = endpoints.TCP4ServerEndpoint(core.reactor, web.port, interface=web.host)
    site = server.Site(make_root(core))
    site.displayTracebacks = False
    internet.StreamServerEndpointService(endpoint, site).setServiceParent(top)
    return top
