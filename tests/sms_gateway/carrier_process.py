"""The two end-to-end runs every carrier protocol must pass, through the real service process
(twistd) and that protocol's simulated gateway in a process of its own: a four-part Chinese
message with a character outside the BMP where a part ends gets every part's report and a
reply to an extension of the service number is stored; and with the link cut in the middle
of a batch nothing is lost and only what was in flight goes twice.

Each protocol's test module describes its gateway (`Carrier`) and calls the two runs."""

from __future__ import annotations

import dataclasses
import json
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, func, select

from schemas.enums import SmsKind, SmsState
from schemas.sms import HeldReceiptState, SmsHeldReceipt, SmsInbound, SmsMessage, SmsPart
from sms_gateway import outbox
from tests.sms_gateway.cmpp.test_segments import boundary_text
from tests.support.appeals import utc
from tests.support.processes import ROOT, start_service, wait_for, wait_for_ports

EXTENSION = "01"  # sites route survey answers by an extension of their service number
MESSAGES = 20
IN_FLIGHT = 8


@dataclasses.dataclass(frozen=True)
class Carrier:
    bind: str  # the bind's name
    simulator: str  # its module, run with `python -m`
    options: Callable[[Path], list[str]]  # the simulator's options (given the ports file)
    table: str  # the [sms.binds.NAME] keys but port, `{port}` where the simulator listens
    env: dict[str, str]  # the secrets
    destination: str  # a number of the carrier's
    replier: str  # the citizen who replies
    service_number: str
    message_id: Callable[[str], bool]  # what a part's carrier message id looks like
    lost: str  # how the log says the cut link was lost


def start_gateway(carrier: Carrier, ports_file: Path, *options: str
                  ) -> tuple[subprocess.Popen, int, int]:
    process = subprocess.Popen(
        [sys.executable, "-m", carrier.simulator, "--port", "0", "--report-delay", "0.2",
         "--control-port", "0", "--mo-destination", carrier.service_number + EXTENSION,
         *carrier.options(ports_file), *options],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    lines = [process.stdout.readline(), process.stdout.readline()]
    if not (lines[0].startswith("listening on ") and lines[1].startswith("control on ")):
        process.kill()
        raise RuntimeError(f"the {carrier.simulator} simulator did not start: {lines!r}")
    return process, int(lines[0].split()[-1]), int(lines[1].split()[-1])


def inject_reply(control_port: int, source: str, text: str) -> str:
    with socket.create_connection(("127.0.0.1", control_port), timeout=30) as connection:
        connection.sendall(f"MO {source} {text}\n".encode())
        return connection.makefile("r", encoding="utf-8").readline().strip()


def configure(carrier: Carrier, tmp_path: Path, port: int, extra: str = "") -> Path:
    config = tmp_path / "hotline.toml"
    config.write_text(f"""
[sms]
poll_s = 0.1
retry_initial_s = 0.5
lease_s = 10
{extra}
[sms.binds.{carrier.bind}]
host = "127.0.0.1"
port = {port}
{carrier.table}
reconnect_initial_delay = 0.2
reconnect_max_delay = 1.0
""", encoding="utf-8")
    return config


def stop(service: subprocess.Popen, gateway: subprocess.Popen) -> None:
    for process in (service, gateway):
        if process.poll() is None:
            process.kill()


def four_part_message_and_a_reply(carrier: Carrier, database, db_url, tmp_path) -> None:
    log = tmp_path / "service.log"
    gateway, port, control = start_gateway(carrier, log.with_suffix(".ports.json"))
    config = configure(carrier, tmp_path, port)
    message = database.write_now(outbox.enqueue, kind=SmsKind.TEST,
                                 destination=carrier.destination, text=boundary_text(),
                                 now=utc(2026, 1, 1))
    engine = create_engine(db_url)

    def scalar(query):
        with engine.connect() as connection:
            return connection.scalar(query)

    service = start_service(config, db_url, log, **carrier.env)
    try:
        wait_for(lambda: scalar(select(SmsMessage.state).where(SmsMessage.id == message.id))
                 is SmsState.DELIVERED, 90, "the message to be delivered")
        web = wait_for_ports(log.with_suffix(".ports.json"), service, ("web",))["web"]
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{web}/healthz").read())
        assert health["links"][f"smsc:{carrier.bind}"]["up"] is True  # whatever the protocol
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{web}/metrics").read().decode()
        assert f'hotline_sms_bind_up{{bind="{carrier.bind}"}} 1.0' in metrics
        assert inject_reply(control, carrier.replier, "满意") == "OK 0"
        wait_for(lambda: scalar(select(func.count()).select_from(SmsInbound)) == 1, 30,
                 "the reply to be stored")
        service.terminate()
        assert service.wait(20) in (0, -signal.SIGTERM)
    finally:
        stop(service, gateway)
    with engine.connect() as connection:
        row = connection.execute(select(SmsMessage).where(SmsMessage.id == message.id)).one()
        parts = connection.execute(select(SmsPart).where(SmsPart.message_id == message.id)
                                   .order_by(SmsPart.part_index)).all()
        reply = connection.execute(select(SmsInbound)).one()
    engine.dispose()
    assert (row.link, row.encoding, row.part_count) == (carrier.bind, "ucs2", 4)
    assert [p.state for p in parts] == [SmsState.DELIVERED] * 4
    assert all(carrier.message_id(p.carrier_message_id) for p in parts)
    assert len({p.carrier_message_id for p in parts}) == 4
    assert (reply.source, reply.destination, reply.text) == (
        carrier.replier, carrier.service_number + EXTENSION, "满意")


def cut_link_loses_nothing(carrier: Carrier, database, db_url, tmp_path) -> None:
    # The gateway answers each submit 0.1 s late, so a window is in flight when it closes the
    # connection on the 30th PDU it reads, 80 parts on their way.
    log = tmp_path / "service.log"
    gateway, port, control = start_gateway(carrier, log.with_suffix(".ports.json"),
                                           "--drop-after-pdus", "30", "--response-delay", "0.1")
    config = configure(carrier, tmp_path, port,
                       f"max_in_flight = {IN_FLIGHT}\ndispatch_batch = 4")
    for n in range(MESSAGES):
        database.write_now(outbox.enqueue, kind=SmsKind.TEST, destination=carrier.destination,
                           text=f"{n:02d}" + boundary_text(), now=utc(2026, 1, 1))
    engine = create_engine(db_url)

    def count(*where):
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(SmsMessage).where(*where))

    service = start_service(config, db_url, log, **carrier.env)
    try:
        wait_for(lambda: count(SmsMessage.state == SmsState.DELIVERED) == MESSAGES, 120,
                 "every message to be delivered")
        assert inject_reply(control, carrier.replier, "1") == "OK 0"
        with engine.connect() as connection:
            wait_for(lambda: connection.scalar(select(func.count()).select_from(SmsInbound)),
                     30, "the reply to be stored")
        service.terminate()
        assert service.wait(20) in (0, -signal.SIGTERM)
    finally:
        stop(service, gateway)
    text = log.read_text(errors="replace")
    assert carrier.lost in text and "lost" in text  # the cut did happen
    with engine.connect() as connection:
        delivered_parts = connection.scalar(select(func.count()).select_from(SmsPart).where(
            SmsPart.state == SmsState.DELIVERED))
        # Reports for parts the gateway took in an attempt whose answers the cut lost: the
        # parts that went twice. They are held, matched to nothing, until they expire.
        duplicates = connection.scalar(select(func.count()).select_from(SmsHeldReceipt).where(
            SmsHeldReceipt.state == HeldReceiptState.PENDING))
    engine.dispose()
    assert count(SmsMessage.state == SmsState.FAILED) == 0
    assert delivered_parts == MESSAGES * 4  # every part of every message has its report
    assert count(SmsMessage.attempts > 1) <= IN_FLIGHT  # only what was in flight went again
    assert duplicates <= IN_FLIGHT * 4
