import datetime as dt

import pytest

from hotline.config import ConfigError, load_config


def write(tmp_path, text):
    path = tmp_path / "hotline.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_load_without_a_file():
    config = load_config(environ={})
    assert config.agi.port == 4573
    assert config.web.port == 8080
    assert config.database.url.startswith("sqlite:///")
    assert config.appeals.deadline_working_days["complaint"] == 15


def test_file_values_are_read(tmp_path):
    path = write(tmp_path, '[agi]\nport = 4600\nallow = ["10.0.0.5"]\n[calendar]\n'
                           'extra_holidays = [2027-01-01]\n')
    config = load_config(path, environ={})
    assert config.agi.port == 4600
    assert config.agi.allow == ("10.0.0.5",)
    assert config.calendar.extra_holidays == (dt.date(2027, 1, 1),)


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, "[web]\nport = 9000\n")
    config = load_config(path, environ={"HOTLINE_WEB_PORT": "9100",
                                        "HOTLINE_DATABASE_URL": "postgresql://db/hotline",
                                        "HOTLINE_AGI_ALLOW": "10.0.0.5, 10.0.0.6",
                                        "HOTLINE_AMI_ENABLED": "no"})
    assert config.web.port == 9100
    assert config.database.url == "postgresql://db/hotline"
    assert config.agi.allow == ("10.0.0.5", "10.0.0.6")
    assert config.ami.enabled is False


def test_config_file_is_named_by_hotline_config(tmp_path):
    path = write(tmp_path, "[agi]\nport = 4999\n")
    assert load_config(environ={"HOTLINE_CONFIG": str(path)}).agi.port == 4999


def test_deadline_override_keeps_the_other_kinds():
    config = load_config(environ={"HOTLINE_APPEALS_DEADLINE_WORKING_DAYS": "help=3"})
    assert config.appeals.deadline_working_days["help"] == 3
    assert config.appeals.deadline_working_days["complaint"] == 15


@pytest.mark.parametrize("text, named", [
    ("[web]\nport = \"eighty\"\n", "web.port must be an integer"),
    ("[web]\nport = 70000\n", "web.port must be at most 65535"),
    ("[web]\nprot = 80\n", "unknown key(s) in [web]: prot"),
    ("[wbe]\nport = 80\n", "unknown configuration section(s): wbe"),
    ("[ami]\nauth = \"sha1\"\n", "ami.auth must be one of md5, plain"),
    ("[database]\npool_threads = 0\n", "database.pool_threads must be at least 1"),
    ("[agi]\nallow = \"10.0.0.1\"\n", "agi.allow must be a list, each a string"),
    ("[appeals.deadline_working_days]\nhelp = 0\n", "appeals.deadline_working_days must be at least 1"),
    ("[appeals.deadline_working_days]\ntheft = 3\n", "unknown kind(s) theft"),
    ("[calendar]\nextra_holidays = [\"someday\"]\n", "calendar.extra_holidays must be a date (YYYY-MM-DD), got 'someday'"),
    ("[web\nport = 1\n", "is not valid TOML"),
])
def test_bad_file_value_is_named_in_the_error(tmp_path, text, named):
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text), environ={})
    assert named in str(raised.value)


@pytest.mark.parametrize("variable, value, named", [
    ("HOTLINE_AGI_PORT", "four", "HOTLINE_AGI_PORT must be an integer, got 'four'"),
    ("HOTLINE_WEB_PORT", "-1", "HOTLINE_WEB_PORT must be at least 0"),
    ("HOTLINE_AMI_ENABLED", "maybe", "HOTLINE_AMI_ENABLED must be true or false"),
    ("HOTLINE_APPEALS_DEADLINE_WORKING_DAYS", "help", "must be key=value pairs"),
])
def test_bad_environment_value_is_named_in_the_error(variable, value, named):
    with pytest.raises(ConfigError) as raised:
        load_config(environ={variable: value})
    assert named in str(raised.value)


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_example_config_file_is_valid():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "config" / "hotline.example.toml"
    assert load_config(example, environ={}).service.hotline_number == "9600110"
