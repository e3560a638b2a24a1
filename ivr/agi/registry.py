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
        self._marking: set[str] = set()

    def register(self, name: str, flow: Flow, *, marks_done: bool = False) -> None:
        """`marks_done`: when the flow ends on purpose, the server sets HOTLINE_AGI_DONE=1 on
        the channel, for a dialplan that sends a caller whose session was cut short (the
        service process died mid-call) to the agents instead of hanging up."""
        key = name.strip("/")
        if not key:
            raise ValueError("a flow needs a non-empty name")
        if key in self._flows:
            raise DuplicateFlowError(f"flow {key!r} is already registered")
        self._flows[key] = flow
        if marks_done:
            self._marking.add(key)

    def marks_done(self, name: str) -> bool:
        return name.strip("/") in self._marking

    def lookup(self, name: str) -> Flow | None:
        return self._flows.get(name.strip("/"))

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._flows))
