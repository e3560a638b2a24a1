"""The real service process (twistd) with an SMGP 3.0 bind to the simulated SMGW in a process
of its own: a four-part Chinese message with a character outside the BMP where a part ends
gets every part's status report, a reply to an extension of the service number is stored,
and with the link cut in the middle of a batch nothing is lost and only what was in flight
goes twice (`tests.sms_gateway.carrier_process`)."""

from __future__ import annotations

import pytest

from tests.sms_gateway.carrier_process import (
    Carrier,
    cut_link_loses_nothing,
    four_part_message_and_a_reply,
)

SERVICE_NUMBER = "1180001019600110"
SMGP = Carrier(
    bind="telecom", simulator="sms_gateway.smgp.simulator",
    options=lambda ports_file: ["--client-id", "10690001", "--password", "secret"],
    table=f"""protocol = "smgp3"
client_id = "10690001"
src_term_id = "{SERVICE_NUMBER}"
service_id = "HOTLINE"
carriers = ["China Telecom"]""",
    env={"HOTLINE_SMS_BIND_TELECOM_PASSWORD": "secret"},
    destination="13312345678", replier="13312345679", service_number=SERVICE_NUMBER,
    message_id=lambda i: len(i) == 20,  # each part's 10-octet MsgID, as its 20 hex digits
    lost="SMGP link to 127.0.0.1")


@pytest.mark.slow
def test_a_four_part_message_gets_every_report_and_a_reply_through_the_service(
        database, db_url, tmp_path):
    four_part_message_and_a_reply(SMGP, database, db_url, tmp_path)


@pytest.mark.slow
def test_the_link_cut_mid_batch_loses_nothing_and_resends_only_what_was_in_flight(
        database, db_url, tmp_path):
    cut_link_loses_nothing(SMGP, database, db_url, tmp_path)
