"""SmppLink against the simulated SMSC, piped in memory, on task.Clock."""

import collections

import pytest
from twisted.internet.task import Clock
from twisted.logger import capturedLogs

from sms_gateway.link import (
    CarrierBusy,
    ISmsLink,
    LinkUnavailable,
    MessageState,
    MessageTooLong,
    OutboundMessage,
    PermanentSubmitError,
    ResponseTimeout,
    RetryableSubmitError,
)
from sms_gateway.receipts import ids_match
from sms_gateway.service import _live_families
from sms_gateway.simulator import SimulatedSmsc
from sms_gateway.smpp import codec
from tests.sms_gateway.helpers import make_link

PHONE = "13812345678"


def outcome(d):
    """('ok', value) / ('failed', failure) / None while pending."""
    result = []
    d.addCallbacks(lambda v: result.append(("ok", v)), lambda f: result.append(("failed", f)))
    return result


def test_link_provides_the_sms_link_interface():
    link, *_ = make_link()
    assert ISmsLink.providedBy(link)


def test_single_and_long_messages_get_one_message_id_per_part():
    link, smsc, endpoint, inbox, clock = make_link()
    short = outcome(link.submit(OutboundMessage(PHONE, "您好，诉求已受理。")).message_ids())
    long = link.submit(OutboundMessage(PHONE, "您好，" * 50))
    ids = outcome(long.message_ids())
    endpoint.flush()
    assert short == [("ok", ("00000001",))]
    assert ids == [("ok", ("00000002", "00000003", "00000004"))]
    assert long.encoding == "ucs2" and len(long.parts) == 3
    assert [a.destination for a in smsc.accepted] == [PHONE] * 4
    udh = [a.short_message[:6] for a in smsc.accepted[1:]]
    assert {u[3] for u in udh} == {udh[0][3]} and [u[5] for u in udh] == [1, 2, 3]
    assert link.pending() == 0


def test_text_over_the_part_limit_raises_before_anything_is_sent():
    link, smsc, endpoint, inbox, clock = make_link(max_parts=2)
    with pytest.raises(MessageTooLong):
        link.submit(OutboundMessage(PHONE, "诉" * 200))
    endpoint.flush()
    assert smsc.accepted == [] and link.references.in_flight(PHONE) == frozenset()


def test_submit_while_not_bound_fails_every_part_as_retryable_at_once():
    clock = Clock()
    link, smsc, endpoint, inbox, clock = make_link(clock)
    endpoint.refuse = True
    with capturedLogs():
        smsc.sessions[0].transport.loseConnection()
        endpoint.flush()
    assert not link.is_available()
    result = outcome(link.submit(OutboundMessage(PHONE, "诉" * 100)).message_ids())
    assert result[0][0] == "failed" and result[0][1].check(LinkUnavailable)
    assert link.references.in_flight(PHONE) == frozenset()


def test_link_dropped_with_a_full_window_in_flight_fails_all_of_them_as_retryable():
    link, smsc, endpoint, inbox, clock = make_link(window=10)
    smsc.faults.unanswered = frozenset({"submit_sm"})
    results = [outcome(link.submit(OutboundMessage(PHONE, f"message {i}")).parts[0]) for i in range(10)]
    endpoint.flush()
    assert link._transmitter.submits_outstanding == 10
    with capturedLogs():
        smsc.sessions[0].transport.loseConnection()
        endpoint.flush()
    assert all(r and r[0][0] == "failed" and r[0][1].check(LinkUnavailable) for r in results)
    assert all(isinstance(r[0][1].value, RetryableSubmitError) for r in results)
    assert link.pending() == 0
    # The SMSC had accepted them without answering: this is the duplicate window a resend opens.
    assert len(smsc.accepted) == 10


def test_link_dropped_mid_window_then_resent_loses_nothing_duplicates_nothing_and_matches_receipts():
    clock = Clock()
    clock.advance(1_800_000_000)
    smsc = SimulatedSmsc(clock, receipt_delay=5.0, id_format="decimal",
                         receipt_id=lambda message_id: "%010X" % int(message_id))  # receipts in hex
    link, smsc, endpoint, inbox, clock = make_link(clock, smsc=smsc, window=10)
    texts = [f"reminder {i}" for i in range(10)]
    smsc.faults.drop_after_pdus = 5  # the 5th submit_sm kills the link: 4 answered, 6 in flight
    results = {t: outcome(link.submit(OutboundMessage(PHONE, t)).parts[0]) for t in texts}
    with capturedLogs():
        endpoint.flush()
    ids = {t: r[0][1] for t, r in results.items() if r[0][0] == "ok"}
    retry = [t for t, r in results.items() if r[0][0] == "failed" and r[0][1].check(LinkUnavailable)]
    assert len(ids) == 4 and len(retry) == 6
    # The outbox resends what failed, once the link is back.
    endpoint.advance(1.5)
    assert link.is_available()
    for t in retry:
        result = outcome(link.submit(OutboundMessage(PHONE, t)).parts[0])
        endpoint.flush()
        ids[t] = result[0][1]
    accepted = collections.Counter(a.short_message.decode() for a in smsc.accepted)
    assert accepted == collections.Counter(texts)  # none lost, none twice
    endpoint.advance(6)
    assert len(inbox.receipts) == 10
    for receipt in inbox.receipts:
        assert receipt.state is MessageState.DELIVERED
        assert sum(ids_match(receipt.message_id, mid) for mid in ids.values()) == 1


def test_window_caps_outstanding_submits():
    link, smsc, endpoint, inbox, clock = make_link(window=3)
    smsc.faults.unanswered = frozenset({"submit_sm"})
    for i in range(10):
        link.submit(OutboundMessage(PHONE, f"m{i}"))
    endpoint.flush()
    assert len(smsc.accepted) == 3
    assert link.pending() == 10


def test_throttle_holds_the_contracted_rate_counted_per_pdu():
    link, smsc, endpoint, inbox, clock = make_link(rate=10.0, burst=2.0, window=50)
    link.submit(OutboundMessage(PHONE, "诉" * 200))  # 3 PDUs
    for i in range(27):
        link.submit(OutboundMessage(PHONE, f"m{i}"))
    endpoint.flush()
    assert len(smsc.accepted) == 2  # the saved-up burst
    endpoint.advance(1.001)
    assert len(smsc.accepted) == 12
    endpoint.advance(1.85)
    assert len(smsc.accepted) == 30 and link.pending() == 0


def test_smsc_throttling_slows_the_bind_and_every_message_is_retried_through():
    link, smsc, endpoint, inbox, clock = make_link(rate=200.0, window=20, retry_limit=10)
    smsc.faults.throttle_rate = 20.0
    results = [outcome(link.submit(OutboundMessage(PHONE, f"m{i}")).parts[0]) for i in range(60)]
    with capturedLogs() as events:
        endpoint.flush()
        assert link.bucket.rate < 200.0
        endpoint.advance(30, step=0.05)
    assert all(r and r[0][0] == "ok" for r in results)
    assert collections.Counter(a.short_message for a in smsc.accepted).most_common(1)[0][1] == 1
    assert len(smsc.accepted) == 60
    assert any(status == codec.ESME_RTHROTTLED for _, status in smsc.refused)
    assert any(e.get("status") == "ESME_RTHROTTLED" for e in events)
    # Every throttled PDU was sent again, and counted where that happened.
    throttled = sum(1 for _, status in smsc.refused if status == codec.ESME_RTHROTTLED)
    assert link.submits.retries == {"ESME_RTHROTTLED": throttled}
    families = {f.name: f for f in _live_families(_Counters(), {"mobile": link})}
    assert [(s.labels, s.value) for s in families["hotline_sms_retried"].samples
            if s.name.endswith("_total")] == [
        ({"bind": "mobile", "status": "ESME_RTHROTTLED"}, throttled),
        ({"bind": "outbox", "status": "requeued"}, 0)]


class _Counters:
    """What `_live_families` reads of a dispatcher."""

    submitted = failed = retried = receipts_expired = unknown = 0

    def in_flight(self):
        return 0


def test_against_an_smsc_that_throttles_by_rate_the_bind_settles_near_its_limit():
    """200/s configured, the SMSC takes 50/s: after the first seconds the bind sends about
    what the SMSC takes, and the SMSC throttles almost nothing (it answered 140 throttled a
    second, for ever, when each accepted part regained 5% of the rate)."""
    link, smsc, endpoint, inbox, clock = make_link(rate=200.0, window=20, retry_limit=1000,
                                                   retry_initial_delay=0.1)
    smsc.faults.throttle_rate = 50.0
    with capturedLogs():
        for i in range(1500):
            link.submit(OutboundMessage(PHONE, f"m{i}"))
        endpoint.advance(5.0, step=0.01)
        accepted, refused, started = len(smsc.accepted), len(smsc.refused), clock.seconds()
        endpoint.advance(20.0, step=0.01)
    per_second = (len(smsc.accepted) - accepted) / (clock.seconds() - started)
    throttled = (len(smsc.refused) - refused) / (clock.seconds() - started)
    assert 45.0 <= per_second <= 51.0
    assert throttled <= 2.0
    assert 40.0 <= link.bucket.rate <= 62.0  # near the limit, not back at 200


def test_message_queue_full_retries_then_fails_as_carrier_busy():
    link, smsc, endpoint, inbox, clock = make_link(retry_limit=2)
    smsc.faults.error_for = {PHONE: codec.ESME_RMSGQFUL}
    result = outcome(link.submit(OutboundMessage(PHONE, "x")).parts[0])
    with capturedLogs():
        endpoint.advance(10)
    assert result[0][1].check(CarrierBusy) and "ESME_RMSGQFUL" in str(result[0][1].value)
    assert [status for _, status in smsc.refused] == [codec.ESME_RMSGQFUL] * 3
    assert link.submits.retries == {"ESME_RMSGQFUL": 2}  # the third refusal was given up on


def test_system_error_is_retried_with_backoff_and_then_succeeds():
    link, smsc, endpoint, inbox, clock = make_link(retry_initial_delay=1.0)
    smsc.faults.error_for = {PHONE: codec.ESME_RSYSERR}
    result = outcome(link.submit(OutboundMessage(PHONE, "x")).parts[0])
    with capturedLogs():
        endpoint.flush()
        endpoint.advance(1.0)  # first retry after 1 s
        assert len(smsc.refused) == 2
        smsc.faults.error_for = {}
        endpoint.advance(1.9)  # the second retry waits 2 s
        assert result == []
        endpoint.advance(0.11)
    assert result == [("ok", "00000001")]


def test_other_errors_fail_the_message_with_the_status_name():
    link, smsc, endpoint, inbox, clock = make_link()
    smsc.faults.error_for = {PHONE: 0x0B}
    result = outcome(link.submit(OutboundMessage(PHONE, "x")).message_ids())
    with capturedLogs() as events:
        endpoint.flush()
    failure = result[0][1]
    assert failure.check(PermanentSubmitError) and failure.value.status == "ESME_RINVDSTADR"
    assert failure.value.accepted_ids == (None,)
    assert len(smsc.refused) == 1
    assert all(PHONE not in repr(e) for e in events)


def test_response_timeout_retries_then_fails_as_retryable():
    link, smsc, endpoint, inbox, clock = make_link(response_timeout=5.0, retry_limit=1)
    smsc.faults.unanswered = frozenset({"submit_sm"})
    result = outcome(link.submit(OutboundMessage(PHONE, "x")).parts[0])
    with capturedLogs():
        endpoint.advance(5.0)
        assert result == [] and len(smsc.accepted) == 1
        endpoint.advance(1.0 + 5.01)
    assert result[0][1].check(ResponseTimeout)
    assert len(smsc.accepted) == 2  # accepted but unanswered twice: the duplicate window


def test_slow_responses_within_the_timeout_succeed():
    link, smsc, endpoint, inbox, clock = make_link(response_timeout=5.0)
    smsc.faults.response_delay = 4.0
    result = outcome(link.submit(OutboundMessage(PHONE, "x")).parts[0])
    endpoint.advance(4.0)
    assert result == [("ok", "00000001")]


def test_wrong_password_is_refused_logged_by_name_and_retried_with_backoff():
    clock = Clock()
    smsc = SimulatedSmsc(clock, credentials={"hotline": "other"}, receipt_delay=None)
    with capturedLogs() as events:
        link, smsc, endpoint, inbox, clock = make_link(clock, smsc=smsc)
        assert not link.is_available()
        endpoint.advance(1.0)
        endpoint.advance(1.0)
    assert [status for _, _, status in smsc.bind_attempts] == [codec.ESME_RBINDFAIL] * 3
    assert any(e.get("status") == "ESME_RBINDFAIL" for e in events)
    assert not any(e.get("log_failure") for e in events)  # no NoTransition from ClientService
    assert link.down_reason == "ESME_RBINDFAIL: bind_transceiver refused"  # for /healthz
    smsc.credentials["hotline"] = "secret"
    endpoint.advance(1.0)
    assert link.is_available() and link.down_reason is None


def test_transmitter_and_receiver_pair_submit_on_one_and_receive_on_the_other():
    clock = Clock()
    smsc = SimulatedSmsc(clock, receipt_delay=2.0)
    link, smsc, endpoint, inbox, clock = make_link(clock, smsc=smsc, bind_mode="pair")
    assert sorted(s.bound_as for s in smsc.sessions) == ["bind_receiver", "bind_transmitter"]
    result = outcome(link.submit(OutboundMessage(PHONE, "x")).parts[0])
    endpoint.advance(2.0)
    assert result == [("ok", "00000001")]
    assert [r.message_id for r in inbox.receipts] == ["00000001"]
    smsc.inject_mo("13912345678", "9600110", "2")
    endpoint.flush()
    assert [m.text for m in inbox.messages] == ["2"]


def test_mo_is_acknowledged_to_the_smsc_only_after_it_is_stored():
    link, smsc, endpoint, inbox, clock = make_link()
    inbox.hold = True
    delivered = outcome(smsc.inject_mo("13912345678", "9600110", "不满意，" * 30, order=[1, 0]))
    endpoint.flush()
    assert [m.parts for m in inbox.messages] == [2]
    assert delivered == []
    inbox.held[0].callback(None)
    endpoint.flush()
    assert delivered == [("ok", [0, 0])]


def test_dead_link_is_detected_by_a_missing_enquire_link_resp_and_rebound():
    link, smsc, endpoint, inbox, clock = make_link(enquire_link_interval=30.0, response_timeout=5.0)
    smsc.faults.unanswered = frozenset({"enquire_link"})
    with capturedLogs() as events:
        endpoint.advance(34.5, step=0.5)  # the probe went out at 30 s (+ one step)
        assert link.is_available()
        endpoint.advance(1.5)
        assert any("Dead SMPP link" in e["log_format"] for e in events)
        endpoint.advance(1.5)
    assert link.is_available()
    assert len(smsc.bind_attempts) == 2


def test_shutdown_waits_for_outstanding_responses_then_unbinds():
    link, smsc, endpoint, inbox, clock = make_link()
    smsc.faults.response_delay = 2.0
    result = outcome(link.submit(OutboundMessage(PHONE, "x")).parts[0])
    queued_after = None
    endpoint.flush()
    stopped = outcome(link.stopService())
    queued_after = outcome(link.submit(OutboundMessage(PHONE, "late")).parts[0])
    endpoint.flush()
    assert stopped == [] and result == []
    assert queued_after[0][1].check(LinkUnavailable)
    endpoint.advance(2.0)
    assert result == [("ok", "00000001")]
    assert stopped == []  # unbind sent now; its answer is slow too
    endpoint.advance(2.0)
    assert stopped == [("ok", None)]
    assert smsc.sessions == []


def test_when_available_fires_once_bound():
    clock = Clock()
    smsc = SimulatedSmsc(clock, credentials={"hotline": "wrong"}, receipt_delay=None)
    with capturedLogs():
        link, smsc, endpoint, inbox, clock = make_link(clock, smsc=smsc)
        ready = outcome(link.when_available())
        assert ready == []
        smsc.credentials["hotline"] = "secret"
        endpoint.advance(1.0)
    assert ready == [("ok", None)]


def test_bind_unanswered_times_out_drops_the_connection_and_retries_quietly():
    clock = Clock()
    smsc = SimulatedSmsc(clock, receipt_delay=None)
    smsc.faults.unanswered = frozenset({"bind_transceiver"})
    with capturedLogs() as events:
        link, smsc, endpoint, inbox, clock = make_link(clock, smsc=smsc, response_timeout=5.0)
        endpoint.advance(5.0)
        assert smsc.sessions == [] and not link.is_available()
        smsc.faults.unanswered = frozenset()
        endpoint.advance(1.0)
    assert link.is_available()
    assert len(smsc.bind_attempts) == 2
    assert not any(e.get("log_failure") for e in events)


def test_smsc_closing_during_the_bind_is_a_failed_attempt_not_a_crash():
    clock = Clock()
    smsc = SimulatedSmsc(clock, receipt_delay=None)
    smsc.faults.drop_after_pdus = 1  # the bind itself
    with capturedLogs() as events:
        link, smsc, endpoint, inbox, clock = make_link(clock, smsc=smsc)
        assert not link.is_available()
        endpoint.advance(1.0)
    assert link.is_available()
    assert not any(e.get("log_failure") for e in events)


def test_256_long_messages_in_flight_to_one_number_fail_the_next_as_busy_not_colliding():
    link, smsc, endpoint, inbox, clock = make_link(window=1)
    smsc.faults.unanswered = frozenset({"submit_sm"})
    for _ in range(256):
        link.submit(OutboundMessage(PHONE, "诉" * 100))
    result = outcome(link.submit(OutboundMessage(PHONE, "诉" * 100)).message_ids())
    assert result[0][1].check(CarrierBusy)
    assert len(link.references.in_flight(PHONE)) == 256
    assert outcome(link.submit(OutboundMessage("13900000000", "诉" * 100)).message_ids()) == []
