"""The twisted.web adapter: headers on every answer, request parsing, event streams with
their heartbeat, and the masked access log."""

import io

from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.web.test.requesthelper import DummyRequest

from agents.http import (
    CONTENT_SECURITY_POLICY,
    MAX_BODY,
    EventStream,
    WebAdapter,
    WebResponse,
    encode_event,
    parse_cookies,
)
from agents.web import masked_access_log


def request(method=b"GET", path=b"/x", query=b"", body=b"", headers=()):
    r = DummyRequest(path.strip(b"/").split(b"/"))
    r.method = method
    r.path = path
    r.uri = path + (b"?" + query if query else b"")
    r.content = io.BytesIO(body)
    for name, value in headers:
        r.requestHeaders.addRawHeader(name, value)
    return r


def serve(adapter, r):
    adapter.render(r)
    return r


def test_form_query_headers_and_cookies_reach_the_application():
    seen = []

    async def handle(web_request):
        seen.append(web_request)
        return WebResponse.text("ok")

    r = serve(WebAdapter(handle), request(
        b"POST", b"/appeals", b"phone=%E7%94%B5%E8%AF%9D&x=1",
        "subject=%E5%99%AA%E9%9F%B3&_csrf=t".encode(),
        [(b"Content-Type", b"application/x-www-form-urlencoded"),
         (b"Cookie", b"a=1; hotline_lang=en")]))
    web = seen[0]
    assert (web.method, web.path) == ("POST", "/appeals")
    assert web.query == {"phone": ["电话"], "x": ["1"]}
    assert web.arg("subject") == "噪音" and web.arg("_csrf") == "t"
    assert web.cookies == {"a": "1", "hotline_lang": "en"}
    assert b"".join(r.written) == b"ok"


def test_every_answer_carries_the_security_headers_and_cookies():
    async def handle(_):
        response = WebResponse.redirect("/login")
        response.cookies.append("a=1; Path=/")
        response.cookies.append("b=2; Path=/")
        return response

    r = serve(WebAdapter(handle), request())
    assert r.responseCode == 303
    headers = r.responseHeaders
    assert headers.getRawHeaders("Content-Security-Policy") == [CONTENT_SECURITY_POLICY]
    assert headers.getRawHeaders("Cache-Control") == ["no-store"]
    assert headers.getRawHeaders("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert headers.getRawHeaders("Location") == ["/login"]


def test_an_oversize_body_is_refused_before_the_application_sees_it():
    seen = []

    async def handle(web_request):
        seen.append(web_request)
        return WebResponse.text("ok")

    r = serve(WebAdapter(handle), request(b"POST", body=b"x" * (MAX_BODY + 1)))
    assert r.responseCode == 400 and not seen


def test_an_application_error_is_a_500_and_logged_once():
    from twisted.logger import capturedLogs

    async def handle(_):
        raise RuntimeError("boom")

    with capturedLogs() as events:
        r = serve(WebAdapter(handle), request())
    assert r.responseCode == 500 and b"boom" not in b"".join(r.written)
    assert [e["log_format"] for e in events if e.get("log_failure")] == \
        ["Unhandled error serving {method} {path}"]


def test_event_stream_sends_events_and_heartbeats_until_the_browser_leaves():
    clock = Clock()
    sent, closed = [], []

    def open_(send):
        sent.append(send)

    async def handle(_):
        return EventStream(open_, lambda: closed.append(True))

    r = serve(WebAdapter(handle, clock=clock, heartbeat_s=15), request())
    assert r.responseHeaders.getRawHeaders("Content-Type") == ["text/event-stream; charset=utf-8"]
    sent[0]("card", "<p>a</p>\n<p>b</p>")
    clock.advance(15)
    assert b"".join(r.written) == (b": open\n\nevent: card\ndata: <p>a</p>\ndata: <p>b</p>\n\n"
                                   b": keepalive\n\n")
    r.processingFailed(Failure(ConnectionError("gone")))
    assert closed == [True]
    clock.advance(60)
    assert not clock.getDelayedCalls()


def test_encode_event_splits_lines():
    assert encode_event("state", '{"a":1}') == b'event: state\ndata: {"a":1}\n\n'


def test_a_malformed_cookie_header_is_ignored():
    assert parse_cookies('a="unterminated; b=2') in ({}, {"b": "2"})


def test_access_log_lines_mask_phone_numbers():
    r = request(path=b"/callers/13812345678", query=b"call_id=c-1")
    r.client = None
    r.code, r.sentLength, r.clientproto = 200, 10, b"HTTP/1.1"
    line = masked_access_log("[28/Nov/2026:10:00:00 +0000]", r)
    assert "138****5678" in line and "13812345678" not in line


def test_auth_settings_come_from_the_auth_section():
    from types import SimpleNamespace

    from agents.config import AuthConfig
    from agents.web import auth_settings
    from hotline.config import AuthSection

    section = AuthSection(secret_key="q" * 40, session_idle_s=60)
    assert auth_settings(SimpleNamespace(config=SimpleNamespace(auth=section))) == \
        AuthConfig(secret_key="q" * 40, session_idle_s=60)


def test_event_stream_is_ended_by_the_server_when_it_expires():
    clock = Clock()
    closed = []

    async def handle(_):
        stream = EventStream(lambda send: None, lambda: closed.append(True))
        stream.expires_in = 100
        return stream

    r = serve(WebAdapter(handle, clock=clock, heartbeat_s=15), request())
    clock.advance(99)
    assert r.finished == 0
    clock.advance(1)
    assert r.finished == 1 and closed == [True]
    assert not clock.getDelayedCalls()
