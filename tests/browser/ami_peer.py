"""The AMI peer simulator as a process, for tests that start the real service.

Listens on 127.0.0.1 (`--port 0`: any free port), prints `listening on <port>`, then reads
one JSON command per line on stdin and answers `ok` (or `error: ...`) on stdout:

    {"cmd": "agent_connect", "interface": "PJSIP/1001", "caller": "13812345678",
     "call_id": "call-1"}          # a queued caller connected to the member (call_id optional)
    {"cmd": "members"}             # prints the queue's members as JSON, then ok

Run: python -m tests.browser.ami_peer --port 0 --secret secret
"""

from __future__ import annotations

import argparse
import json
import sys

from twisted.internet import reactor, stdio
from twisted.protocols.basic import LineReceiver

from hotline.ami.simulator import AsteriskManagerSimulator


class Commands(LineReceiver):
    delimiter = b"\n"

    def __init__(self, sim: AsteriskManagerSimulator) -> None:
        self.sim = sim

    def lineReceived(self, line: bytes) -> None:
        try:
            command = json.loads(line)
            getattr(self, "do_" + command.pop("cmd"))(**command)
        except Exception as error:  # a test's typo: say so, keep serving
            self.sendLine(f"error: {error!r}".encode())
            return
        self.sendLine(b"ok")

    def do_agent_connect(self, interface: str, caller: str, call_id: str | None = None,
                         queue: str = "hotline") -> None:
        channel = self.sim.new_channel("PJSIP/trunk-00000001", caller_id_num=caller)
        agent = self.sim.new_channel(f"{interface}-00000002", caller_id_num=interface)
        self.sim.queue_caller_join(queue, channel)
        variables = [("ChanVariable", f"HOTLINE_CALL_ID={call_id}")] if call_id else []
        self.sim.queue_caller_leave(queue, channel)
        self.sim.inject_event("AgentConnect", [*channel.fields(), *variables,
                                               *agent.fields("Dest"), ("Queue", queue),
                                               ("Interface", interface),
                                               ("MemberName", interface), ("HoldTime", 2),
                                               ("RingTime", 1)], "agent,all")

    def do_members(self, queue: str = "hotline") -> None:
        members = {name: {"paused": m.paused, "reason": m.paused_reason}
                   for name, m in self.sim.queues[queue].members.items()}
        self.sendLine(json.dumps(members).encode())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--username", default="hotline")
    parser.add_argument("--secret", default="secret")
    args = parser.parse_args()
    sim = AsteriskManagerSimulator(reactor, users={args.username: args.secret})
    port = reactor.listenTCP(args.port, sim, interface="127.0.0.1")
    print(f"listening on {port.getHost().port}", flush=True)
    stdio.StandardIO(Commands(sim))
    reactor.run()


if __name__ == "__main__":
    main()
    sys.exit(0)
