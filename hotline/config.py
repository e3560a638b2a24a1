"""Configuration: one TOML file, every key overridable from the environment.

The file is named by `HOTLINE_CONFIG` (none: embedded defaults). Each key `key` of section
`[section]` can be overridden by the environment variable `HOTLINE_<SECTION>_<KEY>`
(`HOTLINE_DATABASE_URL`, `HOTLINE_AGI_PORT`, `HOTLINE_WEB_PORT`, ...). Everything is validated
here, once, into frozen dataclasses that are passed explicitly to whoever needs them; a bad
value stops start-up with a `ConfigError` that names the key and says what was expected.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong kind."""


def _field(default: Any, *, min: float | None = None, max: float | None = None,
           choices: tuple[str, ...] | None = None, doc: str = "") -> Any:
    metadata = {"min": min, "max": max, "choices": choices, "doc": doc}
    if isinstance(default, (dict, list, tuple)):
        frozen = default
        return dataclasses.field(default_factory=lambda: frozen, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class ServiceConfig:
    name: str = _field("hotline", doc="process name, shown in logs and /healthz")
    timezone: str = _field("Asia/Shanghai", doc="where business rules are evaluated")
    hotline_number: str = _field("9600110")


@dataclasses.dataclass(frozen=True)
class DatabaseConfig:
    url: str = _field("sqlite:///var/hotline.sqlite3")
    pool_threads: int = _field(8, min=1, max=64, doc="threads that run blocking sessions")
    sqlite_busy_timeout_ms: int = _field(10_000, min=0, max=600_000)
    echo: bool = _field(False)


@dataclasses.dataclass(frozen=True)
class WebConfig:
    host: str = _field("127.0.0.1")
    port: int = _field(8080, min=0, max=65535)


@dataclasses.dataclass(frozen=True)
class AgiConfig:
    host: str = _field("127.0.0.1")
    port: int = _field(4573, min=0, max=65535)
    allow: tuple[str, ...] = _field((), doc="Asterisk source addresses allowed; empty allows all")
    command_timeout_s: float = _field(30.0, min=0.1, max=3600)
    backend_timeout_s: float = _field(2.0, min=0.05, max=60, doc="slow lookup -> apology and agent")
    record_timeout_s: float = _field(10.0, min=0.05, max=300, doc="a call's session ends once its "
                                     "record is stored, or after this long")
    queue: str = _field("hotline", doc="the Asterisk queue agents answer")
    drain_s: float = _field(30.0, min=0, max=3600, doc="at stop: how long calls in progress "
                                                       "may go on before they are closed")


@dataclasses.dataclass(frozen=True)
class AuthSection:
    """The web application's sessions, lockout and API token (checked again, with their
    length rules, by `agents.config.AuthConfig`)."""

    secret_key: str = _field("", doc="signs sessions and CSRF tokens; HOTLINE_AUTH_SECRET_KEY, "
                                     "32+ characters; empty: random per process")
    session_lifetime_s: int = _field(8 * 3600, min=1, max=7 * 86400)
    session_idle_s: int = _field(30 * 60, min=1, max=86400)
    lockout_failures: int = _field(5, min=1, max=100)
    lockout_window_s: int = _field(15 * 60, min=1, max=86400)
    lockout_s: int = _field(15 * 60, min=1, max=86400)
    login_attempts_per_minute: int = _field(20, min=1, max=10000)
    api_token: str = _field("", doc="bearer token for /api/v1 (HOTLINE_AUTH_API_TOKEN, 24+ "
                                    "characters); empty: the API refuses every request")
    secure_cookies: bool = _field(False, doc="true when served over HTTPS")


@dataclasses.dataclass(frozen=True)
class IvrConfig:
    opening_time: str = _field("08:00", doc="agents answer from (Asia/Shanghai, HH:MM)")
    closing_time: str = _field("21:00", doc="agents answer until")
    open_on_holidays: bool = _field(False, doc="agents answer on public holidays and weekends")
    prompt_prefix: str = _field("hotline/", doc="prompt file names in Asterisk's sounds dir")
    menu_timeout_ms: int = _field(5000, min=1000, max=30000)
    case_number_timeout_ms: int = _field(8000, min=1000, max=60000)
    callback_offer_waiting: int = _field(5, min=0, max=1000,
                                         doc="callers waiting before a callback is offered; 0 never")
    voice_message_dir: str = _field("/var/spool/asterisk/hotline",
                                    doc="where Asterisk writes voice messages (its filesystem)")
    voice_message_max_s: int = _field(120, min=10, max=600)
    voice_message_silence_s: int = _field(5, min=1, max=60)

    def __post_init__(self) -> None:
        for key in ("opening_time", "closing_time"):
            _parse_hhmm(getattr(self, key), f"ivr.{key}")

    @property
    def opening(self) -> dt.time:
        return _parse_hhmm(self.opening_time, "ivr.opening_time")

    @property
    def closing(self) -> dt.time:
        return _parse_hhmm(self.closing_time, "ivr.closing_time")


def _parse_hhmm(text: str, key: str) -> dt.time:
    try:
        hours, minutes = text.split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise ConfigError(f"{key} must be a time HH:MM, got {text!r}") from None


@dataclasses.dataclass(frozen=True)
class AmiConfig:
    host: str = _field("127.0.0.1")
    port: int = _field(5038, min=0, max=65535)
    username: str = _field("hotline")
    secret: str = _field("", doc="from the environment in production: HOTLINE_AMI_SECRET")
    auth: str = _field("md5", choices=("md5", "plain"))
    enabled: bool = _field(True)


@dataclasses.dataclass(frozen=True)
class SmsConfig:
    sender: str = _field("9600110", doc="source address of every message")
    max_parts: int = _field(6, min=1, max=20, doc="longest message, in SMS parts")
    dispatch_batch: int = _field(200, min=1, max=10000, doc="messages claimed per round")
    max_in_flight: int = _field(1000, min=1, max=100000, doc="messages submitted, not answered")
    lease_s: float = _field(120.0, min=5, max=3600,
                            doc="a claim not answered by then goes back to the queue")
    poll_s: float = _field(0.5, min=0.01, max=60, doc="idle wait between outbox rounds")
    max_attempts: int = _field(5, min=1, max=100)
    retry_initial_s: float = _field(30.0, min=0.1, max=86400)
    retry_max_s: float = _field(1800.0, min=1, max=86400)
    simulator_port: int = _field(2775, min=1, max=65535,
                                 doc="the built-in SMSC simulator's port when no bind is configured")
    simulator_control_port: int = _field(2776, min=1, max=65535,
                                         doc="its control line (hotline sms simulate-reply)")
    prefix_routes: dict[str, str] = _field({}, doc="number prefix -> bind name, before carriers")
    fallback_bind: str = _field("", doc="bind for numbers no route matches; empty: the first")
    binds: dict[str, dict] = _field({}, doc="[sms.binds.NAME] tables: host, port, system_id, "
                                            "password, carriers, window, rate, ...")


@dataclasses.dataclass(frozen=True)
class AppealsConfig:
    deadline_working_days: dict[str, int] = _field(
        {"consultation": 2, "help": 5, "complaint": 15, "report": 15,
         "approval_progress": 2, "dispute": 15},
        min=1, max=365, doc="working days to resolve, per appeal kind",
    )
    catalogue_file: str = _field("", doc="approval catalogue TOML; empty: the shipped one")

    def __post_init__(self) -> None:
        from schemas.enums import AppealKind

        known = {kind.value for kind in AppealKind}
        unknown = set(self.deadline_working_days) - known
        if unknown:
            raise ConfigError(f"appeals.deadline_working_days has unknown kind(s) "
                              f"{', '.join(sorted(unknown))}; expected {', '.join(sorted(known))}")


@dataclasses.dataclass(frozen=True)
class CalendarConfig:
    extra_holidays: tuple[dt.date, ...] = _field(
        (), doc="public holidays the calendar library does not know yet (next year's schedule)")
    extra_workdays: tuple[dt.date, ...] = _field((), doc="make-up working days (调休) likewise")


@dataclasses.dataclass(frozen=True)
class MetricsConfig:
    token: str = _field("", doc="bearer token /metrics requires (HOTLINE_METRICS_TOKEN); empty: "
                                "none, so firewall /metrics to the monitoring host")
    refresh_s: float = _field(15.0, min=1, max=3600,
                              doc="database counts behind /metrics are refreshed this often")


@dataclasses.dataclass(frozen=True)
class LoggingConfig:
    level: str = _field("info", choices=("debug", "info", "warn", "error", "critical"))
    format: str = _field("text", choices=("text", "json"))


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
    calendar: CalendarConfig = dataclasses.field(default_factory=CalendarConfig)
    logging: LoggingConfig = dataclasses.field(default_factory=LoggingConfig)
    metrics: MetricsConfig = dataclasses.field(default_factory=MetricsConfig)
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
    sections = {name: _load_section(name, cls, document.get(name, {}), environ)
                for name, cls in SECTIONS.items()}
    loaded = {name: _load_section(name, cls, document.get(name, {}), environ)
              for name, cls in extensions.items()}
    return Config(**sections, extensions=MappingProxyType(loaded))


def _load_section(name: str, cls: type, table: Any, environ: Mapping[str, str]) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"[{name}] must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(table) - set(fields)
    if unknown:
        raise ConfigError(f"unknown key(s) in [{name}]: {', '.join(sorted(unknown))}; "
                          f"expected one of {', '.join(fields)}")
    values = {}
    for key, field in fields.items():
        env_name = f"HOTLINE_{name.upper()}_{key.upper()}"
        if env_name in environ:
            raw, source = environ[env_name], env_name
            value = _from_text(raw, hints[key], source)
        elif key in table:
            source = f"{name}.{key}"
            value = _coerce(table[key], hints[key], source)
        else:
            continue
        _check_bounds(value, field.metadata, source)
        if isinstance(value, dict):
            value = {**field.default_factory(), **value}
        values[key] = value
    return cls(**values)


def _describe(kind: Any) -> str:
    origin = typing.get_origin(kind)
    if origin is tuple:
        return f"a list, each {_describe(typing.get_args(kind)[0])}"
    if origin is dict:
        key, value = typing.get_args(kind)
        return f"a table of {_describe(key)} to {_describe(value)}"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string",
            dict: "a table",
            dt.date: "a date (YYYY-MM-DD)"}.get(kind, str(kind))


def _coerce(value: Any, kind: Any, source: str) -> Any:
    """Check a TOML value against the field's type."""
    origin = typing.get_origin(kind)
    wrong = ConfigError(f"{source} must be {_describe(kind)}, got {value!r}")
    if origin is tuple:
        if not isinstance(value, list):
            raise wrong
        return tuple(_coerce(item, typing.get_args(kind)[0], source) for item in value)
    if kind is dict:  # a nested table validated by the package that owns it
        if not isinstance(value, dict):
            raise wrong
        return value
    if origin is dict:
        if not isinstance(value, dict):
            raise wrong
        key_kind, value_kind = typing.get_args(kind)
        return {_coerce(k, key_kind, source): _coerce(v, value_kind, f"{source}.{k}")
                for k, v in value.items()}
    if kind is bool:
        if not isinstance(value, bool):
            raise wrong
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong
        return float(value)
    if kind is dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            return _from_text(value, kind, source)
        raise wrong
    if kind is str:
        if not isinstance(value, str):
            raise wrong
        return value
    raise wrong


def _from_text(raw: str, kind: Any, source: str) -> Any:
    """Parse an environment variable's text as the field's type.

    Lists are comma-separated; tables are `key=value` pairs separated by commas.
    """
    origin = typing.get_origin(kind)
    wrong = ConfigError(f"{source} must be {_describe(kind)}, got {raw!r}")
    if origin is tuple:
        items = [item.strip() for item in raw.split(",") if item.strip()]
        return tuple(_from_text(item, typing.get_args(kind)[0], source) for item in items)
    if origin is dict:
        key_kind, value_kind = typing.get_args(kind)
        result = {}
        for pair in filter(None, (p.strip() for p in raw.split(","))):
            key, sep, value = pair.partition("=")
            if not sep:
                raise ConfigError(f"{source} must be key=value pairs separated by commas, got {raw!r}")
            result[_from_text(key.strip(), key_kind, source)] = _from_text(value.strip(), value_kind, source)
        return result
    try:
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind is int:
            return int(raw.strip())
        if kind is float:
            return float(raw.strip())
        if kind is dt.date:
            return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise wrong from None
    if kind is str:
        return raw
    raise wrong


def _check_bounds(value: Any, metadata: Mapping[str, Any], source: str) -> None:
    low, high, choices = metadata.get("min"), metadata.get("max"), metadata.get("choices")
    values = value.values() if isinstance(value, dict) else [value]
    for item in values:
        if low is not None and item < low:
            raise ConfigError(f"{source} must be at least {low}, got {item!r}")
        if high is not None and item > high:
            raise ConfigError(f"{source} must be at most {high}, got {item!r}")
        if choices is not None and item not in choices:
            raise ConfigError(f"{source} must be one of {', '.join(choices)}, got {item!r}")
