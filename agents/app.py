"""The web application: one table of routes, each with the roles that may use it, and the
one pipeline every request goes through (authenticate, authorise by the table, check CSRF
on every state change, then the handler).

Access in the table is one of: `PUBLIC` (anyone; the login page, static files, the OpenAPI
document), `API` (the bearer token of the bureau's systems), or a set of agent roles
(a logged-in session whose agent, re-read from its row, has one of them).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from twisted.internet import defer
from twisted.logger import Logger

from agents import accounts, api, queries
from agents.auth import (CSRF_FIELD, LoginThrottle, Session, SessionCodec, bearer_token_valid,
                         csrf_valid, same_origin)
from agents.config import AuthConfig
from agents.http import EventStream, WebRequest, WebResponse
from agents.i18n import LANG_COOKIE, LANGUAGES, choose_language, translator
from agents.rendering import Renderer, load_static
from agents.terminal import Listener, TerminalHub
from hotline import alerts as supervisor_alerts
from hotline.ami.errors import AMIError
from hotline.appeals import (AppealNotFound, AppealValidationError, InvalidTransition,
                             NewAppeal)
from hotline.core import Core
from hotline.masking import mask_phone
from hotline.phones import PhoneNumberError, normalise_phone
from schemas.callbacks import CallbackState
from schemas.enums import AgentRole, AppealChannel, AppealKind, AppealStatus, Satisfaction

PUBLIC = "public"
API = "api"
STAFF = frozenset({AgentRole.AGENT, AgentRole.SUPERVISOR})
SUPERVISORS = frozenset({AgentRole.SUPERVISOR})
ADMINS = frozenset({AgentRole.ADMIN})
EVERYONE = frozenset(AgentRole)
SAFE_METHODS = {"GET", "HEAD"}
# Requests a script makes: a missing session is a 401 for the script, not a login page.
SCRIPT_HANDLERS = {"terminal_events", "keepalive"}
# The compliance report's columns (keys of a row's `.as_dict()`), after the group's label;
# their titles are the i18n keys `report.col.<key>`.
REPORT_COLUMNS = ("resolved", "due", "within", "late", "unreachable", "sms_fallback", "pending",
                  "attempts_per_completed", "satisfied", "basically_satisfied", "dissatisfied",
                  "unrated", "compliance")
REPORT_GROUPINGS = ("unit", "agent", "kind")
# The outcome form's rating, as the survey's keys: 1 满意, 2 基本满意, 3 不满意.
RATINGS = {"1": Satisfaction.SATISFIED, "2": Satisfaction.BASICALLY_SATISFIED,
           "3": Satisfaction.DISSATISFIED}
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    access: str | frozenset[AgentRole]
    handler: str

    @property
    def regex(self) -> re.Pattern:
        def group(match: re.Match) -> str:
            name, _, kind = match.group(1).partition(":")
            body = {"": "[^/]+", "int": "[0-9]{1,18}", "digits": "[0-9]{1,24}"}.get(kind, kind)
            return f"(?P<{name}>{body})"

        return re.compile("^" + re.sub(r"\{([^}]+)\}", group, self.pattern) + "$")


ROUTES: tuple[Route, ...] = (
    Route("GET", "/", EVERYONE, "home"),
    Route("GET", "/login", PUBLIC, "login_form"),
    Route("POST", "/login", PUBLIC, "login"),
    Route("POST", "/logout", EVERYONE, "logout"),
    Route("POST", "/language", PUBLIC, "language"),
    Route("GET", "/static/{name}", PUBLIC, "static"),
    Route("GET", "/terminal", STAFF, "terminal"),
    Route("POST", "/terminal/queue", STAFF, "queue_action"),
    Route("GET", "/terminal/events", STAFF, "terminal_events"),
    Route("GET", "/session/keepalive", STAFF, "keepalive"),
    Route("GET", "/appeals", STAFF, "search"),
    Route("GET", "/appeals/new", STAFF, "new_appeal_form"),
    Route("POST", "/appeals", STAFF, "create_appeal"),
    Route("GET", "/appeals/{appeal_id:int}", STAFF, "appeal"),
    Route("POST", "/appeals/{appeal_id:int}/{action:assign|start|resolve}", STAFF,
          "appeal_action"),
    Route("POST", "/appeals/{appeal_id:int}/{action:reopen}", SUPERVISORS, "appeal_action"),
    Route("GET", "/callers/{phone}", STAFF, "caller"),
    Route("GET", "/admin/agents", ADMINS, "agents"),
    Route("GET", "/api/openapi.json", PUBLIC, "openapi"),
    Route("POST", "/api/v1/appeals", API, "api_create"),
    Route("GET", "/api/v1/appeals/{case_number:digits}", API, "api_status"),
    Route("GET", "/api/v1/reports/callbacks", API, "api_callback_report"),
    Route("GET", "/reports/callbacks.json", SUPERVISORS, "callback_report"),
    Route("GET", "/supervisor/alerts", SUPERVISORS, "alerts"),
    Route("POST", "/supervisor/alerts/{alert_id:int}/ack", SUPERVISORS, "acknowledge_alert"),
    Route("GET", "/supervisor/replies", SUPERVISORS, "replies"),
    Route("GET", "/supervisor/callbacks", SUPERVISORS, "callbacks_report_page"),
    Route("GET", "/supervisor/callbacks.csv", SUPERVISORS, "callbacks_report_csv"),
    Route("GET", "/callbacks", STAFF, "worklist"),
    Route("POST", "/callbacks/{task_id:int}/call", STAFF, "click_to_call"),
    Route("POST", "/callbacks/{task_id:int}/outcome", STAFF, "callback_outcome"),
)


@dataclass
class Context:
    request: WebRequest
    params: dict[str, str]
    lang: str
    principal: accounts.Principal | None = None
    session: Session | None = None
    csrf: str = ""
    cookies: list[str] = field(default_factory=list)

    @property
    def actor(self) -> str:
        return self.principal.username if self.principal else "-"

    @property
    def t(self):
        return translator(self.lang)


class WebApp:
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
        self.throttle = LoginThrottle(auth.login_attempts_per_minute, self._now)
        self.renderer = Renderer(core.zone)
        self.static_files = load_static()
        self.routes = [(route, route.regex) for route in ROUTES]
        self.hub = hub or TerminalHub(core.ami, queue=core.config.agi.queue, clock=core.reactor,
                                      pop_card=self._pop_card, render_card=self._render_card)

    # The pipeline -------------------------------------------------------------------------

    async def handle(self, request: WebRequest) -> WebResponse | EventStream:
        route, params, allowed = self._match(request)
        lang = choose_language(request.cookies, request.headers)
        if route is None:
            if allowed:
                response = WebResponse.text("method not allowed", 405)
                response.headers.append(("Allow", ", ".join(sorted(allowed))))
                return response
            return WebResponse.text("not found", 404)
        ctx = Context(request, params, lang)
        session = self.sessions.read(request.cookies)
        if session is not None:
            principal = await self.core.db.read(accounts.load_principal, session.agent_id)
            if principal is not None:
                ctx.session, ctx.principal = self.sessions.touched(session), principal
                ctx.csrf = session.csrf
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
                return WebResponse.text("login required", 401)
            if ctx.principal.role not in route.access:
                return self._page(ctx, "error.html", 403, status=403,
                                  error=ctx.t("error.forbidden"))
        if request.method not in SAFE_METHODS and route.access != API:
            problem = self._csrf_problem(ctx)
            if problem:
                self.log.warn("CSRF check failed: {method} {path} by {actor}: {problem}",
                              method=request.method, path=request.path, actor=ctx.actor,
                              problem=problem)
                return self._page(ctx, "error.html", 403, status=403, error=ctx.t("error.csrf"))
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
        return WebResponse.redirect("/terminal")

    async def login_form(self, ctx: Context) -> WebResponse:
        if ctx.principal is not None:
            return WebResponse.redirect("/")
        return self._page(ctx, "login.html", next=_local_path(ctx.request.arg("next")),
                          username="")

    async def login(self, ctx: Context) -> WebResponse:
        request = ctx.request
        username = request.arg("username").strip()
        next_path = _local_path(request.arg("next"))
        if not self.throttle.allow(request.client):
            self.log.warn("Login throttled for {client}", client=request.client)
            return self._page(ctx, "login.html", 429, next=next_path, username=username,
                              error=ctx.t("login.throttled"))
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
        if outcome.locked_until is not None:
            until = outcome.locked_until.astimezone(self.core.zone).strftime("%H:%M")
            self.log.warn("Login for {username} refused: locked until {until}",
                          username=username, until=until)
            return self._page(ctx, "login.html", 423, next=next_path, username=username,
                              error=ctx.t("login.locked", until=until))
        return self._page(ctx, "login.html", 401, next=next_path, username=username,
                          error=ctx.t("login.failed"))

    async def logout(self, ctx: Context) -> WebResponse:
        await self.core.db.write(accounts.record_logout, ctx.principal.username,
                                 now=self.core.clock.now())
        cleared = self.sessions.revoke(ctx.session)
        ctx.session = None
        response = WebResponse.redirect("/login")
        response.cookies.append(cleared)
        return response

    async def language(self, ctx: Context) -> WebResponse:
        lang = ctx.request.arg("lang")
        if lang not in LANGUAGES:
            return WebResponse.text(f"lang: one of {', '.join(LANGUAGES)}", 400)
        response = WebResponse.redirect(_local_path(ctx.request.arg("next")))
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

    # Appeals ------------------------------------------------------------------------------

    async def search(self, ctx: Context) -> WebResponse:
        keys = ("case_number", "phone", "status", "unit_id", "date_from", "date_to")
        args = {key: ctx.request.arg(key) for key in keys}
        error, results, searched = None, [], False
        try:
            criteria = queries.parse_search(args)
        except queries.SearchError as problem:
            criteria, error = None, str(problem)
        if criteria is not None and not criteria.empty:
            searched = True
            run = self.core.db.write if criteria.phone else self.core.db.read
            results = await run(queries.search_appeals, criteria, self.core.zone,
                                actor=ctx.actor, now=self.core.clock.now())
        units = await self.core.db.read(queries.units)
        return self._page(ctx, "appeals.html", 422 if error else 200, q=args, results=results,
                          searched=searched, units=units, error=error,
                          statuses=[s.value for s in AppealStatus])

    async def new_appeal_form(self, ctx: Context, *, status: int = 200,
                              error: str | None = None) -> WebResponse:
        arg = ctx.request.arg
        form = {key: arg(key) for key in ("citizen_phone", "channel", "kind", "call_id",
                                          "subject", "body", "citizen_name", "area")}
        form["channel"] = form["channel"] or AppealChannel.PHONE.value
        if form["kind"] not in {k.value for k in AppealKind}:
            form["kind"] = AppealKind.CONSULTATION.value
        return self._page(ctx, "appeal_new.html", status, f=form, error=error,
                          channels=[c.value for c in AppealChannel],
                          kinds=[k.value for k in AppealKind])

    async def create_appeal(self, ctx: Context) -> WebResponse:
        arg = ctx.request.arg
        try:
            channel = AppealChannel(arg("channel") or AppealChannel.PHONE.value)
            kind = AppealKind(arg("kind"))
        except ValueError:
            return await self.new_appeal_form(ctx, status=422,
                                              error="channel/kind: not one of the choices")
        new = NewAppeal(channel=channel, kind=kind, subject=arg("subject"),
                        citizen_phone=arg("citizen_phone"), body=arg("body"),
                        citizen_name=arg("citizen_name") or None, area=arg("area") or None,
                        agent_id=ctx.principal.agent_id, call_id=arg("call_id") or None)
        try:
            appeal = await self.core.appeals.create(new, actor=ctx.actor)
        except AppealValidationError as error:
            return await self.new_appeal_form(ctx, status=422, error=str(error))
        self.log.info("{actor} opened appeal {case_number} for {phone}", actor=ctx.actor,
                      case_number=appeal.case_number, phone=mask_phone(appeal.citizen_phone))
        return WebResponse.redirect(f"/appeals/{appeal.id}?created=1")

    async def appeal(self, ctx: Context, *, status: int = 200,
                     error: str | None = None) -> WebResponse:
        try:
            detail = await self.core.db.write(queries.appeal_detail,
                                              int(ctx.params["appeal_id"]), actor=ctx.actor,
                                              now=self.core.clock.now())
        except AppealNotFound:
            return self._page(ctx, "error.html", 404, status=404,
                              error=ctx.t("error.not_found"))
        notice = None
        if ctx.request.arg("created") and error is None:
            notice = ctx.t("appeal.created", case_number=detail.appeal.case_number)
        return self._page(ctx, "appeal.html", status, d=detail, error=error, notice=notice)

    async def appeal_action(self, ctx: Context) -> WebResponse:
        appeal_id = int(ctx.params["appeal_id"])
        action = ctx.params["action"]
        arg = ctx.request.arg
        appeals = self.core.appeals
        try:
            if action == "assign":
                unit = arg("unit_id")
                if not unit.isdigit():
                    raise AppealValidationError("unit_id", "choose a unit")
                await appeals.assign(appeal_id, int(unit), actor=ctx.actor)
            elif action == "start":
                await appeals.start(appeal_id, actor=ctx.actor)
            elif action == "resolve":
                await appeals.resolve(appeal_id, arg("resolution"), actor=ctx.actor)
            else:
                await appeals.reopen(appeal_id, arg("reason"), actor=ctx.actor)
        except AppealNotFound:
            return self._page(ctx, "error.html", 404, status=404,
                              error=ctx.t("error.not_found"))
        except InvalidTransition as problem:
            return await self.appeal(ctx, status=409,
                                     error=ctx.t("appeal.rejected", error=str(problem)))
        except AppealValidationError as problem:
            return await self.appeal(ctx, status=422,
                                     error=ctx.t("appeal.rejected", error=str(problem)))
        return WebResponse.redirect(f"/appeals/{appeal_id}")

    async def caller(self, ctx: Context) -> WebResponse:
        try:
            phone = normalise_phone(ctx.params["phone"])
        except PhoneNumberError as problem:
            return self._page(ctx, "error.html", 400, status=400, error=str(problem))
        card = await self.core.db.write(queries.caller_card, phone, actor=ctx.actor,
                                        now=self.core.clock.now(),
                                        call_id=ctx.request.arg("call_id") or None)
        return self._page(ctx, "caller.html", c=card)

    async def agents(self, ctx: Context) -> WebResponse:
        rows = await self.core.db.read(accounts.list_agents)
        return self._page(ctx, "agents.html", agents=rows)

    # Supervisor's desk --------------------------------------------------------------------

    async def alerts(self, ctx: Context) -> WebResponse:
        rows = await self.core.db.read(supervisor_alerts.open_alerts)
        notice = ctx.t("alerts.gone") if ctx.request.arg("gone") else None
        return self._page(ctx, "alerts.html", alerts=rows, notice=notice)

    async def acknowledge_alert(self, ctx: Context) -> WebResponse:
        alert_id = int(ctx.params["alert_id"])
        done = await self.core.db.write(supervisor_alerts.acknowledge, alert_id,
                                        actor=ctx.actor, now=self.core.clock.now())
        if not done:
            # Another supervisor got there first, or a stale page: nothing left to do.
            return WebResponse.redirect("/supervisor/alerts?gone=1")
        self.log.info("{actor} acknowledged alert {alert_id}", actor=ctx.actor,
                      alert_id=alert_id)
        return WebResponse.redirect("/supervisor/alerts")

    async def replies(self, ctx: Context) -> WebResponse:
        rows = await self.core.db.write(queries.unmatched_replies, actor=ctx.actor,
                                        now=self.core.clock.now())
        return self._page(ctx, "replies.html", replies=rows)

    async def callbacks_report_page(self, ctx: Context) -> WebResponse:
        form, problem, table = await self._report_table(ctx)
        if problem is not None:
            status, error = problem
            return self._page(ctx, "callbacks_report.html", status, f=form, rows=None,
                              error=error, columns=REPORT_COLUMNS, groupings=REPORT_GROUPINGS)
        return self._page(ctx, "callbacks_report.html", f=form, rows=table,
                          columns=REPORT_COLUMNS, groupings=REPORT_GROUPINGS)

    async def callbacks_report_csv(self, ctx: Context) -> WebResponse:
        form, problem, table = await self._report_table(ctx)
        if problem is not None:
            status, error = problem
            return WebResponse.text(error, status)
        # Chinese headers whatever the page's language: the file goes to the bureau's
        # spreadsheets. The BOM makes Excel read it as UTF-8.
        t = translator("zh")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([t(f"report.by.{form['by']}")]
                        + [t(f"report.col.{name}") for name in REPORT_COLUMNS])
        for label, values in table:
            writer.writerow([_csv_cell(label)]
                            + ["" if values[name] is None else values[name]
                               for name in REPORT_COLUMNS])
        response = WebResponse(200, ("\ufeff" + out.getvalue()).encode("utf-8"),
                               "text/csv; charset=utf-8")
        response.headers.append(("Content-Disposition", f'attachment; filename="callbacks-'
                                 f'{form["from"]}-{form["to"]}-{form["by"]}.csv"'))
        return response

    async def _report_table(self, ctx: Context):
        """The form's values, then (status, message) when there is no table, else the
        rows as (label, values by column)."""
        today = self.core.clock.now().astimezone(self.core.zone).date()
        form = {"from": ctx.request.arg("from") or today.replace(day=1).isoformat(),
                "to": ctx.request.arg("to") or today.isoformat(),
                "by": ctx.request.arg("by") or "unit"}
        report = self.reports.get("callbacks")
        if report is None:
            return form, (404, ctx.t("report.unavailable")), None
        try:
            start, end, by = api.report_period(form, self.core.zone)
        except api.ApiError as error:
            return form, (error.status, ctx.t("report.bad", error=str(error))), None
        rows = await self.core.db.read(report, start, end, by)
        return form, None, [(row.label, row.as_dict()) for row in rows]

    # Callbacks ----------------------------------------------------------------------------

    async def worklist(self, ctx: Context, *, status: int = 200, error: str | None = None,
                       notice: str | None = None) -> WebResponse:
        if self.callbacks is None:
            return self._page(ctx, "error.html", 404, status=404,
                              error=ctx.t("callbacks.unavailable"))
        items = await self.callbacks.worklist(ctx.principal.agent_id)
        if notice is None and ctx.request.arg("done"):
            notice = ctx.t("callbacks.recorded")
        return self._page(ctx, "callbacks.html", status, items=items, error=error,
                          notice=notice, me=ctx.principal.agent_id)

    async def click_to_call(self, ctx: Context) -> WebResponse:
        if self.callbacks is None:
            return await self.worklist(ctx)
        task_id = int(ctx.params["task_id"])
        # The queue's AMI link is the core's (the wiring gives it no other). Without it the
        # agent's phone cannot ring, so the task is not claimed at all.
        ami = self.core.ami
        if ami is None or ami.state != ami.LOGGED_IN:
            return await self.worklist(ctx, status=502, error=ctx.t("callbacks.no_ami"))
        try:
            record = await self.callbacks.click_to_call(task_id, ctx.principal.agent_id)
        except Exception as error:
            if not _is_callback_error(error):
                raise
            return await self._callback_refused(ctx, task_id, "call", error)
        if record.state is not CallbackState.IN_CALL:
            self.log.warn("Click-to-call for task {task_id}: {actor}'s phone did not answer",
                          task_id=task_id, actor=ctx.actor)
            return await self.worklist(ctx, status=502, error=ctx.t("callbacks.not_rung"))
        self.log.info("{actor} calling back task {task_id}", actor=ctx.actor, task_id=task_id)
        return await self.worklist(ctx, notice=ctx.t("callbacks.calling"))

    async def callback_outcome(self, ctx: Context) -> WebResponse:
        if self.callbacks is None:
            return await self.worklist(ctx)
        task_id = int(ctx.params["task_id"])
        arg = ctx.request.arg
        reached = {"yes": True, "no": False}.get(arg("reached"))
        rating_key = arg("rating")
        if reached is None or (rating_key and rating_key not in RATINGS):
            return await self.worklist(ctx, status=422, error=ctx.t(
                "callbacks.rejected", error="reached: yes or no; rating: 1, 2, 3 or none"))
        try:
            await self.callbacks.record_agent_outcome(
                task_id, ctx.principal.agent_id, reached=reached,
                rating=RATINGS.get(rating_key), reason=arg("reason").strip() or None)
        except Exception as error:
            if not _is_callback_error(error):
                raise
            return await self._callback_refused(ctx, task_id, "outcome", error)
        self.log.info("{actor} recorded the outcome of callback task {task_id}: reached "
                      "{reached}, rating {rating}", actor=ctx.actor, task_id=task_id,
                      reached=reached, rating=rating_key or "-")
        return WebResponse.redirect("/callbacks?done=1")

    async def _callback_refused(self, ctx: Context, task_id: int, what: str,
                                error: Exception) -> WebResponse:
        self.log.info("Callback {what} for task {task_id} by {actor} refused: {error}",
                      what=what, task_id=task_id, actor=ctx.actor, error=str(error))
        status = 404 if type(error).__name__ == "TaskNotFound" else 409
        return await self.worklist(ctx, status=status,
                                   error=ctx.t("callbacks.rejected", error=str(error)))

    # Terminal -----------------------------------------------------------------------------

    async def terminal(self, ctx: Context, *, status: int = 200,
                       error: str | None = None) -> WebResponse:
        interface = ctx.principal.interface
        state = self.hub.states.get(interface) if interface else None
        ami = self.core.ami
        if interface and not state.known and ami is not None and ami.state == ami.LOGGED_IN:
            try:
                state = await self.hub.refresh(interface)
            except AMIError as problem:
                error = error or ctx.t("terminal.ami_down", error=str(problem))
        return self._page(ctx, "terminal.html", status, error=error,
                          state=state or self.hub.states.get(""))

    async def queue_action(self, ctx: Context) -> WebResponse:
        interface = ctx.principal.interface
        if not interface:
            return await self.terminal(ctx, status=409, error=ctx.t("terminal.no_interface"))
        action = ctx.request.arg("action")
        try:
            if action == "login":
                await self.hub.login(interface, ctx.principal.display_name)
            elif action == "pause":
                await self.hub.pause(interface, ctx.request.arg("reason").strip())
            elif action == "unpause":
                await self.hub.unpause(interface)
            elif action == "logout":
                await self.hub.logout(interface)
            else:
                return WebResponse.text("action: one of login, pause, unpause, logout", 400)
        except AMIError as problem:
            self.log.warn("Queue {action} for {interface} failed: {error}", action=action,
                          interface=interface, error=problem)
            return await self.terminal(ctx, status=502,
                                       error=ctx.t("terminal.ami_down", error=str(problem)))
        self.log.info("{actor}: queue {action} on {interface}", actor=ctx.actor, action=action,
                      interface=interface)
        return WebResponse.redirect("/terminal")

    async def terminal_events(self, ctx: Context) -> WebResponse | EventStream:
        interface = ctx.principal.interface
        if not interface:
            return WebResponse.text("no interface configured for this agent", 409)
        listener = Listener(interface, ctx.principal.username, ctx.lang, lambda *_: None)
        stop: list[Callable[[], None]] = []

        def open_(send) -> None:
            listener.send = send
            stop.append(self.hub.listen(listener))

        def close() -> None:
            for cancel in stop:
                cancel()

        stream = EventStream(open_, close)
        stream.cookies = [self.sessions.cookie(ctx.session)]
        # The stream ends with the session's lifetime; the page's keepalive then finds the
        # session gone and sends the agent to the login page.
        stream.expires_in = max(1.0, ctx.session.issued + self.auth.session_lifetime_s
                                - self._now())
        ctx.session = None  # set on the stream itself, above
        return stream

    async def keepalive(self, ctx: Context) -> WebResponse:
        """The terminal page calls this while it waits for calls, so that an agent who is
        only listening is not logged out for idleness (the session's lifetime still ends)."""
        return WebResponse(204, b"", "text/plain; charset=utf-8")

    def _pop_card(self, username: str, phone: str | None,
                  call_id: str | None) -> defer.Deferred:
        return self.core.db.write(queries.screen_pop_card, phone, call_id, actor=username,
                                  now=self.core.clock.now())

    def _render_card(self, card: queries.CallerCard, lang: str) -> str:
        return self.renderer.render("_card.html", lang=lang, c=card).decode("utf-8")

    # API ----------------------------------------------------------------------------------

    async def openapi(self, ctx: Context) -> WebResponse:
        return WebResponse.json(api.OPENAPI)

    async def api_create(self, ctx: Context) -> WebResponse:
        try:
            try:
                document = ctx.request.json()
            except (ValueError, UnicodeDecodeError):
                raise api.ApiError(400, "the body is not JSON") from None
            new = api.parse_new_appeal(document)
            try:
                appeal = await self.core.appeals.create(new, actor=api.API_ACTOR)
            except AppealValidationError as error:
                raise api.validation_error(error) from None
        except api.ApiError as error:
            return WebResponse.json(error.document(), error.status)
        self.log.info("API opened appeal {case_number} for {phone}",
                      case_number=appeal.case_number, phone=mask_phone(appeal.citizen_phone))
        response = WebResponse.json(api.status_document(appeal), 201)
        response.headers.append(("Location", f"/api/v1/appeals/{appeal.case_number}"))
        return response

    async def api_status(self, ctx: Context) -> WebResponse:
        try:
            appeal = await self.core.db.write(api.read_status, self.core.appeals.repository,
                                              ctx.params["case_number"],
                                              now=self.core.clock.now())
        except AppealNotFound:
            return WebResponse.json(api.ApiError(404, "no appeal with this case number")
                                    .document(), 404)
        return WebResponse.json(api.status_document(appeal))


    async def api_callback_report(self, ctx: Context) -> WebResponse:
        return await self._callback_report(ctx)

    async def callback_report(self, ctx: Context) -> WebResponse:
        return await self._callback_report(ctx)

    async def _callback_report(self, ctx: Context) -> WebResponse:
        report = self.reports.get("callbacks")
        if report is None:
            return WebResponse.json(api.ApiError(404, "the callback report is not available "
                                                      "in this process").document(), 404)
        args = {name: ctx.request.arg(name) for name in ("from", "to", "by")}
        try:
            start, end, by = api.report_period(args, self.core.zone)
        except api.ApiError as error:
            return WebResponse.json(error.document(), error.status)
        rows = await self.core.db.read(report, start, end, by)
        return WebResponse.json({"from": args["from"], "to": args["to"], "by": by,
                                 "rows": [row.as_dict() for row in rows]})


def _is_callback_error(error: Exception) -> bool:
    """The callback queue's own refusals (its `CallbackError` tree), told apart from a bug
    without importing the package, which is injected."""
    return any(kind.__name__ == "CallbackError" for kind in type(error).__mro__)


def _csv_cell(text: str) -> str:
    """A label (a unit's or agent's name) that a spreadsheet would run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _local_path(candidate: str) -> str:
    """Only a path on this site: no scheme, no host, no `//` (an open redirect)."""
    if not candidate.startswith("/") or candidate.startswith("//") or "\\" in candidate:
        return "/"
    return candidate

