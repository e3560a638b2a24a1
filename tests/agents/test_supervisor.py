"""The supervisor's desk: open alerts and their acknowledgement, unmatched SMS replies, the
callback compliance report page and its CSV, who sees the supervisor's links (the reports'
charts, XLSX, overdue appeals and dissatisfied ratings: test_supervisor_reports.py)."""

import datetime as dt
import re

import pytest

from agents.app import WebApp
from hotline.audit import trail
from schemas.enums import AgentRole, AppealKind, Satisfaction, SmsInboundState
from schemas.sms import SmsInbound
from tests.agents.conftest import NOW  # noqa: E402  (the shared fixtures live there)
from tests.agents.support import Browser, create_agent, make_app
from tests.support.appeals import new_appeal


def login(app, pumped_reactor, username: str) -> Browser:
    browser = Browser(app, pumped_reactor)
    assert browser.login(username).status == 303
    return browser


@pytest.fixture
def supervisor(core, database, pumped_reactor, unit):
    create_agent(database, "wang", AgentRole.SUPERVISOR)
    return login(make_app(core), pumped_reactor, "wang")


def resolved_appeal(core, pumped_reactor, unit, **overrides):
    appeal = pumped_reactor.wait(core.appeals.create(new_appeal(**overrides), actor="test"))
    pumped_reactor.wait(core.appeals.assign(appeal.id, unit, actor="test"))
    pumped_reactor.wait(core.appeals.start(appeal.id, actor="test"))
    return pumped_reactor.wait(core.appeals.resolve(appeal.id, "已协调处理", actor="test"))


# Alerts ------------------------------------------------------------------------------------

def test_a_dissatisfied_rating_is_listed_as_an_open_alert_and_acknowledged(
        supervisor, core, pumped_reactor, unit, database):
    appeal = resolved_appeal(core, pumped_reactor, unit)
    pumped_reactor.wait(core.appeals.rate(appeal.id, Satisfaction.DISSATISFIED, actor="sms",
                                          note="<b>噪音仍在</b>"))
    page = supervisor.get("/supervisor/alerts")
    assert page.status == 200
    row = re.search(r'<tr id="alert-(\d+)">(.*?)</tr>', page.body, re.S)
    assert row is not None
    alert_id, cells = row.group(1), row.group(2)
    assert "2026-11-28 10:00" in cells  # Asia/Shanghai
    assert "不满意评价" in cells and ">sms<" in cells
    assert f'<a href="/appeals/{appeal.id}">{appeal.case_number}</a>' in cells
    assert "&lt;b&gt;噪音仍在&lt;/b&gt;" in cells and "<b>" not in cells
    assert 'href="/supervisor/alerts"' in page.body  # in the navigation

    result = supervisor.post(f"/supervisor/alerts/{alert_id}/ack")
    assert result.status == 303 and result.location == "/supervisor/alerts"
    page = supervisor.get("/supervisor/alerts")
    assert f'id="alert-{alert_id}"' not in page.body and 'id="no-alerts"' in page.body
    events = database.read_now(trail, "alert", alert_id)
    assert [(e.action, e.actor) for e in events] == [("acknowledge", "wang")]


def test_acknowledging_an_alert_twice_says_it_is_gone(supervisor, core, pumped_reactor, unit):
    appeal = resolved_appeal(core, pumped_reactor, unit)
    pumped_reactor.wait(core.appeals.rate(appeal.id, Satisfaction.DISSATISFIED, actor="sms"))
    alert_id = re.search(r'id="alert-(\d+)"', supervisor.get("/supervisor/alerts").body).group(1)
    assert supervisor.post(f"/supervisor/alerts/{alert_id}/ack").status == 303
    result = supervisor.post(f"/supervisor/alerts/{alert_id}/ack")
    assert result.location == "/supervisor/alerts?gone=1"
    assert "已被处理" in supervisor.get(result.location).body


def test_alerts_in_english(supervisor, core, pumped_reactor, unit):
    appeal = resolved_appeal(core, pumped_reactor, unit)
    pumped_reactor.wait(core.appeals.rate(appeal.id, Satisfaction.DISSATISFIED, actor="sms"))
    supervisor.post("/language", {"lang": "en", "next": "/"})
    page = supervisor.get("/supervisor/alerts")
    assert "Open alerts" in page.body and "Dissatisfied rating" in page.body


def test_an_agent_has_no_supervisor_links_and_may_not_open_the_pages(core, database,
                                                                     pumped_reactor):
    create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    agent = login(make_app(core), pumped_reactor, "li")
    body = agent.get("/appeals").body
    for path in ("/supervisor/alerts", "/supervisor/overdue", "/supervisor/dissatisfied"):
        assert f'href="{path}"' not in body
        assert agent.get(path).status == 403


def test_a_supervisor_has_the_oversight_links(supervisor):
    body = supervisor.get("/appeals").body
    assert '<a href="/supervisor/overdue" id="nav-overdue">超期督办</a>' in body
    assert '<a href="/supervisor/dissatisfied" id="nav-dissatisfied">不满意评价</a>' in body


# Unmatched SMS replies ---------------------------------------------------------------------

def inbound(source: str, text: str, at: dt.datetime, state=SmsInboundState.UNMATCHED):
    return SmsInbound(source=source, destination="9600110", text=text, parts=1,
                      received_at=at, state=state)


def test_unmatched_replies_newest_first_masked_escaped_and_audited(supervisor, database):
    def seed(session):
        session.add(inbound("13812345678", "谁在管<script>alert(1)</script>",
                            NOW - dt.timedelta(hours=2)))
        session.add(inbound("13900001111", "你好，我的事怎样了", NOW - dt.timedelta(hours=1)))
        session.add(inbound("13700002222", "1", NOW, state=SmsInboundState.RATED))

    database.write_now(seed)
    page = supervisor.get("/supervisor/replies")
    assert page.status == 200
    rows = re.findall(r'<tr id="reply-\d+">(.*?)</tr>', page.body, re.S)
    assert len(rows) == 2
    assert "139****1111" in rows[0] and "2026-11-28 09:00" in rows[0]
    assert "138****5678" in rows[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rows[1] and "<script>alert" not in page.body
    for clear in ("13812345678", "13900001111", "13700002222", "137****2222"):
        assert clear not in page.body
    assert 'href="/supervisor/replies"' in page.body
    for phone in ("13812345678", "13900001111"):
        views = database.read_now(trail, "citizen", phone)
        assert [(v.action, v.actor, v.note) for v in views] == \
            [("view", "wang", "unmatched SMS replies")]
    assert database.read_now(trail, "citizen", "13700002222") == []


def test_no_unmatched_replies_says_so(supervisor):
    assert 'id="no-replies"' in supervisor.get("/supervisor/replies").body


# Callback compliance report ----------------------------------------------------------------

@pytest.fixture
def callbacks(core):
    import callback_queue

    queue, _dispatcher = callback_queue.build(core, ami=None, config=None)
    core.resolve_hook.register(callback_queue.RESOLVE_PARTICIPANT, queue.repository.on_resolved)
    return queue


@pytest.fixture
def reporting(core, database, pumped_reactor, unit, callbacks):
    from callback_queue.export import export
    from callback_queue.report import compliance_report

    create_agent(database, "zhao", AgentRole.SUPERVISOR)
    app = WebApp(core, make_app(core).auth,
                 reports={"callbacks": compliance_report, "callbacks_file": export})
    return login(app, pumped_reactor, "zhao")


def report_cells(body: str) -> dict[str, dict[str, str]]:
    rows = re.findall(r"<tr(?: class=\"total\")?><th>(.*?)</th>(.*?)</tr>", body, re.S)
    return {label: dict(re.findall(r'<td data-col="(\w+)">(.*?)</td>', cells))
            for label, cells in rows}


def test_the_report_page_shows_this_month_by_unit_by_default(reporting, core, pumped_reactor,
                                                             unit):
    resolved_appeal(core, pumped_reactor, unit)
    page = reporting.get("/supervisor/callbacks")
    assert page.status == 200
    assert 'value="2026-11-01"' in page.body and 'value="2026-11-28"' in page.body
    cells = report_cells(page.body)
    assert cells["PS-LS 兰山派出所"]["resolved"] == "1" and cells["合计"]["resolved"] == "1"
    assert cells["合计"]["compliance"] in ("—", "0.0%")
    assert 'href="/supervisor/callbacks"' in page.body  # in the navigation
    assert ('href="/supervisor/callbacks.csv?from=2026-11-01&amp;to=2026-11-28&amp;by=unit"'
            in page.body)


def test_the_report_page_groups_by_kind_for_a_period(reporting, core, pumped_reactor, unit):
    resolved_appeal(core, pumped_reactor, unit, kind=AppealKind.COMPLAINT)
    page = reporting.get("/supervisor/callbacks?from=2026-11-01&to=2026-11-30&by=kind")
    assert page.status == 200 and "诉求类型" in page.body
    assert report_cells(page.body)["投诉"]["resolved"] == "1"
    page = reporting.get("/supervisor/callbacks?from=2026-10-01&to=2026-10-31&by=kind")
    assert report_cells(page.body).get("投诉") is None


def test_the_report_page_names_a_bad_field(reporting):
    result = reporting.get("/supervisor/callbacks?from=2026-11-30&to=2026-11-01")
    assert result.status == 400 and "截止日期（to）不能早于起始日期（from）" in result.body
    result = reporting.get("/supervisor/callbacks?from=someday")
    assert result.status == 400 and "起始日期（from）须为 2000-01-01 至 2100-12-31 之间的日期" in result.body


def test_the_report_csv_has_chinese_headers_and_a_bom(reporting, core, pumped_reactor, unit):
    resolved_appeal(core, pumped_reactor, unit)
    reporting.post("/language", {"lang": "en", "next": "/"})  # the file stays in Chinese
    result = reporting.get("/supervisor/callbacks.csv?from=2026-11-01&to=2026-11-30&by=unit")
    assert result.status == 200
    assert result.response.content_type == "text/csv; charset=utf-8"
    assert "attachment" in result.header("Content-Disposition")
    raw = result.response.body
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").split("\r\n")
    assert lines[0].split(",")[:4] == ["单位", "办结数", "应回访数", "按时完成"]
    assert lines[0].endswith("按时回访率")
    assert lines[1].startswith("PS-LS 兰山派出所,1,") and lines[2].startswith("合计,1,")


def test_the_report_csv_with_a_bad_period_is_400(reporting):
    result = reporting.get("/supervisor/callbacks.csv?from=2026-11-01&to=x")
    assert result.status == 400 and "截止日期（to）须为 2000-01-01 至 2100-12-31 之间的日期" in result.body


def test_without_an_injected_report_the_page_says_it_is_unavailable(supervisor):
    result = supervisor.get("/supervisor/callbacks")
    assert result.status == 404 and "回访统计在本系统中不可用" in result.body
    assert supervisor.get("/supervisor/callbacks.csv").status == 404
