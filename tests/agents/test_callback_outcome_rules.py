"""Who may record a callback's outcome, through real requests to the web app: only for a task
the agent may work now (the worklist's rule: due, not reserved for another agent, not held by
someone else, its attempts spaced), once per attempt, and a "reached" with no call placed is
recorded and reported as such. Ids in URLs walk nobody else's work."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

import callback_queue
from agents.app import WebApp
from agents.config import AuthConfig
from callback_queue.export import export
from callback_queue.report import compliance_report
from hotline.appeals import AppealRecord
from schemas.callbacks import CallbackAttempt, CallbackState, CallbackTask
from schemas.enums import AgentRole, AppealKind, AppealStatus
from schemas.models import Appeal
from tests.agents.support import API_TOKEN, SECRET, Browser, SettableClock, create_agent, make_core
from tests.agents.test_callbacks import FakeAMI
from tests.support.appeals import add_unit, new_appeal

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 in Shanghai


@pytest.fixture
def clock():
    return SettableClock(NOW)


def hall(database, pumped_reactor, clock, *, ami=None, owner: str | None = "li"):
    """A resolved complaint whose callback is open now (its agent `owner`, or nobody's), the
    web app with the callback queue and the compliance report, li and zhou logged in."""
    core = make_core(database, pumped_reactor, clock, ami=ami)
    queue, _dispatcher = callback_queue.build(core, ami=ami, config=None)
    core.resolve_hook.register(callback_queue.RESOLVE_PARTICIPANT, queue.repository.on_resolved)
    unit = database.write_now(add_unit)
    agents = {name: create_agent(database, name, AgentRole.AGENT, interface=phone).id
              for name, phone in (("li", "PJSIP/1001"), ("zhou", "PJSIP/1002"))}
    create_agent(database, "wang", AgentRole.SUPERVISOR)
    appeal = pumped_reactor.wait(core.appeals.create(
        new_appeal(kind=AppealKind.COMPLAINT, agent_id=agents.get(owner) if owner else None),
        actor="li"))
    pumped_reactor.wait(core.appeals.assign(appeal.id, unit, actor="test"))
    pumped_reactor.wait(core.appeals.start(appeal.id, actor="test"))
    pumped_reactor.wait(core.appeals.resolve(appeal.id, "已处理", actor="test"))
    task = database.read_now(lambda s: SimpleNamespace(
        **{k: getattr(t, k) for k in ("id", "window_start", "due_by")})
        if (t := s.scalars(select(CallbackTask)).one()) else None)
    clock.current = task.window_start + dt.timedelta(minutes=1)
    app = WebApp(core, AuthConfig(secret_key=SECRET, api_token=API_TOKEN), callbacks=queue,
                 reports={"callbacks": compliance_report, "callbacks_file": export})
    browsers = {}
    for name in ("li", "zhou", "wang"):
        browsers[name] = Browser(app, pumped_reactor)
        assert browsers[name].login(name).status == 303
    return SimpleNamespace(core=core, app=app, appeal=appeal, task=task, agents=agents,
                           db=database, **browsers)


def state(world):
    return world.db.read_now(lambda s: (lambda t: (t.state, t.attempts, t.reached_without_call))(
        s.get(CallbackTask, world.task.id)))


def attempts(world):
    return world.db.read_now(lambda s: [
        (a.number, a.agent_id, a.result.value if a.result else None, a.call_placed)
        for a in s.scalars(select(CallbackAttempt).where(CallbackAttempt.task_id == world.task.id)
                           .order_by(CallbackAttempt.id))])


def appeal_of(world) -> AppealRecord:
    return world.db.read_now(lambda s: AppealRecord.of(s.get(Appeal, world.appeal.id)))


def form_attempt(page: str, task_id: int) -> str:
    """The attempt number the worklist's outcome form carries for the task."""
    found = re.search(rf'<form [^>]*id="outcome-{task_id}">.*?name="attempt" value="(\d+)"',
                      page, re.S)
    assert found, "no outcome form for the task"
    return found.group(1)


def error_text(body: str) -> str:
    found = re.search(r'id="error"[^>]*>(.*?)<', body, re.S)
    assert found, "no error on the page"
    return found.group(1).strip()


# Once per attempt ------------------------------------------------------------------------------

def test_the_same_outcome_posted_twice_counts_once_and_the_second_says_so(
        database, pumped_reactor, clock):
    world = hall(database, pumped_reactor, clock)
    attempt = form_attempt(world.li.get("/callbacks").body, world.task.id)
    assert attempt == "1"
    form = {"reached": "no", "attempt": attempt}
    first = world.li.post(f"/callbacks/{world.task.id}/outcome", form)
    again = world.li.post(f"/callbacks/{world.task.id}/outcome", form)
    assert (first.status, first.location) == (303, "/callbacks?done=1")
    assert (again.status, again.location) == (303, "/callbacks?done=again")
    assert "该次回访结果此前已保存，未重复登记" in world.li.get(again.location).body
    assert state(world) == (CallbackState.PENDING, 1, False)
    assert attempts(world) == [(1, world.agents["li"], "agent_not_reached", False)]


def test_a_replayed_reached_after_the_task_closed_changes_nothing(database, pumped_reactor,
                                                                  clock):
    world = hall(database, pumped_reactor, clock)
    form = {"reached": "yes", "rating": "1", "attempt": "1"}
    assert world.li.post(f"/callbacks/{world.task.id}/outcome", form).status == 303
    replay = world.li.post(f"/callbacks/{world.task.id}/outcome",
                           {"reached": "yes", "rating": "3", "reason": "改口", "attempt": "1"})
    assert replay.location == "/callbacks?done=again"
    assert appeal_of(world).status is AppealStatus.CLOSED  # not reopened by the replay
    assert len(attempts(world)) == 1


def test_rapid_not_reached_posts_cannot_exhaust_the_attempts(database, pumped_reactor, clock):
    world = hall(database, pumped_reactor, clock)
    results = [world.li.post(f"/callbacks/{world.task.id}/outcome",
                             {"reached": "no", "attempt": str(n)}) for n in (1, 2, 3)]
    assert [r.status for r in results] == [303, 409, 409]
    assert "距上次回访时间过短，下次可回访时间：" in error_text(results[1].body)
    assert state(world) == (CallbackState.PENDING, 1, False)
    # The next attempt, when it is due, is the form's attempt 2.
    clock.advance(60 * 60)
    world.li.login("li")  # an hour idle ends the session
    page = world.li.get("/callbacks").body
    assert form_attempt(page, world.task.id) == "2"
    assert world.li.post(f"/callbacks/{world.task.id}/outcome",
                         {"reached": "no", "attempt": "2"}).status == 303
    assert state(world)[1] == 2


def test_an_outcome_from_a_form_another_agent_overtook_is_refused(database, pumped_reactor,
                                                                  clock):
    world = hall(database, pumped_reactor, clock, owner=None)  # a shared callback
    assert form_attempt(world.li.get("/callbacks").body, world.task.id) == "1"
    assert world.zhou.post(f"/callbacks/{world.task.id}/outcome",
                           {"reached": "no", "attempt": "1"}).status == 303
    late = world.li.post(f"/callbacks/{world.task.id}/outcome",
                         {"reached": "yes", "rating": "1", "attempt": "1"})
    assert late.status == 409
    assert "该次回访结果已由他人登记或页面已过期" in error_text(late.body)
    assert state(world) == (CallbackState.PENDING, 1, False)


# Only a task this agent may work now -----------------------------------------------------------

def test_an_outcome_before_the_callback_opens_is_refused_like_an_unknown_task(
        database, pumped_reactor, clock):
    world = hall(database, pumped_reactor, clock)
    clock.current = world.task.window_start - dt.timedelta(hours=1)
    early = world.li.post(f"/callbacks/{world.task.id}/outcome",
                          {"reached": "no", "attempt": "1"})
    assert early.status == 404
    assert error_text(early.body) == f"操作未执行：回访任务 {world.task.id} 不存在，或不在您的回访列表中"
    assert state(world) == (CallbackState.PENDING, 0, False)


def test_another_agents_reserved_callback_cannot_be_recorded_or_called(database, pumped_reactor,
                                                                       clock):
    world = hall(database, pumped_reactor, clock, ami=FakeAMI(answered=True))
    path = f"/callbacks/{world.task.id}"
    satisfied = world.zhou.post(f"{path}/outcome", {"reached": "yes", "rating": "1",
                                                    "attempt": "1"})
    called = world.zhou.post(f"{path}/call")
    unknown = world.zhou.post("/callbacks/987654/outcome", {"reached": "no", "attempt": "1"})
    assert satisfied.status == called.status == unknown.status == 404
    # Nothing tells a reserved task from one that does not exist.
    assert error_text(satisfied.body).replace(str(world.task.id), "N") == \
        error_text(unknown.body).replace("987654", "N")
    assert f"task-{world.task.id}" not in satisfied.body  # not on zhou's list either
    assert appeal_of(world).status is AppealStatus.RESOLVED
    assert state(world) == (CallbackState.PENDING, 0, False)


def test_an_automated_survey_is_no_agents_work(database, pumped_reactor, clock):
    world = hall(database, pumped_reactor, clock)
    survey = pumped_reactor.wait(world.core.appeals.create(new_appeal(kind=AppealKind.HELP,
                                                                      citizen_phone="13900002222"),
                                                           actor="li"))
    unit = database.write_now(lambda s: add_unit(s, "PS-X", "某派出所"))
    pumped_reactor.wait(world.core.appeals.assign(survey.id, unit, actor="test"))
    pumped_reactor.wait(world.core.appeals.start(survey.id, actor="test"))
    pumped_reactor.wait(world.core.appeals.resolve(survey.id, "已处理", actor="test"))
    task_id = database.read_now(lambda s: s.scalar(select(CallbackTask.id).where(
        CallbackTask.appeal_id == survey.id)))
    clock.advance(3 * 3600)
    world.li.login("li")
    result = world.li.post(f"/callbacks/{task_id}/outcome", {"reached": "yes", "attempt": "1"})
    assert result.status == 404 and "不在您的回访列表中" in result.body


def test_a_shared_callback_on_another_agents_call_is_busy(database, pumped_reactor, clock):
    world = hall(database, pumped_reactor, clock, ami=FakeAMI(answered=True), owner=None)
    assert world.li.post(f"/callbacks/{world.task.id}/call").status == 200
    for result in (world.zhou.post(f"/callbacks/{world.task.id}/outcome",
                                   {"reached": "yes", "rating": "1", "attempt": "1"}),
                   world.zhou.post(f"/callbacks/{world.task.id}/call")):
        assert result.status == 409
        assert error_text(result.body) == "操作未执行：该回访任务正由其他坐席或系统拨打，请稍后刷新"
    assert state(world) == (CallbackState.IN_CALL, 1, False)


# Reached with no call placed -------------------------------------------------------------------

def test_a_reached_without_a_call_is_recorded_and_reported_as_such(database, pumped_reactor,
                                                                   clock):
    world = hall(database, pumped_reactor, clock)
    assert world.li.post(f"/callbacks/{world.task.id}/outcome",
                         {"reached": "yes", "rating": "1", "attempt": "1"}).status == 303
    assert state(world) == (CallbackState.COMPLETED, 1, True)
    assert attempts(world) == [(1, world.agents["li"], "agent_reached", False)]
    day = world.task.due_by.astimezone(world.core.zone).date().isoformat()
    query = f"?from={day}&to={day}&by=unit"
    page = world.wang.get(f"/supervisor/callbacks{query}")
    assert page.status == 200 and "其中未经系统拨号" in page.body
    total = re.search(r'<tr class="total">(.*?)</tr>', page.body, re.S).group(1)
    assert '<td data-col="reached_without_call">1</td>' in total
    assert '<td data-col="within">1</td>' in total
    report = world.wang.get(f"/reports/callbacks.json{query}")
    assert json.loads(report.body)["rows"][-1]["reached_without_call"] == 1
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(world.wang.get(f"/supervisor/callbacks.xlsx{query}")
                                    .response.body))
    sheet = book["未经系统拨号"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["单位", "完成回访数", "其中未经系统拨号（坐席直接登记结果）"]
    assert rows[-1] == ["合计", 1, 1]
    # The CSV keeps its columns.
    lines = list(csv.reader(io.StringIO(world.wang.get(f"/supervisor/callbacks.csv{query}")
                                        .response.body.decode("utf-8-sig"))))
    assert lines[0][-1] == "按时回访率" and lines[-1][0] == "合计"


def test_a_click_to_call_outcome_is_a_placed_call_shown_on_the_worklist_while_it_runs(
        database, pumped_reactor, clock):
    world = hall(database, pumped_reactor, clock, ami=FakeAMI(answered=True))
    page = world.li.post(f"/callbacks/{world.task.id}/call").body
    assert f'id="calling-{world.task.id}"' in page and "通话中" in page
    assert f'id="call-{world.task.id}"' not in page
    assert form_attempt(page, world.task.id) == "1"
    assert world.li.post(f"/callbacks/{world.task.id}/outcome",
                         {"reached": "yes", "rating": "2", "attempt": "1"}).status == 303
    assert state(world) == (CallbackState.COMPLETED, 1, False)
    assert attempts(world)[0][2:] == ("agent_reached", True)
