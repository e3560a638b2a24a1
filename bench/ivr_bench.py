"""The IVR's progress query under load: the Twisted service against pyst2's forking model.

N scripted callers (ivr.simulator, FastAGI exactly as Asterisk sends it) run the progress
query on loopback against a database of 100,000 appeals. Every caller dials with a valid
mobile number that has no appeal (so the service looks the number up and finds nothing),
stays silent at the greeting, presses 4, keys a random existing case number and #, and lets
the status, the "anything else?" prompt and the goodbye play out; the server hangs up.

Two servers, each alone on core 0 while the load generator runs on core 1:
- twisted service: the real `twistd -n -y twisted_app.tac` on a migrated SQLite file;
- pyst2 forking baseline: `socketserver.ForkingTCPServer`, one forked child per call that
  builds `asterisk.agi.AGI` on the socket and sends the commands the hotline flow sends on
  this path, with the same two lookups (the caller's open appeal, the appeal by case number)
  through sqlite3 on the same file. It does not write the call record that the service opens
  and closes on every call (two writes a call), so the ratio errs in the baseline's favour.

Each model and N (100, 1,000) is driven three ways:
- closed: N callers that answer every command at once; each call that ends is replaced at
  once, so the server is never idle: its capacity (calls/s) and what latency costs there;
- paced: N calls open, each command taking --think seconds (+-50%) on the caller's side as a
  prompt playing would, and ANSWER the 0.5 s a real Asterisk took: the latency at N
  concurrent calls below saturation;
- held: N callers parked at once at WAIT FOR DIGIT: memory per call with N calls open.

Gaps are timed in the load generator from the caller's response handed to its socket to the
next command line's arrival; the first command (after the agi_ header block) is reported
apart, as the time to answer a call. The load generator reads /proc for the server's CPU and
memory and for what other processes took of both cores during each window.

    .venv/bin/python bench/ivr_bench.py [--seconds 15] [--calls 100,1000] [--think 1.0]
                                        [--models service,baseline] [--appeals 100000]

It stops by itself (about 4 to 5 minutes), kills what it started and removes its temporary
directory.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import datetime as dt
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SERVER_CORE, LOAD_CORE = 0, 1
HOST = "127.0.0.1"
CALL_TIMEOUT_S = 30.0
# What each ANSWER took on a real Asterisk 23.4.1 (issue 20: its answer delay); paced runs
# include it, closed runs (capacity) answer every command at once.
ANSWER_DELAY_S = 0.5
TWISTD = str(Path(sys.executable).with_name("twistd"))
HOTLINE = str(Path(sys.executable).with_name("hotline"))
STATUSES = ("received", "assigned", "in_progress", "resolved", "closed")
PER_DAY = 50_000  # case numbers carry a 5-digit daily sequence
FIRST_DAY = dt.date(2026, 11, 28)


def case_number(i: int) -> str:
    """The i-th appeal's case number (0-based): 2026112800001.. then earlier days."""
    day = FIRST_DAY - dt.timedelta(days=i // PER_DAY)
    return f"{day:%Y%m%d}{i % PER_DAY + 1:05d}"


# -- the database ---------------------------------------------------------------------------

def build_database(url: str, appeals: int) -> None:
    """Migrate, then bulk-insert units and `appeals` appeals with mixed statuses."""
    env = dict(os.environ, HOTLINE_DATABASE_URL=url)
    subprocess.run([HOTLINE, "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    from sqlalchemy import create_engine, insert, select

    from schemas.enums import AppealChannel, AppealKind, AppealStatus, UnitKind
    from schemas.models import Appeal, Unit

    engine = create_engine(url)
    now = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.timezone.utc)
    with engine.begin() as connection:
        connection.execute(insert(Unit), [
            {"code": f"BENCH{u:02d}", "name": f"Bench station {u}", "kind": UnitKind.STATION,
             "active": True} for u in range(10)])
        unit_ids = list(connection.scalars(select(Unit.id).where(Unit.code.like("BENCH%"))))
        kinds = list(AppealKind)
        for start in range(0, appeals, 10_000):
            rows = []
            for i in range(start, min(appeals, start + 10_000)):
                status = AppealStatus(STATUSES[i % len(STATUSES)])
                created = now - dt.timedelta(minutes=i)
                done = status in (AppealStatus.RESOLVED, AppealStatus.CLOSED)
                rows.append({
                    "case_number": case_number(i), "channel": AppealChannel.PHONE,
                    "kind": kinds[i % len(kinds)], "status": status,
                    "subject": f"bench appeal {i}", "body": "",
                    "citizen_phone": "138%08d" % i,
                    "unit_id": None if status is AppealStatus.RECEIVED else unit_ids[i % len(unit_ids)],
                    "deadline_at": created + dt.timedelta(days=5), "reopen_count": 0,
                    "created_at": created, "updated_at": created,
                    "resolved_at": created + dt.timedelta(hours=20) if done else None,
                    "closed_at": created + dt.timedelta(days=2) if status is AppealStatus.CLOSED else None,
                })
            connection.execute(insert(Appeal), rows)
    engine.dispose()


# -- the pyst2 forking baseline (runs as its own process: --baseline-server) ------------------

def baseline_server(db_path: str) -> None:
    """pyst2's model: a forking TCP server, one child per call running `AGI` on the socket."""
    import socketserver
    import sqlite3
    from zoneinfo import ZoneInfo

    from asterisk.agi import AGI, AGIHangup

    from hotline.config import load_config
    from ivr.flows import prompts as P
    from ivr.flows import variables as V
    from ivr.prompts import unit_prompt_id

    config = load_config(environ={})
    ivr, zone = config.ivr, ZoneInfo(config.service.timezone)
    prefix = ivr.prompt_prefix
    status_prompt = {"received": P.STATUS_RECEIVED, "assigned": P.STATUS_ASSIGNED,
                     "in_progress": P.STATUS_IN_PROGRESS, "resolved": P.STATUS_RESOLVED_ON,
                     "closed": P.STATUS_CLOSED}
    by_case = ("SELECT a.id, a.status, u.code, a.resolved_at FROM appeals a "
               "LEFT JOIN units u ON u.id = a.unit_id WHERE a.case_number = ?")
    open_for = ("SELECT a.id FROM appeals a WHERE a.citizen_phone = ? AND a.status != 'closed' "
                "ORDER BY a.created_at DESC, a.id DESC LIMIT 1")
    devnull = open(os.devnull, "w")

    class Call(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            reader = self.connection.makefile("r", encoding="utf-8", newline="\n")
            writer = self.connection.makefile("w", encoding="utf-8", newline="\n")
            try:
                self.progress_query(AGI(stdin=reader, stdout=writer, stderr=devnull))
            except AGIHangup:
                pass

        def progress_query(self, agi: AGI) -> None:
            db = sqlite3.connect(db_path, timeout=10)
            agi.answer()
            agi.set_variable(V.CALL_ID, os.urandom(16).hex())
            pressed = agi.stream_file(prefix + P.GREETING, "012345*")
            if not pressed:
                db.execute(open_for, (agi.env.get("agi_callerid", ""),)).fetchone()
            choice = pressed or agi.get_data(prefix + P.MAIN_MENU, ivr.menu_timeout_ms, 1)
            if choice != "4":
                agi.hangup()
                return
            digits = agi.get_data(prefix + P.ENTER_CASE_NUMBER, ivr.case_number_timeout_ms, 20)
            row = db.execute(by_case, (digits,)).fetchone()
            if row is None:
                agi.hangup()
                return
            _, status, unit, resolved_at = row
            agi.stream_file(prefix + status_prompt[status], "0")
            if status in ("assigned", "in_progress") and unit:
                # the unit's name with Playback, which skips a missing file, as the flow does
                agi.appexec("Playback", prefix + unit_prompt_id(unit))
                if agi.get_variable("PLAYBACKSTATUS") == "FAILED":
                    agi.stream_file(prefix + P.UNIT_UNNAMED, "0")
            if status == "resolved" and resolved_at:
                when = dt.datetime.fromisoformat(resolved_at).replace(tzinfo=dt.timezone.utc)
                for prompt in P.date_prompts(when.astimezone(zone).date()):
                    agi.stream_file(prefix + prompt, "0")
            if not agi.stream_file(prefix + P.PROGRESS_MORE, P.KEYS[P.PROGRESS_MORE]):
                agi.wait_for_digit(ivr.menu_timeout_ms)
            agi.stream_file(prefix + P.THANKS_GOODBYE)
            agi.hangup()
            db.close()

    class Server(socketserver.ForkingTCPServer):
        allow_reuse_address = True
        request_queue_size = 4096
        max_children = 100_000  # pyst2 has no limit of its own; the default 40 would queue calls

    server = Server((HOST, 0), Call)
    print(f"listening on {server.server_address[1]}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        server.server_close()


# -- processes ------------------------------------------------------------------------------

def on_server_core() -> None:
    os.sched_setaffinity(0, {SERVER_CORE})


def listening_here(pid: int, port: int) -> bool:
    """Whether `pid` itself holds the socket listening on 127.0.0.1:port (others on this
    machine start servers too: a free port can be taken between probe and bind)."""
    wanted = f"0100007F:{port:04X}"
    inodes = set()
    with open("/proc/net/tcp") as table:
        for row in table.readlines()[1:]:
            fields = row.split()
            if fields[1] == wanted and fields[3] == "0A":
                inodes.add(fields[9])
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1] in inodes:
                return True
        except OSError:
            pass
    return False


def wait_listening(port: int, process: subprocess.Popen, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if listening_here(process.pid, port):
            return True
        time.sleep(0.1)
    raise SystemExit(f"server did not listen on {port} within {timeout}s")


def start_service(url: str, tmp: Path) -> tuple[subprocess.Popen, int]:
    for _attempt in range(3):
        process, port = _start_service(url, tmp)
        if wait_listening(port, process):
            return process, port
        stop(process)
    raise SystemExit(f"the service did not start: see the end of {tmp / 'service.log'}")


def _start_service(url: str, tmp: Path) -> tuple[subprocess.Popen, int]:
    from tests.support.processes import service_environment, wait_for_ports

    ports_file = tmp / "service.ports.json"
    env = service_environment(ports_file, HOTLINE_DATABASE_URL=url, HOTLINE_AMI_ENABLED="false", HOTLINE_IVR_OPENING_TIME="00:00",
               HOTLINE_IVR_CLOSING_TIME="23:59", HOTLINE_IVR_OPEN_ON_HOLIDAYS="true",
               HOTLINE_LOGGING_LEVEL="warn", HOTLINE_IVR_VOICE_MESSAGE_DIR=str(tmp / "voice"))
    env.pop("HOTLINE_CONFIG", None)
    process = subprocess.Popen([TWISTD, "--pidfile=", "-n", "-y", "twisted_app.tac"], cwd=ROOT,
                               env=env, stdout=open(tmp / "service.log", "ab"),
                               stderr=subprocess.STDOUT, preexec_fn=on_server_core)
    return process, wait_for_ports(ports_file, process, ("agi",))["agi"]


def start_baseline(db_path: Path, tmp: Path) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([sys.executable, __file__, "--baseline-server", str(db_path)],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               stderr=open(tmp / "baseline.log", "ab"), preexec_fn=on_server_core)
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise SystemExit(f"baseline server did not start: {line!r}")
    return process, int(line.split()[-1])


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listing:
            return [int(p) for p in listing.read().split()]
    except OSError:
        return []


def kill_children(pid: int) -> None:
    for child in children(pid):
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass


def status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_kib(pid: int) -> tuple[int, int]:
    kids = children(pid)
    return pss_kib(pid) + sum(pss_kib(k) for k in kids), len(kids)


def thread_cpu(pid: int, tid: int) -> float:
    """utime + stime of one thread (the main thread: tid == pid), children not included."""
    with open(f"/proc/{pid}/task/{tid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def core_busy() -> dict[int, float]:
    """Busy seconds of each core so far (all processes on the machine), from /proc/stat."""
    busy = {}
    with open("/proc/stat") as stat:
        for line in stat:
            if line.startswith("cpu") and line[3].isdigit():
                name, *ticks = line.split()
                ticks = [int(t) for t in ticks]
                busy[int(name[3:])] = (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    return busy


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process and of its children already reaped."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


# -- the load generator ---------------------------------------------------------------------

# Prompts that differ call by call: a status, a unit's name, a date's digits, month and day.
_VARYING = re.compile(r"^(status|unit|digit|date-month|date-day)-[\w-]+$")


def command_key(line: bytes) -> str:
    """The command a gap ended with, prompts kept and the varying ones folded: 'STREAM FILE
    status-*', 'EXEC Playback unit-*', 'GET VARIABLE PLAYBACKSTATUS' (pyst2 quotes what
    the service sends bare)."""
    words = [word.strip('"') for word in line.decode("utf-8", "replace").split()]

    def prompt(word: str) -> str:
        return _VARYING.sub(r"\1-*", word.rsplit("/", 1)[-1])

    if words[:2] in (["STREAM", "FILE"], ["GET", "DATA"]) and len(words) > 2:
        return " ".join(words[:2]) + " " + prompt(words[2])
    if words[:1] == ["EXEC"] and len(words) > 1:
        return " ".join(["EXEC", words[1], *(prompt(w) for w in words[2:3]
                                             if words[1] == "Playback")])
    return " ".join(w for w in words[:3] if w.isalpha() and w.isupper())


class Run:
    """One closed-loop run: N callers in flight, gaps and completions counted in the window."""

    def __init__(self, concurrency: int, appeals: int, reactor=None, think: float = 0.0) -> None:
        self.concurrency = concurrency
        self.appeals = appeals
        self.reactor = reactor
        self.think = think  # mean seconds each command takes on the caller's side (0: none)
        self.rng = random.Random(concurrency)
        self.measuring = False
        self.stopping = False
        self.gaps: list[float] = []
        self.answers: list[float] = []
        self.by_command: dict[str, list[float]] = {}
        self.held: list[int] = []
        self.completed = 0
        self.errors = 0
        self.error_kinds: dict[str, int] = {}
        self.in_flight = 0
        self.serial = 0
        self.all_done = None
        self.hold: list | None = None  # callers parked at WAIT FOR DIGIT, for the memory count

    def gap(self, seconds: float, first: bool, line: bytes) -> None:
        if self.measuring:
            (self.answers if first else self.gaps).append(seconds)
            self.by_command.setdefault(command_key(line), []).append(seconds)

    def error(self, kind: str) -> None:
        if self.measuring:
            self.errors += 1
            self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


def make_caller_class():
    from ivr.simulator.asterisk import AsteriskCallSimulator

    class TimedCaller(AsteriskCallSimulator):
        """The simulator, timing each gap from its last write to the next command line."""

        def __init__(self, setup, script, run: Run) -> None:
            super().__init__(setup, script)
            self.run = run
            self.last_write: float | None = None

        def connectionMade(self) -> None:
            super().connectionMade()
            self.last_write = time.perf_counter()

        def lineReceived(self, raw: bytes) -> None:
            if self.last_write is not None and not self.ended:
                self.run.gap(time.perf_counter() - self.last_write, self.commands == 0, raw)
            self.last_write = None
            # A caller who takes their time at "anything else?": the call stays open on the
            # server until released, so N calls are held at once whatever the server's speed.
            if self.run.hold is not None and raw[:14].upper() == b"WAIT FOR DIGIT":
                self.run.hold.append(lambda: self.answer(raw))
                return
            if self.run.think and not self.run.stopping:
                # paced: the prompt "plays" for a while before Asterisk answers the command;
                # ANSWER takes what a real Asterisk 23.4.1 took (its answer delay, ~500 ms)
                if raw[:6].upper() == b"ANSWER":
                    delay = ANSWER_DELAY_S
                else:
                    delay = self.run.think * self.run.rng.uniform(0.5, 1.5)
                self.run.reactor.callLater(delay, self.answer, raw)
                return
            self.answer(raw)

        def answer(self, raw: bytes) -> None:
            if self.ended:
                return
            super().lineReceived(raw)
            self.last_write = time.perf_counter()

    return TimedCaller


def status_heard(heard) -> bool:
    played = [h.value for h in heard if h.kind == "play"]
    return (any("status-" in name for name in played)
            and any(h.kind == "hangup" and h.value == "service" for h in heard))


async def closed_loop(reactor, port: int, run: Run, warmup: float, seconds: float,
                      server_cpu=lambda: 0.0, held=None) -> dict:
    from twisted.internet import defer, task
    from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

    from ivr.simulator.asterisk import CallSetup

    TimedCaller = make_caller_class()
    base = CallSetup(script="hotline", host=HOST, port=port)
    endpoint = TCP4ClientEndpoint(reactor, HOST, port, timeout=10)
    rng = random.Random(run.concurrency)
    run.all_done = defer.Deferred()

    def place() -> None:
        if run.stopping:
            return
        run.serial += 1
        run.in_flight += 1
        setup = dataclasses.replace(base, callerid="139%08d" % (run.serial % 10**8),
                                    uniqueid=f"{int(time.time())}.{run.serial}",
                                    channel=f"Local/9600110@hotline-{run.serial:08x};2")
        digits = f"_ 4 {case_number(rng.randrange(run.appeals))}#"
        caller = TimedCaller(setup, digits, run)
        watchdog = reactor.callLater(CALL_TIMEOUT_S, timed_out, caller)
        d = connectProtocol(endpoint, caller)
        d.addCallback(lambda _: caller.finished)
        d.addCallbacks(lambda heard: ended(caller, watchdog, None if status_heard(heard) else "wrong-path"),
                       lambda failure: ended(caller, watchdog, failure.type.__name__))

    def timed_out(caller) -> None:
        caller.bench_timed_out = True
        if caller.transport is not None:
            caller.transport.abortConnection()

    def ended(caller, watchdog, error) -> None:
        if watchdog.active():
            watchdog.cancel()
        if getattr(caller, "bench_timed_out", False):
            error = "timeout"
        run.in_flight -= 1
        if error is None:
            if run.measuring:
                run.completed += 1
        else:
            run.error(error)
        if run.stopping:
            if run.in_flight == 0 and not run.all_done.called:
                run.all_done.callback(None)
        else:
            place()

    # Ramp up over a second (paced: over the warm-up) so N calls do not move in step.
    ramp = warmup * 0.8 if run.think else 1.0
    for i in range(run.concurrency):
        reactor.callLater(ramp * i / run.concurrency, place)
    await sleep(reactor, warmup)
    run.measuring = True
    started, cpu, cores = time.perf_counter(), time.process_time(), core_busy()
    server_began = server_cpu()
    counting = task.LoopingCall(lambda: run.held.append(held())) if held else None
    if counting:
        counting.clock = reactor
        counting.start(0.25, now=False)
    await sleep(reactor, seconds)
    run.measuring = False
    if counting:
        counting.stop()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    cores = {core: busy - cores[core] for core, busy in core_busy().items()}
    server_used = server_cpu() - server_began
    run.stopping = True
    drain = reactor.callLater(CALL_TIMEOUT_S + 5, lambda: None if run.all_done.called else run.all_done.callback(None))
    await run.all_done
    if drain.active():
        drain.cancel()
    return {"elapsed": elapsed, "loadgen_cpu": cpu, "server_cpu": server_used,
            "server_core_busy": cores[SERVER_CORE], "load_core_busy": cores[LOAD_CORE]}


async def hold_memory(reactor, model: str, pid: int, port: int, n: int, args, idle_kib: int) -> dict:
    """N calls parked at the same point at once (the caller thinking at "anything else?"):
    the server's memory then, minus idle, over the calls it holds."""
    from twisted.internet import defer
    from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

    from ivr.simulator.asterisk import CallSetup

    TimedCaller = make_caller_class()
    run = Run(n, args.appeals)
    run.hold = []
    base = CallSetup(script="hotline", host=HOST, port=port)
    endpoint = TCP4ClientEndpoint(reactor, HOST, port, timeout=30)
    rng = random.Random(n + 1)
    calls, callers = [], []
    began = time.perf_counter()
    for i in range(n):
        setup = dataclasses.replace(base, callerid="139%08d" % (90_000_000 + i),
                                    uniqueid=f"{int(time.time())}.h{i}")
        caller = TimedCaller(setup, f"_ 4 {case_number(rng.randrange(args.appeals))}#", run)
        callers.append(caller)
        d = connectProtocol(endpoint, caller)
        d.addCallback(lambda _, c=caller: c.finished)
        calls.append(d)
        if i % 100 == 99:
            await sleep(reactor, 0.01)
    failed = []
    for d in calls:
        d.addErrback(lambda failure: failed.append(failure.type.__name__))
    deadline = time.monotonic() + args.hold_timeout
    while len(run.hold) + len(failed) < n and time.monotonic() < deadline:
        await sleep(reactor, 0.1)
    reached = time.perf_counter() - began
    await sleep(reactor, 0.5)
    if model == "baseline":
        memory, held = tree_pss_kib(pid)
    else:
        memory, held = status_kib(pid, "VmRSS"), len(run.hold)
    for release in run.hold:
        release()
    run.hold = None
    aborter = reactor.callLater(CALL_TIMEOUT_S, lambda: [c.transport.abortConnection() for c in callers
                                                         if c.transport is not None and not c.ended])
    await defer.DeferredList(calls)
    if aborter.active():
        aborter.cancel()
    return {"hold_held": held, "hold_kib": memory, "hold_seconds": reached,
            "kib_call": (memory - idle_kib) / max(1, held), "hold_failed": len(failed)}


def sleep(reactor, seconds: float):
    from twisted.internet import task
    return task.deferLater(reactor, seconds, lambda: None)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def measure(reactor, model: str, process: subprocess.Popen, port: int, concurrency: int,
                  args, think: float = 0.0) -> dict:
    pid = process.pid
    run = Run(concurrency, args.appeals, reactor, think)

    main_thread: list[float] = []

    def server_cpu() -> float:
        main_thread.append(thread_cpu(pid, pid))
        return cpu_seconds(pid)

    if model == "baseline":
        def held() -> int:
            return len(children(pid))
    else:
        idle_fds = open_fds(pid)

        def held() -> int:  # one socket per call the service has accepted
            return open_fds(pid) - idle_fds

    warmup = max(args.warmup, 10 * think)  # a paced call runs ~12 commands: ramp over most of one
    result = await closed_loop(reactor, port, run, warmup, args.seconds, server_cpu, held)
    return {
        "model": model, "n": concurrency, "think": think,
        "calls_s": run.completed / result["elapsed"],
        "p50_ms": percentile(run.gaps, 50) * 1000, "p99_ms": percentile(run.gaps, 99) * 1000,
        "answer_p50_ms": percentile(run.answers, 50) * 1000,
        "answer_p99_ms": percentile(run.answers, 99) * 1000,
        "held": sum(run.held) / len(run.held) if run.held else float("nan"),
        "by_command": {key: (percentile(v, 50) * 1000, percentile(v, 99) * 1000, len(v))
                       for key, v in run.by_command.items()},
        "errors": run.errors,
        "error_kinds": run.error_kinds, "completed": run.completed, "gaps": len(run.gaps),
        "server_cpu": result["server_cpu"] / result["elapsed"],
        "cpu_ms_call": result["server_cpu"] * 1000 / run.completed if run.completed else float("nan"),
        # the service's reactor thread (the rest: database threads); the baseline's parent
        "main_share": (main_thread[1] - main_thread[0]) / result["server_cpu"] if result["server_cpu"] else float("nan"),
        "loadgen_cpu": result["loadgen_cpu"] / result["elapsed"],
        # what other processes on the machine took from the two cores meanwhile
        "server_core_others": max(0.0, result["server_core_busy"] - result["server_cpu"]) / result["elapsed"],
        "load_core_others": max(0.0, result["load_core_busy"] - result["loadgen_cpu"]) / result["elapsed"],
    }


async def warm(reactor, port: int, args) -> None:
    """A few hundred calls at low concurrency so idle memory is measured after first use."""
    run = Run(10, args.appeals)
    await closed_loop(reactor, port, run, 1.5, 0.1)


def clean_up(processes: list[subprocess.Popen], tmp: Path) -> None:
    for process in processes:
        if process.poll() is None:
            kill_children(process.pid)
            stop(process)
    shutil.rmtree(tmp, ignore_errors=True)


async def main(reactor, args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ivr_bench."))
    processes: list[subprocess.Popen] = []
    atexit.register(clean_up, processes, tmp)  # also when interrupted with ^C
    results: list[dict] = []
    try:
        db_path = tmp / "bench.sqlite3"
        url = f"sqlite:///{db_path}"
        began = time.perf_counter()
        build_database(url, args.appeals)
        print(f"database: {args.appeals:,} appeals in {db_path} "
              f"({time.perf_counter() - began:.1f}s to build)", flush=True)
        levels = [int(n) for n in args.calls.split(",")]
        for model in args.models.split(","):
            if model == "service":
                process, port = start_service(url, tmp)
            else:
                process, port = start_baseline(db_path, tmp)
            processes.append(process)
            await warm(reactor, port, args)
            await sleep(reactor, 1.0)
            idle = (status_kib(process.pid, "VmRSS") if model == "service"
                    else tree_pss_kib(process.pid)[0])
            for n in levels:
                memory = None
                for think in (0.0, args.think) if args.think else (0.0,):
                    row = await measure(reactor, model, process, port, n, args, think)
                    await sleep(reactor, 1.0)
                    if memory is None:
                        memory = await hold_memory(reactor, model, process.pid, port, n, args, idle)
                    row.update(memory, idle_kib=idle)
                    results.append(row)
                    if process.poll() is not None:
                        log = tmp / ("service.log" if model == "service" else "baseline.log")
                        raise SystemExit(f"{model} exited with {process.returncode} during N={n}:\n"
                                         + log.read_text(errors="replace")[-3000:])
                    print(f"  {model:8} N={n:<5} {load_name(think):8} {row['calls_s']:8.1f} calls/s"
                          f"  gap p50 {row['p50_ms']:.2f} ms  p99 {row['p99_ms']:.2f} ms"
                          f"  answer p99 {row['answer_p99_ms']:.1f} ms  held {row['held']:.0f}"
                          f"  errors {row['errors']} {row['error_kinds'] or ''}", flush=True)
                    await sleep(reactor, 1.0)
            if model == "baseline":
                kill_children(process.pid)
            stop(process)
        print_table(results, args)
    finally:
        clean_up(processes, tmp)


def load_name(think: float) -> str:
    return f"paced {think:g}s" if think else "closed"


# What the flow sends on the bench's path, in order: the status, then an assigned or
# in-progress appeal's unit by Playback, or a resolved one's date said with the service's own
# prompts (the year's digits, 年, the month, the day).
FLOW_ORDER = ("ANSWER", "SET VARIABLE", "STREAM FILE greeting", "GET DATA main-menu",
              "GET DATA enter-case-number", "STREAM FILE status-*", "EXEC Playback unit-*",
              "GET VARIABLE PLAYBACKSTATUS", "STREAM FILE digit-*", "STREAM FILE date-year",
              "STREAM FILE date-month-*", "STREAM FILE date-day-*", "STREAM FILE progress-more",
              "WAIT FOR DIGIT", "STREAM FILE thanks-goodbye", "HANGUP")
SHORT = {"service": "service", "baseline": "pyst2"}
NAMES = {"service": "twisted service", "baseline": "pyst2 forking baseline"}


def print_table(results: list[dict], args) -> None:
    print()
    print(f"IVR progress query; {args.appeals:,} appeals in SQLite (WAL); loopback {HOST} only; "
          f"{args.seconds:g}s measured per row after a warm-up.")
    print(f"Server pinned to core {SERVER_CORE}, load generator to core {LOAD_CORE} "
          f"(os.sched_setaffinity); {os.cpu_count()} cores on this machine.")
    header = (f"{'model':23} {'N':>5} {'load':>10} {'calls/s':>8} {'gap p50':>8} {'gap p99':>8} "
              f"{'ans p99':>8} {'KiB/call':>9} {'held':>5} {'errors':>6} {'srv cpu':>7} "
              f"{'ms/call':>7} {'main':>5} {'gen cpu':>7} {'others':>9} {'x base':>6}")
    print(header)
    print("-" * len(header))
    base = {(r["n"], r["think"]): r["calls_s"] for r in results if r["model"] == "baseline"}
    for r in results:
        ratio = r["calls_s"] / base[r["n"], r["think"]] if base.get((r["n"], r["think"])) else float("nan")
        print(f"{NAMES[r['model']]:23} {r['n']:>5} {load_name(r['think']):>10} {r['calls_s']:>8.1f} "
              f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['answer_p99_ms']:>8.1f} "
              f"{r['kib_call']:>9.1f} {r['held']:>5.0f} {r['errors']:>6} {r['server_cpu']:>7.0%} "
              f"{r['cpu_ms_call']:>7.2f} {r['main_share']:>5.0%} {r['loadgen_cpu']:>7.0%} "
              f"{r['server_core_others']:>4.0%}/{r['load_core_others']:<4.0%} {ratio:>5.1f}x")
    print()
    print("load: closed = each caller answers at once and a new call replaces each one that ends")
    print("     (capacity: the server is always busy); paced Xs = each command takes X s +-50% on")
    print("     the caller's side, as a prompt playing would (~12 commands a call), N calls open.")
    print("gap: ms from the caller's response handed to the socket to the next command's arrival.")
    print("ans: ms from the agi_ header block (call connected) to the first command: accept, fork")
    print("     (baseline) or the call record's first write (service), and queueing before them.")
    print("held: mean calls the server had open in the window (service: its sockets; baseline:")
    print("     live forked children); the other N - held callers waited in the listen backlog.")
    print("KiB/call: N callers parked at once at WAIT FOR DIGIT (one sample per model and N):")
    print("     server memory then minus idle, over the calls held (service VmRSS; baseline PSS of")
    print("     parent and children, so pages the children share after fork count once).")
    print("srv cpu / gen cpu: share of one core per wall second (server: reaped children")
    print("     included); ms/call: server CPU per completed call, least disturbed by other load;")
    print("     main: the share of that CPU spent in the server's main thread (service: the")
    print("     reactor, the rest is its database threads; baseline: the accepting, forking parent);")
    print(f"     others: what other processes on the machine took of core {SERVER_CORE} / core "
          f"{LOAD_CORE} meanwhile.")
    print("idle memory: " + ", ".join(f"{NAMES[m]} {k:,} KiB" for m, k in
                                      dict((r["model"], r["idle_kib"]) for r in results).items()))
    noted = set()
    for r in results:
        name, n = NAMES[r["model"]], r["n"]
        if r["error_kinds"]:
            print(f"errors {name} N={n} {load_name(r['think'])}: {r['error_kinds']}")
        if (r["hold_held"] < n or r["hold_failed"]) and (name, n) not in noted:
            noted.add((name, n))
            print(f"note: {name} held {r['hold_held']} of N={n} parked calls "
                  f"({r['hold_failed']} failed) when its memory was sampled")
        if r["held"] < 0.9 * n:
            print(f"note: {name} N={n} {load_name(r['think'])}: held {r['held']:.0f} calls on "
                  f"average; the rest waited to be accepted (in 'ans', not in 'gap').")
    big = [r for r in results if r["n"] == max(x["n"] for x in results)]
    if big:
        print()
        print(f"gap by the command that ended it, N={big[0]['n']} (p50 / p99 ms); the service looks up "
              "the caller before GET DATA main-menu and the case before STREAM FILE status-*:")
        keys = [k for k in FLOW_ORDER if any(k in r["by_command"] for r in big)]
        keys += sorted({k for r in big for k in r["by_command"]} - set(keys))
        print(f"{'next command':28}" + "".join(f"{SHORT[r['model']] + ' ' + load_name(r['think']):>21}"
                                               for r in big))
        for key in keys:
            cells = []
            for r in big:
                p50, p99, _ = r["by_command"].get(key, (float("nan"),) * 3)
                cells.append(f"{p50:>8.1f} / {p99:>7.1f}")
            label = key + " (first)" if key == "ANSWER" else key
            print(f"{label[:28]:28}" + "".join(f"{c:>21}" for c in cells))
        print()
    goal = [r for r in results if r["model"] == "service" and r["n"] == 1000]
    for r in goal:
        ratio = r["calls_s"] / base[1000, r["think"]] if base.get((1000, r["think"])) else float("nan")
        verdict = "met" if r["p99_ms"] < 20 and r["errors"] == 0 else "NOT met"
        print(f"goal, N=1000 {load_name(r['think'])}: gap p99 {r['p99_ms']:.1f} ms < 20 ms: {verdict}"
              + (f"; calls/s {ratio:.1f}x the baseline (goal 10x): "
                 f"{'met' if ratio >= 10 else 'NOT met'}" if not r["think"] else ""))


def cli() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--baseline-server":
        baseline_server(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured window per row")
    parser.add_argument("--warmup", type=float, default=4.0, help="ramp-up before each window")
    parser.add_argument("--calls", default="100,1000", help="concurrency levels, comma-separated")
    parser.add_argument("--appeals", type=int, default=100_000)
    parser.add_argument("--models", default="service,baseline", help="service, baseline or both")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean seconds per command in the paced rows (0: no paced rows)")
    parser.add_argument("--hold-timeout", type=float, default=60.0,
                        help="longest wait for N calls to be held at once for the memory count")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 1,000 calls need 2,000+ sockets
    os.sched_setaffinity(0, {LOAD_CORE})

    from twisted.internet import defer, task

    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, args)))


if __name__ == "__main__":
    cli()
