"""The caller's card as the desk's one screen: the summary line, the form prefilled from
what the hall knows, and a consultation answered on the phone recorded and closed in one
post (当场答复办结), with what was typed kept whichever button was pressed."""

import datetime as dt
import re

import pytest
from sqlalchemy import select

from agents.app import WebApp
from agents.config import AuthConfig
from hotline import audit
from schemas.calls import CallRecord
from schemas.enums import AgentRole, AppealStatus, CallOutcome, Satisfaction
from schemas.models import Appeal
from tests.agents.support import API_TOKEN, SECRET, Browser, SettableClock, create_agent, make_core
from tests.support.appeals import add_unit, new_appeal

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 in Shanghai
CITIZEN = "13812345678"


@pytest.fixture
def hall(database, pumped_reactor):
    clock = SettableClock(NOW)
    core = make_core(database, pumped_reactor, clock)
    create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    app = WebApp(core, AuthConfig(secret_key=SECRET, api_token=API_TOKEN))
    browser = Browser(app, pumped_reactor)
    assert browser.login("li").status == 303
    return core, browser, database, pumped_reactor


def calls(database, *days_ago, choice="consultation"):
    def work(session):
        for n, days in enumerate(days_ago):
            session.add(CallRecord(call_id=f"call-{days}-{n}", flow="hotline", caller=CITIZEN,
                                   started_at=NOW - dt.timedelta(days=days), path="menu:1",
                                   menu_choice=choice, outcome=CallOutcome.TO_QUEUE))
    database.write_now(work)


def appeals(database):
    return database.read_now(lambda s: [(a.status, a.subject, a.resolution) for a in
                                        s.scalars(select(Appeal).order_by(Appeal.id))])


def test_the_card_says_calls_open_work_and_the_last_rating_first(hall):
    core, browser, database, pump = hall
    calls(database, 1, 5, 29, 31)  # three in the last 30 days
    older = pump.wait(core.appeals.create(new_appeal(citizen_name="王芳", area="兰山街道"),
                                          actor="li"))
    database.write_now(lambda s: setattr(s.get(Appeal, older.id), "satisfaction",
                                         Satisfaction.DISSATISFIED))
    pump.wait(core.appeals.create(new_appeal(subject="再次来电"), actor="li"))
    page = browser.get(f"/callers/{CITIZEN}?call_id=call-1-0")
    summary = re.search(r'<p class="card-summary"[^>]*>(.*?)</p>', page.body, re.S).group(1)
    assert "重复来电" in summary
    assert "近30天来电3次，在办2件，上次不满意" in summary
    # The form beside it: the IVR's choice, the name and area the caller gave before.
    assert re.search(r'<option value="consultation" selected', page.body)
    assert 'id="card-name" maxlength="64" value="王芳"' in page.body
    assert 'id="card-area" maxlength="64" value="兰山街道"' in page.body
    assert "to_queue" not in page.body and "转人工" in page.body


def test_a_consultation_answered_on_the_phone_is_closed_in_one_post(hall):
    core, browser, database, _ = hall
    browser.get(f"/callers/{CITIZEN}")
    result = browser.post("/appeals", {
        "citizen_phone": CITIZEN, "channel": "phone", "kind": "consultation",
        "subject": "咨询年检材料", "answer": "行驶证和交强险保单", "answer_now": "1",
        "back": "/terminal", "call_id": ""})
    assert result.status == 303
    assert re.fullmatch(r"/terminal\?answered=\d{13}", result.location)
    assert appeals(database) == [(AppealStatus.CLOSED, "咨询年检材料", "行驶证和交强险保单")]
    assert "已当场答复办结" in browser.get(result.location).body


def test_an_answer_typed_but_submitted_as_an_appeal_is_kept_as_its_first_note(hall):
    core, browser, database, _ = hall
    browser.get("/appeals/new")
    result = browser.post("/appeals", {
        "citizen_phone": CITIZEN, "channel": "phone", "kind": "help",
        "subject": "求助开锁", "answer": "已联系辖区派出所", "call_id": ""})
    assert result.status == 303 and "created=1" in result.location
    (status, _, resolution), = appeals(database)
    assert status is AppealStatus.RECEIVED and resolution is None
    appeal_id = database.read_now(lambda s: s.scalar(select(Appeal.id)))
    trail = database.read_now(audit.trail, "appeal", appeal_id)
    assert trail[-1].action == "note" and trail[-1].note == "已联系辖区派出所"


@pytest.mark.parametrize("form, words", [
    ({"subject": "咨询", "answer": " ", "answer_now": "1"}, "请填写答复内容"),
    ({"subject": "咨询", "answer": "长" * 2001, "answer_now": "1"}, "答复内容不能超过 2000 个字"),
    ({"subject": "", "answer": "已答复", "answer_now": "1"}, "请填写事由"),
    ({"subject": "咨询", "citizen_phone": "5678", "answer": "已答复", "answer_now": "1"},
     "联系电话无效"),
])
def test_a_refused_answer_says_why_in_chinese_and_keeps_what_was_typed(hall, form, words):
    _, browser, database, _ = hall
    browser.get("/appeals/new")
    posted = {"citizen_phone": CITIZEN, "channel": "phone", "kind": "consultation",
              "call_id": "", **form}
    result = browser.post("/appeals", posted)
    assert result.status == 422 and words in result.body
    if form["answer"].strip() and len(form["answer"]) <= 2000:
        assert f'>{form["answer"]}</textarea>' in result.body
    assert appeals(database) == []


# The appeal page: only the steps its status allows, answered there too, corrected with a
# trail line.

def action_ids(body: str) -> set[str]:
    section = re.search(r'<section class="actions" id="actions">(.*?)</section>', body, re.S)
    return set(re.findall(r'<button type="submit" id="([\w-]+)"', section.group(1)))


def test_the_appeal_page_offers_only_the_steps_its_status_allows(hall):
    core, browser, database, pump = hall
    unit = database.write_now(add_unit)
    appeal = pump.wait(core.appeals.create(new_appeal(), actor="li"))
    page = browser.get(f"/appeals/{appeal.id}")
    assert action_ids(page.body) == {"answer-close", "assign", "add-note", "correct-save",
                                     "merge-submit"}
    assert '<select name="unit_id" id="assign-unit" required><option value="">请选择承办单位' \
        in page.body
    pump.wait(core.appeals.assign(appeal.id, unit, actor="li"))
    assert action_ids(browser.get(f"/appeals/{appeal.id}").body) == {
        "assign", "start", "add-note", "correct-save", "merge-submit"}
    pump.wait(core.appeals.start(appeal.id, actor="li"))
    assert action_ids(browser.get(f"/appeals/{appeal.id}").body) == {
        "assign", "add-note", "resolve", "correct-save", "merge-submit"}
    pump.wait(core.appeals.resolve(appeal.id, "已处理", actor="li"))
    # An officer has nothing left to do on a resolved appeal but notes (reopening is the
    # supervisors').
    assert action_ids(browser.get(f"/appeals/{appeal.id}").body) == {"add-note",
                                                                     "correct-save"}


def test_answering_and_correcting_from_the_appeal_page(hall):
    core, browser, database, pump = hall
    appeal = pump.wait(core.appeals.create(new_appeal(subject="语音留言"), actor="li"))
    browser.get(f"/appeals/{appeal.id}")
    corrected = browser.post(f"/appeals/{appeal.id}/correct", {
        "kind": "complaint", "subject": "投诉噪音", "citizen_name": "王芳", "area": ""})
    assert corrected.status == 303
    last = database.read_now(audit.trail, "appeal", appeal.id)[-1]
    assert (last.action, last.note) == ("correct", "kind: help -> complaint; subject: 语音留言 "
                                                   "-> 投诉噪音; citizen_name:  -> 王芳")
    refused = browser.post(f"/appeals/{appeal.id}/correct", {"kind": "nope", "subject": "x"})
    assert refused.status == 422 and "诉求类别填写有误" in refused.body
    answered = browser.post(f"/appeals/{appeal.id}/answer", {"answer": "已告知处理流程"})
    assert answered.status == 303
    assert appeals(database) == [(AppealStatus.CLOSED, "投诉噪音", "已告知处理流程")]
    again = browser.post(f"/appeals/{appeal.id}/answer", {"answer": "再次"})
    assert again.status == 409 and "当前状态为“已关闭”，不能当场答复办结" in again.body


def test_the_trail_reads_in_chinese_with_names_and_views_folded(hall):
    core, browser, database, pump = hall
    appeal = pump.wait(core.appeals.create(new_appeal(), actor="li"))
    for _ in range(5):
        page = browser.get(f"/appeals/{appeal.id}")
    pump.wait(core.appeals.add_note(appeal.id, "已电话联系", actor="system:ivr"))
    page = browser.get(f"/appeals/{appeal.id}")
    trail = re.search(r'<table class="trail" id="trail">(.*?)</table>', page.body, re.S).group(1)
    rows = re.findall(r'<tr data-action="(\w+)"><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td>'
                      r'<td>([^<]*)</td>', trail)
    li = "li 警官（li）"  # the display name create_agent gives, and the username
    assert rows == [("create", li, "受理", "已受理"),
                    ("view", li, "查阅 （5次）", ""),
                    ("note", "语音导航", "办理进展", ""),
                    ("view", li, "查阅", "")]


def test_the_receipt_prints_the_case_with_the_number_masked(hall):
    core, browser, database, pump = hall
    appeal = pump.wait(core.appeals.create(new_appeal(citizen_name="王芳"), actor="li"))
    page = browser.get(f"/appeals/{appeal.id}/receipt")
    assert page.status == 200
    assert "9600110 民生服务热线 受理回执" in page.body
    assert f'<dd id="receipt-case">{appeal.case_number}</dd>' in page.body
    assert '<dd id="receipt-phone">138****5678</dd>' in page.body and CITIZEN not in page.body
    assert "data-print" in page.body
    assert browser.get("/appeals/999/receipt").status == 404
