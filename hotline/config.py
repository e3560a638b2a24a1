"""Configuration: one TOML file, every key overridable from the environment.

The file is named by `HOTLINE_CONFIG` (none: embedded defaults). Each key `key` of section
`[section]` can be overridden by the environment variable `HOTLINE_<SECTION>_<KEY>`
(`HOTLINE_DATABASE_URL`, `HOTLINE_AGI_PORT`, `HOTLINE_WEB_PORT`, ...). Everything is validated
here, once, into frozen dataclasses that are passed explicitly to whoever needs them; a bad
value stops start-up with a `ConfigError` that names the key and says what was expected.
How a section is declared and read is `hotline.config_section`'s, for the core's sections
here and the packages' alike.

An unknown `HOTLINE_*` variable is refused like an unknown key in the file: a misspelt
`HOTLINE_AUTH_SECURE_COOKIE` must stop start-up, not leave cookies insecure. The only
`HOTLINE_*` variables that are not settings are listed in `NOT_SETTINGS`, plus one
`HOTLINE_SMS_BIND_<NAME>_PASSWORD` (and `..._<NAME>_SMG_PASSWORD`, an SGIP bind's SMG
login) per configured `[sms.binds.NAME]`.

The database, one rule for the service, every `hotline` command and `make` (which sets
nothing): `HOTLINE_DATABASE_URL` if it is set, else `[database] url` of the file, else
`sqlite:///var/hotline.sqlite3`. A relative SQLite path is relative to `PROJECT_DIR` (the
checkout that holds `twisted_app.tac`, where `make run` keeps `var/`), never to the current
directory: a command run from anywhere opens the file the service opens.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import os
import re
import secrets
import tomllib
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotline.allow_list import LOOPBACK, parse_networks
from hotline.config_section import (
    ConfigError,
    check_bounds,
    env_name,
    load_section,
    parse_hhmm,
    parse_time_range,
    setting,
)
from hotline.recordings.config import RecordingsConfig

# Relative SQLite paths are resolved here (see the module docstring).
PROJECT_DIR = Path(__file__).resolve().parent.parent

# The HOTLINE_* variables that are not configuration keys, and who reads them. Anything else
# named HOTLINE_* must be a HOTLINE_<SECTION>_<KEY> setting (or a bind password, below).
NOT_SETTINGS: Mapping[str, str] = MappingProxyType({
    "HOTLINE_CONFIG": "the configuration file (load_config)",
    "HOTLINE_NEW_AGENT_PASSWORD": "the password `hotline agents add` / `reset-password` sets",
    "HOTLINE_TEST_PG_URL": "the PostgreSQL server the test suite also runs on (tests/conftest.py)",
    "HOTLINE_BENCH_PG_URL": "the PostgreSQL server of the benchmarks (bench/)",
})
# A bind's SMSC password, kept out of the file (sms_gateway.service.bind_settings reads it).
BIND_PASSWORD = re.compile(r"HOTLINE_SMS_BIND_(.+)_PASSWORD")


@dataclasses.dataclass(frozen=True)
class ServiceConfig:
    name: str = setting("hotline", doc="process name, shown in logs and /healthz")
    timezone: str = setting("Asia/Shanghai", doc="where business rules are evaluated")
    hotline_number: str = setting("9600110")
    ports_file: str = setting("", doc="written with the port each listener got (JSON), for a "
                                      "process started on port 0; empty: none")

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
            raise ConfigError(f"service.timezone must be a time zone name such as "
                              f"Asia/Shanghai, got {self.timezone!r}") from None


@dataclasses.dataclass(frozen=True)
class DatabaseConfig:
    url: str = setting("sqlite:///var/hotline.sqlite3",
                       doc="SQLAlchemy URL; a relative SQLite path is under the project directory")
    pool_threads: int = setting(8, min=1, max=64, doc="threads that run blocking sessions")
    sqlite_busy_timeout_ms: int = setting(10_000, min=0, max=600_000)
    echo: bool = setting(False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", _anchored(self.url))


def _anchored(url: str) -> str:
    """`url` with a relative SQLite path made absolute under `PROJECT_DIR`: the rule that
    keeps the service and a command run from another directory on one database file."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        raise ConfigError("database.url must be a database URL such as "
                          "sqlite:///var/hotline.sqlite3 or postgresql+psycopg://user@host/db"
                          ) from None
    path = parsed.database
    if (parsed.get_backend_name() != "sqlite" or not path or path == ":memory:"
            or path.startswith("file:") or Path(path).is_absolute()):
        return url
    return parsed.set(database=str(PROJECT_DIR / path)).render_as_string(hide_password=False)


@dataclasses.dataclass(frozen=True)
class WebConfig:
    host: str = setting("127.0.0.1")
    port: int = setting(8080, min=0, max=65535)


@dataclasses.dataclass(frozen=True)
class AgiConfig:
    host: str = setting("127.0.0.1")
    port: int = setting(4573, min=0, max=65535)
    allow: tuple[str, ...] = setting(LOOPBACK, doc="Asterisk addresses or networks allowed to "
                                     "connect (10.0.0.5, 10.0.0.0/24); 0.0.0.0/0 and ::/0 allow any")
    command_timeout_s: float = setting(30.0, min=0.1, max=3600)
    backend_timeout_s: float = setting(2.0, min=0.05, max=60, doc="slow lookup -> apology and agent")
    record_timeout_s: float = setting(10.0, min=0.05, max=300, doc="a call's session ends once its "
                                      "record is stored, or after this long")
    queue: str = setting("hotline", doc="the Asterisk queue agents answer")
    queue_wrapup_s: int = setting(15, min=0, max=3600,
                                  doc="that queue's wrapuptime in queues.conf (Asterisk's "
                                      "events carry only a member's own): agents shown in "
                                      "wrap-up, no queue callback into it")
    drain_s: float = setting(30.0, min=0, max=3600, doc="at stop: how long calls in progress "
                                                        "may go on before they are closed")

    def __post_init__(self) -> None:
        if not self.allow:
            raise ConfigError("agi.allow is empty, so no Asterisk could connect: list the "
                              "Asterisk servers' addresses (or 0.0.0.0/0 and ::/0 to allow any)")
        try:
            parse_networks(self.allow, key="agi.allow")
        except ValueError as error:
            raise ConfigError(str(error)) from None


MIN_SECRET_LENGTH = 32
MIN_TOKEN_LENGTH = 24


@dataclasses.dataclass(frozen=True)
class AuthSection:
    """The web application's sessions, lockout and API token: the one definition of these
    settings (`agents.config.AuthConfig` is this class), with the web app's rules for the
    secrets' lengths, so that a short key is refused whoever builds the settings."""

    secret_key: str = setting("", doc="signs sessions and CSRF tokens, the same on every process "
                                      f"(HOTLINE_AUTH_SECRET_KEY, {MIN_SECRET_LENGTH}+ "
                                      "characters); empty: the key kept in secret_key_file")
    secret_key_file: str = setting("var/secret_key",
                                   doc="with no secret_key: the signing key is generated into "
                                       "this file (mode 0600) on first start and reused after "
                                       "(relative: to the checkout); empty: random per process")
    session_lifetime_s: int = setting(8 * 3600, min=1, max=7 * 86400,
                                      doc="a session ends this long after login (a hall shift)")
    session_idle_s: int = setting(30 * 60, min=1, max=86400,
                                  doc="...or after this long without a request")
    lockout_failures: int = setting(5, min=1, max=100,
                                    doc="failed logins within lockout_window_s that lock a username")
    lockout_window_s: int = setting(15 * 60, min=1, max=86400)
    lockout_s: int = setting(15 * 60, min=1, max=86400,
                             doc="a locked username stays locked this long after its last failure")
    login_attempts_per_minute: int = setting(20, min=1, max=10000,
                                             doc="login attempts per client address, per "
                                                 "process; more answer 429 unchecked")
    login_attempts_per_username_per_minute: int = setting(
        10, min=1, max=10000, doc="login attempts per username, per process; more answer 429 "
                                  "unchecked")
    api_token: str = setting("", doc=f"bearer token for /api/v1 (HOTLINE_AUTH_API_TOKEN, "
                                     f"{MIN_TOKEN_LENGTH}+ characters); empty: the API refuses "
                                     "every request")
    secure_cookies: bool = setting(False, doc="mark cookies Secure: true when served over HTTPS")

    def __post_init__(self) -> None:
        check_bounds(self, "auth")
        if self.secret_key and len(self.secret_key) < MIN_SECRET_LENGTH:
            raise ConfigError(f"HOTLINE_AUTH_SECRET_KEY must be at least {MIN_SECRET_LENGTH} "
                              f"characters")
        if self.api_token and len(self.api_token) < MIN_TOKEN_LENGTH:
            raise ConfigError(f"HOTLINE_AUTH_API_TOKEN must be at least {MIN_TOKEN_LENGTH} "
                              f"characters")

    @property
    def signing_key(self) -> str:
        """The key sessions are signed with: `secret_key`, or this process's own."""
        return self.secret_key or _PROCESS_KEY


_PROCESS_KEY = secrets.token_urlsafe(48)


# app_queue.c's options that take no argument (b, B, F, m take one, and a comma in it
# would end the options).
QUEUE_OPTION_LETTERS = "CcdhHiIkKnrRtTxX"


@dataclasses.dataclass(frozen=True)
class IvrConfig:
    opening_time: str = setting("08:00", doc="agents answer from (Asia/Shanghai, HH:MM)")
    closing_time: str = setting("21:00", doc="agents answer until (after opening_time; 24:00: "
                                             "until midnight)")
    open_on_holidays: bool = setting(False, doc="agents answer on public holidays and weekends")
    prompt_prefix: str = setting("hotline/", doc="prompt file names in Asterisk's sounds dir")
    menu_timeout_ms: int = setting(5000, min=1000, max=30000)
    case_number_timeout_ms: int = setting(8000, min=1000, max=60000)
    callback_offer_waiting: int = setting(5, min=0, max=1000,
                                          doc="callers waiting before a callback is offered; 0 never")
    sounds_dir: str = setting("", doc="Asterisk's sounds directory as this host sees it "
                                      "(/var/lib/asterisk/sounds): `hotline prompts build` "
                                      "and `units load` write there, the service checks the "
                                      "prompts are; "
                                      "empty: not visible here, nothing checked")
    voice_message_dir: str = setting("/var/spool/asterisk/hotline",
                                     doc="where Asterisk writes voice messages (its filesystem); "
                                         "checked where this host sees its parent")
    voice_message_dir_shared: bool = setting(False, doc="voice_message_dir is this host's too "
                                                        "(a shared mount): always checked")
    voice_message_max_s: int = setting(120, min=10, max=600)
    voice_message_silence_s: int = setting(5, min=1, max=60)
    queue_timeout_s: int = setting(600, min=1, max=86400,
                                   doc="longest wait in the agents' queue (Queue's timeout); "
                                       "then a voice message")
    queue_options: str = setting("t", doc="Queue() options, letters without arguments "
                                          f"({QUEUE_OPTION_LETTERS}); t: agents may transfer")

    def __post_init__(self) -> None:
        self.hours  # noqa: B018 -- refuses a bad pair at load time
        if set(self.queue_options) - set(QUEUE_OPTION_LETTERS):
            raise ConfigError(f"ivr.queue_options may only hold Queue() options without "
                              f"arguments ({QUEUE_OPTION_LETTERS}), got {self.queue_options!r}")

    @property
    def hours(self) -> tuple[int, int]:
        """The opening hours in minutes after midnight, e.g. (480, 1260): one span within one
        day, read like `[callbacks] calling_hours` ('00:00' to '24:00' is the whole day)."""
        parse_hhmm(self.opening_time, "ivr.opening_time")
        try:
            return parse_time_range(f"{self.opening_time}-{self.closing_time}",
                                    "ivr.closing_time", crosses_midnight=False)
        except ConfigError:
            # The opening time is good (above): the closing time is what is wrong.
            raise ConfigError(f"ivr.closing_time must be a time HH:MM after ivr.opening_time "
                              f"({self.opening_time}), 24:00 at the latest, got "
                              f"{self.closing_time!r}") from None

    @property
    def opening(self) -> dt.time:
        return dt.time(self.hours[0] // 60, self.hours[0] % 60)

    @property
    def closing(self) -> dt.time:
        """24:00 reads 00:00 here (a `time` has no 24:00); `hours` says it unambiguously."""
        end = self.hours[1] % (24 * 60)
        return dt.time(end // 60, end % 60)


@dataclasses.dataclass(frozen=True)
class AmiConfig:
    host: str = setting("127.0.0.1")
    port: int = setting(5038, min=0, max=65535)
    username: str = setting("hotline")
    secret: str = setting("", doc="from the environment in production: HOTLINE_AMI_SECRET")
    auth: str = setting("md5", choices=("md5", "plain"))
    enabled: bool = setting(True)


@dataclasses.dataclass(frozen=True)
class SmsConfig:
    sender: str = setting("9600110", doc="source address of every message")
    max_parts: int = setting(6, min=1, max=20, doc="longest message, in SMS parts")
    dispatch_batch: int = setting(200, min=1, max=10000, doc="messages claimed per round")
    max_in_flight: int = setting(1000, min=1, max=100000, doc="messages submitted, not answered")
    lease_s: float = setting(120.0, min=5, max=3600,
                             doc="a claim not answered by then goes back to the queue")
    poll_s: float = setting(0.5, min=0.01, max=60, doc="idle wait between outbox rounds")
    max_attempts: int = setting(5, min=1, max=100)
    retry_initial_s: float = setting(30.0, min=0.1, max=86400)
    retry_max_s: float = setting(1800.0, min=1, max=86400)
    simulator_port: int = setting(2775, min=0, max=65535,
                                  doc="the built-in SMSC simulator's port when no bind is configured")
    simulator_control_port: int = setting(2776, min=0, max=65535,
                                          doc="its control line (hotline sms simulate-reply)")
    prefix_routes: dict[str, str] = setting({}, doc="number prefix -> bind name, before carriers")
    fallback_bind: str = setting("", doc="bind for numbers no route matches; empty: the first")
    binds: dict[str, dict] = setting({}, doc="[sms.binds.NAME] tables, one per SMSC account: "
                                             "protocol (smpp, cmpp2, cmpp3, smgp3, sgip12), "
                                             "carriers, and the keys of that protocol's bind "
                                             "settings "
                                             "(sms_gateway.service.PROTOCOLS)")


@dataclasses.dataclass(frozen=True)
class AppealsConfig:
    deadline_working_days: dict[str, int] = setting(
        {"consultation": 2, "help": 5, "complaint": 15, "report": 15,
         "approval_progress": 2, "dispute": 15},
        min=1, max=365, doc="working days to resolve, per appeal kind",
    )
    catalogue_file: str = setting("", doc="approval catalogue TOML; empty: the shipped one")

    def __post_init__(self) -> None:
        from schemas.enums import AppealKind

        known = {kind.value for kind in AppealKind}
        unknown = set(self.deadline_working_days) - known
        if unknown:
            raise ConfigError(f"appeals.deadline_working_days has unknown kind(s) "
                              f"{', '.join(sorted(unknown))}; expected {', '.join(sorted(known))}")


@dataclasses.dataclass(frozen=True)
class WorkOrdersConfig:
    """Time limits of an appeal dispatched to a unit (hotline.appeals.work_orders), counted
    on the working-day calendar in the service's time zone (docs/workorders.md)."""

    working_hours: str = setting("08:30-17:30", doc="the units' working hours on a working "
                                                    "day (HH:MM-HH:MM), for the sign-for limit")
    sign_within_working_hours: int = setting(2, min=1, max=80,
                                             doc="a dispatch signed for later than this many "
                                                 "working hours shows as signed late")
    handling_working_days: int = setting(5, min=1, max=60,
                                         doc="the unit replies by the end of this working day "
                                             "after the dispatch's day")
    return_within_working_days: int = setting(2, min=1, max=30,
                                              doc="a unit may return a dispatch until the end "
                                                  "of this working day after its day; later "
                                                  "returns are refused")
    max_extension_working_days: int = setting(10, min=1, max=60,
                                              doc="most working days a work order's approved "
                                                  "extensions may add up to")
    due_soon_working_days: int = setting(1, min=0, max=30,
                                         doc="due by the end of this working day after today: "
                                             "listed as due soon (0: due today)")
    urge_before_working_hours: int = setting(9, min=1, max=80,
                                             doc="the service urges (催办) the unit this many "
                                                 "working hours before an order's deadline "
                                                 "(9: as its last working day opens)")
    urging_lease_s: float = setting(180.0, min=5, max=3600,
                                    doc="the urging job runs in one process at a time: "
                                        "another takes over within this after it stops; "
                                        "rounds run every third of it")

    def __post_init__(self) -> None:
        check_bounds(self, "workorders")
        self.hours  # noqa: B018 -- refuses a bad span at load time

    @property
    def hours(self) -> tuple[int, int]:
        """The working hours in minutes after midnight, e.g. (510, 1050)."""
        return parse_time_range(self.working_hours, "workorders.working_hours",
                                crosses_midnight=False)


@dataclasses.dataclass(frozen=True)
class CalendarConfig:
    extra_holidays: tuple[dt.date, ...] = setting(
        (), doc="public holidays the calendar library does not know yet (next year's schedule)")
    extra_workdays: tuple[dt.date, ...] = setting((), doc="make-up working days (调休) likewise")


@dataclasses.dataclass(frozen=True)
class MetricsConfig:
    token: str = setting("", doc="bearer token /metrics requires (HOTLINE_METRICS_TOKEN); empty: "
                                 "none, so firewall /metrics to the monitoring host")
    refresh_s: float = setting(15.0, min=1, max=3600,
                               doc="database counts behind /metrics are refreshed this often")


@dataclasses.dataclass(frozen=True)
class LoggingConfig:
    level: str = setting("info", choices=("debug", "info", "warn", "error", "critical"))
    format: str = setting("text", choices=("text", "json"))


@dataclasses.dataclass(frozen=True)
class Config:
    service: ServiceConfig = dataclasses.field(default_factory=ServiceConfig)
    database: DatabaseConfig = dataclasses.field(default_factory=DatabaseConfig)
    web: WebConfig = dataclasses.field(default_factory=WebConfig)
    auth: AuthSection = dataclasses.field(default_factory=AuthSection)
    agi: AgiConfig = dataclasses.field(default_factory=AgiConfig)
    ivr: IvrConfig = dataclasses.field(default_factory=IvrConfig)
    ami: AmiConfig = dataclasses.field(default_factory=AmiConfig)
    sms: SmsConfig = dataclasses.field(default_factory=SmsConfig)
    appeals: AppealsConfig = dataclasses.field(default_factory=AppealsConfig)
    workorders: WorkOrdersConfig = dataclasses.field(default_factory=WorkOrdersConfig)
    calendar: CalendarConfig = dataclasses.field(default_factory=CalendarConfig)
    logging: LoggingConfig = dataclasses.field(default_factory=LoggingConfig)
    metrics: MetricsConfig = dataclasses.field(default_factory=MetricsConfig)
    recordings: RecordingsConfig = dataclasses.field(default_factory=RecordingsConfig)
    # Sections the packages define (entry-point group `hotline.config_sections`), by name.
    extensions: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        """`config.callbacks` reads a package's section like a core one."""
        extensions = self.__dict__.get("extensions", {})
        if name in extensions:
            return extensions[name]
        raise AttributeError(name)


SECTIONS: dict[str, type] = {name: kind for name, kind in typing.get_type_hints(Config).items()
                             if name != "extensions"}


def extension_sections() -> dict[str, type]:
    """Configuration sections owned by the packages, found through their entry points so
    that the core never imports a package."""
    from importlib.metadata import entry_points

    found = {}
    for entry_point in entry_points(group="hotline.config_sections"):
        if entry_point.name in SECTIONS:
            raise ConfigError(f"section [{entry_point.name}] is defined twice")
        found[entry_point.name] = entry_point.load()
    return found


def load_config(path: str | os.PathLike | None = None,
                environ: Mapping[str, str] | None = None) -> Config:
    """Read the TOML file (if any) and the environment into a validated `Config`.

    `path` defaults to `$HOTLINE_CONFIG`; `environ` defaults to `os.environ`.
    """
    environ = os.environ if environ is None else environ
    path = path if path is not None else environ.get("HOTLINE_CONFIG") or None
    document: dict[str, Any] = {}
    if path is not None:
        try:
            document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file {path} does not exist") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"configuration file {path} is not valid TOML: {error}") from None
    extensions = extension_sections()
    unknown = set(document) - set(SECTIONS) - set(extensions)
    if unknown:
        raise ConfigError(f"unknown configuration section(s): {', '.join(sorted(unknown))}; "
                          f"expected one of {', '.join([*SECTIONS, *extensions])}")
    sections = {name: load_section(name, cls, document.get(name, {}), environ)
                for name, cls in SECTIONS.items()}
    loaded = {name: load_section(name, cls, document.get(name, {}), environ)
              for name, cls in extensions.items()}
    _refuse_unknown_variables(environ, {**SECTIONS, **extensions}, sections["sms"].binds)
    return Config(**sections, extensions=MappingProxyType(loaded))


def _refuse_unknown_variables(environ: Mapping[str, str], sections: Mapping[str, type],
                              binds: Iterable[str]) -> None:
    """A `HOTLINE_*` variable that no setting reads is a typo the operator must hear of."""
    settings = {env_name(name, field.name)
                for name, cls in sections.items() for field in dataclasses.fields(cls)}
    bind_names = {name.upper() for name in binds}
    for variable in sorted(environ):
        if (not variable.startswith("HOTLINE_") or variable in settings
                or variable in NOT_SETTINGS):
            continue
        bind = BIND_PASSWORD.fullmatch(variable)
        if bind is not None:
            name = bind.group(1)  # ..._<NAME>_SMG_PASSWORD: an SGIP bind's second password
            if name in bind_names or name.removesuffix("_SMG") in bind_names:
                continue
            raise ConfigError(f"{variable} is the password of no bind: the configured "
                              f"[sms.binds.NAME] tables are "
                              f"{', '.join(sorted(binds)) or '(none)'}")
        close = difflib.get_close_matches(variable, [*settings, *NOT_SETTINGS], n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ConfigError(f"unknown environment variable {variable}: no setting is "
                          f"HOTLINE_<SECTION>_<KEY> by that name{hint}")
