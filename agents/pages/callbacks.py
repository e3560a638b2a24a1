"""The callback worklist at the hall terminal: mine and the shared one, click-to-call, the
outcome form."""

from __future__ import annotations

from twisted.logger import Logger

from agents.http import WebResponse
from agents.routing import STAFF, Context, Route
from schemas.callbacks import CallbackState
from schemas.enums import Satisfaction

# The outcome form's rating, as the survey's keys: 1 满意, 2 基本满意, 3 不满意.
RATINGS = {"1": Satisfaction.SATISFIED, "2": Satisfaction.BASICALLY_SATISFIED,
           "3": Satisfaction.DISSATISFIED}

ROUTES: tuple[Route, ...] = (
    Route("GET", "/callbacks", STAFF, "worklist"),
    Route("POST", "/callbacks/{task_id:int}/call", STAFF, "click_to_call"),
    Route("POST", "/callbacks/{task_id:int}/outcome", STAFF, "callback_outcome"),
)


class CallbackPages:
    """The callback handlers of `WebApp` (a mixin: `self` is the application)."""

    log = Logger()

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



def _is_callback_error(error: Exception) -> bool:
    """The callback queue's own refusals (its `CallbackError` tree), told apart from a bug
    without importing the package, which is injected."""
    return any(kind.__name__ == "CallbackError" for kind in type(error).__mro__)
