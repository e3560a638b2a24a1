"""The real service process (twistd) with an SGIP 1.2 bind to the simulated SMG in a process
of its own, the SMG binding back to the service's listener to deliver reports and replies: a four-part Chinese message with a character outside the BMP where a part ends
gets every part's status report, a reply to an extension of the service number is stored,
and with the link cut in the middle of a batch nothing is lost and only what was in flight
goes twice."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest
from sqlalchemy import create_engine, func, select

from schemas.enums import SmsKind, SmsState
from schemas.sms import HeldReceiptState, SmsHeldReceipt, SmsInbound, SmsMessage, SmsPart
from sms_gateway import outbox
from tests.sms_gateway.cmpp.test_segments import boundary_text
from tests.support.appeals import utc
from tests.support.processes import ROOT, start_service, wait_for, wait_for_ports

SERVICE_NUMBER = "1065501960011"
EXTENSION = "01"  # the site routes survey answers by an extension of its 106 number


def start_smg(ports_file, *options: str) -> tuple[subprocess.Popen, int, int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "sms_gateway.sgip.simulator", "--port", "0",
         "--login-name", "hotline", "--password", "secret", "--smg-login-name", "unicom",
         "--smg-password", "smgsecret", "--sp-ports-file", str(ports_file),
         "--sp-port-name", "sms_sgip_unicom", "--report-delay", "0.2",
         "--control-port", "0", "--mo-destination", SERVICE_NUMBER + EXTENSION, *options],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    lines = [process.stdout.readline(), process.stdout.readline()]
    if not (lines[0].startswith("listening on ") and lines[1].startswith("control on ")):
        process.kill()
        raise RuntimeError(f"the SMG simulator did not start: {lines!r}")
    return process, int(lines[0].split()[-1]), int(lines[1].split()[-1])


def inject_reply(control_port: int, source: str, text: str) -> str:
    with socket.create_connection(("127.0.0.1", control_port), timeout=30) as connection:
        connection.sendall(f"MO {source} {text}\n".encode())
        return connection.makefile("r", encoding="utf-8").readline().strip()


def configure(tmp_path, port: int, extra: str = ""):
    config = tmp_path / "hotline.toml"
    config.write_text(f"""
[sms]
poll_s = 0.1
retry_initial_s = 0.5
lease_s = 10
{extra}
[sms.binds.unicom]
protocol = "sgip12"
host = "127.0.0.1"
port = {port}
node_id = 3053112345
login_name = "hotline"
listen_host = "127.0.0.1"
listen_port = 0
allowed_peers = ["127.0.0.1"]
smg_login_name = "unicom"
sp_number = "{SERVICE_NUMBER}"
corp_id = "12345"
service_type = "HOTLINE"
carriers = ["China Unicom"]
reconnect_initial_delay = 0.2
reconnect_max_delay = 1.0
""", encoding="utf-8")
    return config


@pytest.mark.slow
def test_a_four_part_message_gets_every_report_and_a_reply_through_the_service(
        database, db_url, tmp_path):
    smg, port, control = start_smg(tmp_path / "service.ports.json", )
    config = configure(tmp_path, port)
    text = boundary_text()
    message = database.write_now(outbox.enqueue, kind=SmsKind.TEST, destination="13012345678",
                                 text=text, now=utc(2026, 1, 1))
    engine = create_engine(db_url)

    def scalar(query):
        with engine.connect() as connection:
            return connection.scalar(query)

    log = tmp_path / "service.log"
    service = start_service(config, db_url, log, HOTLINE_SMS_BIND_UNICOM_PASSWORD="secret",
                            HOTLINE_SMS_BIND_UNICOM_SMG_PASSWORD="smgsecret")
    try:
        wait_for(lambda: scalar(select(SmsMessage.state).where(SmsMessage.id == message.id))
                 is SmsState.DELIVERED, 90, "the message to be delivered")
        web = wait_for_ports(log.with_suffix(".ports.json"), service, ("web",))["web"]
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{web}/healthz").read())
        assert health["links"]["smsc:unicom"]["up"] is True  # whatever the bind's protocol
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{web}/metrics").read().decode()
        assert 'hotline_sms_bind_up{bind="unicom"} 1.0' in metrics
        assert inject_reply(control, "13012345679", "满意") == "OK 0"
        wait_for(lambda: scalar(select(func.count()).select_from(SmsInbound)) == 1, 30,
                 "the reply to be stored")
        service.terminate()
        assert service.wait(20) in (0, -signal.SIGTERM)
    finally:
        for process in (service, smg):
            if process.poll() is None:
                process.kill()
    with engine.connect() as connection:
        row = connection.execute(select(SmsMessage).where(SmsMessage.id == message.id)).one()
        parts = connection.execute(select(SmsPart).where(SmsPart.message_id == message.id)
                                   .order_by(SmsPart.part_index)).all()
        reply = connection.execute(select(SmsInbound)).one()
    engine.dispose()
    assert (row.link, row.encoding, row.part_count) == ("unicom", "ucs2", 4)
    assert [p.state for p in parts] == [SmsState.DELIVERED] * 4
    # each part's Sequence Number: node id, time, counter, ten digits each
    assert all(p.carrier_message_id.startswith("3053112345") for p in parts)
    assert len({p.carrier_message_id for p in parts}) == 4
    assert (reply.source, reply.destination, reply.text) == (
        "13012345679", SERVICE_NUMBER + EXTENSION, "满意")


MESSAGES = 20
IN_FLIGHT = 8


@pytest.mark.slow
def test_the_link_cut_mid_batch_loses_nothing_and_resends_only_what_was_in_flight(
        database, db_url, tmp_path):
    # The SMG answers each Submit 0.1 s late, so a window is in flight when it closes the
    # connection on the 30th PDU it reads, 80 parts on their way.
    smg, port, control = start_smg(tmp_path / "service.ports.json", "--drop-after-pdus", "30", "--response-delay", "0.1")
    config = configure(tmp_path, port, f"max_in_flight = {IN_FLIGHT}\ndispatch_batch = 4")
    for n in range(MESSAGES):
        database.write_now(outbox.enqueue, kind=SmsKind.TEST, destination="13012345678",
                           text=f"{n:02d}" + boundary_text(), now=utc(2026, 1, 1))
    engine = create_engine(db_url)

    def count(*where):
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(SmsMessage).where(*where))

    log = tmp_path / "service.log"
    service = start_service(config, db_url, log, HOTLINE_SMS_BIND_UNICOM_PASSWORD="secret",
                            HOTLINE_SMS_BIND_UNICOM_SMG_PASSWORD="smgsecret")
    try:
        wait_for(lambda: count(SmsMessage.state == SmsState.DELIVERED) == MESSAGES, 120,
                 "every message to be delivered")
        assert inject_reply(control, "13012345679", "1") == "OK 0"
        with engine.connect() as connection:
            wait_for(lambda: connection.scalar(select(func.count()).select_from(SmsInbound)),
                     30, "the reply to be stored")
        service.terminate()
        assert service.wait(20) in (0, -signal.SIGTERM)
    finally:
        for process in (service, smg):
            if process.poll() is None:
                process.kill()
    text = log.read_text(errors="replace")
    assert "SGIP link to 127.0.0.1" in text and "lost" in text  # the cut did happen
    with engine.connect() as connection:
        delivered_parts = connection.scalar(select(func.count()).select_from(SmsPart).where(
            SmsPart.state == SmsState.DELIVERED))
        # Reports for parts the SMG took in an attempt whose answers the cut lost: the
        # parts that went twice. They are held, matched to nothing, until they expire.
        duplicates = connection.scalar(select(func.count()).select_from(SmsHeldReceipt).where(
            SmsHeldReceipt.state == HeldReceiptState.PENDING))
    engine.dispose()
    assert count(SmsMessage.state == SmsState.FAILED) == 0
    assert delivered_parts == MESSAGES * 4  # every part of every message has its report
    assert count(SmsMessage.attempts > 1) <= IN_FLIGHT  # only what was in flight went again
    assert duplicates <= IN_FLIGHT * 4
