"""Co-handling (协办) in the appeal core: a lead order (主办) and assisting orders, each signed
for and replied on by its unit without moving the appeal; the hall reviews the lead's reply
and accepts it only when every assisting order has replied or was withdrawn; urging and
督办 reach each order; refusals change nothing."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from hotline import audit
from hotline.appeals import InvalidTransition, ResolveHook, WorkOrderRefused
from hotline.appeals.lifecycle import WorkOrderAction
from schemas.enums import AgentRole, AppealStatus, WorkOrderStatus
from schemas.models import Agent, Appeal, AuditEvent, UrgingKind, WorkOrder, WorkOrderRole
from tests.support.appeals import add_unit, make_repository, new_appeal, utc

MONDAY = utc(2026, 11, 30, 2, 0)  # Monday 10:00 in Shanghai
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def world(database):
    resolved = []
    hook = ResolveHook()
    hook.register("test", lambda session, record: resolved.append(record.id))
    repo = make_repository(hook)
    units = database.write_now(lambda s: (add_unit(s), add_unit(s, "PS-XY", "西苑派出所"),
                                          add_unit(s, "XJ-1", "刑警一中队")))
    appeal = database.write_now(repo.create, new_appeal(), actor="li", now=MONDAY)
    world = SimpleNamespace(db=database, repo=repo, lead=units[0], assist=units[1],
                            third=units[2], appeal=appeal.id, resolved=resolved)
    step(world, "dispatch", world.appeal, world.lead, reason="属地管辖", instruction="核实处理")
    return world


def step(world, name, *args, at=MONDAY, actor="li", **kwargs):
    return world.db.write_now(getattr(world.repo, name), *args, actor=actor, now=at, **kwargs)


def assist(world, unit=None, at=MONDAY):
    return step(world, "add_assist", world.appeal, unit or world.assist, reason="涉及西苑辖区",
                instruction="协助调查并回复", at=at)


def appeal_status(world) -> AppealStatus:
    return world.db.read_now(lambda s: s.get(Appeal, world.appeal).status)


def snapshot(world):
    def work(session):
        appeal = session.get(Appeal, world.appeal)
        orders = [(o.unit_id, o.role, o.status) for o in session.scalars(
            select(WorkOrder).order_by(WorkOrder.id))]
        events = session.scalar(select(func.count()).select_from(AuditEvent))
        return appeal.status, appeal.unit_id, orders, events
    return world.db.read_now(work)


def test_an_assisting_unit_signs_and_replies_on_its_own_order_and_the_lead_accepts_after(
        world):
    order = assist(world)
    assert (order.role, order.status, order.unit_id) == \
        (WorkOrderRole.ASSIST, WorkOrderStatus.DISPATCHED, world.assist)
    assert order.due_at == world.db.read_now(world.repo.work_orders_of, world.appeal)[1].due_at
    assert appeal_status(world) is AppealStatus.ASSIGNED  # still where the lead has it
    assert world.db.read_now(lambda s: s.get(Appeal, world.appeal).unit_id) == world.lead

    # The assisting unit signs first: the appeal waits for the lead's signature.
    step(world, "sign", world.appeal, unit_id=world.assist, actor="xy1", at=MONDAY + HOUR)
    assert appeal_status(world) is AppealStatus.ASSIGNED
    step(world, "sign", world.appeal, unit_id=world.lead, actor="ls1", at=MONDAY + HOUR)
    assert appeal_status(world) is AppealStatus.IN_PROGRESS
    step(world, "reply", world.appeal, "已处理完毕", unit_id=world.lead, actor="ls1",
         at=MONDAY + 2 * HOUR)

    # The lead replied, the assisting unit not yet: the hall may not accept.
    before = snapshot(world)
    with pytest.raises(WorkOrderRefused) as refused:
        step(world, "accept_reply", world.appeal, at=MONDAY + 3 * HOUR)
    assert refused.value.reason == "assists_pending"
    assert refused.value.values == {"units": "西苑派出所"}
    assert snapshot(world) == before and world.resolved == []
    # The hall's list to review shows the lead's reply only.
    review = world.db.read_now(world.repo.hall_work, "to_review", now=MONDAY + 3 * HOUR)
    assert [r.order.unit_id for r in review.rows] == [world.lead]

    step(world, "reply", world.appeal, "西苑辖区已走访核实", unit_id=world.assist, actor="xy1",
         at=MONDAY + 3 * HOUR)
    assert appeal_status(world) is AppealStatus.IN_PROGRESS
    lead_view = world.db.write_now(world.repo.unit_appeal, world.appeal, unit_id=world.lead,
                                   actor="ls1", now=MONDAY + 3 * HOUR)
    assert [(o.unit_id, o.reply) for o in lead_view.assists] == \
        [(world.assist, "西苑辖区已走访核实")]
    assist_view = world.db.write_now(world.repo.unit_appeal, world.appeal,
                                     unit_id=world.assist, actor="xy1", now=MONDAY + 3 * HOUR)
    assert assist_view.order.assisting and assist_view.assists == ()

    resolved = step(world, "accept_reply", world.appeal, at=MONDAY + 4 * HOUR)
    assert resolved.status is AppealStatus.RESOLVED and resolved.resolution == "已处理完毕"
    assert world.resolved == [world.appeal]
    assert [(o.role, o.status) for o in world.db.read_now(world.repo.work_orders_of,
                                                          world.appeal)] == \
        [(WorkOrderRole.ASSIST, WorkOrderStatus.ACCEPTED),
         (WorkOrderRole.LEAD, WorkOrderStatus.ACCEPTED)]
    notes = [(e.action, e.note) for e in world.db.read_now(audit.trail, "appeal", world.appeal)]
    assert ("assist", "PS-XY 西苑派出所（协办）；原因：涉及西苑辖区；要求：协助调查并回复") in notes
    assert ("sign", "PS-XY 西苑派出所（协办）签收") in notes
    assert ("reply", "PS-XY 西苑派出所（协办）办结回复：西苑辖区已走访核实") in notes


def test_a_withdrawn_or_returned_assisting_order_does_not_hold_the_acceptance(world):
    assist(world)
    assist(world, world.third)
    step(world, "sign", world.appeal, unit_id=world.lead, actor="ls1")
    step(world, "return_order", world.appeal, "不涉及本中队", unit_id=world.third, actor="xj1")
    assert appeal_status(world) is AppealStatus.IN_PROGRESS  # the lead goes on
    orders = world.db.read_now(world.repo.work_orders_of, world.appeal)
    step(world, "withdraw_assist", world.appeal, orders[1].id, "已无需协办")
    step(world, "reply", world.appeal, "已处理", unit_id=world.lead, actor="ls1")
    assert step(world, "accept_reply", world.appeal).status is AppealStatus.RESOLVED
    states = [o.status for o in world.db.read_now(world.repo.work_orders_of, world.appeal)]
    assert states == [WorkOrderStatus.RETURNED, WorkOrderStatus.WITHDRAWN,
                      WorkOrderStatus.ACCEPTED]


@pytest.mark.parametrize("case, reason", [
    ("lead_unit", "assist_is_lead"), ("twice", "assisting"), ("no_lead", "no_lead"),
    ("lead_to_assisting", "assisting"), ("withdraw_lead", "no_assist")])
def test_a_refused_assisting_step_changes_nothing(world, case, reason):
    if case in ("twice", "lead_to_assisting"):
        assist(world)
    if case == "no_lead":
        step(world, "return_order", world.appeal, "不属于本所", unit_id=world.lead, actor="ls1")
    before = snapshot(world)
    lead_order = world.db.read_now(world.repo.work_orders_of, world.appeal)[-1]
    with pytest.raises(WorkOrderRefused) as refused:
        if case == "lead_unit":
            assist(world, world.lead)
        elif case == "lead_to_assisting":
            step(world, "redispatch", world.appeal, world.assist, reason="改由西苑主办",
                 instruction="处理")
        elif case == "withdraw_lead":
            step(world, "withdraw_assist", world.appeal, lead_order.id, "误派")
        else:
            assist(world)
    assert refused.value.reason == reason
    assert snapshot(world) == before


def test_the_hall_cannot_resolve_past_an_open_assisting_order(world):
    assist(world)
    step(world, "return_order", world.appeal, "不属于本所", unit_id=world.lead, actor="ls1")
    assert appeal_status(world) is AppealStatus.RECEIVED
    with pytest.raises(WorkOrderRefused) as refused:
        step(world, "answer", world.appeal, "已电话答复")
    assert refused.value.reason == "order_open"
    # A new lead, and the assisting unit is still on the appeal.
    step(world, "dispatch", world.appeal, world.third, reason="改由中队", instruction="处理")
    assert [(o.role, o.status) for o in world.db.read_now(world.repo.work_orders_of,
                                                          world.appeal)][:2] == \
        [(WorkOrderRole.LEAD, WorkOrderStatus.DISPATCHED),
         (WorkOrderRole.ASSIST, WorkOrderStatus.DISPATCHED)]


def test_an_assisting_reply_is_not_reviewed_on_its_own(world):
    assist(world)
    step(world, "sign", world.appeal, unit_id=world.assist, actor="xy1")
    step(world, "reply", world.appeal, "已协查", unit_id=world.assist, actor="xy1")
    with pytest.raises(InvalidTransition) as refused:  # the lead has not replied
        step(world, "accept_reply", world.appeal)
    assert refused.value.action == WorkOrderAction.ACCEPT.value
    with pytest.raises(InvalidTransition):
        step(world, "send_back", world.appeal, "请补充")


def test_urging_and_supervision_reach_every_order(world):
    assist(world)
    # The service urges each order still with its unit as its deadline nears.
    due = world.db.read_now(world.repo.work_orders_of, world.appeal)[0].due_at
    urge_time = world.repo.urge_at(due)
    urgings = world.db.read_now(world.repo.due_urgings, now=urge_time)
    assert sorted(u.work_order_id for u in urgings if u.kind is UrgingKind.URGE) == \
        sorted(o.id for o in world.db.read_now(world.repo.work_orders_of, world.appeal))
    supervisor = world.db.write_now(lambda s: _agent(s))
    orders = world.db.read_now(world.repo.work_orders_of, world.appeal)
    on_lead = step(world, "supervise", world.appeal, "请加快", agent_id=supervisor, actor="wang")
    on_assist = step(world, "supervise", world.appeal, "请协办单位加快", agent_id=supervisor,
                     actor="wang", work_order_id=orders[0].id)
    assert (on_lead.unit_id, on_assist.unit_id) == (world.lead, world.assist)
    notices = world.db.read_now(world.repo.unit_notices, world.assist)
    assert [n.note for n in notices] == ["请协办单位加快"]


def _agent(session) -> int:
    agent = Agent(username="wang", display_name="王主任", role=AgentRole.SUPERVISOR,
                  active=True, created_at=MONDAY)
    session.add(agent)
    session.flush()
    return agent.id
