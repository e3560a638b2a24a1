"""SgipLink against the simulated SMG in memory (no sockets, task.Clock), both ways: the SP's
binds to the SMG to submit, and the SMG's binds to the SP's listener to deliver reports and
replies."""

import datetime as dt

from twisted.internet.address import IPv4Address
from twisted.internet.defer import fail, succeed
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.test import iosim
from zope.interface import implementer
from zope.interface.verify import verifyObject

from sms_gateway.link import (
    ISmsLink,
    LinkUnavailable,
    MessageState,
    OutboundMessage,
    PermanentSubmitError,
)
from sms_gateway.sgip import SgipBindConfig, SgipLink
from sms_gateway.sgip.simulator import SimulatedSmg
from tests.sms_gateway.cmpp.test_segments import OUTSIDE_BMP, boundary_text
from tests.sms_gateway.helpers import Inbox, MemoryEndpoint

START = dt.datetime(2026, 12, 7, 7, 30, tzinfo=dt.timezone.utc).timestamp()
NODE = 3053112345


class FromAddress(MemoryEndpoint):
    """A MemoryEndpoint whose server side sees the connection come from `peer`."""

    def __init__(self, server_factory, clock, peer="127.0.0.1"):
        super().__init__(server_factory, clock)
        self.peer = peer

    def connect(self, factory):
        self.connects += 1
        client = factory.buildProtocol(iosim.FakeAddress())
        server = self.server_factory.buildProtocol(iosim.FakeAddress())
        client_io = iosim.FakeTransport(client, isServer=False)
        server_io = iosim.FakeTransport(server, isServer=True,
                                        peerAddress=IPv4Address("TCP", self.peer, 40000))
        self.pumps.append(iosim.connect(server, server_io, client, client_io, greet=False,
                                        clock=self.clock))
        return succeed(client)


@implementer(IStreamServerEndpoint)
class Listener:
    """Where the link listens: the factory is kept for the SMG's endpoint to dial."""

    factory = None

    def listen(self, factory):
        self.factory = factory
        return succeed(self)

    def stopListening(self):
        return succeed(None)


class Wire:
    """Both directions of one test, moved together."""

    def __init__(self, *endpoints):
        self.endpoints = endpoints

    def flush(self):
        for _ in range(5):
            for endpoint in self.endpoints:
                endpoint.flush()

    def advance(self, seconds, step=0.01):
        clock = self.endpoints[0].clock
        steps = max(1, round(seconds / step))
        self.flush()
        for _ in range(steps):
            clock.advance(seconds / steps)
            self.flush()


def make_link(*, clock=None, report_delay=None, peer="127.0.0.1", **config):
    """(link, smg, wire, inbox, clock), the link started and bound."""
    if clock is None:
        clock = Clock()
        clock.advance(START)
    listener = Listener()
    smg = SimulatedSmg(clock, report_delay=report_delay, redeliver_delay=60.0)
    to_smg = MemoryEndpoint(smg.factory(), clock)
    inbox = Inbox()
    settings = dict(node_id=NODE, login_name="hotline", password="secret",
                    smg_login_name="unicom", smg_password="smgsecret",
                    sp_number="1065501960011", corp_id="12345", service_type="HOTLINE",
                    rate=1000.0, response_timeout=5.0, idle_timeout=30.0)
    settings.update(config)
    link = SgipLink(SgipBindConfig(**settings), to_smg, clock, on_receipt=inbox.receipt,
                    on_message=inbox.message, retry_policy=lambda attempt: 1.0, name="unicom",
                    listen_endpoint=listener)
    link.startService()
    to_sp = FromAddress(listener.factory, clock, peer)
    smg.sp_endpoint = to_sp
    wire = Wire(to_smg, to_sp)
    wire.flush()
    return link, smg, wire, inbox, clock


def submit(link, text, destination="13012345678"):
    submission = link.submit(OutboundMessage(destination, text))
    ids = []
    submission.message_ids().addBoth(ids.append)
    return submission, ids


def test_the_link_provides_the_link_interface_and_binds_with_login_type_1():
    link, smg, *_ = make_link()
    assert verifyObject(ISmsLink, link)
    assert link.is_available() and smg.bind_attempts == [("hotline", 0)]


def test_a_four_part_chinese_message_goes_in_udh_parts_and_every_report_comes_back():
    link, smg, wire, inbox, clock = make_link(report_delay=2.0)
    submission, ids = submit(link, boundary_text())
    wire.advance(0.1)
    assert submission.encoding == "ucs2" and len(submission.parts) == 4
    accepted = smg.accepted
    assert [(a.tp_udhi, a.message_coding, a.destination) for a in accepted] == [
        (1, 8, "8613012345678")] * 4
    assert [a.content[5] for a in accepted] == [1, 2, 3, 4]  # the UDH's part numbers
    texts = [a.content[6:].decode("utf-16-be") for a in accepted]
    assert texts[1].startswith(OUTSIDE_BMP) and "".join(texts) == boundary_text()
    (message_ids,) = ids
    assert list(message_ids) == smg.accepted_ids()
    assert all(i.startswith(f"{NODE:010d}") and len(i) == 30 for i in message_ids)
    wire.advance(2.5)
    assert smg.sp_bind_results == [0]  # the SMG bound to our listener with its own login
    assert [r.state for r in inbox.receipts] == [MessageState.DELIVERED] * 4
    assert {r.handset for r in inbox.receipts} == {"13012345678"}
    stored = {i: link.submit_id_keys(i) for i in message_ids}
    for receipt in inbox.receipts:
        assert [i for i, keys in stored.items() if keys & link.receipt_id_keys(receipt)] == [
            receipt.message_id]


def test_a_failed_report_names_its_error_code():
    link, smg, wire, inbox, _ = make_link(report_delay=1.0)
    smg.faults.stats = {"8613000000001": "25"}
    submit(link, "测试", destination="13000000001")
    wire.advance(1.5)
    assert [(r.state, r.error_code) for r in inbox.receipts] == [
        (MessageState.UNDELIVERABLE, "25 用户不能通信")]


def test_node_busy_slows_the_link_down_and_every_part_gets_through():
    link, smg, wire, _, _ = make_link(rate=100.0, throttle_min_rate=5.0)
    smg.faults.throttle_rate = 20.0
    for _ in range(40):
        submit(link, "测试")
    with capturedLogs() as events:
        wire.advance(10)
    assert any(formatEvent(e).startswith("SMG says SGIP Result 11 节点忙: slowing unicom")
               for e in events)
    assert len(smg.accepted) == 40


def test_another_result_fails_the_part_for_good_naming_it():
    link, smg, wire, _, _ = make_link()
    smg.faults.result_for = {"8613000000000": 6}
    with capturedLogs():
        _, ids = submit(link, "测试", destination="13000000000")
        wire.flush()
    assert ids[0].check(PermanentSubmitError)
    assert ids[0].value.status == "SGIP Result 6 非法手机号码"


def test_a_wrong_password_gets_result_1_and_the_link_stays_down():
    with capturedLogs():
        link, smg, wire, _, _ = make_link(password="wrong")
    assert not link.is_available() and smg.bind_attempts[0] == ("hotline", 1)
    _, ids = submit(link, "测试")
    assert ids[0].check(LinkUnavailable)


def test_an_smg_bind_from_an_address_not_allowed_is_closed_unanswered():
    link, smg, wire, inbox, _ = make_link(report_delay=0.5, peer="10.9.9.9")
    with capturedLogs() as events:
        submit(link, "测试")
        wire.advance(1)
    assert inbox.receipts == [] and smg.sp_bind_results == []
    assert any("not in allowed_peers" in e["log_format"] for e in events)


def test_an_smg_bind_with_another_login_is_refused():
    link, smg, wire, inbox, _ = make_link(report_delay=0.5, smg_password="other")
    with capturedLogs():
        submit(link, "测试")
        wire.advance(1)
    assert smg.sp_bind_results == [1] and inbox.receipts == []


def test_a_reply_to_an_extension_arrives_whole_without_the_86():
    link, smg, wire, inbox, _ = make_link()
    results = []
    smg.inject_mo("13012345679", "106550196001101", boundary_text(),
                  order=[3, 1, 0, 2]).addBoth(results.append)
    wire.flush()
    assert [(m.source, m.destination, m.text, m.parts) for m in inbox.messages] == [
        ("13012345679", "106550196001101", boundary_text(), 4)]
    assert results == [[0, 0, 0, 0]]


def test_a_report_not_stored_is_not_answered_and_comes_again():
    link, smg, wire, inbox, _ = make_link(report_delay=0.5)
    answers = iter([False, True])
    stored = []

    def on_receipt(receipt):
        stored.append(receipt)
        return succeed(None) if next(answers) else fail(RuntimeError("database down"))

    link.on_receipt = on_receipt
    submit(link, "测试")
    with capturedLogs():
        wire.advance(1)
        assert len(stored) == 1
        wire.advance(60)
    assert len(stored) == 2 and stored[0].message_id == stored[1].message_id


def test_the_link_cut_mid_batch_fails_what_was_unanswered_and_binds_again():
    link, smg, wire, inbox, _ = make_link(report_delay=0.5, window=16)
    smg.faults.drop_after_pdus = 12  # 11 submits after the Bind
    outcomes = [submit(link, f"测试{n}")[1] for n in range(30)]
    with capturedLogs():
        wire.advance(3)
    sent = [o[0] for o in outcomes if isinstance(o[0], tuple)]
    failed = [o[0] for o in outcomes if not isinstance(o[0], tuple)]
    assert len(sent) == 11 and all(f.check(LinkUnavailable) for f in failed)
    assert [ids[0] for ids in sent] == smg.accepted_ids()
    assert link.is_available()
    assert {r.message_id for r in inbox.receipts} == set(smg.accepted_ids())


def test_idle_the_sp_unbinds_and_binds_again_for_the_next_message():
    link, smg, wire, _, _ = make_link(idle_timeout=30.0)
    with capturedLogs() as events:
        wire.advance(31)
    assert any("idle for" in e["log_format"] for e in events)
    wire.advance(2)  # reconnected after the retry policy's second
    _, ids = submit(link, "测试")
    wire.flush()
    assert isinstance(ids[0], tuple) and len(smg.bind_attempts) == 2


def test_stopping_unbinds_after_the_answers_to_what_was_sent():
    link, smg, wire, _, _ = make_link()
    smg.faults.response_delay = 0.5
    _, ids = submit(link, "测试")
    stopped = []
    link.stopService().addBoth(stopped.append)
    wire.advance(1)
    assert stopped == [None] and isinstance(ids[0], tuple)
    assert not [s for s in smg.sessions if not s.outbound]


def test_a_reply_sent_on_the_submit_connection_is_stored_and_answered_there_too():
    """SGIP 1.2 has the SMG deliver on its own connection; one that sends a Deliver on the
    SP's submit connection instead loses nothing: stored, then answered with Deliver_Resp."""
    from sms_gateway.sgip import codec

    link, smg, wire, inbox, clock = make_link()
    submit(link, "测试")  # the SP binds to the SMG to submit
    wire.advance(1)
    pump = wire.endpoints[0].pumps[-1]
    sent = []
    write = pump.client.transport.write
    pump.client.transport.write = lambda data: (sent.append(data), write(data))
    sequence = codec.Sequence(NODE + 1, 1207153000, 77)
    deliver = codec.Deliver("8613012345679", "1065501960011",
                            "查询进度".encode("utf-16-be"), message_coding=8)
    with capturedLogs():
        pump.client.dataReceived(codec.encode(deliver, sequence))
        wire.flush()
    assert [(m.source, m.text) for m in inbox.messages] == [("13012345679", "查询进度")]
    answer = codec.decode(sent[-1])
    assert answer[0] == sequence and isinstance(answer[1], codec.DeliverResp)
    assert answer[1].result == 0
