"""The knowledge base's pages (知识库): the agents' search and article view, the desk's
JSON (search, answer templates, a consultation closed with no article, the guide by SMS),
and the editors' pages (list, edit, review, versions, answer templates, synonyms, the
weekly report). Editors and reviewers are supervisors; a reviewer publishes only a version
someone else wrote. Every step is the core's (`hotline.knowledge`), whoever clicks."""

from __future__ import annotations

import datetime as dt

from agents import params
from agents.http import WebResponse
from agents.routing import STAFF, SUPERVISORS, Context, Route
from hotline.knowledge import ArticleFields, KnowledgeError
from hotline.knowledge import repository as kb
from hotline.knowledge.guide import GuideRefused, send_guide
from hotline.knowledge.records import GUIDE_FIELDS
from hotline.knowledge.search import MAX_QUERY, search
from schemas.enums import AppealKind

ROUTES: tuple[Route, ...] = (
    Route("GET", "/knowledge", STAFF, "knowledge_search_page"),
    Route("GET", "/knowledge/search.json", STAFF, "knowledge_search_json"),
    Route("GET", "/knowledge/templates.json", STAFF, "knowledge_templates_json"),
    Route("GET", "/knowledge/articles/{article_id:int}", STAFF, "knowledge_article_page"),
    Route("GET", "/knowledge/articles/{article_id:int}.json", STAFF, "knowledge_article_json"),
    Route("POST", "/knowledge/articles/{article_id:int}/sms", STAFF, "knowledge_send_guide"),
    Route("POST", "/knowledge/consultations", STAFF, "knowledge_consultation"),
    Route("GET", "/knowledge/edit", SUPERVISORS, "knowledge_list_page"),
    Route("GET", "/knowledge/edit/new", SUPERVISORS, "knowledge_new_page"),
    Route("POST", "/knowledge/edit/new", SUPERVISORS, "knowledge_create"),
    Route("GET", "/knowledge/edit/{article_id:int}", SUPERVISORS, "knowledge_edit_page"),
    Route("POST", "/knowledge/edit/{article_id:int}", SUPERVISORS, "knowledge_save"),
    Route("GET", "/knowledge/review", SUPERVISORS, "knowledge_review_page"),
    Route("POST", "/knowledge/review/{version_id:int}/{decision:publish|reject}", SUPERVISORS,
          "knowledge_decide"),
    Route("GET", "/knowledge/articles/{article_id:int}/versions", SUPERVISORS,
          "knowledge_versions_page"),
    Route("GET", "/knowledge/versions/{version_id:int}", SUPERVISORS, "knowledge_version_page"),
    Route("GET", "/knowledge/answer-templates", SUPERVISORS, "knowledge_answer_templates_page"),
    Route("POST", "/knowledge/answer-templates", SUPERVISORS, "knowledge_answer_template_save"),
    Route("GET", "/knowledge/synonyms", SUPERVISORS, "knowledge_synonyms_page"),
    Route("POST", "/knowledge/synonyms", SUPERVISORS, "knowledge_synonyms_save"),
    Route("GET", "/knowledge/report", SUPERVISORS, "knowledge_report_page"),
)
FORM_FIELDS = ("title", "answer", *GUIDE_FIELDS, "body", "unit_code", "keywords")
TEXT_MAX = 10_000
WEEK = dt.timedelta(days=7)


def _hit(hit) -> dict:
    return {"id": hit.article_id, "title": hit.title, "item_code": hit.item_code,
            "answer": hit.answer, "sample": hit.sample}


def _form_fields(ctx: Context) -> ArticleFields:
    form = {name: ctx.request.arg(name).strip() for name in FORM_FIELDS}
    for name, value in form.items():
        if len(value) > TEXT_MAX:
            raise KnowledgeError(f"{ctx.t('kb.field.' + name)}不能超过 {TEXT_MAX} 个字")
    days = {}
    for name in ("valid_from", "review_by"):
        raw = ctx.request.arg(name).strip()
        try:
            days[name] = dt.date.fromisoformat(raw) if raw else None
        except ValueError:
            raise KnowledgeError(f"{ctx.t('kb.field.' + name)}「{raw}」不是日期（写作 2027-01-31）") \
                from None
    return ArticleFields(**{**form, "unit_code": form["unit_code"] or None}, **days)


class KnowledgePages:
    """The knowledge base's handlers of `WebApp` (a mixin: `self` is the application)."""

    # Agents ------------------------------------------------------------------------------

    async def knowledge_search_page(self, ctx: Context) -> WebResponse:
        query = ctx.request.arg("q").strip()[:MAX_QUERY]
        hits = await self.core.db.read(search, query) if query else []
        notice = ctx.t("kb.gap_recorded") if ctx.request.arg("done") == "gap" else None
        return self._page(ctx, "knowledge_search.html", q=query, hits=hits, notice=notice)

    async def knowledge_search_json(self, ctx: Context) -> WebResponse:
        query = ctx.request.arg("q").strip()[:MAX_QUERY]
        hits = await self.core.db.read(search, query, 10) if query else []
        return WebResponse.json({"hits": [_hit(h) for h in hits]})

    async def knowledge_templates_json(self, ctx: Context) -> WebResponse:
        kind = ctx.request.arg("kind")
        chosen = AppealKind(kind) if kind in set(AppealKind) else None
        rows = await self.core.db.read(kb.templates, kind=chosen)
        return WebResponse.json({"templates": [
            {"id": r.id, "kind": r.kind.value, "field": r.field, "title": r.title,
             "text": r.text} for r in rows]})

    async def _kb_article(self, ctx: Context):
        try:
            return await self.core.db.read(kb.article, int(ctx.params["article_id"]))
        except KnowledgeError:
            return None

    async def knowledge_article_page(self, ctx: Context) -> WebResponse:
        article = await self._kb_article(ctx)
        if article is None or (article.published is None
                               and ctx.principal.role not in SUPERVISORS):
            return self._kb_not_found(ctx)
        shown = article.published or article.latest
        return self._page(ctx, "knowledge_article.html", article=article, version=shown,
                          guide_fields=GUIDE_FIELDS, today=self._kb_today())

    async def knowledge_article_json(self, ctx: Context) -> WebResponse:
        article = await self._kb_article(ctx)
        if article is None or article.published is None:
            return WebResponse.json({"error": ctx.t("error.not_found")}, 404)
        fields = article.published.fields
        return WebResponse.json({
            "id": article.id, "title": fields.title, "item_code": article.item_code,
            "answer": fields.answer, "sample": article.sample, "body": fields.body,
            "unit": article.published.unit_name,
            "guide": [{"name": ctx.t(f"kb.field.{name}"), "text": getattr(fields, name)}
                      for name in GUIDE_FIELDS if getattr(fields, name)]})

    async def knowledge_send_guide(self, ctx: Context) -> WebResponse:
        appeal_raw = ctx.request.arg("appeal_id").strip()
        appeal_id = int(appeal_raw) if appeal_raw.isdigit() and len(appeal_raw) < 10 else None
        try:
            await self.core.db.write(send_guide, self.core.knowledge_guide_hook,
                                     int(ctx.params["article_id"]),
                                     phone=ctx.request.arg("phone").strip()[:32],
                                     appeal_id=appeal_id, agent=ctx.actor,
                                     now=self.core.clock.now())
        except GuideRefused as refused:
            key = f"kb.guide_refused.{refused.reason}"
            return WebResponse.json({"error": ctx.t(key) if refused.reason != "not_published"
                                     else str(refused)}, 409)
        return WebResponse.json({"ok": True, "message": ctx.t("kb.guide_sent")})

    async def knowledge_consultation(self, ctx: Context) -> WebResponse:
        """A consultation closed: from an article (article_id) or with none (a gap)."""
        raw = ctx.request.arg("article_id").strip()
        article_id = int(raw) if raw.isdigit() and len(raw) < 10 else None
        appeal_raw = ctx.request.arg("appeal_id").strip()
        appeal_id = int(appeal_raw) if appeal_raw.isdigit() and len(appeal_raw) < 10 else None
        await self.core.db.write(kb.record_consultation, agent=ctx.actor,
                                 now=self.core.clock.now(), article_id=article_id,
                                 appeal_id=appeal_id, query=ctx.request.arg("q"))
        if ctx.request.arg("format") == "json":
            return WebResponse.json({"ok": True, "message": ctx.t("kb.gap_recorded")})
        return WebResponse.redirect("/knowledge?done=gap")

    # Editors -----------------------------------------------------------------------------

    def _kb_today(self) -> dt.date:
        return self.core.clock.now().astimezone(self.core.zone).date()

    async def knowledge_list_page(self, ctx: Context) -> WebResponse:
        articles = await self.core.db.read(kb.articles)
        today = self._kb_today()
        articles.sort(key=lambda a: (not a.overdue(today), a.id))
        pending = await self.core.db.read(kb.pending)
        return self._page(ctx, "knowledge_list.html", articles=articles, today=today,
                          pending=len(pending))

    async def knowledge_new_page(self, ctx: Context, *, status: int = 200,
                                 error: str | None = None) -> WebResponse:
        form = {k: v[0] for k, v in ctx.request.form.items() if v} if error else {}
        return self._page(ctx, "knowledge_edit.html", status, article=None, f=form,
                          error=error, guide_fields=GUIDE_FIELDS)

    async def knowledge_create(self, ctx: Context) -> WebResponse:
        try:
            fields = _form_fields(ctx)
            article_id = await self.core.db.write(
                kb.create_article, fields, actor=ctx.actor, now=self.core.clock.now(),
                item_code=ctx.request.arg("item_code").strip()[:32] or None)
        except KnowledgeError as error:
            return await self.knowledge_new_page(ctx, status=422, error=str(error))
        return WebResponse.redirect(f"/knowledge/edit/{article_id}?done=saved")

    async def knowledge_edit_page(self, ctx: Context, *, status: int = 200,
                                  error: str | None = None) -> WebResponse:
        article = await self._kb_article(ctx)
        if article is None:
            return self._kb_not_found(ctx)
        if error:
            form = {k: v[0] for k, v in ctx.request.form.items() if v}
        else:
            latest = article.latest.fields
            form = {name: str(getattr(latest, name) or "") for name in ArticleFields.names()}
        done = ctx.request.arg("done")
        notice = ctx.t(f"kb.{done}") if done in ("saved", "submitted") else None
        return self._page(ctx, "knowledge_edit.html", status, article=article, f=form,
                          error=error, notice=notice, guide_fields=GUIDE_FIELDS)

    async def knowledge_save(self, ctx: Context) -> WebResponse:
        article_id = int(ctx.params["article_id"])
        now = self.core.clock.now()
        try:
            fields = _form_fields(ctx)
            version_id = await self.core.db.write(
                kb.save_draft, article_id, fields, actor=ctx.actor, now=now,
                change_note=ctx.request.arg("change_note")[:500])
            if ctx.request.arg("submit"):
                await self.core.db.write(kb.submit, version_id, actor=ctx.actor, now=now)
        except KnowledgeError as error:
            if await self._kb_article(ctx) is None:
                return self._kb_not_found(ctx)
            return await self.knowledge_edit_page(ctx, status=422, error=str(error))
        done = "submitted" if ctx.request.arg("submit") else "saved"
        return WebResponse.redirect(f"/knowledge/edit/{article_id}?done={done}")

    async def knowledge_review_page(self, ctx: Context, *, status: int = 200,
                                    error: str | None = None) -> WebResponse:
        pending = await self.core.db.read(kb.pending)
        notice = ctx.t("kb.reviewed") if ctx.request.arg("done") == "1" and not error else None
        return self._page(ctx, "knowledge_review.html", status, pending=pending, error=error,
                          notice=notice, guide_fields=GUIDE_FIELDS)

    async def knowledge_decide(self, ctx: Context) -> WebResponse:
        version_id = int(ctx.params["version_id"])
        note = ctx.request.arg("note")[:1000]
        now = self.core.clock.now()
        try:
            if ctx.params["decision"] == "publish":
                await self.core.db.write(kb.publish, version_id, reviewer=ctx.actor, now=now,
                                         note=note)
            else:
                await self.core.db.write(kb.reject, version_id, reviewer=ctx.actor, now=now,
                                         note=note)
        except KnowledgeError as error:
            return await self.knowledge_review_page(ctx, status=409, error=str(error))
        return WebResponse.redirect("/knowledge/review?done=1")

    async def knowledge_versions_page(self, ctx: Context) -> WebResponse:
        article = await self._kb_article(ctx)
        if article is None:
            return self._kb_not_found(ctx)
        versions = await self.core.db.read(kb.versions, article.id)
        return self._page(ctx, "knowledge_versions.html", article=article, versions=versions)

    async def knowledge_version_page(self, ctx: Context) -> WebResponse:
        try:
            version = await self.core.db.read(kb.version, int(ctx.params["version_id"]))
        except KnowledgeError:
            return self._kb_not_found(ctx)
        article = await self.core.db.read(kb.article, version.article_id)
        return self._page(ctx, "knowledge_article.html", article=article, version=version,
                          guide_fields=GUIDE_FIELDS, today=self._kb_today())

    async def knowledge_answer_templates_page(self, ctx: Context, *, status: int = 200,
                                              error: str | None = None) -> WebResponse:
        rows = await self.core.db.read(kb.templates, active_only=False)
        notice = ctx.t("kb.template_saved") if ctx.request.arg("done") == "1" else None
        return self._page(ctx, "knowledge_templates.html", status, rows=rows, error=error,
                          notice=notice, kinds=list(AppealKind))

    async def knowledge_answer_template_save(self, ctx: Context) -> WebResponse:
        kind = ctx.request.arg("kind")
        raw_id = ctx.request.arg("template_id").strip()
        try:
            if kind not in set(AppealKind):
                raise KnowledgeError(f"未知的诉求类别 {kind[:32]}")
            await self.core.db.write(
                kb.save_template, kind=AppealKind(kind), field=ctx.request.arg("field"),
                title=ctx.request.arg("title")[:200], text=ctx.request.arg("text")[:2000],
                actor=ctx.actor, now=self.core.clock.now(),
                template_id=int(raw_id) if raw_id.isdigit() and len(raw_id) < 10 else None,
                active=ctx.request.arg("active", "1") == "1")
        except KnowledgeError as error:
            return await self.knowledge_answer_templates_page(ctx, status=422, error=str(error))
        return WebResponse.redirect("/knowledge/answer-templates?done=1")

    async def knowledge_synonyms_page(self, ctx: Context, *, status: int = 200,
                                      error: str | None = None,
                                      text: str | None = None) -> WebResponse:
        groups = await self.core.db.read(kb.synonym_groups)
        done = ctx.request.arg("done")
        notice = ctx.t("kb.synonyms_saved", n=done) if done.isdigit() else None
        return self._page(ctx, "knowledge_synonyms.html", status, error=error, notice=notice,
                          text=text if text is not None else "\n".join(" ".join(g)
                                                                       for g in groups))

    async def knowledge_synonyms_save(self, ctx: Context) -> WebResponse:
        text = ctx.request.arg("synonyms")[:20_000]
        try:
            count = await self.core.db.write(kb.set_synonyms, text, actor=ctx.actor,
                                             now=self.core.clock.now())
        except KnowledgeError as error:
            return await self.knowledge_synonyms_page(ctx, status=422, error=str(error), text=text)
        return WebResponse.redirect(f"/knowledge/synonyms?done={count}")

    async def knowledge_report_page(self, ctx: Context) -> WebResponse:
        try:
            form = params.with_defaults(ctx.request.query, {"week": ""})
            first = params.day(form, "week")
        except params.ParamError as error:
            return self._page(ctx, "error.html", 400, status=400, error=error.message(ctx.t))
        today = self._kb_today()
        start_day = first or today - dt.timedelta(days=today.weekday())
        start = dt.datetime.combine(start_day, dt.time(), self.core.zone)
        most, gaps, unanswered = await self.core.db.read(kb.week_report, start, start + WEEK)
        return self._page(ctx, "knowledge_report.html", most=most, gaps=gaps,
                          unanswered=unanswered, start=start_day,
                          end=start_day + dt.timedelta(days=6),
                          previous=start_day - WEEK, following=start_day + WEEK)

    def _kb_not_found(self, ctx: Context) -> WebResponse:
        return self._page(ctx, "error.html", 404, status=404, error=ctx.t("error.not_found"))
