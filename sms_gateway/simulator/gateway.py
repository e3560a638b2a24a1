"""What the simulated gateways of the Chinese carriers (China Mobile's ISMG speaking CMPP,
China Telecom's SMGW speaking SMGP) do alike, for tests, the benchmark and trying a bind by
hand: faults on demand, the window of submits a session may leave unanswered, the throttle,
the queue of deliveries (status reports and replies) sent on a logged-in session and sent
again when unanswered or refused, the gateway's own active test on silence, and the dropped
connection of a cut link. Each protocol's simulator says its words: how a PDU is encoded and
decoded, its login, its submit's answer, and what a report or a reply looks like.
"""

from __future__ import annotations

import abc
import argparse
import dataclasses
import datetime as dt
import itertools
import sys
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, cast
from zoneinfo import ZoneInfo

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Factory, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from sms_gateway.carrier_client import CarrierFramer
from sms_gateway.cmpp.codec import SequenceNumbers
from sms_gateway.throttle import TokenBucket

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the gateways' times are Beijing time


@dataclasses.dataclass
class GatewayFaults:
    """What the gateway does wrong; change the fields at any time."""

    throttle_rate: float | None = None  # submits per second above which it says "too fast"
    drop_after_pdus: int | None = None  # close the connection on the Nth PDU received (once)
    response_delay: float = 0.0  # seconds before every response to a submit
    unanswered: frozenset[str] = frozenset()  # requests never answered, e.g. {"ACTIVE_TEST"}
    result_for: Mapping[str, int] = dataclasses.field(default_factory=dict)  # destination -> code
    stats: Mapping[str, str] = dataclasses.field(default_factory=dict)  # destination -> stat


@dataclasses.dataclass(eq=False)
class Delivery:
    kind: str  # "report" or "mo"
    deliver: Any  # the protocol's deliver PDU
    report: Any  # a report to fill in per session (CMPP: its layout depends on the version)
    deferred: Deferred
    attempts: int = 0
    results: list[int] = dataclasses.field(default_factory=list)


class SimulatedGateway(abc.ABC):
    """The gateway's state, shared by every session; `factory()` gives the server factory."""

    log = Logger()
    OK: ClassVar[int] = 0

    def __init__(
        self,
        clock: IReactorTime,
        *,
        credentials: Mapping[str, str],
        window: int = 16,
        report_delay: float | None = 1.0,
        redeliver_delay: float = 60.0,
        max_delivery_attempts: int = 3,
        active_test_interval: float | None = None,
    ):
        self.clock = clock
        self.credentials = dict(credentials)
        self.window = window
        self.report_delay = report_delay
        self.redeliver_delay = redeliver_delay
        self.max_delivery_attempts = max_delivery_attempts
        self.active_test_interval = active_test_interval
        self.faults = GatewayFaults()
        self.accepted: list[Any] = []
        self.refused: list[tuple[str, int]] = []  # (destination, the code it got)
        self.sessions: list[Any] = []
        self.pdus_received = 0
        self._msg_sequence = itertools.count(1)
        self._session_ids = itertools.count(1)
        self._mo_refs = itertools.count(0)
        self._deliveries: list[Delivery] = []
        self._throttle: TokenBucket | None = None
        self._throttle_rate: float | None = None

    @abc.abstractmethod
    def session(self) -> GatewaySession:
        """A new session's protocol."""

    @abc.abstractmethod
    def accept(self, session: Any, submit: Any) -> tuple[int, Any]:
        """(result, message id) for a submit that got past the window."""

    def factory(self) -> Factory:
        return Factory.forProtocol(self.session)

    def bound_sessions(self) -> list[Any]:
        return [s for s in self.sessions if s.bound]

    def _beijing(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock.seconds(), SHANGHAI)

    def admit(self) -> bool:
        """Whether a submit gets past the throttle fault."""
        rate = self.faults.throttle_rate
        if rate is None:
            return True
        if self._throttle is None or self._throttle_rate != rate:
            self._throttle = TokenBucket(rate, max(1.0, rate / 10), self.clock)
            self._throttle_rate = rate
        return self._throttle.consume()

    def _enqueue(self, delivery: Delivery) -> None:
        self._deliveries.append(delivery)
        self.flush()

    def flush(self) -> None:
        """Send every queued delivery on a logged-in session, if there is one."""
        sessions = self.bound_sessions()
        if not sessions:
            return
        pending, self._deliveries = self._deliveries, []
        for delivery in pending:
            sessions[0].deliver(delivery)

    def delivery_answered(self, delivery: Delivery, result: int | None, *,
                          lost: bool = False) -> None:
        """The SP answered (`result`), did not answer in time (None), or the connection went
        first (`lost`: sent again on the next one, not counted as an attempt)."""
        if lost:
            self._deliveries.append(delivery)
            return
        delivery.attempts += 1
        if result is not None:
            delivery.results.append(result)
        if result == self.OK:
            delivery.deferred.callback(result)
        elif delivery.attempts >= self.max_delivery_attempts:
            self.log.warn("Giving up {kind} {msg_id} after {attempts} attempts", kind=delivery.kind,
                          msg_id=getattr(delivery.deliver, "msg_id", "-"),
                          attempts=delivery.attempts)
            delivery.deferred.callback(result if result is not None else -1)
        elif result is None:
            self._enqueue(delivery)  # no answer in time: again at once
        else:
            self.clock.callLater(self.redeliver_delay, self._enqueue, delivery)


class GatewaySession(CarrierFramer, metaclass=abc.ABCMeta):
    """One SP connection to a simulated gateway."""

    log = Logger()
    BUSY: ClassVar[int]  # the code of a submit over the window

    def __init__(self, gateway: SimulatedGateway):
        self.gateway = gateway
        self.session_id = next(gateway._session_ids)
        self.sequences = SequenceNumbers()
        self.bound = False
        self.closed = False
        self.active_test_answers = 0
        self._unanswered_submits = 0
        self._awaiting: dict[Any, tuple[Delivery, IDelayedCall]] = {}  # by sequence number
        self._delayed: list[IDelayedCall] = []
        self._idle_call: IDelayedCall | None = None
        self._last_received = 0.0

    # -- what a protocol says -------------------------------------------------------------------

    @abc.abstractmethod
    def encode(self, pdu: Any, sequence: Any) -> bytes:
        """The whole PDU."""

    @abc.abstractmethod
    def received(self, data: bytes) -> None:
        """One whole PDU from a session still open."""

    @abc.abstractmethod
    def submitResp(self, msg_id: Any, result: int) -> Any:
        """The answer to a submit (`msg_id` None for a refused one)."""

    @abc.abstractmethod
    def activeTest(self) -> Any:
        """The gateway's active test."""

    def deliveryPdu(self, delivery: Delivery) -> Any:
        """The deliver PDU that carries `delivery` on this session."""
        return delivery.deliver

    # -- the session ----------------------------------------------------------------------------

    def connectionMade(self) -> None:
        self.gateway.sessions.append(self)
        self._last_received = self.gateway.clock.seconds()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.closed = True
        self.bound = False
        self.stopFraming()
        if self in self.gateway.sessions:
            self.gateway.sessions.remove(self)
        for call in [*self._delayed, *(timer for _, timer in self._awaiting.values()),
                     self._idle_call]:
            if call is not None and call.active():
                call.cancel()
        awaiting, self._awaiting = self._awaiting, {}
        for delivery, _ in awaiting.values():
            self.gateway.delivery_answered(delivery, None, lost=True)

    def write(self, pdu: Any, sequence: Any, *, close: bool = False) -> None:
        if self.closed:
            return
        self.transport.write(self.encode(pdu, sequence))
        if close:
            self.transport.loseConnection()

    def close(self) -> None:
        self.closed = True
        self.transport.loseConnection()

    def pduReceived(self, data: bytes) -> None:
        gateway = self.gateway
        gateway.pdus_received += 1
        self._last_received = gateway.clock.seconds()
        faults = gateway.faults
        if faults.drop_after_pdus is not None:
            faults.drop_after_pdus -= 1
            if faults.drop_after_pdus <= 0:
                faults.drop_after_pdus = None
                self.log.info("Fault: dropping session {session}", session=self.session_id)
                self.close()
                return
        if not self.closed:
            self.received(data)

    def loggedIn(self) -> None:
        self.bound = True
        self._scheduleActiveTest()
        self.gateway.flush()

    def submitReceived(self, sequence: Any, destination: str, submit: Any) -> None:
        """A submit: refused over the window, else accepted or refused by the gateway, and
        answered after `faults.response_delay`."""
        gateway = self.gateway
        if self._unanswered_submits >= gateway.window:
            gateway.refused.append((destination, self.BUSY))
            self.write(self.submitResp(None, self.BUSY), sequence)
            return
        result, msg_id = gateway.accept(self, submit)
        response = self.submitResp(msg_id, result)
        delay = gateway.faults.response_delay
        if delay <= 0:
            self.write(response, sequence)
            return
        self._unanswered_submits += 1

        def answer() -> None:
            self._unanswered_submits -= 1
            self.write(response, sequence)

        self._delayed = [call for call in self._delayed if call.active()]
        self._delayed.append(gateway.clock.callLater(delay, answer))

    def deliveryAnswered(self, sequence: Any, result: int) -> None:
        entry = self._awaiting.pop(sequence, None)
        if entry is not None:
            entry[1].cancel()
            self.gateway.delivery_answered(entry[0], result)

    def deliver(self, delivery: Delivery) -> None:
        sequence = self.sequences.next()
        timer = self.gateway.clock.callLater(self.gateway.redeliver_delay,
                                             self._deliverUnanswered, sequence)
        self._awaiting[sequence] = (delivery, timer)
        self.write(self.deliveryPdu(delivery), sequence)

    def _deliverUnanswered(self, sequence: Any) -> None:
        entry = self._awaiting.pop(sequence, None)
        if entry is not None:
            self.gateway.delivery_answered(entry[0], None)

    def send_request(self, pdu: Any) -> Any:
        """Send any request to the SP (an active test, a goodbye); its sequence number."""
        sequence = self.sequences.next()
        self.write(pdu, sequence)
        return sequence

    def _scheduleActiveTest(self) -> None:
        interval = self.gateway.active_test_interval
        if interval is not None and not self.closed:
            self._idle_call = self.gateway.clock.callLater(interval, self._activeTest)

    def _activeTest(self) -> None:
        self._idle_call = None
        interval = self.gateway.active_test_interval
        if self.closed or interval is None:
            return
        if self.gateway.clock.seconds() - self._last_received >= interval:
            self.send_request(self.activeTest())
        self._scheduleActiveTest()


# -- running one by hand ----------------------------------------------------------------------

def command_line(prog: str, port: int, submit: str, busy: str) -> argparse.ArgumentParser:
    """The options every gateway simulator takes; a protocol adds its login's."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port, help="0: any free port")
    parser.add_argument("--password", default="secret", help="the shared secret")
    parser.add_argument("--report-delay", type=float, default=1.0,
                        help="seconds before a status report; negative: no reports")
    parser.add_argument("--throttle-rate", type=float, default=None,
                        help=f"{submit} per second above which {busy} is answered")
    parser.add_argument("--response-delay", type=float, default=0.0,
                        help=f"seconds before every answer to a {submit} (the gateway's latency)")
    parser.add_argument("--drop-after-pdus", type=int, default=None,
                        help="close the first connection on its Nth PDU (a cut link)")
    parser.add_argument("--redeliver-delay", type=float, default=60.0,
                        help="seconds before an unanswered report or reply goes again")
    parser.add_argument("--control-port", type=int, default=None,
                        help="a line port for 'MO <source> <text>' (0: any free port)")
    parser.add_argument("--mo-destination", default="9600110",
                        help="where injected replies go (the service number + extension)")
    parser.add_argument("--verbose", action="store_true")
    return parser


def serve(reactor: Any, args: argparse.Namespace,
          build: Callable[..., SimulatedGateway]) -> None:
    """Listen with the gateway `build(reactor, report_delay=, redeliver_delay=)` gives, its
    faults from `args`, and a control line when asked; print the ports; run the reactor."""
    from twisted.internet import endpoints
    from twisted.logger import globalLogBeginner, textFileLogObserver

    from sms_gateway.simulator.control import control_factory
    from sms_gateway.simulator.smsc import SimulatedSmsc

    if args.verbose:
        globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)])
    gateway = build(reactor, report_delay=None if args.report_delay < 0 else args.report_delay,
                    redeliver_delay=args.redeliver_delay)
    gateway.faults.throttle_rate = args.throttle_rate
    gateway.faults.response_delay = args.response_delay
    gateway.faults.drop_after_pdus = args.drop_after_pdus

    def failed(failure) -> None:
        print(f"cannot listen: {failure.getErrorMessage()}", file=sys.stderr, flush=True)
        reactor.stop()

    def listening(port) -> None:
        print(f"listening on {port.getHost().port}", flush=True)
        if args.control_port is None:
            return
        # The control line only calls inject_mo(source, destination, text), which every
        # gateway simulator answers as the SMSC simulator does.
        control = control_factory(cast(SimulatedSmsc, gateway), args.mo_destination)
        endpoints.TCP4ServerEndpoint(reactor, args.control_port, interface=args.host).listen(
            control).addCallbacks(
            lambda port: print(f"control on {port.getHost().port}", flush=True), failed)

    endpoints.TCP4ServerEndpoint(reactor, args.port, interface=args.host).listen(
        gateway.factory()).addCallbacks(listening, failed)
    reactor.run()
