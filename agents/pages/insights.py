"""The supervisors' analysis page (智能分析) and its printable monthly report (月度分析报告):
a period beside its comparison period (环比 / 同比) by kind, category, district, unit and
channel; hot and rising topics, each linking to its appeals; repeat callers and repeated
matters to follow up (numbers masked); satisfaction with its counts; the calls' heat map.
The same report as CSV and XLSX (`hotline.analysis.report_files`, as `hotline report
analysis` writes them) and in the JSON API (`agents.pages.api`).

The figures are `hotline.analysis.insights`'; the districts, the segmenter and its day
cache (`hotline.analysis.context`) are built once, on the first request that needs them.
"""

from __future__ import annotations

import datetime as dt
import math

from agents import charts, params
from agents.http import WebResponse
from agents.routing import SUPERVISORS, Context, Route
from hotline.analysis import insights
from hotline.analysis.context import AnalysisContext, analysis_context
from hotline.analysis.report_files import render
from hotline.assessment.export import XLSX_TYPE
from hotline.assessment.periods import Period, period

ROUTES: tuple[Route, ...] = (
    Route("GET", "/supervisor/insights", SUPERVISORS, "insights_page"),
    Route("GET", "/supervisor/insights/print", SUPERVISORS, "insights_print"),
    Route("GET", "/supervisor/insights.csv", SUPERVISORS, "insights_csv"),
    Route("GET", "/supervisor/insights.xlsx", SUPERVISORS, "insights_xlsx"),
    Route("GET", "/supervisor/insights/term", SUPERVISORS, "insights_term"),
)
TERM_MAX = 40
CHART_ROWS = 12  # groups drawn in a chart; the table has them all
HOURS = tuple(f"{h}" for h in range(24))


class InsightsPages:
    """The analysis page's handlers of `WebApp` (a mixin: `self` is the application)."""

    _analysis_context: AnalysisContext | None = None

    def _insights_context(self) -> AnalysisContext:
        if self._analysis_context is None:
            self._analysis_context = analysis_context(getattr(self.core.config, "analysis", None))
        return self._analysis_context

    def _insights_form(self, ctx: Context, *, month: bool = False):
        """(form, problem or None, (period, compare))."""
        today = self.core.clock.now().astimezone(self.core.zone).date()
        if month:  # the printable report: last month unless one is given
            last_month = today.replace(day=1) - dt.timedelta(days=1)
            defaults = {"month": f"{last_month:%Y-%m}", "compare": "previous"}
        else:
            defaults = {"from": today.replace(day=1).isoformat(), "to": today.isoformat(),
                        "compare": "previous"}
        form = defaults
        try:
            form = params.with_defaults(ctx.request.query, defaults)
            compare = params.choice(form, "compare", insights.COMPARISONS, default="previous")
            if month:
                first = params.day({"month": form["month"] + "-01"}, "month")
                assert first is not None
                last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) \
                    - dt.timedelta(days=1)
            else:
                first, last = params.required_day(form, "from"), params.required_day(form, "to")
                params.ordered(first, last, "from", "to")
            current = period(first, last, self.core.zone)
        except params.ParamError as error:
            return form, ctx.t("report.bad", error=error.message(ctx.t)), None
        except ValueError as error:  # longer than a report covers
            return form, ctx.t("report.bad", error=str(error)), None
        return form, None, (current, compare)

    async def _insights_report(self, current: Period, compare: str) -> insights.AnalysisReport:
        context = self._insights_context()
        return await self.core.db.read(
            insights.analysis_report, current, compare, zone=self.core.zone,
            areas=context.areas, index=context.index, settings=context.settings,
            now=self.core.clock.now())

    async def insights_page(self, ctx: Context) -> WebResponse:
        return await self._insights(ctx, printable=False)

    async def insights_print(self, ctx: Context) -> WebResponse:
        return await self._insights(ctx, printable=True)

    async def _insights(self, ctx: Context, *, printable: bool) -> WebResponse:
        form, problem, query = self._insights_form(ctx, month=printable)
        values = dict(f=form, printable=printable, now=self.core.clock.now(),
                      weekdays=insights.WEEKDAYS, comparisons=insights.COMPARISONS)
        if problem is not None:
            return self._page(ctx, "insights.html", 400, report=None, error=problem, **values)
        report = await self._insights_report(*query)
        return self._page(ctx, "insights.html", report=report, charts=_charts(report, ctx.t),
                          link=_link(report), settings=self._insights_context().settings,
                          **values)

    async def insights_csv(self, ctx: Context) -> WebResponse:
        return await self._insights_file(ctx, "csv", "text/csv; charset=utf-8")

    async def insights_xlsx(self, ctx: Context) -> WebResponse:
        return await self._insights_file(ctx, "xlsx", XLSX_TYPE)

    async def _insights_file(self, ctx: Context, fmt: str, content_type: str) -> WebResponse:
        form, problem, query = self._insights_form(ctx)
        if problem is not None:
            return WebResponse.text(problem, 400)
        context = self._insights_context()
        # Read and written in the database's pool: openpyxl's work has no place on the
        # reactor thread.
        data = await self.core.db.read(_report_file, *query, fmt, zone=self.core.zone,
                                       context=context, now=self.core.clock.now())
        response = WebResponse(200, data, content_type)
        response.headers.append(("Content-Disposition", f'attachment; filename="analysis-'
                                 f'{form["from"]}-{form["to"]}.{fmt}"'))
        return response

    async def insights_term(self, ctx: Context) -> WebResponse:
        """A hot topic's appeals: the period's appeals whose subject or body has the term."""
        form, problem, query = self._insights_form(ctx)
        term = ""
        if problem is None:
            try:
                term = params.text(params.single(ctx.request.query, ("term",)), "term",
                                   TERM_MAX)
            except params.ParamError as error:
                problem = ctx.t("report.bad", error=error.message(ctx.t))
        if problem is not None or not term:
            return self._page(ctx, "insights_term.html", 400, f=form, term=term, rows=None,
                              error=problem or ctx.t("insights.term_missing"))
        rows = await self.core.db.read(insights.term_appeals, term, query[0])
        return self._page(ctx, "insights_term.html", f=form, term=term, rows=rows,
                          limit=insights.FOLLOW_UP_LIMIT)


def _report_file(session, current: Period, compare: str, fmt: str, *, zone, context,
                 now: dt.datetime) -> bytes:
    report = insights.analysis_report(session, current, compare, zone=zone,
                                      areas=context.areas, index=context.index,
                                      settings=context.settings, now=now)
    return render(report, fmt)


def _link(report: insights.AnalysisReport) -> str:
    return (f"from={report.current.first.isoformat()}&to={report.current.last.isoformat()}"
            f"&compare={report.compare}")


def _charts(report: insights.AnalysisReport, t) -> dict:
    current_name = t("insights.current")
    previous_name = t("insights.comparison", name=report.compare_name)
    drawn = {}
    for b in report.breakdowns:
        if b.dimension == "item":
            continue
        drawn[b.dimension] = charts.compare_bars(
            [charts.CompareBar(r.label, r.current, r.previous) for r in b.rows[:CHART_ROWS]],
            title=t("insights.chart_by", name=b.title), current_name=current_name,
            previous_name=previous_name)
    drawn["hot"] = charts.compare_bars(
        [charts.CompareBar(r.term, r.current, r.previous) for r in report.topics.hot[:CHART_ROWS]],
        title=t("insights.hot"), current_name=current_name, previous_name=previous_name)
    heat = report.heat
    peak = heat.peak
    offered_rows = []
    abandon_rows = []
    for d in range(7):
        offered, abandoned = [], []
        for h in range(24):
            cell = heat.cell(d, h)
            level = 0 if not cell.offered else max(1, math.ceil(cell.offered / peak * 5))
            hover = t("insights.heat_hover", day=insights.WEEKDAYS[d], hour=h,
                      offered=cell.offered, abandoned=cell.abandoned)
            offered.append(charts.GridCell(level, str(cell.offered) if cell.offered else "",
                                           hover))
            rate = cell.abandon_rate
            abandoned.append(charts.GridCell(
                0 if rate is None else min(5, 1 + int(rate * 10)),
                "" if rate is None else f"{rate * 100:.0f}", hover))
        offered_rows.append(offered)
        abandon_rows.append(abandoned)
    drawn["heat"] = charts.heat_grid(
        offered_rows, title=t("insights.heat_title"), row_labels=insights.WEEKDAYS,
        column_labels=HOURS, legend=[(1, t("insights.heat_low")), (5, t("insights.heat_high",
                                                                     peak=peak))])
    drawn["abandon"] = charts.heat_grid(
        abandon_rows, title=t("insights.abandon_title"), row_labels=insights.WEEKDAYS,
        column_labels=HOURS, legend=[(1, "0–10%"), (2, "10–20%"), (3, "20–30%"),
                                     (4, "30–40%"), (5, "≥40%")])
    return drawn
