"""An AMI peer that speaks the manager protocol as Asterisk 23 does, for tests, the demo and
benchmarks.

What it models, byte for byte against the golden transcripts of Asterisk 23.4.1: the banner;
Login (plain and MD5 challenge) and its failure (the one-second delay, then the close);
FullyBooted and SuccessfulAuth after login; Ping, CoreSettings, Logoff; unknown actions
(``Response: Error`` and the RequestBadFormat security event); QueueStatus; and the events an
asynchronous Originate of a ``Local/<exten>@<context>`` channel raises up to its
OriginateResponse (Newchannel, Newexten AppDial2, NewCallerid, NewConnectedLine,
LocalBridge, then Hangup for a failed call). The dialplan that runs on an answered channel
(Newexten of its own applications, AGI*, VarSet, DTMF, Queue* from the dialplan) is not
modelled: tests inject such events with `inject_event` and the helpers below.

Outcomes are scripted per destination (the number or exten in the dialled channel): a
`OriginateReason` and a delay; ``respond=False`` never sends the OriginateResponse. An
Originate's ``Variable`` headers are set on its channel as Asterisk sets them (a VarSet each,
after the AppDial2 Newexten), and ``channelvars`` (manager.conf's) lists those every event of
the channel then carries as ``ChanVariable: NAME=value`` (empty while unset); the answered
channel runs the Originate's Context and Exten, and `answered_originate` hands it to a test
as the dialplan's Queue() would put it in the queue. A small
in-memory queue model answers QueueAdd / QueueRemove / QueuePause / QueueStatus and raises
QueueMemberAdded / QueueMemberRemoved / QueueMemberPause / QueueMemberStatus with the fields
app_queue.c publishes; ``queue_status_reply`` makes QueueStatus answer without its event
list, with an error, or with a list that never ends.

Wrap-up is modelled as app_queue.c has it: a queue has its queues.conf ``wrapuptime``, a member
may have its own (0: none), and a member is offered no call while its last call ended less
than that long ago (`member_available`). Asterisk publishes the queue's value nowhere: member
events and QueueStatus's QueueMember carry the member's own ``Wrapuptime`` (0 for a member of
a queue with ``wrapuptime = 15``), QueueParams carries none, AgentComplete has no such field.

Each member's ``Status`` is its device's state (0 Unknown .. 8 On hold): a phone is Not in use
unless `set_device_state` said otherwise, before or after it joined, as an unregistered PJSIP
phone is Unavailable (5) and an absent device Invalid (4). QueueAdd of such a phone succeeds,
and its member events say so.

The later golden transcripts (a real Asterisk configured from docs/asterisk) fixed more: a
member takes the queue's ``ringinuse`` (``Ringinuse: 0`` under ``ringinuse = no``) and QueueAdd's
own ``Wrapuptime``; QueueParams carries the queue's running hold and talk times (app_queue.c's
exponential averages) and its service-level percentages; when the member hangs up first its
QueueMemberStatus (the call counted, ``LastCall`` set) races the AgentComplete, either may come
first (`agent_complete`'s ``member_status`` sends it first); Local members take Local channel
sequence numbers (`take_local_sequence`); QueueSummary and ``Getvar`` of ``QUEUE_MEMBER(q,ready)``
(not in wrap-up) / ``free`` / ``logged`` / ``count`` and ``QUEUE_WAITING_COUNT(q)`` answer as
Asterisk does; ``read_classes`` (manager.conf's ``read``) keeps events of other classes off the
link, as the docs' account gets no FullyBooted (system) nor SuccessfulAuth (security).

Status of a channel (by name or by Uniqueid, as Asterisk looks it up) answers as manager.c
does: "No such channel" once it is gone, else its Status event, whose BridgeID is set while
`agent_connect` has it bridged to a member and empty while it waits in the queue.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import time
import wave
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import ServerFactory
from twisted.logger import Logger
from twisted.python.failure import Failure

from hotline.ami.actions import OriginateReason, mask_channel
from hotline.ami.device_states import DeviceState
from hotline.ami.framing import BANNER_PREFIX, ManagerFramer
from hotline.ami.message import Message

UNKNOWN = "<unknown>"
# The contexts of docs/asterisk/extensions.conf that record, and from when: the answer or the
# member's (a queue's monitor-format records once bridged).
RECORDING_CONTEXTS = {"hotline-survey": "answered", "hotline-agent-callback": "answered",
                      "hotline-queue-callback": "bridged"}

STATE_DESC = {0: "Down", 1: "Rsrvd", 2: "OffHook", 3: "Dialing", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}
CAUSE_TEXT = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    34: "Circuit/channel congestion",
}
# The hang-up cause Asterisk reports on the legs of an Originate that ends with each reason.
REASON_CAUSE = {
    OriginateReason.FAILED: 0,
    OriginateReason.HANGUP: 16,
    OriginateReason.NO_ANSWER: 19,
    OriginateReason.BUSY: 17,
    OriginateReason.CONGESTION: 34,
}

# Device states as app_queue.c reports a member's Status (hotline.ami.device_states).
DEVICE_UNKNOWN = int(DeviceState.UNKNOWN)
DEVICE_NOT_INUSE = int(DeviceState.NOT_INUSE)
DEVICE_INUSE = int(DeviceState.INUSE)
DEVICE_BUSY = int(DeviceState.BUSY)
DEVICE_INVALID = int(DeviceState.INVALID)
DEVICE_UNAVAILABLE = int(DeviceState.UNAVAILABLE)
DEVICE_RINGING = int(DeviceState.RINGING)
DEVICE_RINGINUSE = int(DeviceState.RINGINUSE)
DEVICE_ONHOLD = int(DeviceState.ONHOLD)

# How the simulator answers QueueStatus (`AsteriskManagerSimulator.queue_status_reply`): as
# Asterisk 23 does, or in one of the ways a peer gets it wrong.
QUEUE_STATUS_LIST = "list"  # Success with EventList: start, the events, QueueStatusComplete
QUEUE_STATUS_BARE = "bare"  # Success without EventList: start, and no events at all
QUEUE_STATUS_ERROR = "error"  # Response: Error
QUEUE_STATUS_UNFINISHED = "unfinished"  # the list starts, its events come, it never completes
QUEUE_STATUS_REPLIES = (QUEUE_STATUS_LIST, QUEUE_STATUS_BARE, QUEUE_STATUS_ERROR,
                        QUEUE_STATUS_UNFINISHED)

_CALLER_ID = re.compile(r'^\s*"?(?P<name>[^"<]*?)"?\s*<(?P<num>[^>]*)>\s*$')


def parse_caller_id(text: str | None) -> tuple[str, str]:
    """``"AMI Test" <100>`` -> ("AMI Test", "100"), as ast_callerid_parse splits it."""
    if not text:
        return "", ""
    match = _CALLER_ID.match(text)
    if match:
        return match.group("name").strip(), match.group("num").strip()
    stripped = text.strip()
    if re.fullmatch(r"[0-9+*#]+", stripped):
        return "", stripped
    return stripped, ""


@dataclass(frozen=True)
class ChannelSnapshot:
    """The channel fields every channel event carries, in Asterisk's order."""

    name: str
    uniqueid: str
    linkedid: str
    state: int = 6
    caller_id_num: str = ""
    caller_id_name: str = ""
    connected_num: str = ""
    connected_name: str = ""
    language: str = "en"
    account_code: str = ""
    context: str = "default"
    exten: str = "s"
    priority: int = 1
    # The channel variables manager.conf lists in `channelvars` (e.g. HOTLINE_CALL_ID):
    # Asterisk appends them to the snapshot as `ChanVariable: NAME=value` lines.
    variables: tuple[tuple[str, str], ...] = ()

    def fields(self, prefix: str = "") -> list[tuple[str, object]]:
        return [
            (f"{prefix}Channel", self.name),
            (f"{prefix}ChannelState", self.state),
            (f"{prefix}ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            (f"{prefix}CallerIDNum", self.caller_id_num or UNKNOWN),
            (f"{prefix}CallerIDName", self.caller_id_name or UNKNOWN),
            (f"{prefix}ConnectedLineNum", self.connected_num or UNKNOWN),
            (f"{prefix}ConnectedLineName", self.connected_name or UNKNOWN),
            (f"{prefix}Language", self.language),
            (f"{prefix}AccountCode", self.account_code),
            (f"{prefix}Context", self.context),
            (f"{prefix}Exten", self.exten),
            (f"{prefix}Priority", self.priority),
            (f"{prefix}Uniqueid", self.uniqueid),
            (f"{prefix}Linkedid", self.linkedid),
            *((f"{prefix}ChanVariable", f"{name}={value}") for name, value in self.variables),
        ]


@dataclass(frozen=True)
class OriginateScript:
    """How an Originate to one destination ends."""

    reason: OriginateReason = OriginateReason.ANSWERED
    delay: float = 1.0
    respond: bool = True
    talk_time: float | None = None  # an answered call hangs up by itself after this


@dataclass
class QueueMember:
    interface: str
    member_name: str
    state_interface: str
    penalty: int = 0
    paused: bool = False
    paused_reason: str = ""
    status: int = DEVICE_NOT_INUSE
    calls_taken: int = 0
    last_call: int = 0
    last_pause: int = 0
    login_time: int = 0
    in_call: bool = False
    ringinuse: bool = True
    wrapuptime: int = 0
    membership: str = "dynamic"

    def blob(self, queue: str) -> list[tuple[str, object]]:
        # queue_member_blob_create() in app_queue.c, in its order.
        return [
            ("Queue", queue),
            ("MemberName", self.member_name),
            ("Interface", self.interface),
            ("StateInterface", self.state_interface),
            ("Membership", self.membership),
            ("Penalty", self.penalty),
            ("CallsTaken", self.calls_taken),
            ("LastCall", self.last_call),
            ("LastPause", self.last_pause),
            ("LoginTime", self.login_time),
            ("InCall", int(self.in_call)),
            ("Status", self.status),
            ("Paused", int(self.paused)),
            ("PausedReason", self.paused_reason),
            ("Ringinuse", int(self.ringinuse)),
            ("Wrapuptime", self.wrapuptime),
        ]


@dataclass
class Queue:
    name: str
    strategy: str = "ringall"
    # queues.conf's wrapuptime, for the members with none of their own (get_wrapuptime()).
    wrapuptime: int = 0
    # queues.conf's ringinuse (Asterisk's default yes): each member added takes it.
    ringinuse: bool = True
    # queues.conf's servicelevel: a call answered (or abandoned) within it counts as in it.
    servicelevel: int = 0
    members: dict[str, QueueMember] = field(default_factory=dict)
    callers: list[tuple[ChannelSnapshot, float]] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    completed_in_sl: int = 0
    abandoned_in_sl: int = 0
    # app_queue.c's running averages (recalc_holdtime(), update_queue()), whole seconds.
    holdtime: int = 0
    talktime: int = 0
    # The callers agent_connect bridged: Uniqueid -> (hold time, when answered).
    connected: dict[str, tuple[int, float]] = field(default_factory=dict)

    def service_levels(self) -> tuple[str, str]:
        """QueueParams' ServicelevelPerf and ServicelevelPerf2 ("%2.1f" of a percentage)."""
        perf = 100 * self.completed_in_sl / self.completed if self.completed else 0.0
        both = self.completed + self.abandoned
        perf2 = 100 * (self.abandoned_in_sl + self.completed_in_sl) / both if both else 0.0
        return f"{perf:.1f}", f"{perf2:.1f}"


@dataclass
class Conference:
    """A ConfBridge conference: its name, its bridge's id and the channels in it."""

    name: str
    bridge: str
    members: dict[str, ChannelSnapshot] = field(default_factory=dict)


@dataclass
class _Call:
    """An originated call whose legs are up."""

    legs: list[ChannelSnapshot]
    hangupTimer: IDelayedCall | None = None
    answered: float = 0.0  # wall time, for Status's Seconds
    context: str = ""  # the dialplan context the answered channel runs
    variables: dict[str, str] = field(default_factory=dict)  # the Originate's Variable lines
    bridged: float | None = None  # wall time agent_connect put it through to a member


class AsteriskManagerSimulator(ServerFactory):
    """The simulated Asterisk: users, queues, scripted Originate outcomes, live sessions.

    ``clock`` drives every delay (use `task.Clock` in tests); ``wall`` gives the epoch time
    written into Uniqueid, Timestamp and EventTV values (and a member's LastCall);
    ``wrapuptime`` and ``ringinuse`` are the queues.conf settings of the queues named in
    ``queues``; ``read_classes`` manager.conf's ``read`` (None: every class).
    """

    log = Logger()

    def __init__(
        self,
        clock: IReactorTime,
        *,
        users: dict[str, str] | None = None,
        queues: Iterable[str] = ("hotline",),
        wrapuptime: int = 0,
        ringinuse: bool = True,
        ami_version: str = "12.0.0",
        asterisk_version: str = "23.4.1",
        wall: Callable[[], float] = time.time,
        default_outcome: OriginateScript = OriginateScript(),
        auth_failure_delay: float = 1.0,
        challenges: Iterable[str] | None = None,
        local_sequence_start: int = 0,
        channelvars: Iterable[str] = (),
        read_classes: Iterable[str] | None = None,
        recordings_dir: str | None = None,
    ):
        self.clock = clock
        # [recordings] dir: where the dialplan of docs/asterisk records the callbacks it
        # runs (None: nothing is written), see `_recorded`.
        self.recordings_dir = recordings_dir
        self.wall = wall
        self.users = dict(users if users is not None else {"hotline": "secret"})
        self.queues: dict[str, Queue] = {name: Queue(name, wrapuptime=wrapuptime, ringinuse=ringinuse)
                                         for name in queues}
        self.ami_version = ami_version
        self.asterisk_version = asterisk_version
        self.default_outcome = default_outcome
        self.auth_failure_delay = auth_failure_delay
        self.started = wall()
        self.sessions: list[ManagerSession] = []
        self.scripts: dict[str, OriginateScript] = {}
        # The device state of each phone Asterisk was told about (set_device_state); any
        # other is Not in use, a registered idle phone.
        self.devices: dict[str, int] = {}
        # manager.conf's channelvars: the variables each event of an originated channel
        # carries as ChanVariable lines.
        self.channelvars: tuple[str, ...] = tuple(channelvars)
        # manager.conf's read classes of the user (None: all): a session is sent only the
        # events whose Privilege names one of them.
        self.read_classes: frozenset[str] | None = (
            None if read_classes is None else frozenset(c.strip().lower() for c in read_classes))
        self.calls: dict[str, _Call] = {}
        # The bridge each caller agent_connect put through is in, by the caller's Uniqueid
        # (Status's BridgeID), until agent_complete or its hang-up.
        self.bridges: dict[str, str] = {}
        self._bridgeCounter = itertools.count(1)
        # The pair agent_connect bridged, by the caller's Uniqueid (what Redirect moves).
        self.bridged: dict[str, tuple[ChannelSnapshot, ChannelSnapshot]] = {}
        # Channels made with new_channel and not hung up, by Uniqueid: a Redirect finds them
        # as it finds an originated call's legs.
        self.injected: dict[str, ChannelSnapshot] = {}
        # extensions.conf's contexts whose extension runs ConfBridge(hotline-${EXTEN}) at
        # priority 4 ([hotline-threeway], docs/asterisk), and the conferences running.
        self.conference_contexts: frozenset[str] = frozenset({"hotline-threeway"})
        self.conferences: dict[str, Conference] = {}
        # Called with (the channel as it was, context, exten) after each Redirect moves it:
        # a scripted caller's AGI learns its Queue() was left (the demo's).
        self.on_redirect: list[Callable[[ChannelSnapshot, str, str], None]] = []
        self._bridge_left: dict[str, set[str]] = {}
        self.actions_received: list[Message] = []
        self.frozen = False
        """True makes every session read and never answer, like a hung Asterisk."""
        self._queueStatusReply = QUEUE_STATUS_LIST
        self._challenges = iter(challenges) if challenges is not None else (str(840310428 + 7919 * n) for n in itertools.count())
        self._uniqueCounter = itertools.count()
        self._localCounter = itertools.count(local_sequence_start)

    # -- scripting ------------------------------------------------------------------------

    @property
    def queue_status_reply(self) -> str:
        """How QueueStatus is answered: one of ``QUEUE_STATUS_REPLIES``."""
        return self._queueStatusReply

    @queue_status_reply.setter
    def queue_status_reply(self, reply: str) -> None:
        if reply not in QUEUE_STATUS_REPLIES:
            raise ValueError(f"queue_status_reply must be one of {', '.join(QUEUE_STATUS_REPLIES)}, got {reply!r}")
        self._queueStatusReply = reply

    def script_originate(
        self,
        destination: str,
        reason: OriginateReason = OriginateReason.ANSWERED,
        *,
        delay: float = 1.0,
        respond: bool = True,
        talk_time: float | None = None,
    ) -> None:
        """Originates to ``destination`` (a number or exten, or a whole channel string) end
        with ``reason`` after ``delay`` seconds; ``respond=False`` never answers."""
        self.scripts[destination] = OriginateScript(reason, delay, respond, talk_time)

    def outcome_for(self, channel: str) -> OriginateScript:
        if channel in self.scripts:
            return self.scripts[channel]
        number = destination_number(channel)
        return self.scripts.get(number, self.default_outcome)

    def add_queue(self, name: str, strategy: str = "ringall", *, wrapuptime: int = 0,
                  ringinuse: bool = True) -> Queue:
        return self.queues.setdefault(name, Queue(name, strategy, wrapuptime=wrapuptime, ringinuse=ringinuse))

    # -- ids and clocks -------------------------------------------------------------------

    def new_uniqueid(self) -> str:
        return f"{int(self.wall())}.{next(self._uniqueCounter)}"

    def new_channel(
        self,
        name: str,
        *,
        caller_id_num: str = "",
        caller_id_name: str = "",
        context: str = "hotline",
        exten: str = "s",
        priority: int = 1,
        state: int = 6,
        variables: dict[str, str] | None = None,
    ) -> ChannelSnapshot:
        """A channel snapshot with fresh Uniqueid/Linkedid, for injected events;
        `variables`: those manager.conf's `channelvars` would show on its events."""
        uniqueid = self.new_uniqueid()
        snapshot = ChannelSnapshot(
            name=name,
            uniqueid=uniqueid,
            linkedid=uniqueid,
            state=state,
            caller_id_num=caller_id_num,
            caller_id_name=caller_id_name,
            connected_num=caller_id_num,
            connected_name=caller_id_name,
            context=context,
            exten=exten,
            priority=priority,
            variables=tuple((variables or {}).items()),
        )
        self.injected[uniqueid] = snapshot
        return snapshot

    def take_local_sequence(self) -> int:
        """The next Local channel sequence number (the hex after the name): Asterisk has one for
        every Local channel, so a Local queue member the dialplan rings takes one as an
        Originate's channel does, and the next Originate's number is past it."""
        return next(self._localCounter)

    def event_tv(self) -> str:
        now = datetime.fromtimestamp(self.wall(), tz=timezone.utc)
        return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"

    def uptime(self) -> int:
        return int(self.wall() - self.started)

    # -- event output ---------------------------------------------------------------------

    def emit(self, name: str, privilege: str, fields: Iterable[tuple[str, object]]) -> Message:
        """Send an event to every logged-in session that takes events."""
        event = Message((("Event", name), ("Privilege", privilege), *fields))
        for session in list(self.sessions):
            if session.authenticated and session.events_on and self.reads(privilege):
                session.sendMessage(event)
        return event

    def reads(self, privilege: str) -> bool:
        """Whether the user's read classes let an event of this Privilege through."""
        if self.read_classes is None:
            return True
        return bool(self.read_classes & {c for c in privilege.lower().split(",") if c != "all"})

    def inject_event(self, name: str, fields: Iterable[tuple[str, object]], privilege: str = "call,all") -> Message:
        """Any event, as given (tests and the demo use it for what is not modelled)."""
        return self.emit(name, privilege, fields)

    # -- queue events (app_queue.c field names) -------------------------------------------

    def queue_caller_join(self, queue: str, caller: ChannelSnapshot) -> int:
        q = self._queue(queue)
        q.callers.append((caller, self.wall()))
        position = len(q.callers)
        self.emit("QueueCallerJoin", "agent,all", [*caller.fields(), ("Queue", queue), ("Position", position), ("Count", len(q.callers))])
        return position

    def queue_caller_abandon(self, queue: str, caller: ChannelSnapshot, *, original_position: int | None = None) -> None:
        """The caller hung up while waiting: QueueCallerAbandon, then QueueCallerLeave."""
        q = self._queue(queue)
        position, joined = self._callerPosition(q, caller)
        q.abandoned += 1
        if int(self.wall() - joined) <= q.servicelevel:
            q.abandoned_in_sl += 1
        self.emit(
            "QueueCallerAbandon",
            "agent,all",
            [
                *caller.fields(),
                ("Queue", queue),
                ("Position", position),
                ("OriginalPosition", original_position or position),
                ("HoldTime", int(self.wall() - joined)),
            ],
        )
        self.queue_caller_leave(queue, caller)

    def queue_caller_leave(self, queue: str, caller: ChannelSnapshot) -> None:
        q = self._queue(queue)
        position, _joined = self._callerPosition(q, caller)
        q.callers = [(c, t) for c, t in q.callers if c.uniqueid != caller.uniqueid]
        self.emit("QueueCallerLeave", "agent,all", [*caller.fields(), ("Queue", queue), ("Position", position), ("Count", len(q.callers))])

    def agent_called(self, queue: str, caller: ChannelSnapshot, agent: ChannelSnapshot, interface: str) -> None:
        self.emit("AgentCalled", "agent,all", [*caller.fields(), *agent.fields("Dest"), *self._memberBlob(queue, interface)])

    def agent_connect(
        self, queue: str, caller: ChannelSnapshot, agent: ChannelSnapshot, interface: str, *, ring_time: int = 0
    ) -> None:
        q = self._queue(queue)
        _position, joined = self._callerPosition(q, caller)
        hold = int(self.wall() - joined)
        self.queue_caller_leave(queue, caller)
        member = q.members.get(interface)
        if member is not None:
            member.in_call = True
        # recalc_holdtime(): the first call's hold, then (3 * old + new) / 4
        q.holdtime = hold if q.completed + q.abandoned == 0 else (3 * q.holdtime + hold) >> 2
        q.connected[caller.uniqueid] = (hold, self.wall())
        self.bridges[caller.uniqueid] = f"{next(self._bridgeCounter):08x}-5c2d-4e6b-9a1f-5e3c0d7b2a41"
        self.bridged[caller.uniqueid] = (caller, agent)
        for call in self.calls.values():
            if call.legs[0].uniqueid == caller.uniqueid and call.bridged is None:
                call.bridged = self.wall()
        self.emit(
            "AgentConnect",
            "agent,all",
            [*caller.fields(), *agent.fields("Dest"), *self._memberBlob(queue, interface), ("HoldTime", hold), ("RingTime", ring_time)],
        )

    def agent_complete(
        self,
        queue: str,
        caller: ChannelSnapshot,
        agent: ChannelSnapshot | None,
        interface: str,
        *,
        hold_time: int | None = None,
        talk_time: int | None = None,
        reason: str = "caller",
        member_status: int | None = None,
    ) -> None:
        """The call `agent_connect` bridged has ended (`reason`: caller, agent, transfer);
        hold and talk times default to those the simulator's clock measured. The queue
        counts it (Completed, its running talk time, the service level). ``member_status``:
        the member's phone hung up and went to this state, and, as Asterisk sends it, the
        QueueMemberStatus that says so (the call already counted) comes first; Asterisk sends
        the two in either order (they race), so without it a test sends the state after.
        ``agent`` None: no Dest* fields, as Asterisk sends when the member's channel is gone."""
        q = self._queue(queue)
        q.completed += 1
        held, answered = q.connected.pop(caller.uniqueid, (0, self.wall()))
        self.bridges.pop(caller.uniqueid, None)
        self.bridged.pop(caller.uniqueid, None)
        if held <= q.servicelevel:
            q.completed_in_sl += 1
        hold_time = held if hold_time is None else hold_time
        talk_time = int(self.wall() - answered) if talk_time is None else talk_time
        # update_queue(): the first call's talk time, then (3 * old + new) / 4
        q.talktime = talk_time if q.completed == 1 else (3 * q.talktime + talk_time) >> 2
        member = q.members.get(interface)
        if member is not None:
            member.in_call = False
            member.calls_taken += 1
            member.last_call = int(self.wall())
        if member_status is not None:
            self.set_device_state(member.state_interface if member else interface, member_status)
        self.emit(
            "AgentComplete",
            "agent,all",
            [
                *caller.fields(),
                *(agent.fields("Dest") if agent is not None else ()),
                *self._memberBlob(queue, interface),
                ("HoldTime", hold_time),
                ("TalkTime", talk_time),
                ("Reason", reason),
            ],
        )

    def hangup_channel(self, channel: ChannelSnapshot, cause: int = 16) -> None:
        self.injected.pop(channel.uniqueid, None)
        for conference in list(self.conferences.values()):
            if channel.uniqueid in conference.members:
                self._leave_conference(conference, channel.uniqueid)
        self.emit("Hangup", "call,all", [*channel.fields(), ("Cause", cause), ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown"))])

    def add_member(self, queue: str, interface: str, member_name: str = "", *,
                   wrapuptime: int = 0, paused: bool = False) -> QueueMember:
        """A member added by something else than this AMI link (the dialplan's
        AddQueueMember, another application): QueueMemberAdded, as QueueAdd raises it."""
        q = self._queue(queue)
        now = int(self.wall())
        member = QueueMember(interface=interface, member_name=member_name or interface,
                             state_interface=interface, paused=paused, ringinuse=q.ringinuse,
                             status=self.device_state(interface),
                             last_pause=now if paused else 0, login_time=now,
                             wrapuptime=wrapuptime)
        q.members[interface] = member
        self.emit("QueueMemberAdded", "agent,all", member.blob(queue))
        return member

    def device_state(self, interface: str) -> int:
        """What Asterisk knows of a phone's state now (ast_device_state())."""
        return self.devices.get(interface, DEVICE_NOT_INUSE)

    def set_device_state(self, interface: str, status: int) -> None:
        """A device changed state (a phone registered, went away, rang, was picked up):
        QueueMemberStatus in each queue whose member follows it (device_state_cb()); a phone
        that is no member yet starts in this state when it joins. (Asterisk raises the event
        only for a state that differs; here every call raises it, for tests to send one.)"""
        self.devices[interface] = status
        for q in self.queues.values():
            for member in q.members.values():
                if interface in (member.state_interface, member.interface):
                    member.status = status
                    self.emit("QueueMemberStatus", "agent,all", member.blob(q.name))

    def member_available(self, queue: str, interface: str) -> bool:
        """Whether app_queue.c would offer the queue's next caller to this member now
        (is_member_available(), can_ring_entry()): not paused, its device Not in use or
        Unknown, and not in wrap-up, i.e. its last call ended at least its wrap-up ago: the
        member's own Wrapuptime when it has one, else the queue's (get_wrapuptime())."""
        q = self._queue(queue)
        member = q.members.get(interface)
        if member is None or member.paused or member.status not in (DEVICE_UNKNOWN, DEVICE_NOT_INUSE):
            return False
        return not self._wrapping_up(q, member)

    def function_value(self, text: str) -> str:
        """What a dialplan function of the queues reads now (app_queue.c's QUEUE_MEMBER and
        QUEUE_WAITING_COUNT); "" for any other, or for a queue that does not exist."""
        match = re.fullmatch(r"\s*(QUEUE_MEMBER|QUEUE_WAITING_COUNT)\((.*)\)\s*", text, re.I)
        if match is None:
            return ""
        args = [a.strip() for a in match.group(2).split(",")]
        q = self.queues.get(args[0])
        if match.group(1).upper() == "QUEUE_WAITING_COUNT":
            return str(len(q.callers)) if q is not None else "0"
        if q is None or len(args) < 2:
            return ""
        option, members = args[1].lower(), list(q.members.values())
        if option in ("penalty", "paused", "ringinuse"):
            member = q.members.get(args[2]) if len(args) > 2 else None
            if member is None:
                return "0"
            return str({"penalty": member.penalty, "paused": int(member.paused),
                        "ringinuse": int(member.ringinuse)}[option])
        counted = {
            "logged": lambda m: m.status not in (DEVICE_UNAVAILABLE, DEVICE_INVALID),
            "free": lambda m: m.status == DEVICE_NOT_INUSE and not m.paused,
            "ready": lambda m: m.status == DEVICE_NOT_INUSE and not m.paused and not self._wrapping_up(q, m),
            "count": lambda m: True,
        }.get(option)
        return "" if counted is None else str(sum(1 for m in members if counted(m)))

    def _wrapping_up(self, q: Queue, member: QueueMember) -> bool:
        wrapuptime = member.wrapuptime or q.wrapuptime
        return bool(member.last_call and wrapuptime and int(self.wall()) - wrapuptime < member.last_call)

    def _queue(self, name: str) -> Queue:
        try:
            return self.queues[name]
        except KeyError:
            raise ValueError(f"the simulator has no queue named {name!r}") from None

    @staticmethod
    def _callerPosition(q: Queue, caller: ChannelSnapshot) -> tuple[int, float]:
        for index, (c, joined) in enumerate(q.callers, start=1):
            if c.uniqueid == caller.uniqueid:
                return index, joined
        return 0, 0.0

    def _memberBlob(self, queue: str, interface: str) -> list[tuple[str, object]]:
        member = self.queues.get(queue, Queue(queue)).members.get(interface)
        return [("Queue", queue), ("Interface", interface), ("MemberName", member.member_name if member else interface)]

    # -- originate ------------------------------------------------------------------------

    def originate(self, session: ManagerSession | None, request: Message) -> None:
        """Run an Originate already acknowledged: raise the setup events now, and the
        outcome after the scripted delay."""
        channel = request.get("Channel", "")
        script = self.outcome_for(channel)
        name, context_exten = _local_parts(channel)
        caller_name, caller_num = parse_caller_id(request.get("CallerID"))
        channel_id = request.get("ChannelId") or None
        other_id = request.get("OtherChannelId") or None
        seq = next(self._localCounter)
        uid1 = channel_id or self.new_uniqueid()
        uid2 = other_id or (f"{channel_id};2" if channel_id else self.new_uniqueid())
        exten, context = context_exten
        base = f"{name}-{seq:08x}"
        unset = self._channel_variables({})
        one = ChannelSnapshot(f"{base};1", uid1, uid1, state=0, context=context, exten=exten, variables=unset)
        two = ChannelSnapshot(f"{base};2", uid2, uid1, state=4, context=context, exten=exten, variables=unset)
        self.emit("Newchannel", "call,all", one.fields())
        self.emit("Newchannel", "call,all", two.fields())
        self.emit(
            "Newexten",
            "dialplan,all",
            [*one.fields(), ("Extension", exten), ("Application", "AppDial2"), ("AppData", "(Outgoing Line)")],
        )
        # The Originate's variables, set on the new channel before it is called (a VarSet
        # each); the Local channel's other half gets a copy when it is (local_call()).
        variables: dict[str, str] = {}
        for item in request.getall("Variable"):
            variable, _, value = item.partition("=")
            variables[variable] = value
            one = replace(one, variables=self._channel_variables(variables))
            self.emit("VarSet", "dialplan,all", [*one.fields(), ("Variable", variable), ("Value", value)])
        two = replace(two, variables=self._channel_variables(variables))
        if caller_num or caller_name:
            presentation = ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")
            one = replace(one, caller_id_num=caller_num, caller_id_name=caller_name)
            self.emit("NewCallerid", "call,all", [*one.fields(), presentation])
            one = replace(one, connected_num=caller_num, connected_name=caller_name)
            self.emit("NewConnectedLine", "call,all", one.fields())
            two = replace(two, caller_id_num=caller_num, caller_id_name=caller_name, connected_num=caller_num, connected_name=caller_name)
            self.emit("NewCallerid", "call,all", [*two.fields(), presentation])
            self.emit("NewConnectedLine", "call,all", two.fields())
        if script.reason is OriginateReason.ANSWERED:
            self.emit(
                "LocalBridge",
                "call,all",
                [*one.fields("LocalOne"), *two.fields("LocalTwo"), ("Context", context), ("Exten", exten), ("LocalOptimization", "Yes")],
            )
        self.log.info(
            "Simulated Originate to {channel}: {reason} in {delay}s",
            channel=mask_channel(channel),
            reason=script.reason.name if script.respond else "no response",
            delay=script.delay,
        )
        self.clock.callLater(script.delay, self._originateOutcome, session, request, script, one, two, caller_num, caller_name)

    def _originateOutcome(
        self,
        session: ManagerSession | None,
        request: Message,
        script: OriginateScript,
        one: ChannelSnapshot,
        two: ChannelSnapshot,
        caller_num: str,
        caller_name: str,
    ) -> None:
        answered = script.reason is OriginateReason.ANSWERED
        if not answered:
            cause = REASON_CAUSE.get(script.reason, 0)
            self.hangup_channel(two, cause)
        if script.respond:
            fields: list[tuple[str, object]] = []
            action_id = request.get("ActionID")
            if action_id:
                fields.append(("ActionID", action_id))
            fields += [
                ("Response", "Success" if answered else "Failure"),
                ("Channel", one.name if answered else request.get("Channel", "")),
            ]
            if request.get("Application"):
                fields += [("Application", request.get("Application")), ("Data", request.get("Data", ""))]
            else:
                fields += [("Context", request.get("Context", "")), ("Exten", request.get("Exten", ""))]
            fields += [
                ("Reason", int(script.reason)),
                ("Uniqueid", one.uniqueid if answered else (request.get("ChannelId") or UNKNOWN)),
                ("CallerIDNum", caller_num or UNKNOWN),
                ("CallerIDName", caller_name or UNKNOWN),
            ]
            if answered:
                # manager.c names the channel the event is about: its channelvars follow as
                # `ChanVariable(<channel>): NAME=value`.
                fields += [(f"ChanVariable({one.name})", f"{name}={value}") for name, value in one.variables]
            self.emit("OriginateResponse", "call,all", fields)
            if session is not None and not session.originateAsync(request):
                session.finishSyncOriginate(request, answered)
        if not answered:
            self.hangup_channel(one, REASON_CAUSE.get(script.reason, 0))
            return
        if request.get("Context") and request.get("Exten"):
            # The answered channel runs the dialplan the Originate named.
            one = replace(one, context=request.get("Context", ""), exten=request.get("Exten", ""),
                          priority=_int(request.get("Priority")) or 1)
        legs = [replace(one, state=6), replace(two, state=6)]
        if legs[0].context in self.conference_contexts:
            legs[0] = self.join_conference(legs[0], legs[0].exten)
        variables = dict(item.partition("=")[::2] for item in request.getall("Variable"))
        call = _Call(legs, answered=self.wall(), context=request.get("Context", ""),
                     variables=variables)
        for leg in legs:
            self.calls[leg.name] = call
        if script.talk_time is not None:
            call.hangupTimer = self.clock.callLater(script.talk_time, self.hangup_call, one.name)

    def _channel_variables(self, values: dict[str, str]) -> tuple[tuple[str, str], ...]:
        # channel_get_external_vars(): every listed variable, empty when unset.
        return tuple((name, values.get(name, "")) for name in self.channelvars)

    def answered_originate(self, uniqueid: str) -> ChannelSnapshot:
        """The channel of an answered Originate (by its Uniqueid: the ChannelId it was given)
        as it runs the Originate's Context: for a queue callback the channel the dialplan's
        Queue() puts in the queue, the caller of queue_caller_join and agent_connect."""
        for call in self.calls.values():
            if call.legs[0].uniqueid == uniqueid:
                return call.legs[0]
        raise ValueError(f"no answered originated call has Uniqueid {uniqueid!r}")

    def hangup_call(self, channel: str, cause: int = 16) -> bool:
        """Hang up an answered, originated call by either leg's name: Hangup for each leg."""
        call = self.calls.get(channel)
        if call is None:
            return False
        if call.hangupTimer is not None and call.hangupTimer.active():
            call.hangupTimer.cancel()
        self._recorded(call)
        for leg in call.legs:
            self.calls.pop(leg.name, None)
            self.bridges.pop(leg.uniqueid, None)
            self.hangup_channel(leg, cause)
        return True

    def _recorded(self, call: _Call) -> None:
        """The file docs/asterisk's dialplan has Asterisk write as the call ends: the survey
        records from the answer (MixMonitor without b), the agent's callback while it is up
        (MixMonitor b; the Dial to the citizen is not modelled), the queue callback from the
        member's answer (queues.conf monitor-format, MONITOR_FILENAME); 8 kHz 16-bit mono
        silence as long as that, named callback-TASK_ID-TASK_ATTEMPT.wav."""
        if self.recordings_dir is None or call.context not in RECORDING_CONTEXTS:
            return
        task, attempt = call.variables.get("TASK_ID"), call.variables.get("TASK_ATTEMPT")
        start = call.bridged if RECORDING_CONTEXTS[call.context] == "bridged" else call.answered
        if not task or not attempt or start is None:
            return
        samples = max(0, int((self.wall() - start) * 8000))
        path = os.path.join(self.recordings_dir, f"callback-{task}-{attempt}.wav")
        with wave.open(path, "wb") as recording:
            recording.setnchannels(1)
            recording.setsampwidth(2)
            recording.setframerate(8000)
            recording.writeframes(b"\0\0" * samples)

    def find_channel(self, name: str) -> ChannelSnapshot | None:
        """A live leg by its name or its Uniqueid, as ast_channel_get_by_name() looks a
        channel up for Status, Getvar and the like (the name first, then the Uniqueid)."""
        call = self.calls.get(name)
        if call is not None:
            return next(leg for leg in call.legs if leg.name == name)
        for call in self.calls.values():
            for leg in call.legs:
                if leg.uniqueid == name:
                    return leg
        return None

    def redirect_target(self, name: str) -> ChannelSnapshot | None:
        """A channel Redirect can move, by name or Uniqueid: an originated call's leg or a
        channel made with new_channel, as it is now (moved or not)."""
        leg = self.find_channel(name)
        if leg is not None:
            return leg
        for snapshot in self.injected.values():
            if name in (snapshot.name, snapshot.uniqueid):
                return snapshot
        return None

    def redirect(self, moves: list[tuple[ChannelSnapshot, str, str]]) -> None:
        """manager.c's Redirect of one channel or a pair, after the checks: each out of the
        queue's bridge it is in (BridgeLeave; BridgeDestroy once empty; the queue still
        counts the call, AgentComplete comes when it ends), then to the place named, into a
        conference where the dialplan runs ConfBridge there. A pair moves as Asterisk 23.4.1
        moved one (ami_threeway_by_name): the ExtraChannel leaves and arrives first."""
        ordered = list(reversed(moves))
        for channel, context, exten in ordered:
            self._leave_bridge(channel, context, exten)
        for channel, context, exten in ordered:
            moved = replace(channel, context=context, exten=exten, priority=1)
            if context in self.conference_contexts:
                moved = self.join_conference(moved, exten)
            self._moved(channel, moved)
            for hook in list(self.on_redirect):
                hook(channel, context, exten)

    def _leave_bridge(self, channel: ChannelSnapshot, context: str, exten: str) -> None:
        for caller_id, (caller, agent) in list(self.bridged.items()):
            if channel.uniqueid not in (caller.uniqueid, agent.uniqueid):
                continue
            bridge = self.bridges.get(caller_id, "")
            left = self._bridge_left.setdefault(caller_id, set())
            left.add(channel.uniqueid)
            self.emit("BridgeLeave", "call,all", [
                *self._bridge_fields(bridge, 2 - len(left), basic=True),
                *replace(channel, context=context, exten=exten, priority=1).fields()])
            if len(left) == 2:
                self.emit("BridgeDestroy", "call,all", self._bridge_fields(bridge, 0, basic=True))
                self.bridges.pop(caller_id, None)
                self._bridge_left.pop(caller_id, None)

    def join_conference(self, channel: ChannelSnapshot, exten: str) -> ChannelSnapshot:
        """The channel runs ConfBridge(hotline-<exten>) (priority 4 of [hotline-threeway]):
        ConfbridgeStart for the first, ConfbridgeJoin for each; ConfBridge counts one
        channel of its own in BridgeNumChannels, as Asterisk 23.4.1 showed."""
        name = f"hotline-{exten}"
        conference = self.conferences.get(name)
        if conference is None:
            conference = Conference(name, f"c0nf{next(self._bridgeCounter):04x}-5c2d-4e6b-9a1f-5e3c0d7b2a41")
            self.conferences[name] = conference
            self.emit("ConfbridgeStart", "call,all", self._conference_fields(conference, 1))
        joined = replace(channel, state=6, priority=4)
        conference.members[joined.uniqueid] = joined
        self.emit("ConfbridgeJoin", "call,all", [
            *self._conference_fields(conference, len(conference.members) + 1),
            *joined.fields(), ("Admin", "No"), ("Muted", "No")])
        return joined

    def _leave_conference(self, conference: Conference, uniqueid: str) -> None:
        member = conference.members.get(uniqueid)
        if member is None:
            return
        self.emit("ConfbridgeLeave", "call,all", [
            *self._conference_fields(conference, len(conference.members) + 1),
            *member.fields(), ("Admin", "No")])
        del conference.members[uniqueid]
        if not conference.members:
            self.emit("ConfbridgeEnd", "call,all", self._conference_fields(conference, 0))
            self.conferences.pop(conference.name, None)

    def _moved(self, before: ChannelSnapshot, after: ChannelSnapshot) -> None:
        """The snapshot a channel has after a Redirect, wherever the simulator keeps it."""
        if before.uniqueid in self.injected:
            self.injected[before.uniqueid] = after
        call = self.calls.get(before.name)
        if call is not None:
            call.legs = [after if leg.uniqueid == before.uniqueid else leg for leg in call.legs]

    @staticmethod
    def _bridge_fields(bridge: str, count: int, *, basic: bool) -> list[tuple[str, object]]:
        return [("BridgeUniqueid", bridge), ("BridgeType", "basic" if basic else "base"),
                ("BridgeTechnology", "simple_bridge"), ("BridgeCreator", UNKNOWN),
                ("BridgeName", UNKNOWN), ("BridgeNumChannels", count),
                ("BridgeVideoSourceMode", "none")]

    @staticmethod
    def _conference_fields(conference: Conference, count: int) -> list[tuple[str, object]]:
        return [("Conference", conference.name), ("BridgeUniqueid", conference.bridge),
                ("BridgeType", "base"), ("BridgeTechnology", "softmix"),
                ("BridgeCreator", "ConfBridge"), ("BridgeName", conference.name),
                ("BridgeNumChannels", count), ("BridgeVideoSourceMode", "none")]

    def channel_application(self, channel: ChannelSnapshot) -> tuple[str, str]:
        """(Application, Data) a live leg runs, as far as the queue model knows: Queue while
        it waits in a queue or is bridged to a member from one; "" otherwise (the dialplan
        is not run here)."""
        for q in self.queues.values():
            if channel.uniqueid in q.connected or any(
                    c.uniqueid == channel.uniqueid for c, _joined in q.callers):
                return "Queue", q.name
        return "", ""

    # -- sessions -------------------------------------------------------------------------

    def buildProtocol(self, addr: object) -> ManagerSession:
        session = ManagerSession(self)
        session.factory = self
        return session


def destination_number(channel: str) -> str:
    """The number or exten a dial string reaches: ``Local/138...@ctx`` and
    ``PJSIP/138...@trunk`` give the part before '@'; ``PJSIP/trunk/sip:138...@host`` the
    user part."""
    resource = channel.split("/", 1)[1] if "/" in channel else channel
    resource = resource.rsplit("/", 1)[-1]
    if resource.startswith("sip:"):
        resource = resource[4:]
    return resource.split("@", 1)[0]


def _local_parts(channel: str) -> tuple[str, tuple[str, str]]:
    """(channel base name, (exten, context)) of the dial string."""
    base = channel.split(",", 1)[0]
    if "/" in base and "@" in base.split("/", 1)[1]:
        exten, context = base.split("/", 1)[1].split("@", 1)
        context = context.split("/", 1)[0]
        return f"{base.split('/', 1)[0]}/{exten}@{context}", (exten, context)
    return base, (destination_number(channel), "default")


class ManagerSession(ManagerFramer):
    """One client connection to the simulated Asterisk."""

    log = Logger()
    expectBanner = False

    def __init__(self, simulator: AsteriskManagerSimulator):
        self.sim = simulator
        self.authenticated = False
        self.username: str | None = None
        self.events_on = True
        self.challenge: str | None = None
        self.session_id = f"0x{0x55C5CE960000 + id(self) % 0xFFFF:x}"
        self.session_tv: str | None = None
        self.closing = False

    def connectionMade(self) -> None:
        super().connectionMade()
        self.sim.sessions.append(self)
        assert self.transport is not None
        self.transport.write(f"{BANNER_PREFIX}{self.sim.ami_version}\r\n".encode())

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self in self.sim.sessions:
            self.sim.sessions.remove(self)

    # -- helpers --------------------------------------------------------------------------

    def _address(self, address: object) -> str:
        host = getattr(address, "host", "0.0.0.0")
        port = getattr(address, "port", 0)
        return f"IPV4/TCP/{host}/{port}"

    def respond(
        self,
        request: Message,
        response: str,
        message: str | None = None,
        fields: Iterable[tuple[str, object]] = (),
        *,
        event_list: str | None = None,
    ) -> None:
        # astman_send_response_full(): Response, ActionID, EventList, Message, then the rest.
        out: list[tuple[str, object]] = [("Response", response)]
        if request.get("ActionID"):
            out.append(("ActionID", request.get("ActionID")))
        if event_list:
            out.append(("EventList", event_list))
        if message is not None:
            out.append(("Message", message))
        out += list(fields)
        self.sendMessage(Message(out))

    def error(self, request: Message, message: str) -> None:
        self.respond(request, "Error", message)

    def _listEvent(self, request: Message, name: str, fields: Iterable[tuple[str, object]]) -> Message:
        out: list[tuple[str, object]] = [("Event", name), *fields]
        if request.get("ActionID"):
            out.append(("ActionID", request.get("ActionID")))
        return Message(out)

    # -- requests -------------------------------------------------------------------------

    def messageReceived(self, request: Message) -> None:
        if self.closing:
            return
        self.sim.actions_received.append(request)
        if self.sim.frozen:
            return
        action = request.get("Action")
        if not action:
            self.error(request, "Missing action in request")
            return
        folded = action.lower()
        if not self.authenticated and folded not in ("login", "challenge", "logoff"):
            self.error(request, "Permission denied")
            return
        handler = getattr(self, f"action_{folded}", None)
        if handler is None:
            self.error(request, f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands.")
            self._securityEvent(
                "RequestBadFormat",
                "Error",
                [("RequestType", f"Action: {action}"), ("SessionTV", self.session_tv or self.sim.event_tv()), ("AccountID", self.username or "")],
                with_account_first=False,
            )
            return
        handler(request)

    def _securityEvent(self, name: str, severity: str, tail: list[tuple[str, object]], *, with_account_first: bool) -> None:
        fields: list[tuple[str, object]] = [
            ("EventTV", self.sim.event_tv()),
            ("Severity", severity),
            ("Service", "AMI"),
            ("EventVersion", 1),
        ]
        if with_account_first:
            fields.append(("AccountID", self.username or ""))
        assert self.transport is not None
        fields += [
            ("SessionID", self.session_id),
            ("LocalAddress", self._address(self.transport.getHost())),
            ("RemoteAddress", self._address(self.transport.getPeer())),
            *tail,
        ]
        self.sim.emit(name, "security,all", fields)

    def action_challenge(self, request: Message) -> None:
        if (request.get("AuthType") or "").lower() != "md5":
            self.error(request, "Must specify AuthType")
            return
        self.challenge = next(self.sim._challenges)
        self.respond(request, "Success", None, [("Challenge", self.challenge)])

    def action_login(self, request: Message) -> None:
        if self.authenticated:
            self.respond(request, "Success", "Already authenticated")
            return
        username = request.get("Username", "")
        secret = self.sim.users.get(username)
        ok = False
        if secret is not None:
            if (request.get("AuthType") or "").lower() == "md5":
                if self.challenge:
                    expected = hashlib.md5((self.challenge + secret).encode("utf-8")).hexdigest()
                    ok = (request.get("Key") or "").lower() == expected
            else:
                ok = request.get("Secret") == secret
        if not ok:
            # manager.c sleeps a second before refusing, then closes the session.
            self.closing = True
            self.sim.clock.callLater(self.sim.auth_failure_delay, self._refuse, request)
            return
        self.authenticated = True
        self.username = username
        self.events_on = (request.get("Events") or "on").lower() != "off"
        self.session_tv = self.sim.event_tv()
        self.respond(request, "Success", "Authentication accepted")
        if self.events_on and self.sim.reads("system,all"):
            self.sendMessage(
                Message(
                    [
                        ("Event", "FullyBooted"),
                        ("Privilege", "system,all"),
                        ("Uptime", self.sim.uptime()),
                        ("LastReload", self.sim.uptime()),
                        ("Status", "Fully Booted"),
                    ]
                )
            )
        self._securityEvent(
            "SuccessfulAuth",
            "Informational",
            [("UsingPassword", 0), ("SessionTV", self.session_tv)],
            with_account_first=True,
        )

    def _refuse(self, request: Message) -> None:
        if self not in self.sim.sessions:
            return  # the client went away during the delay
        self.respond(request, "Error", "Authentication failed")
        assert self.transport is not None
        self.transport.loseConnection()

    def action_logoff(self, request: Message) -> None:
        self.respond(request, "Goodbye", "Thanks for all the fish.")
        self.closing = True
        assert self.transport is not None
        self.transport.loseConnection()

    def action_ping(self, request: Message) -> None:
        now = self.sim.wall()
        self.respond(request, "Success", None, [("Ping", "Pong"), ("Timestamp", f"{now:.6f}")])

    def action_coresettings(self, request: Message) -> None:
        self.respond(
            request,
            "Success",
            None,
            [
                ("AMIversion", self.sim.ami_version),
                ("AsteriskVersion", self.sim.asterisk_version),
                ("SystemName", ""),
                ("CoreMaxCalls", 0),
                ("CoreMaxLoadAvg", "0.000000"),
                ("CoreRunUser", ""),
                ("CoreRunGroup", ""),
                ("CoreMaxFilehandles", 0),
                ("CoreRealTimeEnabled", "No"),
                ("CoreCDRenabled", "No"),
                ("CoreHTTPenabled", "No"),
                ("SoundsSearchCustomDir", "No"),
            ],
        )

    def originateAsync(self, request: Message) -> bool:
        return (request.get("Async") or "").lower() in ("true", "yes", "1", "on")

    def action_originate(self, request: Message) -> None:
        if not request.get("Channel"):
            self.error(request, "Channel not specified")
            return
        if not request.get("Application") and not request.get("Exten"):
            self.error(request, "Exten not specified")
            return
        if self.originateAsync(request):
            self.respond(request, "Success", "Originate successfully queued")
        self.sim.originate(self, request)

    def finishSyncOriginate(self, request: Message, answered: bool) -> None:
        if answered:
            self.respond(request, "Success", "Originate successfully queued")
        else:
            self.error(request, "Originate failed")

    def action_hangup(self, request: Message) -> None:
        channel = request.get("Channel")
        if not channel:
            self.error(request, "No channel specified")
            return
        try:
            cause = int(request.get("Cause") or 16)
        except ValueError:
            cause = 16
        if channel not in self.sim.calls:
            self.error(request, "No such channel")
            return
        self.respond(request, "Success", "Channel Hungup")
        self.sim.hangup_call(channel, cause)

    def action_redirect(self, request: Message) -> None:
        """manager.c action_redirect(): the channel (and ExtraChannel, the other party of a
        bridge, to Extra* or the same place) to a dialplan place. Answers as Asterisk 23.4.1
        did: "Channel not specified", "Channel does not exist: <as given>", "Dual Redirect
        successful" (ami_threeway_by_name, _by_uniqueid), "Redirect successful"."""
        name = request.get("Channel") or ""
        if not name:
            self.error(request, "Channel not specified")
            return
        context, exten = request.get("Context") or "", request.get("Exten") or ""
        channel = self.sim.redirect_target(name)
        if channel is None:
            self.error(request, f"Channel does not exist: {name}")
            return
        extra_name = request.get("ExtraChannel") or ""
        extra = self.sim.redirect_target(extra_name) if extra_name else None
        if extra_name and extra is None:
            self.error(request, f"Channel does not exist: {extra_name}")
            return
        self.respond(request, "Success", "Dual Redirect successful" if extra is not None
                     else "Redirect successful")
        moves = [(channel, context, exten)]
        if extra is not None:
            moves.append((extra, request.get("ExtraContext") or context,
                          request.get("ExtraExten") or exten))
        self.sim.redirect(moves)

    def action_status(self, request: Message) -> None:
        """Status of one channel, by name or Uniqueid (manager.c action_status() and
        generate_status()): "No such channel" for one that is gone, else a list of one
        Status event whose BridgeID names the bridge it is in ("" when none) and
        StatusComplete with ListItems and Items. Status of every channel (no Channel) lists
        the live legs."""
        name = request.get("Channel")
        if name:
            leg = self.sim.find_channel(name)
            if leg is None:
                self.error(request, "No such channel")
                return
            legs = [leg]
        else:
            calls = {id(call): call for call in self.sim.calls.values()}  # each call once
            legs = [leg for call in calls.values() for leg in call.legs]
        self.respond(request, "Success", "Channel status will follow", event_list="start")
        for leg in legs:
            call = self.sim.calls[leg.name]
            application, data = self.sim.channel_application(leg)
            fields: list[tuple[str, object]] = [
                ("Event", "Status"),
                ("Privilege", "Call"),
                *leg.fields(),
                ("Type", leg.name.split("/", 1)[0]),
                ("DNID", ""),
                ("EffectiveConnectedLineNum", leg.connected_num or UNKNOWN),
                ("EffectiveConnectedLineName", leg.connected_name or UNKNOWN),
                ("TimeToHangup", 0),
                ("BridgeID", self.sim.bridges.get(leg.uniqueid, "")),
                ("Application", application),
                ("Data", data),
                ("Nativeformats", "(ulaw)"),
                ("Readformat", "ulaw"),
                ("Readtrans", ""),
                ("Writeformat", "ulaw"),
                ("Writetrans", ""),
                ("Callgroup", 0),
                ("Pickupgroup", 0),
                ("Seconds", int(self.sim.wall() - call.answered)),
            ]
            if request.get("ActionID"):
                fields.append(("ActionID", request.get("ActionID")))
            self.sendMessage(Message(fields))
        complete: list[tuple[str, object]] = [("Event", "StatusComplete")]
        if request.action_id:
            complete.append(("ActionID", request.action_id))
        complete += [("EventList", "Complete"), ("ListItems", len(legs)), ("Items", len(legs))]
        self.sendMessage(Message(complete))

    def action_playdtmf(self, request: Message) -> None:
        # The digit reaches the channel's dialplan, which the simulator does not run: the
        # DTMFBegin/DTMFEnd events, if a test needs them, are injected.
        channel = request.get("Channel") or ""
        if channel not in self.sim.calls:
            self.error(request, "Channel not found")
            return
        if not request.get("Digit"):
            self.error(request, "No digit specified")
            return
        self.respond(request, "Success", "DTMF successfully queued")

    def action_setvar(self, request: Message) -> None:
        variable = request.get("Variable")
        if not variable:
            self.error(request, "No variable specified")
            return
        channel = request.get("Channel")
        call = None
        if channel:
            call = self.sim.calls.get(channel)
            if call is None:
                self.error(request, "No such channel")
                return
        self.respond(request, "Success", "Variable Set")
        if call is not None:
            leg = next(leg for leg in call.legs if leg.name == channel)
            self.sim.emit("VarSet", "dialplan,all", [*leg.fields(), ("Variable", variable), ("Value", request.get("Value", ""))])

    # -- queues ---------------------------------------------------------------------------

    def action_queueadd(self, request: Message) -> None:
        queue_name, interface = request.get("Queue"), request.get("Interface")
        if not queue_name or not interface:
            self.error(request, "'Queue' and 'Interface' not specified.")
            return
        q = self.sim.queues.get(queue_name)
        if q is None:
            self.error(request, "Unable to add interface to queue: No such queue")
            return
        if interface in q.members:
            self.error(request, "Unable to add interface: Already there")
            return
        paused = _truthy(request.get("Paused"))
        now = int(self.sim.wall())
        state_interface = request.get("StateInterface") or interface
        member = QueueMember(
            interface=interface,
            member_name=request.get("MemberName") or interface,
            state_interface=state_interface,
            status=self.sim.device_state(state_interface),
            penalty=_int(request.get("Penalty")),
            paused=paused,
            paused_reason=(request.get("Reason") or "") if paused else "",
            last_pause=now if paused else 0,
            login_time=now,
            ringinuse=q.ringinuse,
            wrapuptime=max(0, _int(request.get("Wrapuptime"))),
        )
        q.members[interface] = member
        self.respond(request, "Success", "Added interface to queue")
        self.sim.emit("QueueMemberAdded", "agent,all", member.blob(queue_name))

    def action_queueremove(self, request: Message) -> None:
        queue_name, interface = request.get("Queue"), request.get("Interface")
        if not queue_name or not interface:
            self.error(request, "Need 'Queue' and 'Interface' parameters.")
            return
        q = self.sim.queues.get(queue_name)
        if q is None:
            self.error(request, "Unable to remove interface from queue: No such queue")
            return
        member = q.members.pop(interface, None)
        if member is None:
            self.error(request, "Unable to remove interface: Not there")
            return
        self.respond(request, "Success", "Removed interface from queue")
        self.sim.emit("QueueMemberRemoved", "agent,all", member.blob(queue_name))

    def action_queuepause(self, request: Message) -> None:
        interface, paused_text = request.get("Interface"), request.get("Paused")
        if not interface or not paused_text:
            self.error(request, "Need 'Interface' and 'Paused' parameters.")
            return
        paused = _truthy(paused_text)
        queue_name = request.get("Queue")
        reason = request.get("Reason") or ""
        targets = [q for q in self.sim.queues.values() if (not queue_name or q.name == queue_name) and interface in q.members]
        if not targets:
            self.error(request, "Interface not found")
            return
        self.respond(request, "Success", "Interface paused successfully" if paused else "Interface unpaused successfully")
        now = int(self.sim.wall())
        for q in targets:
            member = q.members[interface]
            member.paused = paused
            member.paused_reason = reason if paused else ""
            if paused:
                member.last_pause = now
            self.sim.emit("QueueMemberPause", "agent,all", member.blob(q.name))

    def action_queuestatus(self, request: Message) -> None:
        queue_name = request.get("Queue")
        member_filter = request.get("Member")
        reply = self.sim.queue_status_reply
        if reply == QUEUE_STATUS_BARE:
            self.respond(request, "Success", "Queue status will follow")
            return
        if reply == QUEUE_STATUS_ERROR:
            self.error(request, "Queue status failed")
            return
        self.respond(request, "Success", "Queue status will follow", event_list="start")
        items = 0
        now = self.sim.wall()
        for q in self.sim.queues.values():
            if queue_name and q.name != queue_name:
                continue
            self.sendMessage(
                self._listEvent(
                    request,
                    "QueueParams",
                    [
                        ("Queue", q.name),
                        ("Max", 0),
                        ("Strategy", q.strategy),
                        ("Calls", len(q.callers)),
                        ("Holdtime", q.holdtime),
                        ("TalkTime", q.talktime),
                        ("Completed", q.completed),
                        ("Abandoned", q.abandoned),
                        ("ServiceLevel", q.servicelevel),
                        ("ServicelevelPerf", q.service_levels()[0]),
                        ("ServicelevelPerf2", q.service_levels()[1]),
                        ("Weight", 0),
                    ],
                )
            )
            items += 1
            for member in q.members.values():
                if member_filter and member_filter not in (member.interface, member.member_name):
                    continue
                self.sendMessage(
                    self._listEvent(
                        request,
                        "QueueMember",
                        [
                            ("Queue", q.name),
                            ("Name", member.member_name),
                            ("Location", member.interface),
                            ("StateInterface", member.state_interface),
                            ("Membership", member.membership),
                            ("Penalty", member.penalty),
                            ("CallsTaken", member.calls_taken),
                            ("LastCall", member.last_call),
                            ("LastPause", member.last_pause),
                            ("LoginTime", member.login_time),
                            ("InCall", int(member.in_call)),
                            ("Status", member.status),
                            ("Paused", int(member.paused)),
                            ("PausedReason", member.paused_reason),
                            ("Wrapuptime", member.wrapuptime),
                        ],
                    )
                )
                items += 1
            for position, (caller, joined) in enumerate(q.callers, start=1):
                self.sendMessage(
                    self._listEvent(
                        request,
                        "QueueEntry",
                        [
                            ("Queue", q.name),
                            ("Position", position),
                            ("Channel", caller.name),
                            ("Uniqueid", caller.uniqueid),
                            ("CallerIDNum", caller.caller_id_num or UNKNOWN),
                            ("CallerIDName", caller.caller_id_name or UNKNOWN),
                            ("ConnectedLineNum", caller.connected_num or UNKNOWN),
                            ("ConnectedLineName", caller.connected_name or UNKNOWN),
                            ("Wait", int(now - joined)),
                            ("Priority", 0),
                        ],
                    )
                )
                items += 1
        if reply == QUEUE_STATUS_UNFINISHED:
            return
        complete: list[tuple[str, object]] = [("Event", "QueueStatusComplete")]
        if request.action_id:
            complete.append(("ActionID", request.action_id))
        complete += [("EventList", "Complete"), ("ListItems", items)]
        self.sendMessage(Message(complete))

    def action_queuesummary(self, request: Message) -> None:
        """manager_queues_summary(): per queue, the members logged in (not Unavailable or
        Invalid), those available (Not in use or Unknown, not paused: wrap-up is not looked
        at), the callers and the longest wait."""
        queue_name = request.get("Queue")
        self.respond(request, "Success", "Queue summary will follow", event_list="start")
        items = 0
        now = self.sim.wall()
        for q in self.sim.queues.values():
            if queue_name and q.name != queue_name:
                continue
            logged = [m for m in q.members.values() if m.status not in (DEVICE_UNAVAILABLE, DEVICE_INVALID)]
            available = [m for m in logged if m.status in (DEVICE_NOT_INUSE, DEVICE_UNKNOWN) and not m.paused]
            longest = max((int(now - joined) for _caller, joined in q.callers), default=0)
            self.sendMessage(self._listEvent(request, "QueueSummary", [
                ("Queue", q.name), ("LoggedIn", len(logged)), ("Available", len(available)),
                ("Callers", len(q.callers)), ("HoldTime", q.holdtime), ("TalkTime", q.talktime),
                ("LongestHoldTime", longest)]))
            items += 1
        complete: list[tuple[str, object]] = [("Event", "QueueSummaryComplete")]
        if request.action_id:
            complete.append(("ActionID", request.action_id))
        complete += [("EventList", "Complete"), ("ListItems", items)]
        self.sendMessage(Message(complete))

    def action_getvar(self, request: Message) -> None:
        """Getvar without a channel reads a dialplan function on a dummy channel: the queue
        functions are modelled (QUEUE_MEMBER(q,logged|free|ready|count|paused|penalty|
        ringinuse[,interface]), QUEUE_WAITING_COUNT(q)); any other name reads empty."""
        variable = request.get("Variable")
        if not variable:
            self.error(request, "No variable specified")
            return
        channel = request.get("Channel")
        if channel and self.sim.find_channel(channel) is None:
            self.error(request, "No such channel")
            return
        value = "" if channel else self.sim.function_value(variable)
        self.respond(request, "Success", None, [("Variable", variable), ("Value", value)])


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "yes", "1", "on", "y", "t")


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
