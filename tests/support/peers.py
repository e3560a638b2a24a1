"""The service's peers as processes that keep a record: an SMSC simulator and an AMI peer
simulator, each writing one JSON line per thing a test checks to a record file.

    python -m tests.support.peers smsc --records FILE [--accounts hotline1:secret,...]
                                       [--receipt-delay S] [--response-delay S]
    python -m tests.support.peers ami --records FILE [--reason answered] [--delay S]

Each prints ``listening on <port>`` once its port is open (port 0: any free one). Records:

    {"event": "bind", "session": 3, "system_id": "hotline1", "command": "bind_transceiver", "t": ...}
    {"event": "submit", "session": 3, "system_id": "hotline1", "destination": "13812345678",
     "text": "...", "message_id": "0000002A", "t": ...}
    {"event": "unbind", "session": 3, "system_id": "hotline1", "t": ...}
    {"event": "originate", "channel": "PJSIP/138...@trunk", "variables": {"TASK_ID": "7"},
     "action_id": "hotline-1-ab12cd-1-9", "t": ...}

A record is written before the answer goes out (a submit before its submit_sm_resp, an
originate before its response), so the file holds at least everything the service could
have heard about. `t` is the wall clock (epoch seconds). Receipts go to a bind of the account
that submitted the message, as a carrier's SMSC routes them. One peer process serves every
service process of a cluster; the AMI simulator keeps one session per client connection
(`AsteriskManagerSimulator.sessions`) and sends each its own responses.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import IO

from hotline.ami.actions import OriginateReason
from hotline.ami.simulator import AsteriskManagerSimulator, OriginateScript
from sms_gateway.simulator.smsc import RECEIVING, SimulatedSmsc, SmscProtocol


class RecordFile:
    def __init__(self, path: str) -> None:
        self._out: IO[str] = open(path, "a", encoding="utf-8")

    def write(self, event: str, **fields) -> None:
        self._out.write(json.dumps({"event": event, **fields, "t": time.time()},
                                   ensure_ascii=False) + "\n")
        self._out.flush()


def read_records(path: Path, event: str | None = None) -> list[dict]:
    """The records a peer wrote so far (a line being written is left for the next read)."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if event is None or record["event"] == event:
            records.append(record)
    return records


def _decode(data_coding: int, short_message: bytes) -> str:
    if data_coding == 8:
        return short_message.decode("utf-16-be", "replace")
    return short_message.decode("latin-1")


class _RecordingSession(SmscProtocol):
    def pduReceived(self, data: bytes) -> None:
        before = self.bound_as
        super().pduReceived(data)
        records = self.smsc.records
        if before is None and self.bound_as is not None:
            records.write("bind", session=self.session_id, system_id=self.system_id,
                          command=self.bound_as)
        elif before is not None and self.bound_as is None:
            records.write("unbind", session=self.session_id, system_id=self.system_id)


class RecordingSmsc(SimulatedSmsc):
    def __init__(self, clock, records: RecordFile, **kwargs) -> None:
        super().__init__(clock, **kwargs)
        self.records = records

    def factory(self):
        from twisted.internet.protocol import Factory

        return Factory.forProtocol(lambda: _RecordingSession(self))

    # A carrier's SMSC sends a receipt to a bind of the account that submitted the message
    # (the simulator's own model sends every delivery to its first receiving session).
    _account: str | None = None

    def _receipt(self, accepted) -> None:
        session = next((s for s in self.sessions if s.session_id == accepted.session), None)
        self._account = session.system_id if session is not None else None
        try:
            super()._receipt(accepted)
        finally:
            self._account = None

    def _enqueue(self, delivery) -> None:
        if self._account is not None:
            delivery.account = self._account
        super()._enqueue(delivery)

    def flush(self) -> None:
        receivers = [s for s in self.sessions if s.bound_as in RECEIVING]
        if not receivers:
            return
        pending, self._deliveries = self._deliveries, []
        for delivery in pending:
            account = getattr(delivery, "account", None)
            own = [s for s in receivers if s.system_id == account]
            (own or receivers)[0].deliver(delivery)

    def accept(self, session, pdu):
        status, message_id = super().accept(session, pdu)
        if message_id:
            accepted = self.accepted[-1]
            self.records.write("submit", session=session.session_id, system_id=session.system_id,
                               destination=accepted.destination, message_id=message_id,
                               text=_decode(accepted.data_coding, accepted.short_message))
        return status, message_id


class RecordingAmi(AsteriskManagerSimulator):
    def __init__(self, clock, records: RecordFile, **kwargs) -> None:
        super().__init__(clock, **kwargs)
        self.records = records

    def originate(self, session, request) -> None:
        variables = dict(v.partition("=")[::2] for v in request.getall("Variable"))
        self.records.write("originate", channel=request.get("Channel", ""),
                           variables=variables, action_id=request.get("ActionID"))
        super().originate(session, request)


def _accounts(text: str) -> dict[str, str]:
    return dict(pair.split(":", 1) for pair in text.split(",") if pair)


def main(argv: list[str] | None = None) -> None:
    from twisted.internet import reactor

    parser = argparse.ArgumentParser(prog="python -m tests.support.peers")
    parser.add_argument("peer", choices=("smsc", "ami"))
    parser.add_argument("--records", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--accounts", default="hotline:secret",
                        help="smsc: system_id:password,...; ami: username:secret,...")
    parser.add_argument("--receipt-delay", type=float, default=0.2)
    parser.add_argument("--response-delay", type=float, default=0.0)
    parser.add_argument("--reason", default="answered",
                        choices=[r.name.lower() for r in OriginateReason])
    parser.add_argument("--delay", type=float, default=0.2, help="ami: seconds to the outcome")
    args = parser.parse_args(argv)
    records = RecordFile(args.records)
    if args.peer == "smsc":
        smsc = RecordingSmsc(reactor, records, credentials=_accounts(args.accounts),
                             receipt_delay=None if args.receipt_delay < 0 else args.receipt_delay)
        smsc.faults.response_delay = args.response_delay
        factory = smsc.factory()
    else:
        outcome = OriginateScript(OriginateReason[args.reason.upper()], delay=args.delay)
        factory = RecordingAmi(reactor, records, users=_accounts(args.accounts),
                               default_outcome=outcome)
    port = reactor.listenTCP(args.port, factory, interface="127.0.0.1")
    print(f"listening on {port.getHost().port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
    sys.exit(0)
