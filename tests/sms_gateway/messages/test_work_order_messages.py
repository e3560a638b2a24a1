"""The SMS at the work-order steps, in each step's transaction (on both databases): the
citizen told which unit handles the appeal and by when, told the new date of an approved
extension, each once; a report's caller told nothing; the unit's duty phone told of a 催办
and a 督办."""

from __future__ import annotations

import datetime as dt

import pytest

from schemas.enums import AppealKind, SmsKind, WorkOrderStatus
from schemas.models import Unit, UrgingKind, WorkOrder
from sms_gateway.messages import appeal_messages
from tests.sms_gateway.messages.support import core_with_hooks, messages, messaging, shanghai
from tests.support.appeals import add_unit, new_appeal

NOW = shanghai(2026, 11, 30, 10, 0)  # a Monday


@pytest.fixture
def world():
    core, repository = core_with_hooks()
    parts = messaging()
    appeal_messages.register(core, parts.appeals)
    return repository


def dispatched(database, repository, **fields):
    unit_id = database.write_now(add_unit)
    appeal = database.write_now(repository.create, new_appeal(**fields), actor="agent:wang",
                                now=NOW)
    order = database.write_now(repository.dispatch, appeal.id, unit_id, reason="属地管辖",
                               instruction="请核实并答复", actor="agent:wang",
                               now=NOW + dt.timedelta(minutes=5))
    return appeal, order, unit_id


def test_a_dispatch_tells_the_citizen_the_unit_and_the_date_once(database, world):
    appeal, order, unit_id = dispatched(database, world)
    [sent] = database.read_now(messages, SmsKind.APPEAL_DISPATCHED)
    assert sent.destination == "13812345678" and sent.appeal_id == appeal.id
    assert f"编号{appeal.case_number}" in sent.text and "已转交兰山派出所办理" in sent.text
    assert sent.dedupe_key == f"appeal-dispatched:{order.id}"
    assert "噪音" not in sent.text  # the matter itself is never in the text
    # The same key again (a retried transaction, a second process) queues nothing more.
    database.write_now(lambda s: world.dispatched_hook.run(
        s, world.get(s, appeal.id), world.work_orders_of(s, appeal.id)[0]))
    assert len(database.read_now(messages, SmsKind.APPEAL_DISPATCHED)) == 1


def test_a_report_s_caller_is_not_texted_about_its_dispatch(database, world):
    dispatched(database, world, kind=AppealKind.REPORT)
    assert database.read_now(messages, SmsKind.APPEAL_DISPATCHED) == []


def test_an_approved_extension_tells_the_new_date_and_a_refused_one_nothing(database, world):
    appeal, order, unit_id = dispatched(database, world)
    database.write_now(world.sign, appeal.id, unit_id=unit_id, actor="unit:zhang",
                       now=NOW + dt.timedelta(minutes=30))
    refused = database.write_now(world.request_extension, appeal.id, 2, "需走访多户",
                                 unit_id=unit_id, actor="unit:zhang", now=NOW + dt.timedelta(hours=1))
    database.write_now(world.decide_extension, refused.id, False, "请按期办结",
                       actor="supervisor:li", now=NOW + dt.timedelta(hours=2))
    assert database.read_now(messages, SmsKind.APPEAL_EXTENDED) == []
    asked = database.write_now(world.request_extension, appeal.id, 3, "需协调多个部门",
                               unit_id=unit_id, actor="unit:zhang", now=NOW + dt.timedelta(hours=3))
    database.write_now(world.decide_extension, asked.id, True, None, actor="supervisor:li",
                       now=NOW + dt.timedelta(hours=4))
    [sent] = database.read_now(messages, SmsKind.APPEAL_EXTENDED)
    order_now = database.read_now(lambda s: s.get(WorkOrder, order.id).due_at)
    local_due = max(order_now, database.read_now(
        lambda s: world.get(s, appeal.id).deadline_at)).astimezone(NOW.tzinfo).date()
    assert f"将于{local_due.year}年{local_due.month}月{local_due.day}日前办结" in sent.text
    assert "延期办理" in sent.text and sent.dedupe_key.startswith(f"appeal-extended:{order.id}:")


@pytest.mark.parametrize("kind, words", [(UrgingKind.URGE, "【催办】"),
                                         (UrgingKind.SUPERVISE, "【督办】")])
def test_an_urging_goes_to_the_units_duty_phone(database, world, kind, words):
    appeal, order, unit_id = dispatched(database, world)

    def duty_phone(session):
        session.get(Unit, unit_id).duty_phone = "13900001111"
    database.write_now(duty_phone)
    due = database.read_now(lambda s: s.get(WorkOrder, order.id).due_at)
    at = world.urge_at(due) if kind is UrgingKind.URGE else world.supervise_at(due)
    urging = database.write_now(world.urge_automatically, order.id, kind, now=at)
    assert urging is not None
    [sent] = database.read_now(messages, SmsKind.UNIT_URGED)
    assert sent.destination == "13900001111" and words in sent.text
    assert appeal.case_number in sent.text and sent.dedupe_key == f"unit-urged:{urging.id}"


def test_a_unit_without_a_duty_phone_gets_its_urging_on_its_pages_only(database, world):
    appeal, order, unit_id = dispatched(database, world)
    due = database.read_now(lambda s: s.get(WorkOrder, order.id).due_at)
    assert database.write_now(world.urge_automatically, order.id, UrgingKind.URGE,
                              now=world.urge_at(due)) is not None
    assert database.read_now(messages, SmsKind.UNIT_URGED) == []
    assert database.read_now(lambda s: s.get(WorkOrder, order.id).status) \
        is WorkOrderStatus.DISPATCHED
