"""The SMS content layer's settings: the `[messages]` table of the configuration.

Built by the core loader like its own sections (each key overridable by
`HOTLINE_MESSAGES_<KEY>`), by `MessagesConfig.from_table(table)` from a TOML table, or
directly in tests. Validated here, once; a bad value raises `ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from pathlib import Path
from typing import Any

from hotline.config import ConfigError


def _field(default: Any, *, min: float | None = None, max: float | None = None,
           choices: tuple[str, ...] | None = None, doc: str = "") -> Any:
    # The same metadata as hotline.config's fields, so that its loader validates these too.
    return dataclasses.field(default=default,
                             metadata={"min": min, "max": max, "choices": choices, "doc": doc})


@dataclasses.dataclass(frozen=True)
class MessagesConfig:
    signature: str = _field("【临沂公安】", doc="put before every message (operators require one)")
    quiet_hours: str = _field("21:00-08:00", doc="non-urgent messages wait until its end "
                                                 "(Asia/Shanghai, HH:MM-HH:MM, may cross midnight)")
    daily_cap: int = _field(3, min=1, max=100, doc="reminders and warnings per number per day; "
                                                   "more wait for the next day")
    # Bounds checked in __post_init__: the core loader compares min/max with whole values.
    reminder_offsets_days: tuple[int, ...] = _field(
        (30, 7), doc="vehicle and licence reminders: days before the due date (1-365)")
    survey_valid_hours: float = _field(72.0, min=1, max=24 * 60,
                                       doc="a survey answer later than this is not a rating")
    broadcast_rate: float = _field(20.0, min=0.1, max=10_000,
                                   doc="early-warning messages per second (spread not_before)")
    max_parts: int = _field(3, min=1, max=20, doc="a rendered message longer than this is refused")
    templates_dir: str = _field("", doc="directory of templates overriding the shipped ones "
                                        "(same file names); empty: shipped only")
    planner_enabled: bool = _field(True, doc="run the reminder planner in this process")
    planner_poll_s: float = _field(60.0, min=0.05, max=3600, doc="between planning rounds")
    planner_batch: int = _field(500, min=1, max=10_000, doc="reminders per planning transaction")

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            values = value if isinstance(value, tuple) else (value,)
            low, high = field.metadata["min"], field.metadata["max"]
            for item in values:
                if low is not None and item < low:
                    raise ConfigError(f"messages.{field.name} must be at least {low}, got {item!r}")
                if high is not None and item > high:
                    raise ConfigError(f"messages.{field.name} must be at most {high}, got {item!r}")
        if not self.signature.strip():
            raise ConfigError("messages.signature must not be empty (operators refuse unsigned "
                              "messages)")
        for offset in self.reminder_offsets_days:
            if isinstance(offset, bool) or not isinstance(offset, int) or not 1 <= offset <= 365:
                raise ConfigError(f"messages.reminder_offsets_days must be days 1-365, "
                                  f"got {offset!r}")
        if not self.reminder_offsets_days:
            raise ConfigError("messages.reminder_offsets_days must name at least one offset")
        if len(set(self.reminder_offsets_days)) != len(self.reminder_offsets_days):
            raise ConfigError(f"messages.reminder_offsets_days has a repeated offset: "
                              f"{list(self.reminder_offsets_days)}")
        object.__setattr__(self, "reminder_offsets_days",
                           tuple(sorted(self.reminder_offsets_days, reverse=True)))
        parse_quiet_hours(self.quiet_hours)
        if self.templates_dir and not Path(self.templates_dir).is_dir():
            raise ConfigError(f"messages.templates_dir {self.templates_dir!r} is not a directory")

    @property
    def quiet(self) -> tuple[dt.time, dt.time]:
        """(start, end) of the quiet hours; start > end when they cross midnight."""
        return parse_quiet_hours(self.quiet_hours)

    @classmethod
    def from_table(cls, table: Any) -> "MessagesConfig":
        """Validate a `[messages]` TOML table (unknown keys and wrong types name the key)."""
        if not isinstance(table, dict):
            raise ConfigError("[messages] must be a table")
        hints = typing.get_type_hints(cls)
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = set(table) - set(known)
        if unknown:
            raise ConfigError(f"unknown key(s) in [messages]: {', '.join(sorted(unknown))}; "
                              f"expected one of {', '.join(known)}")
        return cls(**{key: _coerce(value, hints[key], f"messages.{key}")
                      for key, value in table.items()})


def _coerce(value: Any, kind: Any, key: str) -> Any:
    if typing.get_origin(kind) is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list of integers, got {value!r}")
        return tuple(_coerce(item, typing.get_args(kind)[0], key) for item in value)
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string, got {value!r}")
    return value


def parse_quiet_hours(text: str) -> tuple[dt.time, dt.time]:
    try:
        start, end = (dt.time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ConfigError(f"messages.quiet_hours must be HH:MM-HH:MM, got {text!r}") from None
    if start == end:
        raise ConfigError(f"messages.quiet_hours must not start and end at once, got {text!r}")
    return start, end


def messages_config(config: Any) -> MessagesConfig:
    """The `[messages]` section of a loaded `hotline.config.Config`: defaults until the
    loader knows the section, a validated table when it hands one over."""
    section = getattr(config, "messages", None)
    if section is None:
        return MessagesConfig()
    if isinstance(section, MessagesConfig):
        return section
    return MessagesConfig.from_table(section)
