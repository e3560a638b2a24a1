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
and misbehaves on demand through `SimulatedIsmg.faults`. What any carrier's gateway simulator
does alike (faults, window, throttle, deliveries sent again) is
`sms_gateway.simulator.gateway`'s.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from hotline.masking import mask_phone, mask_text
from sms_gateway.cmpp import codec
from sms_gateway.cmpp.framing import CmppFramer
from sms_gateway.cmpp.segments import encode_text
from sms_gateway.simulator.gateway import (
    Delivery,
    GatewaySession,
    SimulatedGateway,
    command_line,
    serve,
)


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


class SimulatedIsmg(SimulatedGateway):
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
        super().__init__(clock, credentials=credentials or {"901234": "secret"}, window=window,
                         report_delay=report_delay, redeliver_delay=redeliver_delay,
                         max_delivery_attempts=max_delivery_attempts,
                         active_test_interval=active_test_interval)
        self.version = version
        self.ismg_code = ismg_code
        self.accepted: list[AcceptedSubmit] = []
        self.connect_attempts: list[tuple[str, int, int]] = []  # (Source_Addr, Version, Status)
        self.sessions: list[IsmgProtocol] = []
        self._smsc_sequence = itertools.count(1)

    def session(self) -> IsmgProtocol:
        return IsmgProtocol(self)

    def accepted_ids(self) -> list[str]:
        return [codec.format_msg_id(a.msg_id) for a in self.accepted]

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

    def new_msg_id(self) -> int:
        return codec.make_msg_id(self._beijing(), self.ismg_code, next(self._msg_sequence))

    def accept(self, session: Any, submit: Any) -> tuple[int, int]:
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

    def _report(self, accepted: AcceptedSubmit, submitted: Any) -> None:
        stat = self.faults.stats.get(accepted.destination, "DELIVRD")
        report = codec.StatusReport(
            msg_id=accepted.msg_id, stat=stat, submit_time=submitted.strftime("%y%m%d%H%M"),
            done_time=self._beijing().strftime("%y%m%d%H%M"),
            dest_terminal_id=accepted.destination, smsc_sequence=next(self._smsc_sequence))
        deliver = codec.Deliver(
            msg_id=self.new_msg_id(), dest_id=accepted.src_id, service_id=accepted.service_id,
            src_terminal_id=accepted.destination, registered_delivery=1, msg_content=b"")
        self._enqueue(Delivery("report", deliver, report, Deferred()))

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
            Delivery("mo", codec.Deliver(
                msg_id=self.new_msg_id(), dest_id=destination, src_terminal_id=source,
                msg_content=part, msg_fmt=encoded.msg_fmt, tp_udhi=encoded.udhi), None, Deferred())
            for part in encoded.parts
        ]
        for index in (order if order is not None else range(len(deliveries))):
            self._enqueue(deliveries[index])

        async def all_parts() -> list[int]:
            return [await delivery.deferred for delivery in deliveries]

        return Deferred.fromCoroutine(all_parts())


class IsmgProtocol(GatewaySession, CmppFramer):
    """One SP connection to the simulated ISMG."""

    log = Logger()
    BUSY = codec.RESULT_FLOW_CONTROL
    gateway: SimulatedIsmg

    def __init__(self, ismg: SimulatedIsmg):
        super().__init__(ismg)
        self.ismg = ismg
        self.version = ismg.version
        self.source_addr: str | None = None

    def encode(self, pdu: Any, sequence: int) -> bytes:
        return codec.encode(pdu, sequence, self.version)

    def submitResp(self, msg_id: Any, result: int) -> codec.SubmitResp:
        return codec.SubmitResp(msg_id or 0, result)

    def activeTest(self) -> codec.ActiveTest:
        return codec.ActiveTest()

    def deliveryPdu(self, delivery: Delivery) -> codec.Deliver:
        if delivery.report is None:
            return delivery.deliver
        return dataclasses.replace(delivery.deliver, msg_content=codec.encode_report(
            delivery.report, self.version))

    def received(self, data: bytes) -> None:
        try:
            sequence, pdu = codec.decode(data, self.version)
        except codec.UnknownCommand as e:
            self.log.warn("Unknown Command_Id 0x{id:08X}", id=e.command_id)
            return
        except codec.MalformedPdu as e:
            self.log.warn("Malformed PDU: {error}", error=str(e))
            if e.command_id == codec.Command.SUBMIT:
                self.write(codec.SubmitResp(0, e.result), e.sequence)
            return
        if isinstance(pdu, codec.Connect):
            self._connect(sequence, pdu)
        elif not self.bound:
            self.log.warn("{command} before CMPP_CONNECT: closing", command=pdu.command.name)
            self.close()
        elif pdu.command.name in self.ismg.faults.unanswered:
            return
        elif isinstance(pdu, codec.Submit):
            self.submitReceived(sequence, pdu.dest_terminal_ids[0], pdu)
        elif isinstance(pdu, codec.DeliverResp):
            self.deliveryAnswered(sequence, pdu.result)
        elif isinstance(pdu, codec.ActiveTest):
            self.write(codec.ActiveTestResp(), sequence)
        elif isinstance(pdu, codec.ActiveTestResp):
            self.active_test_answers += 1
        elif isinstance(pdu, codec.Terminate):
            self.bound = False
            self.write(codec.TerminateResp(), sequence, close=True)

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
        self.write(codec.ConnectResp(status, authenticator, ismg.version), sequence)
        if status != codec.RESULT_OK:
            if not self.bound:
                self.close()
            return
        self.source_addr = connect.source_addr
        self.loggedIn()


def main(argv: list[str] | None = None) -> None:
    from twisted.internet import reactor

    parser = command_line("python -m sms_gateway.cmpp.simulator", 7890, "CMPP_SUBMIT",
                          "Result 8")
    parser.add_argument("--version", choices=("2", "3"), default="3", help="CMPP 2.0 or 3.0")
    parser.add_argument("--sp-id", default="901234")
    args = parser.parse_args(argv)
    serve(reactor, args, lambda clock, **options: SimulatedIsmg(
        clock, version=codec.V3 if args.version == "3" else codec.V2,
        credentials={args.sp_id: args.password}, **options))


if __name__ == "__main__":
    main()
