"""Submit throughput of the SMPP link against the simulator on loopback.

Two processes: the SMSC simulator runs in a subprocess (`python -m sms_gateway.simulator`),
the client in this one, on one core. Measured, in one run:
- baseline: smpplib's own blocking `Client`, one submit_sm then its response, N messages;
- `SmppLink` alone (no database) at window 1, 10 and 50, rate unlimited;
- `SmppLink` at a configured rate (default 200/s): the rate achieved after the initial burst;
- the same baseline and windows against a simulator that answers after `--latency` seconds
  (default 5 ms), as an SMSC across a network does: there the window is what counts.

The cpu columns are this process's CPU seconds and the simulator's, per run.

    .venv/bin/python bench/sms_link.py [--messages 20000] [--rate 200] [--rate-seconds 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from smpplib import client as smpplib_client
from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ClientEndpoint

from sms_gateway.link import OutboundMessage
from sms_gateway.smpp import SmppBindConfig, SmppLink

SYSTEM_ID, PASSWORD = "bench", "secret"
TEXT = "Your appeal A20261128001 has been received. Reply 1 if satisfied."  # one GSM part


def destination(i: int) -> str:
    return "138%08d" % (i % 100_000_000)


def start_simulator(latency: float = 0.0,
                    receipt_delay: float = -1) -> tuple[subprocess.Popen, int]:
    """The simulator in a subprocess; `receipt_delay` negative: it sends no receipts."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sms_gateway.simulator", "--port", "0",
         "--receipt-delay", str(receipt_delay),
         "--system-id", SYSTEM_ID, "--password", PASSWORD, "--response-delay", str(latency)],
        stdout=subprocess.PIPE, text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    return process, int(line.split()[-1])


def cpu_seconds(process: subprocess.Popen) -> float:
    with open(f"/proc/{process.pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def baseline(port: int, count: int) -> dict:
    """smpplib's blocking Client: submit_sm, wait for submit_sm_resp, next."""
    smpp = smpplib_client.Client("127.0.0.1", port, allow_unknown_opt_params=True)
    answered = []
    smpp.set_message_sent_handler(lambda pdu: answered.append(pdu.message_id))
    smpp.connect()
    smpp.bind_transmitter(system_id=SYSTEM_ID, password=PASSWORD)
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        smpp.send_message(source_addr_ton=5, source_addr="9600110", dest_addr_ton=1,
                          dest_addr_npi=1, destination_addr=destination(i),
                          short_message=TEXT.encode("ascii"), registered_delivery=0)
        smpp.read_once()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    smpp.unbind()
    smpp.disconnect()
    assert len(answered) == count
    return {"name": "smpplib Client (blocking)", "window": 1, "pdus": count, "seconds": elapsed, "cpu": cpu}


async def link_run(reactor, port: int, *, window: int, count: int, rate: float) -> dict:
    config = SmppBindConfig(
        port=port, system_id=SYSTEM_ID, password=PASSWORD, window=window, rate=rate,
        registered_delivery=0, response_timeout=30.0, enquire_link_interval=60.0,
    )
    link = SmppLink(config, TCP4ClientEndpoint(reactor, "127.0.0.1", port), reactor,
                    on_receipt=lambda r: defer.succeed(None), on_message=lambda m: defer.succeed(None))
    link.startService()
    await link.when_available()
    answered_at: list[float] = []
    clock = time.perf_counter

    def answered(_):
        answered_at.append(clock())

    started, cpu = clock(), time.process_time()
    parts = []
    for i in range(count):
        d = link.submit(OutboundMessage(destination(i), TEXT, request_receipt=False)).parts[0]
        parts.append(d.addCallback(answered))
    await defer.gatherResults(parts, consumeErrors=True)
    elapsed, cpu = clock() - started, time.process_time() - cpu
    await link.stopService()
    result = {"name": f"SmppLink window {window}", "window": window, "pdus": count,
              "seconds": elapsed, "cpu": cpu}
    if rate < 1e6:
        burst = int(config.bucket_depth)
        steady = answered_at[burst:]
        result["rate"] = (len(steady) - 1) / (steady[-1] - steady[0])
        result["name"] = f"SmppLink at {rate:g}/s (window {window})"
    return result


def print_table(title: str, rows: list[dict], target_rate: float) -> None:
    base = rows[0]["pdus"] / rows[0]["seconds"]
    print()
    print(title)
    print(f"{'run':<36} {'PDUs':>7} {'seconds':>8} {'PDU/s':>9} {'x base':>7} {'cpu s':>6} {'sim cpu':>7}  note")
    for row in rows:
        per_second = row["pdus"] / row["seconds"]
        note = ""
        if "rate" in row:
            deviation = (row["rate"] - target_rate) / target_rate * 100
            note = f"steady {row['rate']:.1f}/s ({deviation:+.2f}% of {target_rate:g}/s)"
        print(f"{row['name']:<36} {row['pdus']:>7} {row['seconds']:>8.2f} {per_second:>9.0f} "
              f"{per_second / base:>7.1f} {row['cpu']:>6.2f} {row['sim_cpu']:>7.2f}  {note}")


def measured(simulator: subprocess.Popen, run):
    before = cpu_seconds(simulator)
    row = run()
    row["sim_cpu"] = cpu_seconds(simulator) - before
    return row


async def measured_async(simulator: subprocess.Popen, run):
    before = cpu_seconds(simulator)
    row = await run()
    row["sim_cpu"] = cpu_seconds(simulator) - before
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20000, help="per windowed run")
    parser.add_argument("--baseline-messages", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--rate-seconds", type=float, default=10.0)
    parser.add_argument("--latency", type=float, default=0.005, help="simulated SMSC latency, seconds")
    args = parser.parse_args()
    fast, fast_port = start_simulator()
    slow, slow_port = start_simulator(args.latency)
    loopback: list[dict] = []
    latency: list[dict] = []
    try:
        loopback.append(measured(fast, lambda: baseline(fast_port, args.baseline_messages)))
        slow_count = max(100, int(0.5 / args.latency)) if args.latency else args.baseline_messages
        latency.append(measured(slow, lambda: baseline(slow_port, slow_count)))

        async def runs(reactor):
            for window, count in ((1, args.messages // 4), (10, args.messages), (50, args.messages)):
                loopback.append(await measured_async(fast, lambda window=window, count=count:
                                                     link_run(reactor, fast_port, window=window,
                                                              count=count, rate=1e9)))
            count = int(args.rate * args.rate_seconds)
            loopback.append(await measured_async(fast, lambda: link_run(
                reactor, fast_port, window=50, count=count, rate=args.rate)))
            for window, count in ((1, slow_count), (10, args.messages // 4), (50, args.messages)):
                latency.append(await measured_async(slow, lambda window=window, count=count:
                                                    link_run(reactor, slow_port, window=window,
                                                             count=count, rate=1e9)))

        task.react(lambda reactor: defer.Deferred.fromCoroutine(runs(reactor)), [])
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise
    finally:
        for simulator in (fast, slow):
            simulator.terminate()
            simulator.wait()
    print_table("Loopback, simulator answering at once:", loopback, args.rate)
    print_table(f"Simulator answering after {args.latency * 1000:g} ms:", latency, args.rate)


if __name__ == "__main__":
    main()
