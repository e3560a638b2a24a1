"""CmppClientProtocol over StringTransport and task.Clock: no sockets, no real time."""

import datetime as dt

import pytest
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.logger import capturedLogs, formatEvent

from sms_gateway.cmpp import CmppBindConfig, CmppClientProtocol, ConnectRefused, codec
from sms_gateway.link import LinkUnavailable, MessageState, ResponseTimeout
from tests.sms_gateway.cmpp.captured import SESSION_2_0, SESSION_3_0, SUBMIT_MSG_ID
from tests.sms_gateway.helpers import Inbox

START = dt.datetime(2026, 11, 28, 1, 30, tzinfo=dt.timezone.utc).timestamp()
VERSIONS = {"cmpp2": codec.V2, "cmpp3": codec.V3}


def connected(inbox=None, protocol="cmpp3", **config):
    inbox = inbox or Inbox()
    clock = Clock()
    clock.advance(START)
    settings = dict(protocol=protocol, sp_id="901234", password="secret", src_id="1065700101",
                    response_timeout=5.0, heartbeat_interval=30.0, mo_reassembly_timeout=60.0)
    settings.update(config)
    client = CmppClientProtocol(CmppBindConfig(**settings), clock, on_receipt=inbox.receipt,
                                on_message=inbox.message)
    transport = StringTransportWithDisconnection()
    transport.protocol = client
    client.makeConnection(transport)
    return client, transport, clock, inbox


def sent(client, transport):
    """(Sequence_Id, PDU) of what the client wrote since the last call."""
    data, pdus = transport.value(), []
    transport.clear()
    while data:
        length = int.from_bytes(data[:4], "big")
        pdus.append(codec.decode(data[:length], client.version))
        data = data[length:]
    return pdus


def feed(client, pdu, sequence):
    client.dataReceived(codec.encode(pdu, sequence, client.version))


def connect(client, transport, *, status=0, authenticator=None, version=None):
    result = []
    client.connect().addBoth(result.append)
    ((sequence, request),) = sent(client, transport)
    if authenticator is None:
        authenticator = codec.authenticator_ismg(status, request.authenticator_source, "secret",
                                                 client.version)
    feed(client, codec.ConnectResp(status, authenticator, version or client.version), sequence)
    return result


def bound(**config):
    client, transport, clock, inbox = connected(**config)
    assert connect(client, transport) == [client]
    return client, transport, clock, inbox


def submit(client, destination="13812345678"):
    return client.submit(codec.Submit(dest_terminal_ids=(destination,), msg_content=b"x",
                                      src_id="1065700101", msg_src="901234"))


def report_deliver(msg_id=99, stat="DELIVRD", version=codec.V3, report_msg_id=12345):
    report = codec.StatusReport(report_msg_id, stat, "2611280930", "2611280930", "13812345678")
    return codec.Deliver(msg_id, "1065700101", "13812345678",
                         codec.encode_report(report, version), registered_delivery=1)


# -- the captured sessions -----------------------------------------------------------------------

@pytest.mark.parametrize("protocol, session", [("cmpp3", SESSION_3_0), ("cmpp2", SESSION_2_0)])
def test_captured_session_replayed_at_every_offset_connects_submits_and_acknowledges(
        protocol, session):
    for offset in range(len(session) + 1):
        client, transport, clock, inbox = connected(protocol=protocol)
        connected_result, ids = [], []
        client.connect().addBoth(connected_result.append)
        submit(client).addCallback(lambda pdu, ids=ids: ids.append(pdu))
        (_, connect_pdu), (_, submit_pdu) = sent(client, transport)
        assert connect_pdu.version == VERSIONS[protocol] and submit_pdu.dest_terminal_ids
        client.dataReceived(session[:offset])
        client.dataReceived(session[offset:])
        assert connected_result == [client] and client.state == "bound", offset
        assert [codec.format_msg_id(pdu.msg_id) for pdu in ids] == [SUBMIT_MSG_ID]
        assert [(r.message_id, r.state) for r in inbox.receipts] == [
            (SUBMIT_MSG_ID, MessageState.DELIVERED)]
        assert [(m.text, m.destination, m.parts) for m in inbox.messages] == [
            ("满意" * 40, "106570010199", 2)]
        answers = [(type(pdu).__name__, sequence) for sequence, pdu in sent(client, transport)]
        assert answers == [("DeliverResp", 1), ("ActiveTestResp", 2), ("DeliverResp", 3),
                           ("DeliverResp", 4)], offset  # both parts once the reply is stored


# -- CMPP_CONNECT --------------------------------------------------------------------------------

def test_connect_carries_the_sp_code_the_clock_s_timestamp_and_its_authenticator():
    client, transport, clock, inbox = connected()
    client.connect()
    ((sequence, pdu),) = sent(client, transport)
    assert (sequence, pdu.source_addr, pdu.version, pdu.timestamp) == (
        1, "901234", 0x30, 1128093000)
    assert pdu.authenticator_source == codec.authenticator_source("901234", "secret", 1128093000)


def test_a_connect_resp_whose_authenticator_ismg_is_wrong_refuses_the_link():
    client, transport, _, _ = connected()
    with capturedLogs() as events:
        result = connect(client, transport, authenticator=bytes(16))
    assert result[0].check(ConnectRefused)
    assert "AuthenticatorISMG" in result[0].value.reason
    assert not transport.connected and client.state != "bound"
    assert any("AuthenticatorISMG" in str(e.get("reason")) for e in events)


def test_verify_ismg_false_accepts_an_ismg_that_leaves_its_authenticator_empty():
    client, transport, _, _ = connected(verify_ismg=False)
    assert connect(client, transport, authenticator=bytes(16)) == [client]


def test_a_3_0_ismg_that_hashes_status_as_one_octet_is_accepted():
    client, transport, _, _ = connected()
    result = []
    client.connect().addBoth(result.append)
    ((sequence, request),) = sent(client, transport)
    one_octet = codec.authenticator_ismg(0, request.authenticator_source, "secret", codec.V2)
    feed(client, codec.ConnectResp(0, one_octet, 0x30), sequence)
    assert result == [client]


def test_status_3_is_refused_naming_it():
    client, transport, _, _ = connected()
    result = connect(client, transport, status=3, authenticator=bytes(16))
    assert result[0].check(ConnectRefused) and result[0].value.status == 3
    assert "认证错" in result[0].value.reason and not transport.connected


def test_an_ismg_answering_in_the_2_0_layout_is_refused_with_the_fix():
    client, transport, _, _ = connected(protocol="cmpp3")
    result = []
    client.connect().addBoth(result.append)
    ((sequence, _),) = sent(client, transport)
    client.dataReceived(codec.encode(codec.ConnectResp(4, bytes(16), 0x20), sequence, codec.V2))
    assert result[0].check(ConnectRefused)
    assert 'protocol = "cmpp2"' in result[0].value.reason and not transport.connected


# -- CMPP_ACTIVE_TEST and CMPP_TERMINATE ---------------------------------------------------------

def test_the_ismg_s_active_test_is_answered_with_its_sequence():
    client, transport, _, _ = bound()
    sent(client, transport)
    feed(client, codec.ActiveTest(), 77)
    assert sent(client, transport) == [(77, codec.ActiveTestResp())]


def test_silence_sends_active_test_again_at_once_when_unanswered_and_drops_after_three():
    client, transport, clock, _ = bound(heartbeat_interval=30.0, response_timeout=5.0,
                                        heartbeat_misses=3)
    sent(client, transport)
    clock.advance(29)
    assert sent(client, transport) == []
    clock.advance(1)
    assert [type(p).__name__ for _, p in sent(client, transport)] == ["ActiveTest"]
    clock.advance(5)  # T passed: the next one goes at once
    assert [type(p).__name__ for _, p in sent(client, transport)] == ["ActiveTest"]
    clock.advance(5)
    assert [type(p).__name__ for _, p in sent(client, transport)] == ["ActiveTest"]
    assert transport.connected
    with capturedLogs() as events:
        clock.advance(5)
    assert not transport.connected
    assert any("Dead CMPP link" in formatEvent(e) and e.get("count") == 3 for e in events)


def test_an_answered_active_test_resets_the_count_and_waits_the_interval_again():
    client, transport, clock, _ = bound(heartbeat_interval=30.0, response_timeout=5.0)
    sent(client, transport)
    clock.advance(30)
    clock.advance(5)  # one unanswered
    ((sequence, _),) = sent(client, transport)[-1:]
    feed(client, codec.ActiveTestResp(), sequence)
    assert client._missed == 0
    clock.advance(29)
    assert sent(client, transport) == []
    clock.advance(1)
    assert [type(p).__name__ for _, p in sent(client, transport)] == ["ActiveTest"]


def test_traffic_puts_off_the_active_test():
    client, transport, clock, _ = bound(heartbeat_interval=30.0)
    sent(client, transport)
    clock.advance(20)
    feed(client, codec.ActiveTest(), 5)
    clock.advance(15)
    assert [type(p).__name__ for _, p in sent(client, transport)] == ["ActiveTestResp"]


def test_the_ismg_s_terminate_is_answered_and_the_link_closed():
    client, transport, _, _ = bound()
    sent(client, transport)
    feed(client, codec.Terminate(), 8)
    assert sent(client, transport) == [(8, codec.TerminateResp())]
    assert not transport.connected


def test_terminate_waits_for_outstanding_submits_then_sends_terminate():
    client, transport, _, _ = bound()
    sent(client, transport)
    answered = []
    submit(client).addBoth(answered.append)
    done = []
    client.terminate().addBoth(done.append)
    ((submit_sequence, _),) = sent(client, transport)
    assert done == []
    feed(client, codec.SubmitResp(5, 0), submit_sequence)
    ((sequence, pdu),) = sent(client, transport)
    assert isinstance(pdu, codec.Terminate)
    feed(client, codec.TerminateResp(), sequence)
    assert done == [None] and not transport.connected and answered[0].msg_id == 5


# -- requests ------------------------------------------------------------------------------------

def test_an_unanswered_submit_times_out_and_a_lost_link_fails_the_rest():
    client, transport, clock, _ = bound(response_timeout=5.0)
    sent(client, transport)
    first, second = [], []
    submit(client).addErrback(first.append)
    clock.advance(5)
    assert first[0].check(ResponseTimeout) and client.submits_outstanding == 0
    submit(client).addErrback(second.append)
    transport.loseConnection()
    assert second[0].check(LinkUnavailable)


def test_a_response_of_another_command_does_not_answer_the_request():
    client, transport, _, _ = bound()
    sent(client, transport)
    answered = []
    submit(client).addBoth(answered.append)
    ((sequence, _),) = sent(client, transport)
    feed(client, codec.DeliverResp(1, 0), sequence)
    assert answered == [] and client.submits_outstanding == 1


def test_an_unknown_command_is_logged_and_the_link_stays():
    client, transport, _, _ = bound()
    with capturedLogs() as events:
        client.dataReceived(bytes.fromhex("0000000c 80000006 00000009"))  # CMPP_QUERY_RESP
    assert transport.connected
    assert any(e.get("command_id") == 0x80000006 for e in events)


# -- CMPP_DELIVER --------------------------------------------------------------------------------

def test_a_reply_is_acknowledged_only_after_it_is_stored():
    inbox = Inbox()
    inbox.hold = True
    client, transport, _, _ = bound(inbox=inbox)
    sent(client, transport)
    feed(client, codec.Deliver(7, "106570010199", "13912345678", "1".encode("ascii")), 4)
    assert [m.text for m in inbox.messages] == ["1"] and sent(client, transport) == []
    inbox.held[0].callback(None)
    assert sent(client, transport) == [(4, codec.DeliverResp(7, 0))]


def test_a_report_that_cannot_be_stored_is_not_acknowledged_and_is_taken_when_sent_again():
    outcomes = [fail(RuntimeError("database down")), succeed(None)]
    receipts = []

    def on_receipt(receipt):
        receipts.append(receipt)
        return outcomes.pop(0)

    client, transport, clock, _ = bound()
    client.on_receipt = on_receipt
    sent(client, transport)
    with capturedLogs():
        feed(client, report_deliver(msg_id=99), 4)
    assert sent(client, transport) == []  # no answer: the ISMG sends it again after T
    feed(client, report_deliver(msg_id=99), 5)
    assert sent(client, transport) == [(5, codec.DeliverResp(99, 0))]
    assert len(receipts) == 2 and receipts[1].message_id == "12345"


def test_a_deliver_sent_again_after_it_was_stored_is_acknowledged_without_storing_it_twice():
    client, transport, _, inbox = bound()
    sent(client, transport)
    feed(client, report_deliver(msg_id=99, stat="UNDELIV"), 4)
    feed(client, report_deliver(msg_id=99, stat="UNDELIV"), 5)  # our answer to #4 was lost
    assert sent(client, transport) == [(4, codec.DeliverResp(99, 0)), (5, codec.DeliverResp(99, 0))]
    assert [(r.state, r.error_code) for r in inbox.receipts] == [
        (MessageState.UNDELIVERABLE, "UNDELIV")]


def test_a_malformed_deliver_is_refused_with_its_result_and_stored_nowhere():
    client, transport, _, inbox = bound()
    sent(client, transport)
    data = codec.encode(codec.Deliver(31, "10657", "13912345678", b"hello"), 6, codec.V3)
    broken = data[:-25]  # LinkID and part of the content cut off
    broken = len(broken).to_bytes(4, "big") + broken[4:]
    with capturedLogs() as events:
        client.dataReceived(broken)
    assert sent(client, transport) == [(6, codec.DeliverResp(31, codec.RESULT_LENGTH))]
    assert inbox.messages == [] and inbox.receipts == []
    logged = " ".join(str(e) for e in events)
    assert "13912345678" not in logged and "Malformed" in logged


def test_a_report_whose_content_is_not_a_report_is_refused():
    client, transport, _, inbox = bound()
    sent(client, transport)
    with capturedLogs():
        feed(client, codec.Deliver(32, "10657", "13812345678", b"id:1 stat:DELIVRD",
                                   registered_delivery=1), 7)
    assert sent(client, transport) == [(7, codec.DeliverResp(32, codec.RESULT_STRUCTURE))]
    assert inbox.receipts == []


def test_reply_parts_not_all_come_are_dropped_unacknowledged_after_the_timeout():
    client, transport, clock, inbox = bound(mo_reassembly_timeout=60.0, heartbeat_interval=90.0)
    sent(client, transport)
    part = bytes((5, 0, 3, 1, 2, 1)) + "满".encode("utf-16-be")
    with capturedLogs() as events:
        feed(client, codec.Deliver(40, "10657", "13912345678", part, msg_fmt=8, tp_udhi=1), 3)
        clock.advance(60)
    assert sent(client, transport) == [] and inbox.messages == []
    assert any("incomplete" in e["log_format"] for e in events)


def test_a_lost_link_holds_no_reply_part_and_stores_after_close_without_answering():
    inbox = Inbox()
    inbox.hold = True
    client, transport, _, _ = bound(inbox=inbox)
    sent(client, transport)
    feed(client, codec.Deliver(7, "10657", "13912345678", b"1"), 4)
    transport.loseConnection()
    with capturedLogs():
        inbox.held[0].callback(None)
    assert sent(client, transport) == []


def test_reports_are_acknowledged_in_order_when_their_store_fires():
    d = Deferred()
    client, transport, _, _ = bound()
    client.on_receipt = lambda receipt: d
    sent(client, transport)
    feed(client, report_deliver(msg_id=1), 2)
    feed(client, report_deliver(msg_id=2, report_msg_id=777), 3)
    assert sent(client, transport) == []
    d.callback(None)
    assert [s for s, _ in sent(client, transport)] == [2, 3]
