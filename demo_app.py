"""`hotline demo`: the whole service on embedded defaults, with simulated traffic.

Wiring only, like twisted_app.tac (and built the same way, in the same order), plus: a demo
SQLite database migrated and seeded (catalogue, units, a demo agent and supervisor, a few
appeals), an AMI peer simulator on the AMI port for the service's AMI link, and a traffic
generator that places scripted calls through FastAGI, connects some of them to the demo
agent's interface over AMI (screen pop when the agent is logged in at /terminal), and sends
survey replies through the embedded SMSC simulator.

    python demo_app.py [--seconds N] [--interval S]

or, once registered in the `hotline.commands` entry-point group, `hotline demo`.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import random
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent

DEMO_AGENT = ("demo", "演示坐席", "agent", "demo-agent-2026", "PJSIP/1001")
# Colleagues in the simulator's queue (no web login), beside the demo agent.
DEMO_COLLEAGUES = (("PJSIP/1002", "演示同事甲"), ("PJSIP/1003", "演示同事乙"))
DEMO_SUPERVISOR = ("demo_sup", "演示班长", "supervisor", "demo-super-2026", None)
DEMO_ADMIN = ("demo_admin", "演示管理员", "admin", "demo-admin-2026", None)
DEMO_UNIT = "HALL"
# One unit officer per handling unit of config/units.example.toml: (unit code, username,
# name); they share one demo password. The month of history acts through them.
DEMO_OFFICERS = (("PS-LS", "ls_officer", "兰山派出所演示民警"),
                 ("PS-HD", "hd_officer", "河东派出所演示民警"),
                 ("PS-LZ", "lz_officer", "罗庄派出所演示民警"),
                 ("JJ-1", "jj_officer", "交警一大队演示民警"),
                 ("CRJ", "crj_officer", "出入境演示民警"),
                 ("HZ", "hz_officer", "户政科演示民警"))
DEMO_OFFICER_PASSWORD = "demo-unit-2026"
# Seconds a demo caller speaks into a voice message: the simulated channel sends no audio
# unless told (a recording of silence is no message, and makes no appeal).
DEMO_SPEECH_S = 5.0
# How long a demo caller waits in the queue with no member free before hanging up.
QUEUE_PATIENCE_S = 30.0
# How long a stopping demo waits for the service to record its callers' last queue events.
QUEUE_SETTLE_S = 5.0
DEMO_PHONES = ("13812345678", "13900001111", "13700002222", "15800003333", "18600004444",
               "13600005555", "15900006666")
DEMO_APPEALS = (  # kind, subject, resolve?
    ("consultation", "户口迁移需要哪些材料", True),
    ("help", "老人走失，请求协助寻找", False),
    ("complaint", "窗口办事等候时间过长", True),
    ("approval_progress", "身份证补办进度", False),
    ("dispute", "邻里停车纠纷", False),
    ("report", "小区附近疑似赌博窝点", False),
)

# The environment the demo sets unless the user already did.
DEMO_ENVIRONMENT = {
    "HOTLINE_DATABASE_URL": "sqlite:///var/demo.sqlite3",
    "HOTLINE_IVR_OPENING_TIME": "00:00",
    "HOTLINE_IVR_CLOSING_TIME": "23:59",
    "HOTLINE_IVR_OPEN_ON_HOLIDAYS": "true",
    # A short wait in the demo's queue, so that callers nobody takes leave a voice message.
    "HOTLINE_IVR_QUEUE_TIMEOUT_S": "20",
    "HOTLINE_AMI_ENABLED": "true",
    "HOTLINE_AMI_SECRET": "demo-ami-secret",
    "HOTLINE_AMI_AUTH": "md5",
    "HOTLINE_LOGGING_LEVEL": "warn",
}


def say(text: str) -> None:
    print(f"demo: {text}", flush=True)


def prepare_environment(environ=os.environ) -> None:
    for name, value in DEMO_ENVIRONMENT.items():
        environ.setdefault(name, value)
    url = environ["HOTLINE_DATABASE_URL"]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)


def demo_accounts() -> list[tuple[str, str, str, str, str | None, str]]:
    """(username, name, role, password, interface, unit code) of every demo login."""
    hall = [(*account, DEMO_UNIT) for account in (DEMO_AGENT, DEMO_SUPERVISOR, DEMO_ADMIN)]
    officers = [(username, name, "unit_officer", DEMO_OFFICER_PASSWORD, None, unit)
                for unit, username, name in DEMO_OFFICERS]
    return hall + officers


def seed(config) -> list[tuple[str, str, str]]:
    """Migrate, load the catalogue and units, add the demo accounts and a month of the
    hall's work (once); returns the logins to print as (role, username, password)."""
    from sqlalchemy import func, select

    import demo_history
    from hotline.agents_admin import add_agent
    from hotline.clock import SystemClock
    from hotline.db import Database, make_engine, upgrade
    from hotline.reference_data import load_catalogue, load_units, shipped_catalogue
    from schemas.enums import AgentRole
    from schemas.models import Agent, Appeal

    engine = make_engine(config.database)
    upgrade(engine, "head")
    db = Database(engine, reactor=None, threads=1)
    source = config.appeals.catalogue_file
    text = Path(source).read_text("utf-8") if source else shipped_catalogue()
    db.write_now(load_catalogue, text, source or "shipped catalogue")
    db.write_now(load_units, ROOT / "config" / "units.example.toml")
    logins = []
    for username, name, role, password, interface, unit in demo_accounts():
        exists = db.read_now(lambda s, username=username: s.scalar(
            select(Agent.id).where(Agent.username == username)))
        if exists is None:
            db.write_now(add_agent, username=username, display_name=name, role=AgentRole(role),
                         password=password, unit_code=unit, interface=interface,
                         actor="demo", now=SystemClock().now())
            logins.append((role, username, password))
        else:
            logins.append((role, username, f"{password} (unless changed since the first demo)"))
    if not db.read_now(lambda s: s.scalar(select(func.count()).select_from(Appeal))):
        summary = demo_history.seed_history(
            db, config, now=SystemClock().now(), hall_actor=DEMO_AGENT[0],
            supervisor=DEMO_SUPERVISOR[0],
            officers={unit: username for unit, username, _ in DEMO_OFFICERS})
        say(f"a month of history: {summary}")
    engine.dispose()
    return logins


class Traffic:
    """Scripted callers, agent connections and survey replies, one step per tick."""

    def __init__(self, reactor, core, sim, smsc, interface: str, queue: str):
        self.reactor, self.core, self.sim, self.smsc = reactor, core, sim, smsc
        self.interface, self.queue = interface, queue
        self.case_numbers: list[str] = []
        self.resolved_phones: list[str] = []
        self.ticks = itertools.count()
        self.random = random.Random(9600110)
        self.calls = 0
        self.colleagues_joined = False  # the colleagues join at the first queued call
        # Queue waits and calls with an agent, each with what ends it at once (the stop).
        self.in_queue: dict[int, Callable[[], None]] = {}
        # What a Redirect of a demo caller's channel does to its scripted AGI, by Uniqueid.
        self.redirects: dict[str, Callable[[], object]] = {}
        if sim is not None:
            sim.on_redirect.append(self._redirected)
        self.legs = itertools.count(1)

    async def seed_appeals(self) -> None:
        from sqlalchemy import select

        from hotline.appeals.records import NewAppeal
        from schemas.enums import AppealChannel, AppealKind
        from schemas.models import Appeal, Unit

        appeals = self.core.appeals
        # The callers' own appeals (the month of history has citizens of its own).
        existing = await self.core.db.read(lambda s: list(s.execute(
            select(Appeal.case_number, Appeal.citizen_phone, Appeal.status)
            .where(Appeal.citizen_phone.in_(DEMO_PHONES))).all()))
        if existing:
            self.case_numbers = [row[0] for row in existing]
            self.resolved_phones = [row[1] for row in existing if str(row[2]) == "resolved"]
            return
        unit = await self.core.db.read(
            lambda s: s.scalar(select(Unit.id).where(Unit.code == DEMO_UNIT)))
        for (kind, subject, resolve), phone in zip(DEMO_APPEALS, DEMO_PHONES, strict=False):
            record = await appeals.create(NewAppeal(channel=AppealChannel.PHONE,
                                                    kind=AppealKind(kind), subject=subject,
                                                    citizen_phone=phone,
                                                    body=f"演示诉求：{subject}"), actor="demo")
            self.case_numbers.append(record.case_number)
            if resolve or kind in ("help", "dispute"):
                await appeals.assign(record.id, unit, actor="demo")
                await appeals.start(record.id, actor="demo")
            if resolve:
                await appeals.resolve(record.id, "已答复来电人，问题已解决", actor="demo")
                self.resolved_phones.append(phone)
        say(f"{len(self.case_numbers)} demo appeals: {', '.join(self.case_numbers)}")

    def tick(self) -> None:
        from twisted.internet.defer import Deferred

        n = next(self.ticks)
        Deferred.fromCoroutine(self.call(n)).addErrback(self._failed, "call")
        if self.smsc is not None and self.resolved_phones and n % 4 == 3:
            phone = self.random.choice(self.resolved_phones)
            answer = self.random.choice("1123")
            say(f"survey reply {answer!r} from {phone[:3]}****{phone[-4:]} via the SMSC simulator")
            self.smsc.inject_mo(phone, self.core.config.sms.sender, answer).addErrback(
                self._failed, "survey reply")

    def _failed(self, failure, what: str) -> None:
        say(f"{what} failed: {failure.getErrorMessage()}")

    def script(self, n: int) -> tuple[str, str]:
        phone = DEMO_PHONES[n % len(DEMO_PHONES)] if n % 3 else f"1350000{n % 10000:04d}"
        choices = ["_ 1", "_ 2", "_ 3", "_ 0"]
        if self.case_numbers:
            case = self.case_numbers[n % len(self.case_numbers)]
            choices += [f"_ 4 {case}#", f"_ 4 {case}# _ 0"]
        return phone, choices[n % len(choices)]

    async def call(self, n: int) -> None:
        from ivr.simulator.asterisk import CallSetup
        from ivr.simulator.client import simulate_call

        phone, digits = self.script(n)
        config = self.core.config.agi
        setup = CallSetup(callerid=phone, calleridname="Demo Caller", language="zh",
                          uniqueid=f"{int(self.reactor.seconds())}.{n}",
                          channel=f"Local/9600110@hotline-{n:08x};2", speech_s=DEMO_SPEECH_S,
                          queue=self.queue_model(n) if self.sim is not None else None)
        port = self.core.listening.ports.get("agi", config.port)  # [agi] port 0: the one it got
        heard = await simulate_call(self.reactor, config.host, port, "hotline", digits, setup)
        self.calls += 1
        lines = [str(h) for h in heard]
        waits = [h.value for h in heard if h.kind == "queue-wait"]
        message = any(h.kind == "record" for h in heard)
        say(f"call {n + 1} from {phone[:3]}****{phone[-4:]} pressed {digits.strip()!r}: "
            f"{len(lines)} steps"
            f"{', queued: ' + waits[0] if waits else ''}"
            f"{', left a voice message' if message else ''}")

    def queue_model(self, n: int):
        """The agents' queue as Asterisk runs it, for the scripted caller's Queue(): the
        caller joins the AMI simulator's queue (the hall's live state and the screen pop
        come from its events, HOTLINE_CALL_ID on them as manager.conf's channelvars put it)
        and waits until a member takes the call (CONNECTED once the agent hangs up), they
        hang up waiting (QueueCallerAbandon), or the queue's timeout (TIMEOUT: a voice
        message follows)."""
        from twisted.internet.defer import Deferred

        from ivr.simulator.asterisk import QueueResult

        def enter(entry) -> Deferred:
            ended: Deferred = Deferred()
            caller = self.sim.new_channel(
                f"PJSIP/trunk-{n:08x}", caller_id_num=entry.callerid,
                caller_id_name="Demo Caller",
                variables={"HOTLINE_CALL_ID": entry.variables.get("HOTLINE_CALL_ID", "")})
            self.sim.queue_caller_join(entry.queue, caller)
            if not self.colleagues_joined:
                self.colleagues_joined = True
                for interface, name in DEMO_COLLEAGUES:
                    self.sim.add_member(entry.queue, interface, name, wrapuptime=10)
            patience = QUEUE_PATIENCE_S if n % 3 != 2 else 6.0  # one caller in three gives up
            timeout = entry.timeout_s if entry.timeout_s is not None else float("inf")
            give_up_at = self.reactor.seconds() + min(patience, timeout)

            def done(result: QueueResult) -> None:
                self.in_queue.pop(n, None)
                if not ended.called:
                    ended.callback(result)

            def caller_leaves() -> None:  # the demo stops: its callers hang up
                self._abandon(entry.queue, caller)
                done(QueueResult(caller_hung_up=True))
            self.in_queue[n] = caller_leaves
            # A three-way call from the desk moves the caller out of the queue's bridge: the
            # AGI's Queue() ends as Asterisk ends it (0, then the channel leaves the AGI).
            self.redirects[caller.uniqueid] = lambda: ended.called or ended.callback(
                QueueResult(redirected=True))

            def offer() -> None:
                """As app_queue would: to a member it may offer a call to now (not paused,
                phone free, out of wrap-up), the demo agent first on every other call once
                they have joined the queue at /terminal; with nobody free the caller waits."""
                colleagues = [interface for interface, _ in DEMO_COLLEAGUES]
                order = [self.interface, *colleagues] if n % 2 == 0 else [*colleagues,
                                                                          self.interface]
                free = [i for i in order if self.sim.member_available(entry.queue, i)]
                if ended.called:
                    return
                if free:
                    self.connect(n, entry.queue, caller, free[0], done)
                elif self.reactor.seconds() < give_up_at:
                    self.reactor.callLater(2, offer)
                elif patience <= timeout:
                    self._abandon(entry.queue, caller)
                    done(QueueResult(caller_hung_up=True))
                else:
                    self.sim.queue_caller_leave(entry.queue, caller)
                    done(QueueResult("TIMEOUT"))

            self.reactor.callLater(2, offer)
            return ended
        return enter

    def _abandon(self, queue: str, caller) -> None:
        self.sim.queue_caller_abandon(queue, caller)
        self.sim.hangup_channel(caller)
        say("a caller hung up while waiting in the queue (QueueCallerAbandon)")

    def _redirected(self, channel, context: str, exten: str) -> None:
        moved = self.redirects.pop(channel.uniqueid, None)
        if moved is not None:
            say(f"a caller moved to {context} {exten} (three-way call)")
            moved()

    def stop(self) -> None:
        """Every caller still waiting hangs up, every call with an agent ends now."""
        for end in list(self.in_queue.values()):
            end()

    async def settled(self, within_s: float) -> None:
        """Until the service has recorded the end of every passage the demo began (its AMI
        events are on their way when stop() returns), for at most `within_s`."""
        from sqlalchemy import func, select
        from twisted.internet.task import deferLater

        from schemas.live import QueueCall

        def open_passages(session) -> int:
            return session.scalar(select(func.count()).select_from(QueueCall).where(
                QueueCall.outcome.in_(("waiting", "answered")),
                QueueCall.call_id.is_not(None), QueueCall.call_id.not_like("hist-%")))

        deadline = self.reactor.seconds() + within_s
        while await self.core.db.read(open_passages) and self.reactor.seconds() < deadline:
            await deferLater(self.reactor, 0.2)

    def connect(self, n: int, queue: str, caller, interface: str, done) -> None:
        from hotline.ami.simulator import DEVICE_INUSE, DEVICE_NOT_INUSE
        from ivr.simulator.asterisk import QueueResult

        agent = self.sim.new_channel(f"{interface}-{next(self.legs):08x}",
                                     context="from-internal")
        # The member's phone rings and is answered: in use (no second call offered to it)
        # until the agent hangs up, then wrap-up.
        self.sim.set_device_state(interface, DEVICE_INUSE)
        self.sim.agent_connect(queue, caller, agent, interface, ring_time=2)
        if interface == self.interface:
            say(f"AgentConnect to {interface} (screen pop if {DEMO_AGENT[0]} is at /terminal)")
        else:
            say(f"AgentConnect to {interface}, a colleague")

        def complete() -> None:
            if timer.active():
                timer.cancel()
            self.sim.agent_complete(queue, caller, agent, interface, reason="agent")
            self.sim.hangup_channel(agent)
            self.sim.set_device_state(interface, DEVICE_NOT_INUSE)
            done(QueueResult(member=interface))  # the agent hung up first: Queue returns -1
            # The service ends the AGI and hangs the caller's channel up.
            self.reactor.callLater(0.5, self.sim.hangup_channel, caller)

        timer = self.reactor.callLater(15 + self.random.randrange(10), complete)
        self.in_queue[n] = complete


def build(reactor, config):
    """The service exactly as twisted_app.tac builds it (service_tree.build)."""
    import service_tree
    from hotline.core import make_core

    core = make_core(config, reactor)
    tree = service_tree.build(core)
    return core, tree.root, tree.sms


async def run(reactor, args, config, logins) -> None:
    from twisted.internet import task
    from twisted.internet.defer import Deferred
    from twisted.logger import globalLogBeginner

    from hotline.ami.simulator import AsteriskManagerSimulator
    from hotline.logs import make_observer

    globalLogBeginner.beginLoggingTo([make_observer(config.logging)],
                                     redirectStandardIO=False)
    sim = None
    if config.ami.enabled:
        sim = AsteriskManagerSimulator(reactor, users={config.ami.username: config.ami.secret},
                                       queues=(config.agi.queue,))
        listening = reactor.listenTCP(config.ami.port, sim, interface=config.ami.host)
        # [ami] port 0: the simulator takes any free port and the service dials that one.
        config = dataclasses.replace(config, ami=dataclasses.replace(
            config.ami, port=listening.getHost().port))
    core, top, sms = build(reactor, config)
    top.startService()
    reactor.addSystemEventTrigger("before", "shutdown", top.stopService)

    ports = core.listening.ports  # the ports they got, [web] port 0 and the like included
    web = f"http://{config.web.host}:{ports.get('web', config.web.port)}"
    say(f"the hotline is at {web} (FastAGI {config.agi.host}:"
        f"{ports.get('agi', config.agi.port)}, AMI simulator {config.ami.host}:{config.ami.port})")
    for role, username, password in logins:
        say(f"demo login ({role}): {username} / {password}")
    say(f"log in as {DEMO_AGENT[0]} at {web}/terminal and join the queue to see screen pops")

    traffic = Traffic(reactor, core, sim, getattr(sms, "simulator", None),
                      DEMO_AGENT[4], config.agi.queue)
    await traffic.seed_appeals()
    loop = task.LoopingCall(traffic.tick)
    loop.clock = reactor
    loop.start(args.interval, now=True).addErrback(traffic._failed, "traffic")

    done = Deferred()
    if args.seconds:
        reactor.callLater(args.seconds, done.callback, None)
    await done
    if loop.running:
        loop.stop()
    traffic.stop()
    await traffic.settled(QUEUE_SETTLE_S)
    say(f"stopping after {args.seconds:g} s: {traffic.calls} calls")


def demo(args: argparse.Namespace, config_path: str | None = None) -> int:
    prepare_environment()
    from twisted.internet import task
    from twisted.internet.defer import Deferred

    from hotline.config import ConfigError, load_config

    try:
        config = load_config(config_path)
    except ConfigError as error:
        print(f"hotline: configuration error: {error}", file=sys.stderr)
        return 2
    logins = seed(config)
    task.react(lambda reactor: Deferred.fromCoroutine(run(reactor, args, config, logins)))
    return 0  # not reached: react exits


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=0,
                        help="stop after this many seconds (default: run until Ctrl-C)")
    parser.add_argument("--interval", type=float, default=3.0,
                        help="seconds between simulated calls (default 3)")


def register(commands) -> None:
    """`hotline demo`, through the `hotline.commands` entry-point group."""
    parser = commands.add_parser("demo", help="the service with simulated calls, SMS and "
                                              "a demo login (http://127.0.0.1:8080)")
    add_arguments(parser)
    parser.set_defaults(handler=lambda config, args: demo(args, args.config))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo_app.py", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="TOML configuration (default: $HOTLINE_CONFIG)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return demo(args, args.config)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
