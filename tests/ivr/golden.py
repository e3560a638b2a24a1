"""Reading the Asterisk 23.4.1 golden FastAGI transcripts (tests/golden/asterisk-23.4.1)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "asterisk-23.4.1"
AGI_SCENARIOS = sorted(p.stem for p in GOLDEN.glob("agi_*.txt"))


@dataclass(frozen=True)
class Event:
    kind: str  # "A" (from Asterisk), "S" (from the probe), "#" (note)
    text: str  # the line with its terminator (A/S) or the note


@lru_cache(maxsize=None)
def events(name: str) -> tuple[Event, ...]:
    result = []
    raw = (GOLDEN / f"{name}.txt").read_bytes().decode("utf-8")
    for line in raw.splitlines(keepends=True):
        if line.startswith("A: ") or line.startswith("S: "):
            result.append(Event(line[0], line[3:]))
        elif line.startswith("#"):
            result.append(Event("#", line.rstrip("\n")))
    return tuple(result)


def headers(name: str) -> dict[str, str]:
    result = {}
    for event in events(name):
        if event.kind == "A" and event.text.startswith("agi_"):
            key, _, value = event.text.rstrip("\n").partition(": ")
            result[key] = value
    return result


@lru_cache(maxsize=None)
def from_asterisk(name: str) -> bytes:
    return (GOLDEN / "raw" / f"{name}.from_asterisk.bin").read_bytes()


@lru_cache(maxsize=None)
def to_asterisk(name: str) -> bytes:
    return (GOLDEN / "raw" / f"{name}.to_asterisk.bin").read_bytes()


_INTERRUPTED = re.compile(r"^(200 result=(?!0[ \n])[^ \n]*.*?endpos=)[1-9]\d*", re.M)


def normalise(text: str) -> str:
    """Blank the per-run values README.txt lists that a replay cannot reproduce: the end
    position of a playback interrupted by DTMF or a hang-up."""
    return _INTERRUPTED.sub(r"\1<interrupted>", text)
