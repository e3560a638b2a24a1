"""The 回电 form on the callback worklist: a voice message's callback recorded through the
web app (not the 回访 form), a refusal in Chinese that keeps what was typed, and a 不满意
reaching the appeal, the dissatisfied list and the alerts."""

import datetime as dt
import re

import pytest
from twisted.internet.defer import Deferred

import callback_queue
from agents.app import WebApp
from agents.config import AuthConfig
from schemas.callbacks import CallbackState, CallbackTask, ReturnCallDisposition
from schemas.enums import AgentRole, AppealChannel, AppealKind, AppealStatus
from schemas.models import Appeal
from tests.agents.support import API_TOKEN, SECRET, Browser, SettableClock, create_agent, make_core
from tests.support.appeals import new_appeal

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 in Shanghai
CITIZEN = "13812345678"


@pytest.fixture
def world(database, pumped_reactor):
    clock = SettableClock(NOW)
    core = make_core(database, pumped_reactor, clock)
    queue, _ = callback_queue.build(core, ami=None, config=None)
    create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    create_agent(database, "zhao", AgentRole.SUPERVISOR)
    older = pumped_reactor.wait(core.appeals.create(new_appeal(subject="楼下烧烤油烟"),
                                                    actor="li"))
    message = pumped_reactor.wait(core.appeals.create(new_appeal(
        channel=AppealChannel.VOICE_MESSAGE, kind=AppealKind.CONSULTATION,
        subject="语音留言（待坐席回听分类）", call_id="call-7",
        recording_path="/spool/call-7.wav"), actor="system:ivr"))
    # As the IVR files a message: its own appeal, and its 回电 in the worklist.
    task_id = pumped_reactor.wait(Deferred.fromCoroutine(queue.request_voice_message_callback(
        CITIZEN, "call-7", appeal_id=message.id))).id
    clock.current = NOW + dt.timedelta(minutes=1)
    app = WebApp(core, AuthConfig(secret_key=SECRET, api_token=API_TOKEN), callbacks=queue)
    browser = Browser(app, pumped_reactor)
    assert browser.login("li").status == 303
    return dict(browser=browser, db=database, older=older, message=message, task_id=task_id,
                app=app, pump=pumped_reactor)


def appeal(world, appeal_id):
    return world["db"].read_now(lambda s: (lambda a: (a.kind, a.subject, a.status))(
        s.get(Appeal, appeal_id)))


def test_a_voice_message_row_offers_the_return_call_form_not_the_survey_form(world):
    page = world["browser"].get("/callbacks")
    task_id = world["task_id"]
    assert f'id="return-call-form-{task_id}"' in page.body
    assert f'id="outcome-{task_id}"' not in page.body
    assert "按所选类别登记本留言" in page.body and "当场答复办结" in page.body
    # The citizen's other open appeal is offered as the related one; the message itself not.
    assert world["older"].case_number in page.body
    related = re.search(r'<select name="appeal">.*?</select>', page.body, re.S).group(0)
    assert f'value="{world["older"].id}"' in related
    assert f'value="{world["message"].id}"' not in related


def test_classifying_a_voice_message_as_a_complaint_from_the_worklist(world):
    browser, task_id = world["browser"], world["task_id"]
    browser.get("/callbacks")
    result = browser.post(f"/callbacks/{task_id}/return-call", {
        "reached": "yes", "notes": "投诉派出所窗口推诿", "disposition": "appeal",
        "kind": "complaint", "subject": "窗口推诿", "attempt": "1"})
    assert result.status == 303 and result.location == "/callbacks?done=return"
    assert "回电结果已保存" in browser.get(result.location).body
    assert appeal(world, world["message"].id) == (
        AppealKind.COMPLAINT, "窗口推诿", AppealStatus.RECEIVED)
    task = world["db"].read_now(lambda s: (lambda t: (t.state, t.disposition, t.call_notes))(
        s.get(CallbackTask, task_id)))
    assert task == (CallbackState.COMPLETED, ReturnCallDisposition.APPEAL, "投诉派出所窗口推诿")


def test_a_refused_return_call_says_why_in_chinese_and_keeps_what_was_typed(world):
    browser, task_id = world["browser"], world["task_id"]
    browser.get("/callbacks")
    result = browser.post(f"/callbacks/{task_id}/return-call", {
        "reached": "yes", "notes": "市民说明情况：夜里有人敲门", "disposition": "appeal",
        "kind": "help", "subject": "", "attempt": "1"})
    assert result.status == 409 and "请填写事由" in result.body
    form = re.search(rf'<form[^>]*id="return-call-form-{task_id}".*?</form>', result.body, re.S)
    assert "市民说明情况：夜里有人敲门</textarea>" in form.group(0)
    assert 'value="yes" required checked' in form.group(0)
    assert 'value="help" selected' in form.group(0)
    assert world["db"].read_now(lambda s: s.get(CallbackTask, task_id).state) is \
        CallbackState.PENDING


def test_a_dissatisfied_word_reaches_the_appeal_the_dissatisfied_list_and_the_alerts(world):
    browser, task_id, older = world["browser"], world["task_id"], world["older"]
    browser.get("/callbacks")
    result = browser.post(f"/callbacks/{task_id}/return-call", {
        "reached": "yes", "notes": "留言是催办油烟问题", "disposition": "joined",
        "appeal": str(older.id), "rating": "3", "reason": "半个月没人处理", "attempt": "1"})
    assert result.status == 303
    # The message's own appeal is closed as merged into the older one.
    assert appeal(world, world["message"].id)[2] is AppealStatus.CLOSED
    page = browser.get(f"/appeals/{older.id}")
    assert "留言是催办油烟问题" in page.body and "半个月没人处理" in page.body
    supervisor = Browser(world["app"], world["pump"])
    assert supervisor.login("zhao").status == 303
    alerts = supervisor.get("/supervisor/alerts")
    assert alerts.status == 200 and older.case_number in alerts.body
    listed = supervisor.get("/supervisor/dissatisfied")
    assert listed.status == 200
    assert older.case_number in listed.body and "半个月没人处理" in listed.body
