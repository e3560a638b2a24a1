import dataclasses
import datetime as dt
import re
import tomllib

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


# Environment variables are checked like the file's keys -------------------------------------

@pytest.mark.parametrize("variable, suggestion", [
    ("HOTLINE_AUTH_SECURE_COOKIE", "HOTLINE_AUTH_SECURE_COOKIES"),
    ("HOTLINE_WEB_PROT", "HOTLINE_WEB_PORT"),
    ("HOTLINE_CALLBACKS_CALLING_HOUR", "HOTLINE_CALLBACKS_CALLING_HOURS"),  # a package's section
    ("HOTLINE_DATABASE", None),
])
def test_a_misspelt_environment_variable_is_refused_by_name(variable, suggestion):
    with pytest.raises(ConfigError) as raised:
        load_config(environ={variable: "true"})
    message = str(raised.value)
    assert f"unknown environment variable {variable}" in message
    if suggestion:
        assert f"did you mean {suggestion}?" in message


def test_variables_that_are_not_settings_are_the_documented_ones():
    from hotline.config import NOT_SETTINGS

    assert set(NOT_SETTINGS) == {"HOTLINE_CONFIG", "HOTLINE_NEW_AGENT_PASSWORD",
                                 "HOTLINE_TEST_PG_URL", "HOTLINE_BENCH_PG_URL"}
    config = load_config(environ={name: "" if name == "HOTLINE_CONFIG" else "x"
                                  for name in NOT_SETTINGS} | {"OTHER_TOOL_SETTING": "1"})
    assert config.web.port == 8080


def test_a_bind_password_variable_must_name_a_configured_bind(tmp_path):
    path = write(tmp_path, '[sms.binds.mobile]\nhost = "10.0.0.9"\nsystem_id = "hl"\n')
    config = load_config(path, environ={"HOTLINE_SMS_BIND_MOBILE_PASSWORD": "secret"})
    assert list(config.sms.binds) == ["mobile"]
    with pytest.raises(ConfigError, match="HOTLINE_SMS_BIND_MOBLIE_PASSWORD is the password of "
                                          "no bind: the configured .* are mobile"):
        load_config(path, environ={"HOTLINE_SMS_BIND_MOBLIE_PASSWORD": "secret"})
    with pytest.raises(ConfigError, match=r"are \(none\)"):
        load_config(environ={"HOTLINE_SMS_BIND_MOBILE_PASSWORD": "secret"})


# Numbers are finite, time zones exist --------------------------------------------------------

@pytest.mark.parametrize("section, key", [
    ("agi", "command_timeout_s"), ("sms", "lease_s"), ("metrics", "refresh_s"),
    ("callbacks", "retry_min"), ("messages", "broadcast_rate"), ("analysis", "min_ratio"),
])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nan_and_infinity_are_refused_in_the_file_and_the_environment(tmp_path, section, key,
                                                                      value):
    path = write(tmp_path, f"[{section}]\n{key} = {value}\n")
    with pytest.raises(ConfigError, match=f"{section}.{key} must be a finite number"):
        load_config(path, environ={})
    variable = f"HOTLINE_{section.upper()}_{key.upper()}"
    for text in (value, value.upper(), "1e999"):
        with pytest.raises(ConfigError, match=f"{variable} must be "):
            load_config(environ={variable: text})


def test_nan_is_refused_in_a_per_kind_table(tmp_path):
    path = write(tmp_path, "[callbacks.delay_h]\nhelp = nan\n")
    with pytest.raises(ConfigError, match="callbacks.delay_h.help must be a finite number"):
        load_config(path, environ={})


@pytest.mark.parametrize("zone", ["Asia/Shangai", "UTC+8", "", "Asia"])
def test_a_bad_timezone_names_its_key(tmp_path, zone):
    message = f"service.timezone must be a time zone name such as Asia/Shanghai, got '{zone}'"
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(write(tmp_path, f'[service]\ntimezone = "{zone}"\n'), environ={})
    with pytest.raises(ConfigError, match="service.timezone"):
        load_config(environ={"HOTLINE_SERVICE_TIMEZONE": zone})


# One rule for the database --------------------------------------------------------------------

def test_a_relative_sqlite_path_is_under_the_project_directory_wherever_one_runs(
        tmp_path, monkeypatch):
    from hotline.config import PROJECT_DIR

    expected = f"sqlite:///{PROJECT_DIR / 'var' / 'hotline.sqlite3'}"
    assert (PROJECT_DIR / "twisted_app.tac").exists()
    monkeypatch.chdir(tmp_path)
    assert load_config(environ={}).database.url == expected
    assert load_config(write(tmp_path, '[database]\nurl = "sqlite:///var/hotline.sqlite3"\n'),
                       environ={}).database.url == expected
    assert load_config(environ={"HOTLINE_DATABASE_URL": "sqlite:///var/other.db?timeout=5"}
                       ).database.url == f"sqlite:///{PROJECT_DIR / 'var' / 'other.db'}?timeout=5"
    absolute = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    assert load_config(environ={"HOTLINE_DATABASE_URL": absolute}).database.url == absolute
    assert load_config(environ={"HOTLINE_DATABASE_URL": "sqlite://"}).database.url == "sqlite://"


def test_the_environment_names_the_database_over_the_file(tmp_path):
    path = write(tmp_path, f'[database]\nurl = "sqlite:///{tmp_path}/file.db"\n')
    assert load_config(path, environ={}).database.url == f"sqlite:///{tmp_path}/file.db"
    assert load_config(path, environ={"HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path}/env.db"}
                       ).database.url == f"sqlite:///{tmp_path}/env.db"


def test_a_malformed_database_url_is_named(tmp_path):
    with pytest.raises(ConfigError, match="database.url must be a database URL"):
        load_config(environ={"HOTLINE_DATABASE_URL": "var/hotline.sqlite3"})


def test_the_makefile_leaves_the_database_to_the_configuration():
    """`make` exported a database URL that beat the one in HOTLINE_CONFIG: the service and
    the `hotline` command then worked on two databases."""
    from hotline.config import PROJECT_DIR

    makefile = (PROJECT_DIR / "Makefile").read_text("utf-8")
    code = [line for line in makefile.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in code if "HOTLINE_DATABASE_URL" in line]


# The example configuration lists every key -------------------------------------------------

def _example():
    from hotline.config import PROJECT_DIR

    return (PROJECT_DIR / "config" / "hotline.example.toml").read_text("utf-8")


def _all_sections():
    from hotline.config import SECTIONS, extension_sections

    return {**SECTIONS, **extension_sections()}


def _default(field):
    if field.default is not dataclasses.MISSING:
        return field.default
    return field.default_factory()


def _key_lines(text):
    """(table, key) -> (the key's line, whether a comment line stands just above it), for
    `key = ...` lines and `[table.key]` headers, the commented-out bind table's included."""
    found, table, note_above = {}, None, False
    for line in text.splitlines():
        in_bind = line.startswith("# [sms.binds.") or (
            (table or "").startswith("sms.binds.") and line.startswith("# "))
        code = line[2:] if in_bind else line
        if header := re.match(r"\[([\w.]+)\]", code):
            table = header.group(1)
            parent, _, key = table.rpartition(".")
            found[(parent, key)] = (code.split("]", 1)[1], note_above)
        elif (key := re.match(r"(\w+)\s*=", code)) and table is not None:
            found[(table, key.group(1))] = (code.split("=", 1)[1], note_above)
        else:
            note_above = line.startswith("#")
            continue
        note_above = False
    return found


def _bind_block(text):
    """The commented-out [sms.binds.NAME] table, uncommented."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# [sms.binds."))
    block = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        block.append(line[2:])
    return tomllib.loads("\n".join(block))


def test_the_example_lists_every_key_of_every_section_at_its_default():
    example = tomllib.loads(_example())
    sections = _all_sections()
    assert {"sms", "messages", "callbacks", "ivr", "agi", "analysis"} <= set(sections)
    missing = [f"[{name}] {field.name}" for name, cls in sections.items()
               for field in dataclasses.fields(cls)
               if field.name not in example.get(name, {})
               and (name, field.name) != ("sms", "binds")]  # the commented table below
    assert missing == []
    loaded, defaults = load_config(_example_path(), environ={}), load_config(environ={})
    for name in sections:
        assert getattr(loaded, name) == getattr(defaults, name), f"[{name}] is not the default"


def test_the_example_lists_every_bind_key_at_its_default():
    from hotline.config import SmsConfig
    from sms_gateway.service import bind_settings
    from sms_gateway.smpp.config import SmppBindConfig

    binds = _bind_block(_example())["sms"]["binds"]
    (name, table), = binds.items()
    expected = {field.name for field in dataclasses.fields(SmppBindConfig)} | {"carriers"}
    assert set(table) == expected
    for field in dataclasses.fields(SmppBindConfig):
        if field.default is not None:
            assert table[field.name] == field.default, field.name
    settings, = bind_settings(SmsConfig(binds=binds), environ={})  # uncommented, it is valid
    assert settings.name == name


def test_every_key_in_the_example_says_what_it_means():
    """A comment after the value, or on the line above (which may introduce several)."""
    from sms_gateway.smpp.config import SmppBindConfig

    lines = _key_lines(_example())
    keys = [(name, field.name) for name, cls in _all_sections().items()
            for field in dataclasses.fields(cls) if (name, field.name) != ("sms", "binds")]
    bind = next(table for table, _ in lines if table.startswith("sms.binds."))
    keys += [(bind, field.name) for field in dataclasses.fields(SmppBindConfig)]
    undocumented = [f"[{table}] {key}" for table, key in keys
                    if "#" not in lines[(table, key)][0] and not lines[(table, key)][1]]
    assert undocumented == []


def _example_path():
    from hotline.config import PROJECT_DIR

    return PROJECT_DIR / "config" / "hotline.example.toml"


def test_the_readme_names_every_bind_key():
    from hotline.config import PROJECT_DIR
    from sms_gateway.smpp.config import SmppBindConfig

    readme = (PROJECT_DIR / "README.md").read_text("utf-8")
    start = readme.index("Binds are `[sms.binds.NAME]` tables")
    listing = readme[start:readme.index("Routing is by", start)]
    named = set(re.findall(r"`(\w+)`", listing))
    assert {field.name for field in dataclasses.fields(SmppBindConfig)} | {"carriers"} <= named
    assert "..." not in listing
