"""The appeal search in pages: newest first, a page of SEARCH_LIMIT, a count that stops at
SEARCH_COUNT_CAP ("more than 1000"), links that keep the criteria, and case-number prefixes
read as a range of the unique index."""

import datetime as dt
import html
import re

import pytest
from sqlalchemy import insert

from agents.queries import SEARCH_COUNT_CAP, SEARCH_LIMIT, SEARCH_PAGES
from schemas.enums import AgentRole, AppealChannel, AppealKind, AppealStatus
from schemas.models import Appeal
from tests.agents.conftest import NOW
from tests.agents.support import Browser, create_agent, make_app


@pytest.fixture
def agent(core, database, pumped_reactor):
    create_agent(database, "li", AgentRole.AGENT)
    browser = Browser(make_app(core), pumped_reactor)
    assert browser.login("li").status == 303
    return browser


def add_appeals(database, case_numbers, *, status=AppealStatus.RECEIVED, unit=None):
    """One appeal per case number, the first the newest, a minute apart."""
    def work(session):
        session.execute(insert(Appeal), [
            dict(case_number=number, channel=AppealChannel.PHONE, kind=AppealKind.HELP,
                 status=status, subject=f"诉求 {number}", body="", citizen_phone="13812345678",
                 unit_id=unit, deadline_at=NOW + dt.timedelta(days=5), reopen_count=0,
                 created_at=NOW - dt.timedelta(minutes=n), updated_at=NOW)
            for n, number in enumerate(case_numbers)])

    database.write_now(work)


def numbered(count, day="20261128"):
    return [f"{day}{n:05d}" for n in range(count, 0, -1)]  # newest has the highest sequence


def listed(body):
    return re.findall(r'<a href="/appeals/\d+">(\d+)</a>', body)


def link(body, rel):
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', body)
    return html.unescape(found.group(1)) if found else None


def test_results_come_in_pages_with_the_count_and_links_that_keep_the_criteria(agent, database):
    numbers = numbered(SEARCH_LIMIT + 1)
    add_appeals(database, numbers)
    first = agent.get("/appeals?status=received")
    assert listed(first.body) == numbers[:SEARCH_LIMIT]
    assert f"共 {SEARCH_LIMIT + 1} 条，第 1–{SEARCH_LIMIT} 条" in first.body
    assert "第 1 / 2 页" in first.body and link(first.body, "prev") is None
    assert link(first.body, "next") == "/appeals?status=received&page=2"
    second = agent.get(link(first.body, "next"))
    assert listed(second.body) == numbers[SEARCH_LIMIT:]
    assert f"第 {SEARCH_LIMIT + 1}–{SEARCH_LIMIT + 1} 条" in second.body
    assert link(second.body, "next") is None
    assert link(second.body, "prev") == "/appeals?status=received&page=1"


def test_a_single_page_has_no_page_links(agent, database):
    add_appeals(database, numbered(3))
    page = agent.get("/appeals?status=received")
    assert "共 3 条，第 1–3 条" in page.body and 'id="search-pages"' not in page.body


def test_the_count_stops_at_the_cap_and_pages_stop_at_the_last_offered(agent, database):
    numbers = numbered(SEARCH_COUNT_CAP + 5)
    add_appeals(database, numbers)
    first = agent.get("/appeals?status=received")
    assert f"超过 {SEARCH_COUNT_CAP} 条，第 1–{SEARCH_LIMIT} 条" in first.body
    assert f"第 1 / {SEARCH_PAGES} 页" in first.body
    last = agent.get(f"/appeals?status=received&page={SEARCH_PAGES}")
    assert listed(last.body) == numbers[SEARCH_COUNT_CAP - SEARCH_LIMIT:SEARCH_COUNT_CAP]
    assert link(last.body, "next") is None
    beyond = agent.get(f"/appeals?status=received&page={SEARCH_PAGES + 1}")
    assert beyond.status == 400 and "page" in beyond.body


def test_a_page_beyond_the_matches_lists_none(agent, database):
    add_appeals(database, numbered(3))
    page = agent.get("/appeals?status=received&page=2")
    assert page.status == 200 and listed(page.body) == [] and "没有符合条件的诉求" in page.body


@pytest.mark.parametrize("page", ["0", "x", "-1"])
def test_a_bad_page_is_named(agent, page):
    result = agent.get(f"/appeals?status=received&page={page}")
    assert result.status == 400 and "page" in result.body


def test_a_case_number_prefix_lists_that_day_and_not_the_next(agent, database):
    day, next_day = numbered(2, "20261128"), numbered(2, "20261129")
    add_appeals(database, next_day + day)
    assert listed(agent.get("/appeals?case_number=20261128").body) == day
    assert listed(agent.get("/appeals?case_number=2026112").body) == next_day + day
    assert listed(agent.get(f"/appeals?case_number={day[0]}").body) == [day[0]]
    assert listed(agent.get("/appeals?case_number=2026113").body) == []


def test_a_prefix_of_nines_has_no_upper_bound(agent, database):
    add_appeals(database, ["9999000000001", "9989000000001"])
    assert listed(agent.get("/appeals?case_number=999").body) == ["9999000000001"]
    assert listed(agent.get("/appeals?case_number=99").body) == ["9999000000001",
                                                                 "9989000000001"]


def test_unit_and_status_pages_come_newest_first(agent, database, unit):
    add_appeals(database, numbered(SEARCH_LIMIT + 2), status=AppealStatus.ASSIGNED, unit=unit)
    add_appeals(database, numbered(2, "20261127"), status=AppealStatus.CLOSED, unit=unit)
    page = agent.get(f"/appeals?unit_id={unit}&status=assigned&page=2")
    assert listed(page.body) == numbered(SEARCH_LIMIT + 2)[SEARCH_LIMIT:]
    assert link(page.body, "prev") == f"/appeals?status=assigned&unit_id={unit}&page=1"
