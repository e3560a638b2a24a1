"""Event subscriptions: who wants which manager events.

The dispatcher outlives any one connection (the service owns it and hands it to each new
protocol), so a subscription made once keeps receiving events across reconnects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from twisted.logger import Logger

from hotline.ami.message import Message

WILDCARD = "*"

EventCallback = Callable[[Message], object]


@dataclass(eq=False)
class Subscription:
    """A handle on one subscription; `cancel` stops delivery."""

    name: str
    callback: EventCallback
    _dispatcher: EventDispatcher | None = field(repr=False, default=None)

    def cancel(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher._remove(self)
            self._dispatcher = None


class EventDispatcher:
    """Delivers each event to the subscribers of its name (any case) and of ``"*"``."""

    log = Logger()

    def __init__(self) -> None:
        self._byName: dict[str, list[Subscription]] = {}

    def subscribe(self, name: str, callback: EventCallback) -> Subscription:
        if not name:
            raise ValueError("event name must not be empty (use '*' for every event)")
        subscription = Subscription(name, callback, self)
        self._byName.setdefault(name.lower(), []).append(subscription)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        subscribers = self._byName.get(subscription.name.lower(), [])
        if subscription in subscribers:
            subscribers.remove(subscription)

    def dispatch(self, event: Message) -> None:
        name = (event.event or "").lower()
        targets = list(self._byName.get(name, ())) + list(self._byName.get(WILDCARD, ()))
        for subscription in targets:
            try:
                subscription.callback(event)
            except Exception:
                # One faulty subscriber must not starve the others or break the link.
                self.log.failure(
                    "AMI event subscriber {callback!r} failed on {event_name}",
                    callback=subscription.callback,
                    event_name=event.event,
                )
