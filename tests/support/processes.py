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


# Every listener of a service the tests start takes port 0 (any free port) and the service
# writes the port it got to its ports file ([service] ports_file); probing for a free port
# and passing it on raced with every other process on the machine.
LISTENER_PORTS = ("HOTLINE_WEB_PORT", "HOTLINE_AGI_PORT", "HOTLINE_SMS_SIMULATOR_PORT",
                  "HOTLINE_SMS_SIMULATOR_CONTROL_PORT")

# A port bound and never listened on, held for the life of the test process: a service
# pointed at it for an absent Asterisk is refused at once, and no other process can take it.
_NOBODY_LISTENS = socket.socket()
_NOBODY_LISTENS.bind(("127.0.0.1", 0))
CLOSED_PORT: int = _NOBODY_LISTENS.getsockname()[1]


def start_smsc(receipt_delay: float = 0.2, password: str = "secret") -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([sys.executable, "-m", "sms_gateway.simulator", "--port", "0",
                                "--password", password, "--receipt-delay", str(receipt_delay)],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"SMSC simulator did not start: {line!r}")
    return process, int(line.split()[-1])


def service_environment(ports_file: Path, **overrides: str) -> dict[str, str]:
    """The environment of a service process: every listener on port 0, written to
    `ports_file`; the AMI link pointed at a closed port unless overridden."""
    ports = {name: "0" for name in LISTENER_PORTS}
    return {**os.environ, **ports, "HOTLINE_AMI_PORT": str(CLOSED_PORT),
            "HOTLINE_SERVICE_PORTS_FILE": str(ports_file), **overrides}


def wait_for_ports(ports_file: Path, process: subprocess.Popen | None = None,
                   names: tuple[str, ...] = ("web", "agi"), timeout: float = 60) -> dict[str, int]:
    """The ports the service wrote once every one of `names` is there."""
    from hotline.listening import read_ports_file

    def ready():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the service exited with {process.returncode} before listening")
        ports = read_ports_file(ports_file)
        return ports if all(name in ports for name in names) else None

    return wait_for(ready, timeout, f"the service's ports {names} in {ports_file}")


def start_service(config_path: Path, db_url: str, log_path: Path, **env: str) -> subprocess.Popen:
    environment = service_environment(log_path.with_suffix(".ports.json"),
                                      HOTLINE_CONFIG=str(config_path),
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
