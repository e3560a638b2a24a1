"""`make run` starts the real service: /healthz answers 200, and SIGTERM stops it cleanly."""

import json
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.processes import service_environment, wait_for_ports

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_make_run_serves_healthz_and_stops_on_sigterm(tmp_path):
    ports_file = tmp_path / "ports.json"
    env = service_environment(ports_file,
                              HOTLINE_DATABASE_URL=f"sqlite:///{tmp_path}/hotline.sqlite3",
                              HOTLINE_CONFIG="")
    env.pop("MAKEFLAGS", None)
    process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True, text=True)
    try:
        web_port = wait_for_ports(ports_file, process, ("web", "agi", "smsc_simulator"))["web"]
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=2) as r:
                    body = (r.status, json.loads(r.read()))
                if body[1]["links"].get("smsc:simulator", {}).get("up"):
                    break  # the SMS link found the embedded simulator on the port it got
                time.sleep(0.2)
            except OSError:
                time.sleep(0.2)
        assert body is not None, "the service never answered /healthz"
        assert body[0] == 200 and body[1]["status"] == "ok"
        assert body[1]["links"]["smsc:simulator"]["up"], body
    finally:
        process.send_signal(signal.SIGTERM)  # to make, as a supervisor would; make passes it on
        output, _ = process.communicate(timeout=30)
    assert "Received SIGTERM, shutting down." in output, output
    assert "Main loop terminated." in output, output
    assert "Traceback" not in output, output
