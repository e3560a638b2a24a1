"""The outbox: messages are rows, and every state change is a transaction.

queued -> submitted -> delivered / failed / expired (or cancelled before submission), or
unknown: submitted, and no final receipt by the end of its validity (`UNKNOWN_AFTER`); a
receipt that still comes later settles it.

A dispatcher claims due rows with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the
single writer lock on SQLite), submits them, and records the carrier's part ids. If the
dispatcher dies or the link drops between the claim and the answer, the row stays `queued`
with a lease that runs out, and the next claim takes it again: nothing is lost, and the
duplicate window is exactly that gap (a part the SMSC accepted whose answer never reached us
is sent again).

Receipts: a final receipt whose part is not recorded yet (the SMSC sent it right after
submit_sm_resp, before the dispatcher's batched result write committed) is held in
`sms_held_receipts`, in the transaction that the acknowledgement waits for. The result write
applies the held receipts its new parts' keys meet; a sweep applies any it missed (a concurrent
transaction on PostgreSQL) and expires those still unmatched after `HELD_RECEIPT_TTL`.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from hotline.phones import PhoneNumberError, is_mobile, normalise_phone
from schemas.enums import SmsKind, SmsLane, SmsState
from schemas.sms import (
    HeldReceiptState,
    SmsHeldReceipt,
    SmsHeldReceiptKey,
    SmsMessage,
    SmsPart,
    SmsPartKey,
)
from sms_gateway.link import DeliveryReceipt, MessageState
from sms_gateway.receipts import combine_part_states, message_id_keys

_FINAL_BY_STATE = {MessageState.DELIVERED: SmsState.DELIVERED,
                   MessageState.EXPIRED: SmsState.EXPIRED}

# How long a receipt waits for its part: past every plausible delay of a result write, short of
# SMSC validity periods; an id still unknown by then was not ours (or its submit was lost).
HELD_RECEIPT_TTL = dt.timedelta(hours=72)
_KEYS_PER_QUERY = 500  # bound the IN lists (SQLite's parameter limit, plan size)
# A submitted message's validity at the SMSC (SMPP's usual default, 72 h): with no final
# receipt by then, none is coming, and the message is `unknown` instead of `submitted` for ever.
UNKNOWN_AFTER = dt.timedelta(hours=72)
# A message settled by a receipt from these states (a late receipt settles an unknown one).
_OPEN = (SmsState.SUBMITTED, SmsState.UNKNOWN)


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
                          now: dt.datetime) -> int:
    """Record a batch of accepted messages with bulk statements (this is the hot path), and
    apply the held receipts that were waiting for these parts. Answers how many it applied."""
    if not results:
        return 0
    groups: dict[tuple, list[int]] = {}
    for r in results:
        groups.setdefault((r.link, r.encoding, len(r.part_ids)), []).append(r.claimed.id)
    for (link, encoding, part_count), ids in groups.items():
        _update_ids(session, SmsMessage, ids, state=SmsState.SUBMITTED, link=link,
                    encoding=encoding, part_count=part_count, submitted_at=now,
                    lease_owner=None, lease_until=None, last_error=None)
    part_rows = [{"message_id": r.claimed.id, "attempt": r.claimed.attempt, "part_index": index,
                  "carrier_message_id": carrier_id, "state": SmsState.SUBMITTED,
                  "submitted_at": now}
                 for r in results for index, carrier_id in enumerate(r.part_ids)]
    part_ids = session.scalars(insert(SmsPart).returning(SmsPart.id, sort_by_parameter_order=True),
                               part_rows).all()
    keys = iter(k for r in results for k in r.part_keys)
    key_rows = [{"part_id": part_id, "key": key} for part_id in part_ids for key in next(keys)]
    session.execute(insert(SmsPartKey), key_rows)
    return _apply_held_to_new_parts(session, key_rows, now)


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
    part failed). A part already settled is left as it is (SMSCs resend a receipt whose
    acknowledgement was lost). False: no match."""
    keys = keys if keys is not None else message_id_keys(receipt.message_id)
    part = session.scalar(select(SmsPart)
                          .join(SmsPartKey, SmsPartKey.part_id == SmsPart.id)
                          .where(SmsPartKey.key.in_(keys))
                          # the id as text before its readings as a number (`_matched_part`)
                          .order_by(SmsPartKey.key.like("s:%").desc(), SmsPart.id.desc())
                          .limit(1))
    if part is None:
        return False
    if receipt.state.is_final:
        _settle_part(session, part, receipt, now)
    return True


def _settle_part(session: Session, part: SmsPart, receipt: DeliveryReceipt,
                 now: dt.datetime) -> None:
    if part.state is not SmsState.SUBMITTED:
        return
    part.state = _FINAL_BY_STATE.get(receipt.state, SmsState.FAILED)
    part.error_code = receipt.error_code
    part.receipt_at = now
    message = session.get(SmsMessage, part.message_id, with_for_update=True)
    siblings = session.scalars(select(SmsPart).where(SmsPart.message_id == message.id,
                                                     SmsPart.attempt == part.attempt)).all()
    states = [_as_message_state(p.state) for p in siblings]
    settled = combine_part_states(states)
    if settled is not None and message.state in _OPEN:
        message.state = _FINAL_BY_STATE.get(settled, SmsState.FAILED)
        message.finished_at = now
        if message.state is SmsState.FAILED:
            message.last_error = f"part {part.part_index + 1}: {receipt.state.value}" + (
                f" (err {receipt.error_code})" if receipt.error_code else "")


class ReceiptOutcome(enum.Enum):
    APPLIED = "applied"  # its part is known (settled now, or already)
    HELD = "held"  # stored until its part is recorded
    DUPLICATE = "duplicate"  # the same receipt is already held
    UNKNOWN = "unknown"  # no part, and not final: nothing to wait for


@dataclass(frozen=True)
class ExpiredReceipt:
    id: int
    link: str | None
    carrier_message_id: str
    receipt_state: str
    received_at: dt.datetime


@dataclass(frozen=True)
class SweepResult:
    applied: int
    expired: tuple[ExpiredReceipt, ...]
    purged: int


def take_receipt(session: Session, receipt: DeliveryReceipt, now: dt.datetime,
                 keys: frozenset[str] | None = None, link: str | None = None) -> ReceiptOutcome:
    """Apply a receipt, or hold it when its part is not recorded yet. The caller acknowledges
    the receipt once this transaction commits, so a held receipt is never lost."""
    keys = keys if keys is not None else message_id_keys(receipt.message_id)
    if apply_receipt(session, receipt, now, keys):
        return ReceiptOutcome.APPLIED
    if not receipt.state.is_final:
        return ReceiptOutcome.UNKNOWN  # an intermediate report would change nothing later
    carrier_id = receipt.message_id[:80]
    same = session.scalar(select(SmsHeldReceipt.id).where(
        SmsHeldReceipt.state == HeldReceiptState.PENDING,
        SmsHeldReceipt.carrier_message_id == carrier_id,
        SmsHeldReceipt.receipt_state == receipt.state.value,
        SmsHeldReceipt.link.is_(None) if link is None else SmsHeldReceipt.link == link).limit(1))
    if same is not None:
        return ReceiptOutcome.DUPLICATE
    held = SmsHeldReceipt(link=link, carrier_message_id=carrier_id,
                          receipt_state=receipt.state.value,
                          error_code=receipt.error_code[:32] if receipt.error_code else None,
                          done_at=receipt.done_at, state=HeldReceiptState.PENDING,
                          received_at=now)
    session.add(held)
    session.flush()
    session.execute(insert(SmsHeldReceiptKey),
                    [{"receipt_id": held.id, "key": key} for key in sorted(keys)])
    return ReceiptOutcome.HELD


def take_receipts(session: Session,
                  receipts: Sequence[tuple[DeliveryReceipt, frozenset[str] | None, str | None]],
                  now: dt.datetime) -> list[ReceiptOutcome]:
    """`take_receipt` for a batch of (receipt, keys, link), with a few bulk statements instead
    of several per receipt: one lookup of the parts by key, one of their siblings, and one
    update each for the parts and the messages they settle. In order: a receipt resent within
    the batch finds its part settled by the first. Receipts with no part go to `take_receipt`
    (held, or unknown)."""
    keyed = [(receipt, keys if keys is not None else message_id_keys(receipt.message_id), link)
             for receipt, keys, link in receipts]
    all_keys = sorted({key for _, keys, _ in keyed for key in keys})
    part_of_key: dict[str, int] = {}
    for start in range(0, len(all_keys), _KEYS_PER_QUERY):
        for key, part_id in session.execute(
                select(SmsPartKey.key, SmsPartKey.part_id)
                .where(SmsPartKey.key.in_(all_keys[start:start + _KEYS_PER_QUERY]))):
            part_of_key[key] = max(part_id, part_of_key.get(key, 0))
    part_ids = [_matched_part(keys, part_of_key) for _, keys, _ in keyed]
    final_parts = sorted({p for p, (receipt, _, _) in zip(part_ids, keyed, strict=True)
                          if p is not None and receipt.state.is_final})
    parts: dict[int, dict] = {}  # part id -> its row, as settled so far in this batch
    messages: dict[int, dict] = {}
    if final_parts:
        message_ids: set[int] = set()
        for start in range(0, len(final_parts), _KEYS_PER_QUERY):
            message_ids.update(session.scalars(select(SmsPart.message_id).where(
                SmsPart.id.in_(final_parts[start:start + _KEYS_PER_QUERY]))))
        ordered = sorted(message_ids)
        for start in range(0, len(ordered), _KEYS_PER_QUERY):
            chunk = ordered[start:start + _KEYS_PER_QUERY]
            # Message rows locked in id order, before their parts change: the order the
            # result write and `_apply_held` take them in, so none of them deadlock.
            locked = select(SmsMessage.id, SmsMessage.state).where(SmsMessage.id.in_(chunk)) \
                .order_by(SmsMessage.id).with_for_update()
            for row in session.execute(locked):
                messages[row.id] = {"id": row.id, "state": row.state, "changed": False}
            for row in session.execute(select(SmsPart.id, SmsPart.message_id, SmsPart.attempt,
                                              SmsPart.part_index, SmsPart.state)
                                       .where(SmsPart.message_id.in_(chunk))):
                parts[row.id] = {"id": row.id, "message_id": row.message_id,
                                 "attempt": row.attempt, "part_index": row.part_index,
                                 "state": row.state, "changed": False}
    outcomes: list[ReceiptOutcome] = []
    for (receipt, keys, link), part_id in zip(keyed, part_ids, strict=True):
        if part_id is None:
            outcomes.append(take_receipt(session, receipt, now, keys, link))
            continue
        outcomes.append(ReceiptOutcome.APPLIED)
        part = parts.get(part_id)
        if not receipt.state.is_final or part is None or part["state"] is not SmsState.SUBMITTED:
            continue  # intermediate, or settled already (a receipt resent)
        part.update(state=_FINAL_BY_STATE.get(receipt.state, SmsState.FAILED),
                    error_code=receipt.error_code, receipt_at=now, changed=True)
        message = messages[part["message_id"]]
        states = [_as_message_state(p["state"]) for p in parts.values()
                  if p["message_id"] == part["message_id"] and p["attempt"] == part["attempt"]]
        settled = combine_part_states(states)
        if settled is not None and message["state"] in _OPEN:
            state = _FINAL_BY_STATE.get(settled, SmsState.FAILED)
            message.update(state=state, finished_at=now, changed=True, last_error=None)
            if state is SmsState.FAILED:
                message["last_error"] = f"part {part['part_index'] + 1}: {receipt.state.value}" \
                    + (f" (err {receipt.error_code})" if receipt.error_code else "")
    # One UPDATE per distinct outcome (most batches: one, "delivered"), not one per row: on
    # PostgreSQL each row's statement was a round trip.
    part_groups: dict[tuple, list[int]] = {}
    for p in parts.values():
        if p["changed"]:
            part_groups.setdefault((p["state"], p["error_code"]), []).append(p["id"])
    for (part_state, error_code), ids in part_groups.items():
        _update_ids(session, SmsPart, ids, state=part_state, error_code=error_code,
                    receipt_at=now)
    message_groups: dict[tuple, list[int]] = {}
    for m in messages.values():
        if m["changed"]:
            message_groups.setdefault((m["state"], m["last_error"]), []).append(m["id"])
    for (message_state, last_error), ids in message_groups.items():
        values = {"state": message_state, "finished_at": now}
        if last_error is not None:
            values["last_error"] = last_error
        _update_ids(session, SmsMessage, ids, **values)
    return outcomes


def _update_ids(session: Session, model: type, ids: list[int], **values) -> None:
    """The same values on every row of `ids`, in id order (the order every writer locks
    rows in), a bounded IN list at a time."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), _KEYS_PER_QUERY):
        session.execute(update(model).where(model.id.in_(ordered[start:start + _KEYS_PER_QUERY]))
                        .values(**values), execution_options={"synchronize_session": False})


def _matched_part(keys: frozenset[str], part_of_key: dict[str, int]) -> int | None:
    """The part a receipt's keys denote: the id as text ("s:") before its readings as a number
    ("n:"), which two ids can share (hex "0000000A" and decimal "10"); then the latest part."""
    exact = [part_of_key[k] for k in keys if k.startswith("s:") and k in part_of_key]
    if exact:
        return max(exact)
    return max((part_of_key[k] for k in keys if k in part_of_key), default=None)


def _apply_held_to_new_parts(session: Session, key_rows: list[dict], now: dt.datetime) -> int:
    # The hot path pays one indexed probe while nothing is held.
    if session.scalar(select(SmsHeldReceipt.id)
                      .where(SmsHeldReceipt.state == HeldReceiptState.PENDING).limit(1)) is None:
        return 0
    part_by_key: dict[str, int] = {}
    for row in key_rows:
        part_by_key[row["key"]] = max(row["part_id"], part_by_key.get(row["key"], 0))
    keys = list(part_by_key)
    matches: dict[int, int] = {}  # held receipt -> part
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        for receipt_id, key in session.execute(
                select(SmsHeldReceiptKey.receipt_id, SmsHeldReceiptKey.key)
                .join(SmsHeldReceipt, SmsHeldReceipt.id == SmsHeldReceiptKey.receipt_id)
                .where(SmsHeldReceipt.state == HeldReceiptState.PENDING,
                       SmsHeldReceiptKey.key.in_(keys[start:start + _KEYS_PER_QUERY]))):
            matches[receipt_id] = max(part_by_key[key], matches.get(receipt_id, 0))
    return _apply_held(session, matches, now)


def _apply_held(session: Session, matches: dict[int, int], now: dt.datetime) -> int:
    """Apply held receipts to their parts, oldest receipt first. Each message row is locked
    before its receipt row (the order the result write takes them in, so the two never
    deadlock), and a receipt is taken only while still pending: applied exactly once."""
    applied = 0
    for receipt_id in sorted(matches):
        part = session.get(SmsPart, matches[receipt_id])
        session.get(SmsMessage, part.message_id, with_for_update=True)
        held = session.execute(update(SmsHeldReceipt)
                               .where(SmsHeldReceipt.id == receipt_id,
                                      SmsHeldReceipt.state == HeldReceiptState.PENDING)
                               .values(state=HeldReceiptState.APPLIED, finished_at=now,
                                       part_id=part.id)
                               .returning(SmsHeldReceipt.carrier_message_id,
                                          SmsHeldReceipt.receipt_state,
                                          SmsHeldReceipt.error_code, SmsHeldReceipt.done_at),
                               execution_options={"synchronize_session": False}).first()
        if held is None:
            continue  # another transaction applied it first
        _settle_part(session, part, DeliveryReceipt(
            held.carrier_message_id, MessageState(held.receipt_state), held.error_code,
            done_at=held.done_at), now)
        applied += 1
    if matches:
        session.execute(delete(SmsHeldReceiptKey)
                        .where(SmsHeldReceiptKey.receipt_id.in_(list(matches))))
    return applied


def sweep_held_receipts(session: Session, now: dt.datetime,
                        ttl: dt.timedelta = HELD_RECEIPT_TTL, limit: int = 1000) -> SweepResult:
    """Apply held receipts whose parts are recorded by now (a result write that ran alongside
    the receipt's own transaction could not see it), expire those older than `ttl`, and purge
    receipts finished more than `ttl` ago."""
    pending = (select(SmsHeldReceipt.id)
               .where(SmsHeldReceipt.state == HeldReceiptState.PENDING)
               .order_by(SmsHeldReceipt.id).limit(limit))
    matches: dict[int, int] = {}
    for receipt_id, part_id in session.execute(
            select(SmsHeldReceiptKey.receipt_id, SmsPartKey.part_id)
            .join(SmsPartKey, SmsPartKey.key == SmsHeldReceiptKey.key)
            .where(SmsHeldReceiptKey.receipt_id.in_(pending.scalar_subquery()))):
        matches[receipt_id] = max(part_id, matches.get(receipt_id, 0))
    applied = _apply_held(session, matches, now)
    expired = session.execute(update(SmsHeldReceipt)
                              .where(SmsHeldReceipt.state == HeldReceiptState.PENDING,
                                     SmsHeldReceipt.received_at <= now - ttl)
                              .values(state=HeldReceiptState.EXPIRED, finished_at=now)
                              .returning(SmsHeldReceipt.id, SmsHeldReceipt.link,
                                         SmsHeldReceipt.carrier_message_id,
                                         SmsHeldReceipt.receipt_state,
                                         SmsHeldReceipt.received_at),
                              execution_options={"synchronize_session": False}).all()
    if expired:
        session.execute(delete(SmsHeldReceiptKey).where(
            SmsHeldReceiptKey.receipt_id.in_([row.id for row in expired])))
    purged = session.execute(delete(SmsHeldReceipt)
                             .where(SmsHeldReceipt.state != HeldReceiptState.PENDING,
                                    SmsHeldReceipt.finished_at <= now - ttl),
                             execution_options={"synchronize_session": False}).rowcount
    return SweepResult(applied, tuple(sorted((ExpiredReceipt(*row) for row in expired),
                                             key=lambda e: e.id)), purged)


@dataclass(frozen=True)
class UnknownMessage:
    id: int
    destination: str
    link: str | None
    submitted_at: dt.datetime | None
    finished_at: dt.datetime | None


def settle_unknown(session: Session, now: dt.datetime,
                   after: dt.timedelta = UNKNOWN_AFTER) -> int:
    """Messages submitted more than `after` ago with no final state become `unknown`; answers
    how many. Their parts stay `submitted`, so a receipt that still comes settles them."""
    return session.execute(update(SmsMessage)
                           .where(SmsMessage.state == SmsState.SUBMITTED,
                                  SmsMessage.submitted_at <= now - after)
                           .values(state=SmsState.UNKNOWN, finished_at=now,
                                   last_error="no final delivery receipt within "
                                              f"{after.total_seconds() / 3600:g} h"),
                           execution_options={"synchronize_session": False}).rowcount


def unknown_messages(session: Session, limit: int = 1000) -> list[UnknownMessage]:
    """Messages whose fate is unknown, most recent first."""
    rows = session.execute(select(SmsMessage.id, SmsMessage.destination, SmsMessage.link,
                                  SmsMessage.submitted_at, SmsMessage.finished_at)
                           .where(SmsMessage.state == SmsState.UNKNOWN)
                           .order_by(SmsMessage.finished_at.desc(), SmsMessage.id.desc())
                           .limit(limit))
    return [UnknownMessage(*row) for row in rows]


def held_receipts(session: Session) -> list[tuple[str, str, HeldReceiptState, int | None]]:
    """(id as received, receipt state, state, part id) of every held receipt, oldest first."""
    rows = session.scalars(select(SmsHeldReceipt).order_by(SmsHeldReceipt.id))
    return [(r.carrier_message_id, r.receipt_state, r.state, r.part_id) for r in rows]


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
