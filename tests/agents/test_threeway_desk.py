"""The three-way call from the desk (POST /terminal/threeway) through the AMI simulator and a
real database: the unit's duty phone is originated into the call's conference and, once it
has answered and joined, the citizen and the officer are moved there with one Redirect of
their channels (the Uniqueids the queue's AgentConnect gave); a unit that does not answer,
a unit without a duty phone, no call, or a call that ended meanwhile change nothing and
are said in Chinese; every use is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.ami.actions import OriginateReason
from schemas.enums import AgentRole
from schemas.models import AuditEvent, Unit
from tests.agents.support import create_agent
from tests.agents.test_terminal import IFACE, Rig
from tests.support.appeals import add_unit

DUTY_PHONE = "05398123456"  # a landline: units' duty phones often are


@pytest.fixture
def rig(database, pumped_reactor):
    rig = Rig(database, pumped_reactor)
    create_agent(database, "li", AgentRole.AGENT, interface=IFACE)
    yield rig
    rig.stop()


def unit_with_phone(database, phone: str | None = DUTY_PHONE) -> int:
    def add(session):
        unit_id = add_unit(session)
        session.get(Unit, unit_id).duty_phone = phone
        return unit_id
    return database.write_now(add)


def on_a_call(rig):
    """li is logged in to the queue and has a caller put through."""
    li = rig.browser("li")
    assert li.post("/terminal/queue", {"action": "login"}).status == 303
    caller = rig.sim.new_channel("PJSIP/trunk-0001", caller_id_num="13812345678",
                                 variables={"HOTLINE_CALL_ID": "call-1"})
    agent = rig.sim.new_channel(f"{IFACE}-00000002", caller_id_num="1001")
    rig.sim.queue_caller_join("hotline", caller)
    rig.sim.agent_connect("hotline", caller, agent, IFACE)
    rig.sync()
    return li, caller, agent


def post(rig, li, unit_id):
    """The form sent, simulated time running while the service waits (the unit's phone
    rings for its scripted delay)."""
    def wait(d):
        box = []
        d.addBoth(box.append)
        rig.settle_until(lambda: bool(box), timeout=15)
        if hasattr(box[0], "raiseException"):
            box[0].raiseException()
        return box[0]

    waiter, li.waiter = li.waiter, wait
    try:
        return li.post("/terminal/threeway", {"unit_id": str(unit_id)})
    finally:
        li.waiter = waiter


def audit_notes(database):
    return database.read_now(lambda s: [e.note for e in s.scalars(
        select(AuditEvent).where(AuditEvent.action == "threeway"))])


def test_the_unit_joins_then_the_pair_is_moved_into_its_conference(rig, database):
    unit_id = unit_with_phone(database)
    li, caller, agent = on_a_call(rig)
    result = post(rig, li, unit_id)
    assert result.status == 303 and result.location.startswith("/terminal?threeway=")
    redirects = [a for a in rig.sim.actions_received if a.get("Action") == "Redirect"]
    (redirect,) = redirects
    assert (redirect["Channel"], redirect["ExtraChannel"]) == (caller.uniqueid, agent.uniqueid)
    originate = next(a for a in rig.sim.actions_received if a.get("Action") == "Originate")
    assert originate["Channel"] == f"PJSIP/{DUTY_PHONE}@trunk"
    assert originate["Context"] == "hotline-threeway" == redirect["Context"]
    assert originate["Exten"] == redirect["Exten"] == redirect["ExtraExten"]
    (conference,) = rig.sim.conferences.values()
    assert set(conference.members) >= {caller.uniqueid, agent.uniqueid}
    assert len(conference.members) == 3
    page = li.get(result.location)
    assert "三方通话中" in page.body and "兰山派出所" in page.body
    assert DUTY_PHONE not in page.body  # the duty number shown masked
    (note,) = audit_notes(database)
    assert note.startswith("兰山派出所 ") and "joined conference" in note and DUTY_PHONE not in note


def test_the_desk_offers_the_units_with_a_duty_phone(rig, database):
    unit_with_phone(database)
    database.write_now(lambda s: add_unit(s, "PS-HD", "河东派出所"))  # no duty phone
    page = rig.browser("li").get("/terminal")
    form = page.body.split('id="threeway-form"', 1)[1].split("</form>", 1)[0]
    assert "兰山派出所" in form and "河东派出所" not in form
    assert "发起三方通话" in form


def test_a_unit_that_does_not_answer_leaves_the_call_as_it_was(rig, database):
    unit_id = unit_with_phone(database)
    rig.sim.script_originate(DUTY_PHONE, OriginateReason.NO_ANSWER, delay=0)
    li, caller, agent = on_a_call(rig)
    result = post(rig, li, unit_id)
    assert result.status == 409 and "兰山派出所值班电话未接听，通话未受影响" in result.body
    assert not [a for a in rig.sim.actions_received if a.get("Action") == "Redirect"]
    assert caller.uniqueid in rig.sim.bridged and not rig.sim.conferences
    assert "not answered (NO_ANSWER)" in audit_notes(database)[0]


@pytest.mark.parametrize("setup, words", [
    ("no phone", "未登记有效的值班电话"),
    ("no call", "当前没有通话"),
    ("unknown unit", "承办单位不存在或已停用"),
])
def test_what_cannot_be_done_is_said_and_nothing_is_dialled(rig, database, setup, words):
    unit_id = unit_with_phone(database, None if setup == "no phone" else DUTY_PHONE)
    if setup == "no call":
        li = rig.browser("li")
    else:
        li, _caller, _agent = on_a_call(rig)
    result = post(rig, li, 999 if setup == "unknown unit" else unit_id)
    assert result.status == 409 and words in result.body
    assert not [a for a in rig.sim.actions_received if a.get("Action") == "Originate"]


def test_a_call_that_ended_while_the_unit_rang_hangs_the_unit_up_again(rig, database):
    unit_id = unit_with_phone(database)
    rig.sim.script_originate(DUTY_PHONE, OriginateReason.ANSWERED, delay=2)
    li, caller, agent = on_a_call(rig)

    def both_hang_up():  # the citizen hangs up while the unit's phone rings
        rig.sim.hangup_channel(caller)
        rig.sim.hangup_channel(agent)
    rig.clock.callLater(1.0, both_hang_up)
    result = post(rig, li, unit_id)
    assert result.status == 409 and "单位接听前通话已结束" in result.body
    assert [a["Action"] for a in rig.sim.actions_received][-1] == "Hangup"
    assert "call ended before the unit joined" in audit_notes(database)[0]
