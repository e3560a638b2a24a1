"""Early warnings (预警): a supervisor's text to a list of numbers or to every citizen with an
appeal in an area in a date range.

A broadcast is one transaction: its row, and one outbox message per recipient in the BULK
lane (claimed only after appeal messages and reminders), with `not_before` spread at
`[messages] broadcast_rate` per second from its start, so that a large warning trickles out
instead of filling the link. Non-urgent warnings start after the quiet hours and count
against the daily cap; opted-out numbers are skipped and counted. Progress is the count of
its messages by state; cancelling cancels every message not yet submitted
(`outbox.cancel`), so nothing that had not left is sent afterwards. A number listed twice
gets one message (the dedupe key is the broadcast and the number).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from hotline.phones import PhoneNumberError, is_mobile, normalise_phone
from schemas.enums import SmsKind, SmsState
from schemas.messaging import Broadcast, BroadcastMessage, BroadcastState
from schemas.models import Appeal
from schemas.sms import SmsMessage
from sms_gateway import outbox
from sms_gateway.messages.csv_input import BadRecord, LongLine, records
from sms_gateway.messages.rules import local_day_bounds
from sms_gateway.messages.sending import CHUNK, Request, Sender, Skip
from sms_gateway.messages.templates import Templates


class BroadcastNotFound(ValueError):
    pass


@dataclass(frozen=True)
class BadNumber:
    line: int
    reason: str


@dataclass(frozen=True)
class BroadcastStatus:
    id: int
    state: BroadcastState
    urgent: bool
    audience: str
    recipients: int
    skipped_opted_out: int
    skipped_invalid: int
    skipped_capped: int
    by_state: dict[str, int]
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    created_at: dt.datetime
    cancelled_at: dt.datetime | None

    @property
    def pending(self) -> int:
        return self.by_state.get(SmsState.QUEUED.value, 0)


def read_numbers(lines: Iterable[str | LongLine]) -> Iterator[str | BadNumber]:
    """The first column of a CSV's physical lines (a header row `phone` is skipped), one
    number per row; a row the CSV reader refuses (an unbalanced quote, a field too long) is
    a bad number, named by its line, like the rest."""
    for row in records(lines):
        if isinstance(row, BadRecord):
            yield BadNumber(row.line, row.reason)
            continue
        cell = row.cells[0].strip() if row.cells else ""
        if not cell or (row.line == 1 and cell.lower() in ("phone", "手机号", "号码")):
            continue
        try:
            number = normalise_phone(cell)
        except PhoneNumberError as error:
            yield BadNumber(row.line, str(error))
            continue
        if not is_mobile(number):
            yield BadNumber(row.line, f"{cell!r} is not a mobile number")
            continue
        yield number


def area_numbers(session: Session, area: str, first: dt.date, last: dt.date,
                 zone: ZoneInfo) -> Iterator[str]:
    """The mobile numbers of citizens with an appeal in `area` received from `first` to
    `last` (local days, both included)."""
    since, _ = local_day_bounds(first, zone)
    _, until = local_day_bounds(last, zone)
    rows = session.scalars(select(Appeal.citizen_phone).distinct()
                           .where(Appeal.area == area, Appeal.created_at >= since,
                                  Appeal.created_at < until)
                           .order_by(Appeal.citizen_phone))
    return (phone for phone in rows if is_mobile(phone))


class Broadcasts:
    def __init__(self, sender: Sender, templates: Templates) -> None:
        self.sender = sender
        self.templates = templates

    def render(self, text: str) -> str:
        """The message as citizens will read it (raises `MessageError` if too long)."""
        text = " ".join((text or "").split())
        if not text:
            raise ValueError("the warning text is empty")
        return self.templates.render(SmsKind.EARLY_WARNING, text=text)

    def create(self, session: Session, *, text: str, recipients: Iterable[str | BadNumber],
               urgent: bool, audience: str, actor: str, now: dt.datetime) -> int:
        message = self.render(text)
        rate = self.sender.config.broadcast_rate
        start = now if urgent else self.sender.release(now)
        broadcast = Broadcast(text=text, urgent=urgent, audience=audience[:160],
                              state=BroadcastState.ACTIVE, rate_per_s=rate, recipients=0,
                              skipped_opted_out=0, skipped_invalid=0, skipped_capped=0,
                              created_by=actor, created_at=now)
        session.add(broadcast)
        session.flush()
        position, batch = 0, []

        def flush() -> None:
            outcomes = self.sender.queue_many(session, batch, now)
            links = []
            for outcome in outcomes:
                if outcome.skipped == Skip.OPTED_OUT:
                    broadcast.skipped_opted_out += 1
                elif outcome.skipped == Skip.CAPPED:
                    broadcast.skipped_capped += 1
                elif outcome.queued:
                    broadcast.recipients += 1
                    links.append({"broadcast_id": broadcast.id, "message_id": outcome.message_id})
                    broadcast.starts_at = min(filter(None, (broadcast.starts_at,
                                                            outcome.not_before)))
                    broadcast.ends_at = max(filter(None, (broadcast.ends_at, outcome.not_before)))
            if links:
                session.execute(insert(BroadcastMessage), links)
            batch.clear()

        for recipient in recipients:
            if isinstance(recipient, BadNumber):
                broadcast.skipped_invalid += 1
                continue
            batch.append(Request(SmsKind.EARLY_WARNING, recipient, message, urgent=urgent,
                                 not_before=start + dt.timedelta(seconds=position / rate),
                                 dedupe_key=f"broadcast:{broadcast.id}:{recipient}"))
            position += 1
            if len(batch) >= CHUNK:
                flush()
        flush()
        session.flush()
        return broadcast.id

    def status(self, session: Session, broadcast_id: int) -> BroadcastStatus:
        broadcast = session.get(Broadcast, broadcast_id)
        if broadcast is None:
            raise BroadcastNotFound(f"no broadcast {broadcast_id}")
        by_state = {state.value: count for state, count in session.execute(
            select(SmsMessage.state, func.count())
            .join(BroadcastMessage, BroadcastMessage.message_id == SmsMessage.id)
            .where(BroadcastMessage.broadcast_id == broadcast_id)
            .group_by(SmsMessage.state))}
        return BroadcastStatus(broadcast.id, broadcast.state, broadcast.urgent,
                               broadcast.audience, broadcast.recipients,
                               broadcast.skipped_opted_out, broadcast.skipped_invalid,
                               broadcast.skipped_capped, by_state, broadcast.starts_at,
                               broadcast.ends_at, broadcast.created_at, broadcast.cancelled_at)

    def cancel(self, session: Session, broadcast_id: int, now: dt.datetime) -> int:
        """Cancel what has not been submitted; returns how many messages that was."""
        broadcast = session.get(Broadcast, broadcast_id, with_for_update=True)
        if broadcast is None:
            raise BroadcastNotFound(f"no broadcast {broadcast_id}")
        ids = session.scalars(select(SmsMessage.id)
                              .join(BroadcastMessage, BroadcastMessage.message_id == SmsMessage.id)
                              .where(BroadcastMessage.broadcast_id == broadcast_id,
                                     SmsMessage.state == SmsState.QUEUED)).all()
        cancelled = sum(outbox.cancel(session, ids[i:i + CHUNK], now)
                        for i in range(0, len(ids), CHUNK))
        broadcast.state, broadcast.cancelled_at = BroadcastState.CANCELLED, now
        return cancelled
