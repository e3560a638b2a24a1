"""Benchmark plumbing: a scratch PostgreSQL database, N real service processes on it, and
reading their CPU from /proc.

Every database and process made here is also registered with `atexit`, so an interrupted
benchmark (^C, an exception) drops and kills what it made. The service processes are
started with `tests.support.processes.start_service` (the crash tests' starter: twistd on
twisted_app.tac, the configuration file named by HOTLINE_CONFIG).
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.processes import free_port, start_service

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TICK = os.sysconf("SC_CLK_TCK")


def server_url(environ=os.environ) -> str:
    return environ.get("HOTLINE_TEST_PG_URL") or DEFAULT_PG


class ScratchDatabase:
    """A fresh database on the server of `base_url`, dropped by `drop()` or at exit."""

    def __init__(self, base_url: str, prefix: str = "hotline_bench") -> None:
        server = make_url(base_url)
        if server.drivername == "postgresql":
            server = server.set(drivername="postgresql+psycopg")
        self.name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self._admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = server.set(database=self.name).render_as_string(hide_password=False)
        atexit.register(self.drop)

    def drop(self) -> None:
        if self._admin is None:
            return
        try:
            with self._admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        finally:
            self._admin.dispose()
            self._admin = None
            atexit.unregister(self.drop)


@dataclass
class ServiceProcess:
    process: subprocess.Popen
    agi_port: int
    web_port: int
    log: Path


@dataclass
class Cluster:
    """N `twistd -ny twisted_app.tac` processes sharing one configuration and database."""

    config_path: Path
    db_url: str
    workdir: Path
    # Environment over the configuration file (start_service gives each process ports of its
    # own for everything, the AMI port included: name the shared ones here).
    env: dict[str, str] = field(default_factory=dict)
    members: list[ServiceProcess] = field(default_factory=list)

    def start(self, count: int, timeout: float = 60.0) -> None:
        atexit.register(self.stop)
        for index in range(count):
            self.members.append(self._start_one(index, timeout))

    def _start_one(self, index: int, timeout: float) -> ServiceProcess:
        log = self.workdir / f"service-{index}.log"
        for _ in range(3):  # a probed free port can be taken by another program before bind
            agi, web = free_port(), free_port()
            process = start_service(self.config_path, self.db_url, log, **{
                **self.env, "HOTLINE_AGI_PORT": str(agi), "HOTLINE_WEB_PORT": str(web)})
            if wait_listening(process, agi, timeout):
                return ServiceProcess(process, agi, web, log)
            stop_process(process)
        raise RuntimeError(f"service {index} did not start: see {log}")

    @property
    def pids(self) -> list[int]:
        return [m.process.pid for m in self.members]

    @property
    def agi_ports(self) -> list[int]:
        return [m.agi_port for m in self.members]

    def alive(self) -> bool:
        return all(m.process.poll() is None for m in self.members)

    def stop(self) -> None:
        for member in self.members:
            if member.process.poll() is None:
                member.process.send_signal(signal.SIGTERM)
        for member in self.members:
            stop_process(member.process)
        atexit.unregister(self.stop)


def stop_process(process: subprocess.Popen, grace: float = 20.0) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_listening(process: subprocess.Popen, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if listening_here(process.pid, port):
            return True
        time.sleep(0.1)
    return False


def listening_here(pid: int, port: int) -> bool:
    """Whether `pid` itself holds the socket listening on 127.0.0.1:port."""
    wanted = f"0100007F:{port:04X}"
    inodes = set()
    with open("/proc/net/tcp") as table:
        for row in table.readlines()[1:]:
            fields = row.split()
            if fields[1] == wanted and fields[3] == "0A":
                inodes.add(fields[9])
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in descriptors:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1] in inodes:
                return True
        except OSError:
            pass
    return False


# CPU from /proc ------------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy() -> tuple[float, int]:
    """Busy CPU seconds of all cores so far, and the number of cores (from /proc/stat)."""
    with open("/proc/stat") as stat:
        ticks = [int(t) for t in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]
    cores = sum(1 for name in os.listdir("/sys/devices/system/cpu")
                if name.startswith("cpu") and name[3:].isdigit())
    return (sum(ticks[:8]) - idle) / TICK, cores
