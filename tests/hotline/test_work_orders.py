"""Work orders in the appeal core: dispatch, re-dispatch, sign (on time, late), return (in time,
too late), extension (approved, refused, capped), reply, review (sent back, accepted through
the resolve path), each step moving the appeal through the lifecycle, refused moves changing
nothing, the trail saying who, when, which unit and why; and the unit's work lists."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from hotline import audit
from hotline.appeals import (
    AppealNotFound,
    AppealValidationError,
    ExtensionNotFound,
    InvalidTransition,
    ResolveHook,
    WorkOrderRefused,
)
from hotline.appeals.deadlines import add_working_hours, end_of_working_day
from hotline.config import WorkOrdersConfig
from hotline.workdays import WorkCalendar
from schemas.enums import AppealStatus, ExtensionStatus, WorkOrderStatus
from schemas.models import Appeal, AuditEvent, WorkOrder, WorkOrderExtension
from tests.support.appeals import SHANGHAI, add_unit, make_repository, new_appeal, utc

MONDAY = utc(2026, 11, 30, 2, 0)  # Monday 10:00 in Shanghai, a working day
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def shanghai(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


@pytest.fixture
def world(database):
    resolved = []
    hook = ResolveHook()
    hook.register("test", lambda session, record: resolved.append(record.id))
    repo = make_repository(hook)
    units = database.write_now(lambda s: (add_unit(s), add_unit(s, "PS-XY", "西苑派出所")))
    appeal = database.write_now(repo.create, new_appeal(), actor="li", now=MONDAY)
    return SimpleNamespace(db=database, repo=repo, lanshan=units[0], xiyuan=units[1],
                           appeal=appeal.id, resolved=resolved)


def step(world, name, *args, at=MONDAY, actor="li", **kwargs):
    return world.db.write_now(getattr(world.repo, name), *args, actor=actor, now=at, **kwargs)


def dispatch(world, unit=None, at=MONDAY):
    return step(world, "dispatch", world.appeal, unit or world.lanshan, reason="属地管辖",
                instruction="请核实并答复群众", at=at)


def appeal_status(world) -> AppealStatus:
    return world.db.read_now(lambda s: s.get(Appeal, world.appeal).status)


def snapshot(world):
    def work(session):
        appeal = session.get(Appeal, world.appeal)
        orders = [(o.status, o.due_at, o.send_backs) for o in session.scalars(
            select(WorkOrder).order_by(WorkOrder.id))]
        extensions = [(e.status, e.due_after) for e in session.scalars(
            select(WorkOrderExtension).order_by(WorkOrderExtension.id))]
        events = session.scalar(select(func.count()).select_from(AuditEvent))
        return (appeal.status, appeal.unit_id, appeal.deadline_at, appeal.updated_at, orders,
                extensions, events)
    return world.db.read_now(work)


def trail(world):
    return world.db.read_now(audit.trail, "appeal", world.appeal)


# Deadlines on the calendar ----------------------------------------------------------------

SPAN = WorkOrdersConfig().hours  # 08:30-17:30


@pytest.mark.parametrize("start, expected", [
    (shanghai(2026, 11, 30, 10, 0), shanghai(2026, 11, 30, 12, 0)),  # within the day
    (shanghai(2026, 11, 30, 7, 0), shanghai(2026, 11, 30, 10, 30)),  # before opening
    (shanghai(2026, 12, 4, 17, 0), shanghai(2026, 12, 7, 10, 0)),  # Friday evening -> Monday
    (shanghai(2026, 12, 5, 11, 0), shanghai(2026, 12, 7, 10, 30)),  # a Saturday
    (shanghai(2026, 11, 30, 20, 0), shanghai(2026, 12, 1, 10, 30)),  # after closing
])
def test_working_hours_count_only_the_working_hours_of_working_days(start, expected):
    assert add_working_hours(WorkCalendar(), SHANGHAI, start, 2, SPAN) == expected


def test_a_holiday_counts_no_working_hours():
    calendar = WorkCalendar(extra_holidays=[dt.date(2026, 12, 1)])
    assert add_working_hours(calendar, SHANGHAI, shanghai(2026, 11, 30, 17, 0), 2, SPAN) \
        == shanghai(2026, 12, 2, 10, 0)


def test_working_days_end_at_the_end_of_the_day_in_shanghai():
    assert end_of_working_day(WorkCalendar(), SHANGHAI, MONDAY, 5) \
        == shanghai(2026, 12, 7, 23, 59, 59)
    assert end_of_working_day(WorkCalendar(), SHANGHAI, MONDAY, 0) \
        == shanghai(2026, 11, 30, 23, 59, 59)


# Dispatch -----------------------------------------------------------------------------------

def test_dispatch_assigns_the_appeal_and_opens_an_order_with_its_limits(world):
    order = dispatch(world)
    assert order.status is WorkOrderStatus.DISPATCHED
    assert order.unit_code == "PS-LS" and order.reason == "属地管辖"
    assert order.sign_by == shanghai(2026, 11, 30, 12, 0)  # 2 working hours
    assert order.return_by == shanghai(2026, 12, 2, 23, 59, 59)  # 2 working days
    assert order.due_at == shanghai(2026, 12, 7, 23, 59, 59)  # 5 working days
    appeal = world.db.read_now(world.repo.get, world.appeal)
    assert (appeal.status, appeal.unit_id) == (AppealStatus.ASSIGNED, world.lanshan)
    last = trail(world)[-1]
    assert (last.actor, last.action, last.from_state, last.to_state) == (
        "li", "dispatch", "received", "assigned")
    assert "PS-LS 兰山派出所" in last.note and "属地管辖" in last.note
    assert "请核实并答复群众" in last.note


def test_the_limits_follow_the_configured_policy(database):
    repo = make_repository()
    repo.work_orders = WorkOrdersConfig(sign_within_working_hours=1,
                                        handling_working_days=3, return_within_working_days=1,
                                        working_hours="09:00-10:30")
    unit = database.write_now(add_unit)
    appeal = database.write_now(repo.create, new_appeal(), actor="li", now=MONDAY)
    order = database.write_now(repo.dispatch, appeal.id, unit, reason="r", instruction="i",
                               actor="li", now=MONDAY)
    assert order.sign_by == shanghai(2026, 12, 1, 9, 30)  # 30 minutes Monday, 30 Tuesday
    assert order.return_by == shanghai(2026, 12, 1, 23, 59, 59)
    assert order.due_at == shanghai(2026, 12, 3, 23, 59, 59)


def test_a_second_dispatch_while_one_is_open_is_refused_and_changes_nothing(world):
    dispatch(world)
    before = snapshot(world)
    with pytest.raises(WorkOrderRefused) as refused:
        dispatch(world, world.xiyuan)
    assert refused.value.reason == "order_open"
    assert snapshot(world) == before


@pytest.mark.parametrize("field, kwargs", [
    ("reason", {"reason": " ", "instruction": "i"}),
    ("instruction", {"reason": "r", "instruction": ""}),
    ("unit_id", {"reason": "r", "instruction": "i", "unit": 999}),
])
def test_a_dispatch_without_its_reason_instruction_or_unit_is_refused(world, field, kwargs):
    before = snapshot(world)
    kwargs = dict(kwargs)
    unit = kwargs.pop("unit", world.lanshan)
    with pytest.raises(AppealValidationError) as refused:
        step(world, "dispatch", world.appeal, unit, **kwargs)
    assert refused.value.field == field
    assert snapshot(world) == before


def test_the_halls_plain_moves_are_refused_while_an_order_is_open(world):
    dispatch(world)
    before = snapshot(world)
    for name, args in (("assign", (world.xiyuan,)), ("start", ()), ("resolve", ("已处理",)),
                       ("return_to_hall", ("不归我们",))):
        with pytest.raises(WorkOrderRefused) as refused:
            step(world, name, world.appeal, *args)
        assert refused.value.reason == "order_open", name
    assert snapshot(world) == before


def test_redispatch_withdraws_the_order_and_sends_a_new_one(world):
    first = dispatch(world)
    step(world, "sign", world.appeal, unit_id=world.lanshan, actor="ls1")
    later = MONDAY + 3 * HOUR
    second = step(world, "redispatch", world.appeal, world.xiyuan, reason="辖区调整",
                  instruction="请西苑派出所办理", at=later)
    orders = world.db.read_now(world.repo.work_orders_of, world.appeal)
    assert [(o.id, o.status) for o in orders] == [(second.id, WorkOrderStatus.DISPATCHED),
                                                  (first.id, WorkOrderStatus.WITHDRAWN)]
    assert second.due_at == shanghai(2026, 12, 7, 23, 59, 59)
    appeal = world.db.read_now(world.repo.get, world.appeal)
    assert (appeal.status, appeal.unit_id) == (AppealStatus.ASSIGNED, world.xiyuan)
    last = trail(world)[-1]
    assert (last.action, last.from_state, last.to_state) == (
        "redispatch", "in_progress", "assigned")
    assert "PS-LS 兰山派出所 → PS-XY 西苑派出所" in last.note and "辖区调整" in last.note
    # The first unit no longer sees it.
    with pytest.raises(AppealNotFound):
        world.db.write_now(world.repo.unit_appeal, world.appeal, unit_id=world.lanshan,
                           actor="ls1", now=later)


def test_redispatch_to_the_same_unit_or_with_no_open_order_is_refused(world):
    with pytest.raises(WorkOrderRefused) as refused:
        step(world, "redispatch", world.appeal, world.lanshan, reason="r", instruction="i")
    assert refused.value.reason == "no_open_order"
    dispatch(world)
    before = snapshot(world)
    with pytest.raises(WorkOrderRefused) as refused:
        step(world, "redispatch", world.appeal, world.lanshan, reason="r", instruction="i")
    assert refused.value.reason == "same_unit"
    assert snapshot(world) == before


# Sign ---------------------------------------------------------------------------------------

def test_signing_in_time_starts_the_appeal(world):
    dispatch(world)
    order = step(world, "sign", world.appeal, unit_id=world.lanshan, actor="ls1",
                 at=MONDAY + HOUR)
    assert order.status is WorkOrderStatus.SIGNED and not order.signed_late
    assert appeal_status(world) is AppealStatus.IN_PROGRESS
    last = trail(world)[-1]
    assert (last.actor, last.action, last.from_state, last.to_state) == (
        "ls1", "sign", "assigned", "in_progress")
    assert "超时" not in last.note


def test_signing_after_the_limit_is_late_and_says_so(world):
    order = dispatch(world)
    assert not order.sign_overdue(order.sign_by)
    assert order.sign_overdue(order.sign_by + dt.timedelta(seconds=1))
    order = step(world, "sign", world.appeal, unit_id=world.lanshan, actor="ls1",
                 at=MONDAY + 5 * HOUR)
    assert order.signed_late
    assert "超时签收" in trail(world)[-1].note


def test_another_unit_cannot_sign_and_learns_nothing(world):
    dispatch(world)
    before = snapshot(world)
    with pytest.raises(AppealNotFound):
        step(world, "sign", world.appeal, unit_id=world.xiyuan, actor="xy1")
    with pytest.raises(AppealNotFound):
        step(world, "sign", 99999, unit_id=world.lanshan, actor="ls1")
    assert snapshot(world) == before


def test_signing_twice_is_an_invalid_move_that_changes_nothing(world):
    dispatch(world)
    step(world, "sign", world.appeal, unit_id=world.lanshan, actor="ls1")
    before = snapshot(world)
    with pytest.raises(InvalidTransition, match="cannot sign a work order that is signed"):
        step(world, "sign", world.appeal, unit_id=world.lanshan, actor="ls1")
    assert snapshot(world) == before


# Return -------------------------------------------------------------------------------------

def test_a_return_in_time_hands_the_appeal_back_to_the_hall_with_the_reason(world):
    dispatch(world)
    step(world, "sign", world.appeal, unit_id=world.lanshan, actor="ls1")
    at = shanghai(2026, 12, 2, 23, 0)  # the last day of the two
    order = step(world, "return_order", world.appeal, "不属于本所辖区", unit_id=world.lanshan,
                 actor="ls1", at=at)
    assert order.status is WorkOrderStatus.RETURNED and order.return_reason == "不属于本所辖区"
    appeal = world.db.read_now(world.repo.get, world.appeal)
    assert (appeal.status, appeal.unit_id) == (AppealStatus.RECEIVED, None)
    last = trail(world)[-1]
    assert (last.actor, last.action, last.from_state, last.to_state) == (
        "ls1", "return", "in_progress", "received")
    assert "兰山派出所退单" in last.note and "不属于本所辖区" in last.note
    returned = world.db.read_now(world.repo.hall_work, "returned", now=at)
    assert [r.appeal_id for r in returned.rows] == [world.appeal]
    # The hall dispatches it again; it is no longer on the returned list.
    dispatch(world, world.xiyuan, at=at)
    assert world.db.read_now(world.repo.hall_work, "returned", now=at).rows == []


def test_a_return_after_two_working_days_is_refused_and_changes_nothing(world):
    dispatch(world)
    before = snapshot(world)
    with pytest.raises(WorkOrderRefused) as refused:
        step(world, "return_order", world.appeal, "不属于本所辖区", unit_id=world.lanshan,
             actor="ls1", at=shanghai(2026, 12, 3, 0, 0))
    assert refused.value.reason == "return_late"
    assert refused.value.values == {"until": "2026-12-02 23:59"}
    assert snapshot(world) == before


def test_a_return_needs_a_reason(world):
    dispatch(world)
    with pytest.raises(AppealValidationError, match="reason"):
        step(world, "return_order", world.appeal, "  ", unit_id=world.lanshan, actor="ls1")


# Extensions ---------------------------------------------------------------------------------

def signed(world):
    dispatch(world)
    return step(world, "sign", world.appeal, unit_id=world.lanshan, actor="ls1")


def test_an_approved_extension_moves_the_deadlines(world):
    order = signed(world)
    extended = []
    world.repo.extended_hook.register("test", lambda s, appeal, order: extended.append(
        (appeal.deadline_at, order.due_at)))
    request = step(world, "request_extension", world.appeal, 3, "需调取监控",
                   unit_id=world.lanshan, actor="ls1")
    assert request.status is ExtensionStatus.PENDING and request.due_before == order.due_at
    assert "申请延期 3 个工作日" in trail(world)[-1].note
    pending, = world.db.read_now(world.repo.pending_extensions)
    assert (pending.case_number, pending.unit_name, pending.days_left) == (
        world.db.read_now(world.repo.get, world.appeal).case_number, "兰山派出所", 10)
    decided = step(world, "decide_extension", request.id, True, actor="wang")
    new_due = shanghai(2026, 12, 10, 23, 59, 59)  # Dec 7 + 3 working days
    assert decided.status is ExtensionStatus.APPROVED and decided.due_after == new_due
    orders = world.db.read_now(world.repo.work_orders_of, world.appeal)
    assert (orders[0].due_at, orders[0].extended_days) == (new_due, 3)
    # The help appeal's own deadline (5 working days from Monday) was earlier: it moves too.
    assert world.db.read_now(world.repo.get, world.appeal).deadline_at == new_due
    assert extended == [(new_due, new_due)]
    last = trail(world)[-1]
    assert (last.actor, last.action) == ("wang", "extension_approve")
    assert "2026-12-10" in last.note
    assert world.db.read_now(world.repo.pending_extensions) == []


def test_a_refused_extension_says_why_and_moves_nothing(world):
    order = signed(world)
    request = step(world, "request_extension", world.appeal, 2, "需调取监控",
                   unit_id=world.lanshan, actor="ls1")
    with pytest.raises(AppealValidationError, match="note"):
        step(world, "decide_extension", request.id, False, actor="wang")
    decided = step(world, "decide_extension", request.id, False, "时限内可以办结", actor="wang")
    assert decided.status is ExtensionStatus.REFUSED and decided.due_after is None
    assert world.db.read_now(world.repo.work_orders_of, world.appeal)[0].due_at == order.due_at
    last = trail(world)[-1]
    assert last.action == "extension_refuse" and "时限内可以办结" in last.note
    before = snapshot(world)
    with pytest.raises(InvalidTransition):
        step(world, "decide_extension", request.id, True, actor="wang")
    assert snapshot(world) == before


@pytest.mark.parametrize("days", [0, 11])
def test_an_extension_beyond_the_maximum_is_refused(world, days):
    signed(world)
    before = snapshot(world)
    with pytest.raises(WorkOrderRefused) as refused:
        step(world, "request_extension", world.appeal, days, "复杂", unit_id=world.lanshan,
             actor="ls1")
    assert (refused.value.reason, refused.value.values) == ("extension_days", {"most": 10})
    assert snapshot(world) == before


def test_approved_extensions_add_up_to_the_maximum_at_most(world):
    signed(world)
    first = step(world, "request_extension", world.appeal, 7, "复杂", unit_id=world.lanshan,
                 actor="ls1")
    with pytest.raises(WorkOrderRefused) as refused:
        step(world, "request_extension", world.appeal, 1, "复杂", unit_id=world.lanshan,
             actor="ls1")
    assert refused.value.reason == "extension_pending"
    step(world, "decide_extension", first.id, True, actor="wang")
    with pytest.raises(WorkOrderRefused) as refused:
        step(world, "request_extension", world.appeal, 4, "复杂", unit_id=world.lanshan,
             actor="ls1")
    assert refused.value.values == {"most": 3}
    step(world, "request_extension", world.appeal, 3, "复杂", unit_id=world.lanshan,
         actor="ls1")


def test_an_extension_needs_a_signed_order_and_a_known_request(world):
    dispatch(world)
    with pytest.raises(InvalidTransition, match="request an extension of a work order"):
        step(world, "request_extension", world.appeal, 2, "复杂", unit_id=world.lanshan,
             actor="ls1")
    with pytest.raises(ExtensionNotFound):
        step(world, "decide_extension", 4242, True, actor="wang")


def test_a_pending_extension_is_cancelled_by_the_reply(world):
    signed(world)
    request = step(world, "request_extension", world.appeal, 2, "复杂", unit_id=world.lanshan,
                   actor="ls1")
    step(world, "reply", world.appeal, "已处理完毕", unit_id=world.lanshan, actor="ls1")
    orders = world.db.read_now(world.repo.work_orders_of, world.appeal)
    assert orders[0].extensions[0].status is ExtensionStatus.CANCELLED
    with pytest.raises(InvalidTransition):
        step(world, "decide_extension", request.id, True, actor="wang")


# Reply and review ---------------------------------------------------------------------------

def test_a_reply_sent_back_goes_to_the_unit_again_and_a_second_reply_is_accepted(world):
    signed(world)
    order = step(world, "reply", world.appeal, "已联系当事人，噪音已停止", unit_id=world.lanshan,
                 actor="ls1", at=MONDAY + 2 * HOUR)
    assert order.status is WorkOrderStatus.REPLIED
    assert appeal_status(world) is AppealStatus.IN_PROGRESS
    assert "办结回复：已联系当事人" in trail(world)[-1].note
    review = world.db.read_now(world.repo.hall_work, "to_review", now=MONDAY + 2 * HOUR)
    assert [r.appeal_id for r in review.rows] == [world.appeal]
    assert review.counts == {"to_review": 1, "returned": 0, "sign_late": 0}

    order = step(world, "send_back", world.appeal, "未说明处理依据", actor="li",
                 at=MONDAY + 3 * HOUR)
    assert (order.status, order.send_backs, order.send_back_reason) == (
        WorkOrderStatus.SENT_BACK, 1, "未说明处理依据")
    assert world.resolved == []
    last = trail(world)[-1]
    assert (last.actor, last.action) == ("li", "send_back") and "未说明处理依据" in last.note
    rework = world.db.read_now(world.repo.unit_work, world.lanshan, "rework",
                               now=MONDAY + 3 * HOUR)
    assert [r.appeal_id for r in rework.rows] == [world.appeal]

    step(world, "reply", world.appeal, "依据治安管理处罚法已警告", unit_id=world.lanshan,
         actor="ls1", at=MONDAY + 4 * HOUR)
    appeal = step(world, "accept_reply", world.appeal, actor="li", at=MONDAY + 5 * HOUR)
    assert appeal.status is AppealStatus.RESOLVED
    assert appeal.resolution == "依据治安管理处罚法已警告"
    assert world.resolved == [world.appeal]  # the resolve hook ran: callback, SMS
    orders = world.db.read_now(world.repo.work_orders_of, world.appeal)
    assert orders[0].status is WorkOrderStatus.ACCEPTED and orders[0].reviewed_by == "li"
    last = trail(world)[-1]
    assert (last.action, last.from_state, last.to_state) == ("accept", "in_progress", "resolved")


def test_the_hall_may_word_the_resolution_itself(world):
    signed(world)
    step(world, "reply", world.appeal, "已处理", unit_id=world.lanshan, actor="ls1")
    appeal = step(world, "accept_reply", world.appeal, "经兰山派出所核实，已处理", actor="li")
    assert appeal.resolution == "经兰山派出所核实，已处理"


def test_review_before_a_reply_is_an_invalid_move_that_changes_nothing(world):
    signed(world)
    before = snapshot(world)
    with pytest.raises(InvalidTransition, match="cannot accept a work order that is signed"):
        step(world, "accept_reply", world.appeal, actor="li")
    with pytest.raises(InvalidTransition):
        step(world, "send_back", world.appeal, "x", actor="li")
    assert snapshot(world) == before
    assert world.resolved == []


def test_a_resolution_failing_in_the_hook_leaves_the_order_replied(database):
    hook = ResolveHook()

    def broken(session, record):
        raise RuntimeError("callback queue down")

    hook.register("broken", broken)
    repo = make_repository(hook)
    unit = database.write_now(add_unit)
    appeal = database.write_now(repo.create, new_appeal(), actor="li", now=MONDAY)
    database.write_now(repo.dispatch, appeal.id, unit, reason="r", instruction="i",
                       actor="li", now=MONDAY)
    database.write_now(repo.sign, appeal.id, unit_id=unit, actor="ls1", now=MONDAY)
    database.write_now(repo.reply, appeal.id, "已处理", unit_id=unit, actor="ls1", now=MONDAY)
    with pytest.raises(RuntimeError):
        database.write_now(repo.accept_reply, appeal.id, actor="li", now=MONDAY)
    assert database.read_now(repo.work_orders_of, appeal.id)[0].status \
        is WorkOrderStatus.REPLIED
    assert database.read_now(repo.get, appeal.id).status is AppealStatus.IN_PROGRESS


# The unit's view and lists -----------------------------------------------------------------

def test_the_units_view_is_audited_and_other_units_do_not_find_it(world):
    dispatch(world)
    view = world.db.write_now(world.repo.unit_appeal, world.appeal, unit_id=world.lanshan,
                              actor="ls1", now=MONDAY)
    assert view.order.unit_code == "PS-LS" and view.extension_days_left == 10
    last = view.trail[-1]
    assert (last.actor, last.action, last.note) == ("ls1", "view", "unit PS-LS")
    with pytest.raises(AppealNotFound):
        world.db.write_now(world.repo.unit_appeal, world.appeal, unit_id=world.xiyuan,
                           actor="xy1", now=MONDAY)


def test_the_unit_lists_sort_its_orders_by_what_is_due(world):
    dispatch(world)
    other = step(world, "create", new_appeal(subject="占道经营"), at=MONDAY)
    step(world, "dispatch", other.id, world.lanshan, reason="r", instruction="i")
    step(world, "sign", other.id, unit_id=world.lanshan, actor="ls1")
    not_ours = step(world, "create", new_appeal(subject="别的所"), at=MONDAY)
    step(world, "dispatch", not_ours.id, world.xiyuan, reason="r", instruction="i")

    def lists(at):
        work = world.db.read_now(world.repo.unit_work, world.lanshan, "to_sign", now=at)
        return work.counts, [r.appeal_id for r in work.rows]

    counts, to_sign = lists(MONDAY)
    assert to_sign == [world.appeal]
    assert counts == {"to_sign": 1, "in_progress": 1, "due_soon": 0, "overdue": 0,
                      "rework": 0, "replied": 0}
    # On Friday both are due on Monday, the next working day: due soon.
    counts, _ = lists(shanghai(2026, 12, 4, 9, 0))
    assert (counts["due_soon"], counts["overdue"]) == (2, 0)
    # Tuesday after: overdue.
    counts, _ = lists(shanghai(2026, 12, 8, 9, 0))
    assert (counts["due_soon"], counts["overdue"]) == (0, 2)
    work = world.db.read_now(world.repo.unit_work, world.lanshan, "overdue",
                             now=shanghai(2026, 12, 8, 9, 0))
    assert {r.appeal_id for r in work.rows} == {world.appeal, other.id}
    assert all(r.order.overdue(shanghai(2026, 12, 8, 9, 0)) for r in work.rows)


def test_the_hall_sees_dispatches_not_signed_in_time(world):
    dispatch(world)
    assert world.db.read_now(world.repo.hall_work, "sign_late", now=MONDAY + HOUR).rows == []
    late = world.db.read_now(world.repo.hall_work, "sign_late", now=MONDAY + 3 * HOUR)
    assert [r.appeal_id for r in late.rows] == [world.appeal]
    assert late.rows[0].order.sign_overdue(MONDAY + 3 * HOUR)


def test_every_work_order_step_writes_its_own_trail_rows(world):
    signed(world)
    events = world.db.read_now(audit.trail, "work_order",
                               world.db.read_now(world.repo.work_orders_of, world.appeal)[0].id)
    assert [(e.action, e.from_state, e.to_state) for e in events] == [
        ("dispatch", None, "dispatched"), ("sign", "dispatched", "signed")]
