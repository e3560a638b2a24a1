"""Duplicates (重复件) and co-handling (协办) through the web application over HTTP (the real
site, its bytes on the wire): the hall merges a second appeal of the same caller into the
first from the appeal page (both pages link each other, its call and SMS move, its callback
is cancelled; the refusals are said in Chinese and change nothing); and an appeal goes to a
lead unit and an assisting unit, each signing and replying on its own order, the hall's
acceptance waiting for the assisting reply, which the lead's officers read."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

import callback_queue
from agents.app import WebApp
from agents.config import AuthConfig
from agents.web import make_root
from hotline import audit
from schemas.callbacks import CallbackMode, CallbackOrigin, CallbackState, CallbackTask
from schemas.calls import CallRecord
from schemas.enums import AgentRole, AppealStatus, CallOutcome, SmsKind, SmsState, WorkOrderStatus
from schemas.models import Appeal, WorkOrder, WorkOrderRole
from schemas.sms import SmsMessage
from tests.agents.support import API_TOKEN, SECRET, SettableClock, create_agent, make_core
from tests.agents.wire import WireBrowser
from tests.support.appeals import add_unit

MONDAY = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 in Shanghai
PEOPLE = ("li", "ls1", "xy1")
PHONE = "13812345678"


@pytest.fixture
def hall(database, pumped_reactor):
    """The web app with the callback queue's participants, two units, a hall officer and an
    officer of each unit in browsers of their own, and the caller's first appeal."""
    clock = SettableClock(MONDAY)
    core = make_core(database, pumped_reactor, clock)
    queue, _dispatcher = callback_queue.build(core, ami=None, config=None)
    core.resolve_hook.register(callback_queue.RESOLVE_PARTICIPANT, queue.repository.on_resolved)
    core.appeals.repository.merged_hook.register(callback_queue.RESOLVE_PARTICIPANT,
                                                 queue.repository.on_merged)
    lanshan = database.write_now(add_unit)
    xiyuan = database.write_now(add_unit, "PS-XY", "西苑派出所")
    create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    create_agent(database, "ls1", AgentRole.UNIT_OFFICER, unit_code="PS-LS")
    create_agent(database, "xy1", AgentRole.UNIT_OFFICER, unit_code="PS-XY")
    app = WebApp(core, AuthConfig(secret_key=SECRET, api_token=API_TOKEN), callbacks=queue)
    root = make_root(core, app)
    browsers = {name: WireBrowser(root, pumped_reactor) for name in PEOPLE}
    for name, browser in browsers.items():
        browser.login(name)
    world = SimpleNamespace(core=core, db=database, clock=clock, lanshan=lanshan,
                            xiyuan=xiyuan, **browsers)
    world.first = new_appeal(world, "夜间施工噪音")
    return world


def new_appeal(world, subject, phone=PHONE) -> int:
    created = world.li.post("/appeals", {"channel": "phone", "kind": "complaint",
                                         "subject": subject, "body": "工地每晚施工到凌晨",
                                         "citizen_phone": phone})
    assert created.status == 303, created.body
    return int(re.search(r"/appeals/(\d+)", created.location).group(1))


def case_number(world, appeal_id) -> str:
    return world.db.read_now(lambda s: s.get(Appeal, appeal_id).case_number)


def test_the_hall_merges_a_duplicate_into_the_callers_open_appeal(hall):
    w = hall
    second = new_appeal(w, "工地又在夜间施工")
    first_case, second_case = case_number(w, w.first), case_number(w, second)

    def contacts(session):
        session.add(CallRecord(call_id="call-2", flow="main", caller=PHONE, started_at=MONDAY,
                               outcome=CallOutcome.MESSAGE_LEFT, appeal_id=second))
        session.add(SmsMessage(kind=SmsKind.APPEAL_RECEIVED, lane=0, destination=PHONE,
                               text="您的诉求已受理", state=SmsState.DELIVERED,
                               not_before=MONDAY, appeal_id=second, created_at=MONDAY))
        session.add(CallbackTask(appeal_id=second, citizen_phone=PHONE,
                                 origin=CallbackOrigin.VOICE_MESSAGE, mode=CallbackMode.AGENT,
                                 state=CallbackState.PENDING, window_start=MONDAY,
                                 due_by=MONDAY, next_attempt_at=MONDAY, max_attempts=3,
                                 created_at=MONDAY, updated_at=MONDAY))
    w.db.write_now(contacts)

    # The page offers the caller's other open appeal to merge into.
    page = w.li.get(f"/appeals/{second}")
    choices = re.search(r'<select name="into_id" id="merge-into">(.*?)</select>', page.body)
    assert re.findall(r'<option value="(\d+)">(\S+) ', choices.group(1)) == \
        [(str(w.first), first_case)]

    # No reason: refused, nothing changed.
    no_reason = w.li.post(f"/appeals/{second}/merge", {"into_id": str(w.first), "reason": ""})
    assert no_reason.status == 422 and "请填写" in no_reason.body
    assert w.db.read_now(lambda s: s.get(Appeal, second).status) is AppealStatus.RECEIVED

    merged = w.li.post(f"/appeals/{second}/merge", {"into_id": str(w.first),
                                                    "reason": "同一工地噪音，重复来电"})
    assert merged.status == 303 and merged.location.endswith("?done=merge")
    page = w.li.get(merged.location)
    assert f"已合并为重复件，来电与短信已转入 {first_case}" in page.body
    assert f'id="merged-into"><a href="/appeals/{w.first}">{first_case}</a>' in page.body
    assert 'data-status="closed"' in page.body and 'id="merge-form"' not in page.body
    assert "合并为重复件" in page.body and "同一工地噪音，重复来电" in page.body  # its trail
    page = w.li.get(f"/appeals/{w.first}")
    assert f'<a href="/appeals/{second}" data-duplicate="{second}">{second_case}</a>' \
        in page.body
    assert "并入重复件" in page.body and f"{second_case} 作为重复件并入" in page.body

    def moved(session):
        return (session.scalar(select(CallRecord.appeal_id)),
                session.scalar(select(SmsMessage.appeal_id)),
                session.scalar(select(CallbackTask.state)))
    assert w.db.read_now(moved) == (w.first, w.first, CallbackState.CANCELLED)
    steps = [(e.actor, e.action) for e in w.db.read_now(audit.trail, "appeal", second)
             if e.action != "view"]
    assert steps == [("li", "create"), ("li", "merge")]


def test_a_refused_merge_says_why_in_chinese_and_changes_nothing(hall):
    w = hall
    first_case = case_number(w, w.first)
    other = new_appeal(w, "同一工地，家人来电", phone="13900001111")
    refused = w.li.post(f"/appeals/{other}/merge", {"case_number": first_case,
                                                    "reason": "同一事项"})
    assert refused.status == 409 and f"诉求 {first_case} 的来电号码不同" in refused.body
    assert w.db.read_now(lambda s: s.get(Appeal, other).status) is AppealStatus.RECEIVED
    assert 'id="merge-none"' in w.li.get(f"/appeals/{other}").body  # no other of its own
    unknown = w.li.post(f"/appeals/{other}/merge", {"case_number": "GD0000", "reason": "x"})
    assert unknown.status == 422 and "没有编号为 GD0000 的诉求" in unknown.body
    itself = w.li.post(f"/appeals/{w.first}/merge", {"into_id": str(w.first), "reason": "x"})
    assert itself.status == 409 and "不能把诉求合并到它自己" in itself.body
    confirmed = w.li.post(f"/appeals/{other}/merge", {"case_number": first_case,
                                                      "reason": "同一事项", "confirm_other": "1"})
    assert confirmed.status == 303
    third = new_appeal(w, "第三次来电", phone="13900001111")
    into_merged = w.li.post(f"/appeals/{third}/merge",
                            {"case_number": case_number(w, other), "reason": "同一事项"})
    assert into_merged.status == 409 and "本身已作为重复件并入其他诉求" in into_merged.body


def test_a_lead_and_an_assisting_unit_each_reply_and_the_hall_accepts_after_both(hall):
    w = hall
    appeal = w.first
    dispatched = w.li.post(f"/appeals/{appeal}/dispatch", {
        "unit_id": str(w.lanshan), "reason": "属地管辖", "instruction": "请核实处理"})
    assert dispatched.status == 303
    assisted = w.li.post(f"/appeals/{appeal}/assist", {
        "unit_id": str(w.xiyuan), "reason": "工地跨西苑辖区", "instruction": "协助走访"})
    assert assisted.status == 303 and "已增加协办单位" in w.li.get(assisted.location).body
    again = w.li.post(f"/appeals/{appeal}/assist", {
        "unit_id": str(w.xiyuan), "reason": "再次", "instruction": "协助"})
    assert again.status == 409 and "西苑派出所已在协办该诉求" in again.body

    # The assisting unit's list and page say its part.
    work = w.xy1.get("/unit/work/to_sign")
    assert f"/unit/appeals/{appeal}" in work.body and 'data-role="assist"' in work.body
    page = w.xy1.get(f"/unit/appeals/{appeal}")
    assert page.status == 200 and 'data-role="assist"' in page.body and ">协办<" in page.body
    assert w.xy1.post(f"/unit/appeals/{appeal}/sign").status == 303
    assert w.ls1.post(f"/unit/appeals/{appeal}/sign").status == 303
    assert w.ls1.post(f"/unit/appeals/{appeal}/reply",
                      {"reply": "已责令施工方夜间停工"}).status == 303

    # The lead replied; the assisting unit has not: the hall waits.
    page = w.li.get(f"/appeals/{appeal}")
    assert "协办单位尚未全部回复（西苑派出所）" in page.body
    early = w.li.post(f"/appeals/{appeal}/accept", {"resolution": ""})
    assert early.status == 409 and "不能审核通过" in early.body
    assert w.db.read_now(lambda s: s.get(Appeal, appeal).status) is AppealStatus.IN_PROGRESS

    assert w.xy1.post(f"/unit/appeals/{appeal}/reply",
                      {"reply": "西苑辖区住户已走访"}).status == 303
    lead_page = w.ls1.get(f"/unit/appeals/{appeal}")
    assert 'id="assists"' in lead_page.body and "西苑辖区住户已走访" in lead_page.body
    assert 'data-role="lead"' in lead_page.body
    hall_page = w.li.get(f"/appeals/{appeal}")
    assert "西苑辖区住户已走访" in hall_page.body and 'id="assists-waiting"' not in hall_page.body

    accepted = w.li.post(f"/appeals/{appeal}/accept", {"resolution": ""})
    assert accepted.status == 303
    orders = w.db.read_now(lambda s: [(o.role, o.status) for o in s.scalars(
        select(WorkOrder).order_by(WorkOrder.id))])
    assert orders == [(WorkOrderRole.LEAD, WorkOrderStatus.ACCEPTED),
                      (WorkOrderRole.ASSIST, WorkOrderStatus.ACCEPTED)]
    tasks = w.db.read_now(lambda s: [t.appeal_id for t in s.scalars(select(CallbackTask))])
    assert tasks == [appeal]  # one callback, about the appeal


def test_the_hall_withdraws_an_assisting_order_no_longer_needed(hall):
    w = hall
    appeal = w.first
    w.li.post(f"/appeals/{appeal}/dispatch", {"unit_id": str(w.lanshan), "reason": "属地",
                                              "instruction": "处理"})
    w.li.post(f"/appeals/{appeal}/assist", {"unit_id": str(w.xiyuan), "reason": "协查",
                                            "instruction": "协助"})
    # Neither signed for by 12:00: the hall's list says which is the assisting one.
    w.clock.current = MONDAY + dt.timedelta(hours=3)
    for name in ("li", "xy1"):  # a session ends when idle
        getattr(w, name).cookies.clear()
        getattr(w, name).login(name)
    late = w.li.get("/workorders/sign_late")
    assert '<td data-role="assist">西苑派出所（协办）</td>' in late.body
    assert '<td data-role="lead">兰山派出所</td>' in late.body
    order = re.search(r'name="order_id" value="(\d+)"', w.li.get(f"/appeals/{appeal}").body)
    withdrawn = w.li.post(f"/appeals/{appeal}/withdraw_assist",
                          {"order_id": order.group(1), "reason": "经核实不涉及西苑辖区"})
    assert withdrawn.status == 303 and "已撤回协办工单" in w.li.get(withdrawn.location).body
    assert w.xy1.get(f"/unit/appeals/{appeal}").status == 404  # no longer the unit's
    again = w.li.post(f"/appeals/{appeal}/withdraw_assist",
                      {"order_id": order.group(1), "reason": "再次"})
    assert again.status == 409


def test_with_only_an_assisting_order_open_the_hall_is_offered_a_new_lead_not_its_own_steps(
        hall):
    w = hall
    appeal = w.first
    w.li.post(f"/appeals/{appeal}/dispatch", {"unit_id": str(w.lanshan), "reason": "属地",
                                              "instruction": "处理"})
    w.li.post(f"/appeals/{appeal}/assist", {"unit_id": str(w.xiyuan), "reason": "协查",
                                            "instruction": "协助"})
    returned = w.ls1.post(f"/unit/appeals/{appeal}/return", {"reason": "不属于本所辖区"})
    assert returned.status == 303
    page = w.li.get(f"/appeals/{appeal}").body
    assert 'id="dispatch-form"' in page and 'data-role="assist"' in page
    assert 'id="answer-form"' not in page and 'id="assign-form"' not in page
    answered = w.li.post(f"/appeals/{appeal}/answer", {"answer": "已电话答复"})
    assert answered.status == 409 and "西苑派出所" in answered.body
