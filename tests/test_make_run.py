"""`make run` starts the real service: /healthz answers 200, and SIGTERM stops it cleanly."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_make_run_serves_healthz_and_stops_on_sigterm(tmp_path):
    web_port = free_port()
    env = dict(os.environ,
               HOTLINE_DATABASE_URL=f"sqlite:///{tmp_path}/hotline.sqlite3",
               HOTLINE_WEB_PORT=str(web_port), HOTLINE_AGI_PORT=str(free_port()),
               HOTLINE_AMI_PORT=str(free_port()), HOTLINE_SMS_SIMULATOR_PORT=str(free_port()),
               HOTLINE_SMS_SIMULATOR_CONTROL_PORT=str(free_port()),
               HOTLINE_CONFIG="")
    env.pop("MAKEFLAGS", None)
    process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True, text=True)
    try:
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=2) as r:
                    body = (r.status, json.loads(r.read()))
                    break
            except OSError:
                time.sleep(0.2)
        assert body is not None, "the service never answered /healthz"
        assert body[0] == 200 and body[1]["status"] == "ok"
    finally:
        process.send_signal(signal.SIGTERM)  # to make, as a supervisor would; make passes it on
        output, _ = process.communicate(timeout=30)
    assert "Received SIGTERM, shutting down." in output, output
    assert "Main loop terminated." in output, output
    assert "Traceback" not in output, output
