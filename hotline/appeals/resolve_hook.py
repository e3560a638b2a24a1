"""The resolve hook: what must happen when an appeal is resolved happens in the same
transaction as the resolution. (The same mechanism serves as the create hook: the "appeal
received" SMS is queued in the transaction that opens the appeal.)

The callback queue registers a participant that inserts the follow-up call task; the SMS
layer one that queues the "resolved" message. A participant gets the open session and the
resolved appeal and adds rows; if any participant raises, the whole resolution rolls back,
so an appeal is never resolved without its callback and message.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from hotline.appeals.records import AppealRecord

Participant = Callable[[Session, AppealRecord], None]


class ResolveHook:
    def __init__(self) -> None:
        self._participants: dict[str, Participant] = {}

    def register(self, name: str, participant: Participant) -> None:
        if name in self._participants:
            raise ValueError(f"a resolve participant named {name!r} is already registered")
        self._participants[name] = participant

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._participants)

    def run(self, session: Session, *args) -> None:
        """Each participant gets the session and what the hook's owner passes (the appeal)."""
        for participant in self._participants.values():
            participant(session, *args)


TransactionHook = ResolveHook  # the general name, for hooks other than resolve
