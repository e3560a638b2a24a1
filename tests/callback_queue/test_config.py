"""`[callbacks]` goes through the core configuration loader like any core section: TOML
values, `HOTLINE_CALLBACKS_<KEY>` overrides, per-kind tables merged over the defaults."""

from __future__ import annotations

import pytest

from callback_queue.config import CallbacksConfig
from hotline.config_section import ConfigError, load_section


def load(table, environ=None):
    return load_section("callbacks", CallbacksConfig, table, environ or {})


def test_defaults():
    config = load({})
    assert config == CallbacksConfig()
    assert config.mode["complaint"] == "agent" and config.mode["help"] == "automated"
    assert config.hours == (8 * 60, 21 * 60) and config.trunks == ("trunk",) and config.calls_per_trunk == 4


def test_toml_table_and_environment_overrides():
    config = load({"calling_hours": "09:00-20:00", "mode": {"help": "agent"},
                   "max_attempts": {"complaint": 5}, "trunks": ["sip1", "sip2"]},
                  {"HOTLINE_CALLBACKS_RETRY_MIN": "30", "HOTLINE_CALLBACKS_CALLS_PER_TRUNK": "12",
                   "HOTLINE_CALLBACKS_FALLBACK": "dispute=unreachable"})
    assert config.hours == (9 * 60, 20 * 60)
    assert config.mode["help"] == "agent" and config.mode["report"] == "agent"
    assert config.max_attempts["complaint"] == 5 and config.max_attempts["help"] == 3
    assert config.trunks == ("sip1", "sip2")
    assert config.retry_min == 30.0 and config.calls_per_trunk == 12
    assert config.fallback["dispute"] == "unreachable" and config.fallback["help"] == "sms"


@pytest.mark.parametrize("table, message", [
    ({"retry_min": 0}, "callbacks.retry_min must be at least 1"),
    ({"max_attempts": {"help": 0}}, "callbacks.max_attempts must be at least 1"),
    ({"mode": {"help": "robot"}}, "callbacks.mode must be one of automated, agent"),
    ({"poll_s": "fast"}, "callbacks.poll_s must be a number"),
    ({"calling_hours": "25:00-26:00"}, "callbacks.calling_hours must be HH:MM-HH:MM"),
    ({"colour": "red"}, "unknown key"),
])
def test_bad_values_name_the_key(table, message):
    with pytest.raises(ConfigError, match=message):
        load(table)


def test_a_partial_per_kind_table_given_in_code_keeps_the_other_kinds_defaults():
    config = CallbacksConfig(mode={"help": "agent"}, delay_h={"complaint": 1.0})
    assert config.mode["help"] == "agent" and config.mode["complaint"] == "agent"
    assert config.mode["consultation"] == "automated"
    assert config.delay_h["complaint"] == 1.0 and config.delay_h["help"] == 2.0
    assert CallbacksConfig().mode is not CallbacksConfig().mode
