"""Work orders on the hall's side: the lists the hall works from (replies to review, returns
to dispatch again, dispatches not signed for in time) and the supervisors' decisions on the
units' extension requests; and the one wording of a refused work-order step, in the reader's
language, for every page that offers one (the hall's appeal page, the unit officers' pages),
a merge of duplicates' refusals among them.

The steps themselves are the appeal core's (`hotline.appeals.work_orders`), whoever clicks."""

from __future__ import annotations

from twisted.logger import Logger

from agents.http import WebResponse
from agents.i18n import MESSAGES
from agents.params import ParamError
from agents.routing import STAFF, SUPERVISORS, Context, Route
from hotline.appeals import (
    AppealValidationError,
    ExtensionNotFound,
    InvalidTransition,
    MergeRefused,
    WorkOrderRefused,
)
from hotline.appeals.work_orders import HALL_LISTS, REPLY_MAX, TEXT_MAX

ROUTES: tuple[Route, ...] = (
    Route("GET", "/workorders", STAFF, "hall_work_orders_home"),
    Route("GET", "/workorders/{list:" + "|".join(HALL_LISTS) + "}", STAFF, "hall_work_orders"),
    Route("GET", "/supervisor/extensions", SUPERVISORS, "extension_requests"),
    Route("POST", "/supervisor/extensions/{extension_id:int}/{decision:approve|refuse}",
          SUPERVISORS, "decide_extension_request"),
)
# The longest each field of a work-order form may be, as the core bounds it.
FIELD_MAX = {"reason": TEXT_MAX, "instruction": TEXT_MAX, "note": TEXT_MAX,
             "reply": REPLY_MAX, "resolution": REPLY_MAX}
# What InvalidTransition.what names, and the words of its states.
STATE_WORDS = {"a work order": "wo.status", "an extension request": "ext.status",
               "an appeal": "status"}
Refusal = InvalidTransition | WorkOrderRefused | MergeRefused | AppealValidationError | ParamError


def refusal(ctx: Context, problem: Refusal) -> tuple[int, str]:
    """The status and the words of a refused step: 409 for a move the state does not allow,
    422 for what the form said."""
    t = ctx.t
    if isinstance(problem, InvalidTransition):
        state_key = f"{STATE_WORDS.get(problem.what, 'status')}.{problem.status}"
        action_key = f"wo.action.{problem.action}"
        return 409, t("wo.invalid", status=t(state_key) if state_key in MESSAGES
                      else problem.status,
                      action=t(action_key) if action_key in MESSAGES else problem.action)
    if isinstance(problem, WorkOrderRefused | MergeRefused):
        prefix = "wo" if isinstance(problem, WorkOrderRefused) else "merge"
        key = f"{prefix}.refused.{problem.reason}"
        return 409, t(key, **problem.values) if key in MESSAGES else str(problem)
    if isinstance(problem, ParamError):
        return 422, problem.message(t)
    if problem.field == "unit_id" and problem.reason == "required":
        return 422, t("wo.choose_unit")
    return 422, field_refusal(t, problem)


def field_refusal(t, problem: AppealValidationError) -> str:
    """A refused field of an appeal or a step, in the reader's language: the field's name as
    the pages call it, and what is wrong with it (`appeal.invalid.<reason>`)."""
    label_key = next((key for key in (f"wo.field.{problem.field}",
                                      f"appeal.field.{problem.field}") if key in MESSAGES), None)
    label = t(label_key) if label_key else problem.field
    key = f"appeal.invalid.{problem.reason}"
    values = {"max": FIELD_MAX.get(problem.field, TEXT_MAX), **problem.values}
    return t(key if key in MESSAGES else "appeal.invalid.invalid", label=label, **values)


def trail_label(ctx: Context):
    """A trail row's action in words (an action with none shows as written)."""
    def label(action: str) -> str:
        key = f"trail.action.{action}"
        return ctx.t(key) if key in MESSAGES else action
    return label


class WorkOrderPages:
    """The hall's and supervisors' work-order handlers of `WebApp` (a mixin)."""

    log = Logger()

    async def hall_work_orders_home(self, ctx: Context) -> WebResponse:
        return WebResponse.redirect(f"/workorders/{HALL_LISTS[0]}")

    async def hall_work_orders(self, ctx: Context) -> WebResponse:
        work = await self.core.appeals.hall_work(ctx.params["list"])
        return self._page(ctx, "workorders.html", work=work, lists=HALL_LISTS,
                          now=self.core.clock.now())

    async def extension_requests(self, ctx: Context, *, status: int = 200,
                                 error: str | None = None) -> WebResponse:
        pending = await self.core.appeals.pending_extensions()
        done = ctx.request.arg("done")
        notice = ctx.t(f"ext.done.{done}") if done in ("approve", "refuse", "gone") else None
        return self._page(ctx, "extensions.html", status, pending=pending, error=error,
                          notice=notice if error is None else None)

    async def decide_extension_request(self, ctx: Context) -> WebResponse:
        extension_id = int(ctx.params["extension_id"])
        decision = ctx.params["decision"]
        try:
            await self.core.appeals.decide_extension(extension_id, decision == "approve",
                                                     ctx.request.arg("note"), actor=ctx.actor)
        except ExtensionNotFound:
            return self._page(ctx, "error.html", 404, status=404,
                              error=ctx.t("error.not_found"))
        except InvalidTransition:
            # Decided by another supervisor meanwhile, or the order left handling.
            return WebResponse.redirect("/supervisor/extensions?done=gone")
        except (WorkOrderRefused, AppealValidationError) as problem:
            status, words = refusal(ctx, problem)
            return await self.extension_requests(ctx, status=status, error=words)
        self.log.info("{actor} decided extension request {extension_id}: {decision}",
                      actor=ctx.actor, extension_id=extension_id, decision=decision)
        return WebResponse.redirect(f"/supervisor/extensions?done={decision}")
