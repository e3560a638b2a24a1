"""Every device state Asterisk reports for a member's phone (the `Status` of its member
events, 0 Unknown .. 8 On hold) reaches the terminal and the wallboard in Chinese; a member
whose phone is Invalid (4) or Unavailable (5), an unregistered phone, is not available but
`unreachable` (话机不可达), counted apart on the wallboard, and its agent is warned on the
terminal (话机未注册/不可达). Against the AMI simulator, on both backends."""

from __future__ import annotations

import json
import re

import pytest

from hotline.ami.simulator import (
    DEVICE_INVALID,
    DEVICE_NOT_INUSE,
    DEVICE_UNAVAILABLE,
)
from schemas.enums import AgentRole
from tests.agents.support import create_agent
from tests.agents.test_terminal import IFACE, Rig

DEVICES = {
    0: ("未知", "available"),
    1: ("空闲", "available"),
    2: ("使用中", "on_call"),
    3: ("忙", "on_call"),
    4: ("无效（未注册）", "unreachable"),
    5: ("不可用（不可达）", "unreachable"),
    6: ("振铃中", "on_call"),
    7: ("通话中振铃", "on_call"),
    8: ("保持中", "on_call"),
}


@pytest.fixture
def rig(database, pumped_reactor):
    rig = Rig(database, pumped_reactor)
    create_agent(database, "li", AgentRole.AGENT, interface=IFACE)
    create_agent(database, "wang", AgentRole.SUPERVISOR)
    yield rig
    rig.stop()


def last_state(events) -> dict:
    return json.loads([data for kind, data in events if kind == "state"][-1])


def terminal_shows(page: str) -> tuple[str, str, bool]:
    """(the state's label, the phone's label, whether the warning is shown)."""
    state = re.search(r'<strong id="queue-state" data-state="[^"]*">([^<]*)<', page).group(1)
    device = re.search(r'<span id="queue-device" data-device="[^"]*">([^<]*)<', page).group(1)
    warning = re.search(r'<p id="phone-warning" class="error" role="alert"( hidden)?>([^<]*)<',
                        page)
    assert "话机未注册/不可达" in warning.group(2)
    return state, device, warning.group(1) is None


@pytest.mark.parametrize("device", [DEVICE_UNAVAILABLE, DEVICE_INVALID])
def test_an_unregistered_phone_is_unreachable_and_its_agent_is_warned(rig, device):
    rig.sim.set_device_state(IFACE, device)  # the phone has not registered with Asterisk
    li = rig.browser("li")
    events = rig.listen(li)
    assert li.post("/terminal/queue", {"action": "login"}).status == 303
    rig.sync()
    assert rig.sim.queues["hotline"].members[IFACE].status == device  # QueueAdd succeeded
    assert not rig.sim.member_available("hotline", IFACE)  # callers would get JOINEMPTY
    assert last_state(events) == {"state": "unreachable", "reason": "", "device": device}
    assert terminal_shows(li.get("/terminal").body) == ("话机不可达", DEVICES[device][0], True)
    wang = rig.browser("wang")
    counts = json.loads(wang.get("/supervisor/wallboard.json").body)["agents"]["counts"]
    assert (counts["unreachable"], counts["available"]) == (1, 0)
    # The phone registers: available again, the warning gone.
    rig.sim.set_device_state(IFACE, DEVICE_NOT_INUSE)
    rig.sync()
    assert last_state(events) == {"state": "available", "reason": "", "device": 1}
    assert terminal_shows(li.get("/terminal").body) == ("空闲", "空闲", False)
    counts = json.loads(wang.get("/supervisor/wallboard.json").body)["agents"]["counts"]
    assert (counts["unreachable"], counts["available"]) == (0, 1)


def test_a_paused_agent_whose_phone_goes_away_is_warned_too(rig):
    li = rig.browser("li")
    events = rig.listen(li)
    li.post("/terminal/queue", {"action": "login"})
    li.post("/terminal/queue", {"action": "pause", "reason": "培训"})
    rig.sim.set_device_state(IFACE, DEVICE_UNAVAILABLE)
    rig.sync()
    assert last_state(events) == {"state": "unreachable", "reason": "培训", "device": 5}
    assert terminal_shows(li.get("/terminal").body)[2]


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_every_device_state_is_shown_in_chinese_on_the_terminal_and_the_wallboard(rig, device):
    label, state = DEVICES[device]
    li = rig.browser("li")
    events = rig.listen(li)
    li.post("/terminal/queue", {"action": "login"})
    rig.sim.set_device_state(IFACE, device)
    rig.sync()
    assert last_state(events)["device"] == device
    assert last_state(events)["state"] == state
    shown = terminal_shows(li.get("/terminal").body)
    assert shown[1:] == (label, state == "unreachable")
    page = li.get("/terminal").body
    assert f'<span data-device="{device}">{label}</span>' in page  # the script's labels
    wang = rig.browser("wang")
    (member,) = json.loads(wang.get("/supervisor/wallboard.json").body)["agents"]["members"]
    assert (member["state"], member["device"]) == (state, device)
    board = wang.get("/supervisor/wallboard").body
    assert f'<td data-device="{device}">{label}</td>' in board
    assert f'<span data-device="{device}">{label}</span>' in board


def test_a_logged_out_member_shows_no_phone_state(rig):
    rig.settle(rig.ami.queue_add("hotline", IFACE, member_name="li"))
    rig.settle(rig.ami.queue_remove("hotline", IFACE))
    rig.sync()
    wang = rig.browser("wang")
    (member,) = json.loads(wang.get("/supervisor/wallboard.json").body)["agents"]["members"]
    assert (member["state"], member["device"]) == ("logged_out", None)
    assert '<td data-device="">—</td>' in wang.get("/supervisor/wallboard").body
