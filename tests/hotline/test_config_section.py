"""The one home of what every configuration section is made of (`hotline.config_section`):
the field helper, the section loader, the clock-time parsers, used by the core's sections
and the packages' alike."""

import dataclasses
import datetime as dt

import pytest

from callback_queue.config import CallbacksConfig
from hotline.analysis.config import AnalysisConfig
from hotline.config import AppealsConfig, SmsConfig
from hotline.config_section import (
    ConfigError,
    load_section,
    parse_hhmm,
    parse_time_range,
    setting,
)
from sms_gateway.messages.config import MessagesConfig


def test_a_table_default_is_a_copy_of_its_own_for_every_config():
    first, second = AppealsConfig(), AppealsConfig()
    assert first.deadline_working_days is not second.deadline_working_days
    first.deadline_working_days["help"] = 99  # a frozen dataclass does not freeze its dict
    assert second.deadline_working_days["help"] == 5
    assert AppealsConfig().deadline_working_days["help"] == 5
    routes = SmsConfig().prefix_routes
    routes["1380"] = "mobile"
    assert SmsConfig().prefix_routes == {}
    CallbacksConfig().mode["help"] = "agent"
    assert CallbacksConfig().mode["help"] == "automated"


def test_setting_keeps_its_own_snapshot_of_the_declared_default():
    declared = {"a": 1}

    @dataclasses.dataclass(frozen=True)
    class Section:
        table: dict[str, int] = setting(declared, min=0)

    declared["a"] = 2
    assert Section().table == {"a": 1}
    assert dataclasses.fields(Section)[0].metadata["min"] == 0


@pytest.mark.parametrize("name, cls, table, message", [
    ("messages", MessagesConfig, {"daily_cap": 0}, "messages.daily_cap must be at least 1"),
    ("callbacks", CallbacksConfig, {"retry_min": 0}, "callbacks.retry_min must be at least 1"),
    ("analysis", AnalysisConfig, {"min_count": 0}, "analysis.min_count must be at least 1"),
    ("messages", MessagesConfig, {"survey_valid_hours": float("nan")},
     "messages.survey_valid_hours must be a finite number"),
    ("callbacks", CallbacksConfig, {"poll_s": float("inf")},
     "callbacks.poll_s must be a finite number"),
    ("messages", MessagesConfig, {"dailycap": 1}, r"unknown key\(s\) in \[messages\]: dailycap"),
])
def test_one_loader_reads_every_package_section_with_the_same_rules(name, cls, table, message):
    with pytest.raises(ConfigError, match=message):
        load_section(name, cls, table, {})
    if name == "messages":  # its table reader is the same loader
        with pytest.raises(ConfigError, match=message):
            MessagesConfig.from_table(table)


def test_the_loader_merges_a_partial_table_and_the_environment_wins():
    config = load_section("callbacks", CallbacksConfig, {"max_attempts": {"help": 5}},
                          {"HOTLINE_CALLBACKS_MAX_ATTEMPTS": "complaint=2"})
    assert config.max_attempts["complaint"] == 2 and config.max_attempts["help"] == 3


def test_a_section_built_in_code_is_held_to_the_same_bounds():
    with pytest.raises(ConfigError, match="messages.daily_cap must be at least 1"):
        MessagesConfig(daily_cap=0)
    with pytest.raises(ConfigError, match="messages.broadcast_rate must be a finite number"):
        MessagesConfig(broadcast_rate=float("nan"))


@pytest.mark.parametrize("text, expected", [
    ("08:00", dt.time(8)), ("8:30", dt.time(8, 30)), (" 23:59 ", dt.time(23, 59)),
])
def test_parse_hhmm_reads_a_clock_time(text, expected):
    assert parse_hhmm(text, "ivr.opening_time") == expected


@pytest.mark.parametrize("text", ["24:00", "08:60", "8", "08:00:00", "0800", "", "八点", 8])
def test_parse_hhmm_refuses_anything_else_naming_the_key(text):
    with pytest.raises(ConfigError, match="ivr.opening_time must be a time HH:MM"):
        parse_hhmm(text, "ivr.opening_time")


def test_a_span_within_one_day_may_end_at_24_00_and_must_end_after_it_starts():
    def hours(text):
        return parse_time_range(text, "callbacks.calling_hours", crosses_midnight=False)

    assert hours("08:00-21:00") == (480, 1260)
    assert hours("00:00-24:00") == (0, 1440)
    with pytest.raises(ConfigError, match="callbacks.calling_hours must end after it starts"):
        hours("21:00-08:00")
    with pytest.raises(ConfigError, match="callbacks.calling_hours must be HH:MM-HH:MM"):
        hours("24:00-24:00")


def test_a_span_that_may_cross_midnight_has_no_24_00_and_no_empty_span():
    def quiet(text):
        return parse_time_range(text, "messages.quiet_hours", crosses_midnight=True)

    assert quiet("21:00-08:00") == (1260, 480)
    assert quiet("08:00-21:00") == (480, 1260)
    assert MessagesConfig(quiet_hours="22:00-07:30").quiet == (dt.time(22), dt.time(7, 30))
    with pytest.raises(ConfigError, match="messages.quiet_hours must be HH:MM-HH:MM"):
        quiet("21:00-24:00")
    with pytest.raises(ConfigError, match="messages.quiet_hours must not start and end at once"):
        quiet("08:00-08:00")
    with pytest.raises(ConfigError, match="messages.quiet_hours must be HH:MM-HH:MM"):
        quiet("21-8")
