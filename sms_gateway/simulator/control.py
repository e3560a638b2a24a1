"""A line protocol to steer the embedded SMSC simulator from the command line.

`MO <source> <text>` injects a reply from a handset, as if a citizen had answered; the
simulator delivers it over the bound link and the answer line says how each part fared
(`OK 0` = acknowledged after it was stored). Listens on loopback only; for the demo and for
trying the reply path by hand (`hotline sms simulate-reply`).
"""

from __future__ import annotations

from twisted.internet.protocol import Factory
from twisted.protocols.basic import LineOnlyReceiver

from sms_gateway.simulator.smsc import SimulatedSmsc


class SimulatorControl(LineOnlyReceiver):
    delimiter = b"\n"
    MAX_LENGTH = 4096

    def __init__(self, smsc: SimulatedSmsc, service_number: str) -> None:
        self._smsc = smsc
        self._service_number = service_number

    def lineReceived(self, line: bytes) -> None:
        try:
            command, _, rest = line.decode("utf-8").strip().partition(" ")
        except UnicodeDecodeError:
            self._answer("ERR not UTF-8")
            return
        source, _, text = rest.partition(" ")
        if command.upper() != "MO" or not source.isdigit() or not text:
            self._answer("ERR usage: MO <source number> <text>")
            return
        self._smsc.inject_mo(source, self._service_number, text).addCallbacks(
            lambda statuses: self._answer("OK " + " ".join(str(s) for s in statuses)),
            lambda failure: self._answer(f"ERR {failure.getErrorMessage()}"))

    def _answer(self, text: str) -> None:
        self.sendLine(text.encode("utf-8"))
        self.transport.loseConnection()

    def lineLengthExceeded(self, line: bytes) -> None:
        self._answer("ERR line too long")


def control_factory(smsc: SimulatedSmsc, service_number: str) -> Factory:
    return Factory.forProtocol(lambda: SimulatorControl(smsc, service_number))
