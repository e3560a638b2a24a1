"""A service process SIGKILLed mid-call leaves the call's record in progress; the next start
of that process settles it (failed, ended when settled), and a call of the new run is not
touched."""

import signal
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from ivr.simulator.asterisk import CallSetup
from schemas.calls import CallRecord
from schemas.enums import CallOutcome
from tests.support.processes import service_environment, wait_for, wait_for_ports

ROOT = Path(__file__).resolve().parents[1]
TWISTD = str(Path(sys.executable).with_name("twistd"))


def start(env, ports_file, log):
    ports_file.unlink(missing_ok=True)
    process = subprocess.Popen([TWISTD, "--pidfile=", "-n", "-y", "twisted_app.tac"], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, wait_for_ports(ports_file, process, ("web", "agi"))["agi"]


def call_in_progress(port, uniqueid):
    """A call whose service has sent ANSWER and waits: its record is opened meanwhile."""
    call = socket.create_connection(("127.0.0.1", port), timeout=10)
    call.sendall(replace(CallSetup(), uniqueid=uniqueid, callerid="13912345678").header())
    assert call.makefile("rb").readline() == b"ANSWER\n"
    return call


@pytest.mark.slow
def test_a_record_left_by_a_killed_process_is_settled_when_it_starts_again(tmp_path):
    url = f"sqlite:///{tmp_path}/hotline.sqlite3"
    ports_file = tmp_path / "ports.json"
    env = service_environment(ports_file, HOTLINE_DATABASE_URL=url, HOTLINE_CONFIG="",
                              HOTLINE_SERVICE_NAME="hotline-7")
    subprocess.run([sys.executable, "-m", "hotline.cli", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    engine = create_engine(url)

    def records():
        with engine.connect() as connection:
            return {uid: outcome for uid, outcome in connection.execute(
                select(CallRecord.asterisk_uniqueid, CallRecord.outcome))}

    log = open(tmp_path / "service.log", "ab")
    process, port = start(env, ports_file, log)
    call = call_in_progress(port, "1795887564.41")
    wait_for(lambda: records().get("1795887564.41") is CallOutcome.IN_PROGRESS, 20,
             "the call's record to be opened")
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    call.close()
    assert records()["1795887564.41"] is CallOutcome.IN_PROGRESS

    process, port = start(env, ports_file, log)
    try:
        call = call_in_progress(port, "1795887564.42")
        wait_for(lambda: records().get("1795887564.41") is CallOutcome.FAILED, 20,
                 "the killed call's record to be settled")
        wait_for(lambda: "1795887564.42" in records(), 20, "the new call's record")
        assert records()["1795887564.42"] is CallOutcome.IN_PROGRESS
        call.close()
    finally:
        process.terminate()
        process.wait(60)
        engine.dispose()
    assert "Settled 1 call record(s) left in progress" in (tmp_path / "service.log").read_text()
