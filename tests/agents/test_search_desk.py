"""The appeal search as the desk uses it: it opens on the officer's own open work, finds a
caller by the last four digits they give (audited), filters by kind, channel and overdue,
and says a reversed date range is reversed."""

import datetime as dt
import re

import pytest

from hotline import audit
from schemas.enums import AgentRole, AppealChannel, AppealKind
from tests.agents.support import Browser, SettableClock, create_agent, make_app, make_core
from tests.support.appeals import new_appeal

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 in Shanghai


@pytest.fixture
def desk(database, pumped_reactor):
    clock = SettableClock(NOW)
    core = make_core(database, pumped_reactor, clock)
    li = create_agent(database, "li", AgentRole.AGENT).id
    wang = create_agent(database, "wang", AgentRole.AGENT).id

    def appeal(**kw):
        return pumped_reactor.wait(core.appeals.create(new_appeal(**kw), actor="li"))

    made = {
        "mine": appeal(agent_id=li, subject="我的求助", citizen_phone="13812345678"),
        "mine_complaint": appeal(agent_id=li, kind=AppealKind.COMPLAINT, subject="我的投诉",
                                 citizen_phone="13900005678"),
        "theirs": appeal(agent_id=wang, subject="别人的", citizen_phone="13700001111"),
        "sms": appeal(agent_id=wang, channel=AppealChannel.SMS, subject="短信来的",
                      citizen_phone="13600002222"),
    }
    clock.current = NOW + dt.timedelta(days=60)  # every deadline has passed
    browser = Browser(make_app(core), pumped_reactor)
    assert browser.login("li").status == 303
    return browser, database, made


def subjects(body: str) -> list[str]:
    rows = re.findall(r'<tr><td><a href="/appeals/\d+">\d+</a></td><td>[^<]*</td><td>[^<]*</td>'
                      r'\s*<td>([^<]*)</td>', body)
    return sorted(rows)


def test_the_search_opens_on_my_open_work(desk):
    browser, _, _ = desk
    page = browser.get("/appeals")
    assert page.status == 200 and "<h1>我的待办</h1>" in page.body
    assert subjects(page.body) == ["我的投诉", "我的求助"]


def test_the_last_four_digits_find_every_caller_ending_so_and_the_search_is_audited(desk):
    browser, database, made = desk
    page = browser.get("/appeals?phone=5678")
    assert subjects(page.body) == ["我的投诉", "我的求助"]
    # Enough of each number shows to tell the two callers apart.
    assert "138****5678" in page.body and "139****5678" in page.body
    views = database.read_now(audit.trail, "phone_tail", "5678")
    assert [(e.actor, e.action) for e in views] == [("li", "view")]


@pytest.mark.parametrize("query, expected", [
    ("kind=complaint", ["我的投诉"]),
    ("channel=sms", ["短信来的"]),
    ("overdue=1", ["别人的", "我的投诉", "我的求助", "短信来的"]),
    ("overdue=1&mine=1&kind=help", ["我的求助"]),
])
def test_filters(desk, query, expected):
    browser, _, _ = desk
    page = browser.get(f"/appeals?{query}")
    assert page.status == 200 and subjects(page.body) == expected
    if "overdue" in query:
        assert "已超期" in page.body


def test_a_reversed_date_range_is_said_to_be_reversed(desk):
    browser, _, _ = desk
    page = browser.get("/appeals?date_from=2026-11-30&date_to=2026-11-01")
    assert page.status == 400 and "不能早于" in page.body
