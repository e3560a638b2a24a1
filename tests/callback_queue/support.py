"""A callback queue on a test database: the appeal core with the resolve participant, the
AMI client linked in memory to the simulated Asterisk, a task.Clock for timers and a wall
clock the test sets by hand (the two are never mixed on one code path)."""

from __future__ import annotations

import datetime as dt
import queue
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

from sqlalchemy import select
from twisted.internet.task import Clock
from twisted.python.failure import Failure

import callback_queue
from callback_queue.config import CallbacksConfig
from hotline.ami.service import AMIService
from hotline.ami.simulator import AsteriskManagerSimulator
from hotline.appeals import AppealRepository, ResolveHook
from hotline.config import AppealsConfig, Config
from hotline.workdays import WorkCalendar
from schemas.callbacks import CallbackAttempt, CallbackTask
from schemas.enums import AgentRole, AppealKind
from schemas.models import Agent
from schemas.sms import SmsMessage
from tests.ami.support import SimulatorEndpoint
from tests.support.appeals import SHANGHAI, add_unit, new_appeal, utc

# Monday 30 November 2026, 10:00 in Shanghai: a working day, inside calling hours.
MONDAY_10 = utc(2026, 11, 30, 2, 0)
CITIZEN = "13812345678"


class WallClock:
    def __init__(self, now: dt.datetime) -> None:
        self.current = now

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, **delta) -> None:
        self.current += dt.timedelta(**delta)


@dataclass
class World:
    db: object
    pump: object
    wall: WallClock
    clock: Clock
    sim: AsteriskManagerSimulator
    endpoint: SimulatorEndpoint
    ami: AMIService
    appeals: object
    queue: callback_queue.CallbackQueue
    dispatcher: callback_queue.CallbackDispatcher
    hook: ResolveHook
    unit_id: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def repo(self):
        return self.queue.repository

    # Appeals ------------------------------------------------------------------------------

    def resolved_appeal(self, *, kind=AppealKind.HELP, phone=CITIZEN, at=None,
                        agent_id=None) -> int:
        at = at or self.wall.now() - dt.timedelta(hours=3)
        repo = self.appeals

        def work(session):
            if self.unit_id is None:
                self.unit_id = add_unit(session)
            appeal = repo.create(session, new_appeal(kind=kind, citizen_phone=phone,
                                                     agent_id=agent_id), actor="agent:li", now=at)
            repo.assign(session, appeal.id, self.unit_id, actor="agent:li", now=at)
            repo.start(session, appeal.id, actor="agent:li", now=at)
            repo.resolve(session, appeal.id, "已处理完毕", actor="agent:li", now=at)
            return appeal.id
        return self.db.write_now(work)

    def add_agent(self, username="li", interface="PJSIP/1001") -> int:
        def work(session):
            agent = Agent(username=username, display_name=username, role=AgentRole.AGENT,
                          interface=interface, active=True, created_at=self.wall.now())
            session.add(agent)
            session.flush()
            return agent.id
        return self.db.write_now(work)

    def task_for(self, appeal_id: int):
        tasks = self.db.read_now(self.repo.for_appeal, appeal_id)
        return tasks[-1]

    def task(self, task_id: int):
        return self.db.read_now(self.repo.get, task_id)

    def attempts(self, task_id: int):
        return self.db.read_now(self.repo.attempts, task_id)

    def sms(self):
        return self.db.read_now(lambda s: [(m.destination, m.appeal_id, m.kind.value, m.state.value,
                                            m.lane, m.dedupe_key, m.text)
                                           for m in s.scalars(select(SmsMessage).order_by(SmsMessage.id))])

    def originates(self):
        return [a for a in self.sim.actions_received if a.get("Action") == "Originate"]

    # Driving the dispatcher ---------------------------------------------------------------

    def tick(self, advance: float = 0.0):
        """One poll: claims written and Originates delivered to the simulator."""
        claims = self.wait(self.dispatcher.tick(), advance=advance)
        self.endpoint.flush()
        return claims

    def settle(self, seconds: float = 1.0, wait: bool = True):
        """Let the simulated calls end and (`wait`) the dispatcher write their results."""
        self.clock.advance(seconds)
        self.endpoint.flush()
        if wait:
            self.pump.wait(self.dispatcher.idle())

    def wait(self, d, timeout: float = 20.0, advance: float = 0.0):
        """Wait for a Deferred whose work goes through both AMI and the database (the
        simulator's scripted delays must be 0: the task.Clock is not advanced here)."""
        results = []
        d.addBoth(results.append)
        deadline = time.monotonic() + timeout
        while not results and time.monotonic() < deadline:
            self.endpoint.flush()
            if results:
                break
            try:
                function, args, kwargs = self.pump._calls.get(timeout=0.01)
            except queue.Empty:
                if advance:  # nothing from the threads: let simulated time pass
                    self.clock.advance(advance)
                continue
            function(*args, **kwargs)
        assert results, "deferred never fired"
        if isinstance(results[0], Failure):
            results[0].raiseException()
        return results[0]


def make_world(database, pumped_reactor, now=MONDAY_10, **config) -> World:
    config = CallbacksConfig(**config)
    wall = WallClock(now)
    clock = Clock()
    sim = AsteriskManagerSimulator(clock, wall=lambda: now.timestamp() + clock.seconds())
    endpoint = SimulatorEndpoint(sim, clock)
    ami = AMIService("127.0.0.1", 5038, "hotline", "secret", clock=clock, endpoint=endpoint,
                     ping_interval=None, instance="t")
    ami.startService()
    endpoint.flush()
    hook, create_hook = ResolveHook(), ResolveHook()
    appeals = AppealRepository(zone=SHANGHAI, calendar=WorkCalendar(),
                               deadline_working_days=AppealsConfig().deadline_working_days,
                               resolve_hook=hook, create_hook=create_hook)
    core = SimpleNamespace(config=Config(), calendar=WorkCalendar(), zone=SHANGHAI,
                           appeals=SimpleNamespace(repository=appeals), db=database, clock=wall,
                           reactor=clock, resolve_hook=hook, create_hook=create_hook, ami=ami,
                           callback_requested_hook=None, survey_sms_hook=None, metrics=None)
    top = callback_queue.makeService(core, ami, config, owner="test-dispatcher")
    return World(db=database, pump=pumped_reactor, wall=wall, clock=clock, sim=sim,
                 endpoint=endpoint, ami=ami, appeals=appeals, queue=top.queue,
                 dispatcher=top.dispatcher, hook=hook)


def all_tasks(db):
    return db.read_now(lambda s: [(t.id, t.state.value) for t in
                                  s.scalars(select(CallbackTask).order_by(CallbackTask.id))])


def all_attempts(db):
    return db.read_now(lambda s: [(a.task_id, a.owner, a.started_at, a.ended_at,
                                   a.result.value if a.result else None)
                                  for a in s.scalars(select(CallbackAttempt).order_by(CallbackAttempt.id))])
