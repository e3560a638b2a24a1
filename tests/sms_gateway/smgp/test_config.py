"""An SMGP bind's settings: validated at start-up with errors naming the key, the secret from
the environment, and the example configuration listing every key."""

import dataclasses
import re
import tomllib

import pytest

from hotline.config import PROJECT_DIR, ConfigError, SmsConfig, load_config
from sms_gateway.service import PROTOCOLS, bind_settings
from sms_gateway.smgp import SmgpBindConfig, SmgpLink

GOOD = dict(client_id="10690001")


@pytest.mark.parametrize("field, value, named", [
    ("protocol", "smgp2", "smgp.protocol"),
    ("client_id", "", "smgp.client_id"),
    ("client_id", "106900011", "smgp.client_id"),
    ("src_term_id", "1" * 22, "smgp.src_term_id"),
    ("src_term_id", "118-0001", "smgp.src_term_id"),
    ("service_id", "HOTLINE-SERVICE", "smgp.service_id"),
    ("fee_type", "05", "smgp.fee_type"),
    ("fee_code", "一角", "smgp.fee_code"),
    ("fixed_fee", "1.5", "smgp.fixed_fee"),
    ("charge_term_id", "133-1234", "smgp.charge_term_id"),
    ("priority", 4, "smgp.priority"),
    ("msg_fmt", "gb18030", "smgp.msg_fmt"),
    ("need_report", 2, "smgp.need_report"),
    ("login_mode", "both", "smgp.login_mode"),
    ("window", 0, "smgp.window"),
    ("rate", 0, "smgp.rate"),
    ("heartbeat_misses", 0, "smgp.heartbeat_misses"),
    ("port", 70000, "smgp.port"),
    ("password", "s" * 16, "smgp.password"),
])
def test_a_bad_smgp_setting_is_refused_naming_the_key(field, value, named):
    with pytest.raises(ConfigError, match=re.escape(named)):
        SmgpBindConfig(**{**GOOD, field: value})


def test_a_bad_secret_is_refused_without_echoing_it():
    with pytest.raises(ConfigError) as raised:
        SmgpBindConfig(**GOOD, password="密钥abc")
    assert "smgp.password" in str(raised.value) and "密钥abc" not in str(raised.value)


def test_an_smgp_table_becomes_an_smgp_bind_with_the_secret_from_the_environment(tmp_path):
    path = tmp_path / "hotline.toml"
    path.write_text('[sms]\nsender = "1180001019600110"\n[sms.binds.telecom]\n'
                    'protocol = "smgp3"\nclient_id = "10690001"\ncarriers = ["China Telecom"]\n',
                    encoding="utf-8")
    sms = load_config(path, environ={}).sms
    (bind,) = bind_settings(sms, environ={"HOTLINE_SMS_BIND_TELECOM_PASSWORD": "s3cret"})
    assert (bind.name, bind.protocol, bind.carriers) == ("telecom", "smgp3", ("China Telecom",))
    assert isinstance(bind.config, SmgpBindConfig)
    assert (bind.config.password, bind.config.src_term_id) == ("s3cret", "1180001019600110")
    assert PROTOCOLS["smgp3"][1] is SmgpLink


@pytest.mark.parametrize("table, named", [
    ('protocol = "smgp3"\nclient_id = "10690001"\nsp_id = "x"',
     "unknown key(s) in sms.binds.telecom (protocol smgp3): sp_id"),
    ('protocol = "smgp3"', "sms.binds.telecom: smgp.client_id"),
    ('protocol = "smgp3"\nclient_id = "10690001"\nwindow = "16"',
     "sms.binds.telecom: smgp.window must be an integer"),
])
def test_a_bad_bind_table_stops_start_up_naming_the_bind_and_the_key(tmp_path, table, named):
    path = tmp_path / "hotline.toml"
    path.write_text(f"[sms.binds.telecom]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        bind_settings(load_config(path, environ={}).sms, environ={})
    assert named in str(raised.value)


def _example_block():
    """The commented-out SMGP table of the example configuration, uncommented."""
    lines = (PROJECT_DIR / "config" / "hotline.example.toml").read_text("utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# [sms.binds.")
                 and 'protocol = "smgp3"' in lines[i + 1])
    block = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        block.append(line[2:])
    return block


def test_the_example_lists_every_smgp_key_at_its_default_and_says_what_it_means():
    block = _example_block()
    binds = tomllib.loads("\n".join(block))["sms"]["binds"]
    ((name, table),) = binds.items()
    fields = dataclasses.fields(SmgpBindConfig)
    assert set(table) == {field.name for field in fields} | {"carriers"}
    for field in fields:
        if field.name != "client_id":  # the one a site always writes
            assert table[field.name] == field.default, field.name
    assert [line for line in block[1:] if "#" not in line] == []
    (settings,) = bind_settings(SmsConfig(binds=binds), environ={})  # uncommented, it is valid
    assert settings.protocol == "smgp3" and settings.name == name


def test_the_carriers_page_names_every_smgp_key_and_every_stat():
    from sms_gateway.smgp.deliver import STATES

    page = (PROJECT_DIR / "docs" / "sms" / "carriers.md").read_text("utf-8")
    start = page.index("## China Telecom: SMGP")
    section = page[start:page.index("\n## ", start + 1)]
    named = set(re.findall(r"`(\w+)`", section))
    assert {field.name for field in dataclasses.fields(SmgpBindConfig)} <= named
    assert set(STATES) <= set(re.findall(r"\| (\w+) \|", section))
