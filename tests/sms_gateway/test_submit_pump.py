"""The shared submit pump on its own: a fake connection that records what is sent and is answered
by hand, a classifier of plain strings, and task.Clock for every timer."""

import dataclasses

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent

from sms_gateway.link import (
    CarrierBusy,
    LinkUnavailable,
    OutboundMessage,
    PermanentSubmitError,
    ResponseTimeout,
)
from sms_gateway.submit_pump import Outcome, SubmitPump, Verdict

PHONE = "13812345678"


@dataclasses.dataclass(frozen=True)
class Settings:
    window: int = 2
    rate: float = 100.0
    bucket_depth: float = 10.0
    retry_limit: int = 2
    retry_initial_delay: float = 1.0
    retry_max_delay: float = 30.0
    throttle_min_rate: float = 1.0
    throttle_recovery: float = 0.5


@dataclasses.dataclass(frozen=True)
class Text:
    parts: tuple[bytes, ...]
    reference: int | None = None
    encoding: str = "ucs2"


class FakeCarrier:
    """Answers nothing by itself: `sent` holds (payload, Deferred) for the test to fire."""

    def __init__(self):
        self.can_submit = True
        self.sent: list[tuple[bytes, Deferred]] = []

    @property
    def submits_outstanding(self) -> int:
        return sum(1 for _, d in self.sent if not d.called)

    def send(self, part) -> Deferred:
        d: Deferred = Deferred()
        self.sent.append((part.payload, d))
        return d


def classify(answer: object) -> Outcome:
    """"ok:ID", "busy", "slow", or "no" (refused, code 13)."""
    assert isinstance(answer, str)
    if answer.startswith("ok:"):
        return Outcome.ok(answer[3:])
    if answer == "busy":
        return Outcome(Verdict.RETRY, "busy")
    if answer == "slow":
        return Outcome(Verdict.THROTTLE, "slow down")
    return Outcome(Verdict.FAIL, "refused", 13)


def make_pump(**settings):
    clock = Clock()
    carrier = FakeCarrier()
    pump = SubmitPump(Settings(**settings), clock, send=lambda c, part: c.send(part),
                      classify=classify, name="test", peer="SMSC", pdu="submit")
    pump.attach(carrier)
    return pump, carrier, clock


def results(submission):
    out: list = []
    for d in submission.parts:
        d.addBoth(out.append)
    return out


def queue(pump, *payloads, reference=None):
    return pump.submit(OutboundMessage(PHONE, "x"), Text(tuple(payloads), reference),
                       unavailable=None)


def test_parts_go_in_order_up_to_the_window_and_the_rest_on_each_answer():
    pump, carrier, _ = make_pump(window=2)
    got = results(queue(pump, b"a", b"b", b"c"))
    assert [p for p, _ in carrier.sent] == [b"a", b"b"] and pump.pending() == 3
    carrier.sent[0][1].callback("ok:1")
    assert [p for p, _ in carrier.sent] == [b"a", b"b", b"c"]
    carrier.sent[1][1].callback("ok:2")
    carrier.sent[2][1].callback("ok:3")
    assert got == ["1", "2", "3"] and pump.pending() == 0


def test_the_bucket_holds_the_rate_and_a_timer_sends_the_rest():
    pump, carrier, clock = make_pump(window=100, rate=10.0, bucket_depth=2.0)
    queue(pump, *[bytes([i]) for i in range(5)])
    assert len(carrier.sent) == 2
    clock.advance(0.1)
    assert len(carrier.sent) == 3
    clock.advance(0.2)
    assert len(carrier.sent) == 5


def test_a_retry_verdict_resends_after_a_growing_backoff_then_fails_as_carrier_busy():
    pump, carrier, clock = make_pump(retry_limit=2, retry_initial_delay=1.0)
    got = results(queue(pump, b"a"))
    carrier.sent[-1][1].callback("busy")
    assert len(carrier.sent) == 1 and pump.pending() == 1
    clock.advance(1.0)  # 1 s after the first
    carrier.sent[-1][1].callback("busy")
    clock.advance(1.9)
    assert len(carrier.sent) == 2
    clock.advance(0.1)  # 2 s after the second
    assert len(carrier.sent) == 3
    carrier.sent[-1][1].callback("busy")
    assert len(got) == 1 and got[0].check(CarrierBusy) and got[0].value.reason == "busy"


def test_a_throttle_verdict_halves_the_rate_once_a_second_and_a_clean_second_regains_some():
    pump, carrier, clock = make_pump(window=10, rate=100.0, throttle_recovery=0.25)
    queue(pump, b"a", b"b", b"c", b"d")
    with capturedLogs() as events:
        carrier.sent[0][1].callback("slow")
        carrier.sent[1][1].callback("slow")  # the same second: no second halving
    assert pump.bucket.rate == 50.0
    assert [formatEvent(e) for e in events if "slowing" in e["log_format"]] == [
        "SMSC says slow down: slowing test from 100.0 to 50.0 submits/s"]
    carrier.sent[2][1].callback("ok:3")
    assert pump.bucket.rate == 50.0  # an accepted part right after a throttle regains nothing
    clock.advance(1.0)  # the retries go out with the slower rate
    assert [p for p, _ in carrier.sent[4:6]] == [b"a", b"b"]
    carrier.sent[3][1].callback("ok:4")  # a second without a throttle: a quarter back
    assert pump.bucket.rate == 75.0
    carrier.sent[4][1].callback("ok:5")  # once a second, not once a part
    assert pump.bucket.rate == 75.0


def test_a_refusal_fails_the_part_for_good_with_the_carrier_s_reason_and_code():
    pump, carrier, _ = make_pump()
    got = results(queue(pump, b"a"))
    carrier.sent[0][1].callback("no")
    assert got[0].check(PermanentSubmitError)
    assert (got[0].value.status, got[0].value.code) == ("refused", 13)


def test_a_part_no_pdu_can_carry_fails_at_once_and_the_next_part_still_goes():
    pump, carrier, _ = make_pump()

    def send(c, part):
        if part.payload == b"bad":
            raise PermanentSubmitError("cannot be built")
        return c.send(part)

    pump._send = send
    got = results(queue(pump, b"bad", b"good"))
    assert got[0].check(PermanentSubmitError) and [p for p, _ in carrier.sent] == [b"good"]


def test_a_response_timeout_retries_and_an_unexpected_error_is_retryable_and_logged():
    pump, carrier, clock = make_pump()
    got = results(queue(pump, b"a", b"b"))
    carrier.sent[0][1].errback(ResponseTimeout("no answer"))
    with capturedLogs() as events:
        carrier.sent[1][1].errback(ValueError("boom"))
    assert len(got) == 1 and got[0].value.reason == "boom"  # b; a waits for its retry
    assert any(e.get("log_failure") and e.get("pdu") == "submit" for e in events)
    clock.advance(1.0)
    assert carrier.sent[-1][0] == b"a"


def test_losing_the_link_fails_queued_and_retrying_parts_and_never_sends_them():
    pump, carrier, clock = make_pump(window=1)
    got = results(queue(pump, b"a", b"b"))
    carrier.sent[0][1].callback("busy")  # a waits 1 s for its retry, b went out
    pump.detach(LinkUnavailable("link lost"))
    carrier.sent[1][1].errback(LinkUnavailable("link lost"))
    assert len(got) == 2 and all(f.check(LinkUnavailable) for f in got)
    clock.advance(60)
    assert len(carrier.sent) == 2 and pump.pending() == 0


def test_an_unavailable_link_fails_every_part_at_once():
    pump, carrier, _ = make_pump()
    submission = pump.submit(OutboundMessage(PHONE, "x"), Text((b"a", b"b")),
                             unavailable="not bound")
    got = results(submission)
    assert [f.value.reason for f in got] == ["not bound", "not bound"] and carrier.sent == []
    assert submission.encoding == "ucs2"


def test_the_reference_is_released_only_when_every_part_is_settled():
    pump, carrier, _ = make_pump()
    reference = pump.reference_for(PHONE)()
    queue(pump, b"a", b"b", reference=reference)
    carrier.sent[0][1].callback("ok:1")
    assert pump.references.in_flight(PHONE) == frozenset({reference})
    carrier.sent[1][1].callback("no")
    assert pump.references.in_flight(PHONE) == frozenset()


@pytest.mark.parametrize("can_submit", [False, True])
def test_nothing_goes_without_a_connection_that_can_submit(can_submit):
    pump, carrier, _ = make_pump()
    carrier.can_submit = can_submit
    queue(pump, b"a")
    assert len(carrier.sent) == (1 if can_submit else 0)


def test_refuse_fails_every_part_of_a_message_that_cannot_be_queued():
    pump, _, _ = make_pump()
    got = results(pump.refuse(CarrierBusy("no reference free"), "ucs2", 3))
    assert len(got) == 3 and all(f.check(CarrierBusy) for f in got)
