"""The hall's live state recorded from the AMI events, in the database (`schemas.live`).

`LiveRecorder` runs in every process that has an AMI link. Each of them receives the same
events from Asterisk and writes them here, so every write is idempotent and safe to arrive
from N processes in any interleaving:

* a member's state (`queue_members`) is set from what the event says, and its `revision`
  bumped only when something changed, so the same event written twice is one change;
* a caller's passage (`queue_calls`, keyed by the caller channel's Uniqueid) moves forward
  only (waiting -> answered -> completed, waiting -> abandoned / left): an upsert whose
  update is guarded by the outcomes it may leave. Whether the row moved tells the first
  writer of an AgentConnect / AgentComplete; only that one sets the times derived from its
  own clock (wrap_up_until), and an AgentConnect arriving after the call completed (a
  process lagging behind) no longer puts the member back on a call;
* a screen pop (`screen_pops`) is one row per caller channel and interface: the insert
  ignores the unique conflict.

Events are written in the order they arrived, those that queue up while a write is in
flight together in the next transaction; a transaction that lost a deadlock to another
process is run again. A process lagging behind the others rewrites member states they have
already moved past (the AMI events carry no sequence to tell): the state can step back for
the moment until that process has written the same later event; each process's final
write is the same. Screen pops older than a day are deleted (hourly); the queue's passages
stay, they are the wallboard's figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from twisted.internet import defer
from twisted.logger import Logger

from hotline.ami.device_states import DeviceState
from hotline.ami.message import Message
from hotline.channel_variables import CALL_ID
from hotline.masking import mask_phone
from hotline.phones import PhoneNumberError, normalise_phone
from schemas.live import QueueCall, QueueMember, QueueMemberState, ScreenPop

MEMBER_EVENTS = ("QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause",
                 "QueueMemberStatus")
CALL_EVENTS = ("AgentConnect", "AgentComplete", "QueueCallerJoin", "QueueCallerLeave",
               "QueueCallerAbandon")
FOLLOWED_EVENTS = MEMBER_EVENTS + CALL_EVENTS

WRITE_ATTEMPTS = 3
PURGE_EVERY = dt.timedelta(hours=1)
POP_KEPT = dt.timedelta(days=1)

# The outcomes each queue event may move a caller's row from (it only moves forward).
_CONNECT_FROM = ("waiting", "left")
_COMPLETE_FROM = ("waiting", "left", "answered")
_ABANDON_FROM = ("waiting", "left")
_LEAVE_FROM = ("waiting",)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def _int(value: str | None) -> int:
    try:
        return int((value or "0").strip())
    except ValueError:
        return 0


def call_id_of(event: Message) -> str | None:
    """HOTLINE_CALL_ID from the caller channel's variables (`ChanVariable: NAME=value`, as
    Asterisk sends the variables manager.conf lists in `channelvars`)."""
    for item in event.getall("ChanVariable"):
        name, _, value = item.partition("=")
        if name.strip() == CALL_ID and value.strip():
            return value.strip()
    return None


@dataclass(frozen=True)
class Observed:
    """One followed AMI event, as plain data for the database thread."""

    name: str            # lower case: queuememberadded, agentconnect, ...
    queue: str
    interface: str       # the member's (member and agent events); "" for caller events
    member_name: str = ""
    paused: bool = False
    reason: str = ""
    in_call: bool = False
    device_state: int | None = None  # the member's phone (DeviceState), member events only
    wrap_up_s: int = 0
    wrap_up_event_s: int | None = None  # an AgentComplete's own Wrapuptime (Asterisk 23's has none)
    uniqueid: str = ""   # the caller channel's
    member_uniqueid: str = ""  # the member's channel (AgentConnect's DestUniqueid)
    caller: str | None = None  # normalised, when usable
    call_id: str | None = None
    hold_s: int = 0
    talk_s: int = 0

    @classmethod
    def of(cls, event: Message) -> Observed:
        name = (event.event or "").lower()
        if name in ("queuememberadded", "queuememberremoved", "queuememberpause",
                    "queuememberstatus", "queuemember"):
            paused = _flag(event.get("Paused"))
            device = DeviceState.of(event.get("Status"))
            return cls(name, event.get("Queue") or "",
                       event.get("Interface") or event.get("Location") or "",
                       member_name=event.get("MemberName") or event.get("Name") or "",
                       paused=paused,
                       reason=(event.get("PausedReason") or "") if paused else "",
                       in_call=_flag(event.get("InCall")) or (device is not None and device.busy),
                       device_state=None if device is None else int(device),
                       wrap_up_s=_int(event.get("Wrapuptime")))
        raw = event.get("CallerIDNum") or ""
        try:
            caller = normalise_phone(raw)
        except PhoneNumberError:
            caller = None
        wrap = event.get("Wrapuptime")
        return cls(name, event.get("Queue") or "", event.get("Interface") or "",
                   member_name=event.get("MemberName") or "",
                   wrap_up_event_s=_int(wrap) if wrap is not None else None,
                   uniqueid=event.get("Uniqueid") or "", caller=caller,
                   member_uniqueid=event.get("DestUniqueid") or "",
                   call_id=call_id_of(event), hold_s=_int(event.get("HoldTime")),
                   talk_s=_int(event.get("TalkTime")))


# Repository ---------------------------------------------------------------------------------

def _insert(session: Session, table):
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def state_name(logged_in: bool, paused: bool, in_call: bool,
               wrap_up_until: dt.datetime | None, now: dt.datetime,
               device_state: int | None = None) -> str:
    if not logged_in:
        return "logged_out"
    if in_call:
        return "on_call"
    device = DeviceState.of(device_state)
    if device is not None and device.unreachable:
        # Logged in, yet no queued call can ring the phone (unregistered, absent): not
        # available, whatever else is true of the member.
        return "unreachable"
    if wrap_up_until is not None and wrap_up_until > now:
        return "wrap_up"
    return "paused" if paused else "available"


def _set_member(session: Session, interface: str, queue: str, now: dt.datetime,
                change: Callable[[QueueMember], dict[str, Any]]) -> bool:
    """Apply `change(row) -> new column values` to the member's row (made if absent),
    under the row's lock; the revision moves only if a value did. True if it did."""
    session.execute(_insert(session, QueueMember).values(
        interface=interface, queue=queue, member_name=None, logged_in=False, paused=False,
        paused_reason="", in_call=False, device_state=None, wrap_up_s=0, wrap_up_until=None,
        state="logged_out", state_since=now, revision=0, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["interface"]))
    row = session.execute(select(QueueMember).where(QueueMember.interface == interface)
                          .with_for_update()).scalar_one()
    values = {"queue": queue or row.queue, **change(row)}
    merged = {name: values.get(name, getattr(row, name)) for name in (
        "queue", "member_name", "logged_in", "paused", "paused_reason", "in_call",
        "device_state", "wrap_up_s", "wrap_up_until")}
    state = state_name(merged["logged_in"], merged["paused"], merged["in_call"],
                       merged["wrap_up_until"], now, merged["device_state"])
    current, _since = row.state_at(now)
    changed = [name for name, value in merged.items() if getattr(row, name) != value]
    if not changed and state == current and row.revision > 0:
        return False
    merged.update(state=state, revision=row.revision + 1, updated_at=now)
    if state != current or row.revision == 0:
        merged["state_since"] = now
        # The staffing view's history (a wrap-up ending by time is no change of staffing).
        session.add(QueueMemberState(interface=interface, queue=merged["queue"], state=state,
                                     since=now))
    elif state != row.state:  # a wrap-up that ended by time: since it ended
        merged["state_since"] = _since
    session.execute(update(QueueMember).where(QueueMember.interface == interface)
                    .values(**merged))
    return True


def _member_event(session: Session, event: Observed, now: dt.datetime) -> None:
    if event.name == "queuememberremoved":
        change = {"logged_in": False, "paused": False, "paused_reason": "", "in_call": False,
                  "device_state": None, "wrap_up_until": None}
    else:
        change = {"logged_in": True, "paused": event.paused, "paused_reason": event.reason,
                  "in_call": event.in_call, "wrap_up_s": event.wrap_up_s}
        if event.device_state is not None:
            change["device_state"] = event.device_state
        if event.member_name:
            change["member_name"] = event.member_name
        if event.in_call:
            change["wrap_up_until"] = None
    _set_member(session, event.interface, event.queue, now, lambda row: change)


def _move_call(session: Session, event: Observed, now: dt.datetime, outcome: str,
               from_: Sequence[str], **values: Any) -> bool:
    """Insert the caller's row with `outcome`, or move it there from one of `from_`.
    True if this write moved it (the first process to record the event)."""
    joined = now - dt.timedelta(seconds=event.hold_s)
    statement = _insert(session, QueueCall).values(
        caller_uniqueid=event.uniqueid, queue=event.queue, caller=event.caller,
        call_id=event.call_id, joined_at=joined, outcome=outcome, **values)
    statement = statement.on_conflict_do_update(
        index_elements=["caller_uniqueid"],
        set_={"outcome": outcome, **values},
        where=QueueCall.outcome.in_(from_),
    ).returning(QueueCall.caller_uniqueid)
    return session.execute(statement).first() is not None


def _call_event(session: Session, event: Observed, now: dt.datetime,
                default_wrap_up_s: int) -> None:
    if not event.uniqueid:
        return
    if event.name == "queuecallerjoin":
        session.execute(_insert(session, QueueCall).values(
            caller_uniqueid=event.uniqueid, queue=event.queue, caller=event.caller,
            call_id=event.call_id, joined_at=now, outcome="waiting",
        ).on_conflict_do_nothing(index_elements=["caller_uniqueid"]))
    elif event.name == "queuecallerleave":
        _move_call(session, event, now, "left", _LEAVE_FROM, ended_at=now)
    elif event.name == "queuecallerabandon":
        _move_call(session, event, now, "abandoned", _ABANDON_FROM, hold_s=event.hold_s,
                   ended_at=now)
    elif event.name == "agentconnect":
        first = _move_call(session, event, now, "answered", _CONNECT_FROM, answered_at=now,
                           hold_s=event.hold_s, interface=event.interface or None,
                           member_uniqueid=event.member_uniqueid or None, ended_at=None)
        if first or _outcome(session, event.uniqueid) == "answered":
            change = {"logged_in": True, "in_call": True}
            if first:
                change["wrap_up_until"] = None
            _set_member(session, event.interface, event.queue, now, lambda row: change)
        if event.interface and (event.call_id or event.caller):
            session.execute(_insert(session, ScreenPop).values(
                interface=event.interface, caller_uniqueid=event.uniqueid,
                call_id=event.call_id, caller=event.caller, at=now,
            ).on_conflict_do_nothing(index_elements=["caller_uniqueid", "interface"]))
    elif event.name == "agentcomplete":
        first = _move_call(session, event, now, "completed", _COMPLETE_FROM,
                           talk_s=event.talk_s, interface=event.interface or None,
                           ended_at=now)

        def change(row: QueueMember) -> dict[str, Any]:
            values: dict[str, Any] = {"logged_in": True, "in_call": False}
            if first:
                # app_queue.c's get_wrapuptime(): the member's own wrap-up when it has one
                # (not 0), else the queue's. Asterisk's member events carry only the
                # member's own (Wrapuptime: 0 in a queue with wrapuptime = 15), so the
                # queue's comes from the configuration ([agi] queue_wrapup_s).
                seconds = event.wrap_up_event_s or row.wrap_up_s or default_wrap_up_s
                values["wrap_up_until"] = now + dt.timedelta(seconds=seconds) \
                    if seconds > 0 else None
            return values

        _set_member(session, event.interface, event.queue, now, change)


def _outcome(session: Session, uniqueid: str) -> str | None:
    return session.scalar(select(QueueCall.outcome)
                          .where(QueueCall.caller_uniqueid == uniqueid))


def record_events(session: Session, events: Sequence[Observed], *, now: dt.datetime,
                  default_wrap_up_s: int = 0, purge_before: dt.datetime | None = None) -> None:
    """Write the events, in order, in one transaction; with `purge_before`, delete the
    screen pops recorded before then."""
    if purge_before is not None:
        session.execute(delete(ScreenPop).where(ScreenPop.at < purge_before))
    for event in events:
        if event.name in ("agentconnect", "agentcomplete") and not event.interface:
            continue
        if event.name.startswith("queuemember"):
            if event.interface:
                _member_event(session, event, now)
        else:
            _call_event(session, event, now, default_wrap_up_s)


def _after(d: defer.Deferred) -> defer.Deferred:
    """A Deferred that fires (with None) when `d` has, leaving `d`'s own result to it."""
    done: defer.Deferred = defer.Deferred()
    d.addBoth(lambda result: (done.callback(None), result)[1])
    return done


def reconcile(session: Session, queue: str, members: Sequence[Observed],
              waiting: set[str], *, asked_at: dt.datetime, now: dt.datetime,
              default_wrap_up_s: int = 0, leave: frozenset[str] = frozenset()) -> dict[str, int]:
    """What Asterisk said of the queue when asked (QueueStatus at `asked_at`) made the
    record: members as listed (those not listed are out of the queue), and callers whose
    end event was lost while no process was following (a restart, a cut link) closed: a
    waiting caller Asterisk no longer has is `lost` (not offered: nobody knows how it
    ended), an answered call whose member is no longer in a call is completed, talk time
    unknown. Rows written after `asked_at` are not touched (their events came after the
    answer), nor members in `leave` (their own events came after it). Gives what it
    changed, by kind."""
    listed = {m.interface for m in members} | set(leave)
    record_events(session, list(members), now=now, default_wrap_up_s=default_wrap_up_s)
    gone = [Observed("queuememberremoved", queue, interface) for interface in session.scalars(
        select(QueueMember.interface).where(QueueMember.queue == queue,
                                            QueueMember.state != "logged_out"))
        if interface not in listed]
    record_events(session, gone, now=now, default_wrap_up_s=default_wrap_up_s)
    in_call = {m.interface for m in members if m.in_call}
    lost = completed = 0
    for row in session.scalars(select(QueueCall).where(
            QueueCall.queue == queue, QueueCall.outcome.in_(("waiting", "answered")),
            QueueCall.joined_at < asked_at).with_for_update()):
        if row.outcome == "waiting" and row.caller_uniqueid not in waiting:
            row.outcome, row.ended_at = "lost", now
            lost += 1
        elif row.outcome == "answered" and row.interface not in in_call:
            row.outcome, row.ended_at = "completed", now
            completed += 1
    return {"members": len(members), "removed": len(gone), "lost": lost,
            "completed": completed}


# The recorder -------------------------------------------------------------------------------

class LiveRecorder:
    """Follows the queue's events on the AMI service and writes them to the database."""

    log = Logger()

    def __init__(self, ami: Any, db: Any, clock: Any, *, queue: str,
                 default_wrap_up_s: int = 0) -> None:
        """`clock.now()` stamps the rows; `default_wrap_up_s`: the queue's wrap-up time
        (queues.conf `wrapuptime`, which no AMI event or QueueStatus field carries), for
        members that have none of their own."""
        self.ami = ami
        self.db = db
        self.clock = clock
        self.queue = queue
        self.default_wrap_up_s = default_wrap_up_s
        self._subscriptions: list = []
        self._pending: list[Observed] = []
        self._writing: defer.Deferred | None = None
        # Called after each write commits (this process's terminal hub looks at once).
        self.recorded: list[Callable[[], None]] = []
        self._purged_at: dt.datetime | None = None
        self._reconciling: defer.Deferred | None = None
        self._moved_since_asked: list[set[str]] = []

    def start(self) -> None:
        if self.ami is None or self._subscriptions:
            return
        for name in FOLLOWED_EVENTS:
            self._subscriptions.append(self.ami.subscribe(name, self._on_event))
        on_login = getattr(self.ami, "on_login", None)
        if on_login is not None:  # each (re)connection: what was missed meanwhile is asked
            self._subscriptions.append(on_login(self._logged_in))

    def _logged_in(self, *_args) -> None:
        d = defer.Deferred.fromCoroutine(self.reconcile())
        d.addErrback(lambda failure: self.log.failure(
            "Reconciling the queue {queue} with Asterisk failed", failure, queue=self.queue))
        self._reconciling = d

        def done(result):
            if self._reconciling is d:
                self._reconciling = None
            return result

        d.addBoth(done)

    async def reconcile(self) -> dict[str, int]:
        """Asks Asterisk for the queue (QueueStatus) and makes the record agree with it
        (`reconcile`): after a restart or a cut link, ghost callers and agents left in a
        call are settled at once, not when the rows grow old."""
        asked_at = self.clock.now()
        # Members whose own events came after the question (up to the write) are newer than
        # the answer: each is left as its events made it.
        moved: set[str] = set()
        self._moved_since_asked.append(moved)
        try:
            listing = await self.ami.queue_status(self.queue)
            waiting = {e.get("Uniqueid") or "" for e in listing.of("QueueEntry")}
            await self._idle_events()  # the events received meanwhile are written first
            leave = frozenset(moved)
            members = [Observed.of(m) for m in listing.of("QueueMember")
                       if (m.get("Queue") or self.queue) == self.queue
                       and (m.get("Location") or m.get("Interface") or "") not in leave]
            changed = await self.db.write(reconcile, self.queue, members, waiting,
                                          asked_at=asked_at, now=self.clock.now(),
                                          default_wrap_up_s=self.default_wrap_up_s,
                                          leave=leave)
        finally:
            self._moved_since_asked.remove(moved)
        if changed["removed"] or changed["lost"] or changed["completed"]:
            self.log.info("Queue {queue} reconciled with Asterisk: {members} members, {removed} "
                          "no longer in it, {lost} callers lost, {completed} calls ended",
                          queue=self.queue, **changed)
        self._notify(None)
        return changed

    def stop(self) -> defer.Deferred:
        """Stops following; the Deferred fires when what was received is written."""
        for subscription in self._subscriptions:
            subscription.cancel()
        self._subscriptions = []
        return self.idle()

    def idle(self) -> defer.Deferred:
        """Fires once every event received so far is written (or its write failed)."""
        return defer.Deferred.fromCoroutine(self._idle())

    async def _idle_events(self) -> None:
        while self._writing is not None:
            await _after(self._writing)

    async def _idle(self) -> None:
        while self._reconciling is not None:  # the reconciliation of the last login
            await _after(self._reconciling)
        await self._idle_events()

    def _on_event(self, event: Message) -> None:
        if (event.get("Queue") or "") != self.queue:
            return
        observed = Observed.of(event)
        for moved in self._moved_since_asked:
            moved.add(observed.interface)
        if observed.name == "agentconnect" and observed.call_id is None \
                and observed.caller is None:
            self.log.warn("AgentConnect for {interface}: no call id and no usable caller "
                          "number ({caller}); no card", interface=observed.interface,
                          caller=mask_phone(event.get("CallerIDNum")))
        self._pending.append(observed)
        if self._writing is None:
            self._write_next()

    def _write_next(self) -> None:
        events, self._pending = self._pending, []
        d = defer.Deferred.fromCoroutine(self._write(events, self.clock.now()))
        d.addCallback(self._notify)
        d.addErrback(self._failed, events)
        d.addBoth(self._written)
        self._writing = d

    async def _write(self, events: list[Observed], now: dt.datetime) -> None:
        # The writes are idempotent, so a transaction that lost a deadlock to another
        # process writing the same events (PostgreSQL picks a victim) is simply run again.
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                await self.db.write(record_events, events, now=now,
                                    default_wrap_up_s=self.default_wrap_up_s,
                                    purge_before=self._purge_due(now))
                return
            except DBAPIError as error:
                if attempt == WRITE_ATTEMPTS:
                    raise
                self.log.warn("Recording {count} queue events failed ({error}); again",
                              count=len(events), error=type(error.orig).__name__)

    def _purge_due(self, now: dt.datetime) -> dt.datetime | None:
        """Once an hour: pops older than a day go (they reach no terminal any more)."""
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return None
        self._purged_at = now
        return now - POP_KEPT

    def _notify(self, _result) -> None:
        for listener in self.recorded:
            listener()

    def _written(self, _result) -> None:
        self._writing = None
        if self._pending:
            self._write_next()

    def _failed(self, failure, events: Sequence[Observed]) -> None:
        self.log.failure("Recording {count} queue events ({names}) failed", failure,
                         count=len(events), names=",".join(e.name for e in events))
