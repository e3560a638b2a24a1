"""The caller's side of a simulated call: what they press, and when they hang up.

A script is space-separated turns, each used by the next prompt that listens for keys
(a playback with escape digits, GET DATA, WAIT FOR DIGIT, RECORD FILE, ...):

    "4"       press 4              "2026112800001#"  type the digits and #
    "_"       press nothing (the prompt plays out or times out)
    "4H"      press 4, then hang up before the command finishes
    "H"       hang up during the next command that takes time (any playback, wait, EXEC)

Keys left over after a key interrupted a prompt stay buffered for the next listening prompt,
as DTMF typed ahead does on a real channel. "4 2026112800001#" = press 4 at the menu, then
type the case number and # at the next prompt.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

_TURN = re.compile(r"^(?P<keys>[0-9*#]*)(?P<hangup>[Hh]?)$")


@dataclass(frozen=True)
class Turn:
    keys: str = ""
    hangup: bool = False

    @property
    def silent(self) -> bool:
        return not self.keys and not self.hangup


class ScriptError(ValueError):
    """A caller script turn that is neither keys, '_', nor a hang-up."""


def parse_script(text: str) -> tuple[Turn, ...]:
    turns = []
    for token in text.split():
        if token in ("_", "-"):
            turns.append(Turn())
            continue
        match = _TURN.match(token)
        if match is None or not token:
            raise ScriptError(
                f"caller script turn {token!r}: use keys 0-9 * #, '_' for silence, 'H' to hang up"
            )
        turns.append(Turn(match.group("keys"), bool(match.group("hangup"))))
    return tuple(turns)


class CallerScript:
    """The turns still to come, consumed by the simulated channel."""

    def __init__(self, turns: str | tuple[Turn, ...] = ()) -> None:
        self._turns = deque(parse_script(turns) if isinstance(turns, str) else turns)

    def __len__(self) -> int:
        return len(self._turns)

    def take(self, listening: bool) -> Turn | None:
        """The turn this command uses, or None when it plays out untouched: a listening
        command takes the next turn; any command that takes time takes a bare hang-up."""
        if not self._turns:
            return None
        head = self._turns[0]
        if listening or (head.hangup and not head.keys):
            return self._turns.popleft()
        return None

    def push_back(self, turn: Turn) -> None:
        """Keys typed ahead (or a pending hang-up) go back to the front."""
        if not turn.silent:
            self._turns.appendleft(turn)
