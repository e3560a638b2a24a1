"""N real service processes on one PostgreSQL database, with one SMSC simulator and one AMI
peer simulator shared by all of them: for scale-out tests and the mixed-load benchmark.

    from tests.support.cluster import start_cluster

    with start_cluster(tmp_path, processes=3, config={"sms": {"lease_s": 5}}) as cluster:
        cluster.wait_healthy(links=("ami", "smsc:smsc"))   # /healthz of every process
        cluster.processes[0].agi_port, .web_port, .url("/healthz"), .name ("hotline-1")
        cluster.processes[1].kill()                          # SIGKILL; .terminate(): SIGTERM
        cluster.restart(1)                                   # same ports and config, new process
        cluster.smsc.submits()   # [{"event": "submit", "system_id": "hotline1", "text": ...}]
        cluster.smsc.unbinds(), cluster.smsc.binds()
        cluster.ami.originates() # [{"event": "originate", "variables": {"TASK_ID": "7"}, ...}]
        cluster.db               # a hotline.db.Database on the cluster's database (no reactor:
                                 # read_now / write_now only)
        cluster.db_url

What `start_cluster` does:
- database: a fresh PostgreSQL database on the server of `HOTLINE_TEST_PG_URL` (or `pg_url=`),
  migrated to head once, dropped (WITH FORCE) when the block ends. Pass `db_url=` to use an
  existing, migrated database instead (kept at the end).
- peers: `python -m tests.support.peers smsc` (accounts hotline1..N, password "secret";
  `receipt_delay`, `smsc_response_delay`) and `... ami` (user "hotline", secret "secret";
  every Originate ends with `originate_reason` after `originate_delay` seconds), each
  recording to a file in `workdir`.
- processes: `twistd --pidfile= -n -y twisted_app.tac`, process i (from 1) named
  `hotline-i` (`[service] name`, which also keys the SMS lease owner and the AMI ActionIDs),
  with its own FastAGI and web ports on 127.0.0.1, its own SMPP account `hotline<i>` on the
  shared SMSC, one AMI login, the same auth secret key, and a TOML config written to
  `workdir/hotline-i.toml` from `CLUSTER_DEFAULTS` merged with `config=` (section -> key ->
  value; one level of sub-tables such as `sms.binds`). `env=` adds environment variables to
  every process. Logs: `workdir/hotline-i.log` (`ServiceProcess.log_text()`).
- waits: `start_cluster` returns once every process answers /healthz with 200 (60 s bound);
  `wait_healthy(links=...)` also waits for the named links to be up.
- at the end every process still running is SIGKILLed (a test that wants a graceful stop
  calls `terminate()` and `wait()` itself), then the peers.

CLUSTER_DEFAULTS make every kind of work due at once and short-leased, so that a test runs
in seconds: calling hours all day every day, callbacks from the moment of resolution, leases
of a few seconds, polls of a fraction of a second, the IVR open around the clock.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.peers import read_records
from tests.support.processes import ROOT, TWISTD, wait_for, wait_for_ports

SECRET = "secret"
AUTH_SECRET_KEY = "cluster-test-secret-key-0123456789abcdef"
HEALTHY_WITHIN_S = 60.0


def _all_kinds(value) -> dict:
    from callback_queue.config import KINDS

    return {kind: value for kind in KINDS}


CLUSTER_DEFAULTS: dict[str, dict] = {
    "database": {"pool_threads": 4},
    "ivr": {"opening_time": "00:00", "closing_time": "23:59", "open_on_holidays": True,
            "callback_offer_waiting": 0},
    "agi": {"backend_timeout_s": 10.0},
    "ami": {"auth": "plain"},
    "sms": {"lease_s": 5.0, "poll_s": 0.1, "dispatch_batch": 20, "max_in_flight": 40,
            "retry_initial_s": 1.0},
    "callbacks": {"calling_hours": "00:00-24:00", "call_on_holidays": True,
                  "lease_s": 6.0, "originate_response_s": 5.0, "poll_s": 0.2,
                  "calls_per_trunk": 50, "batch": 10, "ring_timeout_s": 5},
    "messages": {"planner_poll_s": 0.5},
    "metrics": {"refresh_s": 5.0},
}


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")


def to_toml(document: Mapping[str, Mapping]) -> str:
    """Sections of keys, and sub-tables of tables (`[sms.binds.NAME]`) as TOML."""
    lines = []

    def table(name: str, values: Mapping) -> None:
        lines.append(f"[{name}]")
        nested = []
        for key, value in values.items():
            if isinstance(value, Mapping) and value and all(isinstance(v, Mapping) for v in value.values()):
                nested.append((key, value))
            else:
                lines.append(f"{json.dumps(key)} = {_toml_value(value)}")
        for key, sub in nested:
            for sub_name, sub_values in sub.items():
                table(f"{name}.{key}.{sub_name}", sub_values)

    for section, values in document.items():
        table(section, values)
    return "\n".join(lines) + "\n"


def merge(base: Mapping, extra: Mapping) -> dict:
    merged = copy.deepcopy(dict(base))
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@dataclass
class Peer:
    """A peer simulator process and its record file."""

    process: subprocess.Popen
    port: int
    records: Path

    def read(self, event: str | None = None) -> list[dict]:
        return read_records(self.records, event)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


class Smsc(Peer):
    def submits(self) -> list[dict]:
        return self.read("submit")

    def binds(self) -> list[dict]:
        return self.read("bind")

    def unbinds(self) -> list[dict]:
        return self.read("unbind")


class AmiPeer(Peer):
    def originates(self) -> list[dict]:
        return self.read("originate")


def start_peer(kind: str, records: Path, *args: str) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([sys.executable, "-m", "tests.support.peers", kind,
                                "--records", str(records), *args],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"{kind} peer did not start: {line!r}")
    return process, int(line.split()[-1])


@dataclass
class ServiceProcess:
    """One `twistd` service process of the cluster."""

    index: int
    name: str
    ports_path: Path  # where it writes the ports it got (every listener is on port 0)
    config_path: Path
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None
    _ports: dict[str, int] | None = None

    @property
    def agi_port(self) -> int:
        return self.ports()["agi"]

    @property
    def web_port(self) -> int:
        return self.ports()["web"]

    def ports(self) -> dict[str, int]:
        """The ports this run of the process got (waits until it has written them)."""
        if self._ports is None:
            self._ports = wait_for_ports(self.ports_path, self.process, ("web", "agi"))
        return self._ports

    def start(self) -> None:
        self._ports = None
        self.ports_path.unlink(missing_ok=True)
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                [TWISTD, "--pidfile=", "-n", "-y", "twisted_app.tac"], cwd=ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.web_port}{path}"

    def healthz(self) -> dict | None:
        """The /healthz report when it answers 200, else None."""
        try:
            with urllib.request.urlopen(self.url("/healthz"), timeout=2) as response:
                return json.loads(response.read()) if response.status == 200 else None
        except (OSError, ValueError):
            return None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Cluster:
    db_url: str
    workdir: Path
    smsc: Smsc
    ami: AmiPeer
    processes: list[ServiceProcess] = field(default_factory=list)
    _db: object | None = None

    @property
    def db(self):
        """A `Database` on the cluster's database for the test's own blocking reads/writes."""
        if self._db is None:
            from hotline.config import DatabaseConfig
            from hotline.db import Database, make_engine

            self._db = Database(make_engine(DatabaseConfig(url=self.db_url, pool_threads=2)),
                                reactor=None, threads=1)
        return self._db

    def alive(self) -> list[ServiceProcess]:
        return [p for p in self.processes if p.alive]

    def restart(self, index: int) -> ServiceProcess:
        """Start process `index` (0-based) again, with its ports and config; wait for /healthz."""
        process = self.processes[index]
        if process.alive:
            raise RuntimeError(f"{process.name} is still running")
        process.start()
        self._wait_up([process], ())
        return process

    def wait_healthy(self, links: tuple[str, ...] = (), timeout: float = HEALTHY_WITHIN_S) -> None:
        """Every running process answers /healthz 200 with each of `links` up."""
        self._wait_up(self.alive(), links, timeout)

    def _wait_up(self, processes, links, timeout: float = HEALTHY_WITHIN_S) -> None:
        def up(process: ServiceProcess) -> bool:
            if not process.alive:
                raise AssertionError(f"{process.name} exited with {process.process.returncode} "
                                     f"before /healthz answered; log:\n{process.log_text()[-3000:]}")
            report = process.healthz()
            return report is not None and all(
                report.get("links", {}).get(link, {}).get("up") for link in links)

        deadline = time.monotonic() + timeout
        waiting = list(processes)
        while waiting:
            waiting = [p for p in waiting if not up(p)]
            if waiting and time.monotonic() > deadline:
                names = ", ".join(f"{p.name} ({p.healthz()})" for p in waiting)
                raise AssertionError(f"not healthy within {timeout}s (links {links}): {names}")
            if waiting:
                time.sleep(0.2)

    def close(self) -> None:
        for process in self.processes:
            if process.alive:
                process.kill()
        for peer in (self.smsc, self.ami):
            peer.stop()
        if self._db is not None:
            self._db.engine.dispose()


def pg_server_url(pg_url: str | None = None):
    url = make_url(pg_url or os.environ["HOTLINE_TEST_PG_URL"])
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


@contextlib.contextmanager
def fresh_pg_database(pg_url: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database migrated to head, dropped (with its connections) at the end."""
    from hotline.config import DatabaseConfig
    from hotline.db import make_engine, upgrade

    server = pg_server_url(pg_url)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"hotline_cluster_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(DatabaseConfig(url=url))
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def process_config(index: int, smsc_port: int, ami_port: int, config: Mapping) -> dict:
    document = merge(CLUSTER_DEFAULTS, {"callbacks": {"delay_h": _all_kinds(0.0)}})
    document = merge(document, {
        "ami": {"host": "127.0.0.1", "port": ami_port, "username": "hotline"},
        "sms": {"binds": {"smsc": {"host": "127.0.0.1", "port": smsc_port,
                                   "system_id": f"hotline{index}", "password": SECRET}}},
    })
    return merge(document, config)


@contextlib.contextmanager
def start_cluster(workdir: Path, processes: int = 3, *, config: Mapping | None = None,
                  env: Mapping[str, str] | None = None, db_url: str | None = None,
                  pg_url: str | None = None, receipt_delay: float = 0.2,
                  smsc_response_delay: float = 0.0,
                  originate_reason: str = "answered", originate_delay: float = 0.2,
                  start: bool = True) -> Iterator[Cluster]:
    """See the module's docstring. `start=False` builds the cluster without starting the
    service processes (start each with `cluster.processes[i].start()`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if db_url is None:
            db_url = stack.enter_context(fresh_pg_database(pg_url))
        accounts = ",".join(f"hotline{i}:{SECRET}" for i in range(1, processes + 1))
        smsc_process, smsc_port = start_peer("smsc", workdir / "smsc.jsonl", "--accounts",
                                             accounts, "--receipt-delay", str(receipt_delay),
                                             "--response-delay", str(smsc_response_delay))
        smsc = Smsc(smsc_process, smsc_port, workdir / "smsc.jsonl")
        stack.callback(smsc.stop)
        ami_process, ami_port = start_peer("ami", workdir / "ami.jsonl", "--accounts",
                                           f"hotline:{SECRET}", "--reason", originate_reason,
                                           "--delay", str(originate_delay))
        ami = AmiPeer(ami_process, ami_port, workdir / "ami.jsonl")
        stack.callback(ami.stop)
        cluster = Cluster(db_url, workdir, smsc, ami)
        stack.callback(cluster.close)
        for index in range(1, processes + 1):
            name = f"hotline-{index}"
            path = workdir / f"{name}.toml"
            path.write_text(to_toml(process_config(index, smsc_port, ami_port, config or {})),
                            encoding="utf-8")
            ports_path = workdir / f"{name}.ports.json"
            environment = {**os.environ, "HOTLINE_CONFIG": str(path),
                           "HOTLINE_DATABASE_URL": db_url, "HOTLINE_SERVICE_NAME": name,
                           "HOTLINE_AGI_PORT": "0", "HOTLINE_WEB_PORT": "0",
                           "HOTLINE_SERVICE_PORTS_FILE": str(ports_path),
                           "HOTLINE_AMI_SECRET": SECRET,
                           "HOTLINE_AUTH_SECRET_KEY": AUTH_SECRET_KEY, **(env or {})}
            cluster.processes.append(ServiceProcess(index, name, ports_path, path,
                                                    workdir / f"{name}.log", environment))
        if start:
            for process in cluster.processes:
                process.start()
            cluster._wait_up(cluster.processes, ())
        yield cluster


__all__ = ["CLUSTER_DEFAULTS", "Cluster", "ServiceProcess", "Smsc", "AmiPeer", "start_cluster",
           "fresh_pg_database", "wait_for"]
