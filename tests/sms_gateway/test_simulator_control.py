"""The simulator's control line: `MO <source> <text>` delivers a reply over the bound link."""

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from sms_gateway.simulator.control import SimulatorControl
from sms_gateway.simulator.smsc import SimulatedSmsc


class RecordingSmsc(SimulatedSmsc):
    def __init__(self):
        super().__init__(Clock())
        self.injected = []

    def inject_mo(self, source, destination, text, **kw):
        from twisted.internet.defer import succeed

        self.injected.append((source, destination, text))
        return succeed([0])


def control(line: bytes):
    smsc = RecordingSmsc()
    protocol = SimulatorControl(smsc, "9600110")
    transport = StringTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(line)
    return smsc, transport


def test_mo_line_injects_the_reply_and_answers_ok():
    smsc, transport = control("MO 13812345678 不满意 办理太慢\n".encode())
    assert smsc.injected == [("13812345678", "9600110", "不满意 办理太慢")]
    assert transport.value() == b"OK 0\n"
    assert transport.disconnecting


def test_malformed_line_is_refused_with_the_usage():
    for line in (b"MO\n", b"MO abc hi\n", b"HELLO 1 2\n", b"\xff\xfe\n"):
        smsc, transport = control(line)
        assert smsc.injected == []
        assert transport.value().startswith(b"ERR")
