"""The simulated ISMG does what the specification has an ISMG do, read over StringTransport."""

import datetime as dt

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.logger import capturedLogs

from sms_gateway.cmpp import codec
from sms_gateway.cmpp.simulator import SimulatedIsmg
from tests.sms_gateway.cmpp.test_link import make_link

START = dt.datetime(2026, 11, 28, 1, 30, tzinfo=dt.timezone.utc).timestamp()


def session(version=codec.V3, **options):
    clock = Clock()
    clock.advance(START)
    ismg = SimulatedIsmg(clock, version=version, **options)
    protocol = ismg.factory().buildProtocol(None)
    transport = StringTransportWithDisconnection()
    transport.protocol = protocol
    protocol.makeConnection(transport)
    return ismg, protocol, transport, clock


def answers(transport, version=codec.V3):
    data, out = transport.value(), []
    transport.clear()
    while data:
        length = int.from_bytes(data[:4], "big")
        out.append(codec.decode(data[:length], version))
        data = data[length:]
    return out


def send(protocol, pdu, sequence, version=codec.V3):
    protocol.dataReceived(codec.encode(pdu, sequence, version))


def connect_pdu(source="901234", secret="secret", version=codec.V3, timestamp=1128093000):
    return codec.Connect(source, codec.authenticator_source(source, secret, timestamp), version,
                         timestamp)


def test_a_good_connect_gets_status_0_and_the_ismg_s_authenticator():
    ismg, protocol, transport, _ = session()
    pdu = connect_pdu()
    send(protocol, pdu, 1)
    ((sequence, resp),) = answers(transport)
    assert (sequence, resp.status, resp.version) == (1, 0, 0x30)
    assert resp.authenticator_ismg == codec.authenticator_ismg(
        0, pdu.authenticator_source, "secret", codec.V3)
    assert protocol.bound


def test_an_unknown_sp_gets_status_2_a_wrong_secret_3_and_the_connection_is_closed():
    for pdu, status in ((connect_pdu(source="999999"), 2), (connect_pdu(secret="nope"), 3)):
        ismg, protocol, transport, _ = session()
        send(protocol, pdu, 1)
        ((_, resp),) = answers(transport)
        assert resp.status == status and resp.authenticator_ismg == bytes(16)
        assert not transport.connected and not protocol.bound


def test_a_3_0_sp_at_a_2_0_ismg_gets_status_4_and_is_told_to_speak_2_0():
    clock = Clock()
    clock.advance(START)
    ismg = SimulatedIsmg(clock, version=codec.V2)
    with capturedLogs() as events:
        link, *_ = make_link("cmpp3", ismg=ismg, clock=clock)
    assert not link.is_available()
    assert ismg.connect_attempts == [("901234", 0x30, 4)]
    assert any('protocol = "cmpp2"' in str(e.get("reason")) for e in events)


def test_a_submit_before_connect_closes_the_connection():
    ismg, protocol, transport, _ = session()
    with capturedLogs():
        send(protocol, codec.ActiveTest(), 1)
    assert not transport.connected and ismg.accepted == []


def test_a_submit_over_the_window_gets_result_8():
    ismg, protocol, transport, clock = session(window=2, report_delay=None)
    ismg.faults.response_delay = 1.0
    send(protocol, connect_pdu(), 1)
    answers(transport)
    for sequence in (2, 3, 4):
        send(protocol, codec.Submit(dest_terminal_ids=("13812345678",), msg_content=b"x",
                                    src_id="10657", msg_src="901234"), sequence)
    assert [(s, r.result) for s, r in answers(transport)] == [(4, 8)]
    clock.advance(1)
    assert [(s, r.result) for s, r in answers(transport)] == [(2, 0), (3, 0)]
    assert len(ismg.accepted) == 2


def test_an_mo_never_answered_is_sent_again_after_t_then_given_up():
    ismg, protocol, transport, clock = session(redeliver_delay=60.0, max_delivery_attempts=3)
    send(protocol, connect_pdu(), 1)
    answers(transport)
    results = []
    ismg.inject_mo("13912345678", "106570010199", "1").addBoth(results.append)
    sends = [answers(transport)]
    with capturedLogs():
        for _ in range(3):
            clock.advance(60)
            sends.append(answers(transport))
    delivers = [[pdu for _, pdu in batch if isinstance(pdu, codec.Deliver)] for batch in sends]
    assert [len(batch) for batch in delivers] == [1, 1, 1, 0]
    assert len({batch[0].msg_id for batch in delivers[:3]}) == 1  # the same Msg_Id each time
    assert results == [[-1]]


def test_the_ismg_terminates_and_the_sp_answers():
    link, ismg, endpoint, _, _ = make_link()
    ismg.bound_sessions()[0].send_request(codec.Terminate())
    with capturedLogs():
        endpoint.flush()
    assert link.connection.running and len(ismg.connect_attempts) >= 1
