"""A scripted caller that speaks FastAGI exactly as Asterisk 23.4.1 does (tests, demo, bench)."""

from ivr.simulator.asterisk import AsteriskCallSimulator, CallSetup, Heard, parse_args, render
from ivr.simulator.client import simulate_call
from ivr.simulator.script import CallerScript, ScriptError, Turn, parse_script

__all__ = [
    "AsteriskCallSimulator",
    "CallSetup",
    "CallerScript",
    "Heard",
    "ScriptError",
    "Turn",
    "parse_args",
    "parse_script",
    "render",
    "simulate_call",
]
