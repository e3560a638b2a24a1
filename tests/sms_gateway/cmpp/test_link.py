"""CmppLink against the simulated ISMG in memory (no sockets, task.Clock): what the dispatcher
sees of it is what it sees of SmppLink."""

import datetime as dt

import pytest
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from zope.interface.verify import verifyObject

from sms_gateway.cmpp import CmppBindConfig, CmppLink, codec
from sms_gateway.cmpp.simulator import SimulatedIsmg
from sms_gateway.link import (
    ISmsLink,
    LinkUnavailable,
    MessageState,
    OutboundMessage,
    PermanentSubmitError,
)
from tests.sms_gateway.cmpp.test_segments import OUTSIDE_BMP, boundary_text
from tests.sms_gateway.helpers import Inbox, MemoryEndpoint

START = dt.datetime(2026, 11, 28, 1, 30, tzinfo=dt.timezone.utc).timestamp()


def make_link(protocol="cmpp3", *, ismg=None, clock=None, **config):
    """(link, ismg, endpoint, inbox, clock), the link started and connected."""
    if clock is None:
        clock = Clock()
        clock.advance(START)
    ismg = ismg or SimulatedIsmg(clock, version=codec.V3, report_delay=None)
    endpoint = MemoryEndpoint(ismg.factory(), clock)
    inbox = Inbox()
    settings = dict(protocol=protocol, sp_id="901234", password="secret", src_id="1065700101",
                    service_id="HOTLINE", rate=1000.0, response_timeout=5.0,
                    heartbeat_interval=30.0, retry_initial_delay=1.0)
    settings.update(config)
    link = CmppLink(CmppBindConfig(**settings), endpoint, clock, on_receipt=inbox.receipt,
                    on_message=inbox.message, retry_policy=lambda attempt: 1.0, name="mobile")
    link.startService()
    endpoint.flush()
    return link, ismg, endpoint, inbox, clock


def submit(link, text, destination="13812345678"):
    submission = link.submit(OutboundMessage(destination, text))
    ids = []
    submission.message_ids().addBoth(ids.append)
    return submission, ids


def test_the_link_provides_the_link_interface_the_dispatcher_uses():
    link, *_ = make_link()
    assert verifyObject(ISmsLink, link)
    assert link.is_available() and link.when_available().called


@pytest.mark.parametrize("protocol, version", [("cmpp2", codec.V2), ("cmpp3", codec.V3)])
def test_a_four_part_chinese_message_goes_with_udh_and_pk_fields_and_every_report_matches(
        protocol, version):
    clock = Clock()
    clock.advance(START)
    ismg = SimulatedIsmg(clock, version=version, report_delay=2.0)
    link, ismg, endpoint, inbox, clock = make_link(protocol, ismg=ismg, clock=clock)
    submission, ids = submit(link, boundary_text())
    endpoint.advance(0.1)
    assert submission.encoding == "ucs2" and len(submission.parts) == 4
    accepted = ismg.accepted
    assert [(a.pk_total, a.pk_number, a.tp_udhi, a.msg_fmt) for a in accepted] == [
        (4, n, 1, 8) for n in (1, 2, 3, 4)]
    assert {(a.src_id, a.msg_src, a.service_id, a.version) for a in accepted} == {
        ("1065700101", "901234", "HOTLINE", version)}
    texts = [a.content[6:].decode("utf-16-be") for a in accepted]  # strict: no lone surrogate
    assert texts[1].startswith(OUTSIDE_BMP) and "".join(texts) == boundary_text()
    (message_ids,) = ids
    assert list(message_ids) == ismg.accepted_ids()
    endpoint.advance(2.5)
    assert [r.state for r in inbox.receipts] == [MessageState.DELIVERED] * 4
    stored = {i: link.submit_id_keys(i) for i in message_ids}
    for receipt in inbox.receipts:
        assert [i for i, keys in stored.items() if keys & link.receipt_id_keys(receipt)] == [
            receipt.message_id]


def test_gbk_when_configured():
    link, ismg, endpoint, _, _ = make_link(msg_fmt="gbk")
    submission, ids = submit(link, "您的诉求已受理，编号2026112800001。")
    endpoint.flush()
    assert submission.encoding == "gbk" and ismg.accepted[0].msg_fmt == 15
    assert ismg.accepted[0].content.decode("gbk") == "您的诉求已受理，编号2026112800001。"


def test_never_more_than_the_window_awaits_its_response():
    link, ismg, endpoint, _, _ = make_link(window=16)
    ismg.faults.response_delay = 0.5
    outstanding = []
    for _ in range(40):
        submit(link, "测试")
    for _ in range(30):
        outstanding.append(link._protocol.submits_outstanding)
        endpoint.advance(0.1)
    assert max(outstanding) == 16
    assert len(ismg.accepted) == 40 and not ismg.refused


def test_result_8_when_over_the_ismg_s_window_slows_down_and_every_part_gets_through():
    link, ismg, endpoint, _, _ = make_link(window=20, rate=200.0, throttle_min_rate=10.0)
    ismg.faults.response_delay = 0.2  # the ISMG allows 16 unanswered; we send 20
    results = [submit(link, "测试")[1] for _ in range(30)]
    with capturedLogs() as events:
        endpoint.advance(20)
    assert [codec.RESULT_FLOW_CONTROL] * 4 == [r for _, r in ismg.refused][:4]
    assert len(ismg.accepted) == 30 and all(isinstance(r[0], tuple) for r in results)
    assert link.bucket.rate < 200.0 or any("slowing" in e["log_format"] for e in events)


def test_result_8_from_the_ismg_s_rate_halves_ours():
    link, ismg, endpoint, _, _ = make_link(rate=100.0, throttle_min_rate=5.0)
    ismg.faults.throttle_rate = 20.0
    for _ in range(40):
        submit(link, "测试")
    with capturedLogs() as events:
        endpoint.advance(10)
    assert any(formatEvent(e).startswith("ISMG says CMPP Result 8 流量控制错") for e in events)
    assert len(ismg.accepted) == 40


def test_another_result_fails_the_part_for_good_naming_it():
    link, ismg, endpoint, _, _ = make_link()
    ismg.faults.result_for = {"13800000000": 13}
    with capturedLogs():
        _, ids = submit(link, "测试", destination="13800000000")
        endpoint.flush()
    assert ids[0].check(PermanentSubmitError)
    assert ids[0].value.status == "CMPP Result 13 Dest_terminal_Id错误"


def test_a_sender_no_field_can_hold_fails_the_part_for_good():
    link, ismg, endpoint, _, _ = make_link()
    submission = link.submit(OutboundMessage("13812345678", "测试", source="1" * 22))
    ids = []
    submission.message_ids().addBoth(ids.append)
    assert ids[0].check(PermanentSubmitError) and "Src_Id" in ids[0].value.status
    assert ismg.accepted == [] and link.pending() == 0


def test_a_failed_report_arrives_with_its_stat():
    clock = Clock()
    clock.advance(START)
    ismg = SimulatedIsmg(clock, report_delay=1.0)
    ismg.faults.stats = {"13800000001": "MK:0005"}
    link, ismg, endpoint, inbox, _ = make_link(ismg=ismg, clock=clock)
    submit(link, "测试", destination="13800000001")
    endpoint.advance(1.5)
    assert [(r.state, r.error_code) for r in inbox.receipts] == [
        (MessageState.UNDELIVERABLE, "MK:0005")]


def test_a_wrong_secret_gets_status_3_and_the_link_stays_down():
    link, ismg, endpoint, _, _ = make_link(password="wrong")
    assert not link.is_available()
    assert ismg.connect_attempts[0] == ("901234", 0x30, 3)
    _, ids = submit(link, "测试")
    assert ids[0].check(LinkUnavailable)


def test_a_2_0_link_is_served_in_2_0_by_a_3_0_ismg():
    link, ismg, endpoint, _, _ = make_link("cmpp2")
    submit(link, "测试")
    endpoint.flush()
    assert link.is_available() and ismg.accepted[0].version == codec.V2


def test_the_link_cut_mid_batch_fails_what_was_unanswered_and_reconnects():
    clock = Clock()
    clock.advance(START)
    ismg = SimulatedIsmg(clock, report_delay=0.5)
    link, ismg, endpoint, inbox, clock = make_link(ismg=ismg, clock=clock, window=16)
    ismg.faults.drop_after_pdus = 12  # 11 submits after the CMPP_CONNECT, answered at once
    outcomes = [submit(link, f"测试{n}")[1] for n in range(30)]
    with capturedLogs():
        endpoint.advance(3)
    assert all(len(outcome) == 1 for outcome in outcomes)  # every message answered, one way
    sent = [o[0] for o in outcomes if isinstance(o[0], tuple)]
    failed = [o[0] for o in outcomes if not isinstance(o[0], tuple)]
    assert len(sent) == 11 and all(f.check(LinkUnavailable) for f in failed)  # to resend
    assert [ids[0] for ids in sent] == ismg.accepted_ids()  # none accepted unrecorded
    assert link.is_available()  # connected again
    assert {r.message_id for r in inbox.receipts} == set(ismg.accepted_ids())


def test_a_report_not_acknowledged_is_sent_again_after_the_redeliver_delay():
    clock = Clock()
    clock.advance(START)
    ismg = SimulatedIsmg(clock, report_delay=0.5, redeliver_delay=60.0)
    link, ismg, endpoint, inbox, clock = make_link(ismg=ismg, clock=clock)
    answers = iter([False, True])
    stored = []

    def on_receipt(receipt):
        stored.append(receipt)
        return succeed(None) if next(answers) else fail(RuntimeError("database down"))

    link.on_receipt = on_receipt
    submit(link, "测试")
    with capturedLogs():
        endpoint.advance(1)
        assert len(stored) == 1
        endpoint.advance(60)
    assert len(stored) == 2 and stored[0].message_id == stored[1].message_id


def test_reports_unanswered_when_the_link_drops_are_sent_again_on_the_next_connection():
    clock = Clock()
    clock.advance(START)
    ismg = SimulatedIsmg(clock, report_delay=0.5)
    link, ismg, endpoint, inbox, clock = make_link(ismg=ismg, clock=clock)
    held = []
    link.on_receipt = lambda receipt: held.append(receipt) or Deferred()  # never stored
    submit(link, "测试")
    endpoint.advance(1)
    assert len(held) == 1
    link.on_receipt = inbox.receipt
    with capturedLogs():
        ismg.bound_sessions()[0].transport.loseConnection()
        endpoint.advance(2)
    assert link.is_available() and [r.message_id for r in inbox.receipts] == ismg.accepted_ids()


def test_a_reply_to_an_extension_arrives_whole_with_the_extension_kept():
    link, ismg, endpoint, inbox, _ = make_link()
    results = []
    ismg.inject_mo("13912345678", "106570010199", boundary_text(), order=[3, 1, 0, 2]).addBoth(
        results.append)
    endpoint.flush()
    assert [(m.source, m.destination, m.text, m.parts) for m in inbox.messages] == [
        ("13912345678", "106570010199", boundary_text(), 4)]
    assert results == [[0, 0, 0, 0]]


def test_stopping_sends_terminate_after_the_answers_to_what_was_sent():
    link, ismg, endpoint, _, _ = make_link()
    ismg.faults.response_delay = 0.5
    _, ids = submit(link, "测试")
    stopped = []
    link.stopService().addBoth(stopped.append)
    endpoint.advance(1)
    assert stopped == [None] and isinstance(ids[0], tuple) and not ismg.sessions


def test_a_dead_link_is_dropped_after_three_unanswered_active_tests_and_comes_back():
    link, ismg, endpoint, _, _ = make_link(heartbeat_interval=30.0, response_timeout=5.0)
    ismg.faults.unanswered = frozenset({"ACTIVE_TEST"})
    with capturedLogs() as events:
        endpoint.advance(44)
        assert link.is_available()
        endpoint.advance(2)  # 30 + 3 x 5 s
    assert any("Dead CMPP link" in formatEvent(e) for e in events)
    ismg.faults.unanswered = frozenset()
    endpoint.advance(2)
    assert link.is_available() and len(ismg.connect_attempts) == 2


def test_the_ismg_s_active_tests_are_answered():
    clock = Clock()
    clock.advance(START)
    ismg = SimulatedIsmg(clock, active_test_interval=10.0)
    link, ismg, endpoint, _, _ = make_link(ismg=ismg, clock=clock, heartbeat_interval=60.0)
    endpoint.advance(25)
    assert ismg.bound_sessions()[0].active_test_answers == 2
