"""What the hall sees live, kept in the database so that every service process shows the
same thing: each queue member's state as Asterisk last reported it, the screen pops waiting
to reach a terminal, and each caller's passage through the agents' queue (the wallboard's
figures).

Every process with an AMI link receives the same events and writes them here; the writes
are idempotent (upserts keyed by the interface, the caller's channel and the connection),
so N processes make one row, not N. Browsers are served by whichever process they reach,
which reads these tables (see `agents.live`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from schemas.base import Base, UtcDateTime


class QueueMember(Base):
    """One member interface (an agent's phone) in the queue, as Asterisk last reported it."""

    __tablename__ = "queue_members"

    interface: Mapped[str] = mapped_column(String(128), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64))
    member_name: Mapped[str | None] = mapped_column(String(128))
    logged_in: Mapped[bool] = mapped_column(Boolean, default=False)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_reason: Mapped[str] = mapped_column(String(128), default="")
    in_call: Mapped[bool] = mapped_column(Boolean, default=False)
    # The phone's device state as the member events last said (`Status`, 0 Unknown .. 8 On
    # hold: hotline.ami.device_states); None until one did. Invalid (4) and Unavailable (5)
    # make the member `unreachable`: no queued call can ring it.
    device_state: Mapped[int | None] = mapped_column(Integer)
    # The member's own wrap-up time (QueueMember* events' Wrapuptime; 0: the queue's).
    wrap_up_s: Mapped[int] = mapped_column(Integer, default=0)
    # Set from AgentComplete: Asterisk says nothing when wrap-up ends, the member is simply
    # offered calls again from then on. No process keeps a timer: read it with `state_at`.
    wrap_up_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # The state's name as the terminal shows it (logged_out, available, paused, on_call,
    # wrap_up, unreachable) when it was last written, and since when: the wallboard's "in this state
    # for". A stored wrap_up is over once wrap_up_until has passed: `state_at(now)` gives
    # the state and its start as of now (paused or available since wrap_up_until).
    state: Mapped[str] = mapped_column(String(16))
    state_since: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # Bumped on every change, so that a poller can tell a change it has not pushed yet.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    def state_at(self, now: dt.datetime) -> tuple[str, dt.datetime]:
        """The state's name and since when, as of `now` (wrap-up ends by time)."""
        if self.state == "wrap_up" and self.wrap_up_until is not None \
                and self.wrap_up_until <= now:
            return ("paused" if self.paused else "available"), self.wrap_up_until
        return self.state, self.state_since


class ScreenPop(Base):
    """A call the queue connected to an interface (one AgentConnect), waiting to pop the
    caller's card on whichever terminal is listening for that interface, in any process.
    A terminal gets the pops recorded (`at`) after it connected, each once. Kept a day."""

    __tablename__ = "screen_pops"
    __table_args__ = (UniqueConstraint("caller_uniqueid", "interface"),
                      Index("ix_screen_pops_interface_id", "interface", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    interface: Mapped[str] = mapped_column(String(128))
    caller_uniqueid: Mapped[str] = mapped_column(String(64))  # the caller's channel
    call_id: Mapped[str | None] = mapped_column(String(64))   # HOTLINE_CALL_ID, from the IVR
    caller: Mapped[str | None] = mapped_column(String(32))    # normalised, when usable
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class QueueCall(Base):
    """One caller's passage through the agents' queue: joined, then answered by a member
    (and completed) or abandoned. The wallboard's offered / answered / abandoned / answered
    within 15 s are counts over these rows."""

    __tablename__ = "queue_calls"
    __table_args__ = (Index("ix_queue_calls_joined_at", "joined_at"),
                      Index("ix_queue_calls_outcome", "outcome", "joined_at"),
                      # The analysis page's heat map, from the index (migration 0022).
                      Index("ix_queue_calls_joined_at_analysis", "joined_at", "outcome",
                            "hold_s"))

    # The caller's channel's Uniqueid as the queue events carry it (QueueCallerJoin, ...).
    caller_uniqueid: Mapped[str] = mapped_column(String(64), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64))
    caller: Mapped[str | None] = mapped_column(String(32))
    call_id: Mapped[str | None] = mapped_column(String(64))
    # When the first process recorded the QueueCallerJoin (an AgentConnect or abandon seen
    # without its join: that time less HoldTime).
    joined_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # waiting -> answered -> completed, or waiting -> abandoned (QueueCallerAbandon), or
    # waiting -> left (QueueCallerLeave with no member connected: timeout, full, empty).
    # Asterisk sends QueueCallerLeave just before AgentConnect, so a row reads "left" for
    # the moment between the two; answered and abandoned win over left.
    outcome: Mapped[str] = mapped_column(String(16))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    hold_s: Mapped[int | None] = mapped_column(Integer)   # HoldTime (answered, abandoned)
    talk_s: Mapped[int | None] = mapped_column(Integer)   # TalkTime (completed)
    interface: Mapped[str | None] = mapped_column(String(128))  # the member who answered
    # The member's channel AgentConnect put through (DestUniqueid): with the caller's, what a
    # three-way call's Redirect moves.
    member_uniqueid: Mapped[str | None] = mapped_column(String(64))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # completed, abandoned, left


class QueueMemberState(Base):
    """A member's state from `since` until the member's next row: the history behind the
    staffing view (officers logged in and not paused, half-hour by half-hour). A row is
    written when the state the terminal shows changes (`agents.live`), under the member's
    row lock, so several processes make one row. A wrap-up that ends by time writes none:
    wrap-up and available are both staffed."""

    __tablename__ = "queue_member_states"
    __table_args__ = (Index("ix_queue_member_states_queue_since", "queue", "since"),
                      Index("ix_queue_member_states_interface_since", "interface", "since"))

    id: Mapped[int] = mapped_column(primary_key=True)
    interface: Mapped[str] = mapped_column(String(128))
    queue: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    since: Mapped[dt.datetime] = mapped_column(UtcDateTime)
