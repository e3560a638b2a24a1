"""Where a login (and the language toggle) may send the browser: only a path on this site.

Browsers drop tabs and newlines from a URL and read a backslash as a slash, so each of the
refused values below would leave the site once the browser (or a proxy decoding it again)
has its way with it.
"""

import io
import re
from urllib.parse import quote, urlencode

import pytest
from twisted.web.test.requesthelper import DummyRequest

from agents.web import make_root
from schemas.enums import AgentRole
from tests.agents.support import PASSWORD, Browser, create_agent, make_app

# Values of the form field `next`, as the application receives them (form-decoded once).
OFF_SITE = [
    "/\t/evil.example",
    "/\r\n/evil.example",
    "/\n/evil.example",
    "\t//evil.example",
    "/ /evil.example",
    "//evil.example",
    "///evil.example",
    "//evil.example/appeals",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "/appeals\\..\\..\\evil",
    "/%09/evil.example",
    "/%0d%0a/evil.example",
    "/%0a/evil.example",
    "/%2f%2fevil.example",
    "/%2F/evil.example",
    "%2f%2fevil.example",
    "/%5cevil.example",
    "/%5C%5Cevil.example",
    "/%2509/evil.example",  # %09 once decoded again
    "/%252f%252fevil.example",
    "/%E3%80%80/evil.example",  # an ideographic space
    "/%e2%80%ae/evil.example",  # a right-to-left override
    "/%ff/evil.example",  # not UTF-8
    "/\u3000/evil.example",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "",
    pytest.param("/" + "a" * 3000, id="over-long"),
]

ON_SITE = [
    "/",
    "/appeals?status=received",
    "/appeals/12",
    "/callers/13812345678",
    "/supervisor/callbacks?from=2026-11-01&to=2026-11-28&by=unit",
    "/appeals?subject=%E5%BC%A0%E4%B8%89",  # 张三, encoded as a browser would
    "/appeals?q=a%2Fb",  # an encoded slash inside a query value stays on this site
]


@pytest.fixture
def app(core, database):
    create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    return make_app(core, login_attempts_per_minute=1000)


@pytest.fixture
def browser(app, pumped_reactor):
    return Browser(app, pumped_reactor)


def login_with_next(browser: Browser, next_path: str):
    browser.get("/login")
    return browser.post("/login", {"username": "li", "password": PASSWORD, "next": next_path})


@pytest.mark.parametrize("next_path", OFF_SITE)
def test_login_with_an_off_site_next_goes_to_the_default_page(browser, next_path):
    result = login_with_next(browser, next_path)
    assert result.status == 303
    assert result.location == "/"


@pytest.mark.parametrize("next_path", ON_SITE)
def test_login_with_a_path_on_this_site_goes_there(browser, next_path):
    result = login_with_next(browser, next_path)
    assert result.status == 303
    assert result.location == next_path


def test_the_login_form_carries_only_a_local_next(browser):
    # The review's case: /login?next=/%09/evil arrives as "/<TAB>/evil".
    page = browser.get("/login?next=/%09/evil.example")
    assert re.search(r'name="next" value="/"', page.body)
    page = browser.get("/login?next=" + quote("/appeals?status=received", safe="/"))
    assert 'name="next" value="/appeals?status=received"' in page.body


def test_a_failed_login_keeps_only_a_local_next(browser):
    browser.get("/login")
    page = browser.post("/login", {"username": "li", "password": "wrong password!",
                                   "next": "/%5c%5cevil.example"})
    assert page.status == 401
    assert 'name="next" value="/"' in page.body


@pytest.mark.parametrize("next_path", ["/\t/evil.example", "/%2f%2fevil.example",
                                       "https://evil.example/"])
def test_the_language_toggle_sends_off_site_next_to_the_default_page(browser, next_path):
    browser.get("/login")
    result = browser.post("/language", {"lang": "en", "next": next_path})
    assert result.status == 303 and result.location == "/"


def post_login_through_twisted_web(core, app, browser: Browser, body: bytes) -> DummyRequest:
    """POST /login as bytes on the wire reach twisted.web: a urlencoded body, the login
    form's CSRF cookie."""
    root = make_root(core, app)
    request = DummyRequest([b"login"])
    request.method = b"POST"
    request.uri = request.path = b"/login"
    request.content = io.BytesIO(body)
    request.requestHeaders.setRawHeaders(b"content-type",
                                         [b"application/x-www-form-urlencoded"])
    request.requestHeaders.setRawHeaders(b"host", [b"hotline.test"])
    cookie = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    request.requestHeaders.setRawHeaders(b"cookie", [cookie.encode("ascii")])
    done = request.notifyFinish()
    root.getChildWithDefault(b"login", request).render(request)
    browser.pumped.wait(done)
    return request


@pytest.mark.parametrize("next_path", ["/\t/evil.example", "/\r\n/evil.example",
                                       "/%09/evil.example", "/%0d%0a/evil.example",
                                       "/%2f%2fevil.example", "/%5cevil.example",
                                       "//evil.example", "/\\evil.example"])
def test_an_off_site_next_in_a_urlencoded_body_is_refused_through_twisted_web(
        core, app, browser, next_path):
    browser.get("/login")
    body = urlencode({"_csrf": browser.csrf, "username": "li", "password": PASSWORD,
                      "next": next_path}).encode("ascii")
    request = post_login_through_twisted_web(core, app, browser, body)
    assert request.responseCode == 303
    assert request.responseHeaders.getRawHeaders("location") == ["/"]


def test_a_local_next_in_a_urlencoded_body_is_followed_through_twisted_web(core, app, browser):
    browser.get("/login")
    body = urlencode({"_csrf": browser.csrf, "username": "li", "password": PASSWORD,
                      "next": "/appeals?status=received"}).encode("ascii")
    request = post_login_through_twisted_web(core, app, browser, body)
    assert request.responseCode == 303
    assert request.responseHeaders.getRawHeaders("location") == ["/appeals?status=received"]
