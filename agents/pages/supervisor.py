"""The supervisor's desk: alerts, unmatched SMS replies, the callback compliance report
(page, CSV, JSON)."""

from __future__ import annotations

import csv
import io

from twisted.logger import Logger

from agents import api, queries
from agents.http import WebResponse
from agents.i18n import translator
from agents.routing import SUPERVISORS, Context, Route
from hotline import alerts as supervisor_alerts

# The compliance report's columns (keys of a row's `.as_dict()`), after the group's label;
# their titles are the i18n keys `report.col.<key>`.
REPORT_COLUMNS = ("resolved", "due", "within", "late", "unreachable", "sms_fallback", "pending",
                  "attempts_per_completed", "satisfied", "basically_satisfied", "dissatisfied",
                  "unrated", "compliance")
REPORT_GROUPINGS = ("unit", "agent", "kind")

ROUTES: tuple[Route, ...] = (
    Route("GET", "/reports/callbacks.json", SUPERVISORS, "callback_report"),
    Route("GET", "/supervisor/alerts", SUPERVISORS, "alerts"),
    Route("POST", "/supervisor/alerts/{alert_id:int}/ack", SUPERVISORS, "acknowledge_alert"),
    Route("GET", "/supervisor/replies", SUPERVISORS, "replies"),
    Route("GET", "/supervisor/callbacks", SUPERVISORS, "callbacks_report_page"),
    Route("GET", "/supervisor/callbacks.csv", SUPERVISORS, "callbacks_report_csv"),
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
                              error=error, columns=REPORT_COLUMNS, groupings=REPORT_GROUPINGS)
        return self._page(ctx, "callbacks_report.html", f=form, rows=table,
                          columns=REPORT_COLUMNS, groupings=REPORT_GROUPINGS)

    async def callbacks_report_csv(self, ctx: Context) -> WebResponse:
        form, problem, table = await self._report_table(ctx)
        if problem is not None:
            status, error = problem
            return WebResponse.text(error, status)
        # Chinese headers whatever the page's language: the file goes to the bureau's
        # spreadsheets. The BOM makes Excel read it as UTF-8.
        t = translator("zh")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([t(f"report.by.{form['by']}")]
                        + [t(f"report.col.{name}") for name in REPORT_COLUMNS])
        for label, values in table:
            writer.writerow([_csv_cell(label)]
                            + ["" if values[name] is None else values[name]
                               for name in REPORT_COLUMNS])
        response = WebResponse(200, ("\ufeff" + out.getvalue()).encode("utf-8"),
                               "text/csv; charset=utf-8")
        response.headers.append(("Content-Disposition", f'attachment; filename="callbacks-'
                                 f'{form["from"]}-{form["to"]}-{form["by"]}.csv"'))
        return response

    async def _report_table(self, ctx: Context):
        """The form's values, then (status, message) when there is no table, else the
        rows as (label, values by column)."""
        today = self.core.clock.now().astimezone(self.core.zone).date()
        form = {"from": ctx.request.arg("from") or today.replace(day=1).isoformat(),
                "to": ctx.request.arg("to") or today.isoformat(),
                "by": ctx.request.arg("by") or "unit"}
        report = self.reports.get("callbacks")
        if report is None:
            return form, (404, ctx.t("report.unavailable")), None
        try:
            start, end, by = api.report_period(form, self.core.zone)
        except api.ApiError as error:
            return form, (error.status, ctx.t("report.bad", error=str(error))), None
        rows = await self.core.db.read(report, start, end, by)
        return form, None, [(row.label, row.as_dict()) for row in rows]


    async def callback_report(self, ctx: Context) -> WebResponse:
        return await self._callback_report(ctx)


def _csv_cell(text: str) -> str:
    """A label (a unit's or agent's name) that a spreadsheet would run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
