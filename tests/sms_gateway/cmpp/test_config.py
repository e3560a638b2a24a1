"""A CMPP bind's settings: validated at start-up with errors naming the key, the secret from the
environment, and the example configuration listing every key."""

import dataclasses
import re
import tomllib

import pytest

from hotline.config import PROJECT_DIR, ConfigError, SmsConfig, load_config
from sms_gateway.cmpp import CmppBindConfig, CmppLink
from sms_gateway.service import bind_settings
from sms_gateway.smpp import SmppBindConfig

GOOD = dict(protocol="cmpp3", sp_id="901234")


@pytest.mark.parametrize("field, value, named", [
    ("protocol", "cmpp4", "cmpp.protocol"),
    ("sp_id", "", "cmpp.sp_id"),
    ("sp_id", "9012345", "cmpp.sp_id"),
    ("src_id", "1065700101" * 3, "cmpp.src_id"),
    ("src_id", "106-57", "cmpp.src_id"),
    ("service_id", "HOTLINE-SERVICE", "cmpp.service_id"),
    ("fee_user_type", 4, "cmpp.fee_user_type"),
    ("fee_user_type", 3, "cmpp.fee_terminal_id"),  # 3 needs the charged number
    ("fee_type", "06", "cmpp.fee_type"),
    ("fee_code", "一角", "cmpp.fee_code"),
    ("msg_fmt", "gb18030", "cmpp.msg_fmt"),
    ("registered_delivery", 2, "cmpp.registered_delivery"),
    ("window", 0, "cmpp.window"),
    ("rate", 0, "cmpp.rate"),
    ("heartbeat_interval", 0, "cmpp.heartbeat_interval"),
    ("heartbeat_misses", 0, "cmpp.heartbeat_misses"),
    ("port", 70000, "cmpp.port"),
    ("password", "密钥", "cmpp.password"),
])
def test_a_bad_cmpp_setting_is_refused_naming_the_key(field, value, named):
    with pytest.raises(ConfigError, match=re.escape(named)):
        CmppBindConfig(**{**GOOD, field: value})


def test_a_bad_secret_is_refused_without_echoing_it():
    with pytest.raises(ConfigError) as raised:
        CmppBindConfig(**GOOD, password="密钥abc")
    assert "cmpp.password" in str(raised.value) and "密钥abc" not in str(raised.value)


def test_fee_terminal_id_is_32_characters_in_3_0_and_21_in_2_0():
    CmppBindConfig(**GOOD, fee_user_type=3, fee_terminal_id="1" * 32)
    with pytest.raises(ConfigError, match="cmpp.fee_terminal_id"):
        CmppBindConfig(sp_id="901234", protocol="cmpp2", fee_user_type=3,
                       fee_terminal_id="1" * 22)


def write(tmp_path, text):
    path = tmp_path / "hotline.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ={}).sms


def test_a_cmpp_table_becomes_a_cmpp_bind_with_the_secret_from_the_environment(tmp_path):
    sms = write(tmp_path, '[sms]\nsender = "10657001019"\n[sms.binds.cmcc]\n'
                          'protocol = "cmpp2"\nsp_id = "901234"\ncarriers = ["China Mobile"]\n')
    (bind,) = bind_settings(sms, environ={"HOTLINE_SMS_BIND_CMCC_PASSWORD": "s3cret"})
    assert (bind.name, bind.protocol, bind.carriers) == ("cmcc", "cmpp2", ("China Mobile",))
    assert isinstance(bind.config, CmppBindConfig)
    assert (bind.config.version, bind.config.password, bind.config.src_id) == (
        0x20, "s3cret", "10657001019")  # the service number defaults to [sms] sender


def test_a_table_without_protocol_is_still_smpp(tmp_path):
    (bind,) = bind_settings(write(tmp_path, '[sms.binds.sim]\nport = 2775\n'), environ={})
    assert bind.protocol == "smpp" and isinstance(bind.config, SmppBindConfig)


@pytest.mark.parametrize("table, named", [
    ('protocol = "sgip"', "sms.binds.cmcc.protocol must be one of smpp, cmpp2, cmpp3, smgp3, sgip12"),
    ('protocol = "cmpp3"\nsp_id = "901234"\nsystem_id = "x"',
     "unknown key(s) in sms.binds.cmcc (protocol cmpp3): system_id"),
    ('protocol = "smpp"\nsp_id = "901234"', "unknown key(s) in sms.binds.cmcc (protocol smpp)"),
    ('protocol = "cmpp3"', "sms.binds.cmcc: cmpp.sp_id"),
    ('protocol = "cmpp3"\nsp_id = "901234"\nwindow = "16"',
     "sms.binds.cmcc: cmpp.window must be an integer"),
    ('protocol = "cmpp3"\nsp_id = "901234"\nrate = inf',
     "sms.binds.cmcc: cmpp.rate must be a finite number"),
])
def test_a_bad_bind_table_stops_start_up_naming_the_bind_and_the_key(tmp_path, table, named):
    sms = write(tmp_path, f"[sms.binds.cmcc]\n{table}\n")
    with pytest.raises(ConfigError) as raised:
        bind_settings(sms, environ={})
    assert named in str(raised.value)


def test_the_service_builds_a_cmpp_link_for_a_cmpp_bind():
    from sms_gateway.service import PROTOCOLS

    assert PROTOCOLS["cmpp2"][1] is CmppLink and PROTOCOLS["cmpp3"][1] is CmppLink


# -- the example configuration and the README ----------------------------------------------

def _example_block():
    """The commented-out CMPP table of the example configuration, uncommented."""
    lines = (PROJECT_DIR / "config" / "hotline.example.toml").read_text("utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# [sms.binds.")
                 and 'protocol = "cmpp' in lines[i + 1])
    block = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        block.append(line[2:])
    return block


def test_the_example_lists_every_cmpp_key_at_its_default_and_says_what_it_means():
    block = _example_block()
    binds = tomllib.loads("\n".join(block))["sms"]["binds"]
    ((name, table),) = binds.items()
    fields = dataclasses.fields(CmppBindConfig)
    assert set(table) == {field.name for field in fields} | {"carriers"}
    for field in fields:
        if field.name not in ("protocol", "sp_id"):  # the two a site always writes
            assert table[field.name] == field.default, field.name
    undocumented = [line for line in block[1:] if "#" not in line]
    assert undocumented == []
    (settings,) = bind_settings(SmsConfig(binds=binds), environ={})  # uncommented, it is valid
    assert settings.protocol == "cmpp3" and settings.name == name


def test_the_readme_names_every_cmpp_key_and_every_stat():
    from sms_gateway.cmpp.deliver import STATES

    readme = (PROJECT_DIR / "README.md").read_text("utf-8")
    start = readme.index("### China Mobile: CMPP")
    section = readme[start:readme.index("\n## ", start)]
    named = set(re.findall(r"`(\w+)`", section))
    assert {field.name for field in dataclasses.fields(CmppBindConfig)} <= named
    assert set(STATES) <= set(re.findall(r"\| (\w+) \|", section))
