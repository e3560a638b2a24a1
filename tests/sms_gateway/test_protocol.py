"""EsmeProtocol over StringTransport and task.Clock: no sockets, no real time."""

import pytest
from twisted.internet.defer import fail
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.logger import capturedLogs

from sms_gateway.link import LinkUnavailable, MessageState, ResponseTimeout
from sms_gateway.smpp import BindRefused, EsmeProtocol, SmppBindConfig, codec
from tests.sms_gateway.captured import (
    SESSION_FROM_SMSC,
    TRAP_CANCEL_SM,
    TRAP_MO_WITH_ODD_TLVS,
    TRAP_RECEIPT_ID_WITHOUT_NUL,
    TRAP_UNKNOWN_COMMAND,
)
from tests.sms_gateway.helpers import Inbox


def connected(inbox=None, **config):
    inbox = inbox or Inbox()
    clock = Clock()
    settings = dict(system_id="hotline", password="secret", response_timeout=5.0,
                    enquire_link_interval=30.0, mo_reassembly_timeout=60.0)
    settings.update(config)
    protocol = EsmeProtocol(SmppBindConfig(**settings), clock, "bind_transceiver",
                            on_receipt=inbox.receipt, on_message=inbox.message)
    transport = StringTransportWithDisconnection()
    transport.protocol = protocol
    protocol.makeConnection(transport)
    return protocol, transport, clock, inbox


def sent(transport):
    """PDUs the protocol wrote since the last call."""
    data, pdus = transport.value(), []
    transport.clear()
    while data:
        length = int.from_bytes(data[:4], "big")
        pdus.append(codec.decode(data[:length]))
        data = data[length:]
    return pdus


def answer(protocol, command, sequence, status=0, **fields):
    protocol.dataReceived(codec.encode(command, sequence, status=status, **fields)[1])


def bound(**config):
    protocol, transport, clock, inbox = connected(**config)
    result = []
    protocol.bind().addBoth(result.append)
    (bind,) = sent(transport)
    answer(protocol, "bind_transceiver_resp", bind.sequence, system_id="SMSC")
    assert result == [protocol]
    return protocol, transport, clock, inbox


def deliver(sequence, *, source="13912345678", esm_class=0, short_message=b"hi", data_coding=0, tlvs=None):
    return codec.encode("deliver_sm", sequence, source_addr=source, destination_addr="9600110",
                        esm_class=esm_class, data_coding=data_coding, short_message=short_message,
                        tlvs=tlvs)[1]


def test_captured_session_replayed_at_every_offset_binds_submits_and_acknowledges():
    for offset in range(len(SESSION_FROM_SMSC) + 1):
        protocol, transport, clock, inbox = connected()
        bind_result, ids = [], []
        protocol.bind().addBoth(bind_result.append)
        protocol.submit(destination_addr="13812345678", short_message=b"x").addCallback(
            lambda pdu, ids=ids: ids.append(pdu.text_field("message_id")))
        sent(transport)
        protocol.dataReceived(SESSION_FROM_SMSC[:offset])
        protocol.dataReceived(SESSION_FROM_SMSC[offset:])
        assert bind_result == [protocol] and ids == ["00000001"], offset
        assert [r.message_id for r in inbox.receipts] == ["00000001"]
        assert inbox.receipts[0].state is MessageState.DELIVERED
        assert [m.text for m in inbox.messages] == ["满意" * 40]
        answers = [(p.command, p.sequence, p.status) for p in sent(transport)]
        assert answers == [("deliver_sm_resp", 1, 0), ("enquire_link_resp", 2, 0),
                           ("deliver_sm_resp", 3, 0), ("deliver_sm_resp", 4, 0)], offset


def test_bind_refused_fails_with_the_status_name_logs_it_and_drops_the_link():
    protocol, transport, clock, inbox = connected()
    result = []
    with capturedLogs() as events:
        protocol.bind().addErrback(result.append)
        (bind,) = sent(transport)
        assert (bind.command, bind.text_field("system_id"), bind.text_field("password")) == (
            "bind_transceiver", "hotline", "secret")
        answer(protocol, "bind_transceiver_resp", bind.sequence, status=codec.ESME_RBINDFAIL)
    assert result[0].check(BindRefused)
    assert result[0].value.status_name == "ESME_RBINDFAIL"
    assert any(e.get("status") == "ESME_RBINDFAIL" for e in events)
    assert not transport.connected
    assert not protocol.can_submit


def test_unsupported_commands_are_answered_with_generic_nack_invalid_command_id():
    protocol, transport, clock, inbox = bound()
    protocol.dataReceived(TRAP_CANCEL_SM + TRAP_UNKNOWN_COMMAND)
    assert [(p.command, p.status, p.sequence) for p in sent(transport)] == [
        ("generic_nack", codec.ESME_RINVCMDID, 0x2B), ("generic_nack", codec.ESME_RINVCMDID, 0x2C)]
    assert transport.connected


def test_mo_with_unknown_and_unexpected_tlvs_is_stored_and_acknowledged():
    protocol, transport, clock, inbox = bound()
    protocol.dataReceived(TRAP_MO_WITH_ODD_TLVS)
    assert [m.text for m in inbox.messages] == ["1"]
    assert [(p.command, p.sequence, p.status) for p in sent(transport)] == [("deliver_sm_resp", 42, 0)]


def test_receipt_with_receipted_message_id_lacking_nul_keeps_the_whole_id():
    protocol, transport, clock, inbox = bound()
    protocol.dataReceived(TRAP_RECEIPT_ID_WITHOUT_NUL)
    assert [(r.message_id, r.state) for r in inbox.receipts] == [("A1B2C3D7", MessageState.DELIVERED)]


def test_deliver_sm_resp_is_sent_only_after_the_store_deferred_fires():
    protocol, transport, clock, inbox = bound()
    inbox.hold = True
    protocol.dataReceived(deliver(7, short_message=b"1"))
    assert len(inbox.messages) == 1
    assert sent(transport) == []
    inbox.held[0].callback(None)
    assert [(p.command, p.sequence, p.status) for p in sent(transport)] == [("deliver_sm_resp", 7, 0)]


def test_deliver_sm_resp_is_a_temporary_error_when_storing_fails():
    inbox = Inbox()
    inbox.message = lambda message: fail(RuntimeError("database down"))
    protocol, transport, clock, _ = bound(inbox=inbox)
    with capturedLogs():
        protocol.dataReceived(deliver(8))
    assert [(p.command, p.status) for p in sent(transport)] == [("deliver_sm_resp", codec.ESME_RX_T_APPN)]


def test_mo_parts_out_of_order_are_acknowledged_together_after_the_whole_reply_is_stored():
    protocol, transport, clock, inbox = bound()
    inbox.hold = True
    text = "处理及时，态度很好" * 10 + "𠮷"
    utf16 = text.encode("utf-16-be")
    parts = [utf16[:134], utf16[134:]]
    udh = [bytes((5, 0, 3, 77, 2, n)) for n in (1, 2)]
    protocol.dataReceived(deliver(21, esm_class=0x40, data_coding=8, short_message=udh[1] + parts[1]))
    assert inbox.messages == [] and sent(transport) == []
    protocol.dataReceived(deliver(20, esm_class=0x40, data_coding=8, short_message=udh[0] + parts[0]))
    assert [m.text for m in inbox.messages] == [text]
    assert sent(transport) == []
    inbox.held[0].callback(None)
    assert [(p.sequence, p.status) for p in sent(transport)] == [(21, 0), (20, 0)]


def test_incomplete_mo_is_refused_for_redelivery_after_the_reassembly_timeout():
    protocol, transport, clock, inbox = bound(enquire_link_interval=600)
    protocol.dataReceived(deliver(30, esm_class=0x40, short_message=bytes((5, 0, 3, 1, 2, 1)) + b"abc"))
    clock.advance(59)
    assert sent(transport) == []
    with capturedLogs():
        clock.advance(1)
    assert [(p.sequence, p.status) for p in sent(transport)] == [(30, codec.ESME_RX_T_APPN)]


def test_enquire_link_from_the_smsc_is_answered_with_its_sequence():
    protocol, transport, clock, inbox = bound()
    protocol.dataReceived(codec.encode("enquire_link", 99)[1])
    assert [(p.command, p.sequence) for p in sent(transport)] == [("enquire_link_resp", 99)]


def test_unbind_from_the_smsc_is_answered_and_the_link_closed_failing_what_is_in_flight():
    protocol, transport, clock, inbox = bound()
    failures = []
    protocol.submit(destination_addr="13800000000", short_message=b"x").addErrback(failures.append)
    sent(transport)
    with capturedLogs():
        protocol.dataReceived(codec.encode("unbind", 5)[1])
    assert [(p.command, p.sequence) for p in sent(transport)] == [("unbind_resp", 5)]
    assert not transport.connected
    assert failures[0].check(LinkUnavailable)


def test_enquire_link_is_sent_after_the_idle_interval_and_not_while_traffic_flows():
    protocol, transport, clock, inbox = bound()
    for _ in range(5):
        clock.advance(20)
        protocol.dataReceived(codec.encode("enquire_link", 3)[1])  # SMSC traffic
    assert [p.command for p in sent(transport)] == ["enquire_link_resp"] * 5
    clock.advance(30)
    (probe,) = sent(transport)
    assert probe.command == "enquire_link"
    answer(protocol, "enquire_link_resp", probe.sequence)
    clock.advance(30)
    assert [p.command for p in sent(transport)] == ["enquire_link"]


def test_missing_enquire_link_resp_is_a_dead_link_dropped_with_in_flight_failed():
    protocol, transport, clock, inbox = bound()
    failures = []
    clock.advance(30)
    (probe,) = sent(transport)
    protocol.submit(destination_addr="13800000000", short_message=b"x").addErrback(failures.append)
    with capturedLogs() as events:
        clock.advance(4.9)
        assert transport.connected
        clock.advance(0.1)
    assert transport.disconnected and not transport.connected  # aborted, not closed politely
    assert any("Dead SMPP link" in e["log_format"] for e in events)
    assert failures and failures[0].check(LinkUnavailable, ResponseTimeout)


def test_submit_without_a_response_times_out_and_the_late_response_is_ignored():
    protocol, transport, clock, inbox = bound()
    failures = []
    protocol.submit(destination_addr="13800000000", short_message=b"x").addErrback(failures.append)
    (submit,) = sent(transport)
    with capturedLogs() as events:
        clock.advance(5)
        assert failures[0].check(ResponseTimeout)
        assert protocol.submits_outstanding == 0
        answer(protocol, "submit_sm_resp", submit.sequence, message_id="late")
    assert any("Unexpected" in e["log_format"] for e in events)
    assert transport.connected


def test_unbind_waits_for_outstanding_responses_then_closes():
    protocol, transport, clock, inbox = bound()
    ids, done = [], []
    protocol.submit(destination_addr="13800000000", short_message=b"x").addCallback(ids.append)
    (submit,) = sent(transport)
    protocol.unbind().addCallback(done.append)
    assert not protocol.can_submit
    assert sent(transport) == []  # no unbind while a response is due
    answer(protocol, "submit_sm_resp", submit.sequence, message_id="m1")
    (unbind,) = sent(transport)
    assert unbind.command == "unbind"
    answer(protocol, "unbind_resp", unbind.sequence)
    assert done == [None] and not transport.connected
    assert ids[0].text_field("message_id") == "m1"


def test_generic_nack_from_the_smsc_answers_the_request_with_its_status():
    protocol, transport, clock, inbox = bound()
    answers = []
    protocol.submit(destination_addr="13800000000", short_message=b"x").addCallback(answers.append)
    (submit,) = sent(transport)
    protocol.dataReceived(codec.generic_nack(submit.sequence, codec.ESME_RSYSERR))
    assert (answers[0].command, answers[0].status) == ("generic_nack", codec.ESME_RSYSERR)


def test_deliver_sm_with_broken_optional_parameters_is_refused_and_the_link_stays_up():
    protocol, transport, clock, inbox = bound()
    broken = TRAP_RECEIPT_ID_WITHOUT_NUL[:-1]
    broken = len(broken).to_bytes(4, "big") + broken[4:]
    with capturedLogs() as events:
        protocol.dataReceived(broken)
    assert [(p.command, p.sequence, p.status) for p in sent(transport)] == [
        ("deliver_sm_resp", 41, codec.ESME_RINVOPTPARSTREAM)]
    assert inbox.receipts == [] and inbox.messages == []
    assert any("Malformed" in e["log_format"] for e in events)
    assert transport.connected


def test_mo_numbers_and_text_are_masked_in_logs():
    protocol, transport, clock, inbox = bound()
    with capturedLogs() as events:
        protocol.dataReceived(deliver(9, source="13912345678", short_message=b"call me 13812345678"))
    text = repr([(e.get("source"), e.get("text")) for e in events])
    assert "13912345678" not in text and "13812345678" not in text
    assert "139****5678" in text


def test_submit_on_a_closed_connection_fails_at_once_without_using_the_window():
    protocol, transport, clock, inbox = bound()
    with capturedLogs():
        transport.loseConnection()
    with pytest.raises(LinkUnavailable):
        protocol.submit(destination_addr="1", short_message=b"x")
    assert protocol.submits_outstanding == 0
