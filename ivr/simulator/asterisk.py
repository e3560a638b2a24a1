"""A scripted caller behind an Asterisk that speaks FastAGI as res_agi.c does.

`AsteriskCallSimulator` is the Asterisk end of one `AGI(agi://...)` connection: it sends the
`agi_*` header block in Asterisk's order, reads one command line at a time, answers it with the
exact line Asterisk 23.4.1 sends (see tests/golden/asterisk-23.4.1), and plays the caller from a
`CallerScript`. It keeps Asterisk's rules: commands are matched by words case-insensitively,
arguments parsed like `parse_args`, unknown commands get 510, wrong arguments a 520 usage block,
and after a hang-up only the dead-channel commands run (the rest get 511). A hang-up sends
`HANGUP` unless AGISIGHUP=no; AGIEXITONHANGUP=yes sends it twice and closes. When the service
closes its side Asterisk sends a last `HANGUP` (again unless AGISIGHUP=no). A sound file that
is not in `CallSetup.sounds` fails what plays it as Asterisk does: STREAM FILE and the like, and
SAY DATETIME in Chinese, whose files `ivr.simulator.say` lists (it stops at the first missing one,
answers -1 and the AGI ends with FAILURE); RECORD FILE outside `record_dirs` answers (writefile).

Time is virtual: every answer is immediate, so a benchmark measures the service, not waits.
What the caller heard is kept in `heard` for a CLI to print.
"""

from __future__ import annotations

import os
import re
import wave
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Collection, Mapping

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.logger import Logger
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure
from zope.interface import implementer

from ivr.simulator.say import zh_datetime_files
from ivr.simulator.script import CallerScript, Turn
from ivr.simulator.usage import usage_block

SAMPLES_PER_SECOND = 8000
CONNECTED = ""  # CallSetup.queue_status: an agent takes the call
# CallSetup.queue_status: an agent takes the call and the bridged pair is moved elsewhere
# with AMI Redirect (a three-way call's conference): Queue answers 0, the AGI is ended.
REDIRECTED = "REDIRECTED"
DEAD = "511 Command Not Permitted on a dead channel or intercept routine\n"
INVALID = "510 Invalid or unknown command\n"
_USAGE = object()
_KNOWN_APPS = frozenset(
    "answer background dial gosub goto hangup log macro musiconhold noop playback queue "
    "read senddtmf set userevent verbose voicemail wait".split()
)
_INNERMOST = re.compile(r"\$\{([^{}$]*)\}")


def parse_args(line: str) -> list[str]:
    """res_agi.c `parse_args`: spaces/tabs split, double quotes group, backslash escapes."""
    argv: list[str] = []
    quoted = escaped = False
    whitespace = True
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                argv.append("")
                whitespace = False
            continue
        if ch in " \t" and not quoted and not escaped:
            whitespace = True
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        if whitespace:
            argv.append("")
            whitespace = False
        argv[-1] += ch
        escaped = False
    return argv


@dataclass(frozen=True)
class CallSetup:
    """The call as Asterisk would present it; defaults match the golden transcripts' peer.
    `sounds` maps the sound files that exist to their length in samples (None: every file
    exists and lasts `default_samples`). `functions` answers dialplan functions by their full
    text, e.g. {'QUEUE_WAITING_COUNT(hotline)': '7'}."""

    script: str = "hotline"
    host: str = "127.0.0.1"
    port: int = 4573
    channel: str = "Local/9600110@hotline-00000001;2"
    language: str = "en"
    type: str = "Local"
    uniqueid: str = "1795887564.7"
    version: str = "23.4.1"
    callerid: str | None = "5551234"
    calleridname: str | None = "Sim Caller"
    callingpres: str = "0"
    callingani2: str = "0"
    callington: str = "0"
    callingtns: str = "0"
    dnid: str | None = None
    rdnis: str | None = None
    context: str = "hotline"
    extension: str = "9600110"
    priority: str = "3"
    enhanced: str = "0.0"
    accountcode: str = ""
    threadid: str = "139705253332672"
    args: tuple[str, ...] = ()
    sighup: bool = True
    exit_on_hangup: bool = False
    sounds: Mapping[str, int] | None = None
    default_samples: int = 2 * SAMPLES_PER_SECOND
    variables: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    functions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # QUEUESTATUS when nobody takes the call (TIMEOUT, JOINEMPTY, FULL, ...), or CONNECTED:
    # an agent answers and hangs up first.
    queue_status: str = "TIMEOUT"
    # CONNECTED: the interface of the member who took the call, which Queue (queues.conf
    # setinterfacevar = yes) leaves in MEMBERINTERFACE; None sets nothing.
    queue_member: str | None = None
    # A queue that decides the wait (the demo's, in the AMI simulator): Queue() hands it a
    # QueueEntry and answers when its Deferred fires with a QueueResult, as app_queue holds
    # the caller until an agent, the timeout or the caller's hang-up ends the wait. None:
    # queue_status and queue_member decide at once.
    queue: Callable[[QueueEntry], Deferred[QueueResult]] | None = None
    max_commands: int = 1000
    # RECORD FILE: None, a channel that sends no media (the golden transcripts' Local
    # channel: endpos=0 whatever happens); else the seconds the caller speaks before going
    # quiet, pressing the escape key or hanging up.
    speech_s: float | None = None
    # Write each recording (a WAV of that many samples) where RECORD FILE names it, as
    # Asterisk does on its own filesystem; a directory that does not exist fails the command.
    write_recordings: bool = False
    # The directories Asterisk's filesystem has for RECORD FILE (None: any); a recording
    # anywhere else answers `(writefile)`, as into a spool directory nobody created.
    record_dirs: Collection[str] | None = None
    # The Asterisk host's time zone: SAY DATETIME without a zone says the date in it.
    host_zone: str = "UTC"
    # queues.conf monitor-format (None: the queue records nothing): when a member takes the
    # call, app_queue's setup_mixmonitor() records the bridge to ${MONITOR_FILENAME}.<fmt>,
    # its ^{VAR} turned into ${VAR} and substituted then (docs/asterisk/extensions.conf sets
    # it to .../call-^{HOTLINE_CALL_ID} before the IVR runs). With write_recordings, a WAV of
    # `queue_talk_s` seconds is written there when the member connects.
    monitor_format: str | None = None
    queue_talk_s: float = 1.0

    def header(self) -> bytes:
        def known(value: str | None) -> str:
            return "unknown" if value is None or value == "" else value

        rows = [
            ("agi_network", "yes"),
            ("agi_network_script", self.script),
            ("agi_request", f"agi://{self.host}:{self.port}/{self.script}"),
            ("agi_channel", self.channel),
            ("agi_language", self.language),
            ("agi_type", self.type),
            ("agi_uniqueid", self.uniqueid),
            ("agi_version", self.version),
            ("agi_callerid", known(self.callerid)),
            ("agi_calleridname", known(self.calleridname)),
            ("agi_callingpres", self.callingpres),
            ("agi_callingani2", self.callingani2),
            ("agi_callington", self.callington),
            ("agi_callingtns", self.callingtns),
            ("agi_dnid", known(self.dnid)),
            ("agi_rdnis", known(self.rdnis)),
            ("agi_context", self.context),
            ("agi_extension", self.extension),
            ("agi_priority", self.priority),
            ("agi_enhanced", self.enhanced),
            ("agi_accountcode", self.accountcode),
            ("agi_threadid", self.threadid),
        ]
        rows += [(f"agi_arg_{n}", value) for n, value in enumerate(self.args, start=1)]
        return ("".join(f"{k}: {v}\n" for k, v in rows) + "\n").encode("utf-8")


@dataclass(frozen=True)
class QueueEntry:
    """A caller entering Queue(): the queue's name, its options and timeout (None: no
    timeout) as the AGI gave them, and the channel as the queue sees it (caller id,
    Uniqueid, the channel variables set so far: HOTLINE_CALL_ID among them)."""

    queue: str
    options: str
    timeout_s: int | None
    callerid: str
    uniqueid: str
    channel: str
    variables: Mapping[str, str]


@dataclass(frozen=True)
class QueueResult:
    """How a queue wait ended: CONNECTED with the member who took the call (who hung up
    first), a QUEUESTATUS (TIMEOUT, JOINEMPTY, LEAVEEMPTY, FULL), or the caller hanging up
    while waiting (caller_hung_up)."""

    status: str = CONNECTED
    member: str | None = None
    caller_hung_up: bool = False
    redirected: bool = False  # moved out of the queue's bridge by AMI Redirect


@dataclass(frozen=True)
class Heard:
    """One thing that happened on the caller's ear or keypad, in order."""

    kind: str  # play, missing, say-digits, say-number, say-date, beep, record, queue,
    # queue-wait, exec, keys, hangup
    value: str
    interrupted_by: str = ""

    def __str__(self) -> str:
        text = f"{self.kind} {self.value}".rstrip()
        return text + (f" (interrupted by {self.interrupted_by})" if self.interrupted_by else "")


def render(heard: "list[Heard]", prompts: Mapping[str, str] | None = None) -> list[str]:
    """One printable line per event; a played file whose last path part is a prompt id in
    `prompts` (id -> text, e.g. the catalogue's Mandarin) is shown with its words."""
    lines = []
    for item in heard:
        line = str(item)
        if prompts and item.kind in ("play", "missing"):
            text = prompts.get(item.value.rsplit("/", 1)[-1])
            if text:
                line += f": {text}"
        lines.append(line)
    return lines


@dataclass
class _Play:
    digit: str = ""  # the escape digit that stopped it
    endpos: int = 0
    hangup: bool = False


@implementer(IHalfCloseableProtocol)
class AsteriskCallSimulator(LineReceiver):
    log = Logger()
    delimiter = b"\n"
    MAX_LENGTH = 65536

    def __init__(self, setup: CallSetup | None = None, script: CallerScript | str = "") -> None:
        self.setup = setup or CallSetup()
        self.script = script if isinstance(script, CallerScript) else CallerScript(script)
        self.heard: list[Heard] = []
        self.dead = False
        self.ended = False  # the AGI loop is over (Asterisk no longer reads commands)
        self.agistatus = "SUCCESS"
        self.finished: Deferred[list[Heard]] = Deferred()
        self.commands = 0
        self.variables: dict[str, str] = dict(self.setup.variables)
        if not self.setup.sighup:
            self.variables.setdefault("AGISIGHUP", "no")
        if self.setup.exit_on_hangup:
            self.variables.setdefault("AGIEXITONHANGUP", "yes")
        self.astdb: dict[tuple[str, str], str] = {}
        self._hangup_pending = False
        self._redirect_pending = False
        self._table: list[tuple[tuple[str, ...], bool, Callable[[list[str]], object]]] = [
            (("answer",), False, self._answer),
            (("asyncagi", "break"), True, lambda argv: "200 result=0\n"),
            (("channel", "status"), False, self._channel_status),
            (("control", "stream", "file"), False, self._control_stream_file),
            (("database", "del"), True, self._db_del),
            (("database", "deltree"), True, self._db_deltree),
            (("database", "get"), True, self._db_get),
            (("database", "put"), True, self._db_put),
            (("exec",), True, self._exec),
            (("get", "data"), False, self._get_data),
            (("get", "full", "variable"), True, self._get_full_variable),
            (("get", "option"), False, self._get_option),
            (("get", "variable"), True, self._get_variable),
            (("hangup",), False, self._hangup),
            (("noop",), True, lambda argv: "200 result=0\n"),
            (("record", "file"), False, self._record_file),
            (("say", "alpha"), False, self._say("say-alpha", 4)),
            (("say", "date"), False, self._say("say-date", 4)),
            (("say", "datetime"), False, self._say("say-datetime", *range(4, 128))),
            (("say", "digits"), False, self._say("say-digits", 4)),
            (("say", "number"), False, self._say("say-number", 4, 5)),
            (("say", "phonetic"), False, self._say("say-phonetic", 4)),
            (("say", "time"), False, self._say("say-time", 4)),
            (("set", "autohangup"), False, lambda argv: "200 result=0\n" if len(argv) == 3 else _USAGE),
            (("set", "callerid"), False, lambda argv: "200 result=1\n" if len(argv) == 3 else _USAGE),
            (("set", "context"), False, lambda argv: "200 result=0\n" if len(argv) == 3 else _USAGE),
            (("set", "extension"), False, lambda argv: "200 result=0\n" if len(argv) == 3 else _USAGE),
            (("set", "music"), False, self._set_music),
            (("set", "priority"), False, lambda argv: "200 result=0\n" if len(argv) == 3 else _USAGE),
            (("set", "variable"), True, self._set_variable),
            (("stream", "file"), False, self._stream_file),
            (("verbose",), True, lambda argv: "200 result=1\n" if len(argv) >= 2 else _USAGE),
            (("wait", "for", "digit"), False, self._wait_for_digit),
        ]

    # -- connection -----------------------------------------------------------------------
    def connectionMade(self) -> None:
        self.transport.write(self.setup.header())

    def lineReceived(self, raw: bytes) -> None:
        if self.ended:
            return
        line = raw.decode("utf-8", "replace")
        # res_agi.c: a script that cannot run answers `failure`; the AGI ends with FAILURE.
        if line[:7].lower() == "failure":
            self.agistatus = "FAILURE"
            self.heard.append(Heard("agi-failure", self.setup.script))
            self._end_agi()
            return
        self.commands += 1
        if self.commands > self.setup.max_commands and not self.dead:
            self._hangup_pending = True
        answer = self._handle(line)
        if isinstance(answer, Deferred):  # an application still running (a queue wait)
            answer.addCallback(self._answered)
            return
        self._answered(answer)

    def _answered(self, answer: str) -> None:
        if self.ended:
            return
        self._send(answer)
        if self._redirect_pending and not self.dead:
            self._redirect_pending = False
            self.dead = True  # for the AGI: the channel has left it (511 from now on)
            self.heard.append(Heard("redirected", "the channel left the AGI"))
            if self.agistatus == "SUCCESS":
                self.agistatus = "HANGUP"
            self._channel_gone()
        if self._hangup_pending and not self.dead:
            self.caller_hangs_up()

    def readConnectionLost(self) -> None:
        """The service shut its side: Asterisk ends the AGI and says HANGUP one last time."""
        if not self.ended:
            self._end_agi()

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Failure) -> None:
        self.ended = True
        if not self.finished.called:
            self.finished.callback(self.heard)

    def caller_hangs_up(self) -> None:
        """The caller hangs up now (while the AGI is idle, or right after a command)."""
        if self.dead or self.ended:
            return
        self.dead = True
        self._hangup_pending = False
        self.heard.append(Heard("hangup", "caller"))
        if self.agistatus == "SUCCESS":
            self.agistatus = "HANGUP"
        self._channel_gone()

    def _command_failed(self) -> None:
        """A handler returned RESULT_FAILURE (a file it could not open) on a live channel:
        res_agi.c's run_agi goes on reading commands but the AGI ends with AGISTATUS=FAILURE,
        even if the caller hangs up later."""
        if not self.dead:
            self.agistatus = "FAILURE"

    def _channel_gone(self) -> None:
        if self.setup.sighup:
            self.transport.write(b"HANGUP\n")
        if self.setup.exit_on_hangup:
            self._end_agi()

    def _end_agi(self) -> None:
        self.ended = True
        if self.setup.sighup:
            self.transport.write(b"HANGUP\n")
        self.transport.loseConnection()

    def _send(self, text: str) -> None:
        self.transport.write(text.encode("utf-8"))

    # -- dispatch -------------------------------------------------------------------------
    def _handle(self, line: str) -> str:
        argv = parse_args(line)
        entry = self._find(argv)
        if entry is None:
            return INVALID
        words, dead_ok, handler = entry
        if self.dead and not dead_ok:
            return DEAD
        answer = handler(argv)
        if answer is _USAGE:
            return usage_block(" ".join(words))
        return answer  # type: ignore[return-value]

    def _find(self, argv: list[str]):
        lowered = [a.lower() for a in argv]
        for entry in self._table:
            words = entry[0]
            if len(lowered) >= len(words) and tuple(lowered[: len(words)]) == words:
                return entry
        return None

    # -- the caller -----------------------------------------------------------------------
    def _turn(self, listening: bool) -> Turn | None:
        if self.dead:
            return None
        return self.script.take(listening)

    def _after(self, turn: Turn | None, used: int) -> None:
        """Put back keys typed ahead; remember a hang-up that comes after them."""
        if turn is None:
            return
        rest = Turn(turn.keys[used:], turn.hangup)
        if rest.keys:
            self.script.push_back(rest)
        elif rest.hangup:
            self._hangup_pending = True

    def _samples(self, name: str) -> int | None:
        sounds = self.setup.sounds
        if sounds is None:
            return self.setup.default_samples
        return sounds.get(name)

    def _play(self, name: str, escape: str, offset: int = 0, kind: str = "play") -> _Play | None:
        """Play a file; None when it does not exist."""
        samples = self._samples(name)
        if samples is None:
            self.heard.append(Heard("missing", name))
            return None
        turn = self._turn(listening=bool(escape))
        start = min(offset, samples)
        if turn is None or turn.silent:
            self.heard.append(Heard(kind, name))
            return _Play(endpos=samples)
        for i, key in enumerate(turn.keys):
            if key in escape:
                self.heard.append(Heard("keys", turn.keys[: i + 1]))
                self.heard.append(Heard(kind, name, interrupted_by=key))
                self._after(turn, i + 1)
                # the caller reacts some way into the file: deterministic, never 0 or the end
                return _Play(digit=key, endpos=start + max(1, (samples - start) * 62 // 100))
        if turn.keys:
            self.heard.append(Heard("keys", turn.keys))
        self.heard.append(Heard(kind, name, interrupted_by="hangup" if turn.hangup else ""))
        if turn.hangup:
            self._hangup_pending = True
            return _Play(endpos=start + max(1, (samples - start) * 3 // 10), hangup=True)
        return _Play(endpos=samples)

    # -- handlers -------------------------------------------------------------------------
    def _answer(self, argv: list[str]) -> str:
        return "200 result=0\n"

    def _channel_status(self, argv: list[str]) -> object:
        if len(argv) not in (2, 3):
            return _USAGE
        return "200 result=6\n"

    def _hangup(self, argv: list[str]) -> object:
        if len(argv) not in (1, 2):
            return _USAGE
        self.heard.append(Heard("hangup", "service"))
        self.dead = True
        if self.agistatus == "SUCCESS":  # run_agi reads the hung-up channel like any other
            self.agistatus = "HANGUP"
        # Asterisk answers the command, then notices its own hang-up like any other.
        self.transport.write(b"200 result=1\n")
        self._channel_gone()
        return ""

    def _stream_file(self, argv: list[str]) -> object:
        if len(argv) < 4 or len(argv) > 5:
            return _USAGE
        offset = int(argv[4]) if len(argv) == 5 and argv[4].isdigit() else 0
        played = self._play(argv[2], argv[3], offset)
        if played is None:
            # res_agi.c reports the requested offset as the end position of a file it cannot
            # open (endpos=0 without one), sets no PLAYBACKSTATUS and fails the command
            self._command_failed()
            return f"200 result=-1 endpos={offset}\n"
        if played.hangup:
            return f"200 result=-1 endpos={played.endpos}\n"
        # FAILED when a digit stopped it too: res_agi.c sets it from the nonzero result
        self.variables["PLAYBACKSTATUS"] = "FAILED" if played.digit else "SUCCESS"
        return f"200 result={ord(played.digit) if played.digit else 0} endpos={played.endpos}\n"

    def _control_stream_file(self, argv: list[str]) -> object:
        if len(argv) < 5 or len(argv) > 10:
            return _USAGE
        played = self._play(argv[3], argv[4])
        if played is None:
            self._command_failed()
            return "200 result=-1 endpos=-1\n"
        if played.hangup:
            return f"200 result=-1 endpos={played.endpos // 8}\n"
        if played.digit:
            return f"200 result={ord(played.digit)} endpos={played.endpos // 8}\n"
        return "200 result=0 endpos=-1\n"

    def _get_option(self, argv: list[str]) -> object:
        if len(argv) < 4 or len(argv) > 5:
            return _USAGE
        played = self._play(argv[2], argv[3])
        if played is None:
            self._command_failed()
            return "200 result=-1 endpos=0\n"
        if played.hangup:
            return f"200 result=-1 endpos={played.endpos}\n"
        return f"200 result={ord(played.digit) if played.digit else 0} endpos={played.endpos}\n"

    def _get_data(self, argv: list[str]) -> object:
        if len(argv) < 3:
            return _USAGE
        prompt = argv[2]
        maximum = 1024
        if len(argv) >= 5:
            try:
                maximum = int(argv[4])
            except ValueError:
                maximum = 1024
        if self._samples(prompt) is None:
            self.heard.append(Heard("missing", prompt))
            return "200 result=-1\n"
        turn = self._turn(listening=True)
        if turn is None or turn.silent:
            self.heard.append(Heard("play", prompt))
            return "200 result= (timeout)\n"
        collected = ""
        used = 0
        ended_by = "timeout"
        for key in turn.keys:
            used += 1
            if key == "#":
                ended_by = "#"
                break
            collected += key
            if len(collected) >= maximum:
                ended_by = "max"
                break
        self.heard.append(Heard("play", prompt, interrupted_by=turn.keys[:1]))
        self.heard.append(Heard("keys", turn.keys[:used]))
        if ended_by == "timeout" and turn.hangup:
            self._hangup_pending = True
            return "200 result=-1\n"
        self._after(turn, used)
        if ended_by == "timeout":
            return f"200 result={collected} (timeout)\n"
        return f"200 result={collected}\n"

    def _wait_for_digit(self, argv: list[str]) -> object:
        if len(argv) != 4 or not re.fullmatch(r"-?\d+", argv[3]):
            return _USAGE
        turn = self._turn(listening=True)
        if turn is None or turn.silent:
            return "200 result=0\n"
        if turn.keys:
            self.heard.append(Heard("keys", turn.keys[0]))
            self._after(turn, 1)
            return f"200 result={ord(turn.keys[0])}\n"
        self._hangup_pending = True
        return "200 result=-1\n"

    def _say(self, kind: str, *argcs: int) -> Callable[[list[str]], object]:
        def handler(argv: list[str]) -> object:
            if len(argv) not in argcs:
                return _USAGE
            value = argv[2]
            if kind in ("say-date", "say-time", "say-datetime"):
                # sscanf("%30d") / ast_get_time_t: a leading integer, the rest ignored
                leading = re.match(r"\s*[-+]?\d+", value)
                if leading is None:
                    return _USAGE
                value = str(int(leading.group()))
            elif kind in ("say-digits", "say-number") and not re.fullmatch(r"-?\d+", value):
                return _USAGE
            missing = self._say_missing(argv) if kind == "say-datetime" else None
            if kind == "say-datetime" and len(argv) > 4:
                # format and zone, as given; Asterisk's default is "ABdY 'digits/at' IMp"
                value = " ".join([value, *(repr(a) for a in argv[4:6])])
            escape = argv[3]
            if missing is not None and missing[1] == 0:
                return self._say_failed(kind, value, missing[0])
            turn = self._turn(listening=bool(escape))
            if turn is None or turn.silent:
                if missing is not None:
                    return self._say_failed(kind, value, missing[0])
                self.heard.append(Heard(kind, value))
                return "200 result=0\n"
            for i, key in enumerate(turn.keys):
                if key in escape:
                    self.heard.append(Heard("keys", turn.keys[: i + 1]))
                    self.heard.append(Heard(kind, value, interrupted_by=key))
                    self._after(turn, i + 1)
                    return f"200 result={ord(key)}\n"
            if missing is not None:
                # the files before the missing one played; a hang-up during them still ends
                # the call after this answer
                self._hangup_pending = self._hangup_pending or turn.hangup
                return self._say_failed(kind, value, missing[0])
            self.heard.append(Heard(kind, value, interrupted_by="hangup" if turn.hangup else ""))
            if turn.hangup:
                self._hangup_pending = True
                return "200 result=-1\n"
            return "200 result=0\n"

        return handler

    def _language(self) -> str:
        return self.variables.get("CHANNEL(language)") or self.setup.language

    def _say_missing(self, argv: list[str]) -> tuple[str, int] | None:
        """SAY DATETIME in Chinese: the first sound file it cannot open, and how many files it
        plays before it (None when it has them all, or in another language, whose files the
        simulator does not list)."""
        if self.setup.sounds is None or not self._language().lower().startswith("zh"):
            return None
        epoch = int(re.match(r"\s*[-+]?\d+", argv[2]).group())  # type: ignore[union-attr]
        fmt = argv[4] if len(argv) > 4 else "ABdY 'digits/at' IMp"  # res_agi.c's default
        zone = argv[5] if len(argv) > 5 and argv[5] else self.setup.host_zone
        played = 0
        for name, stops in zh_datetime_files(epoch, fmt, zone):
            if self._samples(name) is not None:
                played += 1
            elif stops:
                return name, played
            else:
                self.heard.append(Heard("missing", name))
        return None

    def _say_failed(self, kind: str, value: str, name: str) -> str:
        """say.c's wait_file could not open `name`: the saying stops there, the command
        answers -1 and (RESULT_FAILURE on a live channel) the AGI ends with FAILURE."""
        self.heard.append(Heard(kind, value, interrupted_by=f"missing {name}"))
        self.heard.append(Heard("missing", name))
        self._command_failed()
        return "200 result=-1\n"

    def _record_file(self, argv: list[str]) -> object:
        """res_agi.c handle_recordfile: endpos is the samples kept in the file. The time limit
        or a hang-up keeps all of them; the escape key chops the last 200 ms; `s=N` ends the
        recording after N seconds of silence and keeps one second of it (it rewinds N - 1 s;
        the silence detector fires one 20 ms frame past N)."""
        if len(argv) < 6 or not re.fullmatch(r"-?\d+", argv[5]):
            return _USAGE
        path, fmt, escape, limit_ms = argv[2], argv[3], argv[4], int(argv[5])
        options = argv[6:]
        silence_s = 0
        for option in options[:3]:
            if option.startswith("s=") and option[2:].isdigit():
                silence_s = int(option[2:])
                break
        beep = any(
            not re.fullmatch(r"\d+", option) and "=" not in option for option in options[:2]
        )
        if beep:
            if self._samples("beep") is None:
                # ast_streamfile("beep") fails: `(randomerror)` with its -1 and the offset,
                # nothing recorded, and (RESULT_SUCCESS) the AGI is not failed
                self.heard.append(Heard("missing", "beep"))
                return "200 result=-1 (randomerror) endpos=0\n"
            self.heard.append(Heard("beep", ""))
        if not self._recording_writable(path):
            self._command_failed()
            return "200 result=-1 (writefile)\n"
        self.heard.append(Heard("record", path))
        speech = self.setup.speech_s
        limit_s = limit_ms / 1000 if limit_ms >= 0 else float("inf")
        turn = self._turn(listening=True)
        answer = None
        if turn is not None and not turn.silent:
            for i, key in enumerate(turn.keys):
                if key in escape:
                    self.heard.append(Heard("keys", turn.keys[: i + 1]))
                    self._after(turn, i + 1)
                    kept = max(0.0, min(speech, limit_s) - 0.2) if speech else 0.0
                    answer = f"{ord(key)} (dtmf)", kept
                    break
            else:
                if turn.hangup:
                    self._hangup_pending = True
                    answer = "-1 (hangup)", min(speech, limit_s) if speech else 0.0
        if answer is None:
            if speech is None:
                kept = 0.0
            elif silence_s and speech + silence_s < limit_s:
                kept = speech + 1.02
            else:  # the time limit (a recording "for ever" without s=: what was said)
                kept = limit_s if limit_s != float("inf") else speech
            answer = "0 (timeout)", kept
        result, kept = answer
        endpos = int(kept * SAMPLES_PER_SECOND) if speech is not None else 0
        self._write_recording(path, fmt, endpos)
        return f"200 result={result} endpos={endpos}\n"

    def _recording_writable(self, path: str) -> bool:
        directory = os.path.dirname(path) or "."
        if self.setup.record_dirs is not None and directory.rstrip("/") not in {
                d.rstrip("/") for d in self.setup.record_dirs}:
            return False
        return not self.setup.write_recordings or os.path.isdir(directory)

    def _write_recording(self, path: str, fmt: str, samples: int) -> None:
        if not self.setup.write_recordings:
            return
        with wave.open(f"{path}.{fmt}", "wb") as recording:
            recording.setnchannels(1)
            recording.setsampwidth(2)
            recording.setframerate(SAMPLES_PER_SECOND)
            recording.writeframes(b"\0\0" * samples)

    def _exec(self, argv: list[str]) -> object:
        if len(argv) < 2:
            return _USAGE
        app = argv[1]
        data = argv[2] if len(argv) > 2 else ""
        if app.lower() not in _KNOWN_APPS:
            return "200 result=-2\n"
        if self.dead:
            return "200 result=-1\n"
        self.heard.append(Heard("queue" if app.lower() == "queue" else "exec", f"{app} {data}".strip()))
        if app.lower() == "playback":
            # app_playback.c: a file it cannot open is skipped with PLAYBACKSTATUS=FAILED and
            # the application still returns 0 (the AGI is not failed)
            status = "SUCCESS"
            for name in data.split(",")[0].split("&"):
                if self._samples(name) is None:
                    self.heard.append(Heard("missing", name))
                    status = "FAILED"
                else:
                    self.heard.append(Heard("play", name))
            self.variables["PLAYBACKSTATUS"] = status
        turn = self._turn(listening=False)
        if turn is not None and turn.hangup:
            self._hangup_pending = True
            return "200 result=-1\n"
        if app.lower() == "queue":
            return self._queue(data)
        if app.lower() == "hangup":
            self._hangup_pending = True
            return "200 result=-1\n"
        return "200 result=0\n"

    def _queue(self, data: str) -> str | Deferred[str]:
        """app_queue.c: Queue(queuename,options,URL,announceoverride,timeout,...). The
        caller's wait ends at the timeout (TIMEOUT) or, with option n, after one round of the
        members; with neither it has no end but an agent or the caller: nobody answering
        (`queue_status` TIMEOUT), the caller gives up and hangs up."""
        fields = data.split(",")
        options = fields[1] if len(fields) > 1 else ""
        timeout = fields[4].strip() if len(fields) > 4 else ""
        if self.setup.queue is not None:
            entry = QueueEntry(queue=fields[0].strip(), options=options,
                               timeout_s=int(timeout) if timeout.isdigit() else None,
                               callerid=self.setup.callerid, uniqueid=self.setup.uniqueid,
                               channel=self.setup.channel, variables=dict(self.variables))
            return self.setup.queue(entry).addCallback(
                lambda result: self._queue_ended(result, options))
        static = self.setup.queue_status
        return self._queue_ended(QueueResult(static, self.setup.queue_member,
                                             redirected=static == REDIRECTED), options, timeout)

    def _queue_ended(self, result: QueueResult, options: str, timeout: str = "set") -> str:
        """Queue()'s answer once the wait is over (see _queue)."""
        if result.caller_hung_up:
            self.heard.append(Heard("queue-wait", "the caller hangs up waiting"))
            self._hangup_pending = True
            return "200 result=-1\n"
        if result.redirected:
            # As Asterisk 23.4.1 did (agi_threeway_by_name): the async goto ends Queue with
            # 0 and the AGI at once (HANGUP, then 511 for any command) and res_agi sets
            # AGISTATUS=HANGUP, though the channel lives on where it was sent.
            self.heard.append(Heard("queue-wait", "connected, then redirected out of the "
                                                  "queue (AMI Redirect)"))
            if result.member:
                self.variables["MEMBERINTERFACE"] = result.member
            self._redirect_pending = True
            return "200 result=0\n"
        status = result.status
        if status == CONNECTED:
            self._queue_recording()
            # An agent took the call and, the call over, hung up first (a caller who hangs up
            # first is the script's H): Queue returns -1 with the caller's channel still up
            # and sets no QUEUESTATUS; with option c the caller goes on, QUEUESTATUS=CONTINUE.
            self.heard.append(Heard("queue-wait", "connected; the agent hangs up first"))
            if result.member:
                self.variables["MEMBERINTERFACE"] = result.member
            if "c" in options:
                self.variables["QUEUESTATUS"] = "CONTINUE"
                return "200 result=0\n"
            return "200 result=-1\n"
        if status == "TIMEOUT" and not timeout and "n" not in options:
            self.heard.append(Heard("queue-wait", "no timeout: the caller gives up"))
            self._hangup_pending = True
            return "200 result=-1\n"
        self.variables["QUEUESTATUS"] = status
        return "200 result=0\n"

    def _queue_recording(self) -> None:
        if self.setup.monitor_format is None:
            return
        template = self.variables.get("MONITOR_FILENAME") or self.setup.uniqueid
        name = re.sub(r"\^\{([^}]*)\}", lambda m: self._builtin(m.group(1)) or "", template)
        self.heard.append(Heard("queue-recording", f"{name}.{self.setup.monitor_format}"))
        self._write_recording(name, self.setup.monitor_format,
                              int(self.setup.queue_talk_s * SAMPLES_PER_SECOND))

    def _set_music(self, argv: list[str]) -> object:
        if len(argv) < 3 or argv[2].lower() not in ("on", "off"):
            return _USAGE
        return "200 result=0\n"

    # -- variables and AstDB --------------------------------------------------------------
    def _builtin(self, name: str) -> str | None:
        setup = self.setup
        builtins = {
            "CHANNEL": setup.channel,
            "UNIQUEID": setup.uniqueid,
            "EXTEN": setup.extension,
            "CONTEXT": setup.context,
            "PRIORITY": setup.priority,
            "LANGUAGE()": setup.language,
            "CALLERID(num)": setup.callerid,
            "CALLERID(name)": setup.calleridname,
        }
        if name in self.variables:
            return self.variables[name]
        if name in setup.functions:
            return setup.functions[name]
        return builtins.get(name)

    def _set_variable(self, argv: list[str]) -> object:
        if len(argv) != 4:
            return _USAGE
        self.variables[argv[2]] = argv[3]
        return "200 result=1\n"

    def _get_variable(self, argv: list[str]) -> object:
        if len(argv) != 3:
            return _USAGE
        value = self._builtin(argv[2])
        return "200 result=0\n" if value is None else f"200 result=1 ({value})\n"

    def _get_full_variable(self, argv: list[str]) -> object:
        if len(argv) < 4 or len(argv) > 5:
            return _USAGE
        text = argv[3]
        while True:
            replaced = _INNERMOST.sub(lambda m: self._builtin(m.group(1)) or "", text)
            if replaced == text:
                break
            text = replaced
        return f"200 result=1 ({text})\n"

    def _db_put(self, argv: list[str]) -> object:
        if len(argv) != 5:
            return _USAGE
        self.astdb[(argv[2], argv[3])] = argv[4]
        return "200 result=1\n"

    def _db_get(self, argv: list[str]) -> object:
        if len(argv) != 4:
            return _USAGE
        value = self.astdb.get((argv[2], argv[3]))
        return "200 result=0\n" if value is None else f"200 result=1 ({value})\n"

    def _db_del(self, argv: list[str]) -> object:
        if len(argv) != 4:
            return _USAGE
        return "200 result=1\n" if self.astdb.pop((argv[2], argv[3]), None) is not None else "200 result=0\n"

    def _db_deltree(self, argv: list[str]) -> object:
        if len(argv) not in (3, 4):
            return _USAGE
        doomed = [k for k in self.astdb if k[0] == argv[2] and (len(argv) == 3 or k[1].startswith(argv[3]))]
        for key in doomed:
            del self.astdb[key]
        return "200 result=1\n" if doomed else "200 result=0\n"
