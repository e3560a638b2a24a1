"""The process's metrics: one registry per `Metrics`, what the packages count into it, and
the database counts refreshed on a timer (never at scrape time)."""

from __future__ import annotations

import datetime as dt

import prometheus_client
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.web.test.requesthelper import DummyRequest

import callback_queue
import sms_gateway.service
from agents.health import MetricsResource
from hotline.config import AmiConfig, Config, DatabaseConfig
from hotline.core import make_core
from hotline.metrics import DatabaseSnapshot, Metrics, SnapshotRefresher, agi_verb
from ivr.agi import FastAGIProtocol, FlowRegistry
from schemas.enums import SmsKind
from sms_gateway import outbox
from sms_gateway.inbox import Inbox
from sms_gateway.link import DeliveryReceipt, MessageState
from tests.ivr.helpers import run_call, server_protocol
from tests.ivr.test_agi_protocol import header
from tests.ivr.test_hotline_flow import MemoryBackend, citizen, make_flow

NOW = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.timezone.utc)


def value(metrics: Metrics, name: str, **labels) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_each_metrics_object_counts_in_its_own_registry_not_the_global_one():
    one, other = Metrics(), Metrics()
    one.calls.labels("to_queue").inc()
    assert value(one, "hotline_calls_total", outcome="to_queue") == 1
    assert value(other, "hotline_calls_total", outcome="to_queue") is None
    assert prometheus_client.REGISTRY.get_sample_value("hotline_calls_total",
                                                       {"outcome": "to_queue"}) is None


def test_agi_verb_keeps_the_command_and_drops_its_arguments():
    assert agi_verb('STREAM FILE hotline/greeting "0"') == "STREAM FILE"
    assert agi_verb("GET FULL VARIABLE ${QUEUE_WAITING_COUNT(hotline)}") == "GET FULL VARIABLE"
    assert agi_verb("EXEC Queue hotline") == "EXEC"
    assert agi_verb("SET VARIABLE HOTLINE_CALL_ID x") == "SET VARIABLE"
    assert agi_verb("") == "?"


def test_an_ivr_call_is_counted_by_its_outcome():
    metrics = Metrics()
    backend = MemoryBackend()
    flow = make_flow(backend)
    flow._metrics = metrics
    run_call(flow, "_ 1", citizen())
    assert value(metrics, "hotline_calls_total", outcome="to_queue") == 1


def test_agi_command_latency_is_observed_from_command_to_answer():
    metrics = Metrics()
    protocols = []

    async def flow(channel, env):
        await protocols[0].sendCommand('STREAM FILE hotline/greeting ""')

    registry = FlowRegistry()
    registry.register("hotline", flow)
    protocol, transport, clock = server_protocol(registry, metrics=metrics)
    protocols.append(protocol)
    protocol.dataReceived(header())
    clock.advance(0.25)
    protocol.dataReceived(b"200 result=0 endpos=100\n")
    assert value(metrics, "hotline_agi_command_seconds_count", command="STREAM FILE") == 1
    assert value(metrics, "hotline_agi_command_seconds_sum", command="STREAM FILE") == 0.25


def test_a_call_without_metrics_counts_nothing_and_still_runs():
    call = run_call(make_flow(MemoryBackend()), "_ 1", citizen())
    assert call.server.metrics is None
    assert "EXEC Queue hotline,t,,,600" in call.commands()


def test_agi_protocol_takes_its_metrics_from_the_factory_when_not_given():
    metrics = Metrics()

    class Factory:
        pass

    factory = Factory()
    factory.metrics = metrics
    protocol = FastAGIProtocol(FlowRegistry(), Clock())
    protocol.factory = factory
    protocol.makeConnection(StringTransport())
    assert protocol.metrics is metrics


class _ImmediateDb:
    def __init__(self, session="session"):
        self.session = session
        self.reads = 0

    def read(self, work, *args):
        self.reads += 1
        return defer.succeed(work(self.session, *args))

    def write(self, work, *args):
        return defer.succeed(True)


class _Wall:
    def now(self):
        return NOW


def test_receipts_are_counted_by_state():
    metrics = Metrics()
    inbox = Inbox(_ImmediateDb(), _Wall(), metrics=metrics)
    inbox.on_receipt(DeliveryReceipt("1", MessageState.DELIVERED))
    inbox.on_receipt(DeliveryReceipt("2", MessageState.DELIVERED))
    inbox.on_receipt(DeliveryReceipt("3", MessageState.EXPIRED))
    assert value(metrics, "hotline_sms_receipts_total", state="delivered") == 2
    assert value(metrics, "hotline_sms_receipts_total", state="expired") == 1


def test_database_counts_are_refreshed_on_the_timer_not_at_scrape_time():
    from prometheus_client.core import GaugeMetricFamily

    metrics = Metrics()
    seen = []

    def query(session, now):
        seen.append(now)
        return [GaugeMetricFamily("hotline_test_rows", "rows", value=len(seen))]

    metrics.snapshot.add_query("test", query)
    db, clock = _ImmediateDb(), Clock()
    refresher = SnapshotRefresher(metrics.snapshot, db, clock, _Wall(), interval=10)
    refresher.startService()
    assert value(metrics, "hotline_test_rows") == 1
    metrics.render()
    metrics.render()
    assert db.reads == 1  # scrapes read the snapshot only
    clock.advance(10)
    assert value(metrics, "hotline_test_rows") == 2
    assert value(metrics, "hotline_db_snapshot_timestamp_seconds") == 10
    refresher.stopService()
    clock.advance(100)
    assert db.reads == 2


def test_a_failed_refresh_keeps_the_last_snapshot():
    from prometheus_client.core import GaugeMetricFamily

    snapshot = DatabaseSnapshot()
    state = {"fail": False}

    def query(session, now):
        if state["fail"]:
            raise RuntimeError("database gone")
        return [GaugeMetricFamily("hotline_test_rows", "rows", value=3)]

    snapshot.add_query("test", query)
    metrics = Metrics()
    metrics.registry.unregister(metrics.snapshot)
    metrics.snapshot = snapshot
    metrics.registry.register(snapshot)
    clock = Clock()
    refresher = SnapshotRefresher(snapshot, _ImmediateDb(), clock, _Wall(), interval=5)
    refresher.startService()
    state["fail"] = True
    clock.advance(5)
    assert value(metrics, "hotline_test_rows") == 3
    refresher.stopService()


def test_sms_and_callback_counts_come_from_the_database(database, pumped_reactor):
    database.write_now(outbox.enqueue, kind=SmsKind.APPEAL_RECEIVED, destination="13812345678",
                       text="x", now=NOW - dt.timedelta(seconds=30))
    snapshot = DatabaseSnapshot()
    snapshot.add_query("sms", sms_gateway.service.sms_counts)
    snapshot.add_query("callbacks", callback_queue.callback_counts)
    metrics = Metrics()
    metrics.registry.register(snapshot)
    pumped_reactor.wait(defer.Deferred.fromCoroutine(snapshot.refresh(database, NOW, 1.0)))
    get = metrics.registry.get_sample_value
    assert get("hotline_sms_messages", {"state": "queued"}) == 1
    assert get("hotline_sms_messages", {"state": "delivered"}) == 0
    assert get("hotline_sms_dispatch_lag_seconds") == 30
    assert get("hotline_callbacks", {"state": "pending"}) == 0
    assert get("hotline_callbacks_overdue") == 0


def test_wired_sms_gateway_exposes_dispatcher_counters_window_use_and_pool(tmp_path):
    url = f"sqlite:///{tmp_path / 'hotline.sqlite3'}"
    core = make_core(Config(database=DatabaseConfig(url=url), ami=AmiConfig(enabled=False)),
                     MemoryReactorClock())
    sms = sms_gateway.service.makeService(core)
    sms.dispatcher.submitted = 7
    sms.dispatcher.receipts_expired = 2
    text = core.metrics.render().decode()
    assert "hotline_sms_submitted_total 7.0" in text
    assert "hotline_sms_receipts_expired_total 2.0" in text
    assert 'hotline_sms_window_use{bind="simulator"} 0.0' in text
    assert 'hotline_sms_bind_up{bind="simulator"} 0.0' in text
    assert "hotline_db_pool_checked_out" in text
    up, since = core.links["smsc:simulator"]()
    assert up is False


def test_metrics_resource_serves_the_text_format_and_checks_a_bearer_token():
    metrics = Metrics()
    metrics.calls.labels("failed").inc()
    request = DummyRequest([b""])
    body = MetricsResource(metrics).render_GET(request)
    assert b'hotline_calls_total{outcome="failed"} 1.0' in body
    assert request.responseHeaders.getRawHeaders(b"content-type")[0].startswith(b"text/plain")

    guarded = MetricsResource(metrics, token="s3cret")
    refused = DummyRequest([b""])
    assert guarded.render_GET(refused) == b""
    assert refused.responseCode == 401
    allowed = DummyRequest([b""])
    allowed.requestHeaders.addRawHeader(b"authorization", b"Bearer s3cret")
    assert b"hotline_calls_total" in guarded.render_GET(allowed)


def test_web_root_serves_metrics_beside_healthz_and_the_web_service_refreshes_them(tmp_path):
    from agents.web import make_root, makeService

    url = f"sqlite:///{tmp_path / 'hotline.sqlite3'}"
    core = make_core(Config(database=DatabaseConfig(url=url), ami=AmiConfig(enabled=False)),
                     MemoryReactorClock())
    root = make_root(core)
    request = DummyRequest([b""])
    resource = root.getChildWithDefault(b"metrics", request)
    assert isinstance(resource, MetricsResource)
    assert b"hotline_db_pool" in resource.render_GET(request)
    web = makeService(core)
    assert web.getServiceNamed("metrics-refresh").interval > 0
