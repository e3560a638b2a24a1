"""The web application on a test database, and a small browser that keeps its cookies."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from twisted.internet import defer

from agents.app import WebApp
from agents.config import AuthConfig
from agents.http import EventStream, WebRequest, WebResponse
from hotline.agents_admin import add_agent
from hotline.appeals import AppealService, ResolveHook
from hotline.config import Config
from hotline.core import Core
from hotline.workdays import WorkCalendar
from schemas.enums import AgentRole
from tests.support.appeals import SHANGHAI, make_repository

PASSWORD = "correct horse battery"
SECRET = "s" * 40
API_TOKEN = "t0k3n-" + "x" * 30


class SettableClock:
    def __init__(self, now: dt.datetime) -> None:
        self.current = now

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += dt.timedelta(seconds=seconds)


def make_core(database, pumped_reactor, clock: SettableClock, ami=None) -> Core:
    hook = ResolveHook()
    repository = make_repository(hook)
    return Core(config=Config(), reactor=pumped_reactor, db=database, clock=clock,
                zone=SHANGHAI, calendar=WorkCalendar(), resolve_hook=hook,
                appeals=AppealService(database, repository, clock), ami=ami)


def make_app(core: Core, **auth) -> WebApp:
    settings = dict(secret_key=SECRET, api_token=API_TOKEN)
    settings.update(auth)
    return WebApp(core, AuthConfig(**settings))


def create_agent(database, username: str, role: AgentRole, interface: str | None = None,
                 unit_code: str | None = None):
    return database.write_now(add_agent, username=username, display_name=f"{username} 警官",
                              role=role, password=PASSWORD, unit_code=unit_code,
                              interface=interface, actor="test",
                              now=dt.datetime(2026, 11, 28, 1, tzinfo=dt.timezone.utc))


@dataclass
class Result:
    status: int
    body: str
    response: WebResponse | EventStream

    def header(self, name: str) -> str | None:
        return self.response.header(name) if isinstance(self.response, WebResponse) else None

    @property
    def location(self) -> str | None:
        return self.header("Location")


@dataclass
class Browser:
    """Talks to `WebApp.handle` as a browser would: keeps cookies, sends the CSRF token the
    last page carried."""

    app: WebApp
    pumped: object
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""
    client: str = "10.0.0.7"
    headers: dict[str, str] = field(default_factory=dict)
    waiter: object = None  # how to wait for a Deferred; default: the pumped reactor's wait

    def request(self, method: str, path: str, form: dict | None = None,
                headers: dict | None = None, body: bytes = b"") -> Result:
        parts = urlsplit(path)
        all_headers = {"host": "hotline.test", **self.headers, **(headers or {})}
        request = WebRequest(method, parts.path, parse_qs(parts.query, keep_blank_values=True),
                             {k: [v] for k, v in (form or {}).items()}, all_headers,
                             dict(self.cookies), body, self.client)
        wait = self.waiter or self.pumped.wait
        response = wait(defer.Deferred.fromCoroutine(self.app.handle(request)))
        for raw in response.cookies:
            jar = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if isinstance(response, EventStream):
            return Result(200, "", response)
        text = response.body.decode("utf-8", errors="replace")  # a download may be binary
        found = re.search(r'name="_csrf" value="([^"]*)"', text)
        if found:
            self.csrf = found.group(1)
        return Result(response.status, text, response)

    def get(self, path: str, **kw) -> Result:
        return self.request("GET", path, **kw)

    def post(self, path: str, form: dict | None = None, *, csrf: bool = True, **kw) -> Result:
        form = dict(form or {})
        if csrf:
            form.setdefault("_csrf", self.csrf)
        return self.request("POST", path, form=form, **kw)

    def login(self, username: str, password: str = PASSWORD) -> Result:
        self.get("/login")
        result = self.post("/login", {"username": username, "password": password})
        if result.status == 303:
            self.get("/appeals")  # any page after login carries the session's CSRF token
        return result
