"""Scripted FastAGI callers spread over several service processes as Asterisk's `hagi://`
spreads them: call n tries the processes in turn starting at n mod N (round robin), and a
process that refuses the connection is skipped for the next (res_agi.c tries each SRV target
until one connects; a call cut after it connected is not retried).

    python -m tests.scale.callers --ports 4573,4574,4575 --calls 30 --interval 0.2 \
        --out calls.jsonl [--digits "_ 0"]

One JSON line per call once it ends: {"n", "uniqueid", "caller", "port" (null: no process
took it), "started", "ended" (wall clock), "heard": [...]}; `done` is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.error import ConnectError

from ivr.simulator.asterisk import AsteriskCallSimulator, CallSetup
from ivr.simulator.script import CallerScript

SCRIPTS = ("_ 0", "_ 4 2026112800001# 0", "_ _ _")


def uniqueid(n: int) -> str:
    return f"1795887564.{n}"


def caller_number(n: int) -> str:
    return f"139{n:08d}"


async def one_call(reactor, n: int, ports: list[int], digits: str, out) -> None:
    start = n % len(ports)
    order = ports[start:] + ports[:start]
    setup = replace(CallSetup(), uniqueid=uniqueid(n), callerid=caller_number(n),
                    channel=f"PJSIP/trunk-{n:08x}",
                    functions={"QUEUE_WAITING_COUNT(hotline)": "0"})
    record = {"n": n, "uniqueid": uniqueid(n), "caller": caller_number(n), "port": None,
              "started": time.time(), "ended": None, "heard": []}
    for port in order:
        caller = AsteriskCallSimulator(replace(setup, port=port), CallerScript(digits))
        try:
            await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port, timeout=2), caller)
        except ConnectError:
            continue
        record["port"], record["started"] = port, time.time()
        heard = await caller.finished
        record["ended"], record["heard"] = time.time(), [str(h) for h in heard]
        break
    out.write(json.dumps(record, ensure_ascii=False) + "\n")
    out.flush()


async def run(reactor, args) -> None:
    ports = [int(p) for p in args.ports.split(",")]
    with open(args.out, "a", encoding="utf-8") as out:
        calls = []
        for n in range(args.calls):
            digits = args.digits or SCRIPTS[n % len(SCRIPTS)]
            calls.append(defer.Deferred.fromCoroutine(one_call(reactor, n, ports, digits, out)))
            await task.deferLater(reactor, args.interval)
        await defer.gatherResults(calls)
    print("done", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.scale.callers")
    parser.add_argument("--ports", required=True)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--digits", default="")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    task.react(lambda reactor: defer.Deferred.fromCoroutine(run(reactor, args)))


if __name__ == "__main__":
    main()
