"""Login, sessions, lockout, throttling, CSRF, security headers and escaping."""

import pytest
from twisted.web.test.requesthelper import DummyRequest

from agents.http import CONTENT_SECURITY_POLICY
from agents.web import make_root
from hotline.audit import trail
from schemas.enums import AgentRole
from tests.agents.support import Browser, create_agent, make_app


@pytest.fixture
def app(core, database):
    create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    return make_app(core, session_idle_s=600, session_lifetime_s=3600, lockout_failures=3,
                    lockout_window_s=300, lockout_s=900, login_attempts_per_minute=50)


@pytest.fixture
def browser(app, pumped_reactor):
    return Browser(app, pumped_reactor)


def test_login_with_the_right_password_opens_a_session_and_audits_it(browser, database):
    result = browser.login("li")
    assert result.status == 303 and result.location == "/"
    assert "hotline_session" in browser.cookies
    assert browser.get("/appeals").status == 200
    actions = [e.action for e in database.read_now(trail, "login", "li")]
    assert actions == ["login"]


def test_login_with_a_wrong_password_is_refused_and_recorded(browser, database):
    result = browser.login("li", "wrong password!")
    assert result.status == 401
    assert "用户名或密码错误" in result.body
    assert "hotline_session" not in browser.cookies
    assert [e.action for e in database.read_now(trail, "login", "li")] == ["login_failed"]


def test_unknown_username_gets_the_same_answer_as_a_wrong_password(browser):
    assert browser.login("nobody", "whatever pass").status == 401


def test_login_next_goes_only_to_a_local_path(browser):
    browser.get("/login")
    result = browser.post("/login", {"username": "li", "password": "correct horse battery",
                                     "next": "//evil.example/"})
    assert result.location == "/"
    browser.post("/logout")
    browser.get("/login")
    result = browser.post("/login", {"username": "li", "password": "correct horse battery",
                                     "next": "/appeals?status=received"})
    assert result.location == "/appeals?status=received"


def test_anonymous_page_request_is_sent_to_login_with_its_path(browser):
    result = browser.get("/appeals")
    assert result.status == 303 and result.location == "/login?next=/appeals"


def test_repeated_failures_lock_the_username_even_for_the_right_password(browser, clock):
    for _ in range(3):
        assert browser.login("li", "wrong password!").status in (401, 423)
    result = browser.login("li")
    assert result.status == 423
    assert "已锁定" in result.body
    clock.advance(899)
    assert browser.login("li").status == 423  # the refused attempt does not extend the lock
    clock.advance(2)
    assert browser.login("li").status == 303


def test_lockout_applies_to_unknown_usernames_alike(browser):
    for _ in range(3):
        browser.login("ghost", "wrong password!")
    assert browser.login("ghost", "wrong password!").status == 423


def test_failures_spread_beyond_the_window_do_not_lock(browser, clock):
    for _ in range(2):
        browser.login("li", "wrong password!")
    clock.advance(301)
    assert browser.login("li", "wrong password!").status == 401
    assert browser.login("li").status == 303


def test_a_success_resets_the_failure_count(browser):
    browser.login("li", "wrong password!")
    browser.login("li", "wrong password!")
    assert browser.login("li").status == 303
    browser.post("/logout")
    browser.login("li", "wrong password!")
    assert browser.login("li").status == 303


def test_login_attempts_from_one_address_are_throttled(core, database, pumped_reactor):
    create_agent(database, "zhao", AgentRole.AGENT)
    app = make_app(core, login_attempts_per_minute=3)
    browser = Browser(app, pumped_reactor)
    for _ in range(3):
        assert browser.login("zhao", "wrong password!").status == 401
    assert browser.login("zhao").status == 429
    other = Browser(app, pumped_reactor, client="10.0.0.8")
    assert other.login("zhao").status == 303


def test_session_ends_after_idle_time(browser, clock):
    browser.login("li")
    clock.advance(590)
    assert browser.get("/appeals").status == 200  # refreshes the idle timer
    clock.advance(590)
    assert browser.get("/appeals").status == 200
    clock.advance(601)
    assert browser.get("/appeals").status == 303


def test_session_ends_after_its_lifetime_however_active(browser, clock):
    browser.login("li")
    for _ in range(6):
        clock.advance(500)
        assert browser.get("/appeals").status == 200
    clock.advance(601)  # 3601 s after login
    assert browser.get("/appeals").status == 303


def test_logout_ends_the_session_and_a_replayed_cookie_is_refused(browser, pumped_reactor, app):
    browser.login("li")
    stolen = dict(browser.cookies)
    assert browser.post("/logout").location == "/login"
    assert "hotline_session" not in browser.cookies
    replay = Browser(app, pumped_reactor, cookies=stolen)
    assert replay.get("/appeals").status == 303


def test_a_tampered_session_cookie_is_refused(browser):
    browser.login("li")
    value = browser.cookies["hotline_session"]
    browser.cookies["hotline_session"] = value[:-2] + ("A" if value[-1] != "A" else "B") + "x"
    assert browser.get("/appeals").status == 303


def test_a_cookie_signed_with_another_key_is_refused(browser, core, pumped_reactor):
    browser.login("li")
    other = Browser(make_app(core, secret_key="k" * 40), pumped_reactor,
                    cookies=dict(browser.cookies))
    assert other.get("/appeals").status == 303


def test_deactivated_agent_loses_the_session_at_once(browser, database):
    from sqlalchemy import update

    from schemas.models import Agent

    browser.login("li")
    database.write_now(lambda s: s.execute(update(Agent).values(active=False)))
    assert browser.get("/appeals").status == 303


@pytest.mark.parametrize("path,form", [
    ("/appeals", {"kind": "help", "subject": "x", "citizen_phone": "13812345678"}),
    ("/logout", {}),
    ("/language", {"lang": "en"}),
])
def test_state_changes_without_the_csrf_token_are_refused(browser, path, form):
    browser.login("li")
    assert browser.post(path, form, csrf=False).status == 403
    assert browser.post(path, {**form, "_csrf": "forged"}).status == 403


def test_login_form_without_its_csrf_token_is_refused(browser):
    browser.get("/login")
    result = browser.post("/login", {"username": "li", "password": "correct horse battery"},
                          csrf=False)
    assert result.status == 403
    assert "hotline_session" not in browser.cookies


def test_cross_origin_post_is_refused_even_with_the_token(browser):
    browser.login("li")
    result = browser.post("/logout", headers={"origin": "https://evil.example"})
    assert result.status == 403
    assert browser.post("/logout", headers={"origin": "http://hotline.test"}).status == 303


def test_csrf_token_in_a_header_is_accepted(browser):
    browser.login("li")
    result = browser.post("/logout", csrf=False, headers={"x-csrf-token": browser.csrf})
    assert result.status == 303


def test_session_cookie_is_httponly_and_samesite_strict(browser):
    browser.get("/login")
    result = browser.post("/login", {"username": "li", "password": "correct horse battery"})
    cookie = next(c for c in result.response.cookies if c.startswith("hotline_session="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=3600" in cookie


def test_hostile_appeal_text_is_escaped_on_every_page(browser):
    browser.login("li")
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    created = browser.post("/appeals", {"channel": "phone", "kind": "help", "subject": hostile,
                                        "body": hostile, "citizen_phone": "13812345678"})
    assert created.status == 303
    for page in (created.location, "/appeals?phone=13812345678", "/callers/13812345678"):
        body = browser.get(page).body
        assert "<script>alert" not in body and "<img src=x" not in body
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body


def test_language_follows_accept_language_then_the_toggle(browser):
    assert "坐席登录" in browser.get("/login").body
    browser.headers["accept-language"] = "en-GB,en;q=0.9"
    assert "Agent login" in browser.get("/login").body
    browser.post("/language", {"lang": "zh", "next": "/login"})
    assert "坐席登录" in browser.get("/login").body


def test_pages_carry_the_security_headers_through_twisted_web(core, app, pumped_reactor):
    root = make_root(core, app)
    request = DummyRequest([b"login"])
    request.uri = b"/login"
    request.path = b"/login"
    done = request.notifyFinish()
    child = root.getChildWithDefault(b"login", request)
    child.render(request)
    pumped_reactor.wait(done)
    headers = request.responseHeaders
    assert headers.getRawHeaders("content-security-policy") == [CONTENT_SECURITY_POLICY]
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert headers.getRawHeaders("x-frame-options") == ["DENY"]
    assert headers.getRawHeaders("x-content-type-options") == ["nosniff"]
    assert request.responseCode in (None, 200)
    assert "坐席登录" in b"".join(request.written).decode("utf-8")


def test_no_template_has_inline_script_or_style():
    from agents.rendering import _files

    for name, data in _files("templates").items():
        text = data.decode("utf-8")
        assert "<script>" not in text and " onclick=" not in text and "style=" not in text, name


def test_keepalive_holds_an_idle_terminal_session_until_its_lifetime(browser, clock):
    browser.login("li")
    for _ in range(7):
        clock.advance(500)
        assert browser.get("/session/keepalive").status == 204
    stream = browser.get("/terminal/events").response
    assert stream.expires_in == pytest.approx(100)  # the stream ends with the session
    clock.advance(101)
    assert browser.get("/session/keepalive").status == 401


class CountingHasher:
    """The real hasher, counting its verify calls (each one Argon2 run)."""

    def __init__(self, inner):
        self.inner, self.verifies = inner, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def verify(self, stored, password):
        self.verifies += 1
        return self.inner.verify(stored, password)


@pytest.mark.parametrize("case", ["wrong password", "unknown", "deactivated", "right password"])
def test_every_login_attempt_costs_one_argon2_run_whoever_it_names(browser, database,
                                                                   monkeypatch, case):
    from sqlalchemy import update

    from hotline import passwords
    from schemas.models import Agent

    create_agent(database, "wang", AgentRole.AGENT)
    if case == "deactivated":
        database.write_now(lambda s: s.execute(update(Agent).where(Agent.username == "wang")
                                               .values(active=False)))
    passwords.verify_password(None, "warm the dummy hash up")
    counting = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", counting)
    username = "nobody" if case == "unknown" else "wang"
    password = "correct horse battery" if case in ("deactivated", "right password") \
        else "wrong password!"
    status = browser.login(username, password).status
    assert status == (303 if case == "right password" else 401)
    assert counting.verifies == 1
