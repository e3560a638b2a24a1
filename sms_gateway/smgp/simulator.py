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
What any carrier's gateway simulator does alike (faults, window, throttle, deliveries sent
again, the active test on silence) is `sms_gateway.simulator.gateway`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from hotline.masking import mask_phone, mask_text
from sms_gateway.cmpp.segments import encode_text
from sms_gateway.simulator.gateway import (
    Delivery,
    GatewaySession,
    SimulatedGateway,
    command_line,
    serve,
)
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


class SimulatedSmgw(SimulatedGateway):
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
        self.accepted: list[AcceptedSubmit] = []
        self.login_attempts: list[tuple[str, int, int]] = []  # (ClientID, LoginMode, Status)
        self.sessions: list[SmgwProtocol] = []

    def session(self) -> SmgwProtocol:
        return SmgwProtocol(self)

    def accepted_ids(self) -> list[str]:
        return [codec.format_msg_id(a.msg_id) for a in self.accepted]

    def authenticate(self, login: codec.Login) -> int:
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

    def new_msg_id(self) -> bytes:
        return codec.make_msg_id(self.smgw_code, self._beijing().strftime("%m%d%H%M"),
                                 next(self._msg_sequence))

    def accept(self, session: Any, submit: Any) -> tuple[int, bytes]:
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

    def _report(self, accepted: AcceptedSubmit, submitted: Any) -> None:
        stat = self.faults.stats.get(accepted.destination, "DELIVRD")
        report = codec.StatusReport(
            msg_id=accepted.msg_id, stat=stat, err="000" if stat == "DELIVRD" else "001",
            submit_date=submitted.strftime("%y%m%d%H%M"),
            done_date=self._beijing().strftime("%y%m%d%H%M"))
        deliver = codec.Deliver(
            msg_id=self.new_msg_id(), src_term_id=accepted.destination,
            dest_term_id=accepted.src_term_id, msg_content=codec.encode_report(report),
            is_report=1, recv_time=self._beijing().strftime("%Y%m%d%H%M%S"))
        self._enqueue(Delivery("report", deliver, None, Deferred()))

    def inject_mo(self, source: str, destination: str, text: str, *, msg_fmt: str = "ucs2",
                  order: Sequence[int] | None = None, max_parts: int = 10) -> Deferred:
        """A reply from handset `source` to `destination` (the service number, with any
        extension digits); long text in UDH parts with TP_udhi, sent in `order` if given.
        Fires with the final Status of each part, in part order (-1 for a part given up
        unanswered)."""
        encoded = encode_text(text, msg_fmt=msg_fmt, max_parts=max_parts,
                              reference=next(self._mo_refs) % 256)
        self.log.info("Injecting MO from {source} to {destination}: {text} ({parts} parts)",
                      source=mask_phone(source), destination=destination, text=mask_text(text),
                      parts=len(encoded.parts))
        tlvs: codec.Tlvs = ((codec.Tag.TP_UDHI, b"\x01"),) if encoded.udhi else ()
        deliveries = [
            Delivery("mo", codec.Deliver(
                msg_id=self.new_msg_id(), src_term_id=source, dest_term_id=destination,
                msg_content=part, msg_format=encoded.msg_fmt, tlvs=tlvs,
                recv_time=self._beijing().strftime("%Y%m%d%H%M%S")), None, Deferred())
            for part in encoded.parts
        ]
        for index in (order if order is not None else range(len(deliveries))):
            self._enqueue(deliveries[index])

        async def all_parts() -> list[int]:
            return [await delivery.deferred for delivery in deliveries]

        return Deferred.fromCoroutine(all_parts())


class SmgwProtocol(GatewaySession, SmgpFramer):
    """One SP connection to the simulated SMGW."""

    log = Logger()
    BUSY = codec.STATUS_BUSY

    def __init__(self, smgw: SimulatedSmgw):
        super().__init__(smgw)
        self.smgw = smgw
        self.client_id: str | None = None

    def encode(self, pdu: Any, sequence: int) -> bytes:
        return codec.encode(pdu, sequence)

    def submitResp(self, msg_id: Any, result: int) -> codec.SubmitResp:
        return codec.SubmitResp(msg_id or bytes(codec.MSG_ID_LENGTH), result)

    def activeTest(self) -> codec.ActiveTest:
        return codec.ActiveTest()

    def received(self, data: bytes) -> None:
        try:
            sequence, pdu = codec.decode(data)
        except codec.UnknownCommand as e:
            self.log.warn("Unknown RequestID 0x{id:08X}", id=e.request_id)
            return
        except codec.MalformedPdu as e:
            self.log.warn("Malformed PDU: {error}", error=str(e))
            if e.request_id == codec.RequestId.SUBMIT:
                self.write(self.submitResp(None, e.status), e.sequence)
            return
        if isinstance(pdu, codec.Login):
            self._login(sequence, pdu)
        elif not self.bound:
            self.log.warn("{request} before Login: closing", request=pdu.request.name)
            self.close()
        elif pdu.request.name in self.smgw.faults.unanswered:
            return
        elif isinstance(pdu, codec.Submit):
            self.submitReceived(sequence, pdu.dest_term_ids[0], pdu)
        elif isinstance(pdu, codec.DeliverResp):
            self.deliveryAnswered(sequence, pdu.status)
        elif isinstance(pdu, codec.ActiveTest):
            self.write(codec.ActiveTestResp(), sequence)
        elif isinstance(pdu, codec.ActiveTestResp):
            self.active_test_answers += 1
        elif isinstance(pdu, codec.Exit):
            self.bound = False
            self.write(codec.ExitResp(), sequence, close=True)

    def _login(self, sequence: int, login: codec.Login) -> None:
        smgw = self.smgw
        status = codec.STATUS_BUSY if self.bound else smgw.authenticate(login)
        authenticator = bytes(16)
        if status == codec.STATUS_OK:
            authenticator = codec.authenticator_server(
                status, login.authenticator_client, smgw.credentials[login.client_id],
                smgw.status_octets)
        self.write(codec.LoginResp(status, authenticator), sequence)
        if status != codec.STATUS_OK:
            if not self.bound:
                self.close()
            return
        self.client_id = login.client_id
        self.loggedIn()


def main(argv: list[str] | None = None) -> None:
    from twisted.internet import reactor

    parser = command_line("python -m sms_gateway.smgp.simulator", 8890, "Submit",
                          "Status 1 (系统忙)")
    parser.add_argument("--client-id", default="10690001")
    args = parser.parse_args(argv)
    serve(reactor, args, lambda clock, **options: SimulatedSmgw(
        clock, credentials={args.client_id: args.password}, **options))


if __name__ == "__main__":
    main()
