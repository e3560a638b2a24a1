"""The one test on real sockets: SmppLink to the simulator over TCP on 127.0.0.1, port 0."""

import time

import pytest
from twisted.internet.endpoints import TCP4ClientEndpoint

from sms_gateway.link import MessageState, OutboundMessage
from sms_gateway.simulator import SimulatedSmsc
from sms_gateway.smpp import SmppBindConfig, SmppLink
from tests.sms_gateway.helpers import Inbox


def spin(reactor, condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not met within %.1fs" % timeout)
        reactor.iterate(0.005)


def test_link_over_loopback_tcp_submits_long_and_short_messages_and_matches_every_receipt():
    from twisted.internet import reactor

    smsc = SimulatedSmsc(reactor, receipt_delay=0.05, id_format="decimal",
                         receipt_id=lambda message_id: "%X" % int(message_id))
    port = reactor.listenTCP(0, smsc.factory(), interface="127.0.0.1")
    inbox = Inbox()
    config = SmppBindConfig(port=port.getHost().port, system_id="hotline", password="secret",
                            window=10, rate=1000.0, reconnect_initial_delay=0.1,
                            submit_id_base=10, receipt_id_base=16)
    link = SmppLink(config, TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port), reactor,
                    on_receipt=inbox.receipt, on_message=inbox.message)
    try:
        link.startService()
        spin(reactor, link.is_available)
        ids, parts = [], 0
        for i in range(20):
            text = f"您的诉求 A{i:04d} 已办结。" * (10 if i % 5 == 0 else 1)
            submission = link.submit(OutboundMessage("13812345678", text))
            submission.message_ids().addCallback(ids.extend)
            parts += len(submission.parts)
        assert parts == 16 + 4 * 3
        spin(reactor, lambda: len(ids) == len(smsc.accepted) == parts)
        spin(reactor, lambda: len(inbox.receipts) == parts)
        assert all(r.state is MessageState.DELIVERED for r in inbox.receipts)
        stored = {i: link.submit_id_keys(i) for i in ids}
        matched = [[i for i, keys in stored.items() if keys & link.receipt_id_keys(r)] for r in inbox.receipts]
        assert sorted(m[0] for m in matched) == sorted(ids) and all(len(m) == 1 for m in matched)
        smsc.inject_mo("13912345678", "9600110", "1")
        spin(reactor, lambda: len(inbox.messages) == 1)
        stopped = []
        link.stopService().addBoth(stopped.append)
        spin(reactor, lambda: stopped and not smsc.sessions)
        assert stopped == [None]
    finally:
        if link.running:
            link.stopService()
        done = port.stopListening()
        spin(reactor, lambda: done is None or done.called)
