"""QueueStatus answered without its event list: over a StringTransport with a task.Clock the
protocol fails with a typed error (never hands a bare response to a reader of lists), and the
simulator answers that way when told to, through the reconnecting service."""

import pytest
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs, formatEvent

from hotline.ami.actions import ListResult
from hotline.ami.errors import AMIActionError, AMIActionTimeout, AMIUnexpectedResponse
from hotline.ami.events import EventDispatcher
from hotline.ami.protocol import AMIClientProtocol
from hotline.ami.service import AMIService
from hotline.ami.simulator import (
    QUEUE_STATUS_BARE,
    QUEUE_STATUS_ERROR,
    QUEUE_STATUS_LIST,
    QUEUE_STATUS_UNFINISHED,
    AsteriskManagerSimulator,
)
from tests.ami.support import SimulatorEndpoint

BANNER = b"Asterisk Call Manager/12.0.0\r\n"
# What an Asterisk that forgets the list header would send: the answer, then nothing.
BARE_SUCCESS = b"Response: Success\r\nActionID: t-2\r\nMessage: Queue status will follow\r\n\r\n"
LIST_START = b"Response: Success\r\nActionID: t-2\r\nEventList: start\r\nMessage: Queue status will follow\r\n\r\n"
QUEUE_PARAMS = b"Event: QueueParams\r\nQueue: hotline\r\nCalls: 0\r\nActionID: t-2\r\n\r\n"


def result_of(d):
    box = []
    d.addBoth(box.append)
    assert box, "Deferred has not fired"
    return box[0]


def failure_of(d, exc):
    value = result_of(d)
    assert hasattr(value, "check") and value.check(exc), value
    return value.value


def logged_in():
    clock = Clock()
    protocol = AMIClientProtocol(clock, EventDispatcher(), action_id_prefix="t-", ping_interval=None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(BANNER)
    d = protocol.login("hotline", "secret", "plain")
    protocol.dataReceived(b"Response: Success\r\nActionID: t-1\r\nMessage: Authentication accepted\r\n\r\n")
    result_of(d)
    transport.clear()
    return protocol, transport, clock


@pytest.mark.parametrize("size", [1, 2, 7, len(BARE_SUCCESS)])
def test_success_without_event_list_fails_queue_status_with_a_typed_error_in_any_chunking(size):
    protocol, transport, clock = logged_in()
    d = protocol.queue_status("hotline")
    assert transport.value().startswith(b"Action: QueueStatus\r\nActionID: t-2\r\n")
    for i in range(0, len(BARE_SUCCESS), size):
        protocol.dataReceived(BARE_SUCCESS[i:i + size])
    error = failure_of(d, AMIUnexpectedResponse)
    assert error.action == "QueueStatus" and "EventList: start" in str(error)
    assert error.response["Message"] == "Queue status will follow"
    assert clock.getDelayedCalls() == []  # the action's timer went with it
    assert protocol.connected


def test_events_that_follow_a_bare_answer_go_to_subscribers_and_the_link_stays_usable():
    protocol, _, _ = logged_in()
    seen = []
    protocol.dispatcher.subscribe("*", seen.append)
    d = protocol.queue_status("hotline")
    protocol.dataReceived(BARE_SUCCESS + QUEUE_PARAMS)
    failure_of(d, AMIUnexpectedResponse)
    assert [e.event for e in seen] == ["QueueParams"]
    ping = protocol.ping()
    protocol.dataReceived(b"Response: Success\r\nActionID: t-3\r\nPing: Pong\r\n\r\n")
    assert result_of(ping)["Ping"] == "Pong"


def test_a_list_that_never_ends_times_out_as_a_list_without_a_warning_per_asking():
    protocol, _, clock = logged_in()
    d = protocol.queue_status("hotline", timeout=4.0)
    protocol.dataReceived(LIST_START + QUEUE_PARAMS)
    with capturedLogs() as events:
        clock.advance(3.9)
        assert not d.called
        clock.advance(0.1)
    error = failure_of(d, AMIActionTimeout)
    assert error.listed and "end of the event list" in str(error)
    assert [e for e in events if e["log_level"].name in ("warn", "error", "critical")] == []


def test_error_answer_to_queue_status_is_an_action_error():
    protocol, _, _ = logged_in()
    d = protocol.queue_status("nosuchqueue")
    protocol.dataReceived(b"Response: Error\r\nActionID: t-2\r\nMessage: Queue status failed\r\n\r\n")
    assert failure_of(d, AMIActionError).message == "Queue status failed"


def test_a_plain_action_still_takes_a_bare_success():
    protocol, _, _ = logged_in()
    d = protocol.ping()
    protocol.dataReceived(b"Response: Success\r\nActionID: t-2\r\nPing: Pong\r\n\r\n")
    assert result_of(d)["Ping"] == "Pong"


# The simulator's answers, through the service ---------------------------------------------

def make_service():
    clock = Clock()
    sim = AsteriskManagerSimulator(clock, wall=lambda: 1795887545.0 + clock.seconds())
    endpoint = SimulatorEndpoint(sim, clock)
    service = AMIService("127.0.0.1", 5038, "hotline", "secret", clock=clock, endpoint=endpoint,
                         ping_interval=None, instance="q1", action_timeout=10.0)
    service.startService()
    endpoint.flush()
    return service, sim, endpoint, clock


def test_simulator_answers_queue_status_with_its_list_by_default():
    service, sim, endpoint, _ = make_service()
    assert sim.queue_status_reply == QUEUE_STATUS_LIST
    d = service.queue_status("hotline")
    endpoint.flush()
    assert isinstance(result_of(d), ListResult)


@pytest.mark.parametrize("reply, error_type", [
    (QUEUE_STATUS_BARE, AMIUnexpectedResponse),
    (QUEUE_STATUS_ERROR, AMIActionError),
    (QUEUE_STATUS_UNFINISHED, AMIActionTimeout),
])
def test_simulator_told_to_answer_queue_status_badly_gives_the_typed_error(reply, error_type):
    service, sim, endpoint, clock = make_service()
    sim.queue_status_reply = reply
    d = service.queue_status("hotline")
    endpoint.flush()
    if reply == QUEUE_STATUS_UNFINISHED:
        assert not d.called
        clock.advance(10.0)
    failure_of(d, error_type)
    assert service.up


def test_simulator_refuses_an_unknown_queue_status_reply():
    _, sim, _, _ = make_service()
    with pytest.raises(ValueError, match="queue_status_reply"):
        sim.queue_status_reply = "sometimes"


def test_bare_answer_from_the_simulator_is_logged_by_nobody_below_the_caller():
    service, sim, endpoint, _ = make_service()
    sim.queue_status_reply = QUEUE_STATUS_BARE
    with capturedLogs() as events:
        d = service.queue_status("hotline")
        endpoint.flush()
    failure_of(d, AMIUnexpectedResponse)
    assert not any("Traceback" in formatEvent(e) or e.get("log_failure") for e in events)
