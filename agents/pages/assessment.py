"""The supervisors' periodic reports: the units' assessment (监督考核: page, printable page,
XLSX), the call-centre report (话务报表: page, XLSX), and the XLSX of the overdue and
dissatisfied lists, read with the same queries as their pages (`agents.oversight`).

The reports are `hotline.assessment`'s; every file is written in the database's pool
(openpyxl's work has no place on the reactor thread) and is Chinese whatever the page's
language, with a title row and a period row above the table.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from agents import api, oversight, params, queries
from agents.http import WebResponse
from agents.i18n import translator
from agents.routing import SUPERVISORS, Context, Route
from hotline.assessment import callcentre, export, units
from hotline.assessment.periods import Period, period, previous_days
from hotline.masking import mask_phone
from hotline.workdays import WorkCalendar

ROUTES: tuple[Route, ...] = (
    Route("GET", "/supervisor/assessment", SUPERVISORS, "assessment_page"),
    Route("GET", "/supervisor/assessment/print", SUPERVISORS, "assessment_print"),
    Route("GET", "/supervisor/assessment.xlsx", SUPERVISORS, "assessment_xlsx"),
    Route("GET", "/supervisor/callcentre", SUPERVISORS, "callcentre_page"),
    Route("GET", "/supervisor/callcentre.xlsx", SUPERVISORS, "callcentre_xlsx"),
    Route("GET", "/supervisor/overdue.xlsx", SUPERVISORS, "overdue_xlsx"),
    Route("GET", "/supervisor/dissatisfied.xlsx", SUPERVISORS, "dissatisfied_xlsx"),
)
# The page's columns (keys of `units.Figures`), as the file has them.
UNIT_COLUMNS = tuple(key for key, _, _ in export.UNIT_COLUMNS)
RATES = frozenset(key for key, _, rate in export.UNIT_COLUMNS if rate)
CALLCENTRE_COLUMNS = tuple(key for key, _, _ in export.CALLCENTRE_COLUMNS)
AGENT_COLUMNS = tuple(key for key, _, _ in export.AGENT_COLUMNS)
QUEUE_RATES = frozenset(key for key, _, rate in export.CALLCENTRE_COLUMNS if rate)
# The dissatisfied list's file, headers (i18n keys, written in Chinese).
DISSATISFIED_HEADERS = ("dissatisfied.at", "field.case_number", "field.unit", "field.phone",
                        "dissatisfied.channel", "dissatisfied.reason", "dissatisfied.reopened",
                        "dissatisfied.status", "dissatisfied.acknowledged")
OVERDUE_HEADERS = ("field.unit", "field.case_number", "field.kind", "field.status",
                   "field.subject", "field.deadline", "overdue.days")


class AssessmentPages:
    """The periodic reports' handlers of `WebApp` (a mixin: `self` is the application)."""

    # The units' assessment ---------------------------------------------------------------

    async def assessment_page(self, ctx: Context) -> WebResponse:
        return await self._assessment(ctx, printable=False)

    async def assessment_print(self, ctx: Context) -> WebResponse:
        return await self._assessment(ctx, printable=True)

    async def _assessment(self, ctx: Context, *, printable: bool) -> WebResponse:
        form, problem, query = self._periods(ctx, ranking=True)
        values = dict(f=form, columns=UNIT_COLUMNS, rates=RATES, compared=export.COMPARED,
                      rankings=units.RANKINGS, printable=printable, now=self.core.clock.now())
        if problem is not None:
            return self._page(ctx, "assessment.html", 400, report=None, current=None,
                              previous=None, error=problem, **values)
        current, previous, ranking = query
        report = await self.core.db.read(
            units.assessment, current.start, current.end, previous.start, previous.end,
            now=self.core.clock.now(), ranking=ranking, total_label=ctx.t("assessment.total"))
        return self._page(ctx, "assessment.html", report=report, current=current,
                          previous=previous, **values)

    async def assessment_xlsx(self, ctx: Context) -> WebResponse:
        form, problem, query = self._periods(ctx, ranking=True)
        if problem is not None:
            return WebResponse.text(problem, 400)
        current, previous, ranking = query
        data = await self.core.db.read(_assessment_file, current, previous, ranking,
                                       now=self.core.clock.now())
        return _file(data, f"assessment-{form['from']}-{form['to']}.xlsx")

    # The call centre -----------------------------------------------------------------------

    async def callcentre_page(self, ctx: Context) -> WebResponse:
        form, problem, query = self._periods(ctx, ranking=False)
        goals = ctx.t("callcentre.goals", seconds=callcentre.ANSWER_WITHIN_S,
                      goal=f"{callcentre.CONNECTION_RATE_GOAL:.0%}",
                      target=f"{callcentre.ANSWER_WITHIN_TARGET:.0%}",
                      short=callcentre.SHORT_ABANDON_S)
        values = dict(f=form, columns=CALLCENTRE_COLUMNS, agent_columns=AGENT_COLUMNS,
                      rates=QUEUE_RATES, goals=goals)
        if problem is not None:
            return self._page(ctx, "callcentre_report.html", 400, report=None, error=problem,
                              **values)
        report = await self.core.db.read(callcentre.callcentre_report, query[0],
                                         self.core.zone)
        return self._page(ctx, "callcentre_report.html", report=report, **values)

    async def callcentre_xlsx(self, ctx: Context) -> WebResponse:
        form, problem, query = self._periods(ctx, ranking=False)
        if problem is not None:
            return WebResponse.text(problem, 400)
        data = await self.core.db.read(_callcentre_file, query[0], self.core.zone)
        return _file(data, f"callcentre-{form['from']}-{form['to']}.xlsx")

    def _periods(self, ctx: Context, *, ranking: bool):
        """The form's values, then the problem's words (None when none), then (the period,
        the one before it, the ranking)."""
        today = self.core.clock.now().astimezone(self.core.zone).date()
        defaults = {"from": today.replace(day=1).isoformat(), "to": today.isoformat()}
        if ranking:
            defaults["rank"] = units.DEFAULT_RANKING
        form = defaults
        try:
            form = params.with_defaults(ctx.request.query, defaults)
            first, last = params.required_day(form, "from"), params.required_day(form, "to")
            params.ordered(first, last, "from", "to")
            rank = (params.choice(form, "rank", units.RANKINGS, default=units.DEFAULT_RANKING)
                    if ranking else units.DEFAULT_RANKING)
        except params.ParamError as error:
            return form, ctx.t("report.bad", error=error.message(ctx.t)), None
        try:
            current = period(first, last, self.core.zone)
            previous = period(*previous_days(first, last), self.core.zone)
        except ValueError as error:  # longer than a report covers
            return form, ctx.t("report.bad", error=str(error)), None
        return form, None, (current, previous, rank)

    # The oversight lists' files -------------------------------------------------------------

    async def overdue_xlsx(self, ctx: Context) -> WebResponse:
        now = self.core.clock.now()
        data = await self.core.db.read(_overdue_file, now=now, zone=self.core.zone,
                                       calendar=self.core.calendar)
        day = now.astimezone(self.core.zone).date().isoformat()
        return _file(data, f"overdue-{day}.xlsx")

    async def dissatisfied_xlsx(self, ctx: Context) -> WebResponse:
        # The dissatisfied page's form and defaults (agents.pages.supervisor), read the same.
        today = self.core.clock.now().astimezone(self.core.zone).date()
        form = {"from": (today - dt.timedelta(days=29)).isoformat(), "to": today.isoformat(),
                "unit_id": ""}
        try:
            form = params.with_defaults(ctx.request.query, form)
            start, end, _by = api.report_period(form, self.core.zone)
            unit_id = params.ident(form, "unit_id")
        except params.ParamError as error:
            return WebResponse.text(ctx.t("report.bad", error=error.message(ctx.t)), 400)
        data = await self.core.db.write(_dissatisfied_file, start, end, unit_id,
                                        days=(form["from"], form["to"]), zone=self.core.zone,
                                        actor=ctx.actor, now=self.core.clock.now())
        return _file(data, f"dissatisfied-{form['from']}-{form['to']}.xlsx")


# In the database's pool ------------------------------------------------------------------

def _assessment_file(session: Session, current: Period, previous: Period, ranking: str, *,
                     now: dt.datetime) -> bytes:
    report = units.assessment(session, current.start, current.end, previous.start,
                              previous.end, now=now, ranking=ranking)
    return export.assessment_xlsx(report, current, previous)


def _callcentre_file(session: Session, current: Period, zone: ZoneInfo) -> bytes:
    return export.callcentre_xlsx(callcentre.callcentre_report(session, current, zone))


def _overdue_file(session: Session, *, now: dt.datetime, zone: ZoneInfo,
                  calendar: WorkCalendar) -> bytes:
    """The overdue page's list (`oversight.overdue_by_unit`), each appeal under its unit."""
    report = oversight.overdue_by_unit(session, now=now, zone=zone, calendar=calendar)
    t = translator("zh")
    rows = [[unit.label or t("overdue.no_unit"), appeal.case_number, t(f"kind.{appeal.kind}"),
             t(f"status.{appeal.status}"), appeal.subject, _local(appeal.deadline_at, zone),
             appeal.days_overdue]
            for unit in report.units for appeal in unit.appeals]
    notes = [t("overdue.days_note")]
    if report.listed < report.total:
        notes.append(t("export.truncated", listed=report.listed, total=report.total))
    return export.titled_workbook([export.Sheet(
        t("nav.overdue"), t("export.overdue.title"), t("export.as_of", at=_local(now, zone)),
        [t(key) for key in OVERDUE_HEADERS], rows, notes=notes, first_width=24)])


def _dissatisfied_file(session: Session, start: dt.datetime, end: dt.datetime,
                       unit_id: int | None, *, days: tuple[str, str], zone: ZoneInfo,
                       actor: str, now: dt.datetime) -> bytes:
    """The dissatisfied page's list (`oversight.dissatisfied_ratings`, which audits the view
    of each citizen on it), the phone numbers masked as on the page."""
    ratings = oversight.dissatisfied_ratings(session, start=start, end=end, unit_id=unit_id,
                                             actor=actor, now=now)
    t = translator("zh")
    names = {u.id: f"{u.code} {u.name}" for u in queries.units(session)}
    unit = (t("export.dissatisfied.unit", unit=names.get(unit_id, str(unit_id)))
            if unit_id is not None else "")
    rows = []
    for r in ratings:
        reason = r.reason or (t("dissatisfied.follow_up") + r.follow_up if r.follow_up else None)
        rows.append([_local(r.at, zone), r.case_number, r.unit_label or t("overdue.no_unit"),
                     mask_phone(r.citizen_phone), t(f"dissatisfied.channel.{r.channel}"),
                     reason, t("yes") if r.reopened else t("no"), t(f"status.{r.status}"),
                     t("yes") if r.acknowledged else t("no")])
    notes = ([t("dissatisfied.truncated", limit=oversight.DISSATISFIED_LIMIT)]
             if len(ratings) >= oversight.DISSATISFIED_LIMIT else [])
    return export.titled_workbook([export.Sheet(
        t("nav.dissatisfied"), t("export.dissatisfied.title"),
        t("export.dissatisfied.period", first=days[0], last=days[1], unit=unit),
        [t(key) for key in DISSATISFIED_HEADERS], rows, notes=notes, first_width=18)])


def _file(data: bytes, name: str) -> WebResponse:
    response = WebResponse(200, data, export.XLSX_TYPE)
    response.headers.append(("Content-Disposition", f'attachment; filename="{name}"'))
    return response


def _local(value: dt.datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
