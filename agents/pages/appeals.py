"""Appeals at the hall terminal: search, the new-appeal form, detail with its audit trail,
the lifecycle actions, the work-order steps that are the hall's (dispatch to a unit,
re-dispatch, assisting units (协办), review of the unit's reply), merging a duplicate (重复件)
into one of the caller's open appeals, and a caller's card."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

from twisted.logger import Logger

from agents import params, queries
from agents.auth import local_path
from agents.http import WebResponse
from agents.i18n import MESSAGES
from agents.pages.workorders import field_refusal, refusal
from agents.routing import STAFF, SUPERVISORS, Context, Route
from agents.trail import readable
from hotline.appeals import (
    AppealNotFound,
    AppealValidationError,
    InvalidTransition,
    MergeRefused,
    NewAppeal,
    WorkOrderRefused,
)
from hotline.appeals.lifecycle import MERGE_TARGETS
from hotline.masking import mask_phone
from hotline.phones import PhoneNumberError, normalise_phone
from schemas.enums import AppealChannel, AppealKind, AppealStatus

ROUTES: tuple[Route, ...] = (
    Route("GET", "/appeals", STAFF, "search"),
    Route("GET", "/appeals/new", STAFF, "new_appeal_form"),
    Route("POST", "/appeals", STAFF, "create_appeal"),
    Route("GET", "/appeals/{appeal_id:int}", STAFF, "appeal"),
    Route("POST", "/appeals/{appeal_id:int}/{action:assign|start|resolve|note|answer|correct}",
          STAFF, "appeal_action"),
    Route("POST", "/appeals/{appeal_id:int}/{action:reopen}", SUPERVISORS, "appeal_action"),
    Route("POST", "/appeals/{appeal_id:int}/"
          "{action:dispatch|redispatch|accept|send_back|assist|withdraw_assist}",
          STAFF, "work_order_action"),
    Route("POST", "/appeals/{appeal_id:int}/merge", STAFF, "merge_appeal"),
    Route("GET", "/appeals/{appeal_id:int}/receipt", STAFF, "receipt"),
    Route("GET", "/callers/{phone}", STAFF, "caller"),
)
# ?done= after a work-order step: the notice to show.
WORK_ORDER_DONE = ("dispatch", "redispatch", "accept", "send_back", "assist",
                   "withdraw_assist")
# The new appeal's text fields the hall's form carries, each bounded as the API bounds it.
ANSWER_MAX = 2000  # as the core's notes and answers
APPEAL_TEXT_FIELDS = ("citizen_phone", "call_id", "subject", "body", "citizen_name", "area")


class AppealPages:
    """The appeal handlers of `WebApp` (a mixin: `self` is the application)."""

    log = Logger()

    async def search(self, ctx: Context) -> WebResponse:
        keys = [key for key in queries.SEARCH_FIELDS if key != "page"]
        # The page opens on the officer's own open work (我的待办).
        query = ctx.request.query or {"mine": ["1"]}
        args = {key: (query.get(key) or [""])[0] for key in keys}
        error, found, searched = None, None, False
        try:
            criteria = queries.parse_search(params.single(query, queries.SEARCH_FIELDS))
        except params.ParamError as problem:
            criteria, error = None, problem.message(ctx.t)
        if criteria is not None and criteria.mine is not None:
            criteria = dataclasses.replace(criteria, mine=ctx.principal.agent_id)
        if criteria is not None and not criteria.empty:
            searched = True
            run = self.core.db.write if criteria.phone or criteria.phone_tail \
                else self.core.db.read
            found = await run(queries.search_appeals, criteria, self.core.zone,
                              actor=ctx.actor, now=self.core.clock.now())
        units = await self.core.db.read(queries.units)
        return self._page(ctx, "appeals.html", 400 if error else 200, q=args,
                          results=found.rows if found else [], found=found,
                          page_url=lambda page: "/appeals?" + urlencode(
                              {**{k: v for k, v in args.items() if v}, "page": page}),
                          searched=searched, units=units, error=error,
                          statuses=[s.value for s in AppealStatus],
                          channels=[c.value for c in AppealChannel],
                          now=self.core.clock.now(),
                          today=self.core.clock.now().astimezone(self.core.zone).date())

    async def new_appeal_form(self, ctx: Context, *, status: int = 200,
                              error: str | None = None) -> WebResponse:
        arg = ctx.request.arg
        form = {key: arg(key) for key in ("channel", "kind", "answer", *APPEAL_TEXT_FIELDS)}
        if error is None:  # the form as linked (a caller's card prefills it), bounded
            try:
                _bounded_texts(form)
            except params.ParamError as problem:
                status, error = 400, problem.message(ctx.t)
                form.update(dict.fromkeys(APPEAL_TEXT_FIELDS, ""))
        # A caller's card links its IVR menu choice as the kind; one that is not a kind of
        # appeal leaves the choice to the agent.
        if form["channel"] not in {c.value for c in AppealChannel}:
            form["channel"] = AppealChannel.PHONE.value
        if form["kind"] not in {k.value for k in AppealKind}:
            form["kind"] = AppealKind.CONSULTATION.value
        return self._page(ctx, "appeal_new.html", status, f=form, error=error,
                          channels=[c.value for c in AppealChannel],
                          kinds=[k.value for k in AppealKind])

    async def create_appeal(self, ctx: Context) -> WebResponse:
        arg = ctx.request.arg
        try:
            channel = AppealChannel(arg("channel") or AppealChannel.PHONE.value)
            kind = AppealKind(arg("kind"))
        except ValueError:
            return await self.new_appeal_form(ctx, status=422,
                                              error=ctx.t("appeal.invalid_kind"))
        try:
            _bounded_texts({key: arg(key) for key in APPEAL_TEXT_FIELDS})
        except params.ParamError as problem:
            return await self.new_appeal_form(ctx, status=422, error=problem.message(ctx.t))
        new = NewAppeal(channel=channel, kind=kind, subject=arg("subject"),
                        citizen_phone=arg("citizen_phone"), body=arg("body"),
                        citizen_name=arg("citizen_name") or None, area=arg("area") or None,
                        agent_id=ctx.principal.agent_id, call_id=arg("call_id") or None)
        # 当场答复办结: the answer given on the phone closes the appeal as it opens. An answer
        # typed but submitted with 提交诉求 is kept too, as the appeal's first progress note.
        typed_answer = arg("answer").strip()
        if len(typed_answer) > ANSWER_MAX:
            return await self.new_appeal_form(ctx, status=422, error=ctx.t(
                "appeal.invalid.length", label=ctx.t("appeal.field.answer"), max=ANSWER_MAX))
        answer = typed_answer if arg("answer_now") else None
        try:
            appeal = await self.core.appeals.create(new, actor=ctx.actor, answer=answer)
        except AppealValidationError as error:
            if error.field == "resolution":  # the answer, as the form calls it
                error = AppealValidationError("answer", str(error), error.reason,
                                              **error.values)
            return await self.new_appeal_form(ctx, status=422,
                                              error=field_refusal(ctx.t, error))
        self.log.info("{actor} opened appeal {case_number} for {phone}{answered}",
                      actor=ctx.actor, case_number=appeal.case_number,
                      phone=mask_phone(appeal.citizen_phone),
                      answered=" (answered on the phone and closed)" if answer else "")
        if answer is None and typed_answer:
            await self.core.appeals.add_note(appeal.id, typed_answer, actor=ctx.actor,
                                             call_id=new.call_id)
        if answer is not None:
            # Back to where the officer took the call (the terminal, or the page the card
            # popped over), with the case number to read out.
            back = local_path(arg("back") or "/terminal")
            joiner = "&" if "?" in back else "?"
            return WebResponse.redirect(f"{back}{joiner}answered={appeal.case_number}")
        return WebResponse.redirect(f"/appeals/{appeal.id}?created=1")

    async def appeal(self, ctx: Context, *, status: int = 200,
                     error: str | None = None) -> WebResponse:
        try:
            detail = await self.core.db.write(queries.appeal_detail,
                                              int(ctx.params["appeal_id"]), actor=ctx.actor,
                                              now=self.core.clock.now())
        except AppealNotFound:
            return self._page(ctx, "error.html", 404, status=404,
                              error=ctx.t("error.not_found"))
        notice = None
        if ctx.request.arg("created") and error is None:
            notice = ctx.t("appeal.created", case_number=detail.appeal.case_number)
        # Opened from a caller's card to add this call to the appeal: the note carries it.
        try:
            call_id = _call_id(ctx)
        except params.ParamError as problem:
            call_id, status, error = "", 400, problem.message(ctx.t)
        appeals = self.core.appeals
        appeal = detail.appeal
        orders = await appeals.work_orders_of(appeal.id)
        done = ctx.request.arg("done")
        if notice is None and error is None and done in WORK_ORDER_DONE:
            notice = ctx.t(f"wo.done.{done}")
        merged_into = await appeals.get(appeal.merged_into_id) \
            if appeal.merged_into_id else None
        if notice is None and error is None and done == "merge" and merged_into:
            notice = ctx.t("merge.done", case_number=merged_into.case_number)
        # What a duplicate may join: the caller's open appeals, as the caller's card and the
        # screen pop list them, less this one and any merged away.
        candidates = [] if appeal.status not in MERGE_TARGETS else [
            a for a in await appeals.open_for_phone(appeal.citizen_phone)
            if a.id != appeal.id and a.status in MERGE_TARGETS and a.merged_into_id is None]
        trail = readable(detail.trail, detail.names, ctx.t, lambda key: key in MESSAGES)
        leads = [o for o in orders if not o.assisting]
        assists = [o for o in orders if o.assisting]
        waiting = [o.unit_name for o in assists if o.open and o.status.value != "replied"]
        return self._page(ctx, "appeal.html", status, d=detail, error=error, notice=notice,
                          trail=trail,
                          call_id=call_id, orders=orders, now=self.core.clock.now(),
                          open_order=next((o for o in leads if o.open), None),
                          last_order=leads[0] if leads else None,
                          assists=assists, assists_waiting="、".join(waiting),
                          merged_into=merged_into,
                          duplicates=await appeals.duplicates_of(appeal.id),
                          merge_candidates=candidates)

    async def work_order_action(self, ctx: Context) -> WebResponse:
        """The hall's work-order steps: dispatch (转办) and re-dispatch (改派) to a unit with
        the reason and the instruction, and the review of the unit's reply (审核): accept
        (the appeal resolved, its callback scheduled) or send it back with the reason."""
        appeal_id = int(ctx.params["appeal_id"])
        action = ctx.params["action"]
        arg = ctx.request.arg
        appeals = self.core.appeals
        try:
            if action in ("dispatch", "redispatch"):
                try:
                    unit = params.ident({"unit_id": arg("unit_id").strip()}, "unit_id")
                except params.ParamError:
                    unit = None
                if unit is None:
                    raise AppealValidationError("unit_id", "choose a unit", "required")
                step = appeals.dispatch if action == "dispatch" else appeals.redispatch
                await step(appeal_id, unit, reason=arg("reason"),
                           instruction=arg("instruction"), actor=ctx.actor)
            elif action == "assist":
                try:
                    unit = params.ident({"unit_id": arg("unit_id").strip()}, "unit_id")
                except params.ParamError:
                    unit = None
                if unit is None:
                    raise AppealValidationError("unit_id", "choose a unit", "required")
                await appeals.add_assist(appeal_id, unit, reason=arg("reason"),
                                         instruction=arg("instruction"), actor=ctx.actor)
            elif action == "withdraw_assist":
                try:
                    order = params.ident({"order_id": arg("order_id").strip()}, "order_id")
                except params.ParamError:
                    order = None
                if order is None:
                    raise WorkOrderRefused("no_assist", "no assisting order given")
                await appeals.withdraw_assist(appeal_id, order, arg("reason"), actor=ctx.actor)
            elif action == "accept":
                await appeals.accept_reply(appeal_id, arg("resolution") or None,
                                           actor=ctx.actor)
            else:
                await appeals.send_back(appeal_id, arg("reason"), actor=ctx.actor)
        except AppealNotFound:
            return self._page(ctx, "error.html", 404, status=404,
                              error=ctx.t("error.not_found"))
        except (InvalidTransition, WorkOrderRefused, AppealValidationError) as problem:
            status, words = refusal(ctx, problem)
            return await self.appeal(ctx, status=status, error=words)
        self.log.info("{actor} {action} on appeal {appeal_id}", actor=ctx.actor,
                      action=action, appeal_id=appeal_id)
        return WebResponse.redirect(f"/appeals/{appeal_id}?done={action}")

    async def merge_appeal(self, ctx: Context) -> WebResponse:
        """合并为重复件: this appeal into one of the caller's open appeals (chosen from the
        list) or another by its case number, with the reason; another caller's only when
        the officer ticks the confirmation."""
        appeal_id = int(ctx.params["appeal_id"])
        arg = ctx.request.arg
        appeals = self.core.appeals
        try:
            case_number = arg("case_number").strip()
            try:
                into = params.ident({"into_id": arg("into_id").strip()}, "into_id")
            except params.ParamError:
                into = None
            if case_number:
                params.text({"case_number": case_number}, "case_number", 24)
                try:
                    into = (await appeals.by_case_number(case_number)).id
                except AppealNotFound:
                    return await self.appeal(ctx, status=422, error=ctx.t(
                        "merge.unknown_case", case_number=case_number))
            if into is None:
                return await self.appeal(ctx, status=422, error=ctx.t("merge.choose_one"))
            merged = await appeals.merge(appeal_id, into, arg("reason"), actor=ctx.actor,
                                         other_phone_confirmed=bool(arg("confirm_other")))
        except AppealNotFound:
            return self._page(ctx, "error.html", 404, status=404,
                              error=ctx.t("error.not_found"))
        except (InvalidTransition, MergeRefused, AppealValidationError,
                params.ParamError) as problem:
            status, words = refusal(ctx, problem)
            return await self.appeal(ctx, status=status, error=words)
        self.log.info("{actor} merged appeal {case_number} into appeal {into}",
                      actor=ctx.actor, case_number=merged.case_number, into=into)
        return WebResponse.redirect(f"/appeals/{appeal_id}?done=merge")

    async def appeal_action(self, ctx: Context) -> WebResponse:
        appeal_id = int(ctx.params["appeal_id"])
        action = ctx.params["action"]
        arg = ctx.request.arg
        appeals = self.core.appeals
        try:
            if action == "assign":
                try:
                    unit = params.ident({"unit_id": arg("unit_id").strip()}, "unit_id")
                except params.ParamError:
                    unit = None
                if unit is None:
                    raise AppealValidationError("unit_id", "choose a unit", "required")
                await appeals.assign(appeal_id, unit, actor=ctx.actor)
            elif action == "start":
                await appeals.start(appeal_id, actor=ctx.actor)
            elif action == "answer":
                await appeals.answer(appeal_id, arg("answer"), actor=ctx.actor)
            elif action == "correct":
                try:
                    kind = AppealKind(arg("kind")) if arg("kind") else None
                except ValueError:
                    raise AppealValidationError("kind", "not a kind of appeal") from None
                form = ctx.request.form  # a field left out of the post is left as it is
                given = {name: arg(name) if name in form else None
                         for name in ("subject", "citizen_name", "area")}
                await appeals.correct(appeal_id, actor=ctx.actor, kind=kind, **given)
            elif action == "resolve":
                await appeals.resolve(appeal_id, arg("resolution"), actor=ctx.actor)
            elif action == "note":
                try:
                    call_id = _call_id(ctx)
                except params.ParamError as problem:
                    raise AppealValidationError("call_id", str(problem), "length",
                                                **problem.values) from None
                await appeals.add_note(appeal_id, arg("note"), actor=ctx.actor,
                                       call_id=call_id or None)
            else:
                await appeals.reopen(appeal_id, arg("reason"), actor=ctx.actor)
        except AppealNotFound:
            return self._page(ctx, "error.html", 404, status=404,
                              error=ctx.t("error.not_found"))
        except (InvalidTransition, WorkOrderRefused, AppealValidationError) as problem:
            status, words = refusal(ctx, problem)
            return await self.appeal(ctx, status=status,
                                     error=ctx.t("appeal.rejected", error=words))
        return WebResponse.redirect(f"/appeals/{appeal_id}")

    async def receipt(self, ctx: Context) -> WebResponse:
        """受理回执: the slip a citizen at the hall (or by post) gets for an appeal, to print:
        the case number to quote, what was received, by when it is answered, the hotline to
        ask. The number is masked, as on anything that leaves the hall."""
        try:
            detail = await self.core.db.write(queries.appeal_detail,
                                              int(ctx.params["appeal_id"]), actor=ctx.actor,
                                              now=self.core.clock.now())
        except AppealNotFound:
            return self.error_page(ctx, 404)
        return self._page(ctx, "receipt.html", d=detail,
                          hotline=self.core.config.service.hotline_number,
                          printed=self.core.clock.now())

    async def caller(self, ctx: Context) -> WebResponse:
        try:
            phone = normalise_phone(ctx.params["phone"])
        except PhoneNumberError as problem:
            return self._page(ctx, "error.html", 400, status=400, error=str(problem))
        try:
            call_id = _call_id(ctx)
        except params.ParamError as problem:
            return self._page(ctx, "error.html", 400, status=400, error=problem.message(ctx.t))
        card = await self.core.db.write(queries.caller_card, phone, actor=ctx.actor,
                                        now=self.core.clock.now(), call_id=call_id or None)
        return self._page(ctx, "caller.html", c=card)



def _bounded_texts(form: dict[str, str]) -> None:
    for key in APPEAL_TEXT_FIELDS:
        params.text(form, key, params.APPEAL_TEXT_MAX[key])


def _call_id(ctx: Context) -> str:
    """The IVR's call id a page was opened for (HOTLINE_CALL_ID), as long as its column."""
    return params.text({"call_id": ctx.request.arg("call_id").strip()}, "call_id",
                       params.APPEAL_TEXT_MAX["call_id"])
