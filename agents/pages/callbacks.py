"""The callback worklist at the hall terminal: mine and the shared one, click-to-call, the
outcome form.

Which task an agent may call or record is the callback queue's rule (its worklist's); a task
it refuses as not this agent's is answered exactly like one that does not exist (404), so
that ids in URLs reveal nothing of other people's work. The outcome form carries the attempt
it was shown for: a second post of it is answered as already saved and changes nothing.
"""

from __future__ import annotations

from twisted.logger import Logger

from agents import params
from agents.http import WebResponse
from agents.routing import STAFF, Context, Route
from schemas.callbacks import CallbackState, ReturnCallDisposition
from schemas.enums import AppealKind, Satisfaction

# The outcome form's rating, as the survey's keys: 1 满意, 2 基本满意, 3 不满意.
RATINGS = {"1": Satisfaction.SATISFIED, "2": Satisfaction.BASICALLY_SATISFIED,
           "3": Satisfaction.DISSATISFIED}

# The kind a caller's IVR menu choice suggests for the 回电 form (ivr.flows.hotline's
# MENU_CHOICES: 1 咨询, 2 求助, 3 投诉; 4 办理进度).
MENU_KINDS = {"consultation": "consultation", "help": "help", "complaint": "complaint",
              "approval_progress": "approval_progress"}

# The outcome form's attempt number goes up to this (a task has at most 20 attempts), and
# the citizen's reason is at most this long (a 不满意 reason goes to the appeal's trail).
MAX_ATTEMPT = 999
REASON_MAX = 2000

# How each refusal of the callback queue (its `CallbackError` tree, by class name, the most
# specific first along the class's MRO) is answered: status and message key.
REFUSALS = {
    "TaskNotFound": (404, "callbacks.not_found"),
    "NotYours": (404, "callbacks.not_found"),
    "TooSoon": (409, "callbacks.too_soon"),
    "StaleOutcome": (409, "callbacks.stale"),
    "TaskBusy": (409, "callbacks.busy"),
}

ROUTES: tuple[Route, ...] = (
    Route("GET", "/callbacks", STAFF, "worklist"),
    Route("POST", "/callbacks/{task_id:int}/call", STAFF, "click_to_call"),
    Route("POST", "/callbacks/{task_id:int}/outcome", STAFF, "callback_outcome"),
    Route("POST", "/callbacks/{task_id:int}/return-call", STAFF, "return_call_outcome"),
)

# The 回电 form's fields (`callback_queue.return_calls.ReturnCallOutcome`).
RETURN_CALL_FIELDS = ("reached", "notes", "disposition", "kind", "subject", "appeal",
                      "rating", "reason", "attempt")
DISPOSITIONS = tuple(d.value for d in ReturnCallDisposition)
NOTES_MAX = 2000
SUBJECT_MAX = 200
MAX_APPEAL_ID = 2**31 - 1


class CallbackPages:
    """The callback handlers of `WebApp` (a mixin: `self` is the application)."""

    log = Logger()

    async def worklist(self, ctx: Context, *, status: int = 200, error: str | None = None,
                       notice: str | None = None,
                       posted: dict[int, dict[str, str]] | None = None) -> WebResponse:
        """`posted`: a refused form's values by task, filled in again (nothing typed is
        lost to a refusal)."""
        if self.callbacks is None:
            return self._page(ctx, "error.html", 404, status=404,
                              error=ctx.t("callbacks.unavailable"))
        items = await self.callbacks.worklist(ctx.principal.agent_id)
        done = ctx.request.arg("done")
        if notice is None and done:
            notice = ctx.t({"again": "callbacks.already_recorded",
                            "return": "return_call.recorded"}.get(done, "callbacks.recorded"))
        return self._page(ctx, "callbacks.html", status, items=items, error=error,
                          notice=notice, me=ctx.principal.agent_id, posted=posted or {},
                          kinds=[k.value for k in AppealKind],
                          dispositions=DISPOSITIONS, menu_kinds=MENU_KINDS)

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
        try:
            args = params.single(ctx.request.form, ("reached", "rating", "reason", "attempt"))
            reached = params.choice(args, "reached", ("yes", "no")) == "yes"
            rating_key = params.choice(args, "rating", tuple(RATINGS))
            reason = params.text(args, "reason", REASON_MAX)
            attempt = params.number(args, "attempt", 1, MAX_ATTEMPT)
            for name in ("reached", "attempt"):
                if not args.get(name):
                    raise params.ParamError(name, "blank")
        except params.ParamError as error:
            return await self.worklist(ctx, status=422, error=ctx.t(
                "callbacks.rejected", error=error.message(ctx.t)))
        try:
            await self.callbacks.record_agent_outcome(
                task_id, ctx.principal.agent_id, reached=reached,
                rating=RATINGS.get(rating_key), reason=reason or None, attempt=attempt)
        except Exception as error:
            if not _is_callback_error(error):
                raise
            if _kind(error, ("OutcomeAlreadyRecorded",)):
                # A double click or a replayed form: the first post counted, this one not.
                self.log.info("{actor} posted the outcome of callback task {task_id} attempt "
                              "{attempt} again; already recorded", actor=ctx.actor,
                              task_id=task_id, attempt=attempt)
                return WebResponse.redirect("/callbacks?done=again")
            return await self._callback_refused(ctx, task_id, "outcome", error)
        self.log.info("{actor} recorded the outcome of callback task {task_id} attempt "
                      "{attempt}: reached {reached}, rating {rating}", actor=ctx.actor,
                      task_id=task_id, attempt=attempt, reached=reached,
                      rating=rating_key or "-")
        return WebResponse.redirect("/callbacks?done=1")

    async def return_call_outcome(self, ctx: Context) -> WebResponse:
        """The 回电 form: what the citizen said and where it went. A refusal shows the form
        again with what was typed."""
        if self.callbacks is None:
            return await self.worklist(ctx)
        task_id = int(ctx.params["task_id"])
        posted = {task_id: {name: value[0] for name, value in ctx.request.form.items()
                            if name in RETURN_CALL_FIELDS and value}}
        try:
            args = params.single(ctx.request.form, RETURN_CALL_FIELDS)
            reached = params.choice(args, "reached", ("yes", "no")) == "yes"
            notes = params.text(args, "notes", NOTES_MAX)
            disposition = params.choice(args, "disposition", DISPOSITIONS)
            kind = params.choice(args, "kind", tuple(k.value for k in AppealKind))
            subject = params.text(args, "subject", SUBJECT_MAX)
            appeal_id = params.number(args, "appeal", 1, MAX_APPEAL_ID)
            rating_key = params.choice(args, "rating", tuple(RATINGS))
            reason = params.text(args, "reason", REASON_MAX)
            attempt = params.number(args, "attempt", 1, MAX_ATTEMPT)
            for name in ("reached", "attempt"):
                if not args.get(name):
                    raise params.ParamError(name, "blank")
        except params.ParamError as error:
            return await self.worklist(ctx, status=422, posted=posted, error=ctx.t(
                "callbacks.rejected", error=error.message(ctx.t)))
        outcome = dict(
            reached=reached, notes=notes,
            disposition=ReturnCallDisposition(disposition) if disposition and reached else None,
            kind=AppealKind(kind) if kind else None, subject=subject, appeal_id=appeal_id,
            rating=RATINGS.get(rating_key) if reached else None, reason=reason or None)
        try:
            record = await self.callbacks.record_return_call(
                task_id, ctx.principal.agent_id, attempt=attempt, **outcome)
        except Exception as error:
            if not _is_callback_error(error):
                raise
            if _kind(error, ("OutcomeAlreadyRecorded",)):
                return WebResponse.redirect("/callbacks?done=again")
            return await self._callback_refused(ctx, task_id, "return call", error,
                                                posted=posted)
        self.log.info("{actor} recorded the 回电 of task {task_id} attempt {attempt}: reached "
                      "{reached}, {disposition}, appeal {appeal}", actor=ctx.actor,
                      task_id=task_id, attempt=attempt, reached=reached,
                      disposition=record.disposition.value if record.disposition else "-",
                      appeal=record.result_appeal_id or "-")
        return WebResponse.redirect("/callbacks?done=return")

    async def _callback_refused(self, ctx: Context, task_id: int, what: str,
                                error: Exception,
                                posted: dict[int, dict[str, str]] | None = None) -> WebResponse:
        self.log.info("Callback {what} for task {task_id} by {actor} refused: {error}",
                      what=what, task_id=task_id, actor=ctx.actor, error=str(error))
        kind = _kind(error, tuple(REFUSALS))
        if kind is None:  # bad input the queue names (a 不满意 without its reason, ...)
            refusal = getattr(error, "key", None)
            message = ctx.t(f"callbacks.refusal.{refusal}") if refusal else str(error)
            return await self.worklist(ctx, status=409, posted=posted,
                                       error=ctx.t("callbacks.rejected", error=message))
        status, key = REFUSALS[kind]
        at = getattr(error, "at", None)
        message = ctx.t(key, task_id=task_id,
                        at=at.astimezone(self.core.zone).strftime("%Y-%m-%d %H:%M") if at else "")
        return await self.worklist(ctx, status=status, posted=posted,
                                   error=ctx.t("callbacks.rejected", error=message))


def _kind(error: Exception, names: tuple[str, ...]) -> str | None:
    """The first of `names` along the error's class hierarchy, most specific first."""
    return next((kind.__name__ for kind in type(error).__mro__ if kind.__name__ in names), None)


def _is_callback_error(error: Exception) -> bool:
    """The callback queue's own refusals (its `CallbackError` tree), told apart from a bug
    without importing the package, which is injected."""
    return any(kind.__name__ == "CallbackError" for kind in type(error).__mro__)
