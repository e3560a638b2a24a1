"""The staffing view for supervisors (坐席排班测算, 服务决策): next week's calls per half-hour
and the officers they need, last week's officers on the phones beside what its calls
needed, and the what-if sum for a load of calls (`hotline.staffing_plan`,
`hotline.staffing`; the same sum as `hotline report staffing`)."""

from __future__ import annotations

from agents import params
from agents.http import WebResponse
from agents.routing import SUPERVISORS, Context, Route
from hotline.staffing import ANSWER_WITHIN_S, StaffingInputError, officers_needed
from hotline.staffing_plan import DEFAULT_WEEKS, MAX_WEEKS, build_plan, days_of, slot_label

ROUTES: tuple[Route, ...] = (
    Route("GET", "/supervisor/staffing", SUPERVISORS, "staffing_page"),
)
DEFAULTS = {"weeks": str(DEFAULT_WEEKS), "within": str(int(ANSWER_WITHIN_S)), "target": "95",
            "offered": "", "handle": ""}


class StaffingPages:
    """The staffing view's handler of `WebApp` (a mixin: `self` is the application)."""

    async def staffing_page(self, ctx: Context) -> WebResponse:
        form = dict(DEFAULTS)
        try:
            form = params.with_defaults(ctx.request.query, DEFAULTS)
            weeks = params.number(form, "weeks", 1, MAX_WEEKS)
            within = params.number(form, "within", 0, 600)
            target = params.number(form, "target", 1, 99)
            offered = params.number(form, "offered", 1, 100_000)
            handle = params.number(form, "handle", 1, 36_000)
        except params.ParamError as error:
            return self._page(ctx, "staffing.html", 400, f=form, plan=None, what_if=None,
                              error=error.message(ctx.t))
        assert weeks is not None and within is not None and target is not None
        core = self.core
        plan = await core.db.read(build_plan, queue=core.config.agi.queue,
                                  now=core.clock.now(), zone=core.zone,
                                  wrap_up_s=core.config.agi.queue_wrapup_s, weeks=weeks,
                                  answer_within_s=within, target=target / 100)
        what_if = None
        if offered is not None and handle is not None:
            try:
                what_if = officers_needed(offered, handle, answer_within_s=within,
                                          target=target / 100)
            except StaffingInputError as error:  # beyond what any hall staffs
                return self._page(ctx, "staffing.html", 400, f=form, plan=plan,
                                  what_if=None, error=str(error), **_layout(plan))
        return self._page(ctx, "staffing.html", f=form, plan=plan, what_if=what_if,
                          within=within, **_layout(plan))


def _layout(plan) -> dict:
    return dict(forecast_days=list(days_of(plan.next_week)),
                review_days=list(days_of(plan.last_week)),
                forecast_rows=plan.rows(plan.forecast), review_rows=plan.rows(plan.review),
                slot_label=slot_label)
