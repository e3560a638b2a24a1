"""The unit officers' pages (承办单位): their unit's work lists (to sign for, in progress, due
soon, overdue, sent back for rework or 重办, replied) under the 催办 and 督办 of its orders
still with it, and an appeal's page, where they sign for it, return it, ask an extension,
note progress and reply.

A unit officer sees an appeal only through their unit's work order on it; any other id is
not found, as an unknown one is (the core decides: `AppealService.unit_appeal` and each step
take the officer's unit). Opening an appeal is audited as the hall's reads are."""

from __future__ import annotations

from twisted.logger import Logger

from agents import params
from agents.http import WebResponse
from agents.pages.workorders import refusal, trail_label
from agents.routing import Context, Route
from hotline.appeals import (
    AppealNotFound,
    AppealValidationError,
    InvalidTransition,
    WorkOrderRefused,
)
from hotline.appeals.work_orders import UNIT_LISTS
from schemas.enums import AgentRole

UNIT_OFFICERS = frozenset({AgentRole.UNIT_OFFICER})

ROUTES: tuple[Route, ...] = (
    Route("GET", "/unit", UNIT_OFFICERS, "unit_home"),
    Route("GET", "/unit/work/{list:" + "|".join(UNIT_LISTS) + "}", UNIT_OFFICERS,
          "unit_work_list"),
    Route("GET", "/unit/appeals/{appeal_id:int}", UNIT_OFFICERS, "unit_appeal_page"),
    Route("POST", "/unit/appeals/{appeal_id:int}/{action:sign|return|extension|note|reply}",
          UNIT_OFFICERS, "unit_appeal_action"),
)
# ?done= after a step: the notice to show.
DONE = ("sign", "extension", "note", "reply", "returned")
DAYS_MAX = 999  # a form's extension days, before the core's rule


def _unit(ctx: Context) -> int:
    unit = ctx.principal.unit_scope if ctx.principal else None
    assert unit is not None  # the route is a unit officer's; accounts refuses one without
    return unit


class UnitPages:
    """The unit officers' handlers of `WebApp` (a mixin: `self` is the application)."""

    log = Logger()

    async def unit_home(self, ctx: Context) -> WebResponse:
        return WebResponse.redirect(f"/unit/work/{UNIT_LISTS[0]}")

    async def unit_work_list(self, ctx: Context) -> WebResponse:
        work = await self.core.appeals.unit_work(_unit(ctx), ctx.params["list"])
        notices = await self.core.appeals.unit_notices(_unit(ctx))
        done = ctx.request.arg("done")
        return self._page(ctx, "unit_work.html", work=work, lists=UNIT_LISTS,
                          now=self.core.clock.now(), notices=notices,
                          notice=ctx.t(f"unit.done.{done}") if done in DONE else None)

    async def unit_appeal_page(self, ctx: Context, *, status: int = 200,
                               error: str | None = None) -> WebResponse:
        try:
            view = await self.core.appeals.unit_appeal(int(ctx.params["appeal_id"]),
                                                       unit_id=_unit(ctx), actor=ctx.actor)
        except AppealNotFound:
            return self._page(ctx, "error.html", 404, status=404,
                              error=ctx.t("error.not_found"))
        done = ctx.request.arg("done")
        notice = ctx.t(f"unit.done.{done}") if done in DONE and error is None else None
        return self._page(ctx, "unit_appeal.html", status, v=view, now=self.core.clock.now(),
                          error=error, notice=notice, action_label=trail_label(ctx),
                          failed=ctx.params.get("action") if error else None,
                          form={k: ctx.request.form.get(k, [""])[0] if error else ""
                                for k in ("reason", "days", "note", "reply")})

    async def unit_appeal_action(self, ctx: Context) -> WebResponse:
        appeal_id = int(ctx.params["appeal_id"])
        action = ctx.params["action"]
        unit = _unit(ctx)
        arg = ctx.request.arg
        appeals = self.core.appeals
        try:
            if action == "sign":
                await appeals.sign(appeal_id, unit_id=unit, actor=ctx.actor)
            elif action == "return":
                await appeals.return_order(appeal_id, arg("reason"), unit_id=unit,
                                           actor=ctx.actor)
            elif action == "extension":
                # Bounded as a number here; the core says how many days are left.
                days = params.number({"days": arg("days").strip()}, "days", 1, DAYS_MAX)
                if days is None:
                    raise params.ParamError("days", "blank")
                await appeals.request_extension(appeal_id, days, arg("reason"), unit_id=unit,
                                                actor=ctx.actor)
            elif action == "note":
                await appeals.unit_note(appeal_id, arg("note"), unit_id=unit, actor=ctx.actor)
            else:
                await appeals.reply(appeal_id, arg("reply"), unit_id=unit, actor=ctx.actor)
        except AppealNotFound:
            return self._page(ctx, "error.html", 404, status=404,
                              error=ctx.t("error.not_found"))
        except (InvalidTransition, WorkOrderRefused, AppealValidationError,
                params.ParamError) as problem:
            status, words = refusal(ctx, problem)
            return await self.unit_appeal_page(ctx, status=status, error=words)
        self.log.info("{actor} ({unit}) {action} on appeal {appeal_id}", actor=ctx.actor,
                      unit=unit, action=action, appeal_id=appeal_id)
        if action == "return":  # no longer the unit's: back to its list
            return WebResponse.redirect("/unit/work/to_sign?done=returned")
        return WebResponse.redirect(f"/unit/appeals/{appeal_id}?done={action}")
