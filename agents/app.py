"""The web application: one table of routes, each with the roles that may use it, and the
one pipeline every request goes through (authenticate, authorise by the table, check CSRF
on every state change, then the handler).

The handlers live by area of work in `agents.pages` (each module a mixin with its routes);
this module owns the pipeline, login and logout, the language toggle and static files.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from urllib.parse import quote

from twisted.logger import Logger

from agents import accounts, api
from agents.auth import (
    CSRF_FIELD,
    RateLimiter,
    SessionCodec,
    bearer_token_valid,
    csrf_valid,
    local_path,
    same_origin,
)
from agents.config import AuthConfig
from agents.http import EventStream, WebRequest, WebResponse, referring_page
from agents.i18n import LANG_COOKIE, LANGUAGES, choose_language
from agents.pages import (
    admin,
    analysis,
    appeals,
    assessment,
    callbacks,
    insights,
    knowledge,
    recordings,
    staffing,
    supervisor,
    terminal,
    units,
    wallboard,
    workorders,
)
from agents.pages import api as api_pages
from agents.rendering import Renderer, load_static
from agents.routing import (
    ADMINS,
    API,
    EVERYONE,
    PUBLIC,
    SAFE_METHODS,
    STAFF,
    SUPERVISORS,
    Context,
    Route,
)
from agents.terminal import TerminalHub
from hotline.core import Core
from schemas.enums import AgentRole

# Re-exported: tests and pages name the access sets from here too.
__all__ = ["ADMINS", "API", "EVERYONE", "PUBLIC", "ROUTES", "STAFF", "SUPERVISORS", "WebApp"]

API_PREFIX = "/api/"  # paths whose errors a script reads: JSON, not a page
# The words of an error page, and the API's message, by status.
ERROR_WORDS = {403: ("error.forbidden", "not allowed for this account"),
               404: ("error.not_found", "not found"),
               405: ("error.method", "method not allowed")}

# Requests a script makes: a missing session is a 401 for the script, not a login page.
SCRIPT_HANDLERS = {"terminal_events", "keepalive"}
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

ROUTES: tuple[Route, ...] = (
    Route("GET", "/", EVERYONE, "home"),
    Route("GET", "/login", PUBLIC, "login_form"),
    Route("POST", "/login", PUBLIC, "login"),
    Route("POST", "/logout", EVERYONE, "logout"),
    Route("POST", "/language", PUBLIC, "language"),
    Route("GET", "/static/{name}", PUBLIC, "static"),
    *terminal.ROUTES, *appeals.ROUTES, *callbacks.ROUTES, *supervisor.ROUTES,
    *wallboard.ROUTES, *analysis.ROUTES, *admin.ROUTES, *api_pages.ROUTES,
    *workorders.ROUTES, *units.ROUTES, *recordings.ROUTES, *assessment.ROUTES,
    *staffing.ROUTES, *insights.ROUTES,
    *knowledge.ROUTES,
)


class WebApp(terminal.TerminalPages, appeals.AppealPages, callbacks.CallbackPages,
             supervisor.SupervisorPages, wallboard.WallboardPages, analysis.AnalysisPages,
             admin.AdminPages, api_pages.ApiPages, workorders.WorkOrderPages,
             units.UnitPages, recordings.RecordingPages, assessment.AssessmentPages,
             knowledge.KnowledgePages,
             staffing.StaffingPages, insights.InsightsPages):
    log = Logger()

    def __init__(self, core: Core, auth: AuthConfig, *, hub: TerminalHub | None = None,
                 now: Callable[[], float] | None = None,
                 reports: dict[str, Callable] | None = None, callbacks=None) -> None:
        self.core = core
        # Report queries other packages own, injected at wiring: {"callbacks": fn(session,
        # start, end, by) -> rows with .as_dict()}. The web app imports no package of theirs.
        self.reports = reports or {}
        # The callback queue's facade (worklist, click_to_call, record_agent_outcome), injected
        # at wiring like the reports; None where the process runs no callback queue.
        self.callbacks = callbacks
        self.auth = auth
        self._now = now or (lambda: core.clock.now().timestamp())
        self.sessions = SessionCodec(auth, self._now)
        # Login attempts beyond these answer 429 before anything is checked or hashed: one
        # address cannot keep the hashing busy, nor many addresses one username.
        self.login_limits = {
            "address": RateLimiter(auth.login_attempts_per_minute, self._now),
            "username": RateLimiter(auth.login_attempts_per_username_per_minute, self._now),
        }
        self.renderer = Renderer(core.zone)
        self.static_files = load_static()
        self.routes = [(route, route.regex) for route in ROUTES]
        self.hub = hub or TerminalHub(core.ami, core.db, queue=core.config.agi.queue,
                                      clock=core.reactor, wall=core.clock,
                                      pop_card=self._pop_card, render_card=self._render_card)

    # The pipeline -------------------------------------------------------------------------

    async def handle(self, request: WebRequest) -> WebResponse | EventStream:
        route, params, allowed = self._match(request)
        lang = choose_language(request.cookies, request.headers)
        ctx = Context(request, params, lang)
        session = self.sessions.read(request.cookies)
        if session is not None:
            principal = await self.core.db.read(accounts.load_principal, session.agent_id,
                                                session.issued, session.nonce)
            if principal is not None:
                ctx.session, ctx.principal = self.sessions.touched(session), principal
                ctx.csrf = session.csrf
        if route is None:
            response = self.error_page(ctx, 405 if allowed else 404)
            if allowed:
                response.headers.append(("Allow", ", ".join(sorted(allowed))))
            return response
        if route.access == API:
            if not bearer_token_valid(self.auth.api_token, request.headers):
                response = WebResponse.json(api.ApiError(401, "a valid bearer token is "
                                                              "required").document(), 401)
                response.headers.append(("WWW-Authenticate", 'Bearer realm="hotline"'))
                return response
        elif route.access != PUBLIC:
            if ctx.principal is None:
                if request.method in SAFE_METHODS and route.handler not in SCRIPT_HANDLERS:
                    return WebResponse.redirect("/login?next=" + quote(request.path, safe="/"))
                if route.handler in SCRIPT_HANDLERS:
                    return WebResponse.text("login required", 401)
                return self.submission_lost(ctx, 401)
            if ctx.principal.role not in route.access:
                return self.error_page(ctx, 403)
        if request.method not in SAFE_METHODS and route.access != API:
            problem = self._csrf_problem(ctx)
            if problem:
                self.log.warn("CSRF check failed: {method} {path} by {actor}: {problem}",
                              method=request.method, path=request.path, actor=ctx.actor,
                              problem=problem)
                return self.submission_lost(ctx, 403)
        result = await getattr(self, route.handler)(ctx)
        if ctx.session is not None and result is not None:
            result.cookies.insert(0, self.sessions.cookie(ctx.session))
        result.cookies.extend(ctx.cookies)
        return result

    def _match(self, request: WebRequest):
        allowed: set[str] = set()
        for route, regex in self.routes:
            match = regex.match(request.path)
            if match is None:
                continue
            if route.method == request.method or (route.method == "GET"
                                                  and request.method == "HEAD"):
                return route, match.groupdict(), allowed
            allowed.add(route.method)
        return None, {}, allowed

    def _csrf_problem(self, ctx: Context) -> str | None:
        request = ctx.request
        if not same_origin(request.headers):
            return (f"Origin {request.headers.get('origin')!r} is not "
                    f"{request.headers.get('host')!r}")
        if ctx.session is not None:
            valid = csrf_valid(ctx.session, request.form, request.headers)
        else:
            valid = self.sessions.login_token_valid(request.cookies, request.arg(CSRF_FIELD))
        return None if valid else "the token is missing or wrong"

    def error_page(self, ctx: Context, status: int) -> WebResponse:
        """A styled page for 403, 404 and 405, in the reader's language, with a way back (a
        JSON error for the API's paths, which scripts read)."""
        if ctx.request.path.startswith(API_PREFIX):
            return WebResponse.json(api.ApiError(status, ERROR_WORDS[status][1]).document(),
                                    status)
        back = local_path(referring_page(ctx.request.headers) or "/")
        response = self._page(ctx, "error.html", status, status=status,
                              title=ctx.t(f"error.title_{status}"),
                              error=ctx.t(ERROR_WORDS[status][0]), back=back)
        return response

    def _page(self, ctx: Context, template: str, code: int = 200, /, **values) -> WebResponse:
        if not ctx.csrf:
            # No session: the page's forms (login, language) carry the signed double-submit
            # token, minted here only, so a parallel request for a script cannot replace it.
            ctx.csrf, cookie = self.sessions.login_token(ctx.request.cookies)
            if cookie:
                ctx.cookies.append(cookie)
        body = self.renderer.render(template, lang=ctx.lang, principal=ctx.principal,
                                    csrf=ctx.csrf, path=ctx.request.path, **values)
        return WebResponse(code, body)

    # Login --------------------------------------------------------------------------------

    async def home(self, ctx: Context) -> WebResponse:
        if ctx.principal.role is AgentRole.ADMIN:
            return WebResponse.redirect("/admin/agents")
        if ctx.principal.role is AgentRole.UNIT_OFFICER:
            return WebResponse.redirect("/unit")
        return WebResponse.redirect("/terminal")

    async def login_form(self, ctx: Context) -> WebResponse:
        if ctx.principal is not None:
            return WebResponse.redirect("/")
        return self._page(ctx, "login.html", next=local_path(ctx.request.arg("next")),
                          username="")

    async def login(self, ctx: Context) -> WebResponse:
        request = ctx.request
        username = accounts.login_name(request.arg("username"))
        next_path = local_path(request.arg("next"))
        limited = self._login_rate_limited(ctx, username, next_path)
        if limited is not None:
            return limited
        outcome = await self.core.db.write(
            accounts.attempt_login, username, request.arg("password"),
            now=self.core.clock.now(), client=request.client, policy=self.auth)
        if outcome.ok:
            self.log.info("{username} logged in from {client}", username=outcome.principal.username,
                          client=request.client)
            session = self.sessions.issue(outcome.principal.agent_id)
            response = WebResponse.redirect(next_path)
            response.cookies.append(self.sessions.cookie(session))
            return response
        metrics = self.core.metrics
        if metrics is not None:
            metrics.login_failures.labels(outcome.failure).inc()
            if outcome.locked_by_it:
                metrics.login_lockouts.inc()
        if outcome.locked_until is not None:
            until = outcome.locked_until.astimezone(self.core.zone).strftime("%H:%M")
            self.log.warn("Login for {username} from {client} refused: locked until {until} "
                          "(`hotline agents unlock {username}` lifts it)",
                          username=username, client=request.client, until=until)
            return self._page(ctx, "login.html", 423, next=next_path, username=username,
                              error=ctx.t("login.locked", until=until))
        return self._page(ctx, "login.html", 401, next=next_path, username=username,
                          error=ctx.t("login.failed"))

    def _login_rate_limited(self, ctx: Context, username: str,
                            next_path: str) -> WebResponse | None:
        """The 429 answer when this attempt is over the address's or the username's limit;
        the address is asked first, so a limited address uses up no username's attempts."""
        client = ctx.request.client
        for reason, key in (("address", client), ("username", username)):
            verdict = self.login_limits[reason].take(key)
            if verdict.allowed:
                continue
            if self.core.metrics is not None:
                self.core.metrics.login_rate_limited.labels(reason).inc()
            if verdict.refused_in_a_row == 1:  # once per burst, not once per attempt
                self.log.warn("Login attempts rate-limited by {reason}: {username} from "
                              "{client}", reason=reason, username=username, client=client)
            response = self._page(ctx, "login.html", 429, next=next_path, username=username,
                                  error=ctx.t("login.throttled"))
            response.headers.append(("Retry-After", str(math.ceil(verdict.retry_after_s))))
            return response
        return None

    async def logout(self, ctx: Context) -> WebResponse:
        await self.core.db.write(accounts.record_logout, ctx.principal.username,
                                 ctx.session.nonce, expires_at=self.sessions.ends_at(ctx.session),
                                 now=self.core.clock.now())
        ctx.session = None
        response = WebResponse.redirect("/login")
        response.cookies.append(self.sessions.cleared_cookie())
        return response

    async def language(self, ctx: Context) -> WebResponse:
        lang = ctx.request.arg("lang")
        if lang not in LANGUAGES:
            return WebResponse.text(f"lang: one of {', '.join(LANGUAGES)}", 400)
        response = WebResponse.redirect(local_path(ctx.request.arg("next")))
        response.cookies.append(f"{LANG_COOKIE}={lang}; Path=/; SameSite=Strict; "
                                f"Max-Age=31536000")
        return response

    async def static(self, ctx: Context) -> WebResponse:
        name = ctx.params["name"]
        body = self.static_files.get(name)
        kind = STATIC_TYPES.get(name[name.rfind("."):]) if "." in name else None
        if body is None or kind is None:
            return WebResponse.text("not found", 404)
        return WebResponse(200, body, kind)
