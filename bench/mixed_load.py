"""The whole service under a mixed load: IVR calls, SMS from the outbox and satisfaction
callbacks at the same time, on 1 and on 3 service processes sharing one PostgreSQL database.

Each phase (1 process, then 3) is `tests.support.cluster.start_cluster`: a fresh database
(created, migrated, dropped at the end; seeded here with 5,000 appeals to query plus the
in-progress appeals the load resolves), the real `twistd -ny twisted_app.tac` processes, and
one SMSC simulator and one AMI peer simulator as processes of their own that record what
reaches them with the wall-clock time (SMSC: no added latency, receipts after 1 s; AMI: every
Originate rings --ring seconds and is answered). The service runs with its shipped settings
except: the IVR open and callbacks allowed all day, a callback due at the resolution
(delay_h 0), two trunks of 30 lines, callbacks.poll_s --callback-poll (5 s as shipped).
This process is the rest:

- callers: a closed loop of --callers FastAGI calls through the 9600110 flow, placed
  round-robin on the processes' FastAGI ports; a call that ends is replaced at once. Each
  command is answered after --think seconds (+-50%, a compressed prompt). Menu paths, by
  weight: progress query of an existing case 35, open-appeal notice then status then 1: 10,
  1/2/3 at the greeting 20/10/8, 0 at the greeting 7, unknown case then 0: 4, silence
  until the agents: 3, voice message (5): 3;
- SMS: --sms-rate messages a second, each queued in its own transaction with
  `sms_gateway.outbox.enqueue` (the outbox's repository function the content layer calls);
- callbacks: --callback-rate in-progress appeals a second resolved through the core's
  `AppealService.resolve`, with the same resolve participants as a service process (the
  callback queue's task, the content layer's SMS); the dispatchers claim the tasks and
  originate them through AMI; the answered call runs the `survey` flow over FastAGI
  (`AGI(agi://.../survey,<task id>)`, the citizen presses a rating), which completes the task.

Measured over --duration seconds after a --warmup; then the load stops and the run drains
(every SMS accepted, every resolved appeal's callback completed) before counting duplicates
and losses from what the simulators recorded and from the database.

    .venv/bin/python bench/mixed_load.py [--duration 60] [--quick] [--processes 1,3]
        [--callers 40] [--think 0.05] [--sms-rate 50] [--callback-rate 4] [--json FILE]

PostgreSQL server: HOTLINE_TEST_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
Both phases take about 3 minutes (--quick: 1.5); it stops by itself, and ^C or an error
still stops every process it started and drops its databases.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HOST = "127.0.0.1"
QUEUE = "hotline"
CALL_TIMEOUT_S = 30.0
QUERY_APPEALS = 5000
STATUSES = ("received", "assigned", "in_progress", "resolved", "closed")
# Resolution callbacks of these kinds are automated surveys; complaints and reports go to an
# agent's worklist instead (callbacks.mode), so the load resolves only these.
SURVEY_KINDS = ("consultation", "help", "approval_progress", "dispute")
SMS_TEXT = "【9600110】您的诉求已受理，编号{n:08d}，办理进度可拨打9600110按4查询。"
PATHS = (("progress", 35), ("open-appeal", 10), ("consultation", 20), ("help", 10),
         ("complaint", 8), ("agent", 7), ("not-found", 4), ("silent", 3), ("voice", 3))


def query_case(i: int) -> str:
    """Seeded appeals to query: 2025-01-01's sequence (never a day the service numbers)."""
    return f"20250101{i + 1:05d}"


def cluster_config(args, voice_dir: Path) -> dict:
    """The service as shipped (CLUSTER_DEFAULTS make a test fast: short polls and leases, small
    batches; put the shipped values back), except what makes the work due now: the IVR open
    and callbacks allowed all day every day, a callback's window open from the resolution."""
    from hotline.config import load_config
    from tests.support.cluster import CLUSTER_DEFAULTS

    shipped = load_config(environ={})
    document = {section: {key: getattr(getattr(shipped, section), key) for key in keys}
                for section, keys in CLUSTER_DEFAULTS.items()}
    for section in ("ivr", "callbacks"):
        for key in ("opening_time", "closing_time", "open_on_holidays", "calling_hours",
                    "call_on_holidays"):
            if key in CLUSTER_DEFAULTS[section]:
                document[section][key] = CLUSTER_DEFAULTS[section][key]
    document["ivr"]["voice_message_dir"] = str(voice_dir)
    document["callbacks"].update(poll_s=args.callback_poll, trunks=["trunk1", "trunk2"],
                                 calls_per_trunk=30)
    document["logging"] = {"level": "warn"}
    return document


# -- the database ----------------------------------------------------------------------------

def seed(url: str, to_resolve: int) -> tuple[list[str], list[str], list[int]]:
    """Bulk-insert units, QUERY_APPEALS appeals of every status, and `to_resolve`
    in-progress appeals of survey kinds with a phone each. Returns the case numbers to query,
    the phones with an open appeal, and the ids to resolve."""
    from sqlalchemy import create_engine, insert, select

    from schemas.enums import AppealChannel, AppealKind, AppealStatus, UnitKind
    from schemas.models import Appeal, Unit

    engine = create_engine(url)
    now = dt.datetime.now(dt.timezone.utc)
    kinds = list(AppealKind)
    with engine.begin() as connection:
        connection.execute(insert(Unit), [{"code": f"MIX{u:02d}", "name": f"Bench station {u}",
                                           "kind": UnitKind.STATION, "active": True}
                                          for u in range(10)])
        units = list(connection.scalars(select(Unit.id).order_by(Unit.id)))
        rows = []
        spread = dt.timedelta(days=90) / QUERY_APPEALS  # a steady past: no spike to report
        for i in range(QUERY_APPEALS):
            status = AppealStatus(STATUSES[i % len(STATUSES)])
            created = now - dt.timedelta(hours=1) - i * spread
            done = status in (AppealStatus.RESOLVED, AppealStatus.CLOSED)
            rows.append(dict(
                case_number=query_case(i), channel=AppealChannel.PHONE, kind=kinds[i % len(kinds)],
                status=status, subject=f"bench appeal {i}", body="", citizen_phone="138%08d" % i,
                unit_id=None if status is AppealStatus.RECEIVED else units[i % len(units)],
                deadline_at=created + dt.timedelta(days=5), reopen_count=0, created_at=created,
                updated_at=created, resolved_at=created + dt.timedelta(minutes=5) if done else None,
                closed_at=created + dt.timedelta(minutes=9) if status is AppealStatus.CLOSED else None))
        for i in range(to_resolve):
            created = now - dt.timedelta(hours=1)
            rows.append(dict(
                case_number=f"20250102{i + 1:05d}", channel=AppealChannel.PHONE,
                kind=AppealKind(SURVEY_KINDS[i % len(SURVEY_KINDS)]),
                status=AppealStatus.IN_PROGRESS, subject=f"bench appeal to resolve {i}", body="",
                citizen_phone="137%08d" % i, unit_id=units[i % len(units)],
                deadline_at=created + dt.timedelta(days=5), reopen_count=0, created_at=created,
                updated_at=created, resolved_at=None, closed_at=None))
        connection.execute(insert(Appeal), rows)
        resolve_ids = list(connection.scalars(
            select(Appeal.id).where(Appeal.case_number.like("20250102%")).order_by(Appeal.id)))
    engine.dispose()
    cases = [query_case(i) for i in range(QUERY_APPEALS)]
    open_phones = ["138%08d" % i for i in range(QUERY_APPEALS)
                   if STATUSES[i % len(STATUSES)] != "closed"]
    return cases, open_phones, resolve_ids


# -- the peers' records ---------------------------------------------------------------------

class RecordTail:
    """The lines a peer process appended to its record file since the last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def new(self) -> list[dict]:
        try:
            with open(self.path, "rb") as records:
                records.seek(self.offset)
                data = records.read()
        except FileNotFoundError:
            return []
        complete = data[:data.rfind(b"\n") + 1]  # a line being written waits for the next read
        self.offset += len(complete)
        return [json.loads(line) for line in complete.decode("utf-8").splitlines() if line]


# -- the load --------------------------------------------------------------------------------

def percentile(values, p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Load:
    """One phase's generators and what they observed."""

    def __init__(self, reactor, args, cases, open_phones, resolve_ids):
        self.reactor, self.args = reactor, args
        self.core = None  # set once the services run: the core this process resolves with
        self.ports = None  # likewise: the FastAGI ports, round-robin
        self.cases, self.open_phones = cases, open_phones
        self.to_resolve = list(resolve_ids)
        self.rng = random.Random(9600110)
        self.measuring = self.stopping = False
        self.window = (0.0, 0.0)
        # calls
        self.gaps: list[float] = []
        self.call_times: list[float] = []  # per call: its duration minus the scripted waits
        self.completed = 0
        self.call_errors: Counter = Counter()
        self.in_flight = 0
        self.serial = 0
        # surveys (the callbacks' calls)
        self.surveys_in_flight = 0
        self.survey_errors: Counter = Counter()
        self.surveys_done = 0
        # SMS
        self.sms_enqueued: dict[str, float] = {}  # destination -> enqueue time
        self.sms_accepted: dict[str, list[float]] = defaultdict(list)
        self.sms_errors: Counter = Counter()
        self.sms_serial = 0
        # callbacks
        self.resolved: dict[int, float] = {}  # appeal id -> resolve call time
        self.resolved_ok: set[int] = set()
        self.originates: dict[str, list[float]] = defaultdict(list)  # task id -> times
        self.tails: list[RecordTail] = []
        self.resolve_errors: Counter = Counter()
        self.pending_writes = 0
        self.Caller = self.caller_class()

    # calls ------------------------------------------------------------------------------------

    def caller_class(self):
        from ivr.simulator.asterisk import AsteriskCallSimulator

        load = self

        class Caller(AsteriskCallSimulator):
            """Times each gap from its answer to the next command; answers after a think."""

            def __init__(self, setup, script) -> None:
                super().__init__(setup, script)
                self.last_write: float | None = None
                self.service_time = 0.0

            def connectionMade(self) -> None:
                super().connectionMade()
                self.last_write = time.perf_counter()

            def lineReceived(self, raw: bytes) -> None:
                if self.last_write is not None and not self.ended:
                    gap = time.perf_counter() - self.last_write
                    self.service_time += gap
                    if load.measuring:
                        load.gaps.append(gap)
                self.last_write = None
                think = load.args.think
                if think and not self.ended:
                    load.reactor.callLater(think * load.rng.uniform(0.5, 1.5), self.answer, raw)
                else:
                    self.answer(raw)

            def answer(self, raw: bytes) -> None:
                if self.ended:
                    return
                AsteriskCallSimulator.lineReceived(self, raw)
                self.last_write = time.perf_counter()

        return Caller

    def script(self) -> tuple[str, str, str, str]:
        """(path, caller's number, keys, what the caller must meet)."""
        path = self.rng.choices([p for p, _ in PATHS], [w for _, w in PATHS])[0]
        stranger = "139%08d" % (self.serial % 10**8)
        case = self.rng.choice(self.cases)
        return {
            "progress": (path, stranger, f"_ 4 {case}#", "status"),
            "open-appeal": (path, self.rng.choice(self.open_phones), "_ 9 1", "queue"),
            "consultation": (path, stranger, "1", "queue"),
            "help": (path, stranger, "2", "queue"),
            "complaint": (path, stranger, "3", "queue"),
            "agent": (path, stranger, "0", "queue"),
            "not-found": (path, stranger, "_ 4 2024010199999# 0", "queue"),
            "silent": (path, stranger, "_ _ _ _", "queue"),
            "voice": (path, stranger, "5", "record"),
        }[path]

    def place_call(self) -> None:
        from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

        from ivr.simulator.asterisk import CallSetup

        if self.stopping:
            return
        self.serial += 1
        self.in_flight += 1
        path, phone, keys, expect = self.script()
        port = next(self.ports)
        setup = CallSetup(script="hotline", host=HOST, port=port, callerid=phone,
                          calleridname="Bench Caller", language="zh",
                          uniqueid=f"{int(time.time())}.{self.serial}",
                          channel=f"PJSIP/trunk-{self.serial:08x}", queue_status="CONTINUE",
                          functions={f"QUEUE_WAITING_COUNT({QUEUE})": "2"})
        caller = self.Caller(setup, keys)
        watchdog = self.reactor.callLater(CALL_TIMEOUT_S, self._abort, caller)
        d = connectProtocol(TCP4ClientEndpoint(self.reactor, HOST, port, timeout=10), caller)
        d.addCallback(lambda _: caller.finished)
        d.addCallbacks(lambda heard: self._call_ended(caller, watchdog, _failed(heard, expect, path)),
                       lambda failure: self._call_ended(caller, watchdog, failure.type.__name__))

    def _abort(self, caller) -> None:
        caller.bench_timed_out = True
        if caller.transport is not None:
            caller.transport.abortConnection()

    def _call_ended(self, caller, watchdog, error) -> None:
        if watchdog.active():
            watchdog.cancel()
        if getattr(caller, "bench_timed_out", False):
            error = "timeout"
        self.in_flight -= 1
        if error is not None:
            self.call_errors[error] += 1
        elif self.measuring:
            self.completed += 1
            self.call_times.append(caller.service_time)
        self.place_call()

    def read_peers(self) -> None:
        """What reached the SMSC and the AMI peer; an Originate is answered `--ring` seconds
        after it arrived, and then the survey context runs its AGI."""
        smsc, ami = self.tails
        for record in smsc.new():
            if record["event"] == "submit":
                self.sms_accepted[record["destination"]].append(record["t"])
        for record in ami.new():
            if record["event"] == "originate":
                task = record["variables"].get("TASK_ID", "")
                self.originates[task].append(record["t"])
                if task:
                    delay = max(0.0, record["t"] + self.args.ring - time.time())
                    self.reactor.callLater(delay, self.survey, task, record["channel"])

    def survey(self, task_id: str, channel: str) -> None:
        """The answered callback: the survey context runs AGI(agi://.../survey,<task id>)."""
        from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

        from ivr.simulator.asterisk import CallSetup

        port = next(self.ports)
        number = channel.split("/", 1)[-1].split("@", 1)[0]
        setup = CallSetup(script="survey", host=HOST, port=port, callerid=number,
                          language="zh", uniqueid=f"{int(time.time())}.s{task_id}",
                          channel=f"{channel}-cb{task_id}", context="hotline-survey",
                          extension="s", args=(task_id,))
        caller = self.Caller(setup, self.rng.choice("1112"))
        self.surveys_in_flight += 1
        watchdog = self.reactor.callLater(CALL_TIMEOUT_S, self._abort, caller)
        d = connectProtocol(TCP4ClientEndpoint(self.reactor, HOST, port, timeout=10), caller)
        d.addCallback(lambda _: caller.finished)

        def ended(error) -> None:
            if watchdog.active():
                watchdog.cancel()
            self.surveys_in_flight -= 1
            if getattr(caller, "bench_timed_out", False):
                error = "timeout"
            if error:
                self.survey_errors[error] += 1
            else:
                self.surveys_done += 1

        d.addCallbacks(lambda heard: ended(None if any(h.kind == "hangup" and h.value == "service"
                                                       for h in heard) else "wrong path"),
                       lambda failure: ended(failure.type.__name__))

    # SMS and callbacks ---------------------------------------------------------------------------

    def paced(self, rate: float, act) -> None:
        """Call `act()` `rate` times a second, evenly, until the load stops."""
        from twisted.internet import task

        if rate <= 0:
            return
        due = [0.0]
        began = time.monotonic()

        def tick() -> None:
            if self.stopping:
                loop.stop()
                return
            target = (time.monotonic() - began) * rate
            while due[0] < target:
                due[0] += 1
                act()

        loop = task.LoopingCall(tick)
        loop.clock = self.reactor
        loop.start(min(0.05, 1 / rate), now=True)

    def stop(self) -> None:
        self.stopping = True
        if self.tails and self.peer_reader.running:
            self.peer_reader.stop()

    def watch_peers(self, smsc_records: Path, ami_records: Path) -> None:
        from twisted.internet import task

        self.tails = [RecordTail(smsc_records), RecordTail(ami_records)]
        self.peer_reader = task.LoopingCall(self.read_peers)
        self.peer_reader.clock = self.reactor
        self.peer_reader.start(0.05, now=False)

    def enqueue_sms(self) -> None:
        from schemas.enums import SmsKind
        from sms_gateway import outbox

        self.sms_serial += 1
        destination = "136%08d" % self.sms_serial
        now = self.core.clock.now()
        self.sms_enqueued[destination] = now.timestamp()
        self._write(self.core.db.write(outbox.enqueue, kind=SmsKind.APPEAL_RECEIVED,
                                       destination=destination,
                                       text=SMS_TEXT.format(n=self.sms_serial), now=now),
                    self.sms_errors)

    def resolve_one(self) -> None:
        if not self.to_resolve:
            self.resolve_errors["ran out of appeals to resolve"] += 1
            return
        appeal_id = self.to_resolve.pop(0)
        self.resolved[appeal_id] = time.time()
        d = self.core.appeals.resolve(appeal_id, "已联系来电人并处理完毕", actor="bench:mixed-load")
        d.addCallback(lambda _: self.resolved_ok.add(appeal_id))
        self._write(d, self.resolve_errors)

    def _write(self, d, errors: Counter) -> None:
        self.pending_writes += 1

        def done(result):
            self.pending_writes -= 1
            return result

        d.addBoth(done)
        d.addErrback(lambda failure: errors.update([failure.type.__name__]))


def _failed(heard, expect: str, path: str) -> str | None:
    """None when the caller met what the path leads to; else what went wrong."""
    if _met(heard, expect):
        return None
    if any(h.kind == "play" and h.value.endswith("sorry-technical") for h in heard):
        return "apology: a lookup over agi.backend_timeout_s"
    return f"wrong path ({path})"


def _met(heard, expect: str) -> bool:
    if expect == "status":
        return (any(h.kind == "play" and "status-" in h.value for h in heard)
                and any(h.kind == "hangup" and h.value == "service" for h in heard))
    return any(h.kind == expect for h in heard)


# -- one phase ---------------------------------------------------------------------------------

async def sleep(reactor, seconds: float) -> None:
    from twisted.internet import task
    await task.deferLater(reactor, seconds, lambda: None)


async def wait_until(reactor, predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g}s waiting for {what}")
        await sleep(reactor, 0.2)


async def phase(reactor, args, processes: int, workdir: Path) -> dict:
    import callback_queue
    import sms_gateway.messages.service
    from hotline.config import load_config
    from hotline.core import make_core
    from tests.support.cluster import start_cluster

    planned = int(args.callback_rate * (args.warmup + args.duration) * 1.3) + 20
    here = workdir / f"{processes}-processes"
    (here / "voice").mkdir(parents=True)
    stack = contextlib.ExitStack()
    core = load = None

    def clean_up() -> None:
        """Stop the load, this process's database threads (a live pool would keep the
        interpreter from exiting), the processes, the peers; drop the database. Also run
        when ^C or SIGTERM stops the reactor, which does not unwind this coroutine."""
        if load is not None:
            load.stop()
        if core is not None and core.db.running:
            core.db.stopService()
        stack.close()

    trigger = reactor.addSystemEventTrigger("before", "shutdown", clean_up)
    try:
        began = time.perf_counter()
        services = stack.enter_context(start_cluster(
            here, processes, config=cluster_config(args, here / "voice"), pg_url=pg_url(),
            receipt_delay=1.0, originate_delay=args.ring, start=False))
        cases, open_phones, resolve_ids = seed(services.db_url, planned)
        for service in services.processes:
            service.start()
        services.wait_healthy(links=("database", "ami", "smsc:smsc"))
        setup_s = time.perf_counter() - began

        # This process resolves appeals exactly as a service process would: the same
        # configuration, core and resolve participants (callback task, resolution SMS).
        first = services.processes[0]
        core = make_core(load_config(first.config_path, environ=first.env), reactor)
        callback_queue.makeService(core)
        sms_gateway.messages.service.register(core)
        core.db.startService()
        load = Load(reactor, args, cases, open_phones, resolve_ids)
        load.core = core
        load.ports = itertools.cycle([service.agi_port for service in services.processes])
        load.watch_peers(services.smsc.records, services.ami.records)
        for i in range(args.callers):  # spread the first calls over a second
            reactor.callLater(i / args.callers, load.place_call)
        load.paced(args.sms_rate, load.enqueue_sms)
        load.paced(args.callback_rate, load.resolve_one)
        await sleep(reactor, args.warmup)

        pids = [service.process.pid for service in services.processes]
        peers = [services.smsc.process.pid, services.ami.process.pid, os.getpid()]
        pg = await core.db.read(backends_of_this_database)
        before = {pid: cpu_seconds(pid) for pid in pids + pg + peers}
        busy_before, cores = machine_busy()
        load.measuring = True
        t0 = time.time()
        await sleep(reactor, args.duration)
        t1 = time.time()
        load.measuring = False
        busy_after, _ = machine_busy()
        used = {pid: cpu_seconds(pid) - cpu for pid, cpu in before.items()}
        # A backend a pool opened during the window: all of its time is in the window.
        for pid in set(await core.db.read(backends_of_this_database)) - set(before):
            used[pid] = cpu_seconds(pid)
            pg.append(pid)
        load.window = (t0, t1)
        alive_during = len(services.alive()) == processes

        load.stopping = True
        drain_began = time.monotonic()
        sms_target = set(load.sms_enqueued)
        completed = 0

        def drained() -> bool:
            return (load.in_flight == 0 and load.pending_writes == 0
                    and load.surveys_in_flight == 0 and sms_target <= set(load.sms_accepted)
                    and completed >= len(load.resolved_ok))

        # Until everything is done, --drain runs out, or nothing has moved for a while (a
        # task whose result was not written waits for its lease: minutes).
        deadline = time.monotonic() + args.drain
        progress, moved = None, time.monotonic()
        while time.monotonic() < deadline:
            completed = await core.db.read(count_completed, list(load.resolved))
            if drained():
                break
            now = (completed, len(load.sms_accepted), load.in_flight, load.surveys_in_flight)
            if now != progress:
                progress, moved = now, time.monotonic()
            elif time.monotonic() - moved > max(20.0, 3 * args.callback_poll):
                break
            await sleep(reactor, 0.5)
        drain_s = time.monotonic() - drain_began
        load.read_peers()
        tasks = await core.db.read(callback_tasks, list(load.resolved))
        sms_rows = await core.db.read(bench_sms_rows)
        result = summarise(load, processes, tasks, sms_rows, used, pids, pg, peers,
                           busy_after - busy_before, cores, t1 - t0)
        result.update(setup_s=setup_s, drain_s=drain_s, drained=drained(),
                      alive=alive_during and len(services.alive()) == processes,
                      **log_errors([service.log_path for service in services.processes]))
        return result
    finally:
        reactor.removeSystemEventTrigger(trigger)
        clean_up()


def pg_url() -> str:
    return os.environ.get("HOTLINE_TEST_PG_URL") or DEFAULT_PG


# -- CPU from /proc -------------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy() -> tuple[float, int]:
    """Busy CPU seconds of all cores so far, and the number of cores (from /proc/stat)."""
    with open("/proc/stat") as stat:
        lines = stat.read().splitlines()
    ticks = [int(t) for t in lines[0].split()[1:]]
    cores = sum(1 for line in lines if line.startswith("cpu") and line[3].isdigit())
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / TICK, cores


# -- reading the outcome ------------------------------------------------------------------------

def backends_of_this_database(session) -> list[int]:
    """The PostgreSQL server processes serving this database (the server is shared)."""
    from sqlalchemy import text

    return list(session.scalars(text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")))


def log_errors(logs: list[Path]) -> dict:
    """What the service processes logged at error level or above, and how many of those
    were PostgreSQL deadlocks."""
    text = "".join(log.read_text(errors="replace") for log in logs)
    return {"log_errors": len(re.findall(r"#(?:error|critical)\]", text)),
            "deadlocks": text.count("DeadlockDetected"), "tracebacks": text.count("Traceback")}


def count_completed(session, appeal_ids: list[int]) -> int:
    from sqlalchemy import func, select

    from schemas.callbacks import CallbackOrigin, CallbackState, CallbackTask

    return session.scalar(select(func.count()).select_from(CallbackTask).where(
        CallbackTask.appeal_id.in_(appeal_ids), CallbackTask.origin == CallbackOrigin.RESOLUTION,
        CallbackTask.state == CallbackState.COMPLETED)) or 0


def callback_tasks(session, appeal_ids: list[int]) -> list[tuple]:
    from sqlalchemy import func, select

    from schemas.callbacks import CallbackAttempt, CallbackOrigin, CallbackTask

    attempts = (select(CallbackAttempt.task_id, func.count().label("n"))
                .group_by(CallbackAttempt.task_id).subquery())
    return [tuple(row) for row in session.execute(
        select(CallbackTask.id, CallbackTask.appeal_id, CallbackTask.state,
               CallbackTask.window_start, func.coalesce(attempts.c.n, 0))
        .outerjoin(attempts, attempts.c.task_id == CallbackTask.id)
        .where(CallbackTask.appeal_id.in_(appeal_ids),
               CallbackTask.origin == CallbackOrigin.RESOLUTION))]


def bench_sms_rows(session) -> list[tuple]:
    """(destination, state, attempts with parts) of the messages this load queued."""
    from sqlalchemy import func, select

    from schemas.sms import SmsMessage, SmsPart

    attempts = (select(SmsPart.message_id, func.count(func.distinct(SmsPart.attempt)).label("n"))
                .group_by(SmsPart.message_id).subquery())
    return [tuple(row) for row in session.execute(
        select(SmsMessage.destination, SmsMessage.state, func.coalesce(attempts.c.n, 0))
        .outerjoin(attempts, attempts.c.message_id == SmsMessage.id)
        .where(SmsMessage.destination.like("136%")))]


def summarise(load: Load, processes: int, tasks, sms_rows, used, pids, pg, peers, busy,
              cores, elapsed) -> dict:
    from schemas.callbacks import CallbackState
    from schemas.enums import SmsState

    t0, t1 = load.window
    # SMS: what the SMSC accepted, against what was queued
    accepted_in_window = sum(1 for times in load.sms_accepted.values()
                             for t in times if t0 <= t < t1)
    sms_latency = [times[0] - load.sms_enqueued[d] for d, times in load.sms_accepted.items()
                   if d in load.sms_enqueued and t0 <= load.sms_enqueued[d] < t1]
    sent_states = {SmsState.SUBMITTED, SmsState.DELIVERED}
    sms_twice = ({d for d, times in load.sms_accepted.items()
                  if d in load.sms_enqueued and len(times) > 1}
                 | {d for d, _, attempts in sms_rows if attempts > 1})
    sms_lost = ({d for d in load.sms_enqueued if d not in load.sms_accepted}
                | {d for d, state, _ in sms_rows if state not in sent_states})
    # callbacks: what AMI received, against the tasks the resolutions made
    by_task = {str(task_id): (appeal_id, state, window_start, attempts)
               for task_id, appeal_id, state, window_start, attempts in tasks}
    placed_in_window = sum(1 for task, times in load.originates.items() if task in by_task
                           for t in times if t0 <= t < t1)
    due_latency = [times[0] - by_task[task][2].timestamp()
                   for task, times in load.originates.items()
                   if task in by_task and t0 <= by_task[task][2].timestamp() < t1]
    cb_twice = ({task for task, times in load.originates.items()
                 if task in by_task and len(times) > 1}
                | {task for task, (_, _, _, attempts) in by_task.items() if attempts > 1})
    with_task = {appeal_id for appeal_id, *_ in by_task.values()}
    cb_lost = (sum(1 for appeal_id in load.resolved_ok if appeal_id not in with_task)
               + sum(1 for _, state, _, _ in by_task.values() if state is not CallbackState.COMPLETED))
    pg_cpu = sum(used.get(pid, 0.0) for pid in pg)
    service_cpu = [used[pid] / elapsed for pid in pids]
    around = sum(used[pid] for pid in peers)  # this process and the two simulators
    return {
        "processes": processes, "seconds": elapsed,
        "calls_s": load.completed / elapsed,
        "gap_p50_ms": percentile(load.gaps, 50) * 1000, "gap_p99_ms": percentile(load.gaps, 99) * 1000,
        "call_p50_ms": percentile(load.call_times, 50) * 1000,
        "call_p99_ms": percentile(load.call_times, 99) * 1000,
        "call_errors": dict(load.call_errors), "calls": load.completed,
        "sms_s": accepted_in_window / elapsed, "sms_queued": len(load.sms_enqueued),
        "sms_p50_ms": percentile(sms_latency, 50) * 1000,
        "sms_p99_ms": percentile(sms_latency, 99) * 1000,
        "sms_errors": dict(load.sms_errors), "sms_duplicates": len(sms_twice),
        "sms_lost": len(sms_lost),
        "callbacks_s": placed_in_window / elapsed, "callbacks_resolved": len(load.resolved_ok),
        "callback_p50_ms": percentile(due_latency, 50) * 1000,
        "callback_p99_ms": percentile(due_latency, 99) * 1000,
        "callback_errors": {**dict(load.resolve_errors),
                            **{f"survey {k}": v for k, v in load.survey_errors.items()}},
        "callback_duplicates": len(cb_twice), "callback_lost": cb_lost,
        "surveys_completed": load.surveys_done,
        "service_cpu": service_cpu, "postgres_cpu": pg_cpu / elapsed,
        "loadgen_cpu": around / elapsed,
        "others_cpu": max(0.0, busy - sum(used.values())) / elapsed, "cores": cores,
    }


# -- the report -------------------------------------------------------------------------------

def errors_text(row: dict) -> str:
    counts = Counter()
    for key in ("call_errors", "sms_errors", "callback_errors"):
        counts.update(row[key])
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "0"


def _pair(a: float, b: float, unit: str, digits: int = 1) -> str:
    return f"{a:.{digits}f} / {b:.{digits}f} {unit}"


REPORT_ROWS = (  # label, cell(row), compared (3 vs 1) by this key or None
    ("calls/s completed", lambda r: f"{r['calls_s']:.1f}", "calls_s"),
    ("AGI command round trip p50 / p99",
     lambda r: _pair(r["gap_p50_ms"], r["gap_p99_ms"], "ms"), None),
    ("call, minus scripted waits, p50 / p99",
     lambda r: _pair(r["call_p50_ms"], r["call_p99_ms"], "ms", 0), None),
    ("SMS/s submitted to the SMSC", lambda r: f"{r['sms_s']:.1f}", "sms_s"),
    ("SMS enqueue → SMSC p50 / p99", lambda r: _pair(r["sms_p50_ms"], r["sms_p99_ms"], "ms", 0),
     None),
    ("callbacks/s placed (Originate)", lambda r: f"{r['callbacks_s']:.2f}", "callbacks_s"),
    ("callback due → Originate p50 / p99",
     lambda r: _pair(r["callback_p50_ms"] / 1000, r["callback_p99_ms"] / 1000, "s", 2), None),
    ("errors seen by the load", lambda r: errors_text(r), None),
    ("service log: errors / of which deadlocks",
     lambda r: f"{r['log_errors']} / {r['deadlocks']}", None),
    ("duplicates (SMS / callbacks)",
     lambda r: f"{r['sms_duplicates']} / {r['callback_duplicates']}", None),
    ("lost after draining (SMS / callbacks)",
     lambda r: f"{r['sms_lost']} / {r['callback_lost']}", None),
    ("CPU per service process", lambda r: " + ".join(f"{c:.0%}" for c in r["service_cpu"]), None),
    ("CPU of PostgreSQL (this database's backends)", lambda r: f"{r['postgres_cpu']:.0%}", None),
    ("CPU of the load generator and simulators", lambda r: f"{r['loadgen_cpu']:.0%}", None),
    ("CPU of everything else (other work, PostgreSQL's shared processes)",
     lambda r: f"{r['others_cpu']:.0%}", None),
)


def print_report(rows: list[dict], args) -> None:
    cores = rows[0]["cores"] if rows else os.cpu_count()
    print()
    print(f"Mixed load on PostgreSQL, {args.duration:g} s measured per phase after "
          f"{args.warmup:g} s of warm-up. {cores} cores for everything: the services, PostgreSQL")
    print("and this load generator with the SMSC and AMI simulators; 3 processes on 2 cores "
          "cannot scale linearly.")
    print(f"Calls: closed loop of {args.callers} callers, each command answered after "
          f"{args.think * 1000:g} ms +-50%. SMS offered {args.sms_rate:g}/s, resolutions "
          f"{args.callback_rate:g}/s;")
    print(f"SMSC simulator with no added latency, receipts after 1 s; a callback rings "
          f"{args.ring:g} s, then the survey runs; callbacks.poll_s {args.callback_poll:g} s.")
    print()
    heads = [f"{r['processes']} process{'es' if r['processes'] > 1 else ''}" for r in rows]
    compare = len(rows) == 2
    print("| | " + " | ".join(heads) + (f" | {heads[1]} / {heads[0]} |" if compare else " |"))
    print("|---" * (len(rows) + 1 + compare) + "|")
    for label, cell, key in REPORT_ROWS:
        cells = [cell(r) for r in rows]
        if compare:
            one, other = rows
            cells.append(f"x{other[key] / one[key]:.2f}" if key and one[key] else "")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    for r in rows:
        print(f"{r['processes']} process(es): {r['calls']} calls completed; SMS queued "
              f"{r['sms_queued']}; appeals resolved {r['callbacks_resolved']}, surveys "
              f"completed {r['surveys_completed']}; drained in {r['drain_s']:.1f} s"
              f"{'' if r['drained'] else ' (NOT fully drained)'}; service tracebacks "
              f"{r['tracebacks']}{'' if r['alive'] else '; a service process DIED'}")
    print()
    print("AGI command round trip: from the caller's answer written to the next command read.")
    print("call minus scripted waits: the sum of a call's round trips, the first command's "
          "included.")
    print("SMS enqueue → SMSC: from the enqueue (created_at) to the SMSC accepting the submit_sm.")
    print("callback due → Originate: from the task's window start (its resolution: delay_h 0) to "
          "the Originate")
    print("reaching the AMI peer. callbacks/s: Originates received in the window. CPU: share of "
          "one core")
    print("per wall second. duplicates: SMS accepted twice or sent in two attempts, tasks "
          "originated twice or")
    print("with two attempts. lost: queued SMS never accepted or not submitted, resolved appeals "
          "whose callback")
    print("is not completed once drained.")


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds per phase")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="10 s measured, 2 s warm-up")
    parser.add_argument("--processes", default="1,3", help="phases: service processes each")
    parser.add_argument("--callers", type=int, default=40, help="calls in flight (closed loop)")
    parser.add_argument("--think", type=float, default=0.05,
                        help="mean seconds before the caller's side answers each command")
    parser.add_argument("--sms-rate", type=float, default=50.0, help="SMS queued per second")
    parser.add_argument("--callback-rate", type=float, default=4.0,
                        help="appeals resolved per second (one callback each)")
    parser.add_argument("--callback-poll", type=float, default=5.0,
                        help="callbacks.poll_s of the service (5 s as shipped)")
    parser.add_argument("--ring", type=float, default=1.0,
                        help="seconds an originated callback rings before it is answered")
    parser.add_argument("--drain", type=float, default=120.0,
                        help="longest wait for the SMS and callbacks to finish after the load")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 10.0, 2.0
    return args


async def main(reactor, args) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="mixed_load."))
    rows = []
    # Interrupted (^C, SIGTERM): the phase cleans up after itself; the logs go too.
    interrupted = reactor.addSystemEventTrigger("after", "shutdown", shutil.rmtree, workdir, True)
    try:
        for processes in (int(n) for n in args.processes.split(",")):
            print(f"phase: {processes} service process(es); load average "
                  f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())} ...", flush=True)
            row = await phase(reactor, args, processes, workdir)
            rows.append(row)
            print(f"  {row['calls_s']:.1f} calls/s, {row['sms_s']:.1f} SMS/s, "
                  f"{row['callbacks_s']:.2f} callbacks/s, errors {errors_text(row)}, duplicates "
                  f"{row['sms_duplicates'] + row['callback_duplicates']}, lost "
                  f"{row['sms_lost'] + row['callback_lost']}", flush=True)
        print_report(rows, args)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=1, default=str), encoding="utf-8")
    except BaseException:
        reactor.removeSystemEventTrigger(interrupted)
        print(f"failed: the services' logs are kept in {workdir}", file=sys.stderr, flush=True)
        raise
    reactor.removeSystemEventTrigger(interrupted)
    if any(row["tracebacks"] for row in rows):
        print(f"the services logged tracebacks: their logs are kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def cli(argv=None) -> None:
    from twisted.internet import defer, task

    args = parse(argv)
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, args)))


if __name__ == "__main__":
    cli()
