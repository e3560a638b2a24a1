"""The SMS link interface: what the outbox and the reply handling see of a carrier connection.

A link accepts one logical message (destination, text) and answers with one Deferred per part,
each firing with that part's opaque message id. What comes back from the network arrives
through two callbacks given to the link: delivery receipts and mobile-originated (MO)
messages. Each callback returns a Deferred; the link acknowledges to the carrier only after it
fires, so a receipt or a reply is never acknowledged before it is stored.

SMPP is one adapter (`sms_gateway.smpp.SmppLink`); the Chinese carriers' protocols are the
others (`sms_gateway.cmpp.CmppLink` for China Mobile, `sms_gateway.smgp.SmgpLink` for China
Telecom, `sms_gateway.sgip.SgipLink` for China Unicom). Each implements the same `ISmsLink`
and raises the same errors, so the dispatcher never knows which one it holds.

Failures of a part are one of two kinds, and the dispatcher only needs to tell them apart:
- `RetryableSubmitError`: the message may or may not have reached the carrier (link down,
  no response in time, carrier busy); send it again later. This is the duplicate window.
- `PermanentSubmitError`: the carrier refused it for a reason resending will not fix
  (for SMPP, the status name such as ``ESME_RINVDSTADR``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Callable

from twisted.internet.defer import Deferred, DeferredList
from zope.interface import Attribute, Interface


class SmsLinkError(Exception):
    """Base of every error a link reports for a submitted part."""


class RetryableSubmitError(SmsLinkError):
    """The part may not have been accepted; resending may succeed (and may duplicate)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class LinkUnavailable(RetryableSubmitError):
    """The link is not bound, or dropped before the carrier answered."""


class ResponseTimeout(RetryableSubmitError):
    """The carrier did not answer within the response timeout (after the allowed retries)."""


class CarrierBusy(RetryableSubmitError):
    """The carrier kept answering throttled / queue full / system error past the retry limit."""


class PermanentSubmitError(SmsLinkError):
    """The carrier refused the part; `status` names why (``ESME_RINVDSTADR``)."""

    def __init__(self, status: str, code: int | None = None):
        super().__init__(status)
        self.status = status
        self.code = code


class MessageTooLong(ValueError):
    """The text needs more parts than the configured maximum."""

    def __init__(self, parts_needed: int, max_parts: int):
        super().__init__(f"text needs {parts_needed} parts, at most {max_parts} allowed")
        self.parts_needed = parts_needed
        self.max_parts = max_parts


class MessageState(enum.Enum):
    """Final (or intermediate) state of a submitted part, as a receipt reports it."""

    ENROUTE = "enroute"
    DELIVERED = "delivered"
    EXPIRED = "expired"
    DELETED = "deleted"
    UNDELIVERABLE = "undeliverable"
    ACCEPTED = "accepted"
    UNKNOWN = "unknown"
    REJECTED = "rejected"

    @property
    def is_final(self) -> bool:
        return self not in (MessageState.ENROUTE, MessageState.ACCEPTED, MessageState.UNKNOWN)


@dataclasses.dataclass(frozen=True)
class OutboundMessage:
    """One logical message; the link splits it into parts."""

    destination: str
    text: str
    source: str | None = None  # None: the link's configured sender (e.g. "9600110")
    request_receipt: bool = True


@dataclasses.dataclass(frozen=True)
class DeliveryReceipt:
    """A carrier's report on one submitted part. `message_id` is as the carrier wrote it;
    match it with `sms_gateway.receipts.message_id_keys`."""

    message_id: str
    state: MessageState
    error_code: str | None = None
    submitted_at: dt.datetime | None = None
    done_at: dt.datetime | None = None
    handset: str | None = None  # the destination of the original message
    text_sample: str | None = None


@dataclasses.dataclass(frozen=True)
class MobileOriginated:
    """A reply from a handset, reassembled when it came in parts."""

    source: str  # the citizen's number
    destination: str  # our service number (may carry a suffix)
    text: str
    parts: int = 1
    received_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Submission:
    """What `ISmsLink.submit` answers: one Deferred per part, in part order.

    Each fires with the part's message id (an opaque string), or fails with a
    `SmsLinkError`. `encoding` is "gsm7" or "ucs2" (SMPP), or "ascii", "gbk" or "ucs2" (CMPP).
    """

    parts: tuple[Deferred, ...]
    encoding: str

    def message_ids(self) -> Deferred:
        """Fires with every part's id once all parts succeeded.

        Fails once every part has settled: with `PermanentSubmitError` if any part was refused,
        else with the first `RetryableSubmitError`. The partial ids stay readable on the
        failure as ``failure.value.accepted_ids`` (None for parts that failed), because a
        resend duplicates the parts that had been accepted.
        """

        def settle(results: list[tuple[bool, object]]) -> tuple[str, ...]:
            ids = tuple(value if ok else None for ok, value in results)
            failures = [value for ok, value in results if not ok]
            if not failures:
                return ids  # type: ignore[return-value]
            permanent = [f for f in failures if f.check(PermanentSubmitError)]
            chosen = (permanent or failures)[0]
            chosen.value.accepted_ids = ids
            chosen.raiseException()

        return DeferredList(list(self.parts), consumeErrors=True).addCallback(settle)


ReceiptHandler = Callable[[DeliveryReceipt], Deferred]
MessageHandler = Callable[[MobileOriginated], Deferred]


class ISmsLink(Interface):
    """A connection (or set of connections) to one carrier's SMS centre."""

    name = Attribute("A short name for logs and routing (e.g. 'mobile').")

    def submit(message: OutboundMessage) -> Submission:
        """Encode and queue `message`; raise `MessageTooLong` at once if it cannot be sent.

        When the link is not bound every part fails with `LinkUnavailable` (never queued in
        memory across a reconnect: the outbox row is the queue).
        """

    def is_available() -> bool:
        """True while at least one bind able to submit is up."""

    def when_available() -> Deferred:
        """Fires (with None) the next time the link can submit; at once if it already can."""

    def submit_id_keys(message_id: str) -> frozenset:
        """Keys to store for a part's message id (as `submit` gave it) to match receipts."""

    def receipt_id_keys(receipt: DeliveryReceipt) -> frozenset:
        """Keys to look a receipt up by: it belongs to the part whose stored keys meet these."""

    def pending() -> int:
        """Parts accepted by `submit` whose fate is not yet known (queued or in flight)."""
