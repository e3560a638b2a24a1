"""What FastAGI calls and floods cost the service's memory, now and before the fix.

Issue 13 found every session kept for the life of the process (about 7 KiB a call:
110 -> 157 MiB over 6,000 scripted calls) and a header or 520 usage flood from one anonymous
connection kept for good (four floods: 113 -> 1,925 MiB). This runs, in one sitting, the
real service (`twistd -n -y twisted_app.tac`, SQLite, AMI off) from this tree and from a
baseline revision (default 890bc06, the last one before the fix, checked out with
`git worktree` into a temporary directory), each through:

- soak: --calls scripted calls (default 20,000), --concurrency at once (default 100), a mix
  of what callers do: the progress query of an unknown case number ending at the agent queue,
  a hang-up at the greeting, a hang-up while keying the case number. Every call gets its own
  caller number and unique id, as on a real line. The service's resident memory (VmRSS) is
  read every --every calls;
- floods: four connections from loopback (allowed by default), each sending --flood-mib MiB
  (default 400) as fast as the socket takes it: two of distinct `agi_*` header lines, two of
  a `520-` usage block that never ends after a valid header block. Memory before and after
  each, and how many MiB the service read before it closed the connection.

    .venv/bin/python bench/agi_soak.py [--calls 20000] [--concurrency 100] [--every 2000]
                                       [--flood-mib 400] [--baseline 890bc06 | --no-baseline]

It takes a few minutes, kills what it started and removes its temporary directories.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TWISTD = str(Path(sys.executable).with_name("twistd"))
HOTLINE = str(Path(sys.executable).with_name("hotline"))
SCRIPTS = ("_ 4 2026112800001# _ 0", "H", "_ 4 H")
MIB = 1024 * 1024


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def start_service(tree: Path, tmp: Path) -> tuple[subprocess.Popen, int]:
    """The service from `tree` on a migrated SQLite file of its own, every port 0."""
    from tests.support.processes import service_environment, wait_for_ports

    url = f"sqlite:///{tmp / 'hotline.sqlite3'}"
    env = service_environment(tmp / "ports.json", HOTLINE_DATABASE_URL=url,
                              HOTLINE_AMI_ENABLED="false", HOTLINE_LOGGING_LEVEL="warn",
                              HOTLINE_IVR_OPENING_TIME="00:00", HOTLINE_IVR_CLOSING_TIME="23:59",
                              HOTLINE_IVR_OPEN_ON_HOLIDAYS="true",
                              HOTLINE_IVR_VOICE_MESSAGE_DIR=str(tmp / "voice"),
                              PYTHONPATH=str(tree))
    env.pop("HOTLINE_CONFIG", None)
    subprocess.run([sys.executable, "-m", "hotline.cli", "db", "upgrade"], cwd=tree, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    process = subprocess.Popen([TWISTD, "--pidfile=", "-n", "-y", "twisted_app.tac"], cwd=tree,
                               env=env, stdout=open(tmp / "service.log", "ab"),
                               stderr=subprocess.STDOUT)
    return process, wait_for_ports(tmp / "ports.json", process, ("agi",))["agi"]


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def soak(port: int, pid: int, calls: int, concurrency: int, every: int) -> list[tuple[int, float]]:
    """Run `calls` scripted calls, `concurrency` at once, in a process of their own (a reactor
    runs once per process); (calls done, RSS MiB) samples."""
    out = subprocess.run([sys.executable, __file__, "--drive", str(port), str(pid), str(calls),
                          str(concurrency), str(every)], check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    return [tuple(json.loads(line)) for line in out.splitlines() if line.startswith("[")]


def drive(port: int, pid: int, calls: int, concurrency: int, every: int) -> None:
    """The caller side of `soak`: prints each sample as a JSON line."""
    from twisted.internet import defer, task

    from ivr.simulator import CallSetup, simulate_call

    samples = [(0, rss_mib(pid))]
    failures: list[str] = []

    async def run(reactor) -> None:
        done = 0
        started = 0

        async def one(n: int) -> None:
            setup = CallSetup(uniqueid=f"1795887564.{n}", callerid=f"139{n % 100_000_000:08d}",
                              default_samples=800)
            try:
                await simulate_call(reactor, "127.0.0.1", port, digits=SCRIPTS[n % len(SCRIPTS)],
                                    setup=setup)
            except Exception as error:  # noqa: BLE001 - counted and shown, the soak goes on
                failures.append(repr(error))

        async def worker() -> None:
            nonlocal done, started
            while started < calls:
                started += 1
                await one(started)
                done += 1
                if done % every == 0:
                    samples.append((done, rss_mib(pid)))

        await defer.gatherResults([defer.Deferred.fromCoroutine(worker())
                                   for _ in range(concurrency)])

    async def main(reactor) -> None:
        await run(reactor)
        if failures:
            print(f"   {len(failures)} calls failed, e.g. {failures[0]}", flush=True)
        for sample in samples:
            print(json.dumps(sample), flush=True)

    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor)))


HEADER = (b"agi_network: yes\nagi_network_script: hotline\n"
          b"agi_request: agi://127.0.0.1/hotline\nagi_channel: Local/flood-00000001;2\n"
          b"agi_uniqueid: 1.1\nagi_callerid: 5551234\n")


def flood(port: int, kind: str, total: int) -> int:
    """Send `total` bytes of a header flood or a never-ending 520 block; bytes the service
    took before it closed the connection."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 * MIB)
    sent = 0
    serial = 0
    try:
        if kind == "520":
            sock.sendall(HEADER + b"\n")
            sock.recv(4096)  # the first command: the service is waiting for its answer
            sock.sendall(b"520-Invalid command syntax.  Proper usage follows:\n")
        while sent < total:
            if kind == "header":
                lines = []
                for _ in range(16_384):
                    serial += 1
                    lines.append(b"agi_flood_%d: %s\n" % (serial, b"x" * 48))
                chunk = b"".join(lines)
            else:
                chunk = b"Usage: a usage text that never ends, line after line......\n" * 16_384
            sock.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        sock.close()
    return sent


def measure(name: str, tree: Path, args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="agi-soak-"))
    process, port = start_service(tree, tmp)
    try:
        time.sleep(1.0)
        print(f"== {name}: soak, {args.calls:,} calls, {args.concurrency} at once")
        started = time.monotonic()
        samples = soak(port, process.pid, args.calls, args.concurrency, args.every)
        took = time.monotonic() - started
        for calls, rss in samples:
            print(f"   after {calls:>6,} calls  RSS {rss:7.1f} MiB")
        growth = samples[-1][1] - samples[1][1] if len(samples) > 2 else 0.0
        per_call = growth * 1024 / max(1, samples[-1][0] - samples[1][0])
        print(f"   {args.calls / took:.0f} calls/s; from the first sample to the last: "
              f"{growth:+.1f} MiB ({per_call:.2f} KiB a call)")
        floods = []
        print(f"== {name}: floods, {args.flood_mib} MiB each")
        for kind in ("header", "520", "header", "520"):
            before = rss_mib(process.pid)
            sent = flood(port, kind, args.flood_mib * MIB)
            time.sleep(0.5)
            after = rss_mib(process.pid)
            floods.append((kind, before, after, sent / MIB))
            print(f"   {kind:>6} flood: sent {sent / MIB:7.1f} MiB before the close; "
                  f"RSS {before:7.1f} -> {after:7.1f} MiB")
        return {"samples": samples, "growth": growth, "per_call": per_call, "floods": floods,
                "alive": process.poll() is None}
    finally:
        stop(process)
        shutil.rmtree(tmp, ignore_errors=True)


def baseline_tree(revision: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="agi-soak-baseline-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(path), revision], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


def main() -> None:
    if sys.argv[1:2] == ["--drive"]:
        drive(*(int(value) for value in sys.argv[2:7]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--every", type=int, default=2_000)
    parser.add_argument("--flood-mib", type=int, default=400)
    parser.add_argument("--baseline", default="890bc06")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    results = {"this tree": measure("this tree", ROOT, args)}
    if not args.no_baseline:
        tree = baseline_tree(args.baseline)
        try:
            results[f"baseline {args.baseline}"] = measure(f"baseline {args.baseline}", tree, args)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                           check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print("\n| service | RSS after first / last soak sample | growth per call | "
          "RSS before -> after 4 floods |")
    print("|---|---|---|---|")
    for name, result in results.items():
        first, last = result["samples"][1][1], result["samples"][-1][1]
        before, after = result["floods"][0][1], result["floods"][-1][2]
        print(f"| {name} | {first:.0f} / {last:.0f} MiB | {result['per_call']:.2f} KiB | "
              f"{before:.0f} -> {after:.0f} MiB |")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
