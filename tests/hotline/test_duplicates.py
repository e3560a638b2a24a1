"""Duplicates (重复件) in the appeal core: a merge closes the duplicate naming the appeal it
joined, moves its calls, SMS and voice message there, withdraws its open work orders, runs
the merged hook (the callback queue's cancelling) in its transaction, and writes both
trails; each refusal changes nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from hotline import audit
from hotline.appeals import AppealValidationError, InvalidTransition, MergeRefused
from hotline.assessment.units import unit_figures
from schemas.calls import CallRecord
from schemas.enums import (
    AppealChannel,
    AppealStatus,
    CallOutcome,
    ExtensionStatus,
    SmsInboundState,
    SmsKind,
    SmsState,
    WorkOrderStatus,
)
from schemas.models import Appeal, AuditEvent, WorkOrder, WorkOrderExtension
from schemas.sms import SmsInbound, SmsMessage
from tests.support.appeals import add_unit, make_repository, new_appeal, utc

MONDAY = utc(2026, 11, 30, 2, 0)  # Monday 10:00 in Shanghai
LATER = utc(2026, 11, 30, 6, 0)


@pytest.fixture
def world(database):
    repo = make_repository()
    merged_calls = []
    repo.merged_hook.register("test", lambda session, merged, into:
                              merged_calls.append((merged.id, merged.status, into.id)))
    units = database.write_now(lambda s: (add_unit(s), add_unit(s, "PS-XY", "西苑派出所")))
    first = database.write_now(repo.create, new_appeal(subject="夜间施工噪音"), actor="li",
                               now=MONDAY)
    second = database.write_now(repo.create, new_appeal(subject="工地又在夜间施工",
                                                        channel=AppealChannel.VOICE_MESSAGE,
                                                        recording_path="/spool/vm-2.wav"),
                                actor="li", now=LATER)
    return SimpleNamespace(db=database, repo=repo, lanshan=units[0], xiyuan=units[1],
                           first=first.id, second=second.id, hooked=merged_calls)


def step(world, name, *args, at=LATER, actor="li", **kwargs):
    return world.db.write_now(getattr(world.repo, name), *args, actor=actor, now=at, **kwargs)


def merge(world, appeal=None, into=None, reason="同一工地噪音，重复来电", **kwargs):
    return step(world, "merge", appeal or world.second, into or world.first, reason, **kwargs)


def add_contacts(world, appeal_id):
    def work(session):
        session.add(CallRecord(call_id=f"call-{appeal_id}", flow="main", caller="13812345678",
                               started_at=LATER, outcome=CallOutcome.MESSAGE_LEFT,
                               appeal_id=appeal_id))
        session.add(SmsMessage(kind=SmsKind.APPEAL_RECEIVED, lane=1, destination="13812345678",
                               text="您的诉求已受理", state=SmsState.QUEUED, not_before=LATER,
                               appeal_id=appeal_id, created_at=LATER))
        session.add(SmsInbound(source="13812345678", destination="9600110", text="补充：凌晨两点",
                               received_at=LATER, state=SmsInboundState.NOTED,
                               appeal_id=appeal_id))
    world.db.write_now(work)


def owners(world):
    def work(session):
        return tuple(tuple(sorted(set(session.scalars(select(model.appeal_id)))))
                     for model in (CallRecord, SmsMessage, SmsInbound))
    return world.db.read_now(work)


def snapshot(world):
    def work(session):
        appeals = [(a.status, a.merged_into_id, a.closed_at, a.recording_path)
                   for a in session.scalars(select(Appeal).order_by(Appeal.id))]
        orders = [o.status for o in session.scalars(select(WorkOrder).order_by(WorkOrder.id))]
        events = session.scalar(select(func.count()).select_from(AuditEvent))
        return appeals, orders, events
    return world.db.read_now(work)


def test_a_merge_closes_the_duplicate_with_its_link_and_moves_its_calls_sms_and_voice(world):
    add_contacts(world, world.second)
    merged = merge(world)
    assert (merged.status, merged.merged_into_id, merged.closed_at) == \
        (AppealStatus.CLOSED, world.first, LATER)
    assert merged.resolution is None and merged.resolved_at is None  # not a resolution
    assert owners(world) == ((world.first,), (world.first,), (world.first,))
    survivor = world.db.read_now(world.repo.get, world.first)
    assert survivor.status is AppealStatus.RECEIVED
    assert survivor.recording_path == "/spool/vm-2.wav"  # the voice message came along
    assert world.hooked == [(world.second, AppealStatus.CLOSED, world.first)]
    assert [a.id for a in world.db.read_now(world.repo.duplicates_of, world.first)] == \
        [world.second]

    own = world.db.read_now(audit.trail, "appeal", world.second)[-1]
    assert (own.action, own.actor, own.from_state, own.to_state) == \
        ("merge", "li", "received", "closed")
    case_first = survivor.case_number
    assert f"并入 {case_first}" in own.note and "同一工地噪音，重复来电" in own.note
    assert "来电 1 通、短信 2 条转入" in own.note
    other = world.db.read_now(audit.trail, "appeal", world.first)[-1]
    assert (other.action, other.actor, other.from_state) == ("merged_in", "li", None)
    assert f"{merged.case_number} 作为重复件并入" in other.note


def test_a_merge_withdraws_the_duplicates_open_orders_and_cancels_their_requests(world):
    step(world, "dispatch", world.second, world.lanshan, reason="属地", instruction="核实",
         at=LATER)
    step(world, "sign", world.second, unit_id=world.lanshan, actor="ls1")
    step(world, "add_assist", world.second, world.xiyuan, reason="协查", instruction="配合")
    step(world, "request_extension", world.second, 2, "需调取监控", unit_id=world.lanshan,
         actor="ls1")
    merge(world)
    orders = world.db.read_now(world.repo.work_orders_of, world.second)
    assert {o.status for o in orders} == {WorkOrderStatus.WITHDRAWN}
    assert all(o.closed_at == LATER for o in orders)
    assert world.db.read_now(lambda s: s.scalar(select(WorkOrderExtension.status))) \
        is ExtensionStatus.CANCELLED
    note = world.db.read_now(audit.trail, "appeal", world.second)[-1].note
    assert "撤回工单 2 件" in note
    # The unit cannot see the merged appeal's order any more as work.
    work = world.db.read_now(world.repo.unit_work, world.lanshan, "in_progress", now=LATER)
    assert work.rows == []


def test_a_merge_into_an_appeal_that_was_dispatched_keeps_its_order(world):
    step(world, "dispatch", world.first, world.lanshan, reason="属地", instruction="核实")
    merge(world)
    assert [o.status for o in world.db.read_now(world.repo.work_orders_of, world.first)] == \
        [WorkOrderStatus.DISPATCHED]


@pytest.mark.parametrize("case", ["self", "into_closed", "into_resolved", "into_merged",
                                  "other_phone", "reply_pending", "merged_closed",
                                  "no_reason"])
def test_a_refused_merge_changes_nothing_and_says_why(world, case):
    expected: type[Exception] = MergeRefused
    appeal, into = world.second, world.first
    if case == "self":
        into = world.second
    elif case in ("into_closed", "into_resolved"):
        step(world, "assign", world.first, world.lanshan)
        step(world, "start", world.first)
        step(world, "resolve", world.first, "已调解")
        if case == "into_closed":
            step(world, "close", world.first)
        case = "into_closed"
    elif case == "into_merged":
        third = step(world, "create", new_appeal(subject="第三次来电")).id
        step(world, "merge", world.first, third, "重复")
    elif case == "other_phone":
        appeal = step(world, "create", new_appeal(citizen_phone="13900001111")).id
    elif case == "reply_pending":
        step(world, "dispatch", world.second, world.lanshan, reason="属地", instruction="核实")
        step(world, "sign", world.second, unit_id=world.lanshan, actor="ls1")
        step(world, "reply", world.second, "已处理", unit_id=world.lanshan, actor="ls1")
    elif case == "merged_closed":
        step(world, "answer", world.second, "已电话答复")
        expected = InvalidTransition
    elif case == "no_reason":
        expected = AppealValidationError
    before, hooked = snapshot(world), list(world.hooked)
    with pytest.raises(expected) as refused:
        merge(world, appeal, into, reason="" if case == "no_reason" else "重复")
    if expected is MergeRefused:
        assert refused.value.reason == case
    assert snapshot(world) == before
    assert world.hooked == hooked


def test_another_callers_appeal_is_merged_when_the_hall_confirms_it(world):
    other = step(world, "create", new_appeal(citizen_phone="13900001111",
                                             subject="同一工地，家人来电")).id
    merged = merge(world, other, world.first, other_phone_confirmed=True)
    assert merged.merged_into_id == world.first


def test_the_assessment_counts_a_merged_appeals_order_as_withdrawn_not_resolved(world):
    step(world, "dispatch", world.second, world.lanshan, reason="属地", instruction="核实")
    step(world, "sign", world.second, unit_id=world.lanshan, actor="ls1")
    step(world, "dispatch", world.first, world.xiyuan, reason="属地", instruction="核实")
    step(world, "sign", world.first, unit_id=world.xiyuan, actor="xy1")
    merge(world)  # the second, with its signed order at 兰山, into the first
    step(world, "reply", world.first, "已处理", unit_id=world.xiyuan, actor="xy1")
    step(world, "accept_reply", world.first)
    figures = world.db.read_now(unit_figures, utc(2026, 11, 1), utc(2026, 12, 1),
                                now=utc(2026, 12, 20))
    lanshan, xiyuan = figures[world.lanshan], figures[world.xiyuan]
    assert (lanshan.dispatched, lanshan.signed_on_time, lanshan.resolved,
            lanshan.resolved_on_time, lanshan.overdue) == (1, 1, 0, 0, 0)
    assert (xiyuan.dispatched, xiyuan.resolved, xiyuan.resolved_on_time) == (1, 1, 1)
