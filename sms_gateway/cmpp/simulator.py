"""A simulated ISMG: a CMPP 2.0 / 3.0 server for tests, the benchmark and trying a bind by hand
(`python -m sms_gateway.cmpp.simulator --port 7890`).

It behaves as the specification has an ISMG behave:
- CMPP_CONNECT is authenticated: an unknown Source_Addr gets Status 2, a wrong
  AuthenticatorSource Status 3, a Version above the ISMG's Status 4; a good one Status 0 and
  AuthenticatorISMG. A 2.0 SP at a 3.0 ISMG is served in 2.0, as ISMGs do. Anything before a
  good CMPP_CONNECT closes the connection.
- The window: a CMPP_SUBMIT that arrives while `window` are unanswered on its connection gets
  Result 8 (flow control), as does one over `faults.throttle_rate`.
- Each accepted part gets a Msg_Id built as the specification builds one (time, the ISMG's
  code, a sequence) and, when it asked for one, a status report after `report_delay`:
  DELIVRD, or the Stat `faults.stats` gives its destination (UNDELIV, MK:0005, ...).
- A report or an MO that gets no CMPP_DELIVER_RESP within `redeliver_delay` (the
  specification's T, 60 s) is sent again, as is one whose answer was an error, up to
  `max_delivery_attempts`; one sent on a connection that drops goes again on the next.
- CMPP_ACTIVE_TEST is answered, and sent on silence when `active_test_interval` is set;
  CMPP_TERMINATE both ways.
- Replies from handsets are injected with `inject_mo`, to any Dest_Id (a service number with
  extension digits), long ones in UDH parts.
It records every submit it accepted, so a test can assert that none was lost or duplicated,
and misbehaves on demand through `SimulatedIsmg.faults`.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import itertools
import sys
from collections.abc import Mapping, Sequence
from typing import cast

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Factory, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from hotline.masking import mask_phone, mask_text
from sms_gateway.cmpp import codec
from sms_gateway.cmpp.framing import CmppFramer
from sms_gateway.cmpp.segments import encode_text
from sms_gateway.throttle import TokenBucket


@dataclasses.dataclass
class IsmgFaults:
    """What the ISMG does wrong; change the fields at any time."""

    throttle_rate: float | None = None  # CMPP_SUBMIT per second above which Result 8
    drop_after_pdus: int | None = None  # close the connection on the Nth PDU received (once)
    response_delay: float = 0.0  # seconds before every response to a CMPP_SUBMIT
    unanswered: frozenset[str] = frozenset()  # requests never answered, e.g. {"ACTIVE_TEST"}
    result_for: Mapping[str, int] = dataclasses.field(default_factory=dict)  # destination -> Result
    stats: Mapping[str, str] = dataclasses.field(default_factory=dict)  # destination -> Stat


@dataclasses.dataclass(frozen=True)
class AcceptedSubmit:
    msg_id: int
    src_id: str
    destination: str
    msg_fmt: int
    tp_udhi: int
    pk_total: int
    pk_number: int
    content: bytes
    registered_delivery: int
    service_id: str
    msg_src: str
    session: int
    version: int


@dataclasses.dataclass(eq=False)
class _Delivery:
    kind: str  # "report" or "mo"
    deliver: codec.Deliver  # its Msg_Content is filled in per connection for a report
    report: codec.StatusReport | None
    deferred: Deferred
    attempts: int = 0
    results: list[int] = dataclasses.field(default_factory=list)


class SimulatedIsmg:
    """The ISMG's state, shared by every connection; `factory()` gives the server factory."""

    log = Logger()

    def __init__(
        self,
        clock: IReactorTime,
        *,
        version: int = codec.V3,
        credentials: Mapping[str, str] | None = None,
        ismg_code: int = 0x1A2B3,
        window: int = 16,
        report_delay: float | None = 1.0,
        redeliver_delay: float = 60.0,
        max_delivery_attempts: int = 3,
        active_test_interval: float | None = None,
    ):
        if version not in codec.VERSIONS:
            raise ValueError(f"CMPP version 0x20 or 0x30, not 0x{version:02X}")
        self.clock = clock
        self.version = version
        self.credentials = dict(credentials or {"901234": "secret"})
        self.ismg_code = ismg_code
        self.window = window
        self.report_delay = report_delay
        self.redeliver_delay = redeliver_delay
        self.max_delivery_attempts = max_delivery_attempts
        self.active_test_interval = active_test_interval
        self.faults = IsmgFaults()
        self.accepted: list[AcceptedSubmit] = []
        self.refused: list[tuple[str, int]] = []  # (destination, Result)
        self.connect_attempts: list[tuple[str, int, int]] = []  # (Source_Addr, Version, Status)
        self.sessions: list[IsmgProtocol] = []
        self.pdus_received = 0
        self._msg_sequence = itertools.count(1)
        self._session_ids = itertools.count(1)
        self._smsc_sequence = itertools.count(1)
        self._mo_refs = itertools.count(0)
        self._deliveries: list[_Delivery] = []
        self._throttle: TokenBucket | None = None
        self._throttle_rate: float | None = None

    def factory(self) -> Factory:
        return Factory.forProtocol(lambda: IsmgProtocol(self))

    # -- what tests read ----------------------------------------------------------------------------

    def accepted_ids(self) -> list[str]:
        return [codec.format_msg_id(a.msg_id) for a in self.accepted]

    def bound_sessions(self) -> list[IsmgProtocol]:
        return [s for s in self.sessions if s.bound]

    # -- CMPP_CONNECT --------------------------------------------------------------------------------

    def authenticate(self, connect: codec.Connect) -> int:
        secret = self.credentials.get(connect.source_addr)
        if secret is None:
            status = 2
        elif connect.authenticator_source != codec.authenticator_source(
                connect.source_addr, secret, connect.timestamp):
            status = codec.STATUS_AUTHENTICATION
        elif connect.version > self.version:
            status = codec.STATUS_VERSION
        else:
            status = codec.RESULT_OK
        self.connect_attempts.append((connect.source_addr, connect.version, status))
        return status

    # -- CMPP_SUBMIT ---------------------------------------------------------------------------------

    def _beijing(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock.seconds(), codec.SHANGHAI)

    def new_msg_id(self) -> int:
        return codec.make_msg_id(self._beijing(), self.ismg_code, next(self._msg_sequence))

    def admit(self) -> bool:
        """Whether a CMPP_SUBMIT gets past the throttle fault."""
        rate = self.faults.throttle_rate
        if rate is None:
            return True
        if self._throttle is None or self._throttle_rate != rate:
            self._throttle = TokenBucket(rate, max(1.0, rate / 10), self.clock)
            self._throttle_rate = rate
        return self._throttle.consume()

    def accept(self, session: IsmgProtocol, submit: codec.Submit) -> tuple[int, int]:
        """(Result, Msg_Id) for a submit that got past the window."""
        destination = submit.dest_terminal_ids[0]
        if not self.admit():
            self.refused.append((destination, codec.RESULT_FLOW_CONTROL))
            return codec.RESULT_FLOW_CONTROL, 0
        result = self.faults.result_for.get(destination)
        if result:
            self.refused.append((destination, result))
            return result, 0
        msg_id = self.new_msg_id()
        accepted = AcceptedSubmit(
            msg_id, submit.src_id, destination, submit.msg_fmt, submit.tp_udhi, submit.pk_total,
            submit.pk_number, submit.msg_content, submit.registered_delivery, submit.service_id,
            submit.msg_src, session.session_id, session.version)
        self.accepted.append(accepted)
        if self.report_delay is not None and accepted.registered_delivery == 1:
            self.clock.callLater(self.report_delay, self._report, accepted, self._beijing())
        return codec.RESULT_OK, msg_id

    # -- CMPP_DELIVER: reports and MO ----------------------------------------------------------------

    def _report(self, accepted: AcceptedSubmit, submitted: dt.datetime) -> None:
        stat = self.faults.stats.get(accepted.destination, "DELIVRD")
        report = codec.StatusReport(
            msg_id=accepted.msg_id, stat=stat, submit_time=submitted.strftime("%y%m%d%H%M"),
            done_time=self._beijing().strftime("%y%m%d%H%M"),
            dest_terminal_id=accepted.destination, smsc_sequence=next(self._smsc_sequence))
        deliver = codec.Deliver(
            msg_id=self.new_msg_id(), dest_id=accepted.src_id, service_id=accepted.service_id,
            src_terminal_id=accepted.destination, registered_delivery=1, msg_content=b"")
        self._enqueue(_Delivery("report", deliver, report, Deferred()))

    def inject_mo(self, source: str, destination: str, text: str, *, msg_fmt: str = "ucs2",
                  order: Sequence[int] | None = None, max_parts: int = 10) -> Deferred:
        """A reply from handset `source` to `destination` (the service number, with any
        extension digits). Long text goes in UDH parts, sent in `order` (0-based part
        indexes) if given. Fires with the final Result of each part, in part order (-1 for
        a part given up unanswered)."""
        encoded = encode_text(text, msg_fmt=msg_fmt, max_parts=max_parts,
                              reference=next(self._mo_refs) % 256)
        self.log.info("Injecting MO from {source} to {destination}: {text} ({parts} parts)",
                      source=mask_phone(source), destination=destination, text=mask_text(text),
                      parts=len(encoded.parts))
        deliveries = [
            _Delivery("mo", codec.Deliver(
                msg_id=self.new_msg_id(), dest_id=destination, src_terminal_id=source,
                msg_content=part, msg_fmt=encoded.msg_fmt, tp_udhi=encoded.udhi), None, Deferred())
            for part in encoded.parts
        ]
        for index in (order if order is not None else range(len(deliveries))):
            self._enqueue(deliveries[index])

        async def all_parts() -> list[int]:
            return [await delivery.deferred for delivery in deliveries]

        return Deferred.fromCoroutine(all_parts())

    def _enqueue(self, delivery: _Delivery) -> None:
        self._deliveries.append(delivery)
        self.flush()

    def flush(self) -> None:
        """Send every queued delivery on a connected session, if there is one."""
        sessions = self.bound_sessions()
        if not sessions:
            return
        pending, self._deliveries = self._deliveries, []
        for delivery in pending:
            sessions[0].deliver(delivery)

    def delivery_answered(self, delivery: _Delivery, result: int | None, *, lost: bool = False) -> None:
        """The SP answered (`result`), did not answer in time (None), or the connection went
        first (`lost`: sent again on the next one, not counted as an attempt)."""
        if lost:
            self._deliveries.append(delivery)
            return
        delivery.attempts += 1
        if result is not None:
            delivery.results.append(result)
        if result == codec.RESULT_OK:
            delivery.deferred.callback(result)
        elif delivery.attempts >= self.max_delivery_attempts:
            self.log.warn("Giving up {kind} {msg_id} after {attempts} attempts", kind=delivery.kind,
                          msg_id=delivery.deliver.msg_id, attempts=delivery.attempts)
            delivery.deferred.callback(result if result is not None else -1)
        elif result is None:
            self._enqueue(delivery)  # T passed with no answer: again at once
        else:
            self.clock.callLater(self.redeliver_delay, self._enqueue, delivery)


class IsmgProtocol(CmppFramer):
    """One SP connection to the simulated ISMG."""

    log = Logger()

    def __init__(self, ismg: SimulatedIsmg):
        self.ismg = ismg
        self.session_id = next(ismg._session_ids)
        self.version = ismg.version
        self.sequences = codec.SequenceNumbers()
        self.bound = False
        self.source_addr: str | None = None
        self.closed = False
        self.active_test_answers = 0
        self._unanswered_submits = 0
        self._awaiting: dict[int, tuple[_Delivery, IDelayedCall]] = {}
        self._delayed: list[IDelayedCall] = []
        self._idle_call: IDelayedCall | None = None
        self._last_received = 0.0

    def connectionMade(self) -> None:
        self.ismg.sessions.append(self)
        self._last_received = self.ismg.clock.seconds()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.closed = True
        self.bound = False
        self.stopFraming()
        if self in self.ismg.sessions:
            self.ismg.sessions.remove(self)
        for call in [*self._delayed, *(timer for _, timer in self._awaiting.values()),
                     self._idle_call]:
            if call is not None and call.active():
                call.cancel()
        awaiting, self._awaiting = self._awaiting, {}
        for delivery, _ in awaiting.values():
            self.ismg.delivery_answered(delivery, None, lost=True)

    def _write(self, pdu: codec.Pdu, sequence: int, *, close: bool = False) -> None:
        if self.closed:
            return
        self.transport.write(codec.encode(pdu, sequence, self.version))
        if close:
            self.transport.loseConnection()

    def pduReceived(self, data: bytes) -> None:
        ismg = self.ismg
        ismg.pdus_received += 1
        self._last_received = ismg.clock.seconds()
        faults = ismg.faults
        if faults.drop_after_pdus is not None:
            faults.drop_after_pdus -= 1
            if faults.drop_after_pdus <= 0:
                faults.drop_after_pdus = None
                self.log.info("Fault: dropping session {session}", session=self.session_id)
                self.closed = True
                self.transport.loseConnection()
                return
        if self.closed:
            return
        try:
            sequence, pdu = codec.decode(data, self.version)
        except codec.UnknownCommand as e:
            self.log.warn("Unknown Command_Id 0x{id:08X}", id=e.command_id)
            return
        except codec.MalformedPdu as e:
            self.log.warn("Malformed PDU: {error}", error=str(e))
            if e.command_id == codec.Command.SUBMIT:
                self._write(codec.SubmitResp(0, e.result), e.sequence)
            return
        if isinstance(pdu, codec.Connect):
            self._connect(sequence, pdu)
        elif not self.bound:
            self.log.warn("{command} before CMPP_CONNECT: closing", command=pdu.command.name)
            self.closed = True
            self.transport.loseConnection()
        elif pdu.command.name in faults.unanswered:
            return
        elif isinstance(pdu, codec.Submit):
            self._submit(sequence, pdu)
        elif isinstance(pdu, codec.DeliverResp):
            entry = self._awaiting.pop(sequence, None)
            if entry is not None:
                entry[1].cancel()
                ismg.delivery_answered(entry[0], pdu.result)
        elif isinstance(pdu, codec.ActiveTest):
            self._write(codec.ActiveTestResp(), sequence)
        elif isinstance(pdu, codec.ActiveTestResp):
            self.active_test_answers += 1
        elif isinstance(pdu, codec.Terminate):
            self.bound = False
            self._write(codec.TerminateResp(), sequence, close=True)

    def _connect(self, sequence: int, connect: codec.Connect) -> None:
        ismg = self.ismg
        status = 1 if self.bound else ismg.authenticate(connect)  # 1: already connected
        if connect.version in codec.VERSIONS and connect.version <= ismg.version:
            self.version = connect.version  # answered, and served, in the SP's version
        if status == codec.RESULT_OK:
            authenticator = codec.authenticator_ismg(
                status, connect.authenticator_source, ismg.credentials[connect.source_addr],
                self.version)
        else:
            authenticator = bytes(16)
        self._write(codec.ConnectResp(status, authenticator, ismg.version), sequence)
        if status != codec.RESULT_OK:
            if not self.bound:
                self.closed = True
                self.transport.loseConnection()
            return
        self.bound = True
        self.source_addr = connect.source_addr
        self._scheduleActiveTest()
        ismg.flush()

    def _submit(self, sequence: int, submit: codec.Submit) -> None:
        ismg = self.ismg
        if self._unanswered_submits >= ismg.window:
            ismg.refused.append((submit.dest_terminal_ids[0], codec.RESULT_FLOW_CONTROL))
            self._write(codec.SubmitResp(0, codec.RESULT_FLOW_CONTROL), sequence)
            return
        result, msg_id = ismg.accept(self, submit)
        response = codec.SubmitResp(msg_id, result)
        delay = ismg.faults.response_delay
        if delay <= 0:
            self._write(response, sequence)
            return
        self._unanswered_submits += 1

        def answer() -> None:
            self._unanswered_submits -= 1
            self._write(response, sequence)

        self._delayed = [call for call in self._delayed if call.active()]
        self._delayed.append(ismg.clock.callLater(delay, answer))

    def deliver(self, delivery: _Delivery) -> None:
        pdu = delivery.deliver
        if delivery.report is not None:
            pdu = dataclasses.replace(pdu, msg_content=codec.encode_report(delivery.report,
                                                                           self.version))
        sequence = self.sequences.next()
        timer = self.ismg.clock.callLater(self.ismg.redeliver_delay, self._deliverUnanswered,
                                          sequence)
        self._awaiting[sequence] = (delivery, timer)
        self._write(pdu, sequence)

    def _deliverUnanswered(self, sequence: int) -> None:
        entry = self._awaiting.pop(sequence, None)
        if entry is not None:
            self.ismg.delivery_answered(entry[0], None)

    def send_request(self, pdu: codec.Pdu) -> int:
        """Send any request to the SP (CMPP_ACTIVE_TEST, CMPP_TERMINATE); its Sequence_Id."""
        sequence = self.sequences.next()
        self._write(pdu, sequence)
        return sequence

    def _scheduleActiveTest(self) -> None:
        interval = self.ismg.active_test_interval
        if interval is not None and not self.closed:
            self._idle_call = self.ismg.clock.callLater(interval, self._activeTest)

    def _activeTest(self) -> None:
        self._idle_call = None
        interval = self.ismg.active_test_interval
        if self.closed or interval is None:
            return
        if self.ismg.clock.seconds() - self._last_received >= interval:
            self.send_request(codec.ActiveTest())
        self._scheduleActiveTest()


def main(argv: list[str] | None = None) -> None:
    from twisted.internet import endpoints, reactor
    from twisted.logger import globalLogBeginner, textFileLogObserver

    from sms_gateway.simulator.control import control_factory
    from sms_gateway.simulator.smsc import SimulatedSmsc

    parser = argparse.ArgumentParser(prog="python -m sms_gateway.cmpp.simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7890, help="0: any free port")
    parser.add_argument("--version", choices=("2", "3"), default="3", help="CMPP 2.0 or 3.0")
    parser.add_argument("--sp-id", default="901234")
    parser.add_argument("--password", default="secret", help="the shared secret")
    parser.add_argument("--report-delay", type=float, default=1.0,
                        help="seconds before a status report; negative: no reports")
    parser.add_argument("--throttle-rate", type=float, default=None,
                        help="CMPP_SUBMIT per second above which Result 8 is answered")
    parser.add_argument("--response-delay", type=float, default=0.0,
                        help="seconds before every CMPP_SUBMIT_RESP (an ISMG's latency)")
    parser.add_argument("--drop-after-pdus", type=int, default=None,
                        help="close the first connection on its Nth PDU (a cut link)")
    parser.add_argument("--redeliver-delay", type=float, default=60.0,
                        help="seconds before an unanswered report or reply goes again")
    parser.add_argument("--control-port", type=int, default=None,
                        help="a line port for 'MO <source> <text>' (0: any free port)")
    parser.add_argument("--mo-destination", default="9600110",
                        help="the Dest_Id injected replies go to (service number + extension)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.verbose:
        globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)])
    ismg = SimulatedIsmg(
        reactor, version=codec.V3 if args.version == "3" else codec.V2,
        credentials={args.sp_id: args.password},
        report_delay=None if args.report_delay < 0 else args.report_delay,
        redeliver_delay=args.redeliver_delay)
    ismg.faults.throttle_rate = args.throttle_rate
    ismg.faults.response_delay = args.response_delay
    ismg.faults.drop_after_pdus = args.drop_after_pdus

    def failed(failure) -> None:
        print(f"cannot listen: {failure.getErrorMessage()}", file=sys.stderr, flush=True)
        reactor.stop()

    def listening(port) -> None:
        print(f"listening on {port.getHost().port}", flush=True)
        if args.control_port is None:
            return
        # The control line only calls inject_mo(source, destination, text), which this
        # ISMG answers as the SMSC simulator does.
        control = control_factory(cast(SimulatedSmsc, ismg), args.mo_destination)
        endpoints.TCP4ServerEndpoint(reactor, args.control_port, interface=args.host).listen(
            control).addCallbacks(
            lambda port: print(f"control on {port.getHost().port}", flush=True), failed)

    endpoints.TCP4ServerEndpoint(reactor, args.port, interface=args.host).listen(
        ismg.factory()).addCallbacks(listening, failed)
    reactor.run()


if __name__ == "__main__":
    main()
