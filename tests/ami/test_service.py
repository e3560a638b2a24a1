"""The reconnecting AMI service, over an in-memory link to the simulator and a task.Clock."""

import pytest
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent

from hotline.ami.actions import ListResult, OriginateReason
from hotline.ami.errors import AMINotConnected, OriginateTimeout
from hotline.ami.service import AMIService
from hotline.ami.simulator import AsteriskManagerSimulator
from tests.ami.support import SimulatorEndpoint


def result_of(d):
    box = []
    d.addBoth(box.append)
    assert box, "Deferred has not fired"
    return box[0]


def make(**kw):
    clock = Clock()
    sim = AsteriskManagerSimulator(clock, wall=lambda: 1795887545.0 + clock.seconds())
    endpoint = SimulatorEndpoint(sim, clock)
    kw.setdefault("ping_interval", None)
    kw.setdefault("retry_policy", lambda attempt: min(2.0**attempt, 30.0))
    kw.setdefault("instance", "p1")
    service = AMIService("127.0.0.1", 5038, "hotline", kw.pop("secret", "secret"), clock=clock, endpoint=endpoint, **kw)
    return service, sim, endpoint, clock


def logins(sim):
    return [a for a in sim.actions_received if a.get("Action") == "Login"]


def texts(events):
    return [formatEvent(e) for e in events]


@pytest.mark.parametrize("auth", ["md5", "plain"])
def test_service_logs_in_on_start_with_the_chosen_auth(auth):
    service, sim, endpoint, _ = make(auth=auth)
    service.startService()
    d = service.when_logged_in()
    endpoint.flush()
    protocol = result_of(d)
    assert protocol.logged_in
    assert service.state == AMIService.LOGGED_IN
    login = logins(sim)[0]
    assert ("Key" in login) is (auth == "md5")
    assert ("Secret" in login) is (auth == "plain")


def test_cut_link_is_reconnected_and_logged_in_again_with_a_new_action_id_prefix():
    service, sim, endpoint, clock = make()
    service.startService()
    endpoint.flush()
    first = result_of(service.when_logged_in())
    with capturedLogs() as events:
        endpoint.cut()
        assert service.state == AMIService.LOST
        clock.advance(1.0)  # the first retry is due after retry_policy(1) = 2 s
        assert endpoint.attempts == 1
        clock.advance(1.0)
        endpoint.flush()
    second = result_of(service.when_logged_in())
    assert second is not first and second.logged_in
    assert len(logins(sim)) == 2
    assert logins(sim)[0]["ActionID"].startswith("hotline-p1-1-")
    assert logins(sim)[1]["ActionID"].startswith("hotline-p1-2-")
    lines = texts(events)
    assert sum("link lost" in t for t in lines) == 1
    assert sum("logged in" in t for t in lines) == 1


def test_subscription_by_event_name_survives_a_reconnect():
    service, sim, endpoint, clock = make()
    joins = []
    service.subscribe("QueueCallerJoin", joins.append)
    service.startService()
    endpoint.flush()
    caller = sim.new_channel("PJSIP/trunk-00000001", caller_id_num="13812345678", exten="9600110")
    sim.queue_caller_join("hotline", caller)
    endpoint.flush()
    endpoint.cut()
    clock.advance(2.0)
    endpoint.flush()
    result_of(service.when_logged_in())
    sim.queue_caller_leave("hotline", caller)
    sim.queue_caller_join("hotline", caller)
    endpoint.flush()
    assert [e["Count"] for e in joins] == ["1", "1"]
    assert joins[0]["CallerIDNum"] == "13812345678"


def test_absent_asterisk_is_retried_with_backoff_and_logged_once_per_state_change():
    service, sim, endpoint, clock = make()
    endpoint.refuse = True
    with capturedLogs() as events:
        service.startService()
        for _ in range(8):
            clock.advance(30.0)
        assert endpoint.attempts >= 6
        endpoint.refuse = False
        clock.advance(30.0)
        endpoint.flush()
    assert service.state == AMIService.LOGGED_IN
    lines = texts(events)
    assert sum("unreachable" in t for t in lines) == 1
    assert not any("Scheduling retry" in t for t in lines)
    assert sum("logged in" in t for t in lines) == 1


def test_backoff_delays_grow_between_attempts():
    service, sim, endpoint, clock = make(retry_policy=None, retry_initial_delay=1.0, retry_max_delay=60.0)
    endpoint.refuse = True
    service.startService()
    times = []
    last = endpoint.attempts
    for _ in range(400):
        clock.advance(0.5)
        if endpoint.attempts != last:
            last = endpoint.attempts
            times.append(clock.seconds())
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) >= 4
    assert gaps[-1] > gaps[0]


def test_wrong_secret_is_logged_once_as_refused_and_retried():
    service, sim, endpoint, clock = make(secret="wrong")
    with capturedLogs() as events:
        service.startService()
        for _ in range(5):
            endpoint.flush()
            clock.advance(1.0)  # the simulator refuses after a second, as Asterisk does
            endpoint.flush()
            clock.advance(30.0)
    assert len(logins(sim)) >= 3
    assert service.state == AMIService.REFUSED
    assert sum("login refused" in t and "retrying" in t for t in texts(events)) == 1
    # Asterisk closes after the refusal: no NoTransition out of ClientService (hotline.reconnect)
    assert not any(e.get("log_failure") for e in events)


def test_waiting_for_a_connection_fails_with_not_connected_after_the_timeout():
    service, sim, endpoint, clock = make()
    endpoint.refuse = True
    service.startService()
    d = service.when_logged_in(timeout=3.0)
    clock.advance(3.0)
    failure = result_of(d)
    assert failure.check(AMINotConnected)
    assert "within 3.0s" in str(failure.value)


def test_action_on_the_service_waits_for_the_login_then_runs():
    service, sim, endpoint, clock = make()
    service.startService()
    d = service.ping()
    assert not d.called
    endpoint.flush()
    assert result_of(d)["Ping"] == "Pong"


@pytest.mark.parametrize(
    "reason", [OriginateReason.ANSWERED, OriginateReason.BUSY, OriginateReason.NO_ANSWER, OriginateReason.CONGESTION, OriginateReason.FAILED]
)
def test_service_originate_fires_with_the_simulated_outcome(reason):
    service, sim, endpoint, clock = make()
    sim.script_originate("13812345678", reason, delay=3.0)
    service.startService()
    endpoint.flush()
    d = service.originate(
        "Local/13812345678@hotline-callback", context="hotline-survey", exten="s", variables={"CALLBACK_ID": 7}, channel_id="cb-7"
    )
    endpoint.flush()
    assert not d.called
    clock.advance(3.0)
    endpoint.flush()
    result = result_of(d)
    assert result.reason is reason
    assert result.success is (reason is OriginateReason.ANSWERED)
    assert result.event["Uniqueid"] == "cb-7"


def test_service_originate_times_out_when_asterisk_never_responds():
    service, sim, endpoint, clock = make(originate_timeout=45.0)
    sim.script_originate("13812345678", respond=False)
    service.startService()
    endpoint.flush()
    d = service.originate("Local/13812345678@hotline-callback", context="hotline-survey", exten="s")
    endpoint.flush()
    clock.advance(45.0)
    assert result_of(d).check(OriginateTimeout)


def test_hung_asterisk_is_detected_by_keepalive_and_the_link_is_reestablished():
    service, sim, endpoint, clock = make(ping_interval=10.0, ping_timeout=5.0)
    service.startService()
    endpoint.flush()
    first = result_of(service.when_logged_in())
    sim.frozen = True
    clock.advance(10.0)
    endpoint.flush()
    clock.advance(5.0)
    endpoint.flush()
    assert "no Pong" in first.dropReason
    sim.frozen = False
    clock.advance(2.0)
    endpoint.flush()
    second = result_of(service.when_logged_in())
    assert second is not first and second.logged_in


def test_queue_actions_round_trip_through_the_simulator_with_their_events():
    service, sim, endpoint, clock = make()
    events = []
    service.subscribe("*", lambda e: events.append(e) if e.event.startswith("QueueMember") else None)
    service.startService()
    endpoint.flush()
    added = service.queue_add("hotline", "PJSIP/agent07", member_name="Agent 07", penalty=1)
    endpoint.flush()
    assert result_of(added)["Message"] == "Added interface to queue"
    paused = service.queue_pause("PJSIP/agent07", True, queue="hotline", reason="callback work")
    endpoint.flush()
    assert result_of(paused)["Message"] == "Interface paused successfully"
    status = service.queue_status("hotline")
    endpoint.flush()
    listing = result_of(status)
    assert isinstance(listing, ListResult)
    member = listing.of("QueueMember")[0]
    assert (member["Name"], member["Paused"], member["PausedReason"], member["Penalty"]) == ("Agent 07", "1", "callback work", "1")
    removed = service.queue_remove("hotline", "PJSIP/agent07")
    endpoint.flush()
    assert result_of(removed)["Message"] == "Removed interface from queue"
    assert [e.event for e in events] == ["QueueMemberAdded", "QueueMemberPause", "QueueMemberRemoved"]
    assert events[1]["PausedReason"] == "callback work"


def test_hangup_and_setvar_on_an_answered_callback():
    service, sim, endpoint, clock = make()
    sim.script_originate("13812345678", OriginateReason.ANSWERED, delay=1.0)
    hangups = []
    service.subscribe("Hangup", hangups.append)
    service.startService()
    endpoint.flush()
    d = service.originate("Local/13812345678@hotline-callback", context="hotline-survey", exten="s")
    endpoint.flush()
    clock.advance(1.0)
    endpoint.flush()
    channel = result_of(d).channel
    setvar = service.setvar("SURVEY_DONE", "1", channel=channel)
    endpoint.flush()
    assert result_of(setvar)["Message"] == "Variable Set"
    hangup = service.hangup(channel)
    endpoint.flush()
    assert result_of(hangup)["Message"] == "Channel Hungup"
    assert len(hangups) == 2
    again = service.hangup(channel)
    endpoint.flush()
    assert result_of(again).value.message == "No such channel"


def test_stopping_the_service_closes_the_link_and_stops_retrying():
    service, sim, endpoint, clock = make()
    service.startService()
    endpoint.flush()
    stopped = service.stopService()
    endpoint.flush()
    result_of(stopped)
    attempts = endpoint.attempts
    clock.advance(120.0)
    assert endpoint.attempts == attempts
    assert sim.sessions == []


def test_two_processes_get_distinct_action_ids_by_default():
    clock = Clock()
    one = AMIService("h", 5038, "u", "s", clock=clock, endpoint=object())
    two = AMIService("h", 5038, "u", "s", clock=clock, endpoint=object())
    assert one.factory.buildProtocol(None).action_id_prefix != two.factory.buildProtocol(None).action_id_prefix


def test_waiting_for_a_connection_of_a_stopped_service_fails_with_not_connected():
    service, sim, endpoint, clock = make()
    endpoint.refuse = True
    service.startService()
    d = service.ping()
    service.stopService()
    assert result_of(d).check(AMINotConnected)


def test_bad_constructor_values_are_refused_with_a_clear_message():
    clock = Clock()
    with pytest.raises(ValueError, match="auth"):
        AMIService("h", 5038, "u", "s", auth="sha1", clock=clock, endpoint=object())
    with pytest.raises(ValueError, match="port"):
        AMIService("h", 70000, "u", "s", clock=clock, endpoint=object())
    with pytest.raises(ValueError, match="reactor"):
        AMIService("h", 5038, "u", "s", clock=clock)
