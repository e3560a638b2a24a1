"""Agent administration (the admin role): the list, adding an agent, changing its role,
unit, interface and name, deactivating and reactivating it, resetting its password.
An agent deactivated, or moved to another interface, is taken out of Asterisk's queue on
the interface it leaves (QueueRemove), so no call rings a phone nobody answers for.

The rules and the audit rows are `hotline.agents_admin`'s (the `hotline agents` command
uses the same functions); these handlers turn a form into a call and a refusal into a 422
page that keeps what was typed (never a password). A generated password is shown in the
response to the request that set it, and nowhere else.
"""

from __future__ import annotations

from twisted.logger import Logger

from agents import accounts, queries
from agents.http import WebResponse
from agents.i18n import MESSAGES
from agents.routing import ADMINS, Context, Route
from hotline import agents_admin, audit
from hotline.agents_admin import AgentAdminError, AgentNotFound
from hotline.ami.errors import AMIError
from hotline.passwords import MIN_LENGTH
from schemas.enums import AgentRole

ROUTES: tuple[Route, ...] = (
    Route("GET", "/admin/agents", ADMINS, "admin_agents"),
    Route("GET", "/admin/agents/new", ADMINS, "admin_new_agent_form"),
    Route("POST", "/admin/agents", ADMINS, "admin_add_agent"),
    Route("GET", "/admin/agents/{agent_id:int}", ADMINS, "admin_agent"),
    Route("POST", "/admin/agents/{agent_id:int}", ADMINS, "admin_update_agent"),
    Route("POST", "/admin/agents/{agent_id:int}/password", ADMINS, "admin_reset_password"),
    Route("POST", "/admin/agents/{agent_id:int}/{action:deactivate|reactivate}", ADMINS,
          "admin_set_active"),
)

FIELDS = ("username", "display_name", "role", "unit", "interface")
# The label of a refused field, for the words of a refusal that name it.
FIELD_LABELS = {"username": "agents.username", "display_name": "agents.display_name",
                "role": "agents.role", "unit": "field.unit", "interface": "terminal.interface",
                "password": "login.password", "active": "agents.active"}
# ?done= on the agent's page after a redirect: the notice to show.
NOTICES = ("created", "saved", "password_reset", "deactivated", "reactivated")


class AdminPages:
    """The administration handlers of `WebApp` (a mixin: `self` is the application)."""

    log = Logger()

    async def admin_agents(self, ctx: Context) -> WebResponse:
        rows = await self.core.db.read(accounts.list_agents)
        return self._page(ctx, "agents.html", agents=rows)

    async def admin_new_agent_form(self, ctx: Context) -> WebResponse:
        blank = dict.fromkeys(FIELDS, "") | {"role": AgentRole.AGENT.value}
        return await self._admin_form(ctx, None, 200, blank)

    async def admin_add_agent(self, ctx: Context) -> WebResponse:
        form = _form(ctx)
        password, generated = _password(ctx)
        try:
            record = await self.core.db.write(
                agents_admin.add_agent, username=form["username"],
                display_name=form["display_name"], role=_role(form["role"]), password=password,
                unit_code=form["unit"] or None, interface=form["interface"] or None,
                actor=ctx.actor, now=self.core.clock.now())
        except AgentAdminError as refused:
            return await self._admin_form(ctx, None, 422, form, error=_words(ctx, refused))
        self.log.info("{actor} added agent {username} as {role}", actor=ctx.actor,
                      username=record.username, role=record.role.value)
        if generated:
            return await self._admin_form(ctx, record.id, 200, None, generated=password,
                                          notice=ctx.t("admin.created",
                                                       username=record.username))
        return WebResponse.redirect(f"/admin/agents/{record.id}?done=created")

    async def admin_agent(self, ctx: Context) -> WebResponse:
        return await self._admin_form(ctx, int(ctx.params["agent_id"]), 200, None)

    async def admin_update_agent(self, ctx: Context) -> WebResponse:
        agent_id = int(ctx.params["agent_id"])
        form = _form(ctx)
        try:
            before = await self.core.db.read(agents_admin.get_agent, agent_id)
            record = await self.core.db.write(
                agents_admin.update_agent, agent_id, display_name=form["display_name"],
                role=_role(form["role"]), unit_code=form["unit"] or None,
                interface=form["interface"] or None, actor=ctx.actor,
                now=self.core.clock.now())
        except AgentNotFound:
            return self._admin_not_found(ctx)
        except AgentAdminError as refused:
            return await self._admin_form(ctx, agent_id, 422, form, error=_words(ctx, refused))
        self.log.info("{actor} changed agent {username}", actor=ctx.actor,
                      username=record.username)
        if before.interface and before.interface != record.interface:
            await self._admin_leave_queue(before.interface, record.username)
        return WebResponse.redirect(f"/admin/agents/{agent_id}?done=saved")

    async def admin_reset_password(self, ctx: Context) -> WebResponse:
        agent_id = int(ctx.params["agent_id"])
        password, generated = _password(ctx)
        try:
            record = await self.core.db.write(agents_admin.reset_password, agent_id, password,
                                              actor=ctx.actor, now=self.core.clock.now())
        except AgentNotFound:
            return self._admin_not_found(ctx)
        except AgentAdminError as refused:
            return await self._admin_form(ctx, agent_id, 422, None, error=_words(ctx, refused))
        self.log.info("{actor} reset the password of {username}", actor=ctx.actor,
                      username=record.username)
        if generated:
            return await self._admin_form(ctx, agent_id, 200, None, generated=password,
                                          notice=ctx.t("admin.password_reset",
                                                       username=record.username))
        return WebResponse.redirect(f"/admin/agents/{agent_id}?done=password_reset")

    async def admin_set_active(self, ctx: Context) -> WebResponse:
        agent_id = int(ctx.params["agent_id"])
        action = ctx.params["action"]
        try:
            record = await self.core.db.write(agents_admin.set_active, agent_id,
                                              action == "reactivate", actor=ctx.actor,
                                              now=self.core.clock.now())
        except AgentNotFound:
            return self._admin_not_found(ctx)
        except AgentAdminError as refused:
            return await self._admin_form(ctx, agent_id, 422, None, error=_words(ctx, refused))
        self.log.info("{actor}: {username} {action}d", actor=ctx.actor,
                      username=record.username, action=action)
        if not record.active and record.interface:
            await self._admin_leave_queue(record.interface, record.username)
        return WebResponse.redirect(f"/admin/agents/{agent_id}?done={action}d")

    async def _admin_leave_queue(self, interface: str, username: str) -> None:
        """QueueRemove on the interface an agent left; not a member, or no AMI link, is not
        an error of the change (it is logged: the supervisor can remove it in Asterisk)."""
        ami = self.core.ami
        if ami is None or ami.state != ami.LOGGED_IN:
            self.log.warn("{username} left {interface}, but with no AMI link it stays in the "
                          "queue until the agent logs out there", username=username,
                          interface=interface)
            return
        try:
            await self.hub.logout(interface)
        except AMIError as error:
            # Asterisk answers an error for an interface that is not a member: nothing to do.
            self.log.info("QueueRemove {interface} for {username}: {error}",
                          interface=interface, username=username, error=str(error))

    async def _admin_form(self, ctx: Context, agent_id: int | None, status: int,
                          form: dict[str, str] | None, *, error: str | None = None,
                          notice: str | None = None,
                          generated: str | None = None) -> WebResponse:
        """The new-agent form (`agent_id` None) or an agent's page: `form` holds the values
        to show (what was typed, after a refusal), else the agent's own."""
        def load(session):
            if agent_id is None:
                return None, [], queries.units(session)
            return (agents_admin.get_agent(session, agent_id),
                    audit.trail(session, agents_admin.ENTITY, agent_id), queries.units(session))

        try:
            agent, trail, units = await self.core.db.read(load)
        except AgentNotFound:
            return self._admin_not_found(ctx)
        if form is None:
            form = {"username": agent.username, "display_name": agent.display_name,
                    "role": agent.role.value, "unit": agent.unit_code or "",
                    "interface": agent.interface or ""}
        done = ctx.request.arg("done")
        if agent is not None and notice is None and error is None and done in NOTICES:
            notice = ctx.t(f"admin.{done}", username=agent.username)
        return self._page(ctx, "agent_form.html", status, agent=agent, f=form, units=units,
                          trail=trail, roles=[r.value for r in AgentRole], error=error,
                          notice=notice, generated=generated, min_password=MIN_LENGTH)

    def _admin_not_found(self, ctx: Context) -> WebResponse:
        return self._page(ctx, "error.html", 404, status=404, error=ctx.t("error.not_found"))


def _form(ctx: Context) -> dict[str, str]:
    return {name: ctx.request.arg(name).strip() for name in FIELDS}


def _password(ctx: Context) -> tuple[str, bool]:
    """The password typed, or a generated one (and whether it was generated)."""
    typed = ctx.request.arg("password")
    return (typed, False) if typed else (agents_admin.generate_password(), True)


def _role(value: str) -> AgentRole:
    try:
        return AgentRole(value)
    except ValueError:
        raise AgentAdminError("role", "role", "agent, supervisor or admin") from None


def _words(ctx: Context, refused: AgentAdminError) -> str:
    key = f"admin.error.{refused.reason}"
    if key not in MESSAGES:
        return str(refused)
    label = ctx.t(FIELD_LABELS.get(refused.field, refused.field))
    return ctx.t(key, label=label, **refused.values)
