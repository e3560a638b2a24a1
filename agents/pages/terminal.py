"""The hall terminal: the agent's queue state and buttons, the live event stream (state
changes, with the call the agent is on, and screen pops) that every page of the desk
follows, the current call's card, and the keepalive."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from twisted.internet import defer
from twisted.logger import Logger

from agents import params, queries, threeway
from agents.auth import local_path
from agents.http import EventStream, WebResponse, referring_page
from agents.routing import STAFF, Context, Route
from agents.terminal import Listener, MemberState
from hotline.ami.errors import AMIError

ROUTES: tuple[Route, ...] = (
    Route("GET", "/terminal", STAFF, "terminal"),
    Route("POST", "/terminal/queue", STAFF, "queue_action"),
    Route("POST", "/terminal/threeway", STAFF, "threeway_action"),
    Route("GET", "/terminal/events", STAFF, "terminal_events"),
    Route("GET", "/terminal/card", STAFF, "current_card"),
    Route("GET", "/session/keepalive", STAFF, "keepalive"),
)


class TerminalPages:
    """The terminal's handlers of `WebApp` (a mixin: `self` is the application)."""

    log = Logger()

    async def terminal(self, ctx: Context, *, status: int = 200,
                       error: str | None = None) -> WebResponse:
        interface = ctx.principal.interface
        state = await self.hub.state_of(interface) if interface else MemberState()
        ami = self.core.ami
        if interface and not state.known and ami is not None and ami.state == ami.LOGGED_IN:
            # Nothing recorded yet (Asterisk had the member before any process followed it).
            try:
                state = await self.hub.refresh(interface)
            except AMIError as problem:
                error = error or ctx.t("terminal.ami_down", error=str(problem))
        card = await self._call_card(ctx, state)
        answered = ctx.request.arg("answered")
        notice = (ctx.t("appeal.answered", case_number=answered)
                  if answered.isascii() and answered.isdigit() and len(answered) <= 32
                  else None)
        joined = ctx.request.arg("threeway")
        if joined and len(joined) <= 128:
            notice = ctx.t("threeway.joined", unit=joined, phone=ctx.request.arg("phone")[:32])
        units = await self.core.db.read(threeway.units_with_duty_phone) if interface else []
        return self._page(ctx, "terminal.html", status, error=error, state=state,
                          wrap_up_left=state.wrap_up_left_s(self.core.clock.now()), card=card,
                          notice=notice, threeway_units=units)

    async def current_card(self, ctx: Context) -> WebResponse:
        """The card of the call the agent is on, as the stream's `card` event carries it (a
        page that learnt of the call from its state, or asks to see the card again); 204
        when the agent is on no call the queue connected."""
        interface = ctx.principal.interface
        state = await self.hub.state_of(interface) if interface else MemberState()
        card = await self._call_card(ctx, state)
        if card is None:
            return WebResponse(204, b"", "text/plain; charset=utf-8")
        return WebResponse(200, card.encode("utf-8"), "text/html; charset=utf-8")

    async def _call_card(self, ctx: Context, state: MemberState) -> str | None:
        call = state.call
        if call is None:
            return None
        card = await self._pop_card(ctx.principal.username, call.caller, call.call_id)
        return None if card is None else self._render_card(card, ctx.lang, call.key)

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

    async def threeway_action(self, ctx: Context) -> WebResponse:
        """三方通话: the unit's duty phone into the officer's current call (agents.threeway)."""
        interface = ctx.principal.interface
        if not interface:
            return await self.terminal(ctx, status=409, error=ctx.t("terminal.no_interface"))
        try:
            unit_id = params.ident(params.single(ctx.request.form, ("unit_id",)), "unit_id")
        except params.ParamError as error:
            return await self.terminal(ctx, status=400, error=error.message(ctx.t))
        if unit_id is None:
            return await self.terminal(ctx, status=400,
                                       error=ctx.t("threeway.unit_unknown"))
        try:
            joined = await threeway.bring_in_unit(self.core, interface=interface,
                                                  unit_id=unit_id, actor=ctx.actor)
        except threeway.ThreeWayRefused as refused:
            status = 502 if refused.reason == "ami_down" else 409
            return await self.terminal(ctx, status=status,
                                       error=ctx.t(f"threeway.{refused.reason}", **refused.values))
        self.log.info("{actor}: three-way call with {unit} in conference {conference}",
                      actor=ctx.actor, unit=joined.unit_name, conference=joined.conference)
        return WebResponse.redirect("/terminal?" + urlencode(
            {"threeway": joined.unit_name, "phone": joined.unit_phone}))

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

    def submission_lost(self, ctx: Context, status: int) -> WebResponse:
        """A form posted without a live session (401) or with a stale token (403): nothing
        changed, and the page says so in the officer's language, with a login (401) or a
        link (403) back to the page the form was on, where app.js puts back what was typed
        (it keeps a draft of every form until a page other than this one follows its
        submission)."""
        back = local_path(referring_page(ctx.request.headers))
        response = self._page(ctx, "submission_lost.html", status, status=status, back=back,
                              next=back)
        response.cookies.extend(ctx.cookies)  # the login form's token, when it has one
        return response

    async def keepalive(self, ctx: Context) -> WebResponse:
        """The terminal page calls this while it waits for calls, so that an agent who is
        only listening is not logged out for idleness (the session's lifetime still ends)."""
        return WebResponse(204, b"", "text/plain; charset=utf-8")

    def _pop_card(self, username: str, phone: str | None,
                  call_id: str | None) -> defer.Deferred:
        return self.core.db.write(queries.screen_pop_card, phone, call_id, actor=username,
                                  now=self.core.clock.now())

    def _render_card(self, card: queries.CallerCard, lang: str, key: str = "") -> str:
        return self.renderer.render("_card.html", lang=lang, c=card,
                                    call_key=key, csrf="").decode("utf-8")

