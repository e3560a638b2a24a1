"""A browser that speaks HTTP/1.1 bytes to the web application's real twisted.web site (the
resource tree the service serves: `agents.web.make_root`), one connection per request over a
StringTransport, on the test's database and clock: pages tested as the wire carries them
(request line, headers, cookies, form encoding, the response as twisted.web writes it)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from agents.http import WebSite
from tests.agents.support import PASSWORD


@dataclass
class WireResult:
    status: int
    headers: list[tuple[str, str]]
    body: str

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def location(self) -> str | None:
        return self.header("Location")


@dataclass
class WireBrowser:
    root: object  # the twisted.web resource tree
    pumped: object  # the PumpedReactor the database answers through
    client: str = "10.0.0.9"
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    def request(self, method: str, path: str, form: dict | None = None) -> WireResult:
        body = urlencode(form or {}).encode("utf-8")
        lines = [f"{method} {path} HTTP/1.1", "Host: hotline.test", "Connection: close",
                 "Accept-Language: zh-CN"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if method == "POST":
            lines += ["Origin: http://hotline.test",
                      "Content-Type: application/x-www-form-urlencoded",
                      f"Content-Length: {len(body)}"]
        wire = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        # A clock of its own for the channel's idle and abort timers: on the global reactor they
        # outlive the test and make a later real-reactor test's reactor dirty.
        protocol = WebSite(self.root, reactor=Clock()).buildProtocol(
            IPv4Address("TCP", self.client, 50000))
        transport = StringTransport(peerAddress=IPv4Address("TCP", self.client, 50000))
        protocol.makeConnection(transport)
        protocol.dataReceived(wire)
        # The answer comes once the database's thread has handed its result back.
        self.pumped.pump(lambda: transport.disconnecting or _complete(transport.value()))
        result = _parse(transport.value())
        for name, value in result.headers:
            if name.lower() == "set-cookie":
                jar = SimpleCookie()
                jar.load(value)
                for key, morsel in jar.items():
                    if morsel["max-age"] == "0" or not morsel.value:
                        self.cookies.pop(key, None)
                    else:
                        self.cookies[key] = morsel.value
        found = re.search(r'name="_csrf" value="([^"]*)"', result.body)
        if found:
            self.csrf = found.group(1)
        protocol.connectionLost(None)
        return result

    def get(self, path: str) -> WireResult:
        return self.request("GET", path)

    def post(self, path: str, form: dict | None = None) -> WireResult:
        return self.request("POST", path, {"_csrf": self.csrf, **(form or {})})

    def login(self, username: str, password: str = PASSWORD) -> WireResult:
        self.get("/login")
        result = self.post("/login", {"username": username, "password": password})
        assert result.status == 303, result.body
        page = result
        for _ in range(3):  # "/" sends each role to its own first page
            if page.status != 303:
                break
            page = self.get(page.location or "/")
        assert page.status == 200, (page.status, page.body)
        return result


def _complete(data: bytes) -> bool:
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        return False
    length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    return length is not None and len(body) >= int(length.group(1))


def _parse(data: bytes) -> WireResult:
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in header_lines]
    return WireResult(int(status_line.split()[1]), headers,
                      body.decode("utf-8", errors="replace"))
