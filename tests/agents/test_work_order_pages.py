"""An appeal's way to a unit and back, through the web application over HTTP (the real site,
its bytes on the wire): the hall dispatches it, the unit officer signs for it, a return too
late is refused, extensions are approved and refused by a supervisor, the unit replies, the
hall sends the reply back and accepts the second one, and the appeal is resolved with its
callback task; a return in time brings it back to the hall, which re-dispatches it. A unit
officer sees only the unit's appeals, and each look at one is audited."""

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
from schemas.callbacks import CallbackTask
from schemas.enums import AgentRole, AppealStatus, WorkOrderStatus
from schemas.models import Appeal, WorkOrder
from tests.agents.support import API_TOKEN, SECRET, SettableClock, create_agent, make_core
from tests.agents.wire import WireBrowser
from tests.support.appeals import SHANGHAI, add_unit

MONDAY = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 in Shanghai
PEOPLE = ("li", "wang", "ls1", "xy1")


def shanghai(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


@pytest.fixture
def hall(database, pumped_reactor):
    """The hall's web app with the callback queue's resolve participant, two units, a hall
    officer, a supervisor and an officer of each unit, each in a browser of their own."""
    clock = SettableClock(MONDAY)
    core = make_core(database, pumped_reactor, clock)
    queue, _dispatcher = callback_queue.build(core, ami=None, config=None)
    core.resolve_hook.register(callback_queue.RESOLVE_PARTICIPANT, queue.repository.on_resolved)
    lanshan = database.write_now(add_unit)
    xiyuan = database.write_now(add_unit, "PS-XY", "西苑派出所")
    create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    create_agent(database, "wang", AgentRole.SUPERVISOR)
    create_agent(database, "ls1", AgentRole.UNIT_OFFICER, unit_code="PS-LS")
    create_agent(database, "xy1", AgentRole.UNIT_OFFICER, unit_code="PS-XY")
    app = WebApp(core, AuthConfig(secret_key=SECRET, api_token=API_TOKEN), callbacks=queue)
    root = make_root(core, app)
    browsers = {name: WireBrowser(root, pumped_reactor) for name in PEOPLE}
    world = SimpleNamespace(core=core, db=database, clock=clock, lanshan=lanshan,
                            xiyuan=xiyuan, browsers=browsers, **browsers)
    at(world, MONDAY)
    created = world.li.post("/appeals", {"channel": "phone", "kind": "complaint",
                                         "subject": "夜间施工噪音", "body": "工地每晚施工到凌晨",
                                         "citizen_phone": "13812345678",
                                         "citizen_name": "张三"})
    assert created.status == 303, created.body
    world.appeal = int(re.search(r"/appeals/(\d+)", created.location).group(1))
    return world


def at(world, moment: dt.datetime) -> None:
    """The time moves on, days at a time: everyone logs in again (a session ends when idle)."""
    world.clock.current = moment
    for name, browser in world.browsers.items():
        browser.cookies.clear()
        browser.login(name)


def appeal_row(world):
    return world.db.read_now(lambda s: (lambda a: (a.status, a.unit_id, a.resolution))(
        s.get(Appeal, world.appeal)))


def order_rows(world):
    return world.db.read_now(lambda s: [(o.unit_id, o.status, o.due_at) for o in s.scalars(
        select(WorkOrder).where(WorkOrder.appeal_id == world.appeal).order_by(WorkOrder.id))])


def dispatch(world, unit, reason="属地管辖", instruction="请核实处理并答复群众"):
    return world.li.post(f"/appeals/{world.appeal}/dispatch",
                         {"unit_id": str(unit), "reason": reason, "instruction": instruction})


def unit_page(world, browser="ls1"):
    return getattr(world, browser).get(f"/unit/appeals/{world.appeal}")


def unit_step(world, action, form=None, browser="ls1"):
    return getattr(world, browser).post(f"/unit/appeals/{world.appeal}/{action}", form or {})


def test_an_appeal_goes_to_the_unit_and_back_to_its_resolution_and_callback(hall):
    w = hall
    # 转办
    dispatched = dispatch(w, w.lanshan)
    assert dispatched.status == 303 and dispatched.location.endswith("?done=dispatch")
    page = w.li.get(dispatched.location)
    assert "已转办" in page.body and 'data-state="dispatched"' in page.body
    assert "属地管辖" in page.body and "请核实处理并答复群众" in page.body
    assert appeal_row(w)[:2] == (AppealStatus.ASSIGNED, w.lanshan)

    # The unit's list, its page (audited), 签收 in time.
    work = w.ls1.get("/unit/work/to_sign")
    assert work.status == 200 and f"/unit/appeals/{w.appeal}" in work.body
    assert 'id="list-to_sign" data-count="1"' in work.body
    page = unit_page(w)
    assert page.status == 200 and "13812345678" in page.body and "夜间施工噪音" in page.body
    views = [e for e in w.db.read_now(audit.trail, "appeal", w.appeal) if e.action == "view"]
    assert (views[-1].actor, views[-1].note) == ("ls1", "unit PS-LS")
    at(w, MONDAY.replace(hour=3))
    signed = unit_step(w, "sign")
    assert signed.status == 303
    page = w.ls1.get(signed.location)
    assert "已签收" in page.body and 'data-state="signed"' in page.body
    assert 'data-mark="signed-late"' not in page.body
    assert appeal_row(w)[0] is AppealStatus.IN_PROGRESS

    # 退单 after two working days: refused in Chinese, nothing changed.
    at(w, shanghai(2026, 12, 3, 9, 0))  # Thursday
    assert 'id="return-closed"' in unit_page(w).body
    late = unit_step(w, "return", {"reason": "不属于本所辖区"})
    assert late.status == 409 and "已超过退单时限（2026-12-02 23:59）" in late.body
    assert order_rows(w)[0][1] is WorkOrderStatus.SIGNED
    assert appeal_row(w)[:2] == (AppealStatus.IN_PROGRESS, w.lanshan)

    # 延期申请: approved, then a second one refused.
    due = order_rows(w)[0][2]
    assert due == shanghai(2026, 12, 7, 23, 59, 59)
    too_long = unit_step(w, "extension", {"days": "11", "reason": "需调取监控"})
    assert too_long.status == 409 and "延期天数须为 1 至 10 个工作日" in too_long.body
    asked = unit_step(w, "extension", {"days": "3", "reason": "需调取工地监控"})
    assert asked.status == 303
    assert "延期申请已提交" in w.ls1.get(asked.location).body
    desk = w.wang.get("/supervisor/extensions")
    assert "需调取工地监控" in desk.body and "兰山派出所" in desk.body
    extension_id = re.search(r'id="approve-(\d+)"', desk.body).group(1)
    assert w.li.get("/supervisor/extensions").status == 403  # a supervisor's decision
    approved = w.wang.post(f"/supervisor/extensions/{extension_id}/approve")
    assert approved.status == 303 and "已批准延期" in w.wang.get(approved.location).body
    assert order_rows(w)[0][2] == shanghai(2026, 12, 10, 23, 59, 59)
    page = unit_page(w)
    assert "2026-12-10 23:59" in page.body and "已延期 3 个工作日" in page.body
    asked = unit_step(w, "extension", {"days": "2", "reason": "当事人外出"})
    assert asked.status == 303
    extension_id = re.search(r'id="refuse-(\d+)"', w.wang.get("/supervisor/extensions").body) \
        .group(1)
    no_note = w.wang.post(f"/supervisor/extensions/{extension_id}/refuse", {"note": ""})
    assert no_note.status == 422 and "请填写" in no_note.body
    refused = w.wang.post(f"/supervisor/extensions/{extension_id}/refuse",
                          {"note": "时限内可以办结"})
    assert refused.status == 303
    assert order_rows(w)[0][2] == shanghai(2026, 12, 10, 23, 59, 59)
    page = unit_page(w)
    assert "未批准" in page.body and "时限内可以办结" in page.body

    # 办结回复, 审核退回, rework, a second reply, 审核通过.
    note = unit_step(w, "note", {"note": "已约谈施工方"})
    assert note.status == 303
    replied = unit_step(w, "reply", {"reply": "已责令施工方夜间停工"})
    assert replied.status == 303 and "等待服务大厅审核" in w.ls1.get(replied.location).body
    review = w.li.get("/workorders/to_review")
    assert f"/appeals/{w.appeal}" in review.body and "已责令施工方夜间停工" in review.body
    page = w.li.get(f"/appeals/{w.appeal}")
    assert 'id="accept"' in page.body and 'id="send-back"' in page.body
    sent_back = w.li.post(f"/appeals/{w.appeal}/send_back", {"reason": "未写明处理依据"})
    assert sent_back.status == 303
    rework = w.ls1.get("/unit/work/rework")
    assert f"/unit/appeals/{w.appeal}" in rework.body
    assert "未写明处理依据" in unit_page(w).body
    assert w.db.read_now(lambda s: s.scalars(select(CallbackTask)).all()) == []
    unit_step(w, "reply", {"reply": "依据《环境噪声污染防治法》责令夜间停工，已复查"})
    accepted = w.li.post(f"/appeals/{w.appeal}/accept",
                         {"resolution": "经兰山派出所核查，已责令施工方夜间停工"})
    assert accepted.status == 303
    assert "诉求已办结，回访已安排" in w.li.get(accepted.location).body
    status, unit, resolution = appeal_row(w)
    assert (status, resolution) == (AppealStatus.RESOLVED, "经兰山派出所核查，已责令施工方夜间停工")
    task, = w.db.read_now(lambda s: [(t.appeal_id,) for t in s.scalars(select(CallbackTask))])
    assert task == (w.appeal,)
    assert order_rows(w)[0][1] is WorkOrderStatus.ACCEPTED

    # The trail says who, which unit and why at every step.
    steps = [(e.actor, e.action) for e in w.db.read_now(audit.trail, "appeal", w.appeal)
             if e.action != "view"]
    assert steps == [("li", "create"), ("li", "dispatch"), ("ls1", "sign"),
                     ("ls1", "extension_request"), ("wang", "extension_approve"),
                     ("ls1", "extension_request"), ("wang", "extension_refuse"),
                     ("ls1", "note"), ("ls1", "reply"), ("li", "send_back"),
                     ("ls1", "reply"), ("li", "accept")]
    trail = w.ls1.get(f"/unit/appeals/{w.appeal}").body
    for words in ("转办", "签收", "批准延期", "不批准延期", "审核退回", "审核通过"):
        assert words in trail


def test_a_return_in_time_goes_back_to_the_hall_which_dispatches_it_elsewhere(hall):
    w = hall
    dispatch(w, w.lanshan)
    at(w, shanghai(2026, 12, 2, 20, 0))  # Wednesday evening, the last day of the two
    returned = unit_step(w, "return", {"reason": "该工地属西苑派出所辖区"})
    assert returned.status == 303 and returned.location == "/unit/work/to_sign?done=returned"
    assert "已退单" in w.ls1.get(returned.location).body
    assert appeal_row(w)[:2] == (AppealStatus.RECEIVED, None)
    assert unit_page(w).status == 404  # no longer the unit's
    page = w.li.get(f"/appeals/{w.appeal}")
    assert "兰山派出所已退单：该工地属西苑派出所辖区" in page.body
    assert f"/appeals/{w.appeal}" in w.li.get("/workorders/returned").body
    again = dispatch(w, w.xiyuan, reason="辖区调整")
    assert again.status == 303
    assert appeal_row(w)[:2] == (AppealStatus.ASSIGNED, w.xiyuan)
    assert unit_page(w, "xy1").status == 200
    assert f"/appeals/{w.appeal}" not in w.li.get("/workorders/returned").body


def test_a_redispatch_moves_the_order_to_the_other_unit(hall):
    w = hall
    dispatch(w, w.lanshan)
    unit_step(w, "sign")
    moved = w.li.post(f"/appeals/{w.appeal}/redispatch",
                      {"unit_id": str(w.xiyuan), "reason": "辖区调整", "instruction": "请办理"})
    assert moved.status == 303
    assert [(u, s) for u, s, _ in order_rows(w)] == [(w.lanshan, WorkOrderStatus.WITHDRAWN),
                                                     (w.xiyuan, WorkOrderStatus.DISPATCHED)]
    assert unit_page(w).status == 404 and unit_page(w, "xy1").status == 200
    twice = dispatch(w, w.lanshan)
    assert twice.status == 409 and "该诉求已转办至西苑派出所，请使用改派" in twice.body


def test_a_dispatch_signed_after_the_limit_shows_as_late_to_both_sides(hall):
    w = hall
    dispatch(w, w.lanshan)
    at(w, MONDAY.replace(hour=5))  # 13:00: the limit was 12:00
    assert 'data-mark="sign-late"' in w.ls1.get("/unit/work/to_sign").body
    assert f"/appeals/{w.appeal}" in w.li.get("/workorders/sign_late").body
    unit_step(w, "sign")
    assert 'data-mark="signed-late"' in unit_page(w).body
    assert "超时签收" in w.li.get(f"/appeals/{w.appeal}").body


def test_a_unit_officer_sees_only_the_units_appeals_and_not_the_halls_pages(hall):
    w = hall
    dispatch(w, w.lanshan)
    other = unit_page(w, "xy1")
    assert other.status == 404 and "13812345678" not in other.body
    assert unit_page(w).status == 200
    assert w.xy1.get("/unit/appeals/999999").status == 404  # as an unknown id
    assert unit_step(w, "sign", browser="xy1").status == 404
    assert order_rows(w)[0][1] is WorkOrderStatus.DISPATCHED
    assert f"/unit/appeals/{w.appeal}" not in w.xy1.get("/unit/work/to_sign").body
    for path in (f"/appeals/{w.appeal}", "/appeals", "/terminal", "/workorders/to_review"):
        assert w.ls1.get(path).status == 403, path
    assert w.li.get(f"/unit/appeals/{w.appeal}").status == 403
    assert w.ls1.get("/").location == "/unit"


def test_the_halls_plain_steps_wait_while_the_unit_has_the_appeal(hall):
    w = hall
    dispatch(w, w.lanshan)
    unit_step(w, "sign")
    refused = w.li.post(f"/appeals/{w.appeal}/resolve", {"resolution": "已处理"})
    assert refused.status == 409 and "该诉求已转办至兰山派出所" in refused.body
    assert appeal_row(w)[0] is AppealStatus.IN_PROGRESS
    early = w.li.post(f"/appeals/{w.appeal}/accept", {})
    assert early.status == 409 and "当前状态为“办理中”，不能审核通过" in early.body


def test_refusals_of_the_unit_forms_are_in_chinese_and_change_nothing(hall):
    w = hall
    dispatch(w, w.lanshan)
    empty = unit_step(w, "return", {"reason": " "})
    assert empty.status == 422 and "请填写原因" in empty.body
    unsigned = unit_step(w, "reply", {"reply": "已处理"})
    assert unsigned.status == 409 and "当前状态为“待签收”，不能回复" in unsigned.body
    unit_step(w, "sign")
    bad_days = unit_step(w, "extension", {"days": "三", "reason": "复杂"})
    assert bad_days.status == 422 and "延期天数" in bad_days.body
    assert order_rows(w)[0][1] is WorkOrderStatus.SIGNED
    missing = w.li.post(f"/appeals/{w.appeal}/dispatch", {"unit_id": "", "reason": "r",
                                                          "instruction": "i"})
    assert missing.status in (409, 422)
