"""A form posted after the session ended (401) or with a stale token (403) changes nothing
and answers a page in Chinese that says what was kept, with a login (401) or a link (403)
back to the page the form was on, so what was typed is filled in again there (app.js keeps
the draft; see tests/browser/test_hall_desk.py). Through the real web app over HTTP."""

from __future__ import annotations

import re

import pytest

from schemas.enums import AgentRole
from schemas.models import Appeal
from tests.agents.support import Browser, create_agent, make_app


@pytest.fixture
def browser(core, database, pumped_reactor):
    create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    return Browser(make_app(core), pumped_reactor)


def new_appeal_form(browser):
    return {"citizen_phone": "13812345678", "channel": "phone", "kind": "complaint",
            "subject": "出租车拒载", "body": "晚上九点在火车站东广场"}


def test_a_post_after_the_session_ended_answers_a_chinese_login_back_to_the_page(
        browser, database):
    browser.login("li")
    browser.get("/appeals/new?citizen_phone=13812345678")
    csrf = browser.csrf
    browser.cookies.clear()  # the session is gone, and the login form's token with it
    result = browser.post("/appeals", {**new_appeal_form(browser), "_csrf": csrf},
                          headers={"referer": "http://hotline.test/appeals/new"
                                              "?citizen_phone=13812345678"})
    assert result.status == 401
    assert "login required" not in result.body
    assert "登录已过期" in result.body and "您填写的内容仍保留在本浏览器中" in result.body
    assert 'id="submission-lost" data-keep-drafts="1"' in result.body
    login_form = result.body[result.body.index('id="lost-login"'):]
    next_path = re.search(r'name="next" value="([^"]*)"', login_form).group(1)
    next_path = next_path.replace("&amp;", "&")
    assert next_path == "/appeals/new?citizen_phone=13812345678"
    assert database.read_now(lambda s: s.query(Appeal).count()) == 0

    login = browser.post("/login", {"username": "li", "password": "correct horse battery",
                                    "next": next_path})
    assert (login.status, login.location) == (303, "/appeals/new?citizen_phone=13812345678")


def test_a_post_with_a_stale_token_answers_a_chinese_page_with_a_way_back(browser, database):
    browser.login("li")
    result = browser.post("/appeals", {**new_appeal_form(browser), "_csrf": "stale"},
                          headers={"referer": "http://hotline.test/appeals/new"})
    assert result.status == 403
    assert "页面已过期" in result.body and "请求已失效" not in result.body
    assert 'href="/appeals/new" id="lost-back"' in result.body
    assert database.read_now(lambda s: s.query(Appeal).count()) == 0


@pytest.mark.parametrize("referer", ["https://evil.example/appeals/new",
                                     "http://hotline.test//evil.example/x", ""])
def test_the_way_back_never_leaves_the_site(browser, referer):
    browser.login("li")
    result = browser.post("/appeals", {**new_appeal_form(browser), "_csrf": "stale"},
                          headers={"referer": referer} if referer else {})
    assert result.status == 403
    assert 'href="/" id="lost-back"' in result.body


def test_the_live_feed_and_keepalive_still_answer_a_bare_401(browser):
    assert browser.get("/session/keepalive").status == 401
