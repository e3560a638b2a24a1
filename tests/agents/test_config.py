"""The web application's settings: the configuration's [auth] section (file, then
HOTLINE_AUTH_* variables), checked with the web app's own rules."""

import pytest

from agents.config import AuthConfig, auth_config
from hotline.config import ConfigError, load_config


def settings(environ):
    return auth_config(load_config(None, environ=environ).auth)


def test_defaults_without_any_variable():
    config = settings({})
    assert config == AuthConfig()
    assert len(config.signing_key) >= 32  # a random key of this process


def test_variables_are_read_and_typed():
    config = settings({"HOTLINE_AUTH_SECRET_KEY": "k" * 40,
                       "HOTLINE_AUTH_SESSION_IDLE_S": "120",
                       "HOTLINE_AUTH_SECURE_COOKIES": "true",
                       "HOTLINE_AUTH_API_TOKEN": "a" * 30})
    assert (config.signing_key, config.session_idle_s, config.secure_cookies) == \
        ("k" * 40, 120, True)


@pytest.mark.parametrize("name,value,message", [
    ("HOTLINE_AUTH_SESSION_IDLE_S", "soon", "HOTLINE_AUTH_SESSION_IDLE_S must be an integer, got 'soon'"),
    ("HOTLINE_AUTH_LOCKOUT_FAILURES", "0", "HOTLINE_AUTH_LOCKOUT_FAILURES"),
    ("HOTLINE_AUTH_SECURE_COOKIES", "maybe", "HOTLINE_AUTH_SECURE_COOKIES"),
    ("HOTLINE_AUTH_SECRET_KEY", "short", "HOTLINE_AUTH_SECRET_KEY must be at least 32 characters"),
    ("HOTLINE_AUTH_API_TOKEN", "short", "HOTLINE_AUTH_API_TOKEN must be at least 24 characters"),
])
def test_a_bad_value_is_refused_with_its_name(name, value, message):
    with pytest.raises(ConfigError) as error:
        settings({name: value})
    assert message in str(error.value)
