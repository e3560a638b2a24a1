"""`hotline sms status` names the bind and the protocol that carried a message."""

from hotline.config import load_config
from sms_gateway.cli import _link_label


def test_the_status_line_names_the_bind_and_its_protocol(tmp_path):
    path = tmp_path / "hotline.toml"
    path.write_text('[sms.binds.telecom]\nprotocol = "smgp3"\nclient_id = "10690001"\n'
                    '[sms.binds.mobile]\nport = 2775\n', encoding="utf-8")
    config = load_config(path, environ={})
    assert _link_label(config, "telecom") == "telecom (smgp3)"
    assert _link_label(config, "mobile") == "mobile (smpp)"
    assert _link_label(config, "gone") == "gone"  # a bind since removed from the file
    assert _link_label(config, None) == "-"


def test_send_refuses_at_once_a_text_over_the_part_limit_naming_the_part_count(tmp_path, capsys):
    import argparse

    from sms_gateway.cli import cmd_send

    database = tmp_path / "hotline.sqlite3"
    path = tmp_path / "hotline.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{database}"\n', encoding="utf-8")
    config = load_config(path, environ={})
    text = "警" * 5000  # 75 UCS2 parts; at most 6 by default
    assert cmd_send(config, argparse.Namespace(number="13812345678", text=text)) == 1
    out = capsys.readouterr().out
    assert "需要 75 条（ucs2），最多 6 条" in out
    assert not database.exists()  # nothing queued: the database was not even opened
