"""The hall terminal's live side: each agent's queue state as Asterisk reports it, the
queue actions on the agent's interface, and the screen pop.

`QueueStates` follows QueueMemberAdded / Removed / Pause / Status and AgentConnect /
AgentComplete for every interface, so the page shows what Asterisk says, not what the
terminal last asked for. `TerminalHub` subscribes those events on the AMI service, keeps the
browsers listening per interface (server-sent events), pushes state changes, and on an
AgentConnect for an interface pushes the caller's card: found by the HOTLINE_CALL_ID
channel variable the IVR set (`ChanVariable: HOTLINE_CALL_ID=...` in the event, as
Asterisk sends it when manager.conf lists it in `channelvars`), else by the caller's number.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from hotline.ami.message import Message
from hotline.masking import mask_phone
from hotline.phones import PhoneNumberError, normalise_phone

CALL_ID_VARIABLE = "HOTLINE_CALL_ID"
FOLLOWED_EVENTS = ("QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause",
                   "QueueMemberStatus", "AgentConnect", "AgentComplete")
# Device states (app_queue.c / devicestate.h) that mean the member's phone is busy.
BUSY_DEVICE_STATES = {"2", "3", "6", "7", "8"}


@dataclass(frozen=True)
class MemberState:
    logged_in: bool = False
    paused: bool = False
    reason: str = ""
    in_call: bool = False
    wrap_up: bool = False
    known: bool = False

    @property
    def state(self) -> str:
        if not self.known:
            return "unknown"
        if not self.logged_in:
            return "logged_out"
        if self.in_call:
            return "on_call"
        if self.wrap_up:
            return "wrap_up"
        if self.paused:
            return "paused"
        return "available"

    def as_json(self) -> str:
        return json.dumps({"state": self.state, "reason": self.reason if self.paused else ""},
                          ensure_ascii=False)


def _flag(event: Message, key: str) -> bool:
    return (event.get(key) or "").strip().lower() in ("1", "true", "yes")


def call_id_of(event: Message) -> str | None:
    for item in event.getall("ChanVariable"):
        name, _, value = item.partition("=")
        if name.strip() == CALL_ID_VARIABLE and value.strip():
            return value.strip()
    return None


class QueueStates:
    """The state of each member interface, from the events Asterisk sends."""

    def __init__(self) -> None:
        self._members: dict[str, MemberState] = {}

    def get(self, interface: str) -> MemberState:
        return self._members.get(interface, MemberState())

    def set(self, interface: str, state: MemberState) -> None:
        self._members[interface] = state

    def apply(self, event: Message) -> str | None:
        """Update from one event; the interface it concerned, or None if none."""
        interface = event.get("Interface")
        if not interface:
            return None
        name = (event.event or "").lower()
        current = self.get(interface)
        if name == "queuememberremoved":
            new = MemberState(known=True)
        elif name in ("queuememberadded", "queuememberstatus", "queuememberpause"):
            paused = _flag(event, "Paused")
            in_call = _flag(event, "InCall") or event.get("Status") in BUSY_DEVICE_STATES
            new = MemberState(logged_in=True, paused=paused,
                              reason=(event.get("PausedReason") or "") if paused else "",
                              in_call=in_call, wrap_up=current.wrap_up and not in_call,
                              known=True)
        elif name == "agentconnect":
            new = replace(current, logged_in=True, in_call=True, wrap_up=False, known=True)
        elif name == "agentcomplete":
            wrap = int(event.get("Wrapuptime") or 0) > 0
            new = replace(current, logged_in=True, in_call=False, wrap_up=wrap, known=True)
        else:
            return None
        self._members[interface] = new
        return interface


Send = Callable[[str, str], None]


@dataclass(eq=False)
class Listener:
    """One browser following one agent's terminal."""

    interface: str
    username: str
    lang: str
    send: Send


class TerminalHub:
    log = Logger()

    def __init__(self, ami: Any, *, queue: str, clock: IReactorTime,
                 pop_card: Callable[[str, str | None, str | None], defer.Deferred],
                 render_card: Callable[[Any, str], str],
                 wrap_up_s: float = 0.0) -> None:
        """`pop_card(username, phone, call_id)` reads (and audits) the card in the database;
        `render_card(card, lang)` turns it into the HTML fragment the browser shows."""
        self.ami = ami
        self.queue = queue
        self._clock = clock
        self._pop_card = pop_card
        self._render_card = render_card
        self.states = QueueStates()
        self._listeners: dict[str, list[Listener]] = {}
        self._subscriptions: list = []
        self._wrap_timers: dict[str, Any] = {}

    # Lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self.ami is None or self._subscriptions:
            return
        for name in FOLLOWED_EVENTS:
            self._subscriptions.append(self.ami.subscribe(name, self._on_event))

    def stop(self) -> None:
        for subscription in self._subscriptions:
            subscription.cancel()
        self._subscriptions = []
        for timer in self._wrap_timers.values():
            if timer.active():
                timer.cancel()
        self._wrap_timers = {}

    # Browsers -----------------------------------------------------------------------------

    def listen(self, listener: Listener) -> Callable[[], None]:
        self._listeners.setdefault(listener.interface, []).append(listener)
        listener.send("state", self.states.get(listener.interface).as_json())

        def stop() -> None:
            listeners = self._listeners.get(listener.interface, [])
            if listener in listeners:
                listeners.remove(listener)

        return stop

    def listening(self, interface: str) -> int:
        return len(self._listeners.get(interface, ()))

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
        """Ask Asterisk for the member's state now (the page's first paint)."""
        listing = await self._require_ami().queue_status(self.queue, interface)
        members = [m for m in listing.of("QueueMember") if m.get("Location") == interface]
        if not members:
            state = MemberState(known=True)
        else:
            member = members[0]
            current = self.states.get(interface)
            paused = _flag(member, "Paused")
            in_call = _flag(member, "InCall") or member.get("Status") in BUSY_DEVICE_STATES
            state = MemberState(logged_in=True, paused=paused,
                                reason=(member.get("PausedReason") or "") if paused else "",
                                in_call=in_call, wrap_up=current.wrap_up and not in_call,
                                known=True)
        self.states.set(interface, state)
        return state

    def _require_ami(self) -> Any:
        if self.ami is None:
            from hotline.ami.errors import AMINotConnected
            raise AMINotConnected("the AMI link is disabled ([ami] enabled = false)")
        return self.ami

    # Events -------------------------------------------------------------------------------

    def _on_event(self, event: Message) -> None:
        interface = self.states.apply(event)
        if interface is None:
            return
        name = (event.event or "").lower()
        if name == "agentcomplete" and self.states.get(interface).wrap_up:
            self._end_wrap_up_later(interface, float(event.get("Wrapuptime") or 0))
        self._push(interface, "state", self.states.get(interface).as_json())
        if name == "agentconnect":
            self._screen_pop(interface, event)

    def _end_wrap_up_later(self, interface: str, seconds: float) -> None:
        # Asterisk says nothing when wrap-up time ends; the member is simply offered calls.
        previous = self._wrap_timers.pop(interface, None)
        if previous is not None and previous.active():
            previous.cancel()

        def ended() -> None:
            self._wrap_timers.pop(interface, None)
            state = self.states.get(interface)
            if state.wrap_up:
                self.states.set(interface, replace(state, wrap_up=False))
                self._push(interface, "state", self.states.get(interface).as_json())

        self._wrap_timers[interface] = self._clock.callLater(seconds, ended)

    def _push(self, interface: str, kind: str, data: str) -> None:
        for listener in list(self._listeners.get(interface, ())):
            listener.send(kind, data)

    def _screen_pop(self, interface: str, event: Message) -> None:
        listeners = list(self._listeners.get(interface, ()))
        if not listeners:
            self.log.info("AgentConnect for {interface}: no terminal is listening",
                          interface=interface)
            return
        call_id = call_id_of(event)
        raw = event.get("CallerIDNum") or ""
        try:
            phone = normalise_phone(raw)
        except PhoneNumberError:
            phone = None
        if call_id is None and phone is None:
            self.log.warn("AgentConnect for {interface}: no call id and no usable caller "
                          "number ({caller}); no card", interface=interface,
                          caller=mask_phone(raw))
            return
        for listener in listeners:
            d = self._pop_card(listener.username, phone, call_id)
            d.addCallback(self._send_card, listener)
            d.addErrback(self._pop_failed, interface, phone)

    def _send_card(self, card: Any, listener: Listener) -> None:
        if card is None:
            return
        listener.send("card", self._render_card(card, listener.lang))

    def _pop_failed(self, failure, interface: str, phone: str | None) -> None:
        self.log.failure("Screen pop for {interface} (caller {caller}) failed", failure,
                         interface=interface, caller=mask_phone(phone))
