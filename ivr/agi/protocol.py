"""The FastAGI server protocol: bytes from Asterisk to an environment, answers and HANGUP notices.

It reads the `agi_*` header block, picks the flow registered for `agi_network_script`, runs it
with an `AGIChannel`, and keeps exactly one command in flight. It holds no call logic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure

from hotline.masking import mask_phone, mask_text
from hotline.metrics import agi_verb
from ivr.agi.channel import AGIChannel
from ivr.agi.environment import AGIEnvironment, HeaderError, parse_header_line
from ivr.agi.errors import (
    AGICommandTimeout,
    AGIConnectionClosed,
    AGIError,
    AGIException,
    AGIHangup,
)
from ivr.agi.response import AGIResponse, GarbageLine, HangupNotice, ResponseParser

if TYPE_CHECKING:
    from ivr.agi.registry import FlowRegistry

# res_agi.c answers `failure` from the script by ending the AGI with AGISTATUS=FAILURE, so the
# dialplan can route the caller on instead of leaving them in silence.
FAILURE_LINE = b"failure\n"
# Set on the channel when a flow ends on purpose; the dialplan checks it (docs/asterisk).
DONE_VARIABLE = "HOTLINE_AGI_DONE"


class FastAGIProtocol(LineReceiver):
    log = Logger()
    delimiter = b"\n"
    # A 520 usage line is a few hundred bytes and a variable value can be long; Asterisk's own
    # command buffer is 2 KiB. Anything longer than this is not Asterisk talking.
    MAX_LENGTH = 16384
    # res_agi.c sends about 22 fixed agi_* lines plus at most 127 agi_arg_N (its MAX_ARGS is
    # 128 with the script), each bounded by the dialplan's application data: a block past
    # these is a flood, and everything it sent would stay buffered in `_headers`.
    MAX_HEADER_LINES = 200
    MAX_HEADER_BYTES = 64 * 1024

    def __init__(
        self,
        registry: "FlowRegistry",
        clock: IReactorTime,
        command_timeout: float | None = 10.0,
        header_timeout: float = 10.0,
        metrics=None,
    ) -> None:
        self.registry = registry
        # hotline.metrics.Metrics, or None; else the factory's `metrics`, if it has one.
        self.metrics = metrics
        self.clock = clock
        self.command_timeout = command_timeout
        self.header_timeout = header_timeout
        self.environment: AGIEnvironment | None = None
        self.hung_up = False
        self.closed = False
        self.flow_done: Deferred[None] | None = None
        self._headers: dict[str, str] = {}
        self._header_bytes = 0
        self._parser = ResponseParser()
        self._pending: Deferred[AGIResponse] | None = None
        self._pending_command = ""
        self._timer: IDelayedCall | None = None
        self._sent_at = 0.0

    # -- connection lifecycle -------------------------------------------------------------
    def connectionMade(self) -> None:
        if self.metrics is None:
            self.metrics = getattr(getattr(self, "factory", None), "metrics", None)
        self._timer = self.clock.callLater(self.header_timeout, self._headerTimedOut)

    def connectionLost(self, reason: Failure) -> None:
        self.closed = True
        self._cancelTimer()
        # The factory keeps open sessions only (for the drain at stop); one built without a
        # factory (a test's) has nobody to tell.
        forget = getattr(self.factory, "forget", None)
        if forget is not None:
            forget(self)
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.errback(AGIConnectionClosed(f"connection closed during {self._pending_command!r}"))

    def drop(self, reason: str, **fields: object) -> None:
        """Close the session because of something Asterisk would never do; logged once, here.
        Field values may quote the line, so personal data in them is masked."""
        fields = {k: mask_text(v) if isinstance(v, str) else v for k, v in fields.items()}
        self.log.warn(
            "Dropping FastAGI session from {peer}: " + reason,
            peer=self._peer(),
            **fields,
        )
        self._close(AGIConnectionClosed(reason.format(**fields)))

    def _close(self, error: AGIException) -> None:
        self._cancelTimer()
        pending, self._pending = self._pending, None
        self.closed = True
        # Unparsed bytes after the offending line are never read; free them now rather than
        # when the transport lets go of the protocol.
        self.clearLineBuffer()
        self.transport.loseConnection()
        if pending is not None:
            pending.errback(error)

    def lineLengthExceeded(self, line: bytes) -> None:
        self.drop("line longer than {limit} bytes", limit=self.MAX_LENGTH)

    # -- incoming lines ---------------------------------------------------------------------
    def lineReceived(self, raw: bytes) -> None:
        if self.closed:
            return
        line = raw.decode("utf-8", "replace").removesuffix("\r")
        if self.environment is None:
            self._header_bytes += len(raw) + 1
            self._headerLine(line)
        else:
            self._answerLine(line)

    def _headerLine(self, line: str) -> None:
        if line == "":
            if not self._headers:
                self.drop("empty agi_* header block")
                return
            self._cancelTimer()
            self.environment = AGIEnvironment.from_headers(self._headers)
            self._startFlow(self.environment)
            return
        if (len(self._headers) >= self.MAX_HEADER_LINES
                or self._header_bytes > self.MAX_HEADER_BYTES):
            self.drop("agi_* header block over {lines} lines or {size} bytes",
                      lines=self.MAX_HEADER_LINES, size=self.MAX_HEADER_BYTES)
            return
        try:
            key, value = parse_header_line(line)
        except HeaderError as error:
            self.drop("{error}", error=str(error))
            return
        if key in self._headers:
            self.drop("header {key} sent twice", key=key)
            return
        self._headers[key] = value

    def _answerLine(self, line: str) -> None:
        try:
            answer = self._parser.feed(line)
        except GarbageLine as error:
            self.drop("{error}", error=str(error))
            return
        if answer is None:
            return
        if isinstance(answer, HangupNotice):
            if not self.hung_up:
                self.hung_up = True
                self.log.info(
                    "Caller {caller} hung up on {channel}",
                    caller=mask_phone(self.environment.callerid),
                    channel=self.environment.channel,
                )
            return
        pending, self._pending = self._pending, None
        if pending is None:
            self.drop("answer with no command in flight: {line!r}", line=line[:120])
            return
        self._cancelTimer()
        if self.metrics is not None:
            self.metrics.agi_command_seconds.labels(agi_verb(self._pending_command)).observe(
                self.clock.seconds() - self._sent_at)
        if isinstance(answer, AGIException):
            pending.errback(answer)
        else:
            pending.callback(answer)

    # -- commands -------------------------------------------------------------------------
    def sendCommand(self, command: str, timeout: float | None = None) -> "Deferred[AGIResponse]":
        """Write one command line; the Deferred fires with the `200` answer or fails with the
        exception for 510/511/520, AGIConnectionClosed or AGICommandTimeout.

        `timeout` overrides the protocol's command timeout (None = use it); pass 0 for none."""
        if "\n" in command or "\r" in command:
            raise ValueError(f"AGI command contains a line break: {command!r}")
        if self._pending is not None:
            raise AGIError(f"{command!r} sent while {self._pending_command!r} is in flight")
        if self.closed:
            return fail(AGIConnectionClosed(f"connection closed before {command!r}"))
        self._pending = Deferred()
        self._pending_command = command
        limit = self.command_timeout if timeout is None else timeout
        if limit:
            self._timer = self.clock.callLater(limit, self._commandTimedOut, command, limit)
        pending = self._pending
        self._sent_at = self.clock.seconds()
        self.transport.write(command.encode("utf-8") + b"\n")
        return pending

    def _commandTimedOut(self, command: str, limit: float) -> None:
        self._timer = None
        self.log.warn(
            "Dropping FastAGI session from {peer}: no answer to {command!r} within {limit}s",
            peer=self._peer(),
            command=mask_text(command),
            limit=limit,
        )
        self._close(AGICommandTimeout(f"no answer to {command!r} within {limit}s"))

    def _headerTimedOut(self) -> None:
        self._timer = None
        self.drop("no complete agi_* header within {limit}s", limit=self.header_timeout)

    def _cancelTimer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    # -- flows ----------------------------------------------------------------------------
    def _startFlow(self, env: AGIEnvironment) -> None:
        flow = self.registry.lookup(env.script_path)
        if flow is None:
            self.log.warn(
                "Unknown AGI script {script!r} requested by {channel} (caller {caller});"
                " answering failure",
                script=env.script,
                channel=env.channel,
                caller=mask_phone(env.callerid),
            )
            self.transport.write(FAILURE_LINE)
            self.closed = True
            self.transport.loseConnection()
            return
        self.log.info(
            "Call {uniqueid} from {caller} on {channel} -> flow {flow}",
            uniqueid=env.uniqueid,
            caller=mask_phone(env.callerid),
            channel=env.channel,
            flow=env.script_path,
        )
        channel = AGIChannel(self, env)
        done = Deferred.fromCoroutine(flow(channel, env))
        done.addCallbacks(self._flowFinished, self._flowFailed, errbackArgs=(env,))
        self.flow_done = done

    def _flowFinished(self, _: object) -> None:
        """A flow that ended on purpose marks the channel before the session closes, so the
        dialplan can tell it from a session cut short (a process killed mid-call reads as
        AGISTATUS=SUCCESS too) and send only the latter caller to the agents."""
        if (self.closed or self.hung_up
                or not self.registry.marks_done(self.environment.script_path)):
            self._closeAfterFlow()
            return
        marked = self.sendCommand(f"SET VARIABLE {DONE_VARIABLE} 1")
        marked.addBoth(lambda _: self._closeAfterFlow())

    def _closeAfterFlow(self) -> None:
        if not self.closed:
            self.closed = True
            self.transport.loseConnection()

    def _flowFailed(self, failure: Failure, env: AGIEnvironment) -> None:
        if failure.check(AGIHangup):
            self.log.info(
                "Call {uniqueid} ended by hang-up in flow {flow}: {why}",
                uniqueid=env.uniqueid,
                flow=env.script_path,
                why=mask_text(str(failure.value)),
            )
        else:
            self.log.failure(
                "Flow {flow} failed on call {uniqueid}", failure, flow=env.script_path,
                uniqueid=env.uniqueid,
            )
        # Not marked done: the dialplan sends the caller to the agents.
        self._closeAfterFlow()

    def _peer(self) -> str:
        try:
            peer = self.transport.getPeer()
            return f"{peer.host}:{peer.port}"
        except Exception:
            return "?"
