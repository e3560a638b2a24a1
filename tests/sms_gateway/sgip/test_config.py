"""An SGIP bind's settings: validated at start-up with errors naming the key, both secrets from
the environment, and the example configuration listing every key."""

import dataclasses
import re
import tomllib

import pytest

from hotline.config import PROJECT_DIR, ConfigError, SmsConfig, load_config
from sms_gateway.service import PROTOCOLS, bind_settings
from sms_gateway.sgip import SgipBindConfig, SgipLink

GOOD = dict(node_id=3053112345, login_name="hotline", smg_login_name="unicom")


@pytest.mark.parametrize("field, value, named", [
    ("protocol", "sgip13", "sgip.protocol"),
    ("node_id", 0, "sgip.node_id"),
    ("node_id", 1 << 32, "sgip.node_id"),
    ("login_name", "", "sgip.login_name"),
    ("smg_login_name", "x" * 17, "sgip.smg_login_name"),
    ("allowed_peers", (), "sgip.allowed_peers"),
    ("allowed_peers", ("smg.example",), "sgip.allowed_peers"),
    ("listen_port", 70000, "sgip.listen_port"),
    ("port", 0, "sgip.port"),
    ("sp_number", "1065-50", "sgip.sp_number"),
    ("corp_id", "1234", "sgip.corp_id"),
    ("service_type", "HOTLINE-SERVICE", "sgip.service_type"),
    ("fee_type", 4, "sgip.fee_type"),
    ("fee_value", "一角", "sgip.fee_value"),
    ("priority", 10, "sgip.priority"),
    ("msg_fmt", "gb18030", "sgip.msg_fmt"),
    ("report_flag", 4, "sgip.report_flag"),
    ("window", 0, "sgip.window"),
    ("idle_timeout", 0, "sgip.idle_timeout"),
    ("password", "p" * 17, "sgip.password"),
])
def test_a_bad_sgip_setting_is_refused_naming_the_key(field, value, named):
    with pytest.raises(ConfigError, match=re.escape(named)):
        SgipBindConfig(**{**GOOD, field: value})


def test_the_allow_list_takes_addresses_and_networks():
    config = SgipBindConfig(**GOOD, allowed_peers=("10.1.2.3", "192.168.0.0/24"))
    assert config.allows("10.1.2.3") and config.allows("192.168.0.77")
    assert not config.allows("10.1.2.4") and not config.allows("not an address")


def test_an_sgip_table_becomes_an_sgip_bind_with_both_secrets_from_the_environment(tmp_path):
    path = tmp_path / "hotline.toml"
    path.write_text('[sms]\nsender = "1065501960011"\n[sms.binds.unicom]\nprotocol = "sgip12"\n'
                    'node_id = 3053112345\nlogin_name = "hotline"\nsmg_login_name = "unicom"\n'
                    'allowed_peers = ["10.1.2.3"]\ncarriers = ["China Unicom"]\n',
                    encoding="utf-8")
    sms = load_config(path, environ={}).sms
    (bind,) = bind_settings(sms, environ={"HOTLINE_SMS_BIND_UNICOM_PASSWORD": "s1",
                                          "HOTLINE_SMS_BIND_UNICOM_SMG_PASSWORD": "s2"})
    assert (bind.protocol, bind.carriers) == ("sgip12", ("China Unicom",))
    assert isinstance(bind.config, SgipBindConfig)
    assert (bind.config.password, bind.config.smg_password) == ("s1", "s2")
    assert (bind.config.sp_number, bind.config.allowed_peers) == ("1065501960011", ("10.1.2.3",))
    assert PROTOCOLS["sgip12"][1] is SgipLink


def _example_block():
    lines = (PROJECT_DIR / "config" / "hotline.example.toml").read_text("utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# [sms.binds.")
                 and 'protocol = "sgip12"' in lines[i + 1])
    block = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        block.append(line[2:])
    return block


def test_the_example_lists_every_sgip_key_at_its_default_and_says_what_it_means():
    block = _example_block()
    binds = tomllib.loads("\n".join(block))["sms"]["binds"]
    ((name, table),) = binds.items()
    fields = dataclasses.fields(SgipBindConfig)
    assert set(table) == {field.name for field in fields} | {"carriers"}
    for field in fields:
        if field.name not in ("node_id", "login_name", "smg_login_name"):  # a site writes them
            default = field.default
            assert (tuple(table[field.name]) if isinstance(default, tuple)
                    else table[field.name]) == default, field.name
    assert [line for line in block[1:] if "#" not in line] == []
    (settings,) = bind_settings(SmsConfig(binds=binds), environ={})
    assert settings.protocol == "sgip12" and settings.name == name


def test_the_carriers_page_names_every_sgip_key_and_every_state():
    page = (PROJECT_DIR / "docs" / "sms" / "carriers.md").read_text("utf-8")
    start = page.index("## China Unicom: SGIP")
    section = page[start:]
    named = set(re.findall(r"`(\w+)`", section))
    assert {field.name for field in dataclasses.fields(SgipBindConfig)} <= named
    assert {"0", "1", "2"} <= set(re.findall(r"\| (\d) \|", section))
