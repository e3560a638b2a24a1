"""The manager client protocol: login, ActionID correlation, lists, events, keepalive.

It sits on `ManagerFramer` (bytes to messages) and only writes to its transport. It holds no
business rules: the service above it decides when to connect and what to originate.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import TypedDict, Unpack

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.python.failure import Failure

from hotline.ami import actions
from hotline.ami.actions import ListResult, OriginateResult, mask_channel
from hotline.ami.errors import (
    AMIActionError,
    AMIActionTimeout,
    AMIAuthenticationError,
    AMIConnectionLost,
    AMIProtocolError,
    AMIUnexpectedResponse,
    OriginateTimeout,
)
from hotline.ami.events import EventDispatcher
from hotline.ami.framing import ManagerFramer
from hotline.ami.message import Message

AUTH_PLAIN = "plain"
AUTH_MD5 = "md5"


@dataclass(eq=False)
class _PendingAction:
    name: str
    deferred: Deferred
    timer: IDelayedCall | None = None
    response: Message | None = None
    events: list[Message] = field(default_factory=list)
    expects_list: bool = False


@dataclass(eq=False)
class _PendingOriginate:
    channel: str
    deferred: Deferred
    timer: IDelayedCall | None = None
    queued: bool = False
    early: Message | None = None


class AMIClientProtocol(ManagerFramer):
    """One manager connection, seen from the client side."""

    log = Logger()

    def __init__(
        self,
        clock: IReactorTime,
        dispatcher: EventDispatcher | None = None,
        *,
        action_id_prefix: str = "hotline-1-",
        action_timeout: float = 10.0,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = None,
        originate_timeout: float = 60.0,
    ):
        self.clock = clock
        self.dispatcher = dispatcher if dispatcher is not None else EventDispatcher()
        self.action_id_prefix = action_id_prefix
        self.action_timeout = action_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout if ping_timeout is not None else (ping_interval or action_timeout)
        self.originate_timeout = originate_timeout
        self.version: str | None = None
        self.logged_in = False
        self.connected = False
        self._counter = 0
        self._pending: dict[str, _PendingAction] = {}
        self._originates: dict[str, _PendingOriginate] = {}
        self._bannerWaiters: list[Deferred] = []
        self._idleCall: IDelayedCall | None = None
        self._pinging = False
        self._lostWaiters: list[Deferred] = []

    # -- connection lifecycle -------------------------------------------------------------

    def connectionMade(self) -> None:
        super().connectionMade()
        self.connected = True

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.connected = False
        self.logged_in = False
        self._stopKeepalive()
        why = self.dropReason or (reason.getErrorMessage() if reason is not None else "closed")
        lostError = AMIProtocolError if self.dropReason else AMIConnectionLost
        pending, self._pending = self._pending, {}
        for action_id, entry in pending.items():
            self._cancelTimer(entry.timer)
            entry.deferred.errback(lostError(f"AMI link lost ({why}) before the answer to {entry.name} {action_id}"))
        originates, self._originates = self._originates, {}
        for action_id, originate in originates.items():
            self._cancelTimer(originate.timer)
            self.log.warn(
                "AMI link lost ({why}) before the OriginateResponse of {action_id} to {channel}; the call may still be placed",
                why=why,
                action_id=action_id,
                channel=mask_channel(originate.channel),
            )
            originate.deferred.errback(lostError(f"AMI link lost ({why}) before the OriginateResponse of {action_id}"))
        waiters, self._bannerWaiters = self._bannerWaiters, []
        for waiter in waiters:
            waiter.errback(AMIConnectionLost(f"AMI link lost ({why}) before the banner"))
        lost, self._lostWaiters = self._lostWaiters, []
        for waiter in lost:
            waiter.callback(why)

    def whenLost(self) -> Deferred:
        """Fires with a reason text when this connection ends."""
        d: Deferred = Deferred()
        if self.connected:
            self._lostWaiters.append(d)
        else:
            d.callback(self.dropReason or "closed")
        return d

    def bannerReceived(self, version: str) -> None:
        self.version = version
        waiters, self._bannerWaiters = self._bannerWaiters, []
        for waiter in waiters:
            waiter.callback(version)

    def whenBanner(self) -> Deferred:
        """Fires with the manager version once the banner has been read."""
        if self.version is not None:
            d: Deferred = Deferred()
            d.callback(self.version)
            return d
        d = Deferred()
        self._bannerWaiters.append(d)
        return d

    # -- incoming -------------------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        # Any traffic proves the link alive: the keepalive only pings an idle link.
        if self._idleCall is not None and self._idleCall.active() and self.ping_interval:
            self._idleCall.reset(self.ping_interval)  # set only when there is an interval
        super().dataReceived(data)

    def messageReceived(self, message: Message) -> None:
        if message.event is not None:
            self._eventReceived(message)
        elif message.response is not None:
            self._responseReceived(message)
        else:
            self.log.debug("Ignoring an AMI message that is neither response nor event: {keys}", keys=[k for k, _ in message])

    def _responseReceived(self, response: Message) -> None:
        action_id = response.action_id
        entry = self._pending.get(action_id) if action_id is not None else None
        if action_id is None or entry is None:
            self.log.debug("Unsolicited AMI response for ActionID {action_id}", action_id=action_id)
            return
        if (response.response or "").lower() == "error":
            self._finish(action_id, Failure(AMIActionError(entry.name, response.get("Message", ""), response)))
            return
        if (response.get("EventList") or "").lower() == "start":
            entry.response = response  # the list's events and its Complete event follow
            return
        if entry.expects_list:
            # Whatever follows with this ActionID is no list we wait for: fail now rather
            # than hand a caller a bare response where it reads a list.
            self._finish(action_id, Failure(AMIUnexpectedResponse(
                entry.name, "a Success response without 'EventList: start'", response)))
            return
        self._finish(action_id, response)

    def _eventReceived(self, event: Message) -> None:
        action_id = event.action_id
        if action_id is not None:
            entry = self._pending.get(action_id)
            if entry is not None and entry.response is not None:
                if (event.get("EventList") or "").lower() == "complete":
                    self._finish(action_id, ListResult(entry.response, tuple(entry.events), event))
                else:
                    entry.events.append(event)
                return
            if (event.event or "").lower() == "originateresponse" and action_id in self._originates:
                self._originateResponded(action_id, event)
        self.dispatcher.dispatch(event)

    # -- outgoing -------------------------------------------------------------------------

    def _nextActionId(self) -> str:
        self._counter += 1
        return f"{self.action_id_prefix}{self._counter}"

    def send_action(self, action: Message, *, timeout: float | None = None) -> Deferred:
        """Send ``action`` with a fresh ActionID. The Deferred fires with the response
        `Message`, or a `ListResult` for a list action, or fails with `AMIActionError`,
        `AMIActionTimeout` or `AMIConnectionLost`."""
        return self._send(action, self._nextActionId(), timeout)

    def send_list_action(self, action: Message, *, timeout: float | None = None) -> Deferred[ListResult]:
        """Send an action whose answer is an event list. The Deferred fires with its
        `ListResult` only; a Success answer without ``EventList: start`` fails with
        `AMIUnexpectedResponse`, and a list whose Complete event does not come within
        ``timeout`` with `AMIActionTimeout` (besides the failures of `send_action`)."""
        return self._send(action, self._nextActionId(), timeout, expects_list=True)

    def _send(self, action: Message, action_id: str, timeout: float | None, *,
              expects_list: bool = False) -> Deferred:
        name = action.get("Action") or "?"
        d: Deferred = Deferred()
        if not self.connected:
            d.errback(AMIConnectionLost(f"AMI link is down; cannot send {name}"))
            return d
        entry = _PendingAction(name, d, expects_list=expects_list)
        seconds = self.action_timeout if timeout is None else timeout
        entry.timer = self.clock.callLater(seconds, self._actionTimedOut, action_id, seconds)
        self._pending[action_id] = entry
        fields = list(action.fields)
        fields.insert(1, ("ActionID", action_id))
        self.sendMessage(Message(fields))
        return d

    def _finish(self, action_id: str, result: object) -> None:
        entry = self._pending.pop(action_id)
        self._cancelTimer(entry.timer)
        if isinstance(result, Failure):
            entry.deferred.errback(result)
        else:
            entry.deferred.callback(result)

    def _actionTimedOut(self, action_id: str, seconds: float) -> None:
        entry = self._pending.pop(action_id, None)
        if entry is None:
            return
        entry.timer = None
        if entry.response is not None:
            # The link is alive (the list began): the caller reports what a list that never
            # ends means to it, once, rather than this line at every asking.
            self.log.debug("AMI list of {action} {action_id}: {count} event(s) and no end of list within {seconds}s",
                           action=entry.name, action_id=action_id, count=len(entry.events), seconds=seconds)
        else:
            self.log.warn("No AMI response to {action} {action_id} within {seconds}s", action=entry.name, action_id=action_id, seconds=seconds)
        entry.deferred.errback(AMIActionTimeout(entry.name, action_id, seconds, listed=entry.response is not None))

    @staticmethod
    def _cancelTimer(timer: IDelayedCall | None) -> None:
        if timer is not None and timer.active():
            timer.cancel()

    # -- login and keepalive --------------------------------------------------------------

    def login(self, username: str, secret: str, auth: str = AUTH_MD5, events: str | None = "on") -> Deferred:
        """Wait for the banner, then log in (MD5 challenge or plain secret). Fires with the
        Login response; fails with `AMIAuthenticationError` if Asterisk refuses."""
        return Deferred.fromCoroutine(self._login(username, secret, auth, events))

    async def _login(self, username: str, secret: str, auth: str, events: str | None) -> Message:
        if auth not in (AUTH_MD5, AUTH_PLAIN):
            raise ValueError(f"AMI auth must be {AUTH_MD5!r} or {AUTH_PLAIN!r}, not {auth!r}")
        await self.whenBanner()
        if auth == AUTH_MD5:
            challenge = await self.send_action(Message.action("Challenge", [("AuthType", "MD5")]))
            key = hashlib.md5((challenge.get("Challenge", "") + secret).encode("utf-8")).hexdigest()
            fields: list[tuple[str, object]] = [("AuthType", "MD5"), ("Username", username), ("Key", key)]
        else:
            fields = [("Username", username), ("Secret", secret)]
        if events is not None:
            fields.append(("Events", events))
        try:
            response = await self.send_action(Message.action("Login", fields))
        except AMIActionError as e:
            self.log.warn("AMI login refused for {username}: {message}", username=username, message=e.message)
            raise AMIAuthenticationError(username, e.message) from e
        self.logged_in = True
        self._startKeepalive()
        return response

    def _startKeepalive(self) -> None:
        if self.ping_interval and self._idleCall is None:
            self._idleCall = self.clock.callLater(self.ping_interval, self._linkIdle)

    def _stopKeepalive(self) -> None:
        self._cancelTimer(self._idleCall)
        self._idleCall = None

    def _linkIdle(self) -> None:
        self._idleCall = None
        if not self.connected:
            return
        d = self.send_action(actions.ping(), timeout=self.ping_timeout)
        d.addCallbacks(self._pongReceived, self._pongMissing)

    def _pongReceived(self, _response: object) -> None:
        if self.connected:
            self._startKeepalive()

    def _pongMissing(self, failure: Failure) -> None:
        if failure.check(AMIActionTimeout):
            self.dropLink(f"no Pong within {self.ping_timeout}s; the link is dead")
        elif failure.check(AMIActionError):
            # An error answer is still an answer: the link is alive.
            self._pongReceived(None)
        # AMIConnectionLost: the link is already gone, nothing to do.

    # -- actions --------------------------------------------------------------------------

    def originate(self, action: Message, *, timeout: float | None = None) -> Deferred:
        """Send an Originate built by `actions.originate` (Async). Fires with the
        `OriginateResult` of its OriginateResponse event; fails with `AMIActionError` if
        Asterisk refuses to queue it, or `OriginateTimeout` if no OriginateResponse comes."""
        action_id = self._nextActionId()
        channel = action.get("Channel", "")
        seconds = self.originate_timeout if timeout is None else timeout
        waiter = _PendingOriginate(channel, Deferred())
        self._originates[action_id] = waiter
        waiter.timer = self.clock.callLater(seconds, self._originateTimedOut, action_id, seconds)
        self.log.info("Originate {action_id} to {channel}", action_id=action_id, channel=mask_channel(channel))
        queued = self._send(action, action_id, None)

        def refused(failure: Failure) -> Failure:
            entry = self._originates.pop(action_id, None)
            if entry is not None:
                self._cancelTimer(entry.timer)
            return failure

        async def run() -> OriginateResult:
            await queued.addErrback(refused)
            waiter.queued = True
            if waiter.early is not None:
                self._originateResponded(action_id, waiter.early)
            return await waiter.deferred

        return Deferred.fromCoroutine(run())

    def _originateResponded(self, action_id: str, event: Message) -> None:
        entry = self._originates.get(action_id)
        if entry is None:
            return
        if not entry.queued:
            # The event can overtake the "successfully queued" response (they travel on
            # different Asterisk threads); keep it until the response is in.
            entry.early = event
            return
        del self._originates[action_id]
        self._cancelTimer(entry.timer)
        result = OriginateResult.from_event(event)
        self.log.info(
            "OriginateResponse {action_id} to {channel}: {response} reason {reason}",
            action_id=action_id,
            channel=mask_channel(entry.channel),
            response=event.get("Response"),
            reason=result.reason.name,
        )
        entry.deferred.callback(result)

    def _originateTimedOut(self, action_id: str, seconds: float) -> None:
        entry = self._originates.pop(action_id, None)
        if entry is None:
            return
        self.log.warn(
            "No OriginateResponse for {action_id} to {channel} within {seconds}s",
            action_id=action_id,
            channel=mask_channel(entry.channel),
            seconds=seconds,
        )
        entry.deferred.errback(OriginateTimeout(action_id, seconds))

    def queue_add(self, queue: str, interface: str, *, member_name: str | None = None,
                  penalty: int | None = None, paused: bool | None = None,
                  reason: str | None = None, state_interface: str | None = None) -> Deferred:
        return self.send_action(actions.queue_add(
            queue, interface, member_name=member_name, penalty=penalty, paused=paused,
            reason=reason, state_interface=state_interface))

    def queue_remove(self, queue: str, interface: str) -> Deferred:
        return self.send_action(actions.queue_remove(queue, interface))

    def queue_pause(self, interface: str, paused: bool, *, queue: str | None = None, reason: str | None = None) -> Deferred:
        return self.send_action(actions.queue_pause(interface, paused, queue=queue, reason=reason))

    def queue_status(self, queue: str | None = None, member: str | None = None, *,
                     timeout: float | None = None) -> Deferred[ListResult]:
        return self.send_list_action(actions.queue_status(queue, member), timeout=timeout)

    def hangup(self, channel: str, cause: int | None = None) -> Deferred:
        return self.send_action(actions.hangup(channel, cause))

    def setvar(self, variable: str, value: object, channel: str | None = None) -> Deferred:
        return self.send_action(actions.setvar(variable, value, channel))

    def channel_status(self, channel: str, *, timeout: float | None = None) -> Deferred[ListResult]:
        return self.send_list_action(actions.status(channel), timeout=timeout)

    def getvar(self, variable: str, channel: str | None = None) -> Deferred:
        return self.send_action(actions.getvar(variable, channel))

    def ping(self) -> Deferred:
        return self.send_action(actions.ping())

    def core_settings(self) -> Deferred:
        return self.send_action(actions.core_settings())

    def logoff(self) -> Deferred:
        return self.send_action(Message.action("Logoff"))


class ProtocolOptions(TypedDict, total=False):
    """The `AMIClientProtocol` settings a factory passes to each protocol it builds."""

    action_timeout: float
    ping_interval: float | None
    ping_timeout: float | None
    originate_timeout: float


class AMIClientFactory(Factory):
    """Builds one `AMIClientProtocol` per connection, each with its own ActionID prefix
    (``<name>-<instance>-<connection>-<counter>``) so that an answer meant for a previous
    connection, or for another process, is never taken for this one's."""

    noisy = False  # reconnection attempts are logged once per state change by the service

    def __init__(
        self,
        clock: IReactorTime,
        dispatcher: EventDispatcher,
        *,
        name: str = "hotline",
        instance: str | None = None,
        **protocol_options: Unpack[ProtocolOptions],
    ):
        self.clock = clock
        self.dispatcher = dispatcher
        # Asterisk sends every OriginateResponse to every manager session, and several
        # hotline processes share one Asterisk: the instance token keeps their ActionIDs apart.
        self.name = f"{name}-{instance if instance is not None else secrets.token_hex(3)}"
        self.protocol_options = protocol_options
        self.connections = 0

    def buildProtocol(self, addr: object) -> AMIClientProtocol:
        self.connections += 1
        protocol = AMIClientProtocol(
            self.clock,
            self.dispatcher,
            action_id_prefix=f"{self.name}-{self.connections}-",
            **self.protocol_options,
        )
        protocol.factory = self
        return protocol
