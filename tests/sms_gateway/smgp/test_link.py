"""SmgpLink against the simulated SMGW in memory (no sockets, task.Clock): what the dispatcher
sees of it is what it sees of SmppLink and CmppLink."""

import datetime as dt

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from zope.interface.verify import verifyObject

from sms_gateway.link import (
    ISmsLink,
    LinkUnavailable,
    MessageState,
    OutboundMessage,
    PermanentSubmitError,
)
from sms_gateway.smgp import SmgpBindConfig, SmgpLink, codec
from sms_gateway.smgp.simulator import SimulatedSmgw
from tests.sms_gateway.cmpp.test_segments import OUTSIDE_BMP, boundary_text
from tests.sms_gateway.helpers import Inbox, MemoryEndpoint

START = dt.datetime(2026, 11, 28, 1, 30, tzinfo=dt.timezone.utc).timestamp()
CLIENT = "10690001"


def make_smgw(clock, **options):
    return SimulatedSmgw(clock, **{"report_delay": None, **options})


def make_link(*, smgw=None, clock=None, **config):
    """(link, smgw, endpoint, inbox, clock), the link started and logged in."""
    if clock is None:
        clock = Clock()
        clock.advance(START)
    smgw = smgw or make_smgw(clock)
    endpoint = MemoryEndpoint(smgw.factory(), clock)
    inbox = Inbox()
    settings = dict(client_id=CLIENT, password="secret", src_term_id="1180001019600110",
                    service_id="HOTLINE", rate=1000.0, response_timeout=5.0,
                    heartbeat_interval=30.0, retry_initial_delay=1.0)
    settings.update(config)
    link = SmgpLink(SmgpBindConfig(**settings), endpoint, clock, on_receipt=inbox.receipt,
                    on_message=inbox.message, retry_policy=lambda attempt: 1.0, name="telecom")
    link.startService()
    endpoint.flush()
    return link, smgw, endpoint, inbox, clock


def submit(link, text, destination="13312345678"):
    submission = link.submit(OutboundMessage(destination, text))
    ids = []
    submission.message_ids().addBoth(ids.append)
    return submission, ids


def test_the_link_provides_the_link_interface_the_dispatcher_uses():
    link, smgw, *_ = make_link()
    assert verifyObject(ISmsLink, link)
    assert link.is_available() and link.when_available().called
    assert smgw.login_attempts == [(CLIENT, 2, 0)]  # transmit mode, Status 0


def test_a_four_part_chinese_message_goes_with_udh_and_tlvs_and_every_report_matches():
    clock = Clock()
    clock.advance(START)
    link, smgw, endpoint, inbox, clock = make_link(smgw=make_smgw(clock, report_delay=2.0),
                                                   clock=clock)
    submission, ids = submit(link, boundary_text())
    endpoint.advance(0.1)
    assert submission.encoding == "ucs2" and len(submission.parts) == 4
    accepted = smgw.accepted
    assert [(a.pk_total, a.pk_number, a.tp_udhi, a.msg_format) for a in accepted] == [
        (4, n, 1, 8) for n in (1, 2, 3, 4)]
    assert {(a.src_term_id, a.service_id) for a in accepted} == {("1180001019600110", "HOTLINE")}
    texts = [a.content[6:].decode("utf-16-be") for a in accepted]  # strict: no lone surrogate
    assert texts[1].startswith(OUTSIDE_BMP) and "".join(texts) == boundary_text()
    (message_ids,) = ids
    assert list(message_ids) == smgw.accepted_ids()
    assert all(len(i) == 20 for i in message_ids)  # the 10-octet MsgID in hex
    endpoint.advance(2.5)
    assert [r.state for r in inbox.receipts] == [MessageState.DELIVERED] * 4
    assert {r.handset for r in inbox.receipts} == {"13312345678"}
    stored = {i: link.submit_id_keys(i) for i in message_ids}
    for receipt in inbox.receipts:
        assert [i for i, keys in stored.items() if keys & link.receipt_id_keys(receipt)] == [
            receipt.message_id]


def test_a_single_part_goes_without_tlvs_and_gbk_when_configured():
    link, smgw, endpoint, _, _ = make_link(msg_fmt="gbk")
    submission, _ = submit(link, "您的诉求已受理，编号2026112800001。")
    endpoint.flush()
    (accepted,) = smgw.accepted
    assert submission.encoding == "gbk" and accepted.msg_format == 15
    assert (accepted.tp_udhi, accepted.pk_total) == (0, 1)
    assert accepted.content.decode("gbk") == "您的诉求已受理，编号2026112800001。"


def test_never_more_than_the_window_awaits_its_response():
    link, smgw, endpoint, _, _ = make_link(window=16)
    smgw.faults.response_delay = 0.5
    outstanding = []
    for _ in range(40):
        submit(link, "测试")
    for _ in range(30):
        outstanding.append(link._protocol.submits_outstanding)
        endpoint.advance(0.1)
    assert max(outstanding) == 16
    assert len(smgw.accepted) == 40 and not smgw.refused


def test_system_busy_from_the_smgw_s_rate_slows_us_down_and_every_part_gets_through():
    link, smgw, endpoint, _, _ = make_link(rate=100.0, throttle_min_rate=5.0)
    smgw.faults.throttle_rate = 20.0
    for _ in range(40):
        submit(link, "测试")
    with capturedLogs() as events:
        endpoint.advance(10)
    assert any(formatEvent(e).startswith("SMGW says SMGP Status 1 系统忙: slowing telecom")
               for e in events)
    assert len(smgw.accepted) == 40 and link.bucket.rate < 100.0


def test_another_status_fails_the_part_for_good_naming_it():
    link, smgw, endpoint, _, _ = make_link()
    smgw.faults.result_for = {"13300000000": 47}
    with capturedLogs():
        _, ids = submit(link, "测试", destination="13300000000")
        endpoint.flush()
    assert ids[0].check(PermanentSubmitError)
    assert ids[0].value.status == "SMGP Status 47 非法接收用户号码"


def test_a_sender_no_field_can_hold_fails_the_part_for_good():
    link, smgw, endpoint, _, _ = make_link()
    submission = link.submit(OutboundMessage("13312345678", "测试", source="1" * 22))
    ids = []
    submission.message_ids().addBoth(ids.append)
    assert ids[0].check(PermanentSubmitError) and "SrcTermID" in ids[0].value.status
    assert smgw.accepted == [] and link.pending() == 0


def test_a_failed_report_arrives_with_its_stat_and_err():
    clock = Clock()
    clock.advance(START)
    smgw = make_smgw(clock, report_delay=1.0)
    smgw.faults.stats = {"13300000001": "UNDELIV"}
    link, smgw, endpoint, inbox, _ = make_link(smgw=smgw, clock=clock)
    submit(link, "测试", destination="13300000001")
    endpoint.advance(1.5)
    assert [(r.state, r.error_code) for r in inbox.receipts] == [
        (MessageState.UNDELIVERABLE, "UNDELIV/001")]


def test_a_wrong_secret_gets_status_21_and_the_link_stays_down():
    with capturedLogs() as events:
        link, smgw, endpoint, _, _ = make_link(password="wrong")
    assert not link.is_available()
    assert smgw.login_attempts[0] == (CLIENT, 2, 21)
    assert any("Status 21 (认证错)" in formatEvent(e) for e in events)
    _, ids = submit(link, "测试")
    assert ids[0].check(LinkUnavailable)


def test_an_authenticator_server_that_does_not_match_keeps_the_link_down():
    clock = Clock()
    clock.advance(START)
    smgw = make_smgw(clock)
    smgw.credentials = {CLIENT: "secret"}
    link, *_ = make_link(smgw=smgw, clock=clock, password="secret", verify_smgw=True)
    assert link.is_available()
    smgw2 = make_smgw(clock, status_octets=1)  # the one-octet form is accepted too
    link2, *_ = make_link(smgw=smgw2, clock=clock)
    assert link2.is_available()


def test_the_link_cut_mid_batch_fails_what_was_unanswered_and_reconnects():
    clock = Clock()
    clock.advance(START)
    link, smgw, endpoint, inbox, clock = make_link(smgw=make_smgw(clock, report_delay=0.5),
                                                   clock=clock, window=16)
    smgw.faults.drop_after_pdus = 12  # 11 submits after the Login, answered at once
    outcomes = [submit(link, f"测试{n}")[1] for n in range(30)]
    with capturedLogs():
        endpoint.advance(3)
    assert all(len(outcome) == 1 for outcome in outcomes)
    sent = [o[0] for o in outcomes if isinstance(o[0], tuple)]
    failed = [o[0] for o in outcomes if not isinstance(o[0], tuple)]
    assert len(sent) == 11 and all(f.check(LinkUnavailable) for f in failed)
    assert [ids[0] for ids in sent] == smgw.accepted_ids()
    assert link.is_available()
    assert {r.message_id for r in inbox.receipts} == set(smgw.accepted_ids())


def test_a_report_not_acknowledged_is_sent_again_after_the_redeliver_delay():
    clock = Clock()
    clock.advance(START)
    smgw = make_smgw(clock, report_delay=0.5, redeliver_delay=60.0)
    link, smgw, endpoint, inbox, clock = make_link(smgw=smgw, clock=clock)
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


def test_a_report_sent_again_after_its_answer_was_lost_is_not_stored_twice():
    clock = Clock()
    clock.advance(START)
    smgw = make_smgw(clock, report_delay=0.5)
    link, smgw, endpoint, inbox, clock = make_link(smgw=smgw, clock=clock)
    submit(link, "测试")
    endpoint.advance(1)
    assert len(inbox.receipts) == 1
    (session,) = smgw.bound_sessions()
    report = smgw.accepted[0]
    # The same Deliver again, as an SMGW sends it when our Deliver_Resp did not reach it.
    deliver = codec.Deliver(
        msg_id=smgw.new_msg_id(), src_term_id=report.destination, dest_term_id="1180001",
        msg_content=codec.encode_report(codec.StatusReport(report.msg_id, "DELIVRD")),
        is_report=1)
    for _ in range(2):
        session.transport.write(codec.encode(deliver, 77))
        endpoint.flush()
    assert len(inbox.receipts) == 2  # the first copy stored, the second only acknowledged


def test_reports_unanswered_when_the_link_drops_are_sent_again_on_the_next_connection():
    clock = Clock()
    clock.advance(START)
    smgw = make_smgw(clock, report_delay=0.5)
    link, smgw, endpoint, inbox, clock = make_link(smgw=smgw, clock=clock)
    held = []
    link.on_receipt = lambda receipt: held.append(receipt) or Deferred()  # never stored
    submit(link, "测试")
    endpoint.advance(1)
    assert len(held) == 1
    link.on_receipt = inbox.receipt
    with capturedLogs():
        smgw.bound_sessions()[0].transport.loseConnection()
        endpoint.advance(2)
    assert link.is_available() and [r.message_id for r in inbox.receipts] == smgw.accepted_ids()


def test_a_reply_to_an_extension_arrives_whole_with_the_extension_kept():
    link, smgw, endpoint, inbox, _ = make_link()
    results = []
    smgw.inject_mo("13312345678", "118000101960011001", boundary_text(),
                   order=[3, 1, 0, 2]).addBoth(results.append)
    endpoint.flush()
    assert [(m.source, m.destination, m.text, m.parts) for m in inbox.messages] == [
        ("13312345678", "118000101960011001", boundary_text(), 4)]
    assert results == [[0, 0, 0, 0]]


def test_stopping_sends_exit_after_the_answers_to_what_was_sent():
    link, smgw, endpoint, _, _ = make_link()
    smgw.faults.response_delay = 0.5
    _, ids = submit(link, "测试")
    stopped = []
    link.stopService().addBoth(stopped.append)
    endpoint.advance(1)
    assert stopped == [None] and isinstance(ids[0], tuple) and not smgw.sessions


def test_a_dead_link_is_dropped_after_three_unanswered_active_tests_and_comes_back():
    link, smgw, endpoint, _, _ = make_link(heartbeat_interval=30.0, response_timeout=5.0)
    smgw.faults.unanswered = frozenset({"ACTIVE_TEST"})
    with capturedLogs() as events:
        endpoint.advance(44)
        assert link.is_available()
        endpoint.advance(2)  # 30 + 3 x 5 s
    assert any("Dead SMGP link" in formatEvent(e) and e.get("count") == 3 for e in events)
    smgw.faults.unanswered = frozenset()
    endpoint.advance(2)
    assert link.is_available() and len(smgw.login_attempts) == 2


def test_the_smgw_s_active_tests_are_answered_and_its_exit_too():
    clock = Clock()
    clock.advance(START)
    smgw = make_smgw(clock, active_test_interval=10.0)
    link, smgw, endpoint, _, _ = make_link(smgw=smgw, clock=clock, heartbeat_interval=60.0)
    endpoint.advance(25)
    (session,) = smgw.bound_sessions()
    assert session.active_test_answers == 2
    with capturedLogs():
        session.send_request(codec.Exit())
        endpoint.flush()
    assert not link._protocol or not link._protocol.can_submit
