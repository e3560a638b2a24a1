"""What every configuration section is made of, in one place: the core's sections
(`hotline.config`) and the packages' (`[callbacks]`, `[messages]`, `[analysis]`, found through
the `hotline.config_sections` entry point) are declared, read and checked by the same code,
so that a rule (a bound, a refused `nan`, the form of a clock time) cannot differ between them.

- `setting(default, min=, max=, choices=, doc=)` declares a field of a frozen section
  dataclass. A table default is copied for every instance: a "frozen" config that handed out
  one shared dict could be changed, for every config at once, by whoever held one.
- `load_section(name, cls, table, environ)` reads a TOML table and the
  `HOTLINE_<SECTION>_<KEY>` variables (the environment wins) into `cls`, checking types,
  bounds and choices; the error names the key, or the variable, that was wrong.
- `check_bounds(section, name)`: the same bounds, for a section built directly in code;
  `check_types(section, name)` the types as well (an SMPP bind's table).
- `parse_hhmm` and `parse_time_range`: clock times of day (`08:00`, `08:00-21:00`).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
import re
import types
import typing
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong kind."""


def setting(default: Any, *, min: float | None = None, max: float | None = None,
            choices: tuple[str, ...] | None = None, doc: str = "") -> Any:
    """A section field. `min`/`max`/`choices` apply to the value, or to each value of a table
    or list; `doc` is the one line the example configuration says about the key."""
    metadata = MappingProxyType({"min": min, "max": max, "choices": choices, "doc": doc})
    if isinstance(default, (dict, list)):
        snapshot = copy.deepcopy(default)  # the caller's object may change after declaring
        return dataclasses.field(default_factory=lambda: copy.deepcopy(snapshot),
                                 metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def env_name(section: str, key: str) -> str:
    """The environment variable that overrides `[section] key`."""
    return f"HOTLINE_{section.upper()}_{key.upper()}"


def load_section(name: str, cls: type, table: Any, environ: Mapping[str, str]) -> Any:
    """`cls` built from the `[name]` TOML table and the environment, every value checked.

    A table-valued key given partly (in the file or as `key=value,...` in the environment)
    keeps the defaults of the entries it does not name.
    """
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
        variable = env_name(name, key)
        if variable in environ:
            source = variable
            value = _from_text(environ[variable], hints[key], source)
        elif key in table:
            source = f"{name}.{key}"
            value = _coerce(table[key], hints[key], source)
        else:
            continue
        _check_value(value, field.metadata, source)
        if isinstance(value, dict) and field.default_factory is not dataclasses.MISSING:
            value = {**field.default_factory(), **value}
        values[key] = value
    return cls(**values)


def check_bounds(section: Any, name: str) -> None:
    """The `min`/`max`/`choices` of every field of `section`, and no `nan` or infinity, for a
    section built in code rather than by `load_section` (which checks them as it reads)."""
    for field in dataclasses.fields(section):
        _check_value(getattr(section, field.name), field.metadata, f"{name}.{field.name}")


def _check_value(value: Any, metadata: Mapping[str, Any], source: str) -> None:
    low, high, choices = metadata.get("min"), metadata.get("max"), metadata.get("choices")
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, (tuple, list)):
        items = list(value)
    else:
        items = [value]
    for item in items:
        if isinstance(item, float) and not math.isfinite(item):
            raise ConfigError(f"{source} must be a finite number, got {item!r}")
        if not isinstance(item, (int, float)) or isinstance(item, bool):
            if low is not None or high is not None:
                continue  # a wrong type is the type check's to name
        if low is not None and item < low:
            raise ConfigError(f"{source} must be at least {low}, got {item!r}")
        if high is not None and item > high:
            raise ConfigError(f"{source} must be at most {high}, got {item!r}")
        if choices is not None and item not in choices:
            raise ConfigError(f"{source} must be one of {', '.join(choices)}, got {item!r}")


def check_types(section: Any, name: str) -> None:
    """Each field of `section` of its declared type, and finite: for a section built from a
    table in code rather than by `load_section` (an SMPP bind's). An integer given for a
    number becomes a float."""
    hints = typing.get_type_hints(type(section))
    for field in dataclasses.fields(section):
        source = f"{name}.{field.name}"
        value = _coerce(getattr(section, field.name), hints[field.name], source)
        _check_value(value, field.metadata, source)
        object.__setattr__(section, field.name, value)


def _optional(kind: Any) -> Any:
    """`int` for `int | None`; None for any other type."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if len(args) == 1 and len(typing.get_args(kind)) == 2:
            return args[0]
    return None


def _describe(kind: Any) -> str:
    if _optional(kind) is not None:
        return f"{_describe(_optional(kind))} or none"
    origin = typing.get_origin(kind)
    if origin is tuple:
        return f"a list, each {_describe(typing.get_args(kind)[0])}"
    if origin is dict:
        key, value = typing.get_args(kind)
        return f"a table of {_describe(key)} to {_describe(value)}"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string",
            dict: "a table", dt.date: "a date (YYYY-MM-DD)"}.get(kind, str(kind))


def _coerce(value: Any, kind: Any, source: str) -> Any:
    """Check a TOML value against the field's type."""
    inner = _optional(kind)
    if inner is not None:
        return None if value is None else _coerce(value, inner, source)
    origin = typing.get_origin(kind)
    wrong = ConfigError(f"{source} must be {_describe(kind)}, got {value!r}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
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
        return _finite(float(value), source)
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
                raise ConfigError(f"{source} must be key=value pairs separated by commas, "
                                  f"got {raw!r}")
            result[_from_text(key.strip(), key_kind, source)] = \
                _from_text(value.strip(), value_kind, source)
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
            return _finite(float(raw.strip()), source)
        if kind is dt.date:
            return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise wrong from None
    if kind is str:
        return raw
    raise wrong


def _finite(value: float, source: str) -> float:
    # TOML writes `nan` and `inf`, float() reads "nan", "inf" and "1e999": none is a
    # timeout, a rate or a bound anyone meant, and every comparison with nan is false.
    if not math.isfinite(value):
        raise ConfigError(f"{source} must be a finite number, got {value!r}")
    return value


# Clock times of day ------------------------------------------------------------------------

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


def _minutes(text: str, *, allow_24: bool) -> int:
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise ValueError(text)
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        raise ValueError(text)
    return hours * 60 + minutes


def parse_hhmm(text: Any, key: str) -> dt.time:
    """'08:30' -> 08:30; anything else raises `ConfigError` naming `key`."""
    try:
        if not isinstance(text, str):
            raise ValueError(text)
        value = _minutes(text, allow_24=False)
    except ValueError:
        raise ConfigError(f"{key} must be a time HH:MM, got {text!r}") from None
    return dt.time(value // 60, value % 60)


def parse_time_range(text: Any, key: str, *, crosses_midnight: bool) -> tuple[int, int]:
    """'08:00-21:00' -> (480, 1260), minutes after midnight.

    Two kinds of span, told by `crosses_midnight`:
    - False, a span within one day (calling hours): it must end after it starts, and may end
      at 24:00 ('00:00-24:00' is the whole day).
    - True, a span that may run over midnight (quiet hours, '21:00-08:00'): start and end
      must differ; midnight is 00:00, there is no 24:00.
    """
    try:
        if not isinstance(text, str):
            raise ValueError(text)
        start_text, end_text = text.split("-")
        start = _minutes(start_text, allow_24=False)
        end = _minutes(end_text, allow_24=not crosses_midnight)
    except ValueError:
        raise ConfigError(f"{key} must be HH:MM-HH:MM, got {text!r}") from None
    if crosses_midnight and start == end:
        raise ConfigError(f"{key} must not start and end at once, got {text!r}")
    if not crosses_midnight and not start < end:
        raise ConfigError(f"{key} must end after it starts, got {text!r}")
    return start, end
