"""Starting the real service (and the SMSC simulator) as processes, for crash tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TWISTD = str(Path(sys.executable).with_name("twistd"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_smsc(receipt_delay: float = 0.2, password: str = "secret") -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([sys.executable, "-m", "sms_gateway.simulator", "--port", "0",
                                "--password", password, "--receipt-delay", str(receipt_delay)],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"SMSC simulator did not start: {line!r}")
    return process, int(line.split()[-1])


def service_environment(**overrides: str) -> dict[str, str]:
    """The environment of a service process with every port of its own (overridable)."""
    ports = {name: str(free_port()) for name in (
        "HOTLINE_WEB_PORT", "HOTLINE_AGI_PORT", "HOTLINE_AMI_PORT", "HOTLINE_SMS_SIMULATOR_PORT",
        "HOTLINE_SMS_SIMULATOR_CONTROL_PORT")}
    return {**os.environ, **ports, **overrides}


def start_service(config_path: Path, db_url: str, log_path: Path, **env: str) -> subprocess.Popen:
    environment = service_environment(HOTLINE_CONFIG=str(config_path),
                                      HOTLINE_DATABASE_URL=db_url, **env)
    return subprocess.Popen([TWISTD, "--pidfile=", "-n", "-y", "twisted_app.tac"], cwd=ROOT,
                            env=environment, stdout=open(log_path, "ab"),
                            stderr=subprocess.STDOUT)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
