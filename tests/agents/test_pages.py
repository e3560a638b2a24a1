"""The agent's pages: appeal search, detail with its audit trail, creating and moving
appeals, the caller's card; every view of a citizen's record audited."""

import datetime as dt
import re

import pytest

from hotline.audit import trail
from schemas.calls import CallRecord
from schemas.enums import AgentRole, CallOutcome, Satisfaction, SmsInboundState, SmsKind, SmsState
from schemas.models import Appeal
from schemas.sms import SmsInbound, SmsMessage
from tests.agents.conftest import NOW  # noqa: E402  (the shared fixtures live there)
from tests.agents.support import Browser, create_agent, make_app
from tests.support.appeals import SHANGHAI, new_appeal


@pytest.fixture
def agent(core, database, pumped_reactor, unit):
    create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    browser = Browser(make_app(core), pumped_reactor)
    assert browser.login("li").status == 303
    return browser


@pytest.fixture
def supervisor(core, database, pumped_reactor, unit):
    create_agent(database, "wang", AgentRole.SUPERVISOR)
    browser = Browser(make_app(core), pumped_reactor)
    assert browser.login("wang").status == 303
    return browser


def create(core, pumped_reactor, **overrides):
    return pumped_reactor.wait(core.appeals.create(new_appeal(**overrides), actor="test"))


def case_numbers(body: str) -> list[str]:
    return re.findall(r'<a href="/appeals/\d+">(\d+)</a>', body)


def test_create_an_appeal_shows_its_case_number_and_records_the_agent(agent, database):
    result = agent.post("/appeals", {"channel": "phone", "kind": "complaint",
                                     "subject": "出租车拒载", "body": "晚上九点在火车站",
                                     "citizen_phone": "+86 138-1234-5678", "call_id": "call-9"})
    assert result.status == 303
    page = agent.get(result.location)
    assert "已受理，工单编号 2026112800001" in page.body
    assert 'id="case-number">2026112800001<' in page.body
    assert "13812345678" in page.body  # normalised
    stored = database.read_now(lambda s: (s.get(Appeal, 1).call_id, s.get(Appeal, 1).agent_id))
    assert stored[0] == "call-9" and stored[1] is not None


def test_create_with_a_bad_phone_shows_the_error_and_keeps_the_form(agent):
    result = agent.post("/appeals", {"channel": "phone", "kind": "help", "subject": "求助",
                                     "citizen_phone": "12345"})
    assert result.status == 422
    assert "citizen_phone" in result.body and 'value="求助"' in result.body


def test_new_appeal_form_is_prefilled_from_the_call(agent):
    page = agent.get("/appeals/new?citizen_phone=13812345678&kind=complaint&call_id=c-1")
    assert 'value="13812345678"' in page.body
    assert '<option value="complaint" selected>' in page.body
    assert 'name="call_id" value="c-1"' in page.body


def test_search_by_each_criterion(agent, core, pumped_reactor, clock, unit):
    first = create(core, pumped_reactor, citizen_phone="13812345678")
    clock.advance(86400)
    second = create(core, pumped_reactor, citizen_phone="13900001111")
    pumped_reactor.wait(core.appeals.assign(second.id, unit, actor="test"))
    agent.login("li")  # a day later: the session has long ended
    assert case_numbers(agent.get(f"/appeals?case_number={first.case_number}").body) == \
        [first.case_number]
    assert case_numbers(agent.get("/appeals?phone=139-0000-1111").body) == [second.case_number]
    assert case_numbers(agent.get("/appeals?status=assigned").body) == [second.case_number]
    assert case_numbers(agent.get(f"/appeals?unit_id={unit}").body) == [second.case_number]
    assert case_numbers(agent.get("/appeals?date_from=2026-11-29").body) == [second.case_number]
    assert case_numbers(agent.get("/appeals?date_to=2026-11-28").body) == [first.case_number]
    assert case_numbers(agent.get("/appeals?date_from=2026-11-28&date_to=2026-11-29").body) == \
        [second.case_number, first.case_number]


def test_search_lists_masked_numbers_and_needs_a_criterion(agent, core, pumped_reactor):
    create(core, pumped_reactor)
    page = agent.get("/appeals?status=received")
    assert "138****5678" in page.body and "13812345678" not in page.body
    assert case_numbers(agent.get("/appeals").body) == []


@pytest.mark.parametrize("query,named", [("phone=abc", "phone"), ("date_from=2026-13-01", "date_from"),
                                         ("status=lost", "status"), ("case_number=12a", "case_number")])
def test_search_with_a_bad_criterion_names_it(agent, query, named):
    result = agent.get(f"/appeals?{query}")
    assert result.status == 400 and named in result.body


def test_detail_shows_the_audit_trail_and_each_view_is_audited(agent, core, pumped_reactor,
                                                               database):
    appeal = create(core, pumped_reactor)
    agent.get(f"/appeals/{appeal.id}")
    page = agent.get(f"/appeals/{appeal.id}")
    assert 'id="trail"' in page.body and "create" in page.body
    views = [e for e in database.read_now(trail, "appeal", appeal.id) if e.action == "view"]
    assert [e.actor for e in views] == ["li", "li"]


def test_assign_start_resolve_through_the_lifecycle(agent, core, pumped_reactor, unit):
    appeal = create(core, pumped_reactor)
    path = f"/appeals/{appeal.id}"
    assert agent.post(f"{path}/assign", {"unit_id": str(unit)}).status == 303
    assert agent.post(f"{path}/start").status == 303
    assert agent.post(f"{path}/resolve", {"resolution": "已协调物业处理"}).status == 303
    page = agent.get(path)
    assert 'data-status="resolved"' in page.body and "已协调物业处理" in page.body
    assert "已交办 → 办理中" in page.body


def test_an_invalid_transition_shows_the_error_and_changes_nothing(agent, core, pumped_reactor):
    appeal = create(core, pumped_reactor)
    result = agent.post(f"/appeals/{appeal.id}/resolve", {"resolution": "好了"})
    assert result.status == 409
    assert "当前状态为“已受理”，不能办结" in result.body
    assert 'data-status="received"' in result.body


def test_resolve_without_a_resolution_is_refused_with_the_field(agent, core, pumped_reactor,
                                                                unit):
    appeal = create(core, pumped_reactor)
    agent.post(f"/appeals/{appeal.id}/assign", {"unit_id": str(unit)})
    agent.post(f"/appeals/{appeal.id}/start")
    result = agent.post(f"/appeals/{appeal.id}/resolve", {"resolution": "  "})
    assert result.status == 422 and "请填写办理结果" in result.body


def test_supervisor_reopens_a_resolved_appeal(supervisor, core, pumped_reactor, unit):
    appeal = create(core, pumped_reactor)
    pumped_reactor.wait(core.appeals.assign(appeal.id, unit, actor="t"))
    pumped_reactor.wait(core.appeals.start(appeal.id, actor="t"))
    pumped_reactor.wait(core.appeals.resolve(appeal.id, "done", actor="t"))
    assert supervisor.post(f"/appeals/{appeal.id}/reopen", {"reason": "市民反映未解决"}).status == 303
    assert 'data-status="in_progress"' in supervisor.get(f"/appeals/{appeal.id}").body


def test_missing_appeal_is_404(agent):
    assert agent.get("/appeals/999").status == 404
    assert agent.post("/appeals/999/start").status == 404


def test_caller_card_gathers_appeals_calls_sms_and_ratings_and_is_audited(
        agent, core, pumped_reactor, database, unit):
    phone = "13812345678"
    done = create(core, pumped_reactor, subject="井盖缺失")
    for step in (lambda: core.appeals.assign(done.id, unit, actor="t"),
                 lambda: core.appeals.start(done.id, actor="t"),
                 lambda: core.appeals.resolve(done.id, "已补装", actor="t"),
                 lambda: core.appeals.rate(done.id, Satisfaction.SATISFIED, actor="t")):
        pumped_reactor.wait(step())
    create(core, pumped_reactor, subject="噪音扰民")
    create(core, pumped_reactor, subject="别人的事", citizen_phone="13900001111")

    def seed(session):
        session.add(CallRecord(call_id="c-1", flow="hotline", caller="+8613812345678",
                               started_at=NOW, path="menu:3", menu_choice="complaint",
                               outcome=CallOutcome.TO_QUEUE))
        session.add(SmsMessage(kind=SmsKind.APPEAL_RECEIVED, lane=0, destination=phone,
                               text="您的诉求已受理", state=SmsState.DELIVERED, attempts=1,
                               not_before=NOW, created_at=NOW))
        session.add(SmsInbound(source=phone, destination="9600110", text="1", parts=1,
                               received_at=NOW, state=SmsInboundState.RATED))

    database.write_now(seed)
    page = agent.get(f"/callers/{phone}?call_id=c-1")
    assert page.status == 200
    body = page.body
    open_part, past_part = body.split("历史诉求")[0], body.split("历史诉求")[1].split("近期来电")[0]
    assert "噪音扰民" in open_part and "井盖缺失" not in open_part
    assert "井盖缺失" in past_part
    assert "别人的事" not in body
    assert "您的诉求已受理" in body and "← 1" in body
    assert "转人工" in body and "to_queue" not in body and "满意" in body
    assert 'id="card-menu-choice">投诉<' in body
    assert "kind=complaint" in body and "call_id=c-1" in body
    views = database.read_now(trail, "citizen", phone)
    assert [(v.action, v.actor, v.note) for v in views] == [("view", "li", "call c-1")]


def test_caller_card_for_a_bad_number_is_400(agent):
    assert agent.get("/callers/abc").status == 400


def test_pages_in_english_when_chosen(agent, core, pumped_reactor):
    appeal = create(core, pumped_reactor)
    agent.post("/language", {"lang": "en", "next": "/"})
    page = agent.get(f"/appeals/{appeal.id}")
    assert "Audit trail" in page.body and "Received" in page.body and 'lang="en"' in page.body


def test_a_search_by_phone_is_audited_as_a_view_of_the_citizen(agent, database, core,
                                                               pumped_reactor):
    create(core, pumped_reactor)
    agent.get("/appeals?status=received")
    agent.get("/appeals?phone=13812345678")
    views = database.read_now(trail, "citizen", "13812345678")
    assert [(v.action, v.actor, v.note) for v in views] == [("view", "li", "appeal search")]


def test_caller_card_lists_the_ten_newest_calls_and_messages_whatever_form_the_number_took(
        agent, database):
    phone = "13812345678"
    forms = [phone, "86" + phone, "+86" + phone]
    at = [NOW - dt.timedelta(hours=n) for n in range(14)]  # newest first

    def seed(session):
        for n, started in enumerate(at):
            session.add(CallRecord(call_id=f"c-{n}", flow="hotline", caller=forms[n % 3],
                                   started_at=started, path="", outcome=CallOutcome.TO_QUEUE))
            session.add(SmsMessage(kind=SmsKind.SURVEY, lane=0, destination=forms[n % 3],
                                   text=f"out-{n}", state=SmsState.DELIVERED, attempts=1,
                                   not_before=started, created_at=started))
        session.add(CallRecord(call_id="other", flow="hotline", caller="13900001111",
                               started_at=NOW, path="", outcome=CallOutcome.ABANDONED))

    database.write_now(seed)
    body = agent.get(f"/callers/{phone}").body
    calls = body.split("近期来电")[1].split("<h3>")[0]
    shown = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d", calls)
    assert shown == [t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") for t in at[:10]]
    assert "abandoned" not in calls
    assert re.findall(r"out-\d+", body) == [f"out-{n}" for n in range(10)]


def test_progress_notes_go_into_the_trail_without_changing_the_status(agent, core,
                                                                      pumped_reactor):
    appeal = create(core, pumped_reactor)
    path = f"/appeals/{appeal.id}"
    assert agent.post(f"{path}/note", {"note": "已电话联系物业，约定周五维修"}).status == 303
    page = agent.get(path)
    assert 'data-status="received"' in page.body
    assert "已电话联系物业，约定周五维修" in page.body and "<td>li 警官（li）</td><td>办理进展</td>" in page.body
    empty = agent.post(f"{path}/note", {"note": "  "})
    assert empty.status == 422 and "请填写办理进展" in empty.body


def test_a_second_call_about_an_open_appeal_is_added_to_it_from_the_card(
        agent, core, pumped_reactor, database):
    appeal = create(core, pumped_reactor, citizen_phone="13812345678")
    card = agent.get("/callers/13812345678?call_id=c-42")
    assert f'href="/appeals/{appeal.id}?call_id=c-42#note"' in card.body
    form = agent.get(f"/appeals/{appeal.id}?call_id=c-42")
    assert 'name="call_id" value="c-42"' in form.body
    assert agent.post(f"/appeals/{appeal.id}/note",
                      {"note": "市民再次来电催办", "call_id": "c-42"}).status == 303
    notes = [e for e in database.read_now(trail, "appeal", appeal.id) if e.action == "note"]
    assert [(e.actor, e.note) for e in notes] == [("li", "市民再次来电催办 (call c-42)")]


def test_a_closed_appeal_takes_no_note(agent, core, pumped_reactor, unit):
    appeal = create(core, pumped_reactor)
    for step in (lambda: core.appeals.assign(appeal.id, unit, actor="t"),
                 lambda: core.appeals.start(appeal.id, actor="t"),
                 lambda: core.appeals.resolve(appeal.id, "done", actor="t"),
                 lambda: core.appeals.close(appeal.id, actor="t")):
        pumped_reactor.wait(step())
    refused = agent.post(f"/appeals/{appeal.id}/note", {"note": "补充"})
    assert refused.status == 409 and "当前状态为“已关闭”，不能记录办理进展" in refused.body
