"""The agents' callback worklist: the callback queue's facade injected into the web app, a
resolved complaint's callback listed, click-to-call, the outcome form."""

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

import callback_queue
from agents.app import WebApp
from agents.config import AuthConfig
from hotline.ami.errors import AMIError
from hotline.appeals import AppealRecord
from schemas.callbacks import CallbackState, CallbackTask
from schemas.enums import AgentRole, AppealKind, AppealStatus, Satisfaction
from schemas.models import Appeal
from tests.agents.support import API_TOKEN, SECRET, Browser, SettableClock, create_agent, make_core
from tests.support.appeals import add_unit, new_appeal

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 in Shanghai


class FakeAMI:
    """The AMI client as click-to-call sees it: linked, and the agent's phone answers or
    not as the test says."""

    LOGGED_IN = "logged in"

    def __init__(self, answered: bool = True, error: str | None = None) -> None:
        self.state = self.LOGGED_IN
        self.answered = answered
        self.error = error
        self.originated: list[str] = []

    async def originate(self, channel, **_):
        self.originated.append(channel)
        if self.error:
            raise AMIError(self.error)
        return SimpleNamespace(answered=self.answered, action_id="act-1")


@pytest.fixture
def clock():
    return SettableClock(NOW)


def hall(database, pumped_reactor, clock, ami=None):
    """The core, the callback queue on it (resolve participant registered), the web app with
    the queue's facade, and officer li logged in at the time the task becomes callable."""
    core = make_core(database, pumped_reactor, clock, ami=ami)
    queue, _dispatcher = callback_queue.build(core, ami=ami, config=None)
    core.resolve_hook.register(callback_queue.RESOLVE_PARTICIPANT, queue.repository.on_resolved)
    unit = database.write_now(add_unit)
    li = create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001").id
    appeal = pumped_reactor.wait(core.appeals.create(
        new_appeal(kind=AppealKind.COMPLAINT, subject="<i>出租车</i>拒载", agent_id=li),
        actor="li"))
    pumped_reactor.wait(core.appeals.assign(appeal.id, unit, actor="test"))
    pumped_reactor.wait(core.appeals.start(appeal.id, actor="test"))
    pumped_reactor.wait(core.appeals.resolve(appeal.id, "已处理", actor="test"))
    task = database.read_now(lambda s: (lambda t: SimpleNamespace(
        id=t.id, window_start=t.window_start, due_by=t.due_by))(
            s.scalars(select(CallbackTask)).one()))
    clock.current = task.window_start + dt.timedelta(minutes=1)
    app = WebApp(core, AuthConfig(secret_key=SECRET, api_token=API_TOKEN), callbacks=queue)
    browser = Browser(app, pumped_reactor)
    assert browser.login("li").status == 303
    return SimpleNamespace(core=core, queue=queue, app=app, browser=browser, appeal=appeal,
                           task_id=task.id, due_by=task.due_by, database=database)


def task_state(world):
    return world.database.read_now(
        lambda s: (lambda t: (t.state, t.attempts, t.rating))(s.get(CallbackTask, world.task_id)))


def appeal_of(world) -> AppealRecord:
    return world.database.read_now(lambda s: AppealRecord.of(s.get(Appeal, world.appeal.id)))


def row(body: str, task_id: int) -> str | None:
    found = re.search(rf'<tr id="task-{task_id}"[^>]*>(.*?)</tr>', body, re.S)
    return found and found.group(0)


def test_a_resolved_complaint_is_in_the_worklist_with_its_case_link_and_masked_phone(
        database, pumped_reactor, clock):
    world = hall(database, pumped_reactor, clock)
    page = world.browser.get("/callbacks")
    assert page.status == 200 and 'href="/callbacks"' in page.body
    cells = row(page.body, world.task_id)
    assert cells is not None
    assert f'<a href="/appeals/{world.appeal.id}">{world.appeal.case_number}</a>' in cells
    assert "138****5678" in cells and "13812345678" not in page.body
    assert "&lt;i&gt;出租车&lt;/i&gt;拒载" in cells
    assert "投诉" in cells and "办结回访" in cells and "本人受理" in cells
    assert 'class="overdue"' not in cells
    due = world.due_by.astimezone(world.core.zone).strftime("%Y-%m-%d %H:%M")
    assert due in cells


def test_an_overdue_callback_is_marked(database, pumped_reactor, clock):
    world = hall(database, pumped_reactor, clock)
    clock.current = world.due_by + dt.timedelta(minutes=5)
    world.browser.login("li")
    cells = row(world.browser.get("/callbacks").body, world.task_id)
    assert 'class="overdue"' in cells and "已超期" in cells


def test_recording_a_satisfied_outcome_closes_the_appeal_and_empties_the_list(
        database, pumped_reactor, clock):
    world = hall(database, pumped_reactor, clock)
    world.browser.get("/callbacks")
    result = world.browser.post(f"/callbacks/{world.task_id}/outcome",
                                {"reached": "yes", "rating": "1", "reason": "", "attempt": "1"})
    assert result.status == 303 and result.location == "/callbacks?done=1"
    page = world.browser.get(result.location)
    assert "回访结果已保存" in page.body and row(page.body, world.task_id) is None
    assert 'id="no-callbacks"' in page.body
    assert task_state(world) == (CallbackState.COMPLETED, 1, Satisfaction.SATISFIED)
    appeal = appeal_of(world)
    assert appeal.status is AppealStatus.CLOSED and appeal.satisfaction is Satisfaction.SATISFIED


def test_a_citizen_not_reached_counts_an_attempt_and_the_task_waits(database, pumped_reactor,
                                                                    clock):
    world = hall(database, pumped_reactor, clock)
    world.browser.get("/callbacks")
    assert world.browser.post(f"/callbacks/{world.task_id}/outcome",
                              {"reached": "no", "attempt": "1"}).status == 303
    state, attempts, rating = task_state(world)
    assert attempts == 1 and rating is None and state is not CallbackState.COMPLETED


def test_a_dissatisfied_rating_without_a_reason_is_refused_and_changes_nothing(
        database, pumped_reactor, clock):
    world = hall(database, pumped_reactor, clock)
    world.browser.get("/callbacks")
    result = world.browser.post(f"/callbacks/{world.task_id}/outcome",
                                {"reached": "yes", "rating": "3", "reason": " ", "attempt": "1"})
    assert result.status == 409 and "不满意" in result.body and 'id="error"' in result.body
    assert row(result.body, world.task_id) is not None
    assert task_state(world) == (CallbackState.PENDING, 0, None)


def test_a_dissatisfied_rating_with_its_reason_reopens_the_appeal(database, pumped_reactor,
                                                                  clock):
    world = hall(database, pumped_reactor, clock)
    world.browser.get("/callbacks")
    result = world.browser.post(f"/callbacks/{world.task_id}/outcome",
                                {"reached": "yes", "rating": "3", "reason": "司机未被处理",
                                 "attempt": "1"})
    assert result.status == 303
    assert appeal_of(world).status is AppealStatus.IN_PROGRESS


@pytest.mark.parametrize("form, named", [
    ({"reached": "maybe", "attempt": "1"}, "是否联系上（reached）须为以下之一：yes, no"),
    ({}, "是否联系上（reached）不能为空"),
    ({"reached": "yes", "rating": "5", "attempt": "1"}, "评价（rating）须为以下之一：1, 2, 3"),
    ({"reached": "no"}, "回访次序（attempt）不能为空"),
    ({"reached": "no", "attempt": "0"}, "回访次序（attempt）须为 1 至 999 之间的整数"),
    ({"reached": "no", "attempt": "１"}, "回访次序（attempt）须为 1 至 999 之间的整数"),
])
def test_a_malformed_outcome_is_422_naming_the_field(database, pumped_reactor, clock, form,
                                                     named):
    world = hall(database, pumped_reactor, clock)
    world.browser.get("/callbacks")
    result = world.browser.post(f"/callbacks/{world.task_id}/outcome", form)
    assert result.status == 422 and named in result.body
    assert task_state(world) == (CallbackState.PENDING, 0, None)


def test_an_outcome_for_an_unknown_task_is_404(database, pumped_reactor, clock):
    world = hall(database, pumped_reactor, clock)
    world.browser.get("/callbacks")
    result = world.browser.post("/callbacks/999/outcome", {"reached": "no", "attempt": "1"})
    assert result.status == 404 and "999" in result.body


def test_click_to_call_without_an_ami_link_is_502_and_claims_nothing(database, pumped_reactor,
                                                                     clock):
    world = hall(database, pumped_reactor, clock)
    world.browser.get("/callbacks")
    result = world.browser.post(f"/callbacks/{world.task_id}/call")
    assert result.status == 502 and "与交换机的连接中断" in result.body
    assert task_state(world) == (CallbackState.PENDING, 0, None)


def test_click_to_call_rings_the_agent_and_says_the_citizen_is_being_called(
        database, pumped_reactor, clock):
    ami = FakeAMI(answered=True)
    world = hall(database, pumped_reactor, clock, ami=ami)
    world.browser.get("/callbacks")
    result = world.browser.post(f"/callbacks/{world.task_id}/call")
    assert result.status == 200 and "正在呼叫市民" in result.body
    assert ami.originated == ["PJSIP/1001"]
    assert task_state(world)[0] is CallbackState.IN_CALL
    # The same agent then records the outcome of the call it made.
    assert world.browser.post(f"/callbacks/{world.task_id}/outcome",
                              {"reached": "yes", "rating": "2", "attempt": "1"}).status == 303
    assert task_state(world) == (CallbackState.COMPLETED, 1, Satisfaction.BASICALLY_SATISFIED)


@pytest.mark.parametrize("ami", [FakeAMI(answered=False), FakeAMI(error="Originate failed")],
                         ids=["no answer", "ami error"])
def test_click_to_call_when_the_agents_phone_does_not_answer_is_502(database, pumped_reactor,
                                                                    clock, ami):
    world = hall(database, pumped_reactor, clock, ami=ami)
    world.browser.get("/callbacks")
    result = world.browser.post(f"/callbacks/{world.task_id}/call")
    assert result.status == 502 and "您的话机未接听" in result.body
    assert task_state(world) == (CallbackState.PENDING, 0, None)


def test_click_to_call_on_another_agents_reserved_task_is_404(database, pumped_reactor, clock):
    world = hall(database, pumped_reactor, clock, ami=FakeAMI(answered=True))
    world.browser.get("/callbacks")
    assert world.browser.post(f"/callbacks/{world.task_id}/call").status == 200
    create_agent(database, "zhou", AgentRole.AGENT, interface="PJSIP/1002")
    other = Browser(world.app, pumped_reactor)
    assert other.login("zhou").status == 303
    result = other.post(f"/callbacks/{world.task_id}/call")
    assert result.status == 404 and "操作未执行" in result.body


def test_without_an_injected_queue_the_worklist_is_unavailable(database, pumped_reactor, clock):
    core = make_core(database, pumped_reactor, clock)
    create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    browser = Browser(WebApp(core, AuthConfig(secret_key=SECRET, api_token=API_TOKEN)),
                      pumped_reactor)
    browser.login("li")
    result = browser.get("/callbacks")
    assert result.status == 404 and "回访队列在本系统中不可用" in result.body


def test_make_service_hands_the_queue_to_the_web_app(database, pumped_reactor, clock):
    from agents.web import makeService

    core = make_core(database, pumped_reactor, clock)
    queue, _dispatcher = callback_queue.build(core, ami=None, config=None)
    auth = AuthConfig(secret_key=SECRET, api_token=API_TOKEN)
    top = makeService(core, auth, reports={}, callbacks=queue)
    (app,) = [child._app for child in top if hasattr(child, "_app")]
    assert app.callbacks is queue
    (plain,) = [child._app for child in makeService(core, auth) if hasattr(child, "_app")]
    assert plain.callbacks is None and plain.reports == {}
