"""Styled error pages for 403, 404 and 405, in the reader's language with a way back; the
API's paths keep answering JSON."""

import datetime as dt
import json

import pytest

from schemas.enums import AgentRole
from tests.agents.support import Browser, SettableClock, create_agent, make_app, make_core

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def browser(database, pumped_reactor):
    core = make_core(database, pumped_reactor, SettableClock(NOW))
    create_agent(database, "li", AgentRole.AGENT)
    return Browser(make_app(core), pumped_reactor)


def test_an_unknown_page_is_a_styled_404_with_a_way_back(browser):
    assert browser.login("li").status == 303
    page = browser.get("/no/such/page", headers={"referer": "http://hotline.test/appeals"})
    assert page.status == 404
    assert '<h1>页面不存在</h1>' in page.body
    assert '<a href="/appeals" id="error-back">返回上一页</a>' in page.body
    assert 'id="logout"' in page.body  # the officer's own header and menu are there


def test_an_unknown_page_before_login_offers_the_login(browser):
    page = browser.get("/no/such/page")
    assert page.status == 404 and 'id="error-login"' in page.body


def test_a_wrong_method_is_a_styled_405_naming_what_is_allowed(browser):
    assert browser.login("li").status == 303
    page = browser.get("/callbacks/1/outcome")
    assert page.status == 405 and page.header("Allow") == "POST"
    assert "<h1>不支持此操作</h1>" in page.body


def test_a_page_of_another_role_is_a_styled_403(browser):
    assert browser.login("li").status == 303
    page = browser.get("/supervisor/alerts")
    assert page.status == 403 and "<h1>无权访问</h1>" in page.body
    assert "无权访问此页面" in page.body


def test_the_apis_paths_answer_json(browser):
    answer = browser.get("/api/v1/nothing")
    assert answer.status == 404
    assert json.loads(answer.body) == {"error": {"message": "not found"}}
