"""A simulated SMSC: an SMPP 3.4 server for tests, the demo and the benchmark.

It binds ESMEs by system_id/password (wrong ones get ESME_RBINDFAIL), accepts submit_sm with
message ids, sends delivery receipts after a delay (deliver_sm esm_class 0x04 with the
receipted_message_id / message_state TLVs and the text body), sends MO replies injected through
`inject_mo`, and misbehaves on demand through `SimulatedSmsc.faults`: throttling over a rate,
a dropped link after N PDUs, slow or missing responses, an error status for given destinations.
It records every submit it accepted, so a test can assert that none was lost or duplicated.

Receipts and MO messages wait in a queue until a receiver (or transceiver) is bound, and are
delivered again if the ESME answers with an error or drops the link before answering.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable, Mapping, Sequence

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Factory
from twisted.logger import Logger

from hotline.masking import mask_phone, mask_text
from sms_gateway import encoding
from sms_gateway.receipts import SHANGHAI
from sms_gateway.smpp import codec
from sms_gateway.smpp.framing import SmppFramer
from sms_gateway.throttle import TokenBucket

RECEIVING = ("bind_receiver", "bind_transceiver")
TRANSMITTING = ("bind_transmitter", "bind_transceiver")

TAG_RECEIPTED_MESSAGE_ID = 0x001E
TAG_MESSAGE_STATE = 0x0427
STATE_DELIVERED = 2
STATE_UNDELIVERABLE = 5


@dataclasses.dataclass
class Faults:
    """What the SMSC does wrong; change the fields at any time."""

    throttle_rate: float | None = None  # submit_sm per second above which ESME_RTHROTTLED
    drop_after_pdus: int | None = None  # close the link on the Nth PDU received (one shot)
    response_delay: float = 0.0  # seconds before every response
    unanswered: frozenset[str] = frozenset()  # commands never answered, e.g. {"enquire_link"}
    error_for: Mapping[str, int] = dataclasses.field(default_factory=dict)  # destination -> status
    undeliverable: frozenset[str] = frozenset()  # destinations whose receipts say UNDELIV


@dataclasses.dataclass(frozen=True)
class AcceptedSubmit:
    message_id: str
    source: str
    destination: str
    data_coding: int
    esm_class: int
    short_message: bytes
    registered_delivery: int
    session: int


@dataclasses.dataclass(eq=False)
class _Delivery:
    kind: str  # "receipt" or "mo"
    fields: dict
    tlvs: dict[int, bytes]
    deferred: Deferred
    attempts: int = 0
    statuses: list[int] = dataclasses.field(default_factory=list)


class SimulatedSmsc:
    """The SMSC's state, shared by every connection; `factory()` gives the server factory."""

    log = Logger()

    def __init__(
        self,
        clock: IReactorTime,
        *,
        credentials: Mapping[str, str] | None = None,
        system_id: str = "SIMSMSC",
        receipt_delay: float | None = 1.0,
        receipt_tlvs: bool = True,
        receipt_id_nul: bool = True,
        receipt_id: Callable[[str], str] | None = None,
        id_format: str = "hex",
        redeliver_delay: float = 5.0,
        max_delivery_attempts: int = 3,
        pdus_per_turn: int | None = 8,
    ):
        self.clock = clock
        self.credentials = dict(credentials or {"hotline": "secret"})
        self.system_id = system_id
        self.receipt_delay = receipt_delay
        self.receipt_tlvs = receipt_tlvs
        self.receipt_id_nul = receipt_id_nul
        self.receipt_id = receipt_id or (lambda message_id: message_id)
        self.id_format = id_format
        self.redeliver_delay = redeliver_delay
        self.max_delivery_attempts = max_delivery_attempts
        self.pdus_per_turn = pdus_per_turn
        self.faults = Faults()
        self.accepted: list[AcceptedSubmit] = []
        self.refused: list[tuple[str, int]] = []  # (destination, status)
        self.bind_attempts: list[tuple[str, str, int]] = []  # (command, system_id, status)
        self.sessions: list[SmscProtocol] = []
        self.pdus_received = 0
        self._ids = itertools.count(1)
        self._session_ids = itertools.count(1)
        self._deliveries: list[_Delivery] = []
        self._throttle: TokenBucket | None = None
        self._throttle_rate: float | None = None
        self._mo_refs = itertools.count(0)

    def factory(self) -> Factory:
        return Factory.forProtocol(lambda: SmscProtocol(self))

    # -- what tests read ----------------------------------------------------------------------------

    def accepted_ids(self) -> list[str]:
        return [a.message_id for a in self.accepted]

    def bound_sessions(self) -> list[SmscProtocol]:
        return [s for s in self.sessions if s.bound_as is not None]

    # -- submit handling -----------------------------------------------------------------------------

    def new_message_id(self) -> str:
        number = next(self._ids)
        return "%08X" % number if self.id_format == "hex" else str(number)

    def admit(self) -> bool:
        """Whether a submit_sm gets past the throttle fault."""
        rate = self.faults.throttle_rate
        if rate is None:
            return True
        if self._throttle is None or self._throttle_rate != rate:
            self._throttle = TokenBucket(rate, max(1.0, rate / 10), self.clock)
            self._throttle_rate = rate
        return self._throttle.consume()

    def accept(self, session: SmscProtocol, pdu: codec.Pdu) -> tuple[int, str]:
        destination = pdu.text_field("destination_addr")
        if not self.admit():
            self.refused.append((destination, codec.ESME_RTHROTTLED))
            return codec.ESME_RTHROTTLED, ""
        status = self.faults.error_for.get(destination)
        if status:
            self.refused.append((destination, status))
            return status, ""
        message_id = self.new_message_id()
        accepted = AcceptedSubmit(
            message_id, pdu.text_field("source_addr"), destination, pdu.int_field("data_coding"),
            pdu.int_field("esm_class"), pdu.octets_field("short_message"),
            pdu.int_field("registered_delivery"), session.session_id,
        )
        self.accepted.append(accepted)
        if self.receipt_delay is not None and accepted.registered_delivery & 0x03:
            self.clock.callLater(self.receipt_delay, self._receipt, accepted)
        return codec.ESME_ROK, message_id

    # -- deliveries: receipts and MO -----------------------------------------------------------------

    def _receipt(self, accepted: AcceptedSubmit) -> None:
        failed = accepted.destination in self.faults.undeliverable
        stamp = dt.datetime.fromtimestamp(self.clock.seconds(), SHANGHAI).strftime("%y%m%d%H%M")
        receipt_id = self.receipt_id(accepted.message_id)
        text = (
            f"id:{receipt_id} sub:001 dlvrd:{'000' if failed else '001'} submit date:{stamp} "
            f"done date:{stamp} stat:{'UNDELIV' if failed else 'DELIVRD'} "
            f"err:{'001' if failed else '000'} text:"
        ).encode("ascii")
        tlvs: dict[int, bytes] = {}
        if self.receipt_tlvs:
            tlvs[TAG_RECEIPTED_MESSAGE_ID] = receipt_id.encode("ascii") + (b"\x00" if self.receipt_id_nul else b"")
            tlvs[TAG_MESSAGE_STATE] = bytes((STATE_UNDELIVERABLE if failed else STATE_DELIVERED,))
        fields = dict(
            source_addr=accepted.destination, source_addr_ton=1, source_addr_npi=1,
            destination_addr=accepted.source, esm_class=0x04, data_coding=0,
            short_message=text,
        )
        self._enqueue(_Delivery("receipt", fields, tlvs, Deferred()))

    def inject_mo(
        self, source: str, destination: str, text: str, *,
        order: Sequence[int] | None = None, reference16: bool = False,
        data_coding: int | None = None, max_parts: int = 10,
    ) -> Deferred:
        """Send a reply from handset `source` to service number `destination`.

        Long text goes in concatenated parts, sent in `order` (0-based part indexes) if given;
        `reference16` uses the 16-bit reference UDH. `data_coding` 3 sends Latin-1. Fires with
        the final deliver_sm_resp status of each part, in part order.
        """
        ref = next(self._mo_refs) % 256
        if data_coding == encoding.DATA_CODING_LATIN1:
            encoded = encoding.EncodedMessage(3, 0, (text.encode("latin-1"),), None)
        else:
            encoded = encoding.encode_message(text, max_parts=max_parts, reference=ref)
        parts = list(encoded.parts)
        if reference16 and len(parts) > 1:
            parts = [bytes((6, 8, 4, 0x12, ref)) + p[4:] for p in parts]
        self.log.info("Injecting MO from {source}: {text} ({parts} parts)",
                      source=mask_phone(source), text=mask_text(text), parts=len(parts))
        deliveries = [
            _Delivery("mo", dict(
                source_addr=source, source_addr_ton=1, source_addr_npi=1,
                destination_addr=destination, esm_class=encoded.esm_class,
                data_coding=encoded.data_coding, short_message=part,
            ), {}, Deferred())
            for part in parts
        ]
        for index in (order if order is not None else range(len(deliveries))):
            self._enqueue(deliveries[index])
        results: list[int] = []

        async def all_parts() -> list[int]:
            for delivery in deliveries:
                results.append(await delivery.deferred)
            return results

        return Deferred.fromCoroutine(all_parts())

    def _enqueue(self, delivery: _Delivery) -> None:
        self._deliveries.append(delivery)
        self.flush()

    def flush(self) -> None:
        """Send every queued delivery to a bound receiving session, if there is one."""
        receivers = [s for s in self.sessions if s.bound_as in RECEIVING]
        if not receivers:
            return
        pending, self._deliveries = self._deliveries, []
        for delivery in pending:
            receivers[0].deliver(delivery)

    def delivery_answered(self, delivery: _Delivery, status: int | None) -> None:
        """The ESME answered (status) or the link dropped first (None)."""
        delivery.attempts += 1
        if status is not None:
            delivery.statuses.append(status)
        if status == codec.ESME_ROK:
            delivery.deferred.callback(status)
            return
        if delivery.attempts >= self.max_delivery_attempts:
            delivery.deferred.callback(status if status is not None else -1)
            return
        if status is None:
            self._deliveries.append(delivery)  # sent again at the next bind
        else:
            self.clock.callLater(self.redeliver_delay, self._enqueue, delivery)


class SmscProtocol(SmppFramer):
    """One ESME connection to the simulated SMSC."""

    log = Logger()

    def __init__(self, smsc: SimulatedSmsc):
        self.smsc = smsc
        self.session_id = next(smsc._session_ids)
        self.sequences = codec.SequenceGenerator()
        self.bound_as: str | None = None
        self.system_id: str | None = None
        self._awaiting: dict[int, _Delivery] = {}
        self._delayed: list[IDelayedCall] = []
        self.closed = False
        self.clock = smsc.clock
        self.pdusPerTurn = smsc.pdus_per_turn

    def connectionMade(self) -> None:
        self.smsc.sessions.append(self)

    def connectionLost(self, reason) -> None:
        self.closed = True
        self.stopFraming()
        if self in self.smsc.sessions:
            self.smsc.sessions.remove(self)
        for call in self._delayed:
            if call.active():
                call.cancel()
        awaiting, self._awaiting = self._awaiting, {}
        for delivery in awaiting.values():
            self.smsc.delivery_answered(delivery, None)

    def _respond(self, command: str, pdu: codec.Pdu, data: bytes, *, close: bool = False) -> None:
        if command in self.smsc.faults.unanswered:
            if close:
                self.transport.loseConnection()
            return
        delay = self.smsc.faults.response_delay
        if delay > 0:
            self._delayed = [c for c in self._delayed if c.active()]
            self._delayed.append(self.smsc.clock.callLater(delay, self._write, data, close))
        else:
            self._write(data, close)

    def _write(self, data: bytes, close: bool = False) -> None:
        if not self.closed:
            self.transport.write(data)
            if close:
                self.transport.loseConnection()

    def pduReceived(self, data: bytes) -> None:
        smsc = self.smsc
        smsc.pdus_received += 1
        faults = smsc.faults
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
            pdu = codec.decode(data)
        except codec.UnsupportedCommand as e:
            if not e.command_id & codec.RESPONSE_BIT:
                self.transport.write(codec.generic_nack(e.sequence, codec.ESME_RINVCMDID))
            return
        except codec.MalformedPdu as e:
            self.transport.write(codec.generic_nack(e.sequence, codec.ESME_RSYSERR))
            return
        command = pdu.command
        if command == "submit_sm":
            if self.bound_as not in TRANSMITTING:
                status, message_id = codec.ESME_RINVBNDSTS, ""
            else:
                status, message_id = smsc.accept(self, pdu)
            self._respond(command, pdu, codec.encode(
                "submit_sm_resp", pdu.sequence, status=status, message_id=message_id)[1])
        elif command == "deliver_sm_resp":
            delivery = self._awaiting.pop(pdu.sequence, None)
            if delivery is not None:
                smsc.delivery_answered(delivery, pdu.status)
        elif command == "generic_nack":
            delivery = self._awaiting.pop(pdu.sequence, None)
            if delivery is not None:
                smsc.delivery_answered(delivery, pdu.status)
        elif command in ("bind_transmitter", "bind_receiver", "bind_transceiver"):
            self._bind(pdu)
        elif command == "enquire_link":
            self._respond(command, pdu, codec.encode("enquire_link_resp", pdu.sequence)[1])
        elif command == "unbind":
            self.bound_as = None
            self._respond(command, pdu, codec.encode("unbind_resp", pdu.sequence)[1], close=True)
        elif pdu.is_response:
            pass
        else:
            self.transport.write(codec.generic_nack(pdu.sequence, codec.ESME_RINVCMDID))

    def _bind(self, pdu: codec.Pdu) -> None:
        smsc = self.smsc
        system_id = pdu.text_field("system_id")
        password = pdu.text_field("password")
        if self.bound_as is not None:
            status = codec.ESME_RALYBND
        elif smsc.credentials.get(system_id) != password:
            status = codec.ESME_RBINDFAIL
        else:
            status = codec.ESME_ROK
        smsc.bind_attempts.append((pdu.command, system_id, status))
        self._respond(pdu.command, pdu, codec.encode(
            pdu.command + "_resp", pdu.sequence, status=status,
            system_id=smsc.system_id if status == codec.ESME_ROK else "")[1])
        if status == codec.ESME_ROK:
            self.bound_as = pdu.command
            self.system_id = system_id
            smsc.flush()

    def deliver(self, delivery: _Delivery) -> None:
        sequence, data = codec.encode("deliver_sm", client=self.sequences, tlvs=delivery.tlvs, **delivery.fields)
        self._awaiting[sequence] = delivery
        self.transport.write(data)

    def send_request(self, command: str, **fields) -> int:
        """Send any request to the ESME (e.g. "enquire_link", "unbind"); returns its sequence."""
        sequence, data = codec.encode(command, client=self.sequences, **fields)
        self.transport.write(data)
        return sequence
