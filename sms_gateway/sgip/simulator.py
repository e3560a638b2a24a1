"""A simulated SMG (China Unicom): an SGIP 1.2 server for the SP's submits, and a client that
binds to the SP to deliver; for tests, the benchmark and trying a bind by hand
(`python -m sms_gateway.sgip.simulator --port 8801 --sp-port 8802`).

It behaves as the specification has an SMG behave:
- the SP's Bind (Login Type 1) is checked: a wrong login gets Result 1 (非法登录) and the
  connection closed; anything before a good Bind closes the connection.
- The window: a Submit that arrives while `window` are unanswered on its connection gets
  Result 11 (节点忙), as does one over `faults.throttle_rate`.
- Each accepted part gets, when its ReportFlag asks, a Report after `report_delay` naming the
  Submit by its Sequence Number: State 0, or State 2 with the ErrorCode `faults.stats` gives
  its destination ("25": 用户不能通信).
- Reports and replies (`inject_mo`, to any SPNumber: a service number with extension digits,
  long ones in UDH parts) go over a connection the SMG opens to the SP (`sp_endpoint`) and
  binds with Login Type 2 and the SMG's own login; one not answered within `redeliver_delay`,
  or answered with an error, is sent again, up to `max_delivery_attempts`; one sent on a
  connection that drops goes again on the next. Idle for `unbind_after`, the SMG unbinds.
What any carrier's gateway simulator does alike is `sms_gateway.simulator.gateway`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime, IStreamClientEndpoint
from twisted.internet.protocol import Factory, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from hotline.masking import mask_phone, mask_text
from sms_gateway.cmpp.segments import encode_text
from sms_gateway.sgip import codec
from sms_gateway.sgip.framing import SgipFramer
from sms_gateway.simulator.gateway import (
    Delivery,
    GatewaySession,
    SimulatedGateway,
    command_line,
    serve,
)


@dataclasses.dataclass(frozen=True)
class AcceptedSubmit:
    sequence: codec.Sequence  # the SP's Sequence Number of the Submit
    sp_number: str
    destination: str
    message_coding: int
    tp_udhi: int
    content: bytes
    report_flag: int
    service_type: str
    session: int

    @property
    def message_id(self) -> str:
        return self.sequence.message_id


class SimulatedSmg(SimulatedGateway):
    """The SMG's state; `factory()` serves the SP's binds, `sp_endpoint` reaches the SP."""

    log = Logger()

    def __init__(
        self,
        clock: IReactorTime,
        *,
        credentials: Mapping[str, str] | None = None,
        sp_endpoint: IStreamClientEndpoint | None = None,
        smg_login: tuple[str, str] = ("unicom", "smgsecret"),
        node_id: int = 2000000000,
        window: int = 16,
        report_delay: float | None = 1.0,
        redeliver_delay: float = 60.0,
        max_delivery_attempts: int = 3,
        unbind_after: float = 10.0,
    ):
        super().__init__(clock, credentials=credentials or {"hotline": "secret"}, window=window,
                         report_delay=report_delay, redeliver_delay=redeliver_delay,
                         max_delivery_attempts=max_delivery_attempts)
        self.sp_endpoint = sp_endpoint
        self.smg_login = smg_login
        self.node_id = node_id
        self.unbind_after = unbind_after
        self.accepted: list[AcceptedSubmit] = []
        self.bind_attempts: list[tuple[str, int]] = []  # (Login Name, Result) of the SP's binds
        self.sp_bind_results: list[int] = []  # what the SP answered our binds
        self.sessions: list[SmgSession] = []
        self._dialing = False

    def session(self) -> SmgSession:
        return SmgSession(self)

    def accepted_ids(self) -> list[str]:
        return [a.message_id for a in self.accepted]

    def bound_sessions(self) -> list[Any]:
        """The SMG's own connections to the SP, bound: where deliveries go."""
        return [s for s in self.sessions if s.bound and s.outbound]

    def flush(self) -> None:
        if self.bound_sessions():
            super().flush()
            return
        binding = any(s.outbound and not s.closed for s in self.sessions)
        if not self._deliveries or self.sp_endpoint is None or self._dialing or binding:
            return
        self._dialing = True

        def dialed(result: object) -> object:
            self._dialing = False
            return result

        self.sp_endpoint.connect(Factory.forProtocol(lambda: SmgSession(self, outbound=True))
                                 ).addBoth(dialed).addErrback(
            lambda failure: self.log.warn("Cannot reach the SP: {reason}",
                                          reason=failure.getErrorMessage()))

    def authenticate(self, bind: codec.Bind) -> int:
        secret = self.credentials.get(bind.login_name)
        ok = (bind.login_type == codec.LOGIN_SP_TO_SMG and secret is not None
              and secret == bind.login_password)
        result = codec.RESULT_OK if ok else codec.RESULT_ILLEGAL_LOGIN
        self.bind_attempts.append((bind.login_name, result))
        return result

    def accept(self, session: Any, submit: Any) -> tuple[int, Any]:
        destination = submit.user_numbers[0]
        if not self.admit():
            self.refused.append((destination, codec.RESULT_NODE_BUSY))
            return codec.RESULT_NODE_BUSY, None
        result = self.faults.result_for.get(destination)
        if result:
            self.refused.append((destination, result))
            return result, None
        accepted = AcceptedSubmit(
            session.current_sequence, submit.sp_number, destination, submit.message_coding,
            submit.tp_udhi, submit.message_content, submit.report_flag, submit.service_type,
            session.session_id)
        self.accepted.append(accepted)
        if self.report_delay is not None and accepted.report_flag in (0, 1):
            self.clock.callLater(self.report_delay, self._report, accepted)
        return codec.RESULT_OK, accepted.sequence

    def _report(self, accepted: AcceptedSubmit) -> None:
        code = self.faults.stats.get(accepted.destination)
        report = codec.Report(accepted.sequence, accepted.destination,
                              state=codec.STATE_FAILED if code else codec.STATE_DELIVERED,
                              error_code=int(code) if code else 0)
        self._enqueue(Delivery("report", report, None, Deferred()))

    def inject_mo(self, source: str, destination: str, text: str, *, msg_fmt: str = "ucs2",
                  order: Sequence[int] | None = None, max_parts: int = 10) -> Deferred:
        """A reply from handset `source` (86 put before it) to `destination`; long text in UDH
        parts, sent in `order` if given. Fires with each part's final Result."""
        encoded = encode_text(text, msg_fmt=msg_fmt, max_parts=max_parts,
                              reference=next(self._mo_refs) % 256)
        self.log.info("Injecting MO from {source} to {destination}: {text} ({parts} parts)",
                      source=mask_phone(source), destination=destination, text=mask_text(text),
                      parts=len(encoded.parts))
        user = source if source.startswith("86") else "86" + source
        deliveries = [
            Delivery("mo", codec.Deliver(user, destination, part, tp_udhi=encoded.udhi,
                                         message_coding=encoded.msg_fmt), None, Deferred())
            for part in encoded.parts
        ]
        for index in (order if order is not None else range(len(deliveries))):
            self._enqueue(deliveries[index])

        async def all_parts() -> list[int]:
            return [await delivery.deferred for delivery in deliveries]

        return Deferred.fromCoroutine(all_parts())


class SmgSession(GatewaySession, SgipFramer):
    """One connection: the SP's to the SMG (to submit), or the SMG's to the SP (`outbound`,
    to deliver)."""

    log = Logger()
    BUSY = codec.RESULT_NODE_BUSY

    def __init__(self, smg: SimulatedSmg, *, outbound: bool = False):
        super().__init__(smg)
        self.smg = smg
        self.outbound = outbound
        self.sequences = codec.SequenceNumbers(smg.node_id, smg.clock)  # type: ignore[assignment]
        self.current_sequence: codec.Sequence | None = None
        self._unbind_call: IDelayedCall | None = None

    def encode(self, pdu: Any, sequence: Any) -> bytes:
        return codec.encode(pdu, sequence)

    def submitResp(self, msg_id: Any, result: int) -> codec.SubmitResp:
        return codec.SubmitResp(result)

    def activeTest(self) -> Any:
        return codec.Unbind()

    def connectionMade(self) -> None:
        super().connectionMade()
        if self.outbound:
            name, password = self.smg.smg_login
            self.send_request(codec.Bind(codec.LOGIN_SMG_TO_SP, name, password))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._unbind_call is not None and self._unbind_call.active():
            self._unbind_call.cancel()
        super().connectionLost(reason)

    def pduReceived(self, data: bytes) -> None:
        if not self.outbound:
            super().pduReceived(data)  # the faults (a cut link) are the submit side's
        elif not self.closed:
            self._last_received = self.smg.clock.seconds()
            self.received(data)

    def received(self, data: bytes) -> None:
        try:
            sequence, pdu = codec.decode(data)
        except codec.CodecError as e:
            self.log.warn("Unreadable SGIP PDU: {error}", error=str(e))
            return
        if self.outbound:
            self._fromSp(sequence, pdu)
            return
        if isinstance(pdu, codec.Bind):
            result = codec.RESULT_ILLEGAL_LOGIN if self.bound else self.smg.authenticate(pdu)
            self.write(codec.BindResp(result), sequence)
            if result != codec.RESULT_OK:
                self.close()
                return
            self.bound = True
        elif not self.bound:
            self.log.warn("{command} before Bind: closing", command=pdu.command.name)
            self.close()
        elif pdu.command.name in self.smg.faults.unanswered:
            return
        elif isinstance(pdu, codec.Submit):
            self.current_sequence = sequence
            self.submitReceived(sequence, pdu.user_numbers[0], pdu)
        elif isinstance(pdu, codec.Unbind):
            self.bound = False
            self.write(codec.UnbindResp(), sequence, close=True)

    def _fromSp(self, sequence: codec.Sequence, pdu: Any) -> None:
        """Answers on the SMG's own connection to the SP."""
        if isinstance(pdu, codec.BindResp):
            self.smg.sp_bind_results.append(pdu.result)
            if pdu.result != codec.RESULT_OK:
                self.close()
                return
            self.bound = True
            self.smg.flush()
        elif isinstance(pdu, (codec.DeliverResp, codec.ReportResp)):
            self.deliveryAnswered(sequence, pdu.result)
            self._maybeUnbind()
        elif isinstance(pdu, codec.UnbindResp):
            self.close()

    def deliver(self, delivery: Delivery) -> None:
        if self._unbind_call is not None and self._unbind_call.active():
            self._unbind_call.cancel()
        super().deliver(delivery)

    def _maybeUnbind(self) -> None:
        if self._awaiting or self.closed:
            return
        if self._unbind_call is None or not self._unbind_call.active():
            self._unbind_call = self.smg.clock.callLater(self.smg.unbind_after, self._unbind)

    def _unbind(self) -> None:
        if not self._awaiting and not self.closed:
            self.bound = False
            self.send_request(codec.Unbind())


@implementer(IStreamClientEndpoint)
class _PortsFileEndpoint:
    """The SP's listener as its ports file names it, read when the SMG first dials (a test's
    service listens on any free port)."""

    def __init__(self, reactor: Any, host: str, path: str, name: str):
        self.reactor, self.host, self.path, self.name = reactor, host, path, name

    def connect(self, protocolFactory):
        from twisted.internet import endpoints

        from hotline.listening import read_ports_file

        port = read_ports_file(self.path)[self.name]
        return endpoints.TCP4ClientEndpoint(self.reactor, self.host, port).connect(
            protocolFactory)


def main(argv: list[str] | None = None) -> None:
    from twisted.internet import endpoints, reactor

    parser = command_line("python -m sms_gateway.sgip.simulator", 8801, "Submit",
                          "Result 11 (节点忙)")
    parser.add_argument("--login-name", default="hotline")
    parser.add_argument("--sp-host", default="127.0.0.1")
    parser.add_argument("--sp-port", type=int, default=8802,
                        help="where the SP listens for the SMG's binds")
    parser.add_argument("--sp-ports-file", default=None,
                        help="read the SP's port from this ports file instead (see --sp-port-name)")
    parser.add_argument("--sp-port-name", default="sms_sgip_unicom")
    parser.add_argument("--smg-login-name", default="unicom")
    parser.add_argument("--smg-password", default="smgsecret")
    args = parser.parse_args(argv)
    sp: IStreamClientEndpoint = endpoints.TCP4ClientEndpoint(reactor, args.sp_host, args.sp_port)
    if args.sp_ports_file:
        sp = _PortsFileEndpoint(reactor, args.sp_host, args.sp_ports_file, args.sp_port_name)
    serve(reactor, args, lambda clock, **options: SimulatedSmg(
        clock, credentials={args.login_name: args.password}, sp_endpoint=sp,
        smg_login=(args.smg_login_name, args.smg_password), **options))


if __name__ == "__main__":
    main()
