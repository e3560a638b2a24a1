"""The call-channel API flows are written against: one awaitable method per AGI command.

Arguments are quoted as res_agi.c's `parse_args` reads them; answers are interpreted as Asterisk
documents them: GET DATA returns characters, the other digit-returning commands ASCII codes.

`200 result=-1` means "error or hang-up". The channel tells the two apart by asking
`CHANNEL STATUS` (refused with 511 on a dead channel) unless a HANGUP line already said so:
then a dead channel raises AGIResultHangup, and a live one raises AGISoundFileMissing for a
playback (Asterisk's answer to a missing sound file: `200 result=-1 endpos=0`, no HANGUP),
AGIRecordFailed for a recording Asterisk could not make (`(writefile)`, `(randomerror)`), or
AGIAppError otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from ivr.agi.errors import (
    AGIAppError,
    AGIDeadChannel,
    AGIError,
    AGIRecordFailed,
    AGIResultHangup,
    AGISoundFileMissing,
)
from ivr.agi.response import AGIResponse

if TYPE_CHECKING:
    from ivr.agi.environment import AGIEnvironment
    from ivr.agi.protocol import FastAGIProtocol

ALL_DIGITS = "0123456789*#"
_DTMF = set(ALL_DIGITS)
_BARE = re.compile(r'^[^\s"\\]+$')
# Playback commands wait for the caller; they get this much slack over their own timeouts.
MEDIA_SLACK_S = 120.0


def quote(value: object) -> str:
    """Always quoted: '"hello world"', '""', '"a\\"b"' (backslash escapes, as parse_args reads)."""
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValueError(f"AGI argument contains a line break: {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def arg(value: object) -> str:
    """Bare when it is one plain word (as the transcripts show: `SET VARIABLE FOO bar`),
    quoted otherwise."""
    text = str(value)
    return text if _BARE.match(text) else quote(text)


def _word(value: object, what: str) -> str:
    text = str(value)
    if not _BARE.match(text):
        raise ValueError(f"{what} must be one word without quotes or spaces: {text!r}")
    return text


def _escape(digits: str | Iterable[object]) -> str:
    text = digits if isinstance(digits, str) else "".join(str(d) for d in digits)
    bad = set(text) - _DTMF
    if bad:
        raise ValueError(f"escape digits may only be {ALL_DIGITS}: {text!r}")
    return quote(text)


def _ascii_digit(response: AGIResponse) -> str:
    """'0' -> '' (no digit), '53' -> '5'."""
    code = response.result_int()
    if code is None or code < 0:
        raise AGIError(f"not a digit code: {response.line!r}")
    return "" if code == 0 else chr(code)


@dataclass(frozen=True)
class RecordingResult:
    """RECORD FILE's answer: the digit that stopped it ('' if none), why ('dtmf', 'timeout',
    'hangup', or '' when Asterisk gives no reason), and the end position in samples."""

    digit: str
    reason: str
    endpos: int | None


class AGIChannel:
    """One call, as a flow sees it. Every method returns an awaitable (a Deferred)."""

    def __init__(
        self, protocol: "FastAGIProtocol", env: "AGIEnvironment", media_slack: float = MEDIA_SLACK_S
    ) -> None:
        self._protocol = protocol
        self.env = env
        self.media_slack = media_slack

    @property
    def hung_up(self) -> bool:
        """True once Asterisk sent the unsolicited HANGUP line."""
        return self._protocol.hung_up

    async def command(self, line: str, timeout: float | None = None) -> AGIResponse:
        """Send a raw AGI command line and return its `200` answer (5xx raise)."""
        return await self._protocol.sendCommand(line, timeout)

    def _media_timeout(self, expected_ms: int | float = 0) -> float | None:
        base = self._protocol.command_timeout
        if not base:
            return 0
        return base + self.media_slack + max(0.0, float(expected_ms)) / 1000.0

    async def _minus_one(self, command: str, live: AGIAppError) -> None:
        """Decide what `result=-1` meant: `live` is raised when the channel is still up."""
        if not self._protocol.hung_up:
            try:
                await self._protocol.sendCommand("CHANNEL STATUS")
            except AGIDeadChannel:
                pass
            else:
                raise live
        raise AGIResultHangup(f"caller hung up during {command!r}")

    async def _checked(self, line: str, timeout: float | None = None, playback: str | None = None,
                       recording: str | None = None) -> AGIResponse:
        response = await self._protocol.sendCommand(line, timeout)
        if response.data == "hangup":
            raise AGIResultHangup(f"caller hung up during {line!r}")
        if response.result == "-1":
            if playback is not None:
                live: AGIAppError = AGISoundFileMissing(playback)
            elif recording is not None and response.data in ("writefile", "randomerror"):
                live = AGIRecordFailed(recording, response.data)
            else:
                live = AGIAppError(f"{line!r} failed on a live channel")
            await self._minus_one(line, live)
        return response

    # -- call control ---------------------------------------------------------------------
    async def answer(self) -> None:
        await self._checked("ANSWER")

    async def hangup(self) -> None:
        await self._checked("HANGUP")

    async def channel_status(self) -> int:
        response = await self._protocol.sendCommand("CHANNEL STATUS")
        return int(response.result)

    async def verbose(self, message: str, level: int = 1) -> None:
        await self._protocol.sendCommand(f"VERBOSE {quote(message)} {int(level)}")

    async def exec_(self, app: str, options: str | Iterable[object] = "", timeout: float | None = 0) -> int:
        """EXEC <app> <options>; e.g. exec_('Queue', 'hotline,,,,300') or exec_('Goto', ('ctx', 's', 1)).

        Returns Asterisk's result (0 normally). No command timeout by default: a Queue lasts
        as long as the caller waits, and its own timeout option bounds it."""
        text = options if isinstance(options, str) else ",".join(str(o) for o in options)
        line = f"EXEC {_word(app, 'application')}" + (f" {arg(text)}" if text else "")
        response = await self._checked(line, timeout)
        if response.result == "-2":
            raise AGIAppError(f"application {app!r} not found")
        return int(response.result)

    # -- variables ------------------------------------------------------------------------
    async def set_variable(self, name: str, value: object) -> None:
        await self._protocol.sendCommand(f"SET VARIABLE {_word(name, 'variable name')} {arg(value)}")

    async def get_variable(self, name: str) -> str | None:
        """The variable's value, or None when it is not set."""
        response = await self._protocol.sendCommand(f"GET VARIABLE {_word(name, 'variable name')}")
        return response.data if response.result == "1" else None

    async def get_full_variable(self, expression: str) -> str | None:
        """Evaluate a dialplan expression, e.g. '${QUEUE_WAITING_COUNT(hotline)}'."""
        response = await self._protocol.sendCommand(f"GET FULL VARIABLE {arg(expression)}")
        return response.data if response.result == "1" else None

    # -- media ----------------------------------------------------------------------------
    async def stream_file(self, name: str, escape_digits: str = "", offset: int | None = None) -> str:
        """Play a sound file; the digit that interrupted it, or ''."""
        line = f"STREAM FILE {_word(name, 'file name')} {_escape(escape_digits)}"
        if offset:
            line += f" {int(offset)}"
        response = await self._checked(line, self._media_timeout(), playback=name)
        return _ascii_digit(response)

    async def get_data(self, prompt: str, timeout_ms: int = 5000, max_digits: int = 1) -> str:
        """Play `prompt` and collect up to `max_digits` keys ended by # or the timeout.
        Returns the characters typed ('' when nothing or only # was pressed)."""
        line = f"GET DATA {_word(prompt, 'file name')} {int(timeout_ms)} {int(max_digits)}"
        expected = int(timeout_ms) * (int(max_digits) + 1)
        response = await self._checked(line, self._media_timeout(expected), playback=prompt)
        return response.result

    async def wait_for_digit(self, timeout_ms: int = 5000) -> str:
        """The digit pressed within the timeout, or '' (timeout_ms=-1 waits for ever)."""
        response = await self._checked(
            f"WAIT FOR DIGIT {int(timeout_ms)}", 0 if timeout_ms < 0 else self._media_timeout(timeout_ms)
        )
        return _ascii_digit(response)

    async def say_digits(self, digits: str | int, escape_digits: str = "") -> str:
        text = str(digits)
        if not text.isdigit():
            raise ValueError(f"SAY DIGITS takes digits: {text!r}")
        response = await self._checked(f"SAY DIGITS {text} {_escape(escape_digits)}", self._media_timeout())
        return _ascii_digit(response)

    async def say_number(self, number: int, escape_digits: str = "") -> str:
        response = await self._checked(f"SAY NUMBER {int(number)} {_escape(escape_digits)}", self._media_timeout())
        return _ascii_digit(response)

    async def say_date(self, seconds: int, escape_digits: str = "") -> str:
        """Say the date of `seconds` since the epoch (Asterisk speaks it in the channel's zone)."""
        response = await self._checked(f"SAY DATE {int(seconds)} {_escape(escape_digits)}", self._media_timeout())
        return _ascii_digit(response)

    async def record_file(
        self,
        path: str,
        fmt: str = "wav",
        escape_digits: str = "#",
        timeout_ms: int = 60000,
        beep: bool = True,
        silence_s: int | None = None,
    ) -> RecordingResult:
        """RECORD FILE <path> <fmt> "<escape>" <timeout_ms> [BEEP] [s=<silence_s>]. A live
        channel's `(writefile)` or `(randomerror)` -1 raises AGIRecordFailed; the escape key
        pressed during the beep is `(randomerror)` with that key and endpos 0: nothing kept."""
        line = f"RECORD FILE {_word(path, 'recording path')} {_word(fmt, 'format')} {_escape(escape_digits)} {int(timeout_ms)}"
        if beep:
            line += " BEEP"
        if silence_s:
            line += f" s={int(silence_s)}"
        response = await self._checked(line, self._media_timeout(timeout_ms),
                                       recording=f"{path}.{fmt}")
        return RecordingResult(_ascii_digit(response), response.data or "", response.endpos)
