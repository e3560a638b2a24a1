"""The whole service under a mixed load: IVR calls, SMS from the outbox and satisfaction
callbacks at the same time, on 1 and on 3 service processes sharing one PostgreSQL database.

Each phase (1 process, then 3) gets a fresh database (created, migrated, seeded with 5,000
appeals to query plus the in-progress appeals the load resolves; dropped at the end) and the
real `twistd -ny twisted_app.tac` processes. This process is everything around them:

- the SMSC simulator (`SimulatedSmsc`, one bind per service process, 5 ms answer latency by
  default, delivery receipts after 1 s) and the AMI peer simulator (`AsteriskManagerSimulator`,
  every service process logged in; an Originate rings for 1 s and is answered), each keeping
  a record of what reached it, with the wall-clock time;
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
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import itertools
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import cluster  # noqa: E402

HOST = "127.0.0.1"
AMI_SECRET = "mixed-load-ami"
SMSC_PASSWORD = "mixload"
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


def config_text(smsc_port: int, ami_port: int, voice_dir: Path) -> str:
    delays = "\n".join(f"{kind} = 0.0" for kind in
                       ("consultation", "help", "complaint", "report", "approval_progress",
                        "dispute"))
    return f"""
[service]
name = "mixed"
[ami]
host = "{HOST}"
port = {ami_port}
username = "hotline"
secret = "{AMI_SECRET}"
auth = "md5"
[ivr]
opening_time = "00:00"
closing_time = "23:59"
open_on_holidays = true
voice_message_dir = "{voice_dir}"
[sms.binds.sim]
host = "{HOST}"
port = {smsc_port}
system_id = "hotline"
password = "{SMSC_PASSWORD}"
[callbacks]
calling_hours = "00:00-24:00"
call_on_holidays = true
trunks = ["trunk1", "trunk2"]
calls_per_trunk = 30
[callbacks.delay_h]
{delays}
[logging]
level = "warn"
"""


# -- the database ----------------------------------------------------------------------------

def seed(url: str, to_resolve: int) -> tuple[list[str], list[str], list[int]]:
    """Migrate and bulk-insert units, QUERY_APPEALS appeals of every status, and `to_resolve`
    in-progress appeals of survey kinds with a phone each. Returns the case numbers to query,
    the phones with an open appeal, and the ids to resolve."""
    from sqlalchemy import create_engine, insert, select

    from hotline.db import upgrade
    from schemas.enums import AppealChannel, AppealKind, AppealStatus, UnitKind
    from schemas.models import Appeal, Unit

    engine = create_engine(url)
    upgrade(engine)
    now = dt.datetime.now(dt.timezone.utc)
    kinds = list(AppealKind)
    with engine.begin() as connection:
        connection.execute(insert(Unit), [{"code": f"MIX{u:02d}", "name": f"Bench station {u}",
                                           "kind": UnitKind.STATION, "active": True}
                                          for u in range(10)])
        units = list(connection.scalars(select(Unit.id).order_by(Unit.id)))
        rows = []
        for i in range(QUERY_APPEALS):
            status = AppealStatus(STATUSES[i % len(STATUSES)])
            created = now - dt.timedelta(minutes=10 + i)
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


# -- the peers -------------------------------------------------------------------------------

def make_peers(reactor, load: "Load"):
    """The SMSC and AMI simulators, recording what reaches them (wall-clock times)."""
    from hotline.ami.actions import OriginateReason
    from hotline.ami.simulator import AsteriskManagerSimulator, OriginateScript
    from sms_gateway.simulator.smsc import SimulatedSmsc

    class RecordingSmsc(SimulatedSmsc):
        def accept(self, session, pdu):
            status, message_id = super().accept(session, pdu)
            if message_id:
                load.sms_accepted[self.accepted[-1].destination].append(time.time())
            return status, message_id

    class AnsweringAmi(AsteriskManagerSimulator):
        """Every Originate rings, is answered, and runs the survey AGI as the dialplan would."""

        def originate(self, session, request) -> None:
            variables = dict(v.partition("=")[::2] for v in request.getall("Variable"))
            task = variables.get("TASK_ID", "")
            load.originates[task].append(time.time())
            super().originate(session, request)

        def _originateOutcome(self, session, request, script, *rest) -> None:
            super()._originateOutcome(session, request, script, *rest)
            variables = dict(v.partition("=")[::2] for v in request.getall("Variable"))
            if script.reason is OriginateReason.ANSWERED and variables.get("TASK_ID"):
                load.survey(variables["TASK_ID"], request.get("Channel", ""))

    smsc = RecordingSmsc(reactor, credentials={"hotline": SMSC_PASSWORD}, receipt_delay=1.0)
    smsc.faults.response_delay = load.args.smsc_latency
    ami = AnsweringAmi(reactor, users={"hotline": AMI_SECRET}, queues=(QUEUE,),
                       default_outcome=OriginateScript(OriginateReason.ANSWERED,
                                                       delay=load.args.ring))
    return smsc, ami


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
        self.resolve_errors: Counter = Counter()
        self.pending_writes = 0

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
        caller = self.caller_class()(setup, keys)
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
        caller = self.caller_class()(setup, self.rng.choice("1112"))
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
    from hotline.config import load_config
    from hotline.core import make_core

    import callback_queue
    import sms_gateway.messages.service

    planned = int(args.callback_rate * (args.warmup + args.duration) * 1.3) + 20
    database = cluster.ScratchDatabase(cluster.server_url(), prefix="hotline_mixed")
    listeners = []
    services = core = ami = None
    try:
        began = time.perf_counter()
        cases, open_phones, resolve_ids = seed(database.url, planned)
        seeded = time.perf_counter() - began
        load = Load(reactor, args, cases, open_phones, resolve_ids)
        smsc, ami = make_peers(reactor, load)
        listeners.append(reactor.listenTCP(0, smsc.factory(), interface=HOST))
        listeners.append(reactor.listenTCP(0, ami, interface=HOST))
        config_path = workdir / f"mixed-{processes}.toml"
        (workdir / "voice").mkdir(exist_ok=True)
        config_path.write_text(config_text(listeners[0].getHost().port,
                                           listeners[1].getHost().port, workdir / "voice"),
                               encoding="utf-8")
        services = cluster.Cluster(config_path, database.url, workdir,
                                   env={"HOTLINE_AMI_PORT": str(listeners[1].getHost().port),
                                        "HOTLINE_CALLBACKS_POLL_S": str(args.callback_poll)})
        services.start(processes)
        await wait_until(reactor, lambda: len(smsc.bound_sessions()) >= processes
                         and sum(1 for s in ami.sessions if s.authenticated) >= processes,
                         60, "every process to bind to the SMSC and log in to AMI")

        # This process resolves appeals exactly as a service process would: the same core,
        # the same resolve participants (callback task, resolution SMS).
        config = load_config(config_path, environ={**services.env,
                                                   "HOTLINE_DATABASE_URL": database.url})
        core = make_core(config, reactor)
        callback_queue.makeService(core)
        sms_gateway.messages.service.register(core)
        core.db.startService()
        load.core, load.ports = core, itertools.cycle(services.agi_ports)
        for i in range(args.callers):  # spread the first calls over a second
            reactor.callLater(i / args.callers, load.place_call)
        load.paced(args.sms_rate, load.enqueue_sms)
        load.paced(args.callback_rate, load.resolve_one)
        await sleep(reactor, args.warmup)

        pids = services.pids
        pg = await core.db.read(backends_of_this_database)
        before = {pid: cluster.cpu_seconds(pid) for pid in pids + pg + [os.getpid()]}
        busy_before, cores = cluster.machine_busy()
        load.measuring = True
        t0 = time.time()
        await sleep(reactor, args.duration)
        t1 = time.time()
        load.measuring = False
        busy_after, _ = cluster.machine_busy()
        used = {pid: cluster.cpu_seconds(pid) - cpu for pid, cpu in before.items()}
        load.window = (t0, t1)
        alive_during = services.alive()

        load.stopping = True
        drain_began = time.monotonic()
        sms_target = set(load.sms_enqueued)
        resolved_ids = set(load.resolved)

        def drained() -> bool:
            return (load.in_flight == 0 and load.pending_writes == 0
                    and sms_target <= set(load.sms_accepted)
                    and load.surveys_in_flight == 0
                    and completed_tasks() >= len(load.resolved_ok))

        completed_box = [0]

        def completed_tasks() -> int:
            return completed_box[0]

        async def refresh() -> None:
            completed_box[0] = await core.db.read(count_completed, list(resolved_ids))

        deadline = time.monotonic() + args.drain
        while time.monotonic() < deadline:
            await refresh()
            if drained():
                break
            await sleep(reactor, 0.5)
        drain_s = time.monotonic() - drain_began
        tasks = await core.db.read(callback_tasks, list(resolved_ids))
        sms_rows = await core.db.read(bench_sms_rows)
        result = summarise(load, processes, tasks, sms_rows, used, pids, pg,
                           busy_after - busy_before, cores, t1 - t0)
        result.update(seed_s=seeded, drain_s=drain_s, drained=drained(),
                      alive=alive_during and services.alive(),
                      tracebacks=sum(m.log.read_text(errors="replace").count("Traceback")
                                     for m in services.members))
        return result
    finally:
        if services is not None:
            services.stop()
        if core is not None:
            core.db.stopService()
        for listener in listeners:
            await listener.stopListening()
        for session in list(ami.sessions if ami is not None else ()):
            session.transport.abortConnection()
        database.drop()


# -- reading the outcome ------------------------------------------------------------------------

def backends_of_this_database(session) -> list[int]:
    """The PostgreSQL server processes serving this database (the server is shared)."""
    from sqlalchemy import text

    return list(session.scalars(text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")))


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


def summarise(load: Load, processes: int, tasks, sms_rows, used, pids, pg, busy, cores,
              elapsed) -> dict:
    from schemas.callbacks import CallbackState
    from schemas.enums import SmsState

    t0, t1 = load.window
    # SMS: what the SMSC accepted, against what was queued
    accepted_in_window = sum(1 for times in load.sms_accepted.values()
                             for t in times if t0 <= t < t1)
    sms_latency = [times[0] - load.sms_enqueued[d] for d, times in load.sms_accepted.items()
                   if d in load.sms_enqueued and t0 <= load.sms_enqueued[d] < t1]
    sms_dupes = sum(len(times) - 1 for d, times in load.sms_accepted.items()
                    if d in load.sms_enqueued and len(times) > 1)
    sms_lost = sum(1 for d in load.sms_enqueued if d not in load.sms_accepted)
    sent_states = {SmsState.SUBMITTED, SmsState.DELIVERED}
    sms_db_unsent = sum(1 for _, state, _ in sms_rows if state not in sent_states)
    sms_db_resent = sum(1 for _, _, n in sms_rows if n > 1)
    # callbacks: what AMI received, against the tasks the resolutions made
    by_task = {str(task_id): (appeal_id, state, window_start, attempts)
               for task_id, appeal_id, state, window_start, attempts in tasks}
    placed_in_window = sum(1 for task, times in load.originates.items() if task in by_task
                           for t in times if t0 <= t < t1)
    due_latency = [times[0] - by_task[task][2].timestamp()
                   for task, times in load.originates.items()
                   if task in by_task and t0 <= by_task[task][2].timestamp() < t1]
    cb_dupes = sum(len(times) - 1 for task, times in load.originates.items()
                   if task in by_task and len(times) > 1)
    cb_dupes_db = sum(1 for _, _, _, attempts in by_task.values() if attempts > 1)
    with_task = {appeal_id for appeal_id, *_ in by_task.values()}
    cb_lost = (sum(1 for appeal_id in load.resolved_ok if appeal_id not in with_task)
               + sum(1 for _, state, _, _ in by_task.values() if state is not CallbackState.COMPLETED))
    pg_cpu = sum(used.get(pid, 0.0) for pid in pg)
    service_cpu = [used[pid] / elapsed for pid in pids]
    mine = used[os.getpid()]
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
        "sms_errors": dict(load.sms_errors), "sms_duplicates": sms_dupes + sms_db_resent,
        "sms_lost": sms_lost + sms_db_unsent,
        "callbacks_s": placed_in_window / elapsed, "callbacks_resolved": len(load.resolved_ok),
        "callback_p50_ms": percentile(due_latency, 50) * 1000,
        "callback_p99_ms": percentile(due_latency, 99) * 1000,
        "callback_errors": {**dict(load.resolve_errors),
                            **{f"survey {k}": v for k, v in load.survey_errors.items()}},
        "callback_duplicates": cb_dupes + cb_dupes_db, "callback_lost": cb_lost,
        "surveys_completed": load.surveys_done,
        "service_cpu": service_cpu, "postgres_cpu": pg_cpu / elapsed,
        "loadgen_cpu": mine / elapsed,
        "others_cpu": max(0.0, busy - sum(used.values())) / elapsed, "cores": cores,
    }


# -- the report -------------------------------------------------------------------------------

def errors_text(row: dict) -> str:
    counts = Counter()
    for key in ("call_errors", "sms_errors", "callback_errors"):
        counts.update(row[key])
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "0"


def print_report(rows: list[dict], args) -> None:
    cores = rows[0]["cores"] if rows else os.cpu_count()
    print()
    print(f"Mixed load, {args.duration:g} s measured after {args.warmup:g} s of warm-up, per "
          f"phase; PostgreSQL; {cores} cores shared by everything below (services, PostgreSQL,")
    print("this load generator with its SMSC and AMI simulators): 3 processes on 2 cores cannot "
          "scale linearly.")
    print(f"calls: closed loop of {args.callers} callers, each command answered after "
          f"{args.think * 1000:g} ms +-50%; SMS offered {args.sms_rate:g}/s; resolutions "
          f"offered {args.callback_rate:g}/s; SMSC latency {args.smsc_latency * 1000:g} ms; "
          f"callback rings {args.ring:g} s.")
    print()
    header = ("| processes | calls/s | AGI gap p50 / p99 | call p50 / p99 | SMS/s | SMS queue→SMSC "
              "p50 / p99 | callbacks/s | due→Originate p50 / p99 | errors | duplicates | lost | "
              "CPU per service process | PostgreSQL CPU | load gen CPU |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        print(f"| {r['processes']} | {r['calls_s']:.1f} | {r['gap_p50_ms']:.1f} / "
              f"{r['gap_p99_ms']:.1f} ms | {r['call_p50_ms']:.0f} / {r['call_p99_ms']:.0f} ms | "
              f"{r['sms_s']:.1f} | {r['sms_p50_ms']:.0f} / {r['sms_p99_ms']:.0f} ms | "
              f"{r['callbacks_s']:.2f} | {r['callback_p50_ms'] / 1000:.2f} / "
              f"{r['callback_p99_ms'] / 1000:.2f} s | {errors_text(r)} | "
              f"{r['sms_duplicates'] + r['callback_duplicates']} | "
              f"{r['sms_lost'] + r['callback_lost']} | "
              f"{' + '.join(f'{c:.0%}' for c in r['service_cpu'])} | {r['postgres_cpu']:.0%} | "
              f"{r['loadgen_cpu']:.0%} |")
    if len(rows) == 2:
        one, other = rows
        ratios = ", ".join(f"{name} x{other[key] / one[key]:.2f}" for name, key in
                           (("calls/s", "calls_s"), ("SMS/s", "sms_s"),
                            ("callbacks/s", "callbacks_s")) if one[key])
        print()
        print(f"{other['processes']} vs {one['processes']} process(es) in the same run: {ratios}")
    print()
    for r in rows:
        print(f"{r['processes']} process(es): {r['calls']} calls completed; SMS queued "
              f"{r['sms_queued']}, duplicates {r['sms_duplicates']}, lost {r['sms_lost']}; "
              f"appeals resolved {r['callbacks_resolved']}, surveys completed "
              f"{r['surveys_completed']}, callback duplicates {r['callback_duplicates']}, lost "
              f"{r['callback_lost']}; drained in {r['drain_s']:.1f} s"
              f"{'' if r['drained'] else ' (NOT fully drained)'}; other processes on the "
              f"machine {r['others_cpu']:.0%} CPU; service tracebacks {r['tracebacks']}"
              f"{'' if r['alive'] else '; a service process DIED'}")
    print()
    print("AGI gap: from the caller's answer written to the next AGI command read (per command).")
    print("call: a call's duration minus the scripted waits (the sum of its gaps, the first")
    print("      command's included). SMS queue→SMSC: from the enqueue (its created_at) to the")
    print("      SMSC accepting the submit_sm. due→Originate: from the task's window start (the")
    print("      resolution: delay 0) to the Originate reaching the AMI peer; dispatchers poll every")
    print(f"      {args.callback_poll:g} s (callbacks.poll_s). callbacks/s: Originates placed in the "
          "window. CPU: share")
    print("      of one core per wall second. duplicates: SMS accepted twice or resent, tasks")
    print("      originated twice or with two attempts; lost: queued SMS never accepted or not")
    print("      submitted, resolved appeals whose callback is not completed after draining.")


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
    parser.add_argument("--smsc-latency", type=float, default=0.005,
                        help="seconds the SMSC takes to answer each PDU")
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
    try:
        for processes in (int(n) for n in args.processes.split(",")):
            print(f"phase: {processes} service process(es) ...", flush=True)
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
        print(f"failed: the services' logs are kept in {workdir}", file=sys.stderr, flush=True)
        raise
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def cli(argv=None) -> None:
    from twisted.internet import defer, task

    args = parse(argv)
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, args)))


if __name__ == "__main__":
    cli()
