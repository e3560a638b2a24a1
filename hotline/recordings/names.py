"""The file names that tie a recording to its call: the one convention the dialplan in
docs/asterisk/ writes and the index reads.

    call-<HOTLINE_CALL_ID>.<fmt>              an agent's call from the queue
    callback-<TASK_ID>-<TASK_ATTEMPT>.<fmt>   a callback task's attempt (its row id)
    <HOTLINE_CALL_ID>.<fmt>                   a voice message ([ivr] voice_message_dir)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.recordings import RecordingKind

FORMATS = ("wav", "gsm", "wav49", "mp3", "ogg")
_ID = r"[A-Za-z0-9_-]{1,64}"
_FMT = "(?:" + "|".join(FORMATS) + ")"
_CALL = re.compile(rf"call-(?P<call_id>{_ID})\.{_FMT}\Z")
_CALLBACK = re.compile(rf"callback-(?P<task>\d{{1,12}})-(?P<attempt>\d{{1,12}})\.{_FMT}\Z")
_VOICE = re.compile(rf"(?P<call_id>{_ID})\.{_FMT}\Z")

RECORDINGS = "recordings"  # [recordings] dir
VOICE_MESSAGES = "voice_messages"  # [ivr] voice_message_dir


@dataclass(frozen=True)
class Named:
    kind: RecordingKind
    call_id: str | None = None
    task_id: int | None = None
    attempt_id: int | None = None


def parse(source: str, name: str) -> Named | None:
    """What a file's name says, or None for a file that is not a recording of ours (a
    partial `.tmp`, an operator's copy): such files are left alone."""
    if source == VOICE_MESSAGES:
        found = _VOICE.match(name)
        return Named(RecordingKind.VOICE_MESSAGE, call_id=found["call_id"]) if found else None
    if found := _CALL.match(name):
        return Named(RecordingKind.CALL, call_id=found["call_id"])
    if found := _CALLBACK.match(name):
        return Named(RecordingKind.CALLBACK, task_id=int(found["task"]),
                     attempt_id=int(found["attempt"]))
    return None


def call_file(call_id: str, fmt: str = "wav") -> str:
    return f"call-{call_id}.{fmt}"


def callback_file(task_id: int, attempt_id: int, fmt: str = "wav") -> str:
    return f"callback-{task_id}-{attempt_id}.{fmt}"


def roots(recordings_dir: str, voice_message_dir: str) -> dict[str, str]:
    """Each source's directory: where the index reads, the purge deletes and the pages play."""
    return {RECORDINGS: recordings_dir, VOICE_MESSAGES: voice_message_dir}
