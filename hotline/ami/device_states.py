"""The device states Asterisk reports for a queue member's phone: the `Status` of
QueueMemberAdded / QueueMemberStatus / QueueMemberPause / QueueMemberRemoved and of
QueueStatus's QueueMember (`enum ast_device_state`, include/asterisk/devicestate.h).

What each means for the hall, as app_queue.c reads them: a member is offered a queued call
only in Not in use or Unknown (member_status_available()); Invalid and Unavailable are a phone
Asterisk cannot reach (an unregistered or absent endpoint), which with
`joinempty = unavailable,invalid` is no member at all: callers get JOINEMPTY.
"""

from __future__ import annotations

import enum


class DeviceState(enum.IntEnum):
    UNKNOWN = 0       # the channel driver cannot tell
    NOT_INUSE = 1     # registered and idle
    INUSE = 2
    BUSY = 3
    INVALID = 4       # no such device (e.g. an endpoint that does not exist)
    UNAVAILABLE = 5   # not reachable (e.g. a PJSIP endpoint with no registered contact)
    RINGING = 6
    RINGINUSE = 7     # ringing while on a call
    ONHOLD = 8

    @classmethod
    def of(cls, status: str | int | None) -> DeviceState | None:
        """The state a `Status` field (or a stored code) names; None when absent or not one
        Asterisk has."""
        if status is None:
            return None
        try:
            return cls(int(str(status).strip()))
        except ValueError:
            return None

    @property
    def busy(self) -> bool:
        """The phone is on (or ringing into) a call."""
        return self in (DeviceState.INUSE, DeviceState.BUSY, DeviceState.RINGING,
                        DeviceState.RINGINUSE, DeviceState.ONHOLD)

    @property
    def unreachable(self) -> bool:
        """Asterisk cannot ring the phone at all: no queued call can reach the member."""
        return self in (DeviceState.INVALID, DeviceState.UNAVAILABLE)
