"""Asterisk's answers to AGI commands, parsed line by line with no I/O.

The grammar is what res_agi.c writes (`ast_agi_send`) and the 23.4.1 transcripts show:

    200 result=<value>[ (<data>)][ <key>=<value>...]   e.g. `200 result=35 (dtmf) endpos=0`
    510 Invalid or unknown command
    511 Command Not Permitted on a dead channel or intercept routine
    520-Invalid command syntax.  Proper usage follows:  ...usage lines...  520 End of proper usage.
    520 Invalid command syntax.  Proper usage not available.
    HANGUP                                              (unsolicited: never an answer)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ivr.agi.errors import AGIDeadChannel, AGIException, AGIInvalidCommand, AGIUsageError

_SUCCESS = re.compile(
    r"^200 result=(?P<result>[^ ]*)(?: \((?P<data>.*)\))?(?P<rest>(?: [A-Za-z_][\w-]*=[^ ]*)*)$"
)
_FIELD = re.compile(r" ([A-Za-z_][\w-]*)=([^ ]*)")
HANGUP_LINE = "HANGUP"


class GarbageLine(ValueError):
    """A line that is not part of the FastAGI grammar."""


@dataclass(frozen=True)
class AGIResponse:
    """A `200` answer. `result` is kept as text: GET DATA answers characters (`12`, `*`, ``),
    the other commands numbers or ASCII codes."""

    result: str
    data: str | None = None
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    line: str = ""

    @property
    def endpos(self) -> int | None:
        value = self.fields.get("endpos")
        return int(value) if value is not None and _is_int(value) else None

    def result_int(self) -> int | None:
        return int(self.result) if _is_int(self.result) else None


def _is_int(text: str) -> bool:
    return bool(re.fullmatch(r"-?\d+", text))


class HangupNotice:
    """The unsolicited `HANGUP` line: the caller is gone; not the answer to any command."""

    def __repr__(self) -> str:
        return "HANGUP"


HANGUP = HangupNotice()


def parse_success(line: str) -> AGIResponse:
    match = _SUCCESS.match(line)
    if match is None:
        raise GarbageLine(f"malformed 200 answer: {line[:120]!r}")
    fields = dict(_FIELD.findall(match.group("rest")))
    return AGIResponse(
        result=match.group("result"),
        data=match.group("data"),
        fields=MappingProxyType(fields),
        line=line,
    )


class ResponseParser:
    """Feed it lines; it returns a complete answer (AGIResponse or an AGIException instance),
    HANGUP, or None while inside a multi-line 520 block. Raises GarbageLine on anything else,
    and on a 520 block longer than any usage text Asterisk has (`MAX_USAGE_LINES` lines or
    `MAX_USAGE_BYTES` bytes): the block is kept until its end line, so one that never ends
    would otherwise grow without bound."""

    # The usage texts res_agi.c sends are a command's XML description: a dozen lines and a
    # few KiB at most (ivr/simulator/usage.py has the 23.4.1 ones).
    MAX_USAGE_LINES = 100
    MAX_USAGE_BYTES = 32 * 1024

    def __init__(self) -> None:
        self._usage: list[str] | None = None
        self._usage_bytes = 0

    @property
    def in_usage_block(self) -> bool:
        return self._usage is not None

    def feed(self, line: str) -> AGIResponse | AGIException | HangupNotice | None:
        if self._usage is not None:
            if line.startswith("520 "):
                usage, self._usage = self._usage, None
                return AGIUsageError("\n".join(usage))
            self._usage_bytes += len(line.encode("utf-8")) + 1
            if (len(self._usage) >= self.MAX_USAGE_LINES
                    or self._usage_bytes > self.MAX_USAGE_BYTES):
                self._usage = None
                raise GarbageLine(f"520 usage block over {self.MAX_USAGE_LINES} lines or "
                                  f"{self.MAX_USAGE_BYTES} bytes")
            self._usage.append(line)
            return None
        if line == HANGUP_LINE:
            return HANGUP
        if line.startswith("200 "):
            return parse_success(line)
        if line.startswith("510 "):
            return AGIInvalidCommand(line[4:])
        if line.startswith("511 "):
            return AGIDeadChannel(line[4:])
        if line.startswith("520-"):
            self._usage = []
            self._usage_bytes = 0
            return None
        if line.startswith("520 "):
            return AGIUsageError(line[4:])
        raise GarbageLine(f"not a FastAGI answer: {line[:120]!r}")
