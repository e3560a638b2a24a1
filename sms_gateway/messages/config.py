"""The SMS content layer's settings: the `[messages]` table of the configuration.

Built by the core loader like its own sections (each key overridable by
`HOTLINE_MESSAGES_<KEY>`), by `MessagesConfig.from_table(table)` from a TOML table (the same
loader), or directly in tests (the same bounds, `check_bounds`). A bad value raises
`ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from hotline.config_section import (
    ConfigError,
    check_bounds,
    load_section,
    parse_time_range,
    setting,
)
from schemas.enums import AppealKind


@dataclasses.dataclass(frozen=True)
class MessagesConfig:
    signature: str = setting("【临沂公安】", doc="put before every message (operators require one)")
    quiet_hours: str = setting("21:00-08:00", doc="non-urgent messages wait until its end "
                                                  "(Asia/Shanghai, HH:MM-HH:MM, may cross midnight)")
    daily_cap: int = setting(3, min=1, max=100, doc="reminders and warnings per number per day; "
                                                    "more wait for the next day")
    reminder_offsets_days: tuple[int, ...] = setting(
        (30, 7), min=1, max=365, doc="vehicle and licence reminders: days before the due date")
    survey_valid_hours: float = setting(72.0, min=1, max=24 * 60,
                                        doc="a survey answer later than this is not a rating")
    broadcast_rate: float = setting(20.0, min=0.1, max=10_000,
                                    doc="early-warning messages per second (spread not_before)")
    max_parts: int = setting(3, min=1, max=20, doc="a rendered message longer than this is refused")
    progress_notice_kinds: tuple[str, ...] = setting(
        ("consultation", "help", "complaint", "approval_progress", "dispute"),
        doc="appeal kinds whose citizen is told by SMS of the dispatch to a unit and of an "
            "approved extension (report, 举报, left out: its caller may not want a text)")
    templates_dir: str = setting("", doc="directory of templates overriding the shipped ones "
                                         "(same file names); empty: shipped only")
    planner_enabled: bool = setting(True, doc="run the reminder planner in this process")
    planner_poll_s: float = setting(60.0, min=0.05, max=3600, doc="between planning rounds")
    planner_batch: int = setting(500, min=1, max=10_000, doc="reminders per planning transaction")

    def __post_init__(self) -> None:
        check_bounds(self, "messages")
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
        parse_time_range(self.quiet_hours, "messages.quiet_hours", crosses_midnight=True)
        unknown = set(self.progress_notice_kinds) - {kind.value for kind in AppealKind}
        if unknown:
            raise ConfigError(f"messages.progress_notice_kinds names kinds that do not exist: "
                              f"{', '.join(sorted(unknown))} (kinds: "
                              f"{', '.join(kind.value for kind in AppealKind)})")
        object.__setattr__(self, "progress_notice_kinds", tuple(self.progress_notice_kinds))
        if self.templates_dir and not Path(self.templates_dir).is_dir():
            raise ConfigError(f"messages.templates_dir {self.templates_dir!r} is not a directory")

    @property
    def quiet(self) -> tuple[dt.time, dt.time]:
        """(start, end) of the quiet hours; start > end when they cross midnight."""
        start, end = parse_time_range(self.quiet_hours, "messages.quiet_hours",
                                      crosses_midnight=True)
        return dt.time(start // 60, start % 60), dt.time(end // 60, end % 60)

    @classmethod
    def from_table(cls, table: Any) -> "MessagesConfig":
        """Validate a `[messages]` TOML table, as the core loader does (without the
        environment): unknown keys and wrong types name the key."""
        return load_section("messages", cls, table, {})


def messages_config(config: Any) -> MessagesConfig:
    """The `[messages]` section of a loaded `hotline.config.Config`: defaults until the
    loader knows the section, a validated table when it hands one over."""
    section = getattr(config, "messages", None)
    if section is None:
        return MessagesConfig()
    if isinstance(section, MessagesConfig):
        return section
    return MessagesConfig.from_table(section)
