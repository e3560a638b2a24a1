"""The hall terminal's live side: each agent's queue state, the queue actions on the agent's
interface, and the screen pop, the same in every service process.

What Asterisk reports is recorded in the database by `agents.live.LiveRecorder` in every
process with an AMI link. `TerminalHub` serves the browsers of this process from there: one
poller per process, every `interval` seconds while at least one browser listens (idle
otherwise), reads the members whose revision changed for the interfaces that have
listeners and the screen pops recorded for them since it last looked, and pushes `state`
and `card` server-sent events. A browser gets the pops recorded after it connected, each
once; the card is read (and audited) for each listening user. The card is found by the
HOTLINE_CALL_ID channel variable the IVR set, else by the caller's number.

The call an agent is on is state too, not only an event: while a member is on a call the
queue connected (its `queue_calls` row answered, not completed), its state carries that call
(caller, call id, IVR choice, since when), so a page loaded or reloaded mid-call, on any page
of the desk, shows it and can open its card again.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from twisted.internet import defer, task
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from agents.live import Observed, call_id_of, record_events
from hotline.masking import mask_phone
from schemas.calls import CallRecord
from schemas.live import QueueCall, QueueMember, ScreenPop

__all__ = ["CurrentCall", "Listener", "MemberState", "TerminalHub", "call_id_of"]


@dataclass(frozen=True)
class CurrentCall:
    """The call the queue connected to a member and that has not completed: `key` is the
    caller's channel (one per call), `caller` the number as recorded, `call_id` the IVR's
    HOTLINE_CALL_ID, `menu_choice` what the caller chose in the IVR, `since` the answer."""

    key: str
    caller: str | None
    call_id: str | None
    menu_choice: str | None
    since: dt.datetime

    def as_document(self, now: dt.datetime | None) -> dict[str, Any]:
        document: dict[str, Any] = {"key": self.key, "caller": self.caller or "",
                                    "call_id": self.call_id or "",
                                    "menu_choice": self.menu_choice or ""}
        if now is not None:
            # Seconds, not the time: the browser's clock need not agree with ours.
            document["since_s"] = max(0, int((now - self.since).total_seconds()))
        return document


@dataclass(frozen=True)
class MemberState:
    """What the terminal shows: the state's name, the pause reason, when a wrap-up ends
    (the browser counts the seconds left down itself), and the phone's device state as
    Asterisk reports it (`hotline.ami.device_states`; None: not reported)."""

    state: str = "unknown"
    reason: str = ""
    wrap_up_until: dt.datetime | None = None
    device: int | None = None
    call: CurrentCall | None = None

    @property
    def known(self) -> bool:
        return self.state != "unknown"

    @property
    def unreachable(self) -> bool:
        """Logged in with a phone Asterisk cannot ring (Invalid, Unavailable): the agent is
        warned, since no queued call reaches them."""
        return self.state == "unreachable"

    def wrap_up_left_s(self, now: dt.datetime) -> int | None:
        """Whole seconds of wrap-up left at `now` (rounded up), None out of wrap-up."""
        if self.state != "wrap_up" or self.wrap_up_until is None:
            return None
        return max(0, math.ceil((self.wrap_up_until - now).total_seconds()))

    def as_json(self, now: dt.datetime | None = None) -> str:
        """The `state` event's data; with `now`, a wrap-up's seconds left as of then."""
        document: dict[str, Any] = {"state": self.state, "reason": self.reason}
        if self.device is not None:
            document["device"] = self.device
        left = None if now is None else self.wrap_up_left_s(now)
        if left is not None:
            # Seconds, not the end's time: the browser's clock need not agree with ours.
            document["wrap_up_left_s"] = left
        if self.call is not None:  # absent: on no call the queue connected
            document["call"] = self.call.as_document(now)
        return json.dumps(document, ensure_ascii=False)


@dataclass(frozen=True)
class MemberRow:
    interface: str
    revision: int
    shown: MemberState
    wrap_up_until: dt.datetime | None


@dataclass(frozen=True)
class PopRow:
    id: int
    interface: str
    caller: str | None
    call_id: str | None
    at: dt.datetime
    key: str = ""  # the caller's channel: the call's key (CurrentCall.key)


def current_call(session: Session, interface: str) -> CurrentCall | None:
    """The call the queue connected to `interface` and that has not completed, the newest
    if a lost AgentComplete left more than one."""
    row = session.scalars(select(QueueCall).where(
        QueueCall.interface == interface, QueueCall.outcome == "answered")
        .order_by(QueueCall.answered_at.desc()).limit(1)).first()
    if row is None or row.answered_at is None:
        return None
    # The AgentConnect's pop has what the join may lack: the call id the IVR set on the
    # channel, the caller's number as normalised for the card.
    pop = session.scalars(select(ScreenPop).where(
        ScreenPop.caller_uniqueid == row.caller_uniqueid,
        ScreenPop.interface == interface)).first()
    call_id = row.call_id or (pop.call_id if pop is not None else None)
    caller = (pop.caller if pop is not None else None) or row.caller
    menu_choice = None
    if call_id:  # the IVR's record knows the citizen's number better than a trunk's
        record = session.scalars(select(CallRecord).where(CallRecord.call_id == call_id)).first()
        if record is not None:
            menu_choice = record.menu_choice
            caller = record.caller or caller
    return CurrentCall(row.caller_uniqueid, caller, call_id, menu_choice, row.answered_at)


def _member_row(session: Session, row: QueueMember, now: dt.datetime) -> MemberRow:
    state, _since = row.state_at(now)
    wrap_up_until = row.wrap_up_until if state == "wrap_up" else None
    # Only while Asterisk says the member is on a call: an answered row left behind by a
    # lost AgentComplete is no call once the member is free again.
    call = current_call(session, row.interface) if state == "on_call" else None
    return MemberRow(row.interface, row.revision,
                     MemberState(state, row.paused_reason if row.paused else "", wrap_up_until,
                                 row.device_state, call),
                     wrap_up_until)


def read_member(session: Session, interface: str, *, now: dt.datetime) -> MemberRow | None:
    row = session.get(QueueMember, interface)
    return None if row is None else _member_row(session, row, now)


def read_changes(session: Session, *, seen: dict[str, int], fresh: Sequence[str],
                 wrapping: Sequence[str], pop_interfaces: Sequence[str], pop_floor: int,
                 pops_since: dt.datetime | None, now: dt.datetime
                 ) -> tuple[list[MemberRow], list[PopRow]]:
    """Members whose revision is not the one `seen`, all of those `fresh`, those whose
    wrap-up has ended by now; pops above `pop_floor` recorded since `pops_since`."""
    conditions = [and_(QueueMember.interface == interface, QueueMember.revision != revision)
                  for interface, revision in seen.items()]
    if fresh:
        conditions.append(QueueMember.interface.in_(fresh))
    if wrapping:
        conditions.append(and_(QueueMember.interface.in_(wrapping),
                               QueueMember.wrap_up_until <= now))
    members = [] if not conditions else [
        _member_row(session, row, now) for row in session.scalars(select(QueueMember).where(
            or_(*conditions)))]
    pops: list[PopRow] = []
    if pop_interfaces and pops_since is not None:
        pops = [PopRow(p.id, p.interface, p.caller, p.call_id, p.at, p.caller_uniqueid)
                for p in session.scalars(select(ScreenPop).where(
                    ScreenPop.interface.in_(pop_interfaces), ScreenPop.id > pop_floor,
                    ScreenPop.at >= pops_since).order_by(ScreenPop.id))]
    return members, pops


def newest_pop(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(ScreenPop.id), 0)))


Send = Callable[[str, str], None]


@dataclass(eq=False)
class Listener:
    """One browser following one agent's terminal."""

    interface: str
    username: str
    lang: str
    send: Send
    since: dt.datetime | None = None     # pops recorded from then on reach it
    shown: MemberState | None = None     # the state it was last sent
    popped: set[int] = field(default_factory=set)


class TerminalHub:
    log = Logger()

    def __init__(self, ami: Any, db: Any, *, queue: str, clock: IReactorTime, wall: Any,
                 pop_card: Callable[[str, str | None, str | None], defer.Deferred],
                 render_card: Callable[[Any, str, str], str], interval: float = 0.1,
                 pop_grace_s: float = 10.0) -> None:
        """`clock` runs the poller; `wall.now()` is the time the rows are read against.
        `pop_card(username, phone, call_id)` reads (and audits) the card in the database;
        `render_card(card, lang, key)` turns it into the HTML fragment the browser shows,
        marked with the call's key."""
        self.ami = ami
        self.db = db
        self.queue = queue
        self.interval = interval
        self._clock = clock
        self._wall = wall
        self._pop_card = pop_card
        self._render_card = render_card
        self._pop_grace_s = pop_grace_s
        self._listeners: dict[str, list[Listener]] = {}
        self._revisions: dict[str, int] = {}       # per interface, the revision pushed
        self._shown: dict[str, MemberState] = {}   # per interface, the state pushed
        self._wrap_ends: dict[str, dt.datetime] = {}
        # Pops handled: every id up to the floor, and those above it by when (a pop with a
        # lower id may commit after a higher one; the floor passes ids after a grace time).
        self._pop_floor = 0
        self._popped: dict[int, float] = {}
        self._loop: task.LoopingCall | None = None
        self._polling: defer.Deferred | None = None
        self._again = False
        self._next_waiters: list[defer.Deferred] = []  # poll() callers awaiting the next read

    # Lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Nothing to do until a browser listens; the poller runs only then."""

    def stop(self) -> None:
        self._stop_polling()

    # Browsers -----------------------------------------------------------------------------

    def listen(self, listener: Listener) -> Callable[[], None]:
        listener.since = self._wall.now()
        self._listeners.setdefault(listener.interface, []).append(listener)
        known = self._shown.get(listener.interface)
        if known is not None:
            listener.shown = known
            listener.send("state", known.as_json(self._wall.now()))
        if self._loop is None:
            self._loop = task.LoopingCall(self.poll)
            self._loop.clock = self._clock
            self._loop.start(self.interval, now=True)

        def stop() -> None:
            listeners = self._listeners.get(listener.interface, [])
            if listener in listeners:
                listeners.remove(listener)
            if not listeners:
                self._listeners.pop(listener.interface, None)
                self._forget(listener.interface)
            if not self._listeners:
                self._stop_polling()

        return stop

    def listening(self, interface: str) -> int:
        return len(self._listeners.get(interface, ()))

    @property
    def polling(self) -> bool:
        return self._loop is not None

    def _forget(self, interface: str) -> None:
        self._revisions.pop(interface, None)
        self._shown.pop(interface, None)
        self._wrap_ends.pop(interface, None)

    def _stop_polling(self) -> None:
        if self._loop is not None:
            if self._loop.running:
                self._loop.stop()
            self._loop = None

    # Reading the database ------------------------------------------------------------------

    async def state_of(self, interface: str) -> MemberState:
        """The member's state as recorded, with the call it is on (`MemberState.call`)."""
        row = await self.db.read(read_member, interface, now=self._wall.now())
        return MemberState() if row is None else row.shown

    def poll(self) -> defer.Deferred:
        """One look at the database (the poller's tick); never fails.

        Fires once a read that began after this call has finished, so whatever was committed
        before the call is seen: joining a read already in flight would not do, as it may
        have read before that commit; a follow-up read is queued instead."""
        d: defer.Deferred = defer.Deferred()
        if self._polling is None:
            self._start_poll([d])
        else:
            self._again = True
            self._next_waiters.append(d)
        return d

    def wake(self) -> None:
        """This process has just recorded something: look now rather than at the next
        tick (the other processes see it at theirs)."""
        if not self._listeners:
            return
        if self._polling is not None:  # it may have read before that commit: once more
            self._again = True
            return
        self._start_poll([])

    def _start_poll(self, waiters: list[defer.Deferred]) -> None:
        polling = defer.Deferred.fromCoroutine(self._poll())
        polling.addErrback(self._poll_failed)
        self._polling = polling  # before addBoth: a read with nothing to do fires at once
        polling.addBoth(self._polled, waiters)

    def _polled(self, _result, waiters: list[defer.Deferred]) -> None:
        self._polling = None
        if self._again:
            self._again = False
            following, self._next_waiters = self._next_waiters, []
            self._start_poll(following)
        for waiter in waiters:
            waiter.callback(None)

    def _poll_failed(self, failure) -> None:
        self.log.failure("Reading the hall's live state failed", failure)

    async def _poll(self) -> None:
        if not self._listeners:
            return
        interfaces = list(self._listeners)
        now = self._wall.now()
        listeners = [item for group in self._listeners.values() for item in group]
        since = min(item.since for item in listeners)
        members, pops = await self.db.read(
            read_changes, seen={i: self._revisions[i] for i in interfaces
                                if i in self._revisions},
            fresh=[i for i in interfaces if i not in self._revisions],
            wrapping=[i for i in interfaces if i in self._wrap_ends],
            pop_interfaces=interfaces, pop_floor=self._pop_floor, pops_since=since, now=now)
        for interface in interfaces:
            self._revisions.setdefault(interface, 0)
        for row in members:
            if row.interface not in self._listeners:
                continue
            self._revisions[row.interface] = row.revision
            self._push_state(row.interface, row.shown)
            if row.wrap_up_until is not None:
                self._wrap_ends[row.interface] = row.wrap_up_until
            else:
                self._wrap_ends.pop(row.interface, None)
        for interface in interfaces:  # no row: the member was never seen
            if interface not in self._shown and interface in self._listeners:
                self._push_state(interface, MemberState())
        for pop in pops:
            self._screen_pop(pop)
        self._advance_pop_floor()

    def _push_state(self, interface: str, state: MemberState) -> None:
        self._shown[interface] = state
        now = self._wall.now()
        for listener in list(self._listeners.get(interface, ())):
            if listener.shown != state:
                listener.shown = state
                listener.send("state", state.as_json(now))

    def _screen_pop(self, pop: PopRow) -> None:
        if pop.id in self._popped or pop.id <= self._pop_floor:
            return
        self._popped[pop.id] = self._clock.seconds()
        for listener in list(self._listeners.get(pop.interface, ())):
            if listener.since is None or pop.at < listener.since or pop.id in listener.popped:
                continue
            listener.popped.add(pop.id)
            d = self._pop_card(listener.username, pop.caller, pop.call_id)
            d.addCallback(self._send_card, listener, pop.key)
            d.addErrback(self._pop_failed, pop)

    def _advance_pop_floor(self) -> None:
        cutoff = self._clock.seconds() - self._pop_grace_s
        for pop_id, seen in list(self._popped.items()):
            if seen <= cutoff:
                self._pop_floor = max(self._pop_floor, pop_id)
                del self._popped[pop_id]
        for group in self._listeners.values():
            for listener in group:
                listener.popped = {i for i in listener.popped if i > self._pop_floor}

    def _send_card(self, card: Any, listener: Listener, key: str) -> None:
        if card is None:
            return
        listener.send("card", self._render_card(card, listener.lang, key))

    def _pop_failed(self, failure, pop: PopRow) -> None:
        self.log.failure("Screen pop for {interface} (caller {caller}) failed", failure,
                         interface=pop.interface, caller=mask_phone(pop.caller))

    # Queue actions (the terminal's buttons) ------------------------------------------------

    async def login(self, interface: str, member_name: str) -> None:
        await self._require_ami().queue_add(self.queue, interface, member_name=member_name,
                                            paused=False)

    async def pause(self, interface: str, reason: str) -> None:
        await self._require_ami().queue_pause(interface, True, queue=self.queue,
                                              reason=reason or None)

    async def unpause(self, interface: str) -> None:
        await self._require_ami().queue_pause(interface, False, queue=self.queue)

    async def logout(self, interface: str) -> None:
        await self._require_ami().queue_remove(self.queue, interface)

    async def refresh(self, interface: str) -> MemberState:
        """Ask Asterisk for the member's state now (the page's first paint when the
        database has none) and record what it said for every process."""
        listing = await self._require_ami().queue_status(self.queue, interface)
        members = [m for m in listing.of("QueueMember") if m.get("Location") == interface]
        if members:
            observed = Observed.of(members[0])
        else:
            observed = Observed("queuememberremoved", self.queue, interface)
        await self.db.write(record_events, [observed], now=self._wall.now())
        return await self.state_of(interface)

    def _require_ami(self) -> Any:
        if self.ami is None:
            from hotline.ami.errors import AMINotConnected
            raise AMINotConnected("the AMI link is disabled ([ami] enabled = false)")
        return self.ami
