"""The SMS gateway's services: one link per configured SMSC bind, the outbox dispatcher, and
the built-in SMSC simulator when no SMSC is configured (embedded defaults and the demo)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select
from twisted.application import internet, service
from twisted.internet import endpoints
from twisted.internet.interfaces import IStreamClientEndpoint
from zope.interface import implementer

from hotline.config import ConfigError, SmsConfig
from hotline.core import Core
from hotline.listening import ListeningPorts
from schemas.enums import SmsState
from schemas.sms import SmsMessage
from sms_gateway.cmpp.config import CmppBindConfig
from sms_gateway.cmpp.service import CmppLink
from sms_gateway.dispatcher import DispatchSettings, OutboxDispatcher
from sms_gateway.inbox import Inbox
from sms_gateway.routing import Router
from sms_gateway.sgip.config import SgipBindConfig
from sms_gateway.sgip.service import SgipLink
from sms_gateway.simulator.control import control_factory
from sms_gateway.simulator.smsc import SimulatedSmsc
from sms_gateway.smgp.config import SmgpBindConfig
from sms_gateway.smgp.service import SmgpLink
from sms_gateway.smpp.config import SmppBindConfig
from sms_gateway.smpp.service import SmppLink
from sms_gateway.writer import SmsWriter

SIMULATOR_BIND = "simulator"
SIMULATOR_PASSWORD = "sim"  # the embedded simulator only listens on loopback


BindConfig = SmppBindConfig | CmppBindConfig | SmgpBindConfig | SgipBindConfig
BindLink = SmppLink | CmppLink | SmgpLink | SgipLink

# `protocol` of a bind table -> its settings and its link (each an `ISmsLink` built as
# `Link(config, endpoint, clock, on_receipt=, on_message=, name=)`), and where the
# bind's default sender goes.
PROTOCOLS: dict[str, tuple[type, type, str]] = {
    "smpp": (SmppBindConfig, SmppLink, "source_addr"),
    "cmpp2": (CmppBindConfig, CmppLink, "src_id"),
    "cmpp3": (CmppBindConfig, CmppLink, "src_id"),
    "smgp3": (SmgpBindConfig, SmgpLink, "src_term_id"),
    "sgip12": (SgipBindConfig, SgipLink, "sp_number"),
}


@dataclass(frozen=True)
class BindSettings:
    name: str
    protocol: str
    config: BindConfig
    carriers: tuple[str, ...]


def bind_settings(config: SmsConfig, environ=os.environ) -> list[BindSettings]:
    """Validate the `[sms.binds.NAME]` tables. `protocol` picks the link ("smpp", the
    default, "cmpp2", "cmpp3", "smgp3" or "sgip12") and with it the keys the table may have.
    A bind's password (CMPP's and SMGP's shared secret) may come from the environment as
    HOTLINE_SMS_BIND_<NAME>_PASSWORD, and SGIP's SMG login password as
    HOTLINE_SMS_BIND_<NAME>_SMG_PASSWORD (secrets stay out of files)."""
    binds = []
    for name, table in config.binds.items():
        if not isinstance(table, dict):
            raise ConfigError(f"sms.binds.{name} must be a table")
        fields = dict(table)
        carriers = fields.pop("carriers", [])
        if not isinstance(carriers, list) or not all(isinstance(c, str) for c in carriers):
            raise ConfigError(f"sms.binds.{name}.carriers must be a list of carrier names")
        protocol = fields.pop("protocol", "smpp")
        if protocol not in PROTOCOLS:
            raise ConfigError(f"sms.binds.{name}.protocol must be one of "
                              f"{', '.join(PROTOCOLS)}, got {protocol!r}")
        settings, _, sender = PROTOCOLS[protocol]
        known = {f.name for f in dataclasses.fields(settings)} - {"protocol"}
        unknown = set(fields) - known
        if unknown:
            raise ConfigError(f"unknown key(s) in sms.binds.{name} (protocol {protocol}): "
                              f"{', '.join(sorted(unknown))}")
        if "protocol" in {f.name for f in dataclasses.fields(settings)}:
            fields["protocol"] = protocol
        secret = environ.get(f"HOTLINE_SMS_BIND_{name.upper()}_PASSWORD")
        if secret is not None:
            fields["password"] = secret
        smg_secret = environ.get(f"HOTLINE_SMS_BIND_{name.upper()}_SMG_PASSWORD")
        if smg_secret is not None and "smg_password" in known:
            fields["smg_password"] = smg_secret
        fields.setdefault(sender, config.sender)
        fields.setdefault("max_parts", config.max_parts)
        try:
            bind = settings(**fields)
        except TypeError as error:
            raise ConfigError(f"sms.binds.{name}: {error}") from None
        except ConfigError as error:
            raise ConfigError(f"sms.binds.{name}: {error}") from None
        binds.append(BindSettings(name, protocol, bind, tuple(carriers)))
    return binds


SIMULATOR_LISTENER = "smsc_simulator"  # names in the ports file ([service] ports_file)
SIMULATOR_CONTROL_LISTENER = "smsc_simulator_control"
SIMULATOR_LABEL_PORT = 2775


def _listening(core: Core) -> ListeningPorts:
    listening = getattr(core, "listening", None)
    return listening if listening is not None else ListeningPorts()


@implementer(IStreamClientEndpoint)
class _ListenerEndpoint:
    """Connects to one of this process's own listeners on the port it got."""

    def __init__(self, reactor: object, listening: ListeningPorts, name: str) -> None:
        self._reactor = reactor
        self._listening = listening
        self._name = name

    def connect(self, protocolFactory):
        def connect(port: int):
            return endpoints.TCP4ClientEndpoint(self._reactor, "127.0.0.1", port).connect(
                protocolFactory)
        return self._listening.port_of(self._name).addCallback(connect)


class SmsService(service.MultiService):
    """The SMS side of one process: a link per bind, the outbox dispatcher, and the inbox
    where receipts and replies land; `simulator` is the embedded SMSC (None: real ones)."""

    inbox: Inbox
    links: dict[str, BindLink]
    dispatcher: OutboxDispatcher
    simulator: SimulatedSmsc | None = None


def makeService(core: Core) -> SmsService:
    config = core.config.sms
    top = SmsService()
    top.setName("sms")
    binds = bind_settings(config)
    embedded = not binds  # no SMSC configured: the built-in simulator, in this process
    if embedded:
        smsc = SimulatedSmsc(core.reactor, credentials={"hotline": SIMULATOR_PASSWORD})
        listening = _listening(core)
        listener = internet.StreamServerEndpointService(
            listening.endpoint(SIMULATOR_LISTENER, endpoints.TCP4ServerEndpoint(
                core.reactor, config.simulator_port, interface="127.0.0.1")), smsc.factory())
        listener.setName("smsc-simulator")
        listener.setServiceParent(top)
        control = internet.StreamServerEndpointService(
            listening.endpoint(SIMULATOR_CONTROL_LISTENER, endpoints.TCP4ServerEndpoint(
                core.reactor, config.simulator_control_port, interface="127.0.0.1")),
            control_factory(smsc, config.sender))
        control.setName("smsc-simulator-control")
        control.setServiceParent(top)
        top.simulator = smsc
        binds = [BindSettings(SIMULATOR_BIND, "smpp",
                              # The link dials the port the listener got (it may be
                              # any: port 0); the bind's own port is only its label.
                              SmppBindConfig(port=config.simulator_port or SIMULATOR_LABEL_PORT,
                                             password=SIMULATOR_PASSWORD,
                                             source_addr=config.sender,
                                             max_parts=config.max_parts), ())]
    metrics = core.metrics
    # One writer for the dispatcher and the inbox: results, receipts and replies in one
    # transaction at a time, results first (see sms_gateway.writer).
    writer = SmsWriter(core.db, core.clock, core.reactor, linger_s=0.002)
    inbox = Inbox(core.db, core.clock, metrics=metrics, writer=writer)
    links: dict[str, BindLink] = {}
    for bind in binds:
        endpoint: IStreamClientEndpoint = endpoints.TCP4ClientEndpoint(
            core.reactor, bind.config.host, bind.config.port)
        if embedded:
            # The embedded simulator's port may be any the kernel gave it (port 0).
            endpoint = _ListenerEndpoint(core.reactor, _listening(core), SIMULATOR_LISTENER)
        link_class = PROTOCOLS[bind.protocol][1]
        options = {}
        if isinstance(bind.config, SgipBindConfig):
            # The SMG binds to us to deliver: the listener's port goes in the ports file.
            options["listen_endpoint"] = _listening(core).endpoint(
                f"sms_sgip_{bind.name}", endpoints.TCP4ServerEndpoint(
                    core.reactor, bind.config.listen_port, interface=bind.config.listen_host))
        link: BindLink = link_class(bind.config, endpoint, core.reactor,
                                    on_receipt=_receipts_via(inbox, bind.name, links),
                                    on_message=inbox.on_message, name=bind.name, **options)
        link.setServiceParent(top)
        links[bind.name] = link
        core.links[f"smsc:{bind.name}"] = _link_state(link)
    fallback = config.fallback_bind or binds[0].name
    if fallback not in links:
        raise ConfigError(f"sms.fallback_bind {fallback!r} names no bind")
    carriers = {carrier: bind.name for bind in binds for carrier in bind.carriers}
    for prefix, name in config.prefix_routes.items():
        if name not in links:
            raise ConfigError(f"sms.prefix_routes.{prefix} names no bind {name!r}")
    router = Router(carriers, config.prefix_routes, fallback)
    settings = DispatchSettings(owner=f"{core.config.service.name}:{os.getpid()}",
                                batch=config.dispatch_batch, max_in_flight=config.max_in_flight,
                                lease=dt.timedelta(seconds=config.lease_s),
                                poll_s=config.poll_s, max_attempts=config.max_attempts,
                                retry_initial=dt.timedelta(seconds=config.retry_initial_s),
                                retry_max=dt.timedelta(seconds=config.retry_max_s))
    dispatcher = OutboxDispatcher(core.db, links, router, core.reactor, core.clock, settings,
                                  writer=writer)
    dispatcher.setName("sms-dispatcher")
    dispatcher.setServiceParent(top)
    top.inbox, top.links, top.dispatcher = inbox, links, dispatcher
    if metrics is not None:
        metrics.add_collector(lambda: _live_families(dispatcher, links))
        metrics.snapshot.add_query("sms", sms_counts)
    return top


class _LinkState:
    """What /healthz reads of a bind: (up, since), and why it is down (`down_reason`)."""

    def __init__(self, link: BindLink) -> None:
        self._link = link

    def __call__(self) -> tuple[bool, float]:
        return self._link.is_available(), self._link.since

    def down_reason(self) -> str | None:
        return self._link.down_reason


def _link_state(link: BindLink) -> _LinkState:
    return _LinkState(link)


def _live_families(dispatcher: OutboxDispatcher, links: dict):
    """The dispatcher's counters and each bind's window use, read from memory at scrape time."""
    for name, doc, value in (("submitted", "SMS accepted by an SMSC", dispatcher.submitted),
                             ("failed", "SMS failed for good", dispatcher.failed),
                             ("receipts_expired", "delivery receipts held 72 h that never met "
                              "their message", dispatcher.receipts_expired),
                             ("unknown", "SMS with no final receipt within their validity, "
                              "now unknown", dispatcher.unknown)):
        yield CounterMetricFamily(f"hotline_sms_{name}", f"{doc} (this process)", value=value)
    # Retries counted where they happen: each part a bind's pump sends again, by the
    # carrier's status; and each message the outbox queues again for a later attempt.
    retried = CounterMetricFamily("hotline_sms_retried_total", "SMS parts sent again by a "
                                  "bind, and messages queued again by the outbox (this process)",
                                  labels=["bind", "status"])
    for name, link in links.items():
        for status, count in sorted(link.submits.retries.items()):
            retried.add_metric([name, status], count)
    retried.add_metric(["outbox", "requeued"], dispatcher.retried)
    yield retried
    yield GaugeMetricFamily("hotline_sms_in_flight", "SMS claimed and waiting for the SMSC",
                            value=dispatcher.in_flight())
    window = GaugeMetricFamily("hotline_sms_window_use",
                               "Parts pending on a bind over its window", labels=["bind"])
    up = GaugeMetricFamily("hotline_sms_bind_up", "1 when the bind can submit", labels=["bind"])
    for name, link in links.items():
        window.add_metric([name], link.pending() / max(1, link.config.window))
        up.add_metric([name], 1.0 if link.is_available() else 0.0)
    yield window
    yield up


def sms_counts(session, now: dt.datetime):
    """Runs in the database thread (the core's metrics snapshot): SMS by state, and the age
    of the oldest queued message that is due (the dispatcher's lag)."""
    by_state = GaugeMetricFamily("hotline_sms_messages", "SMS messages by state",
                                 labels=["state"])
    counts = dict(session.execute(
        select(SmsMessage.state, func.count()).group_by(SmsMessage.state)).all())
    for state in SmsState:
        by_state.add_metric([state.value], counts.get(state, 0))
    oldest = session.execute(select(func.min(SmsMessage.not_before)).where(
        SmsMessage.state == SmsState.QUEUED, SmsMessage.not_before <= now)).scalar()
    lag = 0.0
    if oldest is not None:
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=dt.timezone.utc)
        lag = max(0.0, (now - oldest).total_seconds())
    return [by_state, GaugeMetricFamily(
        "hotline_sms_dispatch_lag_seconds", "Age of the oldest due queued SMS", value=lag)]



def _receipts_via(inbox: Inbox, name: str, links: dict):
    """Receipts from one bind are matched with that bind's id conventions."""
    return lambda receipt: inbox.on_receipt(receipt, links[name].receipt_id_keys(receipt),
                                            link=name)
