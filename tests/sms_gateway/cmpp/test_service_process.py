"""The real service process (twistd) with a CMPP 3.0 bind to the simulated ISMG in a process
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

SERVICE_NUMBER = "106570019600110"
CMPP = Carrier(
    bind="cmcc", simulator="sms_gateway.cmpp.simulator",
    options=lambda ports_file: ["--version", "3", "--sp-id", "901234", "--password", "secret"],
    table=f"""protocol = "cmpp3"
sp_id = "901234"
src_id = "{SERVICE_NUMBER}"
service_id = "HOTLINE"
carriers = ["China Mobile"]""",
    env={"HOTLINE_SMS_BIND_CMCC_PASSWORD": "secret"},
    destination="13812345678", replier="13912345678", service_number=SERVICE_NUMBER,
    message_id=str.isdigit,  # each part's 64-bit Msg_Id in decimal
    lost="CMPP link to 127.0.0.1")


@pytest.mark.slow
def test_a_four_part_message_gets_every_report_and_a_reply_through_the_service(
        database, db_url, tmp_path):
    four_part_message_and_a_reply(CMPP, database, db_url, tmp_path)


@pytest.mark.slow
def test_the_link_cut_mid_batch_loses_nothing_and_resends_only_what_was_in_flight(
        database, db_url, tmp_path):
    cut_link_loses_nothing(CMPP, database, db_url, tmp_path)
