"""Reading the Asterisk 23.4.1 golden FastAGI transcripts (tests/golden/asterisk-23.4.1)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "asterisk-23.4.1"
# Recorded later (README.txt's second table): a fresh Asterisk per call, configured from
# docs/asterisk (language zh, the queue with live members). Their replays and comparisons are
# in test_golden_queue_and_media.py; AGI_SCENARIOS are the first session's probe scenarios,
# which test_simulator_golden.py and test_agi_protocol.py replay one by one.
LATER_AGI_SCENARIOS = (
    "agi_device_unavailable",
    "agi_queue_agent_hangs_up",
    "agi_queue_wrapup",
    "agi_record_writefile",
    "agi_say_datetime_zone",
    "agi_say_datetime_zone_files",
    "agi_threeway_by_name",
)
AGI_SCENARIOS = sorted(p.stem for p in GOLDEN.glob("agi_*.txt") if p.stem not in LATER_AGI_SCENARIOS)


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


def notes(name: str) -> list[str]:
    """The '#' notes of a transcript, without their '# [t=...] ' prefix."""
    return [re.sub(r"^# (\[t=[0-9.]+\] )?", "", e.text) for e in events(name) if e.kind == "#"]


def normalise(text: str) -> str:
    """Blank the per-run values README.txt lists that a replay cannot reproduce: the end
    position of a playback interrupted by DTMF or a hang-up."""
    return _INTERRUPTED.sub(r"\1<interrupted>", text)
