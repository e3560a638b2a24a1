"""The AMI peer simulator as a process, for tests that start the real service.

Listens on 127.0.0.1 (`--port 0`: any free port), prints `listening on <port>`, then reads
one JSON command per line on stdin and answers `ok` (or `error: ...`) on stdout:

    {"cmd": "caller_join", "caller": "13812345678", "call_id": "call-1", "name": "c1"}
                                   # a caller joins the queue (call_id optional); prints
                                   # its Uniqueid, then ok
    {"cmd": "agent_connect", "interface": "PJSIP/1001", "caller": "13812345678",
     "call_id": "call-1", "name": "c1"}
                                   # the member answers (joining the caller first if `name`
                                   # has not joined); prints the caller's Uniqueid, then ok
    {"cmd": "agent_complete", "name": "c1", "reason": "caller"}   # the call ends
    {"cmd": "abandon", "name": "c1"}   # the caller hangs up while waiting
    {"cmd": "members"}             # prints the queue's members as JSON, then ok
    {"cmd": "device_state", "interface": "PJSIP/1001", "status": 5}
                                   # the phone's device state changes (5: Unavailable)

The events carry the fields app_queue.c publishes (see hotline.ami.simulator).

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
        self.callers: dict[str, tuple] = {}  # name -> (caller channel, agent leg, interface)
        self.serial = 0

    def lineReceived(self, line: bytes) -> None:
        try:
            command = json.loads(line)
            getattr(self, "do_" + command.pop("cmd"))(**command)
        except Exception as error:  # a test's typo: say so, keep serving
            self.sendLine(f"error: {error!r}".encode())
            return
        self.sendLine(b"ok")

    def do_caller_join(self, caller: str, call_id: str | None = None,
                       name: str | None = None, queue: str = "hotline") -> None:
        self.serial += 1
        variables = {"HOTLINE_CALL_ID": call_id} if call_id else None
        channel = self.sim.new_channel(f"PJSIP/trunk-{self.serial:08x}", caller_id_num=caller,
                                       variables=variables)
        self.sim.queue_caller_join(queue, channel)
        self.callers[name or channel.uniqueid] = (channel, None, None)
        self.sendLine(channel.uniqueid.encode())

    def do_agent_connect(self, interface: str, caller: str = "", call_id: str | None = None,
                         name: str | None = None, queue: str = "hotline") -> None:
        if name is None or name not in self.callers:
            self.serial += 1
            variables = {"HOTLINE_CALL_ID": call_id} if call_id else None
            channel = self.sim.new_channel(f"PJSIP/trunk-{self.serial:08x}",
                                           caller_id_num=caller, variables=variables)
            self.sim.queue_caller_join(queue, channel)
        else:
            channel = self.callers[name][0]
        agent = self.sim.new_channel(f"{interface}-{self.serial:08x}", caller_id_num=interface)
        self.sim.agent_connect(queue, channel, agent, interface, ring_time=1)
        self.callers[name or channel.uniqueid] = (channel, agent, interface)
        self.sendLine(channel.uniqueid.encode())

    def do_agent_complete(self, name: str, reason: str = "caller",
                          queue: str = "hotline") -> None:
        channel, agent, interface = self.callers.pop(name)
        self.sim.agent_complete(queue, channel, agent, interface, reason=reason)
        self.sim.hangup_channel(channel)

    def do_abandon(self, name: str, queue: str = "hotline") -> None:
        channel = self.callers.pop(name)[0]
        self.sim.queue_caller_abandon(queue, channel)
        self.sim.hangup_channel(channel)

    def do_device_state(self, interface: str, status: int) -> None:
        self.sim.set_device_state(interface, int(status))

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
