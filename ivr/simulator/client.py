"""Place one simulated call against a FastAGI server and return what the caller heard."""

from __future__ import annotations

from dataclasses import replace

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

from ivr.simulator.asterisk import AsteriskCallSimulator, CallSetup, Heard
from ivr.simulator.script import CallerScript


async def _call(reactor, host: str, port: int, setup: CallSetup, digits: str) -> list[Heard]:
    # Parse the script before connecting so a typo fails without touching the server.
    caller = CallerScript(digits)
    simulator = AsteriskCallSimulator(setup, caller)
    endpoint = TCP4ClientEndpoint(reactor, host, port, timeout=10)
    await connectProtocol(endpoint, simulator)
    return await simulator.finished


def simulate_call(
    reactor,
    host: str,
    port: int,
    script: str = "hotline",
    digits: str = "",
    setup: CallSetup | None = None,
) -> "Deferred[list[Heard]]":
    """Call `AGI(agi://host:port/<script>)` as Asterisk would, with the caller pressing `digits`
    (see ivr.simulator.script). Fires with the list of Heard events once the service ends the
    call; `str(heard)` of each is one printable line. The reactor is passed in: a CLI gets it
    from `twisted.internet.task.react`."""
    base = setup or CallSetup()
    return Deferred.fromCoroutine(
        _call(reactor, host, port, replace(base, script=script, host=host, port=port), digits)
    )
