"""Transaction hooks: what must happen with a change happens in the transaction that makes it.

The core owns one hook per such change (an appeal opened or resolved, a callback requested,
a survey SMS due); a package registers a participant on it, and the hook's owner runs the
participants with the open session and what the change is about. If any participant raises,
the whole transaction rolls back, so the change never lands without its rows.

Each hook is typed by the parameters its owner passes after the session, so a participant
with the wrong signature is a type error at the seam, not a TypeError in a transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Concatenate, Generic, ParamSpec

from sqlalchemy.orm import Session

P = ParamSpec("P")

# A participant gets the open session and what the hook's owner passes; what it returns is
# ignored (some return what they queued, for their own callers and tests).
Participant = Callable[Concatenate[Session, P], object]


class TransactionHook(Generic[P]):
    def __init__(self) -> None:
        self._participants: dict[str, Participant[P]] = {}

    def register(self, name: str, participant: Participant[P]) -> None:
        if name in self._participants:
            raise ValueError(f"a participant named {name!r} is already registered")
        self._participants[name] = participant

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._participants)

    def run(self, session: Session, *args: P.args, **kwargs: P.kwargs) -> None:
        """Each participant, in registration order, in the caller's transaction."""
        for participant in self._participants.values():
            participant(session, *args, **kwargs)


# fn(session, phone, call_id, now, due_by): a caller's callback request was recorded
# (`due_by` None: no promise of when), e.g. the "we will call you back" SMS.
CallbackRequestedHook = TransactionHook[[str, str, dt.datetime, dt.datetime | None]]

# fn(session, appeal_id, now, dedupe_key): the callback queue gave up calling and the
# appeal's satisfaction survey goes by SMS, at most once per `dedupe_key`.
SurveySmsHook = TransactionHook[[int, dt.datetime, str]]
