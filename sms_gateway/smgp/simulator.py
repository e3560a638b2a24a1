"""A simulated SMGW: an SMGP 3.0 server for tests, the benchmark and trying a bind by hand
(`python -m sms_gateway.smgp.simulator --port 8890`).

It behaves as the specification has an SMGW behave:
- Login is authenticated: an unknown ClientID or a wrong AuthenticatorClient gets Status 21
  (认证错), a ClientVersion above 0x30 Status 22; a good one Status 0 and AuthenticatorServer.
  Anything before a good Login closes the connection.
- The window: a Submit that arrives while `window` are unanswered on its connection gets
  Status 1 (系统忙), as does one over `faults.throttle_rate`.
- Each accepted part gets a 10-octet MsgID built as the specification builds one (the SMGW's
  code, MMDDHHMM, a sequence) and, when it asked for one, a status report after
  `report_delay`: DELIVRD, or the stat `faults.stats` gives its destination (UNDELIV, ...).
- A report or an MO that gets no Deliver_Resp within `redeliver_delay` is sent again, as is
  one whose answer was an error, up to `max_delivery_attempts`; one sent on a connection that
  drops goes again on the next.
- Active_Test is answered, and sent on silence when `active_test_interval` is set; Exit both
  ways.
- Replies from handsets are injected with `inject_mo`, to any DestTermID (a service number
  with extension digits), long ones in UDH parts with TP_udhi.
The carrier-neutral half (the throttle fault, the queue of deliveries and their redelivery)
is the ISMG simulator's (`sms_gateway.cmpp.simulator.SimulatedIsmg`), which this extends.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Mapping, Sequence
from typing import Any, cast

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Factory, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from hotline.masking import mask_phone, mask_text
from sms_gateway.cmpp.segments import encode_text
from sms_gateway.cmpp.simulator import SimulatedIsmg, _Delivery
from sms_gateway.smgp import codec
from sms_gateway.smgp.framing import SmgpFramer


@dataclasses.dataclass(frozen=True)
class AcceptedSubmit:
    msg_id: bytes
    src_term_id: str
    destination: str
    msg_format: int
    tp_udhi: int
    pk_total: int
    pk_number: int
    content: bytes
    need_report: int
    service_id: str
    session: int


class SimulatedSmgw(SimulatedIsmg):
    """The SMGW's state, shared by every connection; `factory()` gives the server factory."""

    log = Logger()

    def __init__(
        self,
        clock: IReactorTime,
        *,
        credentials: Mapping[str, str] | None = None,
        smgw_code: str = "010061",
        window: int = 16,
        report_delay: float | None = 1.0,
        redeliver_delay: float = 60.0,
        max_delivery_attempts: int = 3,
        active_test_interval: float | None = None,
        status_octets: int = 4,
    ):
        super().__init__(clock, credentials=credentials or {"10690001": "secret"}, window=window,
                         report_delay=report_delay, redeliver_delay=redeliver_delay,
                         max_delivery_attempts=max_delivery_attempts,
                         active_test_interval=active_test_interval)
        self.smgw_code = smgw_code
        self.status_octets = status_octets  # how AuthenticatorServer hashes Status
        self.accepted: list[AcceptedSubmit] = []  # type: ignore[assignment]
        self.login_attempts: list[tuple[str, int, int]] = []  # (ClientID, LoginMode, Status)
        self.sessions: list[SmgwProtocol] = []  # type: ignore[assignment]

    def factory(self) -> Factory:
        return Factory.forProtocol(lambda: SmgwProtocol(self))

    def accepted_ids(self) -> list[str]:
        return [codec.format_msg_id(a.msg_id) for a in self.accepted]

    def authenticate(self, login: Any) -> int:
        secret = self.credentials.get(login.client_id)
        if secret is None or login.authenticator_client != codec.authenticator_client(
                login.client_id, secret, login.timestamp):
            status = codec.STATUS_AUTHENTICATION
        elif login.client_version > codec.VERSION:
            status = codec.STATUS_VERSION
        else:
            status = codec.STATUS_OK
        self.login_attempts.append((login.client_id, login.login_mode, status))
        return status

    def new_msg_id(self) -> bytes:  # type: ignore[override]
        return codec.make_msg_id(self.smgw_code, self._beijing().strftime("%m%d%H%M"),
                                 next(self._msg_sequence))

    def accept(self, session: Any, submit: Any) -> tuple[int, bytes]:  # type: ignore[override]
        """(Status, MsgID) for a Submit that got past the window."""
        destination = submit.dest_term_ids[0]
        if not self.admit():
            self.refused.append((destination, codec.STATUS_BUSY))
            return codec.STATUS_BUSY, bytes(codec.MSG_ID_LENGTH)
        status = self.faults.result_for.get(destination)
        if status:
            self.refused.append((destination, status))
            return status, bytes(codec.MSG_ID_LENGTH)
        msg_id = self.new_msg_id()
        accepted = AcceptedSubmit(
            msg_id, submit.src_term_id, destination, submit.msg_format, submit.tp_udhi,
            submit.pk_total, submit.pk_number, submit.msg_content, submit.need_report,
            submit.service_id, session.session_id)
        self.accepted.append(accepted)
        if self.report_delay is not None and accepted.need_report == 1:
            self.clock.callLater(self.report_delay, self._report, accepted, self._beijing())
        return codec.STATUS_OK, msg_id

    def _report(self, accepted: Any, submitted: Any) -> None:
        stat = self.faults.stats.get(accepted.destination, "DELIVRD")
        report = codec.StatusReport(
            msg_id=accepted.msg_id, stat=stat, err="000" if stat == "DELIVRD" else "001",
            submit_date=submitted.strftime("%y%m%d%H%M"),
            done_date=self._beijing().strftime("%y%m%d%H%M"))
        deliver = codec.Deliver(
            msg_id=self.new_msg_id(), src_term_id=accepted.destination,
            dest_term_id=accepted.src_term_id, msg_content=codec.encode_report(report),
            is_report=1, recv_time=self._beijing().strftime("%Y%m%d%H%M%S"))
        self._enqueue(_Delivery("report", cast(Any, deliver), None, Deferred()))

    def inject_mo(self, source: str, destination: str, text: str, *, msg_fmt: str = "ucs2",
                  order: Sequence[int] | None = None, max_parts: int = 10) -> Deferred:
        """A reply from handset `source` to `destination` (the service number, with any
        extension digits); long text in UDH parts, sent in `order` if given. Fires with the
        final Status of each part, in part order (-1 for a part given up unanswered)."""
        encoded = encode_text(text, msg_fmt=msg_fmt, max_parts=max_parts,
                              reference=next(self._mo_refs) % 256)
        self.log.info("Injecting MO from {source} to {destination}: {text} ({parts} parts)",
                      source=mask_phone(source), destination=destination, text=mask_text(text),
                      parts=len(encoded.parts))
        tlvs: codec.Tlvs = ((codec.Tag.TP_UDHI, b"\x01"),) if encoded.udhi else ()
        deliveries = [
            _Delivery("mo", cast(Any, codec.Deliver(
                msg_id=self.new_msg_id(), src_term_id=source, dest_term_id=destination,
                msg_content=part, msg_format=encoded.msg_fmt, tlvs=tlvs,
                recv_time=self._beijing().strftime("%Y%m%d%H%M%S"))), None, Deferred())
            for part in encoded.parts
        ]
        for index in (order if order is not None else range(len(deliveries))):
            self._enqueue(deliveries[index])

        async def all_parts() -> list[int]:
            return [await delivery.deferred for delivery in deliveries]

        return Deferred.fromCoroutine(all_parts())


class SmgwProtocol(SmgpFramer):
    """One SP connection to the simulated SMGW."""

    log = Logger()

    def __init__(self, smgw: SimulatedSmgw):
        self.smgw = smgw
        self.session_id = next(smgw._session_ids)
        self.sequences = codec.SequenceNumbers()
        self.bound = False
        self.client_id: str | None = None
        self.closed = False
        self.active_test_answers = 0
        self._unanswered_submits = 0
        self._awaiting: dict[int, tuple[_Delivery, IDelayedCall]] = {}
        self._delayed: list[IDelayedCall] = []
        self._idle_call: IDelayedCall | None = None
        self._last_received = 0.0

    def connectionMade(self) -> None:
        self.smgw.sessions.append(self)
        self._last_received = self.smgw.clock.seconds()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.closed = True
        self.bound = False
        self.stopFraming()
        if self in self.smgw.sessions:
            self.smgw.sessions.remove(self)
        for call in [*self._delayed, *(timer for _, timer in self._awaiting.values()),
                     self._idle_call]:
            if call is not None and call.active():
                call.cancel()
        awaiting, self._awaiting = self._awaiting, {}
        for delivery, _ in awaiting.values():
            self.smgw.delivery_answered(delivery, None, lost=True)

    def _write(self, pdu: codec.Pdu, sequence: int, *, close: bool = False) -> None:
        if self.closed:
            return
        self.transport.write(codec.encode(pdu, sequence))
        if close:
            self.transport.loseConnection()

    def _close(self) -> None:
        self.closed = True
        self.transport.loseConnection()

    def pduReceived(self, data: bytes) -> None:
        smgw = self.smgw
        smgw.pdus_received += 1
        self._last_received = smgw.clock.seconds()
        faults = smgw.faults
        if faults.drop_after_pdus is not None:
            faults.drop_after_pdus -= 1
            if faults.drop_after_pdus <= 0:
                faults.drop_after_pdus = None
                self.log.info("Fault: dropping session {session}", session=self.session_id)
                self._close()
                return
        if self.closed:
            return
        try:
            sequence, pdu = codec.decode(data)
        except codec.UnknownCommand as e:
            self.log.warn("Unknown RequestID 0x{id:08X}", id=e.request_id)
            return
        except codec.MalformedPdu as e:
            self.log.warn("Malformed PDU: {error}", error=str(e))
            if e.request_id == codec.RequestId.SUBMIT:
                self._write(codec.SubmitResp(bytes(codec.MSG_ID_LENGTH), e.status), e.sequence)
            return
        if isinstance(pdu, codec.Login):
            self._login(sequence, pdu)
        elif not self.bound:
            self.log.warn("{request} before Login: closing", request=pdu.request.name)
            self._close()
        elif pdu.request.name in faults.unanswered:
            return
        elif isinstance(pdu, codec.Submit):
            self._submit(sequence, pdu)
        elif isinstance(pdu, codec.DeliverResp):
            entry = self._awaiting.pop(sequence, None)
            if entry is not None:
                entry[1].cancel()
                smgw.delivery_answered(entry[0], pdu.status)
        elif isinstance(pdu, codec.ActiveTest):
            self._write(codec.ActiveTestResp(), sequence)
        elif isinstance(pdu, codec.ActiveTestResp):
            self.active_test_answers += 1
        elif isinstance(pdu, codec.Exit):
            self.bound = False
            self._write(codec.ExitResp(), sequence, close=True)

    def _login(self, sequence: int, login: codec.Login) -> None:
        smgw = self.smgw
        status = codec.STATUS_BUSY if self.bound else smgw.authenticate(login)
        authenticator = bytes(16)
        if status == codec.STATUS_OK:
            authenticator = codec.authenticator_server(
                status, login.authenticator_client, smgw.credentials[login.client_id],
                smgw.status_octets)
        self._write(codec.LoginResp(status, authenticator), sequence)
        if status != codec.STATUS_OK:
            if not self.bound:
                self._close()
            return
        self.bound = True
        self.client_id = login.client_id
        self._scheduleActiveTest()
        smgw.flush()

    def _submit(self, sequence: int, submit: codec.Submit) -> None:
        smgw = self.smgw
        if self._unanswered_submits >= smgw.window:
            smgw.refused.append((submit.dest_term_ids[0], codec.STATUS_BUSY))
            self._write(codec.SubmitResp(bytes(codec.MSG_ID_LENGTH), codec.STATUS_BUSY),
                        sequence)
            return
        status, msg_id = smgw.accept(self, submit)
        response = codec.SubmitResp(msg_id, status)
        delay = smgw.faults.response_delay
        if delay <= 0:
            self._write(response, sequence)
            return
        self._unanswered_submits += 1

        def answer() -> None:
            self._unanswered_submits -= 1
            self._write(response, sequence)

        self._delayed = [call for call in self._delayed if call.active()]
        self._delayed.append(smgw.clock.callLater(delay, answer))

    def deliver(self, delivery: _Delivery) -> None:
        sequence = self.sequences.next()
        timer = self.smgw.clock.callLater(self.smgw.redeliver_delay, self._deliverUnanswered,
                                          sequence)
        self._awaiting[sequence] = (delivery, timer)
        self._write(cast(codec.Deliver, delivery.deliver), sequence)

    def _deliverUnanswered(self, sequence: int) -> None:
        entry = self._awaiting.pop(sequence, None)
        if entry is not None:
            self.smgw.delivery_answered(entry[0], None)

    def send_request(self, pdu: codec.Pdu) -> int:
        """Send any request to the SP (Active_Test, Exit); its SequenceID."""
        sequence = self.sequences.next()
        self._write(pdu, sequence)
        return sequence

    def _scheduleActiveTest(self) -> None:
        interval = self.smgw.active_test_interval
        if interval is not None and not self.closed:
            self._idle_call = self.smgw.clock.callLater(interval, self._activeTest)

    def _activeTest(self) -> None:
        self._idle_call = None
        interval = self.smgw.active_test_interval
        if self.closed or interval is None:
            return
        if self.smgw.clock.seconds() - self._last_received >= interval:
            self.send_request(codec.ActiveTest())
        self._scheduleActiveTest()


def main(argv: list[str] | None = None) -> None:
    from twisted.internet import endpoints, reactor
    from twisted.logger import globalLogBeginner, textFileLogObserver

    from sms_gateway.simulator.control import control_factory
    from sms_gateway.simulator.smsc import SimulatedSmsc

    parser = argparse.ArgumentParser(prog="python -m sms_gateway.smgp.simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8890, help="0: any free port")
    parser.add_argument("--client-id", default="10690001")
    parser.add_argument("--password", default="secret", help="the shared secret")
    parser.add_argument("--report-delay", type=float, default=1.0,
                        help="seconds before a status report; negative: no reports")
    parser.add_argument("--throttle-rate", type=float, default=None,
                        help="Submit per second above which Status 1 (系统忙) is answered")
    parser.add_argument("--response-delay", type=float, default=0.0,
                        help="seconds before every Submit_Resp (an SMGW's latency)")
    parser.add_argument("--drop-after-pdus", type=int, default=None,
                        help="close the first connection on its Nth PDU (a cut link)")
    parser.add_argument("--redeliver-delay", type=float, default=60.0,
                        help="seconds before an unanswered report or reply goes again")
    parser.add_argument("--control-port", type=int, default=None,
                        help="a line port for 'MO <source> <text>' (0: any free port)")
    parser.add_argument("--mo-destination", default="9600110",
                        help="the DestTermID injected replies go to (service number + extension)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.verbose:
        globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)])
    smgw = SimulatedSmgw(
        reactor, credentials={args.client_id: args.password},
        report_delay=None if args.report_delay < 0 else args.report_delay,
        redeliver_delay=args.redeliver_delay)
    smgw.faults.throttle_rate = args.throttle_rate
    smgw.faults.response_delay = args.response_delay
    smgw.faults.drop_after_pdus = args.drop_after_pdus

    def failed(failure) -> None:
        print(f"cannot listen: {failure.getErrorMessage()}", file=sys.stderr, flush=True)
        reactor.stop()

    def listening(port) -> None:
        print(f"listening on {port.getHost().port}", flush=True)
        if args.control_port is None:
            return
        # The control line only calls inject_mo(source, destination, text).
        control = control_factory(cast(SimulatedSmsc, smgw), args.mo_destination)
        endpoints.TCP4ServerEndpoint(reactor, args.control_port, interface=args.host).listen(
            control).addCallbacks(
            lambda port: print(f"control on {port.getHost().port}", flush=True), failed)

    endpoints.TCP4ServerEndpoint(reactor, args.port, interface=args.host).listen(
        smgw.factory()).addCallbacks(listening, failed)
    reactor.run()


if __name__ == "__main__":
    main()
