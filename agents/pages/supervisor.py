"""The supervisor's desk: alerts, unmatched SMS replies, the callback compliance report
(page with its charts, CSV, XLSX, JSON), overdue appeals by unit (page and CSV, where a
supervisor issues a 督办 with a note) and the standing list of 不满意 ratings (where one
attributed to the unit is sent back to it for rework, 重办)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import urlencode

from twisted.logger import Logger

from agents import api, charts, oversight, params, queries
from agents.http import WebResponse
from agents.i18n import translator
from agents.pages.workorders import refusal
from agents.routing import SUPERVISORS, Context, Route
from hotline import alerts as supervisor_alerts
from hotline.appeals import (
    AppealNotFound,
    AppealValidationError,
    InvalidTransition,
    WorkOrderRefused,
)
from hotline.spreadsheet import csv_row

# The compliance report's columns (keys of a row's `.as_dict()`), after the group's label;
# their titles are the i18n keys `report.col.<key>`.
REPORT_COLUMNS = ("resolved", "due", "within", "late", "unreachable", "sms_fallback", "pending",
                  "not_due", "attempts_per_completed", "satisfied", "basically_satisfied", "dissatisfied",
                  "unrated", "compliance")
REPORT_GROUPINGS = api.REPORT_GROUPINGS
# The due callbacks of a group, split as the chart stacks them (they add up to `due`).
CHART_SEGMENTS = ("within", "late", "unreachable", "pending", "not_due")
DAY_SERIES = ("resolved", "within", "late")
REPORT_FILE_TYPES = {"csv": "text/csv; charset=utf-8",
                     "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# The overdue CSV's headers (i18n keys, written in Chinese).
OVERDUE_HEADERS = ("field.unit", "field.case_number", "field.kind", "field.status",
                   "field.subject", "field.deadline", "overdue.days")

ROUTES: tuple[Route, ...] = (
    Route("GET", "/reports/callbacks.json", SUPERVISORS, "callback_report"),
    Route("GET", "/supervisor/alerts", SUPERVISORS, "alerts"),
    Route("POST", "/supervisor/alerts/{alert_id:int}/ack", SUPERVISORS, "acknowledge_alert"),
    Route("GET", "/supervisor/replies", SUPERVISORS, "replies"),
    Route("GET", "/supervisor/callbacks", SUPERVISORS, "callbacks_report_page"),
    Route("GET", "/supervisor/callbacks.csv", SUPERVISORS, "callbacks_report_csv"),
    Route("GET", "/supervisor/callbacks.xlsx", SUPERVISORS, "callbacks_report_xlsx"),
    Route("GET", "/supervisor/overdue", SUPERVISORS, "supervisor_overdue"),
    Route("GET", "/supervisor/overdue.csv", SUPERVISORS, "supervisor_overdue_csv"),
    Route("POST", "/supervisor/overdue/{appeal_id:int}/supervise", SUPERVISORS,
          "supervise_appeal"),
    Route("GET", "/supervisor/dissatisfied", SUPERVISORS, "supervisor_dissatisfied"),
    Route("POST", "/supervisor/dissatisfied/{appeal_id:int}/rework", SUPERVISORS,
          "rework_appeal"),
)


class SupervisorPages:
    """The supervisor's handlers of `WebApp` (a mixin: `self` is the application)."""

    log = Logger()

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
                              error=error, columns=REPORT_COLUMNS, groupings=REPORT_GROUPINGS,
                              group_chart=None, day_chart=None)
        return self._page(ctx, "callbacks_report.html", f=form, rows=table,
                          columns=REPORT_COLUMNS, groupings=REPORT_GROUPINGS,
                          group_chart=_group_chart(ctx, form["by"], table),
                          day_chart=await self._day_chart(ctx, form))

    async def _day_chart(self, ctx: Context, form: dict):
        """The period's days as a chart, when the by-day report is injected; None else."""
        report = self.reports.get("callbacks_by_day")
        if report is None:
            return None
        first, last = (dt.date.fromisoformat(form[name]) for name in ("from", "to"))
        try:
            days = await self.core.db.read(report, first, last, self.core.zone)
        except ValueError as error:  # a period longer than the report takes by day
            return ctx.t("report.chart.no_days", error=str(error))
        names = {s: ctx.t(f"report.col.{s}") for s in DAY_SERIES}
        return charts.day_lines([charts.DayPoint(d.day, {s: getattr(d, s) for s in DAY_SERIES})
                                 for d in days], DAY_SERIES,
                                title=ctx.t("report.chart.by_day"), names=names)

    async def callbacks_report_csv(self, ctx: Context) -> WebResponse:
        return await self._report_file(ctx, "csv")

    async def _report_table(self, ctx: Context):
        """The form's values, then (status, message) when there is no table, else the
        rows as (label, values by column)."""
        form, problem, query = self._report_query(ctx)
        if problem is not None:
            return form, problem, None
        rows = await self.core.db.read(self.reports["callbacks"], *query,
                                       now=self.core.clock.now())
        return form, None, [(row.label, row.as_dict()) for row in rows]

    def _report_query(self, ctx: Context):
        """The form's values, then (status, message) when the report cannot be run, else
        the report's arguments (start, end, by)."""
        today = self.core.clock.now().astimezone(self.core.zone).date()
        form = {"from": today.replace(day=1).isoformat(), "to": today.isoformat(), "by": "unit"}
        if self.reports.get("callbacks") is None:
            return form, (404, ctx.t("report.unavailable")), None
        try:
            form = params.with_defaults(ctx.request.query, form)
            return form, None, api.report_period(form, self.core.zone)
        except params.ParamError as error:
            return form, (400, ctx.t("report.bad", error=error.message(ctx.t))), None

    async def callbacks_report_xlsx(self, ctx: Context) -> WebResponse:
        return await self._report_file(ctx, "xlsx")

    async def _report_file(self, ctx: Context, file_format: str) -> WebResponse:
        """The report as the file `hotline report callbacks` writes: the callback queue's one
        renderer (`reports["callbacks_file"]`), run with its query in the database's pool."""
        form, problem, query = self._report_query(ctx)
        if problem is None and self.reports.get("callbacks_file") is None:
            problem = (404, ctx.t("report.unavailable"))
        if problem is not None:
            status, error = problem
            return WebResponse.text(error, status)
        data = await self.core.db.read(self.reports["callbacks_file"], *query, file_format,
                                       self.core.zone, now=self.core.clock.now())
        response = WebResponse(200, data, REPORT_FILE_TYPES[file_format])
        response.headers.append(("Content-Disposition", f'attachment; filename="callbacks-'
                                 f'{form["from"]}-{form["to"]}-{query[2]}.{file_format}"'))
        return response

    async def callback_report(self, ctx: Context) -> WebResponse:
        return await self._callback_report(ctx)

    # Oversight (督办) ------------------------------------------------------------------------

    async def supervisor_overdue(self, ctx: Context, *, status: int = 200,
                                 error: str | None = None) -> WebResponse:
        report = await self._overdue()
        orders = await self.core.appeals.overdue_orders()
        marks = await self.core.appeals.oversight_marks(list(
            {a.id for unit in report.units for a in unit.appeals}
            | {r.appeal_id for r in orders.rows}))
        done = ctx.request.arg("done") == "supervise" and error is None
        return self._page(ctx, "overdue.html", status, report=report, marks=marks,
                          orders=orders,
                          now=self.core.clock.now(), limit=oversight.OVERDUE_LIMIT,
                          error=error, failed=_failed(ctx) if error else None,
                          notice=ctx.t("overdue.done.supervise") if done else None)

    async def supervise_appeal(self, ctx: Context) -> WebResponse:
        """督办 by hand, with a note, from the overdue page."""
        appeal_id = int(ctx.params["appeal_id"])
        assert ctx.principal is not None  # a supervisor's route
        try:
            await self.core.appeals.supervise(appeal_id, ctx.request.arg("note"),
                                              agent_id=ctx.principal.agent_id, actor=ctx.actor)
        except AppealNotFound:
            return self._page(ctx, "error.html", 404, status=404,
                              error=ctx.t("error.not_found"))
        except (WorkOrderRefused, AppealValidationError) as problem:
            code, words = refusal(ctx, problem)
            return await self.supervisor_overdue(ctx, status=code, error=words)
        self.log.info("{actor} supervised (督办) appeal {appeal_id}", actor=ctx.actor,
                      appeal_id=appeal_id)
        return WebResponse.redirect(f"/supervisor/overdue?done=supervise#overdue-{appeal_id}")

    async def supervisor_overdue_csv(self, ctx: Context) -> WebResponse:
        report = await self._overdue()
        t = translator("zh")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([t(key) for key in OVERDUE_HEADERS])
        for unit in report.units:
            for appeal in unit.appeals:
                writer.writerow(csv_row([unit.label or t("overdue.no_unit"),
                                         appeal.case_number, t(f"kind.{appeal.kind}"),
                                         t(f"status.{appeal.status}"), appeal.subject,
                                         _local(appeal.deadline_at, self.core.zone),
                                         appeal.days_overdue]))
        day = self.core.clock.now().astimezone(self.core.zone).date().isoformat()
        response = WebResponse(200, ("\ufeff" + out.getvalue()).encode("utf-8"),
                               "text/csv; charset=utf-8")
        response.headers.append(("Content-Disposition",
                                 f'attachment; filename="overdue-{day}.csv"'))
        return response

    def _overdue(self):
        return self.core.db.read(oversight.overdue_by_unit, now=self.core.clock.now(),
                                 zone=self.core.zone, calendar=self.core.calendar)

    async def rework_appeal(self, ctx: Context) -> WebResponse:
        """重办: the supervisor attributes a 不满意 rating to the unit (why, in `reason`) and
        sends the appeal back to it, from the dissatisfied page."""
        appeal_id = int(ctx.params["appeal_id"])
        arg = ctx.request.arg
        try:
            await self.core.appeals.rework(appeal_id, arg("reason"), arg("instruction"),
                                           actor=ctx.actor)
        except AppealNotFound:
            return self._page(ctx, "error.html", 404, status=404,
                              error=ctx.t("error.not_found"))
        except (InvalidTransition, WorkOrderRefused, AppealValidationError) as problem:
            code, words = refusal(ctx, problem)
            return await self.supervisor_dissatisfied(ctx, status=code, error=words)
        self.log.info("{actor} sent appeal {appeal_id} back to its unit (重办)",
                      actor=ctx.actor, appeal_id=appeal_id)
        back = arg("back")
        query = back if back.startswith("from=") else ""  # the period the page showed
        return WebResponse.redirect(f"/supervisor/dissatisfied?{query}&done=rework"
                                    if query else "/supervisor/dissatisfied?done=rework")

    async def supervisor_dissatisfied(self, ctx: Context, *, status: int = 200,
                                      error: str | None = None) -> WebResponse:
        today = self.core.clock.now().astimezone(self.core.zone).date()
        form = {"from": (today - dt.timedelta(days=29)).isoformat(), "to": today.isoformat(),
                "unit_id": ""}
        units = await self.core.db.read(queries.units)
        try:
            form = params.with_defaults(ctx.request.query, form)
            start, end, _by = api.report_period(form, self.core.zone)
            unit_id = params.ident(form, "unit_id")
        except params.ParamError as error:
            return self._page(ctx, "dissatisfied.html", 400, f=form, units=units,
                              ratings=None, error=ctx.t("report.bad", error=error.message(ctx.t)))
        ratings = await self.core.db.write(
            oversight.dissatisfied_ratings, start=start, end=end, unit_id=unit_id,
            actor=ctx.actor, now=self.core.clock.now())
        marks = await self.core.appeals.oversight_marks(
            list(dict.fromkeys(r.appeal_id for r in ratings)))
        # The newest rating of each appeal is the one a rework answers.
        newest = {r.appeal_id: r.alert_id for r in reversed(ratings)}
        done = ctx.request.arg("done") == "rework" and error is None
        return self._page(ctx, "dissatisfied.html", status, f=form, units=units,
                          ratings=ratings, limit=oversight.DISSATISFIED_LIMIT, marks=marks,
                          newest=newest, error=error, failed=_failed(ctx) if error else None,
                          back=urlencode({k: form[k] for k in ("from", "to", "unit_id")}),
                          notice=ctx.t("dissatisfied.done.rework") if done else None)


def _failed(ctx: Context) -> dict:
    """The refused form's appeal and what was typed in it, to show again."""
    form = {k: ctx.request.form.get(k, [""])[0] for k in ("note", "reason", "instruction")}
    return {"appeal_id": int(ctx.params["appeal_id"]), **form}


def _group_chart(ctx: Context, by: str, table):
    groups = [charts.GroupBars(label, values["compliance"],
                               tuple((s, values[s]) for s in CHART_SEGMENTS))
              for label, values in table if values["group"] != "*"]
    if not groups:
        return None
    return charts.group_bars(groups, title=ctx.t("report.chart.by_group",
                                                 group=ctx.t(f"report.by.{by}")),
                             rate_title=ctx.t("report.col.compliance"),
                             count_title=ctx.t("report.chart.due_split"),
                             names={s: ctx.t(f"report.col.{s}") for s in CHART_SEGMENTS})


def _local(value: dt.datetime, zone) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")

