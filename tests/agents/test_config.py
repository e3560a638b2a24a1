"""The web application's settings: the configuration's [auth] section (file, then
HOTLINE_AUTH_* variables), checked with the web app's own rules."""

import pytest

from agents.config import AuthConfig, auth_config
from hotline.config import ConfigError, load_config


def settings(environ):
    return auth_config(load_config(None, environ=environ).auth)


def test_defaults_without_any_variable_and_no_key_file():
    config = settings({"HOTLINE_AUTH_SECRET_KEY_FILE": ""})
    assert config == AuthConfig(secret_key_file="")
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


def test_the_web_app_settings_are_the_auth_section_itself(tmp_path):
    """One definition of the auth settings: no second class whose fields could drift."""
    from hotline.config import AuthSection

    assert AuthConfig is AuthSection
    section = load_config(None, environ={"HOTLINE_AUTH_SECRET_KEY": "k" * 40}).auth
    assert auth_config(section) is section


def test_the_length_rules_hold_wherever_the_settings_come_from(tmp_path):
    path = tmp_path / "hotline.toml"
    path.write_text('[auth]\napi_token = "too-short"\n', "utf-8")
    with pytest.raises(ConfigError, match="HOTLINE_AUTH_API_TOKEN must be at least 24"):
        load_config(path, environ={})  # before, only the web service's start refused it
    with pytest.raises(ConfigError, match="HOTLINE_AUTH_SECRET_KEY must be at least 32"):
        AuthConfig(secret_key="short")
    with pytest.raises(ConfigError, match="auth.lockout_s must be at least 1"):
        AuthConfig(lockout_s=0)
