"""/healthz says why an SMS bind is down: the bind's refusal as the SMSC named it."""

import json

from twisted.internet.task import Clock
from twisted.web.test.requesthelper import DummyRequest

from agents.health import HealthResource
from sms_gateway.service import _link_state
from sms_gateway.simulator import SimulatedSmsc
from tests.sms_gateway.test_link import make_link


def health(database, pumped_reactor, links):
    request = DummyRequest([b""])
    done = request.notifyFinish()
    HealthResource(database, links=links, clock=Clock()).render_GET(request)
    pumped_reactor.wait(done)
    return json.loads(b"".join(request.written))["links"]


def test_healthz_names_the_bind_refusal_of_a_down_bind_and_drops_it_once_up(
        database, pumped_reactor):
    clock = Clock()
    smsc = SimulatedSmsc(clock, credentials={"hotline": "other"}, receipt_delay=None)
    link, smsc, endpoint, inbox, clock = make_link(clock, smsc=smsc)
    links = {"smsc:mobile": _link_state(link)}
    report = health(database, pumped_reactor, links)["smsc:mobile"]
    assert report["up"] is False
    assert report["reason"] == "ESME_RBINDFAIL: bind_transceiver refused"
    smsc.credentials["hotline"] = "secret"
    endpoint.advance(2.0)
    assert "reason" not in health(database, pumped_reactor, links)["smsc:mobile"]


def test_healthz_names_a_connection_refused_by_the_smsc_host(database, pumped_reactor):
    link, smsc, endpoint, inbox, clock = make_link()
    endpoint.refuse = True
    for session in list(smsc.sessions):
        session.transport.loseConnection()
    endpoint.advance(3.0)
    report = health(database, pumped_reactor, {"smsc:mobile": _link_state(link)})["smsc:mobile"]
    assert report["up"] is False and report["reason"].startswith("cannot connect: ")
