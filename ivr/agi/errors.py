"""The one exception tree of the FastAGI side.

pyst2's classes are the vocabulary (a pyst2 user reads `except AGIHangup` without a glossary);
this module adds the conditions pyst2 cannot see because it is not a network server. Every
class below derives from `asterisk.agi.AGIException`:

    AGIException
    └── AGIError
        ├── AGIUnknownError
        ├── AGIUsageError            520 block (usage text in `.usage`)
        ├── AGIInvalidCommand        510
        └── AGIAppError              200 result=-1 on a live channel, EXEC result=-2, ...
            ├── AGISoundFileMissing  200 result=-1 from a playback while the channel is up
            ├── AGIRecordFailed      RECORD FILE's 200 result=-1 (writefile) or (randomerror),
            │                        the channel up: no file could be written, or no beep played
            ├── AGIDBError
            └── AGIHangup            the call is gone: the flow should wrap up quietly
                ├── AGIResultHangup      200 result=-1 and the channel is dead
                ├── AGIDeadChannel       511 (command refused on a dead channel)
                ├── AGISIGHUPHangup, AGISIGPIPEHangup   (pyst2's, unused here)
                └── AGIConnectionClosed  the FastAGI socket closed or was dropped
                    └── AGICommandTimeout   no answer in time (the session is dropped)
"""

from asterisk.agi import (
    AGIAppError,
    AGIDBError,
    AGIError,
    AGIException,
    AGIHangup,
    AGIInvalidCommand,
    AGIResultHangup,
    AGISIGHUPHangup,
    AGISIGPIPEHangup,
    AGIUnknownError,
    AGIUsageError,
)

__all__ = [
    "AGIException",
    "AGIError",
    "AGIUnknownError",
    "AGIAppError",
    "AGIHangup",
    "AGISIGHUPHangup",
    "AGISIGPIPEHangup",
    "AGIResultHangup",
    "AGIDBError",
    "AGIUsageError",
    "AGIInvalidCommand",
    "AGIDeadChannel",
    "AGISoundFileMissing",
    "AGIRecordFailed",
    "AGIConnectionClosed",
    "AGICommandTimeout",
    "DuplicateFlowError",
]


class AGIDeadChannel(AGIHangup):
    """`511 Command Not Permitted on a dead channel or intercept routine`."""


class AGISoundFileMissing(AGIAppError):
    """A playback answered `200 result=-1` and the channel is still up.

    Asterisk gives `200 result=-1 endpos=0` with no HANGUP line for a file it cannot open; the
    caller is still on the line, so this is deliberately *not* an AGIHangup.
    """

    def __init__(self, filename: str):
        super().__init__(f"sound file {filename!r} could not be played")
        self.filename = filename


class AGIRecordFailed(AGIAppError):
    """RECORD FILE answered `200 result=-1 (<reason>)` and the channel is still up (res_agi.c
    handle_recordfile): `writefile`, Asterisk could not create the file (its directory is
    missing or not Asterisk's to write); `randomerror`, the beep before the recording could
    not be played (Asterisk's core sounds are not installed). Nothing was recorded."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"RECORD FILE {path!r} failed ({reason})")
        self.path = path
        self.reason = reason


class AGIConnectionClosed(AGIHangup):
    """The FastAGI connection is gone (Asterisk closed it, or we dropped it for a reason that
    was logged where it happened)."""


class AGICommandTimeout(AGIConnectionClosed):
    """Asterisk did not answer a command in time; the session was dropped because a late answer
    could no longer be matched to its command."""


class DuplicateFlowError(ValueError):
    """A flow name was registered twice."""
