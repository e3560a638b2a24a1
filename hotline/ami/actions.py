"""The actions this service sends, built as `Message`s, and the results they come back as.

Pure functions, no I/O: the protocol adds the ActionID and writes them. Field names and order
follow manager.c and app_queue.c of Asterisk 23.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hotline.ami.message import Message
from hotline.masking import mask_phone

UNKNOWN = "<unknown>"


class OriginateReason(enum.IntEnum):
    """The ``Reason`` of an OriginateResponse: the last control frame Asterisk saw."""

    FAILED = 0  # the channel could not be created or dialled (no route, no such extension)
    HANGUP = 1  # the far end hung up / the call failed before answer
    NO_ANSWER = 3  # it rang until the Originate Timeout
    ANSWERED = 4
    BUSY = 5
    CONGESTION = 8
    UNKNOWN = -1  # any code Asterisk may add later

    @classmethod
    def from_code(cls, code: int) -> OriginateReason:
        try:
            return cls(code)
        except ValueError:
            return cls.UNKNOWN

    @property
    def failed(self) -> bool:
        """True for the reasons this service treats as 'the call could not be placed'."""
        return self in (OriginateReason.FAILED, OriginateReason.HANGUP, OriginateReason.UNKNOWN)


@dataclass(frozen=True)
class OriginateResult:
    """What an OriginateResponse event said about one Originate."""

    action_id: str
    success: bool
    reason: OriginateReason
    reason_code: int
    channel: str
    uniqueid: str | None
    event: Message

    @property
    def answered(self) -> bool:
        return self.success and self.reason is OriginateReason.ANSWERED

    @classmethod
    def from_event(cls, event: Message) -> OriginateResult:
        raw_reason = event.get("Reason", "")
        try:
            code = int(raw_reason)
        except ValueError:
            code = -1
        uniqueid = event.get("Uniqueid")
        return cls(
            action_id=event.get("ActionID", ""),
            success=(event.get("Response", "").lower() == "success"),
            reason=OriginateReason.from_code(code),
            reason_code=code,
            channel=event.get("Channel", ""),
            uniqueid=None if uniqueid in (None, "", UNKNOWN) else uniqueid,
            event=event,
        )


@dataclass(frozen=True)
class ListResult:
    """A list action's answer: the response, the list's events, and its ``...Complete`` event."""

    response: Message
    events: tuple[Message, ...]
    complete: Message

    def of(self, event_name: str) -> list[Message]:
        folded = event_name.lower()
        return [e for e in self.events if (e.event or "").lower() == folded]


def originate(
    channel: str,
    *,
    context: str | None = None,
    exten: str | None = None,
    priority: int | str = 1,
    application: str | None = None,
    data: str | None = None,
    caller_id: str | None = None,
    timeout_ms: int | None = 30000,
    variables: Mapping[str, object] | Iterable[tuple[str, object]] = (),
    channel_id: str | None = None,
    other_channel_id: str | None = None,
    account: str | None = None,
) -> Message:
    """An asynchronous Originate: either to a dialplan place (context, exten, priority) or to
    an application. Completion comes later as an OriginateResponse event."""
    if not channel:
        raise ValueError("Originate needs a Channel")
    to_dialplan = context is not None or exten is not None
    if to_dialplan == (application is not None):
        raise ValueError("Originate needs either Context and Exten, or Application (not both)")
    if to_dialplan and not (context and exten):
        raise ValueError("Originate to the dialplan needs both Context and Exten")
    fields: list[tuple[str, object]] = [("Channel", channel)]
    if to_dialplan:
        fields += [("Context", context), ("Exten", exten), ("Priority", priority)]
    else:
        fields.append(("Application", application))
        if data is not None:
            fields.append(("Data", data))
    if caller_id:
        fields.append(("CallerID", caller_id))
    if timeout_ms is not None:
        fields.append(("Timeout", int(timeout_ms)))
    pairs = variables.items() if isinstance(variables, Mapping) else variables
    for name, value in pairs:
        if not name or "=" in name:
            raise ValueError(f"bad channel variable name for Originate: {name!r}")
        fields.append(("Variable", f"{name}={value}"))
    if channel_id:
        fields.append(("ChannelId", channel_id))
    if other_channel_id:
        fields.append(("OtherChannelId", other_channel_id))
    if account:
        fields.append(("Account", account))
    fields.append(("Async", "true"))
    return Message.action("Originate", fields)


def queue_add(
    queue: str,
    interface: str,
    *,
    member_name: str | None = None,
    penalty: int | None = None,
    paused: bool | None = None,
    reason: str | None = None,
    state_interface: str | None = None,
) -> Message:
    _need(queue=queue, interface=interface)
    fields: list[tuple[str, object]] = [("Queue", queue), ("Interface", interface)]
    if penalty is not None:
        fields.append(("Penalty", int(penalty)))
    if paused is not None:
        fields.append(("Paused", paused))
    if reason:
        fields.append(("Reason", reason))
    if member_name:
        fields.append(("MemberName", member_name))
    if state_interface:
        fields.append(("StateInterface", state_interface))
    return Message.action("QueueAdd", fields)


def queue_remove(queue: str, interface: str) -> Message:
    _need(queue=queue, interface=interface)
    return Message.action("QueueRemove", [("Queue", queue), ("Interface", interface)])


def queue_pause(interface: str, paused: bool, *, queue: str | None = None, reason: str | None = None) -> Message:
    _need(interface=interface)
    fields: list[tuple[str, object]] = [("Interface", interface), ("Paused", bool(paused))]
    if queue:
        fields.append(("Queue", queue))
    if reason:
        fields.append(("Reason", reason))
    return Message.action("QueuePause", fields)


def queue_status(queue: str | None = None, member: str | None = None) -> Message:
    fields: list[tuple[str, object]] = []
    if queue:
        fields.append(("Queue", queue))
    if member:
        fields.append(("Member", member))
    return Message.action("QueueStatus", fields)


def hangup(channel: str, cause: int | None = None) -> Message:
    _need(channel=channel)
    fields: list[tuple[str, object]] = [("Channel", channel)]
    if cause is not None:
        fields.append(("Cause", int(cause)))
    return Message.action("Hangup", fields)


def setvar(variable: str, value: object, channel: str | None = None) -> Message:
    _need(variable=variable)
    fields: list[tuple[str, object]] = []
    if channel:
        fields.append(("Channel", channel))
    fields += [("Variable", variable), ("Value", value)]
    return Message.action("Setvar", fields)


def redirect(channel: str, *, context: str, exten: str, priority: int | str = 1,
             extra_channel: str | None = None) -> Message:
    """Redirect a channel (by its name or its Uniqueid, as Asterisk looks up both) to a place
    in the dialplan; with `extra_channel`, the other party of its bridge to the same place in
    the same action, so that neither is left alone ("Dual Redirect successful", Asterisk
    23.4.1: ami_threeway_by_name)."""
    _need(channel=channel, context=context, exten=exten)
    fields: list[tuple[str, object]] = [("Channel", channel)]
    if extra_channel:
        fields.append(("ExtraChannel", extra_channel))
    fields += [("Context", context), ("Exten", exten), ("Priority", priority)]
    if extra_channel:
        fields += [("ExtraContext", context), ("ExtraExten", exten), ("ExtraPriority", priority)]
    return Message.action("Redirect", fields)


def status(channel: str) -> Message:
    """Status of one channel, by its name or its Uniqueid (Asterisk looks up both)."""
    _need(channel=channel)
    return Message.action("Status", [("Channel", channel)])


def getvar(variable: str, channel: str | None = None) -> Message:
    """A channel variable, or without a channel a global variable or dialplan function
    (QUEUE_MEMBER(hotline,ready))."""
    _need(variable=variable)
    fields: list[tuple[str, object]] = []
    if channel:
        fields.append(("Channel", channel))
    fields.append(("Variable", variable))
    return Message.action("Getvar", fields)


def ping() -> Message:
    return Message.action("Ping")


def core_settings() -> Message:
    return Message.action("CoreSettings")


def _need(**values: str | None) -> None:
    for name, value in values.items():
        if not value:
            raise ValueError(f"AMI action needs a non-empty {name}")


_DIGIT_RUN = re.compile(r"\d{5,}")


def mask_channel(channel: str | None) -> str:
    """A channel name or dial string with every number in it masked:
    ``Local/13812345678@callback`` -> ``Local/138****5678@callback``."""
    if not channel:
        return ""
    return _DIGIT_RUN.sub(lambda m: mask_phone(m.group(0)), channel)
