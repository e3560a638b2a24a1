"""Queueing content into the outbox under the rules: quiet hours, the opt-out list, the
per-number daily cap and dedupe keys.

- Quiet hours: a non-urgent message gets `not_before` = the end of the quiet hours; an
  urgent early warning goes at once.
- Opt-out: reminders and warnings (`OPTIONAL_KINDS`) to an opted-out number are skipped;
  acknowledgements, resolutions, surveys and confirmations always go.
- Daily cap: at most `daily_cap` non-urgent optional messages per number per local day
  (by `not_before`); one over the cap waits for the next day's morning, up to a week, then
  is skipped.
- Dedupe: a request whose `dedupe_key` is already in the outbox is reported as a duplicate
  and queues nothing.

`queue` is the single-message path (the appeal hooks) through `outbox.enqueue`; `queue_many`
is the bulk path of the planner and broadcasts: a few set-based queries per batch and one
multi-row INSERT, for destinations the caller has already validated.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hotline.phones import is_mobile
from schemas.enums import SmsKind, SmsLane, SmsState
from schemas.sms import SmsMessage
from sms_gateway import outbox
from sms_gateway.messages import optout
from sms_gateway.messages.config import MessagesConfig
from sms_gateway.messages.rules import (
    OPTIONAL_KINDS,
    REMINDER_KINDS,
    local_day_bounds,
    morning_of,
    release_time,
)

CAP_DEFER_DAYS = 7
CHUNK = 500


class Skip:
    OPTED_OUT = "opted_out"
    CAPPED = "capped"
    DUPLICATE = "duplicate"
    INVALID = "invalid"


@dataclass(frozen=True)
class Request:
    kind: SmsKind
    destination: str  # normalised mobile number
    text: str
    urgent: bool = False
    appeal_id: int | None = None
    dedupe_key: str | None = None
    not_before: dt.datetime | None = None  # earliest send time before the rules (a spread)
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class Outcome:
    request: Request
    message_id: int | None  # None: skipped
    not_before: dt.datetime | None
    skipped: str | None = None

    @property
    def queued(self) -> bool:
        return self.skipped is None


def lane_of(kind: SmsKind) -> SmsLane:
    if kind is SmsKind.EARLY_WARNING:
        return SmsLane.BULK
    if kind in REMINDER_KINDS:
        return SmsLane.REMINDER
    return SmsLane.SERVICE


class Sender:
    def __init__(self, config: MessagesConfig, zone: ZoneInfo) -> None:
        self.config = config
        self.zone = zone

    def release(self, when: dt.datetime) -> dt.datetime:
        return release_time(when, self.zone, self.config.quiet)

    def queue(self, session: Session, request: Request, now: dt.datetime) -> Outcome:
        """One message through `outbox.enqueue` (which validates the number)."""
        if request.kind in OPTIONAL_KINDS:
            return self.queue_many(session, [request], now)[0]
        if not is_mobile(request.destination):
            return Outcome(request, None, None, Skip.INVALID)
        not_before = request.not_before or now
        if not request.urgent:
            not_before = self.release(not_before)
        message = outbox.enqueue(session, kind=request.kind, destination=request.destination,
                                 text=request.text, now=now, not_before=not_before,
                                 expires_at=request.expires_at, appeal_id=request.appeal_id,
                                 dedupe_key=request.dedupe_key)
        return Outcome(request, message.id, not_before)

    def queue_many(self, session: Session, requests: Sequence[Request],
                   now: dt.datetime) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for start in range(0, len(requests), CHUNK):
            outcomes.extend(self._chunk(session, requests[start:start + CHUNK], now))
        return outcomes

    def _chunk(self, session: Session, requests: Sequence[Request],
               now: dt.datetime) -> list[Outcome]:
        keys = [r.dedupe_key for r in requests if r.dedupe_key]
        existing = set(session.scalars(select(SmsMessage.dedupe_key)
                                       .where(SmsMessage.dedupe_key.in_(keys)))) if keys else set()
        optional = [r.destination for r in requests if r.kind in OPTIONAL_KINDS]
        opted_out = optout.opted_out_among(session, optional) if optional else set()
        planned: list[Outcome | None] = []
        for request in requests:
            if request.dedupe_key in existing:
                planned.append(Outcome(request, None, None, Skip.DUPLICATE))
                continue
            if request.dedupe_key:
                existing.add(request.dedupe_key)  # the same key twice in one batch
            if request.kind in OPTIONAL_KINDS and request.destination in opted_out:
                planned.append(Outcome(request, None, None, Skip.OPTED_OUT))
                continue
            not_before = request.not_before or now
            if not request.urgent:
                not_before = self.release(not_before)
            planned.append(Outcome(request, None, not_before))
        planned = self._apply_cap(session, planned)
        rows = [{"kind": o.request.kind, "lane": int(lane_of(o.request.kind)),
                 "destination": o.request.destination, "text": o.request.text,
                 "state": SmsState.QUEUED, "attempts": 0, "not_before": o.not_before,
                 "expires_at": o.request.expires_at, "appeal_id": o.request.appeal_id,
                 "dedupe_key": o.request.dedupe_key, "created_at": now}
                for o in planned if o.skipped is None]
        if not rows:
            return planned
        ids = iter(session.scalars(insert(SmsMessage).returning(SmsMessage.id,
                                                                sort_by_parameter_order=True),
                                   rows).all())
        return [replace(o, message_id=next(ids)) if o.skipped is None else o for o in planned]

    def _apply_cap(self, session: Session, planned: list[Outcome]) -> list[Outcome]:
        """Move non-urgent optional messages past full days; skip those a week cannot hold."""
        capped = [o for o in planned
                  if o.skipped is None and o.request.kind in OPTIONAL_KINDS and not o.request.urgent]
        if not capped:
            return planned
        days = [o.not_before.astimezone(self.zone).date() for o in capped]
        first, last = min(days), max(days) + dt.timedelta(days=CAP_DEFER_DAYS)
        since, _ = local_day_bounds(first, self.zone)
        _, until = local_day_bounds(last, self.zone)
        counts: Counter = Counter()
        destinations = list({o.request.destination for o in capped})
        # By (destination, created_at), the outbox's index for it; a message counted by its
        # not_before in the window was created at most the cap's deferral before it. Filtering
        # not_before here instead would let a planner with stale statistics scan the window.
        created_since = since - dt.timedelta(days=CAP_DEFER_DAYS + 1)
        for start in range(0, len(destinations), CHUNK):
            for destination, not_before in session.execute(
                    select(SmsMessage.destination, SmsMessage.not_before)
                    .where(SmsMessage.destination.in_(destinations[start:start + CHUNK]),
                           SmsMessage.created_at >= created_since,
                           SmsMessage.kind.in_(OPTIONAL_KINDS),
                           SmsMessage.state.not_in((SmsState.CANCELLED, SmsState.FAILED)))):
                if since <= not_before < until:
                    counts[destination, not_before.astimezone(self.zone).date()] += 1
        result = []
        for outcome in planned:
            if not (outcome.skipped is None and outcome.request.kind in OPTIONAL_KINDS
                    and not outcome.request.urgent):
                result.append(outcome)
                continue
            destination, when = outcome.request.destination, outcome.not_before
            for _ in range(CAP_DEFER_DAYS + 1):
                day = when.astimezone(self.zone).date()
                if counts[destination, day] < self.config.daily_cap:
                    counts[destination, day] += 1
                    result.append(replace(outcome, not_before=when))
                    break
                when = morning_of(day + dt.timedelta(days=1), self.zone, self.config.quiet)
            else:
                result.append(replace(outcome, not_before=None, skipped=Skip.CAPPED))
        return result
