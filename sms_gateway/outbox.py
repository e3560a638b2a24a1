"""The outbox: messages are rows, and every state change is a transaction.

queued -> submitted -> delivered / failed / expired (or cancelled before submission).

A dispatcher claims due rows with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the
single writer lock on SQLite), submits them, and records the carrier's part ids. If the
dispatcher dies or the link drops between the claim and the answer, the row stays `queued`
with a lease that runs out, and the next claim takes it again: nothing is lost, and the
duplicate window is exactly that gap (a part the SMSC accepted whose answer never reached us
is sent again).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from hotline.phones import PhoneNumberError, is_mobile, normalise_phone
from schemas.enums import SmsKind, SmsLane, SmsState
from schemas.sms import SmsMessage, SmsPart, SmsPartKey
from sms_gateway.link import DeliveryReceipt, MessageState
from sms_gateway.receipts import combine_part_states, message_id_keys

_FINAL_BY_STATE = {MessageState.DELIVERED: SmsState.DELIVERED,
                   MessageState.EXPIRED: SmsState.EXPIRED}


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    kind: SmsKind
    lane: int
    destination: str
    text: str
    state: SmsState
    attempts: int
    last_error: str | None
    link: str | None
    part_count: int | None
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, row: SmsMessage) -> "OutboxMessage":
        return cls(row.id, row.kind, row.lane, row.destination, row.text, row.state,
                   row.attempts, row.last_error, row.link, row.part_count, row.created_at,
                   row.submitted_at, row.finished_at)


@dataclass(frozen=True)
class Claimed:
    """A message a dispatcher holds the lease on, and the attempt number it is making."""

    id: int
    destination: str
    text: str
    attempt: int


def enqueue(session: Session, *, kind: SmsKind, destination: str, text: str, now: dt.datetime,
            lane: SmsLane | None = None, not_before: dt.datetime | None = None,
            expires_at: dt.datetime | None = None, appeal_id: int | None = None,
            dedupe_key: str | None = None) -> OutboxMessage:
    """Queue a message (in the caller's transaction). An invalid destination is stored as
    failed with the reason, so the attempt is visible; the same `dedupe_key` twice returns the
    first message instead of queueing another."""
    if dedupe_key is not None:
        existing = session.scalar(select(SmsMessage).where(SmsMessage.dedupe_key == dedupe_key))
        if existing is not None:
            return OutboxMessage.of(existing)
    state, error = SmsState.QUEUED, None
    try:
        number = normalise_phone(destination)
        if not is_mobile(number):
            state, error = SmsState.FAILED, f"{number} is not a mobile number"
    except PhoneNumberError as invalid:
        number, state, error = (destination or "")[:32], SmsState.FAILED, str(invalid)
    if not text:
        state, error = SmsState.FAILED, "the message text is empty"
    row = SmsMessage(kind=kind, lane=int(lane if lane is not None else _lane_of(kind)),
                     destination=number, text=text, state=state, attempts=0, last_error=error,
                     not_before=not_before or now, expires_at=expires_at, appeal_id=appeal_id,
                     dedupe_key=dedupe_key, created_at=now,
                     finished_at=now if state is SmsState.FAILED else None)
    session.add(row)
    session.flush()
    return OutboxMessage.of(row)


def _lane_of(kind: SmsKind) -> SmsLane:
    if kind is SmsKind.EARLY_WARNING:
        return SmsLane.BULK
    if kind in (SmsKind.REMINDER_VEHICLE, SmsKind.REMINDER_LICENCE, SmsKind.REMINDER_IDCARD):
        return SmsLane.REMINDER
    return SmsLane.SERVICE


def claim_due(session: Session, *, owner: str, now: dt.datetime, lease: dt.timedelta,
              limit: int, max_lane: int | None = None) -> list[Claimed]:
    """Lease up to `limit` due messages, lowest lane first, oldest first, in one statement.
    Messages past their expiry are expired instead of sent."""
    session.execute(update(SmsMessage)
                    .where(SmsMessage.state == SmsState.QUEUED,
                           SmsMessage.expires_at.is_not(None), SmsMessage.expires_at <= now,
                           or_(SmsMessage.lease_until.is_(None), SmsMessage.lease_until <= now))
                    .values(state=SmsState.EXPIRED, finished_at=now,
                            last_error="expired before it could be sent"))
    due = (select(SmsMessage.id)
           .where(SmsMessage.state == SmsState.QUEUED, SmsMessage.not_before <= now,
                  or_(SmsMessage.lease_until.is_(None), SmsMessage.lease_until <= now))
           .order_by(SmsMessage.lane, SmsMessage.not_before, SmsMessage.id)
           .limit(limit))
    if max_lane is not None:
        due = due.where(SmsMessage.lane <= max_lane)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    rows = session.execute(update(SmsMessage)
                           .where(SmsMessage.id.in_(due.scalar_subquery()))
                           .values(lease_owner=owner, lease_until=now + lease,
                                   attempts=SmsMessage.attempts + 1)
                           .returning(SmsMessage.id, SmsMessage.destination, SmsMessage.text,
                                      SmsMessage.attempts, SmsMessage.lane,
                                      SmsMessage.not_before),
                           execution_options={"synchronize_session": False}).all()
    rows.sort(key=lambda r: (r.lane, r.not_before, r.id))
    return [Claimed(r.id, r.destination, r.text, r.attempts) for r in rows]


@dataclass(frozen=True)
class Submitted:
    """What the carrier said of one message: its bind, encoding, and per part the id and the
    keys a receipt will be matched by."""

    claimed: Claimed
    link: str
    encoding: str
    part_ids: tuple[str, ...]
    part_keys: tuple[frozenset[str], ...]


def record_submitted_many(session: Session, results: Sequence[Submitted],
                          now: dt.datetime) -> None:
    """Record a batch of accepted messages with bulk statements (this is the hot path)."""
    if not results:
        return
    session.execute(update(SmsMessage), [
        {"id": r.claimed.id, "state": SmsState.SUBMITTED, "link": r.link,
         "encoding": r.encoding, "part_count": len(r.part_ids), "submitted_at": now,
         "lease_owner": None, "lease_until": None, "last_error": None} for r in results])
    part_rows = [{"message_id": r.claimed.id, "attempt": r.claimed.attempt, "part_index": index,
                  "carrier_message_id": carrier_id, "state": SmsState.SUBMITTED,
                  "submitted_at": now}
                 for r in results for index, carrier_id in enumerate(r.part_ids)]
    part_ids = session.scalars(insert(SmsPart).returning(SmsPart.id, sort_by_parameter_order=True),
                               part_rows).all()
    keys = iter(k for r in results for k in r.part_keys)
    session.execute(insert(SmsPartKey), [{"part_id": part_id, "key": key}
                                         for part_id in part_ids for key in next(keys)])


def record_submitted(session: Session, claimed: Claimed, *, link: str, encoding: str,
                     part_ids: Sequence[str], now: dt.datetime) -> None:
    record_submitted_many(session, [Submitted(claimed, link, encoding, tuple(part_ids),
                                              tuple(message_id_keys(i) for i in part_ids))], now)


def record_retry(session: Session, claimed: Claimed, *, error: str, retry_at: dt.datetime,
                 max_attempts: int, now: dt.datetime) -> SmsState:
    """Back to the queue for a later attempt, or failed when the attempts are used up."""
    row = session.get(SmsMessage, claimed.id, with_for_update=True)
    row.lease_owner = row.lease_until = None
    row.last_error = error
    if row.attempts >= max_attempts:
        row.state, row.finished_at = SmsState.FAILED, now
        row.last_error = f"{error} (after {row.attempts} attempts)"
    else:
        row.not_before = retry_at
    return row.state


def record_failed(session: Session, claimed: Claimed, *, error: str, now: dt.datetime) -> None:
    row = session.get(SmsMessage, claimed.id, with_for_update=True)
    row.state, row.last_error, row.finished_at = SmsState.FAILED, error, now
    row.lease_owner = row.lease_until = None


def release(session: Session, ids: Iterable[int], owner: str) -> None:
    """Give back leases this dispatcher still holds (graceful stop)."""
    session.execute(update(SmsMessage)
                    .where(SmsMessage.id.in_(list(ids)), SmsMessage.lease_owner == owner,
                           SmsMessage.state == SmsState.QUEUED)
                    .values(lease_owner=None, lease_until=None, attempts=SmsMessage.attempts - 1))


def apply_receipt(session: Session, receipt: DeliveryReceipt, now: dt.datetime,
                  keys: frozenset[str] | None = None) -> bool:
    """Match a receipt to its part by any of its id's keys (the link's `receipt_id_keys`);
    settle the message once its parts say so (delivered when every part is, failed when any
    part failed). False: no match."""
    keys = keys if keys is not None else message_id_keys(receipt.message_id)
    part = session.scalar(select(SmsPart)
                          .join(SmsPartKey, SmsPartKey.part_id == SmsPart.id)
                          .where(SmsPartKey.key.in_(keys))
                          .order_by(SmsPart.id.desc()).limit(1))
    if part is None:
        return False
    if not receipt.state.is_final:
        return True
    part.state = _FINAL_BY_STATE.get(receipt.state, SmsState.FAILED)
    part.error_code = receipt.error_code
    part.receipt_at = now
    message = session.get(SmsMessage, part.message_id, with_for_update=True)
    siblings = session.scalars(select(SmsPart).where(SmsPart.message_id == message.id,
                                                     SmsPart.attempt == part.attempt)).all()
    states = [_as_message_state(p.state) for p in siblings]
    settled = combine_part_states(states)
    if settled is not None and message.state is SmsState.SUBMITTED:
        message.state = _FINAL_BY_STATE.get(settled, SmsState.FAILED)
        message.finished_at = now
        if message.state is SmsState.FAILED:
            message.last_error = f"part {part.part_index + 1}: {receipt.state.value}" + (
                f" (err {receipt.error_code})" if receipt.error_code else "")
    return True


def _as_message_state(state: SmsState) -> MessageState | None:
    return {SmsState.DELIVERED: MessageState.DELIVERED, SmsState.EXPIRED: MessageState.EXPIRED,
            SmsState.FAILED: MessageState.UNDELIVERABLE}.get(state)


def get(session: Session, message_id: int) -> OutboxMessage | None:
    row = session.get(SmsMessage, message_id)
    return OutboxMessage.of(row) if row else None


def parts_of(session: Session, message_id: int) -> list[tuple[int, int, str | None, SmsState]]:
    rows = session.scalars(select(SmsPart).where(SmsPart.message_id == message_id)
                           .order_by(SmsPart.attempt, SmsPart.part_index))
    return [(r.attempt, r.part_index, r.carrier_message_id, r.state) for r in rows]


def cancel(session: Session, message_ids: Iterable[int], now: dt.datetime) -> int:
    """Cancel messages not yet submitted (and not leased right now)."""
    return session.execute(update(SmsMessage)
                           .where(SmsMessage.id.in_(list(message_ids)),
                                  SmsMessage.state == SmsState.QUEUED,
                                  or_(SmsMessage.lease_until.is_(None),
                                      SmsMessage.lease_until <= now))
                           .values(state=SmsState.CANCELLED, finished_at=now)).rowcount


def renew_leases(session: Session, ids: Iterable[int], owner: str, until: dt.datetime) -> int:
    """Extend the leases of messages this dispatcher still has in flight."""
    return session.execute(update(SmsMessage)
                           .where(SmsMessage.id.in_(list(ids)), SmsMessage.lease_owner == owner,
                                  SmsMessage.state == SmsState.QUEUED)
                           .values(lease_until=until)).rowcount
