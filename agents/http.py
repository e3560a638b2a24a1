"""Requests and responses of the web application as plain values, and the adapter that
serves them from twisted.web.

Handlers take a `WebRequest` and return a `WebResponse` (or an `EventStream` for server-sent
events); neither knows twisted.web, so the whole application is tested by calling it, and
the adapter below is the only code that touches `twisted.web.server.Request`; `WebSite` is
the twisted.web site that serves it, with the request class that bounds what a body may be.
"""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from twisted.internet import defer, task
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web import resource, server

from agents.i18n import translator

MAX_BODY = 64 * 1024

CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:; media-src 'self'; connect-src 'self'; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),  # "no-referrer" makes Chrome send Origin: null
    ("Cache-Control", "no-store"),
)


@dataclass(frozen=True)
class WebRequest:
    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    form: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    cookies: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    client: str = ""

    def arg(self, name: str, default: str = "") -> str:
        values = self.form.get(name) or self.query.get(name)
        return values[0] if values else default

    def json(self) -> object:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class WebResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    cookies: list[str] = field(default_factory=list)  # Set-Cookie values

    @classmethod
    def json(cls, document: object, status: int = 200) -> "WebResponse":
        return cls(status, json.dumps(document, ensure_ascii=False).encode("utf-8"),
                   "application/json; charset=utf-8")

    @classmethod
    def redirect(cls, location: str, status: int = 303) -> "WebResponse":
        return cls(status, b"", "text/plain; charset=utf-8", [("Location", location)])

    @classmethod
    def text(cls, text: str, status: int = 200) -> "WebResponse":
        return cls(status, text.encode("utf-8"), "text/plain; charset=utf-8")

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class EventStream:
    """A server-sent events response: `open(send)` starts it with a function that writes
    one event; `close()` runs when the browser goes away. `cookies` are set on the first
    byte (a refreshed session)."""

    def __init__(self, open: Callable[[Callable[[str, str], None]], None],
                 close: Callable[[], None]) -> None:
        self.open = open
        self.close = close
        self.cookies: list[str] = []
        self.expires_in: float | None = None  # seconds until the server ends the stream


def encode_event(event: str, data: str) -> bytes:
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {event}\n{lines}\n".encode("utf-8")


Handler = Callable[[WebRequest], Awaitable["WebResponse | EventStream"]]


class WebAdapter(resource.Resource):
    """Serves an application (`handle(WebRequest)`) from twisted.web, every path."""

    isLeaf = True
    log = Logger()

    def __init__(self, handle: Handler, clock: IReactorTime | None = None,
                 heartbeat_s: float = 15.0) -> None:
        """`clock` times the comment line an event stream sends every `heartbeat_s` seconds
        (proxies keep it open, and a vanished browser is noticed by the failed write)."""
        super().__init__()
        self._handle = handle
        self._clock = clock
        self._heartbeat_s = heartbeat_s

    def render(self, request: server.Request):
        try:
            web_request = to_web_request(request)
        except ValueError as error:
            self._write(request, WebResponse.text(str(error), 400))
            return server.NOT_DONE_YET
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))
        d = defer.ensureDeferred(self._handle(web_request))
        d.addCallback(self._respond, request, gone)
        d.addErrback(self._failed, request, gone)
        return server.NOT_DONE_YET

    def _respond(self, result, request: server.Request, gone: list[bool]) -> None:
        if gone:
            return
        if isinstance(result, EventStream):
            self._stream(result, request)
        else:
            self._write(request, result)

    def _failed(self, failure, request: server.Request, gone: list[bool]) -> None:
        self.log.failure("Unhandled error serving {method} {path}", failure,
                         method=request.method.decode("latin-1"),
                         path=request.path.decode("latin-1", "replace"))
        if not gone:
            self._write(request, WebResponse.text("internal error", 500))

    @staticmethod
    def _headers(request: server.Request, response_headers: list[tuple[str, str]]) -> None:
        for name, value in SECURITY_HEADERS:
            request.setHeader(name, value)
        for name, value in response_headers:
            request.setHeader(name, value)

    def _write(self, request: server.Request, response: WebResponse) -> None:
        request.setResponseCode(response.status)
        self._headers(request, response.headers)
        request.setHeader("Content-Type", response.content_type)
        for cookie in response.cookies:
            request.responseHeaders.addRawHeader("Set-Cookie", cookie)
        request.setHeader("Content-Length", str(len(response.body)))
        if request.method != b"HEAD":
            request.write(response.body)
        request.finish()

    def _stream(self, stream: EventStream, request: server.Request) -> None:
        request.setResponseCode(200)
        self._headers(request, [("X-Accel-Buffering", "no")])
        request.setHeader("Content-Type", "text/event-stream; charset=utf-8")
        for cookie in stream.cookies:
            request.responseHeaders.addRawHeader("Set-Cookie", cookie)
        request.write(b": open\n\n")
        closed: list[bool] = []
        heartbeat = None

        def send(event: str, data: str) -> None:
            if not closed:
                request.write(encode_event(event, data))

        def beat() -> None:
            if not closed:
                request.write(b": keepalive\n\n")

        def finished(_):
            closed.append(True)
            if heartbeat is not None and heartbeat.running:
                heartbeat.stop()
            stream.close()

        def expire() -> None:
            if not closed:
                request.finish()

        if self._clock is not None:
            heartbeat = task.LoopingCall(beat)
            heartbeat.clock = self._clock
            heartbeat.start(self._heartbeat_s, now=False)
            if stream.expires_in is not None:
                expiry = self._clock.callLater(stream.expires_in, expire)
                request.notifyFinish().addBoth(lambda _: expiry.cancel() if expiry.active() else None)
        request.notifyFinish().addBoth(finished)
        stream.open(send)


class BoundedRequest(server.Request):
    """A twisted.web request that refuses a body over `MAX_BODY` as soon as it is known to be
    over: on its Content-Length, before a byte of it is read, else (chunked) on the chunk
    that crosses the limit. The answer is 413 and the connection is closed. twisted.web would
    otherwise read a body of any size into a temporary file before any resource, and so any
    check of the login or the path, sees the request. A body within the limit is kept in
    memory."""

    log = Logger()
    max_body = MAX_BODY
    _refused = False

    def gotLength(self, length: int | None) -> None:
        self.content = io.BytesIO()
        if length is not None and length > self.max_body:
            self._refuse(f"Content-Length {length}")

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return  # the rest of what was already read, on a connection being closed
        if self.content.tell() + len(data) > self.max_body:
            self._refuse("a chunked body")
            return
        self.content.write(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if not self._refused:
            super().requestReceived(command, path, version)

    def _refuse(self, what: str) -> None:
        self._refused = True
        # Nothing more of the body is wanted: no "100 Continue" after the 413.
        self.requestHeaders.removeHeader(b"Expect")
        body = translator("zh")("error.body_too_large", limit=self.max_body // 1024)
        payload = body.encode("utf-8")
        headers = [("Content-Type", "text/plain; charset=utf-8"),
                   ("Content-Length", str(len(payload))), ("Connection", "close"),
                   *SECURITY_HEADERS]
        head = "HTTP/1.1 413 Content Too Large\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
        client = self.getClientAddress()
        self.log.info("Refused a request body over {limit} bytes from {client}: {what}",
                      limit=self.max_body, client=getattr(client, "host", "-"), what=what)
        self.channel.transport.write(head.encode("latin-1") + payload)
        self.channel.loseConnection()


class WebSite(server.Site):
    """The web application's twisted.web site: every request a `BoundedRequest`."""

    requestFactory = BoundedRequest


def to_web_request(request: server.Request) -> WebRequest:
    method = request.method.decode("ascii", "replace").upper()
    path = request.path.decode("utf-8", "replace")
    headers = {k.decode("latin-1").lower(): v[0].decode("latin-1")
               for k, v in request.requestHeaders.getAllRawHeaders()}
    content = getattr(request, "content", None)
    body = content.read(MAX_BODY + 1) if content is not None else b""
    if len(body) > MAX_BODY:
        raise ValueError(f"request body longer than {MAX_BODY} bytes")
    query = parse_qs(request.uri.partition(b"?")[2].decode("utf-8", "replace"),
                     keep_blank_values=True)
    form: dict[str, list[str]] = {}
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise ValueError("form body is not UTF-8") from None
    cookies = parse_cookies(headers.get("cookie", ""))
    client = request.getClientAddress()
    return WebRequest(method, path, query, form, headers, cookies, body,
                      getattr(client, "host", "") or "")


def referring_page(headers: dict[str, str]) -> str:
    """The path and query of the page a form was posted from (its Referer, when that is
    this host), where a refused submission sends the officer back to; "" when unknown.
    The caller still checks it is a local path (`agents.auth.local_path`)."""
    parts = urlsplit(headers.get("referer", ""))
    if not parts.path or parts.netloc != headers.get("host", ""):
        return ""
    return parts.path + ("?" + parts.query if parts.query else "")


def parse_cookies(header: str) -> dict[str, str]:
    jar = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header is ignored, as browsers send what they like
        return {}
    return {key: morsel.value for key, morsel in jar.items()}
