"""The AMI link as a service: connect, log in, stay connected, and offer the actions.

A `ClientService` keeps one connection up with backoff and logs in through
``prepareConnection``; event subscriptions live here, not on a connection, so they survive
reconnects. While Asterisk is absent the service retries quietly: it logs when the link's
state changes (up, refused, unreachable, lost), not at every attempt. Events sent while the
link was down are lost for good: `on_login` tells a subscriber each time a connection has
logged in, so that it can ask Asterisk what it missed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar, cast

from twisted.application.internet import ClientService, backoffPolicy
from twisted.application.service import MultiService
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.defer import TimeoutError as DeferredTimeoutError
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.interfaces import (
    IProtocol,
    IProtocolFactory,
    IReactorTime,
    IStreamClientEndpoint,
)
from twisted.logger import (
    FilteringLogObserver,
    ILogFilterPredicate,
    Logger,
    LogLevel,
    PredicateResult,
    globalLogPublisher,
)
from twisted.python.failure import Failure
from zope.interface import implementer

from hotline.ami import actions
from hotline.ami.errors import AMIAuthenticationError, AMINotConnected
from hotline.ami.events import EventCallback, EventDispatcher, Subscription
from hotline.ami.message import Message
from hotline.ami.protocol import AUTH_MD5, AUTH_PLAIN, AMIClientFactory, AMIClientProtocol
from hotline.interfaces import IReactor
from hotline.reconnect import guarded

T = TypeVar("T")


def _notRetryChatter(event: dict) -> PredicateResult:
    # ClientService logs every scheduled retry at info level; the AMI service reports
    # state changes itself, so those lines are demoted to nothing.
    if event.get("log_level") == LogLevel.info and str(event.get("log_format", "")).startswith("Scheduling retry"):
        return PredicateResult.no
    return PredicateResult.maybe


class _QuietClientService(ClientService):
    # A function is a filter predicate (the interface is its __call__), which the type
    # checker cannot see.
    _log = Logger(observer=FilteringLogObserver(
        globalLogPublisher, [cast(ILogFilterPredicate, _notRetryChatter)]))


@implementer(IStreamClientEndpoint)
class _ObservedEndpoint:
    """Passes connection attempts through and reports the ones that fail."""

    def __init__(self, endpoint: IStreamClientEndpoint, onFailure: Callable[[Failure], None]):
        self._endpoint = endpoint
        self._onFailure = onFailure

    def connect(self, factory: IProtocolFactory) -> Deferred[IProtocol]:
        def failed(failure: Failure) -> Failure:
            self._onFailure(failure)
            return failure

        return self._endpoint.connect(factory).addErrback(failed)

    def __repr__(self) -> str:
        return repr(self._endpoint)


LoginCallback = Callable[[], object]


@dataclass(eq=False)
class LoginSubscription:
    """A handle on one `AMIService.on_login` callback; `cancel` stops it."""

    callback: LoginCallback
    _listeners: list[LoginSubscription] | None = field(repr=False, default=None)

    def cancel(self) -> None:
        if self._listeners is not None and self in self._listeners:
            self._listeners.remove(self)
        self._listeners = None


class AMIService(MultiService):
    """The manager link of one hotline process.

    Actions wait up to ``connect_wait`` seconds for a logged-in connection, then fail with
    `AMINotConnected`.
    """

    log = Logger()

    # States reported in the log (once per change).
    CONNECTING = "connecting"
    LOGGED_IN = "logged in"
    UNREACHABLE = "unreachable"
    REFUSED = "login refused"
    LOST = "link lost"
    STOPPED = "stopped"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5038,
        username: str = "hotline",
        secret: str = "",
        *,
        auth: str = AUTH_MD5,
        reactor: IReactor | None = None,
        clock: IReactorTime | None = None,
        endpoint: IStreamClientEndpoint | None = None,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = None,
        action_timeout: float = 10.0,
        originate_timeout: float = 60.0,
        connect_wait: float = 5.0,
        retry_initial_delay: float = 1.0,
        retry_max_delay: float = 60.0,
        retry_policy: Callable[[int], float] | None = None,
        events: str | None = "on",
        name: str = "hotline",
        instance: str | None = None,
    ):
        super().__init__()
        if auth not in (AUTH_MD5, AUTH_PLAIN):
            raise ValueError(f"AMI auth must be {AUTH_MD5!r} or {AUTH_PLAIN!r}, not {auth!r}")
        if not username:
            raise ValueError("AMI username must not be empty")
        if not (0 < int(port) < 65536):
            raise ValueError(f"AMI port out of range: {port!r}")
        if clock is None:
            clock = reactor
        if clock is None:
            raise ValueError("AMIService needs a clock (or a reactor)")
        if endpoint is None:
            if reactor is None:
                raise ValueError("AMIService needs a reactor to build its TCP endpoint (or an endpoint)")
            endpoint = HostnameEndpoint(reactor, host, int(port), timeout=10)
        self.setName("ami")
        self.host = host
        self.port = int(port)
        self.username = username
        self._secret = secret
        self.auth = auth
        self.events = events
        self.clock = clock
        self.connect_wait = connect_wait
        self.dispatcher = EventDispatcher()
        self.factory = AMIClientFactory(
            clock,
            self.dispatcher,
            name=name,
            instance=instance,
            action_timeout=action_timeout,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            originate_timeout=originate_timeout,
        )
        self.state = self.STOPPED
        self.since = clock.seconds()  # when `up` last changed (clock seconds), for /healthz
        self.protocol: AMIClientProtocol | None = None
        self._loginListeners: list[LoginSubscription] = []
        policy = retry_policy or backoffPolicy(initialDelay=retry_initial_delay, maxDelay=retry_max_delay)
        self.client = _QuietClientService(
            # Asterisk closes the link after a refused Login: `guarded` keeps that loss from
            # ClientService, which has counted the failed attempt already.
            _ObservedEndpoint(guarded(endpoint), self._attemptFailed),
            self.factory,
            retryPolicy=policy,
            clock=clock,
            prepareConnection=self._prepare,
        )
        self.client.setServiceParent(self)

    # -- state ----------------------------------------------------------------------------

    @property
    def up(self) -> bool:
        """Logged in: actions can be sent now."""
        return self.state == self.LOGGED_IN

    def _setState(self, state: str, detail: str = "") -> None:
        if state == self.state:
            return
        if (state == self.LOGGED_IN) != self.up:
            self.since = self.clock.seconds()
        self.state = state
        where = f"{self.host}:{self.port}"
        if state == self.LOGGED_IN:
            self.log.info("AMI {where}: logged in as {username}", where=where, username=self.username)
        elif state == self.UNREACHABLE:
            self.log.warn("AMI {where}: unreachable ({detail}); retrying quietly with backoff", where=where, detail=detail)
        elif state == self.REFUSED:
            self.log.error("AMI {where}: {detail}; retrying with backoff", where=where, detail=detail)
        elif state == self.LOST:
            self.log.warn("AMI {where}: link lost ({detail}); reconnecting", where=where, detail=detail)
        else:
            self.log.info("AMI {where}: {state}", where=where, state=state)

    def _attemptFailed(self, failure: Failure) -> None:
        self._setState(self.UNREACHABLE, failure.getErrorMessage())

    def _prepare(self, built: IProtocol) -> Deferred:
        protocol = cast(AMIClientProtocol, built)  # what self.factory builds
        d = protocol.login(self.username, self._secret, self.auth, self.events)

        def loggedIn(_response: Message) -> None:
            self.protocol = protocol
            self._setState(self.LOGGED_IN)
            protocol.whenLost().addCallback(self._lost, protocol)
            self._loggedIn()

        def refused(failure: Failure) -> Failure:
            if failure.check(AMIAuthenticationError):
                self._setState(self.REFUSED, str(failure.value))
            else:
                self._setState(self.UNREACHABLE, f"login did not complete: {failure.getErrorMessage()}")
            if protocol.transport is not None:
                protocol.transport.loseConnection()
            return failure

        return d.addCallbacks(loggedIn, refused)

    def _loggedIn(self) -> None:
        for listener in list(self._loginListeners):
            try:
                listener.callback()
            except Exception:
                self.log.failure("AMI login listener {callback!r} failed",
                                 callback=listener.callback)

    def _lost(self, why: str, protocol: AMIClientProtocol) -> None:
        if self.protocol is protocol:
            self.protocol = None
        if self.running:
            self._setState(self.LOST, why)

    def startService(self) -> None:
        self._setState(self.CONNECTING)
        super().startService()

    def stopService(self) -> Deferred:
        self._setState(self.STOPPED)
        return super().stopService()

    # -- public API -----------------------------------------------------------------------

    def subscribe(self, event_name: str, callback: EventCallback) -> Subscription:
        """Call ``callback(event)`` for every event named ``event_name`` (any case; ``"*"``
        for all), on this and every later connection."""
        return self.dispatcher.subscribe(event_name, callback)

    def on_login(self, callback: LoginCallback) -> LoginSubscription:
        """Call ``callback()`` each time a connection has logged in: the first and every
        one after a lost link. Actions sent from it wait for the link as any other does."""
        subscription = LoginSubscription(callback, self._loginListeners)
        self._loginListeners.append(subscription)
        return subscription

    def when_logged_in(self, timeout: float | None = None) -> Deferred:
        """Fires with the logged-in `AMIClientProtocol`, or fails with `AMINotConnected`
        after ``timeout`` seconds (default ``connect_wait``)."""
        seconds = self.connect_wait if timeout is None else timeout
        d = self.client.whenConnected()
        d.addTimeout(seconds, self.clock)

        def notConnected(failure: Failure) -> Failure:
            failure.trap(DeferredTimeoutError, CancelledError)
            raise AMINotConnected(f"no logged-in AMI connection to {self.host}:{self.port} within {seconds}s ({self.state})")

        return d.addErrback(notConnected)

    def _run(self, call: Callable[[AMIClientProtocol], Awaitable[T]]) -> Deferred:
        async def run() -> T:
            protocol = await self.when_logged_in()
            return await call(protocol)

        return Deferred.fromCoroutine(run())

    def send_action(self, action: Message, *, timeout: float | None = None) -> Deferred:
        return self._run(lambda p: p.send_action(action, timeout=timeout))

    def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int | str = 1,
        application: str | None = None,
        data: str | None = None,
        caller_id: str | None = None,
        timeout_ms: int | None = 30000,
        variables: Mapping[str, object] | Iterable[tuple[str, object]] = (),
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        account: str | None = None,
        response_timeout: float | None = None,
    ) -> Deferred:
        """Originate (Async). Fires with an `OriginateResult` (``.success``, ``.reason`` an
        `OriginateReason`, ``.uniqueid``); fails with `AMIActionError` (not queued),
        `OriginateTimeout` (no OriginateResponse within ``response_timeout`` seconds,
        default the service's ``originate_timeout``), `AMIConnectionLost` or `AMINotConnected`."""
        action = actions.originate(
            channel,
            context=context,
            exten=exten,
            priority=priority,
            application=application,
            data=data,
            caller_id=caller_id,
            timeout_ms=timeout_ms,
            variables=variables,
            channel_id=channel_id,
            other_channel_id=other_channel_id,
            account=account,
        )
        return self._run(lambda p: p.originate(action, timeout=response_timeout))

    def queue_add(self, queue: str, interface: str, *, member_name: str | None = None,
                  penalty: int | None = None, paused: bool | None = None,
                  reason: str | None = None, state_interface: str | None = None) -> Deferred:
        """Fires with the response `Message` ("Added interface to queue")."""
        action = actions.queue_add(queue, interface, member_name=member_name, penalty=penalty,
                                   paused=paused, reason=reason,
                                   state_interface=state_interface)
        return self._run(lambda p: p.send_action(action))

    def queue_remove(self, queue: str, interface: str) -> Deferred:
        action = actions.queue_remove(queue, interface)
        return self._run(lambda p: p.send_action(action))

    def queue_pause(self, interface: str, paused: bool, *, queue: str | None = None, reason: str | None = None) -> Deferred:
        action = actions.queue_pause(interface, paused, queue=queue, reason=reason)
        return self._run(lambda p: p.send_action(action))

    def queue_status(self, queue: str | None = None, member: str | None = None, *,
                     timeout: float | None = None) -> Deferred:
        """Fires with a `ListResult` (QueueParams, QueueMember, QueueEntry events); fails
        with `AMIUnexpectedResponse` if Asterisk answers without the list, `AMIActionTimeout`
        if the list does not end within ``timeout`` (default the action timeout)."""
        action = actions.queue_status(queue, member)
        return self._run(lambda p: p.send_list_action(action, timeout=timeout))

    def channel_status(self, channel: str, *, timeout: float | None = None) -> Deferred:
        """Status of one channel, by name or Uniqueid: fires with a `ListResult` (its Status
        event: BridgeID, Application, ...); fails with `AMIActionError` whose message is "No
        such channel" once the channel is gone."""
        action = actions.status(channel)
        return self._run(lambda p: p.send_list_action(action, timeout=timeout))

    def getvar(self, variable: str, channel: str | None = None) -> Deferred:
        """Fires with the response `Message` (its ``Value``); without a channel, a global
        variable or a dialplan function such as ``QUEUE_MEMBER(hotline,ready)``."""
        action = actions.getvar(variable, channel)
        return self._run(lambda p: p.send_action(action))

    def redirect(self, channel: str, *, context: str, exten: str, priority: int | str = 1,
                 extra_channel: str | None = None) -> Deferred:
        """Fires with the response `Message`; fails with `AMIActionError` whose message is
        "Channel does not exist: <channel>" when a channel is gone."""
        action = actions.redirect(channel, context=context, exten=exten, priority=priority,
                                  extra_channel=extra_channel)
        return self._run(lambda p: p.send_action(action))

    def hangup(self, channel: str, cause: int | None = None) -> Deferred:
        action = actions.hangup(channel, cause)
        return self._run(lambda p: p.send_action(action))

    def setvar(self, variable: str, value: object, channel: str | None = None) -> Deferred:
        action = actions.setvar(variable, value, channel)
        return self._run(lambda p: p.send_action(action))

    def ping(self) -> Deferred:
        return self._run(lambda p: p.send_action(actions.ping()))

    def core_settings(self) -> Deferred:
        return self._run(lambda p: p.send_action(actions.core_settings()))
