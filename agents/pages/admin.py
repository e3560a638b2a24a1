"""Agent administration (the admin role)."""

from __future__ import annotations

from twisted.logger import Logger

from agents import accounts
from agents.http import WebResponse
from agents.routing import ADMINS, Context, Route

ROUTES: tuple[Route, ...] = (
    Route("GET", "/admin/agents", ADMINS, "agents"),
)


class AdminPages:
    """The administration handlers of `WebApp` (a mixin: `self` is the application)."""

    log = Logger()

    async def agents(self, ctx: Context) -> WebResponse:
        rows = await self.core.db.read(accounts.list_agents)
        return self._page(ctx, "agents.html", agents=rows)

