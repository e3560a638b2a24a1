"""The call id the IVR puts on a call is the one the agents' screen pop reads back: both
packages name the channel variable through the core (`hotline.channel_variables`)."""

from __future__ import annotations

from agents.live import call_id_of
from hotline.ami.message import Message
from hotline.channel_variables import CALL_ID
from tests.ivr.helpers import run_call
from tests.ivr.test_hotline_flow import MemoryBackend, citizen, make_flow


def test_the_call_id_the_ivr_sets_is_the_one_the_screen_pop_reads():
    call = run_call(make_flow(MemoryBackend()), "_ 1", citizen())  # to the agents' queue
    [name, value] = [line.split(" ", 3)[2:] for line in call.commands()
                     if line.startswith(f"SET VARIABLE {CALL_ID} ")][0]
    assert (name, value) == ("HOTLINE_CALL_ID", "call-1")  # manager.conf's channelvars
    # Asterisk's AgentConnect for that caller, carrying the variable manager.conf lists.
    connect = Message([("Event", "AgentConnect"), ("ChanVariable", "CHANNEL_OTHER=x"),
                       ("ChanVariable", f"{name}={value}")])
    assert call_id_of(connect) == "call-1"
