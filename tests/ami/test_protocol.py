"""The client protocol over a StringTransport with a task.Clock: login, correlation, lists,
events, Originate, keepalive, and losing the link."""

import hashlib

import pytest
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs, formatEvent

from hotline.ami import actions
from hotline.ami.actions import ListResult, OriginateReason
from hotline.ami.errors import (
    AMIActionError,
    AMIActionTimeout,
    AMIAuthenticationError,
    AMIConnectionLost,
    AMIProtocolError,
    OriginateTimeout,
)
from hotline.ami.events import EventDispatcher
from hotline.ami.message import Message
from hotline.ami.protocol import AMIClientProtocol

BANNER = b"Asterisk Call Manager/12.0.0\r\n"


def result_of(d):
    box = []
    d.addBoth(box.append)
    assert box, "Deferred has not fired"
    return box[0]


def failure_of(d, exc):
    value = result_of(d)
    assert hasattr(value, "check") and value.check(exc), value
    return value.value


def connected(**kw):
    clock = Clock()
    kw.setdefault("ping_interval", None)
    protocol = AMIClientProtocol(clock, EventDispatcher(), action_id_prefix="t-", **kw)
    transport = StringTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(BANNER)
    return protocol, transport, clock


def logged_in(**kw):
    protocol, transport, clock = connected(**kw)
    d = protocol.login("hotline", "secret", "plain")
    protocol.dataReceived(b"Response: Success\r\nActionID: t-1\r\nMessage: Authentication accepted\r\n\r\n")
    result_of(d)
    transport.clear()
    return protocol, transport, clock


def test_plain_login_writes_the_login_action_and_fires_with_the_response():
    protocol, transport, _ = connected()
    d = protocol.login("hotline", "secret", "plain")
    assert transport.value() == b"Action: Login\r\nActionID: t-1\r\nUsername: hotline\r\nSecret: secret\r\nEvents: on\r\n\r\n"
    protocol.dataReceived(b"Response: Success\r\nActionID: t-1\r\nMessage: Authentication accepted\r\n\r\n")
    assert result_of(d)["Message"] == "Authentication accepted"
    assert protocol.logged_in


def test_login_waits_for_the_banner_before_writing():
    clock = Clock()
    protocol = AMIClientProtocol(clock, ping_interval=None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    d = protocol.login("hotline", "secret", "plain")
    assert transport.value() == b""
    protocol.dataReceived(b"Asterisk Call Manager/")
    assert transport.value() == b""
    protocol.dataReceived(b"12.0.0\r\n")
    assert transport.value().startswith(b"Action: Login\r\n")
    assert protocol.version == "12.0.0"
    assert not d.called


def test_md5_login_answers_the_challenge_with_md5_of_challenge_and_secret():
    protocol, transport, _ = connected()
    d = protocol.login("hotline", "secret", "md5")
    assert transport.value() == b"Action: Challenge\r\nActionID: t-1\r\nAuthType: MD5\r\n\r\n"
    transport.clear()
    protocol.dataReceived(b"Response: Success\r\nActionID: t-1\r\nChallenge: 417430582\r\n\r\n")
    key = hashlib.md5(b"417430582secret").hexdigest()
    assert transport.value() == (
        b"Action: Login\r\nActionID: t-2\r\nAuthType: MD5\r\nUsername: hotline\r\nKey: " + key.encode() + b"\r\nEvents: on\r\n\r\n"
    )
    protocol.dataReceived(b"Response: Success\r\nActionID: t-2\r\nMessage: Authentication accepted\r\n\r\n")
    assert result_of(d)["Message"] == "Authentication accepted"


def test_failed_login_raises_a_typed_error_naming_the_user_and_is_logged():
    protocol, transport, _ = connected()
    with capturedLogs() as events:
        d = protocol.login("hotline", "wrong", "plain")
        protocol.dataReceived(b"Response: Error\r\nActionID: t-1\r\nMessage: Authentication failed\r\n\r\n")
    error = failure_of(d, AMIAuthenticationError)
    assert error.username == "hotline"
    assert error.message == "Authentication failed"
    assert "hotline" in str(error)
    assert not protocol.logged_in
    assert any("login refused" in formatEvent(e) for e in events)


def test_unknown_auth_kind_is_refused_clearly():
    protocol, _, _ = connected()
    error = failure_of(protocol.login("hotline", "secret", "sha1"), ValueError)
    assert "sha1" in str(error)


def test_responses_are_matched_to_their_actions_by_action_id_in_any_order():
    protocol, transport, _ = logged_in()
    first = protocol.ping()
    second = protocol.core_settings()
    protocol.dataReceived(b"Response: Success\r\nActionID: t-3\r\nAMIversion: 12.0.0\r\n\r\n")
    assert not first.called
    protocol.dataReceived(b"Response: Success\r\nActionID: t-2\r\nPing: Pong\r\nTimestamp: 1.000000\r\n\r\n")
    assert result_of(first)["Ping"] == "Pong"
    assert result_of(second)["AMIversion"] == "12.0.0"


def test_response_for_an_unknown_action_id_is_ignored():
    protocol, _, _ = logged_in()
    d = protocol.ping()
    protocol.dataReceived(b"Response: Success\r\nActionID: other-9\r\nPing: Pong\r\n\r\n")
    assert not d.called


def test_error_response_raises_action_error_with_asterisks_message():
    protocol, _, _ = logged_in()
    d = protocol.send_action(Message.action("NoSuchAction"))
    protocol.dataReceived(
        b"Response: Error\r\nActionID: t-2\r\nMessage: Invalid/unknown command: NoSuchAction. Use Action: ListCommands to show available commands.\r\n\r\n"
    )
    error = failure_of(d, AMIActionError)
    assert error.action == "NoSuchAction"
    assert error.message.startswith("Invalid/unknown command")


QUEUE_STATUS_WITH_INTERLEAVED_EVENTS = [
    b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/a-1\r\n\r\n",
    b"Response: Success\r\nActionID: t-2\r\nEventList: start\r\nMessage: Queue status will follow\r\n\r\n",
    b"Event: QueueCallerJoin\r\nPrivilege: agent,all\r\nQueue: hotline\r\nPosition: 1\r\nCount: 1\r\n\r\n",
    b"Event: QueueParams\r\nQueue: hotline\r\nMax: 0\r\nActionID: t-2\r\n\r\n",
    b"Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/a-1\r\n\r\n",
    b"Event: QueueMember\r\nQueue: hotline\r\nName: agent 1\r\nLocation: PJSIP/agent1\r\nActionID: t-2\r\n\r\n",
    b"Event: QueueStatusComplete\r\nActionID: t-2\r\nEventList: Complete\r\nListItems: 2\r\n\r\n",
]


@pytest.mark.parametrize("chunking", ["whole", "per-message", "per-line", "per-byte"])
def test_list_is_gathered_while_events_in_between_go_to_subscribers(chunking):
    protocol, _, _ = logged_in()
    seen = []
    protocol.dispatcher.subscribe("*", seen.append)
    d = protocol.queue_status("hotline")
    stream = b"".join(QUEUE_STATUS_WITH_INTERLEAVED_EVENTS)
    if chunking == "whole":
        chunks = [stream]
    elif chunking == "per-message":
        chunks = QUEUE_STATUS_WITH_INTERLEAVED_EVENTS
    elif chunking == "per-line":
        chunks = [line + b"\n" for line in stream.split(b"\n")[:-1]]
    else:
        chunks = [stream[i : i + 1] for i in range(len(stream))]
    for chunk in chunks:
        protocol.dataReceived(chunk)
    result = result_of(d)
    assert isinstance(result, ListResult)
    assert result.response["Message"] == "Queue status will follow"
    assert [e.event for e in result.events] == ["QueueParams", "QueueMember"]
    assert result.of("QueueMember")[0]["Name"] == "agent 1"
    assert result.complete["ListItems"] == "2"
    assert [e.event for e in seen] == ["Newchannel", "QueueCallerJoin", "Hangup"]


def test_event_split_around_a_response_is_delivered_and_the_response_still_matches():
    protocol, _, _ = logged_in()
    seen = []
    protocol.dispatcher.subscribe("DTMFEnd", seen.append)
    d = protocol.ping()
    protocol.dataReceived(b"Event: DTMFEnd\r\nPrivilege: dtmf,all\r\nDig")
    protocol.dataReceived(b"it: 5\r\n\r\nResponse: Suc")
    assert seen and seen[0]["Digit"] == "5" and not d.called
    protocol.dataReceived(b"cess\r\nActionID: t-2\r\nPing: Pong\r\n\r\n")
    assert result_of(d)["Ping"] == "Pong"


def test_subscription_by_name_ignores_case_and_cancel_stops_delivery():
    protocol, _, _ = logged_in()
    seen = []
    subscription = protocol.dispatcher.subscribe("agentconnect", seen.append)
    protocol.dataReceived(b"Event: AgentConnect\r\nQueue: hotline\r\n\r\n")
    subscription.cancel()
    protocol.dataReceived(b"Event: AgentConnect\r\nQueue: hotline\r\n\r\n")
    assert len(seen) == 1


def test_a_failing_subscriber_is_logged_and_does_not_starve_the_others():
    protocol, _, _ = logged_in()
    seen = []

    def broken(event):
        raise RuntimeError("subscriber bug")

    protocol.dispatcher.subscribe("Hangup", broken)
    protocol.dispatcher.subscribe("Hangup", seen.append)
    with capturedLogs() as events:
        protocol.dataReceived(b"Event: Hangup\r\nChannel: x\r\n\r\n")
    assert len(seen) == 1
    assert any(e.get("log_failure") is not None for e in events)


def test_originate_writes_every_field_in_order_with_async_and_action_id():
    protocol, transport, _ = logged_in()
    action = actions.originate(
        "Local/13812345678@hotline-callback",
        context="hotline-survey",
        exten="s",
        caller_id='"9600110" <9600110>',
        timeout_ms=45000,
        variables={"CALLBACK_ID": 42, "APPEAL": "2026112800001"},
        channel_id="cb-42",
    )
    protocol.originate(action)
    assert transport.value() == (
        b"Action: Originate\r\nActionID: t-2\r\nChannel: Local/13812345678@hotline-callback\r\n"
        b"Context: hotline-survey\r\nExten: s\r\nPriority: 1\r\nCallerID: \"9600110\" <9600110>\r\n"
        b"Timeout: 45000\r\nVariable: CALLBACK_ID=42\r\nVariable: APPEAL=2026112800001\r\n"
        b"ChannelId: cb-42\r\nAsync: true\r\n\r\n"
    )


def test_originate_needs_either_a_dialplan_place_or_an_application():
    with pytest.raises(ValueError, match="either Context and Exten, or Application"):
        actions.originate("Local/1@x")
    with pytest.raises(ValueError, match="either Context and Exten, or Application"):
        actions.originate("Local/1@x", context="c", exten="s", application="Wait")


ORIGINATE_RESPONSE = (
    "Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: t-2\r\nResponse: {response}\r\n"
    "Channel: {channel}\r\nContext: hotline-survey\r\nExten: s\r\nReason: {reason}\r\n"
    "Uniqueid: {uniqueid}\r\nCallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\n\r\n"
)


@pytest.mark.parametrize(
    "code, reason, success",
    [
        (4, OriginateReason.ANSWERED, True),
        (5, OriginateReason.BUSY, False),
        (3, OriginateReason.NO_ANSWER, False),
        (8, OriginateReason.CONGESTION, False),
        (0, OriginateReason.FAILED, False),
        (1, OriginateReason.HANGUP, False),
        (42, OriginateReason.UNKNOWN, False),
    ],
)
def test_originate_fires_with_the_reason_of_its_originate_response(code, reason, success):
    protocol, _, clock = logged_in()
    d = protocol.originate(actions.originate("Local/13812345678@cb", context="hotline-survey", exten="s"))
    protocol.dataReceived(b"Response: Success\r\nActionID: t-2\r\nMessage: Originate successfully queued\r\n\r\n")
    assert not d.called
    event = ORIGINATE_RESPONSE.format(
        response="Success" if success else "Failure",
        channel="Local/13812345678@cb-00000001;1" if success else "Local/13812345678@cb",
        reason=code,
        uniqueid="1795887546.2" if success else "<unknown>",
    )
    protocol.dataReceived(event.encode())
    result = result_of(d)
    assert result.reason is reason
    assert result.reason_code == code
    assert result.success is success
    assert result.answered is (reason is OriginateReason.ANSWERED)
    assert result.uniqueid == ("1795887546.2" if success else None)
    assert result.action_id == "t-2"
    assert clock.getDelayedCalls() == []


def test_originate_response_overtaking_the_queued_response_is_kept():
    protocol, _, _ = logged_in()
    d = protocol.originate(actions.originate("Local/100@cb", application="Wait", data="1"))
    protocol.dataReceived(ORIGINATE_RESPONSE.format(response="Failure", channel="Local/100@cb", reason=5, uniqueid="<unknown>").encode())
    assert not d.called
    protocol.dataReceived(b"Response: Success\r\nActionID: t-2\r\nMessage: Originate successfully queued\r\n\r\n")
    assert result_of(d).reason is OriginateReason.BUSY


def test_originate_refused_by_asterisk_fails_with_action_error_and_leaves_no_timer():
    protocol, _, clock = logged_in()
    d = protocol.originate(actions.originate("Local/100@cb", application="Wait"))
    protocol.dataReceived(b"Response: Error\r\nActionID: t-2\r\nMessage: Permission denied\r\n\r\n")
    assert failure_of(d, AMIActionError).message == "Permission denied"
    assert clock.getDelayedCalls() == []


def test_originate_without_originate_response_times_out_with_a_typed_logged_error():
    protocol, _, clock = logged_in(originate_timeout=40.0)
    d = protocol.originate(actions.originate("Local/13812345678@cb", context="c", exten="s"))
    protocol.dataReceived(b"Response: Success\r\nActionID: t-2\r\nMessage: Originate successfully queued\r\n\r\n")
    with capturedLogs() as events:
        clock.advance(39.9)
        assert not d.called
        clock.advance(0.1)
    error = failure_of(d, OriginateTimeout)
    assert error.action_id == "t-2" and error.seconds == 40.0
    texts = [formatEvent(e) for e in events]
    assert any("No OriginateResponse for t-2" in t for t in texts)
    assert not any("13812345678" in t for t in texts)
    assert any("138****5678" in t for t in texts)
    # A late OriginateResponse after the timeout is an ordinary event, not an error.
    protocol.dataReceived(ORIGINATE_RESPONSE.format(response="Success", channel="x", reason=4, uniqueid="1.1").encode())


def test_caller_numbers_never_reach_the_log_in_clear():
    protocol, _, _ = logged_in()
    with capturedLogs() as events:
        d = protocol.originate(actions.originate("Local/13812345678@cb", context="c", exten="s"))
        protocol.dataReceived(b"Response: Success\r\nActionID: t-2\r\nMessage: Originate successfully queued\r\n\r\n")
        protocol.dataReceived(
            ORIGINATE_RESPONSE.format(response="Failure", channel="Local/13812345678@cb", reason=5, uniqueid="<unknown>").encode()
        )
        result_of(d)
    texts = [formatEvent(e) + repr(e) for e in events]
    assert texts
    assert not any("13812345678" in t for t in texts)


def test_action_without_response_times_out():
    protocol, _, clock = logged_in(action_timeout=5.0)
    d = protocol.queue_add("hotline", "PJSIP/agent1")
    clock.advance(5.0)
    error = failure_of(d, AMIActionTimeout)
    assert error.action == "QueueAdd"


def test_idle_link_is_pinged_and_a_pong_keeps_it():
    protocol, transport, clock = logged_in(ping_interval=20.0, ping_timeout=5.0)
    clock.advance(19.0)
    assert transport.value() == b""
    clock.advance(1.0)
    assert transport.value() == b"Action: Ping\r\nActionID: t-2\r\n\r\n"
    transport.clear()
    protocol.dataReceived(b"Response: Success\r\nActionID: t-2\r\nPing: Pong\r\nTimestamp: 1.0\r\n\r\n")
    clock.advance(20.0)
    assert transport.value() == b"Action: Ping\r\nActionID: t-3\r\n\r\n"
    assert not transport.disconnecting


def test_traffic_postpones_the_keepalive_ping():
    protocol, transport, clock = logged_in(ping_interval=20.0)
    clock.advance(15.0)
    protocol.dataReceived(b"Event: Newexten\r\nChannel: x\r\n\r\n")
    clock.advance(15.0)
    assert transport.value() == b""
    clock.advance(5.0)
    assert transport.value().startswith(b"Action: Ping")


def test_missing_pong_drops_the_link_with_a_logged_reason():
    protocol, transport, clock = logged_in(ping_interval=20.0, ping_timeout=5.0)
    clock.advance(20.0)
    with capturedLogs() as events:
        clock.advance(5.0)
    assert transport.disconnecting
    assert "no Pong" in protocol.dropReason
    assert any("no Pong" in formatEvent(e) for e in events)


def test_losing_the_link_fails_every_pending_action_and_originate():
    protocol, _, clock = logged_in()
    ping = protocol.ping()
    originate = protocol.originate(actions.originate("Local/100@cb", application="Wait"))
    protocol.dataReceived(b"Response: Success\r\nActionID: t-3\r\nMessage: Originate successfully queued\r\n\r\n")
    protocol.connectionLost(None)
    failure_of(ping, AMIConnectionLost)
    failure_of(originate, AMIConnectionLost)
    assert clock.getDelayedCalls() == []
    failure_of(protocol.ping(), AMIConnectionLost)


def test_garbage_from_asterisk_fails_pending_actions_with_a_protocol_error():
    protocol, transport, _ = logged_in()
    d = protocol.ping()
    protocol.dataReceived(b"\x16\x03\x01 garbage\r\n")
    assert transport.disconnecting
    protocol.connectionLost(None)
    error = failure_of(d, AMIProtocolError)
    assert "not a manager line" in str(error)
