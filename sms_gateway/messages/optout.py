"""The opt-out list: numbers that receive no reminders or warnings, and its history.

A number's current state is one row of `sms_opt_outs`; every change (a citizen's TD / 退订 /
STOP or 订阅 / START, an operator's correction) appends a row to `sms_opt_out_events`, which
the database keeps append-only. Functions run in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.phones import normalise_phone
from schemas.messaging import OptAction, SmsOptOut, SmsOptOutEvent


@dataclass(frozen=True)
class OptEvent:
    phone: str
    action: OptAction
    at: dt.datetime
    actor: str
    inbound_id: int | None
    note: str | None


def set_opt(session: Session, phone: str, action: OptAction, *, now: dt.datetime, actor: str,
            inbound_id: int | None = None, note: str | None = None) -> bool:
    """Record a request; True when it changed the number's state (a repeat is still logged)."""
    phone = normalise_phone(phone)
    opted_out = action is OptAction.OPT_OUT
    row = session.scalar(select(SmsOptOut).where(SmsOptOut.phone == phone).with_for_update())
    changed = (row.opted_out if row is not None else False) != opted_out
    if row is None:
        session.add(SmsOptOut(phone=phone, opted_out=opted_out, updated_at=now))
    elif changed:
        row.opted_out, row.updated_at = opted_out, now
    session.add(SmsOptOutEvent(phone=phone, action=action, at=now, actor=actor,
                               inbound_id=inbound_id, note=note))
    session.flush()
    return changed


def is_opted_out(session: Session, phone: str) -> bool:
    return bool(session.scalar(select(SmsOptOut.opted_out).where(SmsOptOut.phone == phone)))


def opted_out_among(session: Session, phones: Iterable[str]) -> set[str]:
    phones = list(set(phones))
    found: set[str] = set()
    for start in range(0, len(phones), 500):
        found.update(session.scalars(select(SmsOptOut.phone)
                                     .where(SmsOptOut.phone.in_(phones[start:start + 500]),
                                            SmsOptOut.opted_out.is_(True))))
    return found


def history(session: Session, phone: str) -> list[OptEvent]:
    rows = session.scalars(select(SmsOptOutEvent)
                           .where(SmsOptOutEvent.phone == normalise_phone(phone))
                           .order_by(SmsOptOutEvent.at, SmsOptOutEvent.id))
    return [OptEvent(r.phone, r.action, r.at, r.actor, r.inbound_id, r.note) for r in rows]
