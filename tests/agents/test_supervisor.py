"""The supervisor's desk: open alerts and their acknowledgement, unmatched SMS replies, the
callback compliance report page and its CSV."""

import datetime as dt
import re

import pytest

from hotline.audit import trail
from schemas.enums import AgentRole, Satisfaction, SmsInboundState
from schemas.sms import SmsInbound
from tests.agents.support import Browser, SettableClock, create_agent, make_app, make_core
from tests.support.appeals import add_unit, new_appeal

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Shanghai


@pytest.fixture
def clock():
    return SettableClock(NOW)


@pytest.fixture
def core(database, pumped_reactor, clock):
    return make_core(database, pumped_reactor, clock)


@pytest.fixture
def unit(database):
    return database.write_now(add_unit)


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


def test_an_agent_has_no_alerts_link_and_may_not_open_the_page(core, database, pumped_reactor):
    create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    agent = login(make_app(core), pumped_reactor, "li")
    assert "/supervisor/alerts" not in agent.get("/appeals").body
    assert agent.get("/supervisor/alerts").status == 403


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
