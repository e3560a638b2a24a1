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
