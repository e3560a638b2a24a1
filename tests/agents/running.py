"""The real service as a process, for the tests that speak HTTP to its web site over TCP: an
embedded SQLite database migrated to head, every listener on a port of its own choosing,
no AMI peer (the link retries quietly), the API token below."""

from __future__ import annotations

import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hotline.config import DatabaseConfig
from hotline.db import make_engine, upgrade
from tests.support.processes import ROOT, TWISTD, service_environment, wait_for, wait_for_ports

API_TOKEN = "limits-test-token-" + "q" * 24


@dataclass(frozen=True)
class RunningService:
    process: subprocess.Popen
    port: int
    temp_dir: Path  # the process's TMPDIR

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _healthy(base: str) -> bool:
    # As tests/browser/support.py's, which brings the browser tests' marks with it.
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def running_service(directory: Path) -> Iterator[RunningService]:
    database = directory / "hotline.sqlite3"
    engine = make_engine(DatabaseConfig(url=f"sqlite:///{database}"))
    upgrade(engine)
    engine.dispose()
    temp_dir = directory / "tmp"
    temp_dir.mkdir()
    ports_file = directory / "ports.json"
    env = service_environment(ports_file, HOTLINE_CONFIG="",
                              HOTLINE_DATABASE_URL=f"sqlite:///{database}",
                              HOTLINE_AMI_SECRET="secret", HOTLINE_AUTH_SECRET_KEY="k" * 48,
                              HOTLINE_AUTH_API_TOKEN=API_TOKEN, TMPDIR=str(temp_dir))
    with open(directory / "service.log", "ab") as log:
        process = subprocess.Popen([TWISTD, "--pidfile=", "-n", "-y", "twisted_app.tac"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        port = wait_for_ports(ports_file, process, ("web",))["web"]
        service = RunningService(process, port, temp_dir)
        wait_for(lambda: _healthy(service.base), 60, "the service's /healthz")
        yield service
    finally:
        process.terminate()
        process.wait(15)
