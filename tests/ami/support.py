"""Test helpers: the golden transcripts, and an in-memory link from a client to the simulator."""

from __future__ import annotations

import re
from pathlib import Path

from twisted.internet.address import IPv4Address
from twisted.internet.defer import fail, succeed
from twisted.internet.error import ConnectionRefusedError
from twisted.test import iosim

from hotline.ami.framing import ManagerFramer
from hotline.ami.message import Message

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "asterisk-23.4.1"
# Recorded later (README.txt's second table), against an Asterisk configured from
# docs/asterisk: the queue with live members, and the AMI side of calls whose dialplan the
# simulator does not run. test_golden_queue_events.py compares the simulator with them;
# AMI_STREAMS are the first session's, which test_simulator_golden.py replays whole.
LATER_AMI_STREAMS = (
    "ami_device_unavailable",
    "ami_originate_call_id",
    "ami_queue_agent_hangs_up",
    "ami_queue_wrapup",
    "ami_record_writefile",
    "ami_say_datetime_zone",
    "ami_say_datetime_zone_files",
    "ami_threeway_by_name",
    "ami_threeway_by_uniqueid",
    "ami_threeway_unit_no_answer",
)
AMI_STREAMS = sorted(
    p.name.split(".")[0]
    for p in (GOLDEN / "raw").glob("ami_*.from_asterisk.bin")
    if p.name.split(".")[0] not in LATER_AMI_STREAMS
)
ALL_AMI_STREAMS = sorted((*AMI_STREAMS, *LATER_AMI_STREAMS))


def from_asterisk(name: str) -> bytes:
    return (GOLDEN / "raw" / f"{name}.from_asterisk.bin").read_bytes()


def transcript(name: str) -> list[tuple[str, bytes]]:
    """('A' or 'S', exact line bytes with terminator) in order; notes dropped."""
    out = []
    raw = (GOLDEN / f"{name}.txt").read_bytes()
    for line in raw.split(b"\n"):
        if line.startswith(b"A: ") or line.startswith(b"S: "):
            out.append((line[:1].decode(), line[3:] + b"\n"))
    return out


class Collector(ManagerFramer):
    """A framer that records what it parses."""

    def __init__(self, expect_banner: bool = True):
        self.expectBanner = expect_banner
        self.banner: str | None = None
        self.messages: list[Message] = []

    def bannerReceived(self, version: str) -> None:
        self.banner = version

    def messageReceived(self, message: Message) -> None:
        self.messages.append(message)


def split_messages(stream: bytes) -> tuple[bytes, list[bytes]]:
    """(banner line, [raw bytes of each message incl. its blank line])."""
    banner, _, rest = stream.partition(b"\r\n")
    chunks = re.findall(rb"(?:[^\r\n]*\r?\n)+?\r?\n", rest)
    assert b"".join(chunks) == rest
    return banner + b"\r\n", chunks


class SimulatorEndpoint:
    """A client endpoint that connects, in memory, to an `AsteriskManagerSimulator`.

    ``refuse = True`` makes attempts fail as if Asterisk were down; `flush` moves bytes.
    """

    def __init__(self, sim, clock):
        self.sim = sim
        self.clock = clock
        self.refuse = False
        self.attempts = 0
        self.pumps: list[iosim.IOPump] = []

    def connect(self, factory):
        self.attempts += 1
        if self.refuse:
            return fail(ConnectionRefusedError("simulated Asterisk is down"))
        host = IPv4Address("TCP", "127.0.0.1", 5038)
        peer = IPv4Address("TCP", "127.0.0.1", 40000 + self.attempts)
        client = factory.buildProtocol(host)
        server = self.sim.buildProtocol(peer)
        client_transport = iosim.FakeTransport(client, False, hostAddress=peer, peerAddress=host)
        server_transport = iosim.FakeTransport(server, True, hostAddress=host, peerAddress=peer)
        self.pumps.append(iosim.connect(server, server_transport, client, client_transport, greet=False, clock=self.clock))
        return succeed(client)

    def flush(self) -> None:
        for pump in list(self.pumps):
            pump.flush()

    def cut(self) -> None:
        """Drop the newest link from the Asterisk side."""
        pump = self.pumps[-1]
        pump.serverIO.loseConnection()
        self.flush()
