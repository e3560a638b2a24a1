"""What comes back from the carriers: receipts settle outbox messages, replies are stored.

Both handlers return Deferreds that fire once the row is committed; the link acknowledges
to the SMSC only then, so a receipt or a reply is never acknowledged and then lost. They are
written in batches by the process's `sms_gateway.writer.SmsWriter` (in the transaction after
the one running when they arrived, with the submit results that came before them). A final
receipt that overtakes the write of its submit result is held in the database (see
`sms_gateway.outbox.take_receipt`) and acknowledged once held.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session
from twisted.internet import defer
from twisted.logger import Logger

from hotline.clock import WallClock
from hotline.db import Database
from hotline.masking import mask_phone
from hotline.phones import PhoneNumberError, normalise_phone
from schemas.enums import SmsInboundState
from schemas.sms import SmsInbound
from sms_gateway import outbox
from sms_gateway.link import DeliveryReceipt, MobileOriginated
from sms_gateway.writer import SmsWriter


@dataclass(frozen=True)
class StoredReply:
    id: int
    source: str
    text: str
    received_at: dt.datetime


def store_reply(session: Session, message: MobileOriginated, now: dt.datetime) -> StoredReply:
    try:
        source = normalise_phone(message.source)
    except PhoneNumberError:
        source = message.source[:32]
    row = SmsInbound(source=source, destination=message.destination[:32], text=message.text,
                     parts=message.parts, received_at=message.received_at or now,
                     state=SmsInboundState.RECEIVED)
    session.add(row)
    session.flush()
    return StoredReply(row.id, row.source, row.text, row.received_at)


class Inbox:
    log = Logger()

    def __init__(self, db: Database, wall: WallClock, metrics=None,
                 writer: SmsWriter | None = None) -> None:
        """`writer`: the process's SMS writer, shared with its dispatcher (None: one of its
        own, for an inbox alone)."""
        self._db = db
        self._wall = wall
        self._metrics = metrics  # hotline.metrics.Metrics, or None: nothing counted
        self._writer = writer if writer is not None else SmsWriter(db, wall)
        self._writer.store_reply = store_reply
        self.reply_listeners: list = []  # called with each StoredReply after it is committed

    def on_receipt(self, receipt: DeliveryReceipt, keys: frozenset[str] | None = None,
                   link: str | None = None) -> defer.Deferred:
        """`keys`: the receiving link's `receipt_id_keys(receipt)` (its configured id bases);
        `link`: the bind it came on, kept with a held receipt."""
        if self._metrics is not None:
            self._metrics.sms_receipts.labels(receipt.state.value).inc()
        d = self._writer.receipt(receipt, keys, link)

        def taken(outcome: outbox.ReceiptOutcome) -> None:
            if outcome is outbox.ReceiptOutcome.HELD:
                self.log.info("Receipt for message id {id} ({state}) came before its submit "
                              "was recorded; held", id=receipt.message_id,
                              state=receipt.state.value)
            elif outcome is outbox.ReceiptOutcome.UNKNOWN:
                self.log.warn("Receipt for unknown message id {id} ({state})",
                              id=receipt.message_id, state=receipt.state.value)
        return d.addCallback(taken)

    def on_message(self, message: MobileOriginated) -> defer.Deferred:
        d = self._writer.reply(message)

        def stored(reply: StoredReply) -> None:
            self.log.info("Reply {id} from {source} stored", id=reply.id,
                          source=mask_phone(reply.source))
            for listener in self.reply_listeners:
                listener(reply)
        return d.addCallback(stored)
