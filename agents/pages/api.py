"""The JSON API for the bureau's other systems (bearer token): create an appeal, read its
status, the callback report; and the OpenAPI document that describes them."""

from __future__ import annotations

from twisted.logger import Logger

from agents import api, params
from agents.http import WebResponse
from agents.routing import API, PUBLIC, Context, Route
from hotline.appeals import AppealNotFound, AppealValidationError
from hotline.masking import mask_phone

ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/openapi.json", PUBLIC, "openapi"),
    Route("POST", "/api/v1/appeals", API, "api_create"),
    # Any segment: a case number that is not one is a 400 in JSON, as the document says.
    Route("GET", "/api/v1/appeals/{case_number}", API, "api_status"),
    Route("GET", "/api/v1/reports/callbacks", API, "api_callback_report"),
    Route("GET", "/api/v1/reports/analysis", API, "api_analysis_report"),
    Route("GET", "/api/v1/articles", API, "api_articles"),
    # Any segment: an id that is not one is a 400 in JSON, as the document says.
    Route("GET", "/api/v1/articles/{article_id}", API, "api_article"),
)


class ApiPages:
    """The API handlers of `WebApp` (a mixin: `self` is the application)."""

    log = Logger()

    async def openapi(self, ctx: Context) -> WebResponse:
        return WebResponse.json(api.OPENAPI)

    async def api_create(self, ctx: Context) -> WebResponse:
        try:
            try:
                document = ctx.request.json()
            except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
                raise api.ApiError(400, "the body is not JSON") from None
            new = api.parse_new_appeal(document)
            try:
                appeal = await self.core.appeals.create(new, actor=api.API_ACTOR)
            except AppealValidationError as error:
                raise api.validation_error(error) from None
        except api.ApiError as error:
            return WebResponse.json(error.document(), error.status)
        self.log.info("API opened appeal {case_number} for {phone}",
                      case_number=appeal.case_number, phone=mask_phone(appeal.citizen_phone))
        response = WebResponse.json(api.status_document(appeal), 201)
        response.headers.append(("Location", f"/api/v1/appeals/{appeal.case_number}"))
        return response

    async def api_status(self, ctx: Context) -> WebResponse:
        try:
            case_number = params.digits(ctx.params, "case_number", params.CASE_NUMBER_MAX)
        except params.ParamError as error:
            return WebResponse.json(api.parameter_error(error).document(), 400)
        try:
            appeal, progress, unit = await self.core.db.write(
                api.read_status, self.core.appeals.repository, case_number,
                now=self.core.clock.now())
        except AppealNotFound:
            return WebResponse.json(api.ApiError(404, "no appeal with this case number")
                                    .document(), 404)
        return WebResponse.json(api.status_document(appeal, progress, unit))

    async def api_articles(self, ctx: Context) -> WebResponse:
        """The portal's search of the published knowledge articles (the desk's search)."""
        try:
            args = params.single(ctx.request.query, ("q",), blank=False)
            query = params.text(args, "q", api.ARTICLE_QUERY_MAX)
            if not query:
                raise params.ParamError("q", "blank")
        except params.ParamError as error:
            return WebResponse.json(api.parameter_error(error).document(), 400)
        hits = await self.core.db.read(api.article_hits, query)
        return WebResponse.json({"q": query, "articles": hits})

    async def api_article(self, ctx: Context) -> WebResponse:
        raw = ctx.params.get("article_id") or ""
        if not api.ARTICLE_ID.fullmatch(raw):  # exactly what the document's pattern allows
            return WebResponse.json(api.ApiError(400, "must be an article id: 1 to 999999999, "
                                                      "no leading zero", "article_id")
                                    .document(), 400)
        document = await self.core.db.read(api.article_document, int(raw))
        if document is None:
            return WebResponse.json(api.ApiError(404, "no published article with this id")
                                    .document(), 404)
        return WebResponse.json(document)

    async def api_callback_report(self, ctx: Context) -> WebResponse:
        return await self._callback_report(ctx)

    async def api_analysis_report(self, ctx: Context) -> WebResponse:
        """The analysis page's report (agents.pages.insights reads the same)."""
        from hotline.analysis.insights import COMPARISONS
        from hotline.assessment.periods import period

        try:
            args = params.single(ctx.request.query, ("from", "to", "compare"), blank=False)
            compare = params.choice(args, "compare", COMPARISONS, default="previous")
            first, last = params.required_day(args, "from"), params.required_day(args, "to")
            params.ordered(first, last, "from", "to")
        except params.ParamError as error:
            return WebResponse.json(api.parameter_error(error).document(), 400)
        try:
            current = period(first, last, self.core.zone)
        except ValueError as error:  # longer than a report covers
            return WebResponse.json(api.ApiError(400, str(error), "to").document(), 400)
        report = await self._insights_report(current, compare)
        return WebResponse.json(api.analysis_document(report))

    async def _callback_report(self, ctx: Context) -> WebResponse:
        report = self.reports.get("callbacks")
        if report is None:
            return WebResponse.json(api.ApiError(404, "the callback report is not available "
                                                      "in this process").document(), 404)
        try:
            args = params.single(ctx.request.query, ("from", "to", "by"), blank=False)
            start, end, by = api.report_period(args, self.core.zone)
        except params.ParamError as error:
            return WebResponse.json(api.parameter_error(error).document(), 400)
        rows = await self.core.db.read(report, start, end, by, now=self.core.clock.now())
        return WebResponse.json({"from": args["from"], "to": args["to"], "by": by,
                                 "rows": [row.as_dict() for row in rows]})

