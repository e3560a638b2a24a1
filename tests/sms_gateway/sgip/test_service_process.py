"""The real service process (twistd) with an SGIP 1.2 bind to the simulated SMG in a process
of its own, the SMG binding back to the service's listener (its port read from the service's
ports file) to deliver Reports and replies: a four-part Chinese message with a character
outside the BMP where a part ends gets every part's Report, a reply to an extension of the
service number is stored, and with the link cut in the middle of a batch nothing is lost and
only what was in flight goes twice (`tests.sms_gateway.carrier_process`)."""

from __future__ import annotations

import pytest

from tests.sms_gateway.carrier_process import (
    Carrier,
    cut_link_loses_nothing,
    four_part_message_and_a_reply,
)

SERVICE_NUMBER = "1065501960011"
SGIP = Carrier(
    bind="unicom", simulator="sms_gateway.sgip.simulator",
    options=lambda ports_file: [
        "--login-name", "hotline", "--password", "secret", "--smg-login-name", "unicom",
        "--smg-password", "smgsecret", "--sp-ports-file", str(ports_file),
        "--sp-port-name", "sms_sgip_unicom"],
    table=f"""protocol = "sgip12"
node_id = 3053112345
login_name = "hotline"
listen_host = "127.0.0.1"
listen_port = 0
allowed_peers = ["127.0.0.1"]
smg_login_name = "unicom"
sp_number = "{SERVICE_NUMBER}"
corp_id = "12345"
service_type = "HOTLINE"
carriers = ["China Unicom"]""",
    env={"HOTLINE_SMS_BIND_UNICOM_PASSWORD": "secret",
         "HOTLINE_SMS_BIND_UNICOM_SMG_PASSWORD": "smgsecret"},
    destination="13012345678", replier="13012345679", service_number=SERVICE_NUMBER,
    # each part's Sequence Number: node id, time, counter, ten digits each
    message_id=lambda i: len(i) == 30 and i.startswith("3053112345"),
    lost="SGIP link to 127.0.0.1")


@pytest.mark.slow
def test_a_four_part_message_gets_every_report_and_a_reply_through_the_service(
        database, db_url, tmp_path):
    four_part_message_and_a_reply(SGIP, database, db_url, tmp_path)


@pytest.mark.slow
def test_the_link_cut_mid_batch_loses_nothing_and_resends_only_what_was_in_flight(
        database, db_url, tmp_path):
    cut_link_loses_nothing(SGIP, database, db_url, tmp_path)
