"""The shared core of one process, built once from the configuration and handed to each
package's `makeService`: database, clock, calendar, the appeal service and its hooks.

`Core` is the typed seam between the core and the packages: what a package may take from it
is a field here, and each hook says what its participants are called with (`hotline.hooks`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from prometheus_client.core import GaugeMetricFamily

from hotline.ami.service import AMIService
from hotline.appeals import AppealRepository, AppealService, ResolveHook
from hotline.calendar_store import CalendarRefresher
from hotline.clock import SystemClock, WallClock
from hotline.config import Config
from hotline.db import Database, make_engine
from hotline.hooks import CallbackRequestedHook, SurveySmsHook
from hotline.interfaces import IReactor
from hotline.knowledge.guide import GuideSmsHook
from hotline.listening import ListeningPorts
from hotline.metrics import Metrics
from hotline.workdays import WorkCalendar


@dataclass
class Core:
    config: Config
    reactor: IReactor
    db: Database
    clock: WallClock
    zone: ZoneInfo
    calendar: WorkCalendar
    resolve_hook: ResolveHook
    appeals: AppealService
    ami: AMIService | None = None  # the manager link; None when [ami] enabled = false
    create_hook: ResolveHook | None = None  # participants in the transaction opening an appeal
    # Participants in the transaction that records a caller's callback request, e.g. the
    # "we will call you back" SMS.
    callback_requested_hook: CallbackRequestedHook | None = None
    # Participants that write an appeal's SMS satisfaction survey (the callback queue's
    # fallback). The SMS content layer joins it.
    survey_sms_hook: SurveySmsHook | None = None
    # Participants that queue a knowledge article's guide SMS sent from the desk.
    knowledge_guide_hook: GuideSmsHook = field(default_factory=GuideSmsHook)
    # The process's metrics registry (`/metrics`); None: nothing is counted.
    metrics: Metrics | None = None
    # The links /healthz reports, by name: fn() -> (up, since in reactor-clock seconds).
    # The core registers "ami"; the SMS gateway one "smsc:NAME" per bind.
    links: dict[str, Callable[[], tuple[bool, float]]] = field(default_factory=dict)
    # What an operator must act on though the service runs, by package: fn() -> the lines
    # /healthz lists under "warnings" (e.g. the IVR's prompts missing from Asterisk). Read on
    # the reactor at each request: memory only, no file or database read.
    warnings: dict[str, Callable[[], list[str]]] = field(default_factory=dict)
    # Brings the holiday lists loaded with `hotline calendar load` into `calendar` at start
    # and on a timer (a service the tree starts after the database); None: the library only.
    calendar_loader: CalendarRefresher | None = None
    # The port each listener got ([service] ports_file): packages wrap their endpoints in it.
    listening: ListeningPorts = field(default_factory=ListeningPorts)


def make_core(config: Config, reactor: IReactor, clock: WallClock | None = None) -> Core:
    db = Database(make_engine(config.database), reactor, threads=config.database.pool_threads)
    clock = clock or SystemClock()
    zone = ZoneInfo(config.service.timezone)
    calendar = WorkCalendar(config.calendar.extra_holidays, config.calendar.extra_workdays)
    calendar_loader = CalendarRefresher(
        calendar, db, timers=reactor, wall=clock, zone=zone,
        horizon_days=max([*config.appeals.deadline_working_days.values(),
                          config.workorders.handling_working_days
                          + config.workorders.max_extension_working_days]))
    calendar_loader.setName("calendar")
    hook, create_hook = ResolveHook(), ResolveHook()
    repository = AppealRepository(zone=zone, calendar=calendar,
                                  deadline_working_days=config.appeals.deadline_working_days,
                                  resolve_hook=hook, create_hook=create_hook,
                                  work_orders=config.workorders)
    ami = None
    if config.ami.enabled:
        ami = AMIService(config.ami.host, config.ami.port, config.ami.username, config.ami.secret,
                         auth=config.ami.auth, reactor=reactor, clock=reactor,
                         name=config.service.name)
        ami.setName("ami")
    core = Core(config=config, reactor=reactor, db=db, clock=clock, zone=zone,
                calendar=calendar, resolve_hook=hook,
                appeals=AppealService(db, repository, clock), ami=ami,
                create_hook=create_hook, callback_requested_hook=CallbackRequestedHook(),
                survey_sms_hook=SurveySmsHook(), metrics=make_metrics(db),
                calendar_loader=calendar_loader,
                listening=ListeningPorts(config.service.ports_file))
    if ami is not None:
        core.links["ami"] = lambda: (ami.up, ami.since)
    return core


def make_metrics(db: Database) -> Metrics:
    metrics = Metrics()
    pool = db.engine.pool

    def pool_use():
        checked_out = getattr(pool, "checkedout", None)
        if checked_out is not None:
            yield GaugeMetricFamily("hotline_db_pool_checked_out",
                                    "Database connections in use", value=checked_out())
        size = getattr(pool, "size", None)
        if size is not None:
            yield GaugeMetricFamily("hotline_db_pool_size", "Database pool size", value=size())
    metrics.add_collector(pool_use)
    return metrics
