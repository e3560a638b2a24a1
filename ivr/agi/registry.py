"""Flows by name: `AGI(agi://host:4573/<name>)` runs the flow registered as <name>."""

from __future__ import annotations

from typing import TYPE_CHECKING, Awaitable, Callable

from ivr.agi.errors import DuplicateFlowError

if TYPE_CHECKING:
    from ivr.agi.channel import AGIChannel
    from ivr.agi.environment import AGIEnvironment

Flow = Callable[["AGIChannel", "AGIEnvironment"], Awaitable[None]]


class FlowRegistry:
    """Explicit registration (no import side effects); a name can be registered once."""

    def __init__(self) -> None:
        self._flows: dict[str, Flow] = {}

    def register(self, name: str, flow: Flow) -> None:
        key = name.strip("/")
        if not key:
            raise ValueError("a flow needs a non-empty name")
        if key in self._flows:
            raise DuplicateFlowError(f"flow {key!r} is already registered")
        self._flows[key] = flow

    def lookup(self, name: str) -> Flow | None:
        return self._flows.get(name.strip("/"))

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._flows))
