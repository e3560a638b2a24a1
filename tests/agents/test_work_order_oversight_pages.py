"""催办, 督办 and 重办 through the web application over HTTP: the service's urging shows on the
unit officer's pages, a supervisor issues a 督办 with a note from the overdue page, and a
不满意 callback attributed to the unit goes back to it from the dissatisfied page, is replied
to again, accepted and rated 满意. Refusals are in Chinese and change nothing."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

import callback_queue
from agents.app import WebApp
from agents.config import AuthConfig
from agents.web import make_root
from hotline import audit
from schemas.enums import AgentRole, AppealStatus, Satisfaction, WorkOrderStatus
from schemas.models import Appeal, Unit, UrgingKind, WorkOrder, WorkOrderUrging
from tests.agents.support import API_TOKEN, SECRET, SettableClock, create_agent, make_core
from tests.agents.wire import WireBrowser
from tests.support.appeals import SHANGHAI, add_unit

MONDAY = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 in Shanghai
PEOPLE = ("li", "wang", "ls1")


def shanghai(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


URGE_AT = shanghai(2026, 12, 7, 8, 30)  # nine working hours before the order's deadline
SUPERVISE_AT = shanghai(2026, 12, 8, 8, 30)  # the working day after it opens


@pytest.fixture
def hall(database, pumped_reactor):
    clock = SettableClock(MONDAY)
    core = make_core(database, pumped_reactor, clock)
    queue, _dispatcher = callback_queue.build(core, ami=None, config=None)
    core.resolve_hook.register(callback_queue.RESOLVE_PARTICIPANT, queue.repository.on_resolved)

    def lanshan(session):
        unit_id = add_unit(session)
        unit = session.get(Unit, unit_id)
        unit.duty_contact, unit.duty_phone = "值班室", "13900001111"
        return unit_id

    unit = database.write_now(lanshan)
    create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    create_agent(database, "wang", AgentRole.SUPERVISOR)
    create_agent(database, "ls1", AgentRole.UNIT_OFFICER, unit_code="PS-LS")
    app = WebApp(core, AuthConfig(secret_key=SECRET, api_token=API_TOKEN), callbacks=queue)
    root = make_root(core, app)
    browsers = {name: WireBrowser(root, pumped_reactor) for name in PEOPLE}
    world = SimpleNamespace(core=core, db=database, clock=clock, unit=unit, **browsers,
                            browsers=browsers)
    at(world, MONDAY)
    created = world.li.post("/appeals", {"channel": "phone", "kind": "help",
                                         "subject": "小区门口违停", "body": "车辆长期占用消防通道",
                                         "citizen_phone": "13812345678"})
    assert created.status == 303, created.body
    world.appeal = int(re.search(r"/appeals/(\d+)", created.location).group(1))
    dispatched = world.li.post(f"/appeals/{world.appeal}/dispatch",
                               {"unit_id": str(unit), "reason": "属地管辖",
                                "instruction": "请核实处理"})
    assert dispatched.status == 303
    return world


def at(world, moment: dt.datetime) -> None:
    world.clock.current = moment
    for name, browser in world.browsers.items():
        browser.cookies.clear()
        browser.login(name)


def urge_due(world, moment):
    repo = world.core.appeals.repository
    for due in world.db.read_now(repo.due_urgings, now=moment):
        world.db.write_now(repo.urge_automatically, due.work_order_id, due.kind, now=moment)


def urgings(world):
    return world.db.read_now(lambda s: [(u.kind, u.automatic, u.note) for u in s.scalars(
        select(WorkOrderUrging).order_by(WorkOrderUrging.id))])


def test_urging_shows_to_the_unit_and_a_supervisor_supervises_from_the_overdue_page(hall):
    w = hall
    at(w, URGE_AT)
    urge_due(w, URGE_AT)
    work = w.ls1.get("/unit/work/to_sign")
    assert 'id="urgings"' in work.body and "催办（系统）" in work.body
    assert "即将到期，系统催办" in work.body
    page = w.ls1.get(f"/unit/appeals/{w.appeal}")
    assert 'data-kind="urge"' in page.body and "催办" in page.body

    at(w, SUPERVISE_AT)
    urge_due(w, SUPERVISE_AT)  # the service's 督办, raised to the supervisors
    assert "超期督办" in w.wang.get("/supervisor/alerts").body
    overdue = w.wang.get("/supervisor/overdue")
    assert overdue.status == 200 and f'id="supervise-{w.appeal}"' in overdue.body
    assert "已催办 1 次，已督办 1 次" in overdue.body
    empty = w.wang.post(f"/supervisor/overdue/{w.appeal}/supervise", {"note": " "})
    assert empty.status == 422 and "请填写" in empty.body
    assert w.li.post(f"/supervisor/overdue/{w.appeal}/supervise",
                     {"note": "请今日办结"}).status == 403
    assert len(urgings(w)) == 2
    done = w.wang.post(f"/supervisor/overdue/{w.appeal}/supervise",
                       {"note": "请今日内答复群众并报告"})
    assert done.status == 303 and done.location.startswith("/supervisor/overdue?done=supervise")
    assert "已督办" in w.wang.get(done.location).body
    assert urgings(w)[-1] == (UrgingKind.SUPERVISE, False, "请今日内答复群众并报告")
    page = w.ls1.get(f"/unit/appeals/{w.appeal}")
    assert "督办（wang 警官）：请今日内答复群众并报告" in page.body
    steps = [(e.actor, e.action) for e in w.db.read_now(audit.trail, "appeal", w.appeal)
             if e.action in ("urge", "supervise")]
    assert steps == [("system:urging", "urge"), ("system:urging", "supervise"),
                     ("wang", "supervise")]
    assert "督办" in page.body and "催办" in page.body  # the trail's words


def reply_and_accept(w, text):
    assert w.ls1.post(f"/unit/appeals/{w.appeal}/sign").status == 303
    assert w.ls1.post(f"/unit/appeals/{w.appeal}/reply", {"reply": text}).status == 303
    assert w.li.post(f"/appeals/{w.appeal}/accept", {}).status == 303


def test_a_dissatisfied_callback_goes_back_to_the_unit_and_a_second_reply_satisfies(hall):
    w = hall
    reply_and_accept(w, "已联系车主挪车")
    at(w, MONDAY + dt.timedelta(days=1))
    w.db.write_now(w.core.appeals.repository.rate, w.appeal, Satisfaction.DISSATISFIED,
                   actor="li", now=w.clock.current, note="callback 1: 车辆仍然违停")
    page = w.wang.get("/supervisor/dissatisfied")
    assert f'id="rework-{w.appeal}"' in page.body and "车辆仍然违停" in page.body
    back = re.search(r'name="back" value="([^"]*)"', page.body).group(1)
    empty = w.wang.post(f"/supervisor/dissatisfied/{w.appeal}/rework",
                        {"reason": "", "back": back})
    assert empty.status == 422 and "请填写原因" in empty.body
    sent = w.wang.post(f"/supervisor/dissatisfied/{w.appeal}/rework",
                       {"reason": "承办单位未到现场核实", "instruction": "请到现场处理",
                        "back": back.replace("&amp;", "&")})
    assert sent.status == 303 and "done=rework" in sent.location
    after = w.wang.get(sent.location)
    assert "已退回承办单位重办" in after.body and "已重办 1 次" in after.body
    assert f'id="rework-{w.appeal}"' not in after.body
    twice = w.wang.post(f"/supervisor/dissatisfied/{w.appeal}/rework",
                        {"reason": "再次重办"})
    assert twice.status == 409 and "该诉求已转办至兰山派出所" in twice.body

    rework = w.ls1.get("/unit/work/rework")
    assert f"/unit/appeals/{w.appeal}" in rework.body
    page = w.ls1.get(f"/unit/appeals/{w.appeal}")
    assert 'data-mark="rework"' in page.body and "承办单位未到现场核实" in page.body
    assert "退回重办（不满意）" in page.body
    reply_and_accept(w, "已到现场，违停车辆已拖移")
    w.db.write_now(w.core.appeals.repository.rate, w.appeal, Satisfaction.SATISFIED,
                   actor="li", now=w.clock.current, note="callback 2")
    status, satisfaction = w.db.read_now(lambda s: (lambda a: (a.status, a.satisfaction))(
        s.get(Appeal, w.appeal)))
    assert (status, satisfaction) == (AppealStatus.CLOSED, Satisfaction.SATISFIED)
    orders = w.db.read_now(lambda s: [(o.status, o.rework_of is not None) for o in s.scalars(
        select(WorkOrder).order_by(WorkOrder.id))])
    assert orders == [(WorkOrderStatus.ACCEPTED, False), (WorkOrderStatus.ACCEPTED, True)]


def test_a_rating_not_dissatisfied_offers_no_rework_and_a_forced_one_is_refused(hall):
    w = hall
    reply_and_accept(w, "已联系车主挪车")
    before = w.db.read_now(lambda s: s.scalar(select(func.count()).select_from(WorkOrder)))
    refused = w.wang.post(f"/supervisor/dissatisfied/{w.appeal}/rework",
                          {"reason": "不满意"})
    assert refused.status == 409 and "不能重办" in refused.body
    assert w.db.read_now(lambda s: s.scalar(select(func.count()).select_from(WorkOrder))) \
        == before
    assert w.ls1.post(f"/supervisor/dissatisfied/{w.appeal}/rework",
                      {"reason": "x"}).status == 403


def test_an_order_past_the_units_deadline_is_listed_and_supervised_before_the_appeals(hall):
    w = hall
    created = w.li.post("/appeals", {"channel": "phone", "kind": "complaint",
                                     "subject": "噪音投诉", "citizen_phone": "13812345679"})
    complaint = int(re.search(r"/appeals/(\d+)", created.location).group(1))
    assert w.li.post(f"/appeals/{complaint}/dispatch", {"unit_id": str(w.unit),
                                                        "reason": "属地管辖",
                                                        "instruction": "请核实"}).status == 303
    at(w, SUPERVISE_AT)  # both orders past the unit's deadline; the complaint's own is later
    page = w.wang.get("/supervisor/overdue")
    listed = re.search(r'<table class="results" id="overdue-orders">(.*?)</table>', page.body,
                       re.S).group(1)
    assert listed.count("<tr id=\"overdue-order-") == 2 and "噪音投诉" in listed
    assert f'id="overdue-{complaint}"' not in page.body  # not past the appeal's deadline
    sent = w.wang.post(f"/supervisor/overdue/{complaint}/supervise", {"note": "请尽快办结"})
    assert sent.status == 303
    assert w.db.read_now(lambda s: [(u.appeal_id, u.kind) for u in s.scalars(
        select(WorkOrderUrging))]) == [(complaint, UrgingKind.SUPERVISE)]
    assert "已催办 0 次，已督办 1 次" in w.wang.get("/supervisor/overdue").body
