"""Rework (重办) in the appeal core: a 不满意 callback the supervisor attributes to the unit sends
the appeal back to the unit of its accepted order as a new order with a full time limit;
a second reply accepted and a 满意 rating complete the path; refused moves change nothing."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from hotline import audit
from hotline.appeals import InvalidTransition, ResolveHook, WorkOrderRefused
from hotline.appeals.errors import AppealValidationError
from schemas.enums import AppealStatus, Satisfaction, WorkOrderStatus
from schemas.models import Appeal, AuditEvent, WorkOrder
from tests.support.appeals import SHANGHAI, add_unit, make_repository, new_appeal, utc

MONDAY = utc(2026, 11, 30, 2, 0)  # Monday 10:00 in Shanghai
DAY = dt.timedelta(days=1)


def shanghai(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


@pytest.fixture
def world(database):
    resolved = []
    hook = ResolveHook()
    hook.register("test", lambda session, record: resolved.append(record.resolution))
    repo = make_repository(hook)
    dispatched = []
    repo.dispatched_hook.register("test", lambda s, appeal, order: dispatched.append(order.id))
    units = database.write_now(lambda s: (add_unit(s), add_unit(s, "PS-XY", "西苑派出所")))
    appeal = database.write_now(repo.create, new_appeal(), actor="li", now=MONDAY)
    w = SimpleNamespace(db=database, repo=repo, unit=units[0], other=units[1],
                        appeal=appeal.id, resolved=resolved, dispatched=dispatched)
    step(w, "dispatch", w.appeal, w.unit, reason="属地管辖", instruction="请核实")
    step(w, "sign", w.appeal, unit_id=w.unit, actor="wang")
    step(w, "reply", w.appeal, "已上门调解", unit_id=w.unit, actor="wang")
    step(w, "accept_reply", w.appeal)
    return w


def step(world, name, *args, at=MONDAY, actor="li", **kwargs):
    return world.db.write_now(getattr(world.repo, name), *args, actor=actor, now=at, **kwargs)


def appeal_row(world):
    return world.db.read_now(lambda s: (lambda a: (a.status, a.unit_id, a.deadline_at,
                                                   a.satisfaction))(s.get(Appeal, world.appeal)))


def snapshot(world):
    return world.db.read_now(lambda s: (
        appeal_row(world),
        [(o.status, o.rework_of) for o in s.scalars(select(WorkOrder).order_by(WorkOrder.id))],
        s.scalar(select(func.count()).select_from(AuditEvent))))


def test_dissatisfied_rework_second_reply_and_satisfied_callback_complete_the_path(world):
    later = MONDAY + 3 * DAY  # Thursday 3 December
    step(world, "rate", world.appeal, Satisfaction.DISSATISFIED, actor="callback:1",
         note="民警态度敷衍", at=later)
    [first] = world.db.read_now(world.repo.work_orders_of, world.appeal)
    order = step(world, "rework", world.appeal, "回访不满意：处理敷衍，属承办单位原因",
                 "请重新上门核实并答复", actor="zhang", at=later)
    assert (order.status, order.unit_id, order.rework_of) == \
        (WorkOrderStatus.DISPATCHED, world.unit, first.id)
    assert order.reason.startswith("不满意回访重办") and order.instruction == "请重新上门核实并答复"
    assert order.due_at == shanghai(2026, 12, 10, 23, 59, 59)  # a full five working days
    status, unit, deadline, _ = appeal_row(world)
    assert (status, unit) == (AppealStatus.ASSIGNED, world.unit)
    assert deadline == order.due_at  # later than the appeal's own
    assert world.dispatched == [first.id]  # the rework is not a dispatch to tell the citizen
    line = world.db.read_now(audit.trail, "appeal", world.appeal)[-1]
    assert (line.action, line.actor, line.to_state) == ("rework", "zhang", "assigned")
    assert "PS-LS 兰山派出所；重办：回访不满意" in (line.note or "")
    rework = world.db.read_now(world.repo.unit_work, world.unit, "rework", now=later)
    assert [r.order.id for r in rework.rows] == [order.id] and rework.counts["rework"] == 1

    step(world, "sign", world.appeal, unit_id=world.unit, actor="wang", at=later)
    step(world, "reply", world.appeal, "已重新上门，当面道歉并解决", unit_id=world.unit,
         actor="wang", at=later)
    assert world.db.read_now(world.repo.unit_work, world.unit, "rework", now=later).rows == []
    step(world, "accept_reply", world.appeal, at=later)
    assert world.resolved == ["已上门调解", "已重新上门，当面道歉并解决"]
    step(world, "rate", world.appeal, Satisfaction.SATISFIED, actor="callback:2", at=later)
    status, _, _, satisfaction = appeal_row(world)
    assert (status, satisfaction) == (AppealStatus.CLOSED, Satisfaction.SATISFIED)
    orders = world.db.read_now(world.repo.work_orders_of, world.appeal)
    assert [(o.status, o.rework_of) for o in orders] == \
        [(WorkOrderStatus.ACCEPTED, first.id), (WorkOrderStatus.ACCEPTED, None)]


def test_rework_is_refused_without_a_dissatisfied_rating_and_changes_nothing(world):
    before = snapshot(world)
    with pytest.raises(WorkOrderRefused) as refused:
        step(world, "rework", world.appeal, "不满意", actor="zhang")
    assert refused.value.reason == "not_dissatisfied"
    step(world, "rate", world.appeal, Satisfaction.SATISFIED, actor="callback:1")
    with pytest.raises(WorkOrderRefused):
        step(world, "rework", world.appeal, "不满意", actor="zhang")
    assert snapshot(world)[1] == before[1]


def test_rework_twice_for_one_rating_is_refused_while_the_first_is_open(world):
    step(world, "rate", world.appeal, Satisfaction.DISSATISFIED, actor="callback:1")
    step(world, "rework", world.appeal, "处理敷衍", actor="zhang")
    before = snapshot(world)
    with pytest.raises(WorkOrderRefused) as refused:
        step(world, "rework", world.appeal, "处理敷衍", actor="zhao")
    assert refused.value.reason == "order_open"
    assert snapshot(world) == before


def test_rework_needs_a_reason(world):
    step(world, "rate", world.appeal, Satisfaction.DISSATISFIED, actor="callback:1")
    before = snapshot(world)
    with pytest.raises(AppealValidationError):
        step(world, "rework", world.appeal, "  ", actor="zhang")
    assert snapshot(world) == before


def test_an_appeal_whose_latest_order_was_not_accepted_is_not_reworked(world, database):
    """The hall handled it itself after the unit returned it: no accepted order to rework."""
    repo = world.repo
    appeal = database.write_now(repo.create, new_appeal(), actor="li", now=MONDAY)
    database.write_now(repo.dispatch, appeal.id, world.unit, reason="属地", instruction="核实",
                       actor="li", now=MONDAY)
    database.write_now(repo.return_order, appeal.id, "不属本所", unit_id=world.unit,
                       actor="wang", now=MONDAY)
    for name in ("assign", "start", "resolve"):
        args = {"assign": (world.other,), "start": (), "resolve": ("大厅直接答复",)}[name]
        database.write_now(getattr(repo, name), appeal.id, *args, actor="li", now=MONDAY)
    database.write_now(repo.rate, appeal.id, Satisfaction.DISSATISFIED, actor="callback:3",
                       now=MONDAY)
    with pytest.raises(InvalidTransition) as refused:
        database.write_now(repo.rework, appeal.id, "不满意", actor="zhang", now=MONDAY)
    assert (refused.value.action, refused.value.status) == ("rework", "returned")
