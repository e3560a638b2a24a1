"""The JSON API for the bureau's other systems (the public web portal): open an appeal,
read its status and progress by case number. Bearer-token authenticated; described by
`OPENAPI`, served at /api/openapi.json and checked against the responses by the tests.

The progress is what the portal shows a citizen of the work-order flow (工单流转): received,
dispatched to a unit (the unit's name), signed for, returned by a unit and dispatched again,
extended (with the new deadline), replied, resolved, closed, each with its time. It carries
no reason, instruction, note or reply: those are the hall's and the units' working words."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from agents import params
from agents.http import MAX_BODY
from hotline import audit
from hotline.appeals import AppealNotFound, AppealRecord, AppealValidationError, NewAppeal
from schemas.enums import AppealChannel, AppealKind, AppealStatus, Satisfaction

API_ACTOR = "api"
CREATE_FIELDS = {"channel", "kind", "subject", "body", "citizen_phone", "citizen_name",
                 "citizen_id_number", "area", "approval_item_code"}
REQUIRED_FIELDS = ("kind", "subject", "citizen_phone")
API_CHANNELS = (AppealChannel.WEB, AppealChannel.LETTER, AppealChannel.VISIT)
REPORT_GROUPINGS = ("unit", "agent", "kind")
FIELD_MAX = params.APPEAL_TEXT_MAX

_ERROR = {"type": "object", "required": ["error"], "additionalProperties": False,
          "properties": {"error": {"type": "object", "required": ["message"],
                                   "additionalProperties": False,
                                   "properties": {"field": {"type": "string"},
                                                  "message": {"type": "string"}}}}}
_STAMP = {"type": "string", "format": "date-time"}
# A day of a report's period: the bounds of `params.day` (years 2000 to 2100).
_PERIOD_DAY = {"type": "string", "format": "date",
               "pattern": r"^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$",
               "minLength": 10, "maxLength": 10}
_NULLABLE_STAMP = {"type": ["string", "null"], "format": "date-time"}
# The analysis report (智能分析, GET /api/v1/reports/analysis).
ANALYSIS_COMPARISONS = ("previous", "year")
ANALYSIS_DIMENSIONS = ("kind", "category", "item", "area", "unit", "channel")
_DAY = {"type": "string", "format": "date"}
_COUNT = {"type": "integer", "minimum": 0}
_CHANGE = {"type": ["number", "null"]}
_CHANGE_ROW = {"type": "object", "additionalProperties": False,
               "required": ["key", "label", "current", "previous", "delta", "change"],
               "properties": {"key": {"type": "string"}, "label": {"type": "string"},
                              "current": _COUNT, "previous": _COUNT,
                              "delta": {"type": "integer"}, "change": _CHANGE}}
_SATISFACTION_ROW = {"type": "object", "additionalProperties": False,
                     "required": ["label", "satisfied", "basically_satisfied", "dissatisfied",
                                  "rated", "rate", "small_sample"],
                     "properties": {"label": {"type": "string"}, "satisfied": _COUNT,
                                    "basically_satisfied": _COUNT, "dissatisfied": _COUNT,
                                    "rated": _COUNT,
                                    "rate": {"type": ["number", "null"], "minimum": 0,
                                             "maximum": 1},
                                    "small_sample": {"type": "boolean"}}}
_TERM_ROW = {"type": "object", "additionalProperties": False,
             "required": ["term", "current", "previous", "delta", "change", "expected"],
             "properties": {"term": {"type": "string"}, "current": _COUNT, "previous": _COUNT,
                            "delta": {"type": "integer"}, "change": _CHANGE,
                            "expected": {"type": "number", "minimum": 0}}}
_FOLLOW_UP_ROW = {"type": "object", "additionalProperties": False,
                  "required": ["phone", "appeals", "first", "last", "case_numbers"],
                  "properties": {"phone": {"type": "string",
                                           "description": "masked, as everywhere"},
                                 "matter": {"type": "string"}, "appeals": _COUNT,
                                 "first": _STAMP, "last": _STAMP,
                                 "case_numbers": {"type": "array",
                                                  "items": {"type": "string"}}}}
# A published knowledge article's guide fields, as the portal shows them.
ARTICLE_TEXT_FIELDS = ("answer", "conditions", "materials", "location", "hours", "fee",
                       "time_limit", "legal_basis", "body")
ARTICLE_QUERY_MAX = 100
ARTICLE_ID = re.compile(r"[1-9][0-9]{0,8}")
# The steps of an appeal's progress, in the order they can happen, with the words the portal
# shows (Simplified Chinese, as every word a citizen reads).
PROGRESS_LABELS = {
    "received": "已受理",
    "dispatched": "已转交承办单位办理",
    "signed": "承办单位已签收",
    "returned": "承办单位退回，待重新分派",
    "extended": "经批准延期办理",
    "replied": "承办单位已答复，待审核",
    "resolved": "已办结",
    "closed": "已结案",
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "9600110 hotline appeals API", "version": "1.0.0",
             "description": "For the bureau's other systems: the public portal opens appeals "
                            "and reads their status by case number."},
    "servers": [{"url": "/"}],
    "components": {
        "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "AnalysisReport": {
                "type": "object", "additionalProperties": False,
                "required": ["from", "to", "compare", "comparison", "breakdowns",
                             "satisfaction", "hot_terms", "rising_terms", "repeat_callers",
                             "repeated_matters", "heat_map"],
                "properties": {
                    "from": _PERIOD_DAY, "to": _PERIOD_DAY,
                    "compare": {"type": "string", "enum": list(ANALYSIS_COMPARISONS)},
                    "comparison": {"type": "object", "required": ["from", "to"],
                                   "additionalProperties": False,
                                   "properties": {"from": _DAY, "to": _DAY}},
                    "breakdowns": {"type": "object", "additionalProperties": False,
                                   "required": list(ANALYSIS_DIMENSIONS),
                                   "properties": {d: {"type": "array", "items": _CHANGE_ROW}
                                                  for d in ANALYSIS_DIMENSIONS}},
                    "satisfaction": {"type": "object", "additionalProperties": False,
                                     "required": ["by_category", "by_unit"],
                                     "properties": {k: {"type": "array",
                                                        "items": _SATISFACTION_ROW}
                                                    for k in ("by_category", "by_unit")}},
                    "hot_terms": {"type": "array", "items": _TERM_ROW},
                    "rising_terms": {"type": "array", "items": _TERM_ROW},
                    "repeat_callers": {"type": "array", "items": _FOLLOW_UP_ROW},
                    "repeated_matters": {"type": "array", "items": _FOLLOW_UP_ROW},
                    "heat_map": {"type": "array", "items": {
                        "type": "object", "additionalProperties": False,
                        "required": ["weekday", "hour", "offered", "abandoned"],
                        "properties": {"weekday": {"type": "integer", "minimum": 1,
                                                   "maximum": 7},
                                       "hour": {"type": "integer", "minimum": 0,
                                                "maximum": 23},
                                       "offered": _COUNT, "abandoned": _COUNT}}},
                },
            },
            "CallbackReport": {
                "type": "object", "required": ["from", "to", "by", "rows"],
                "additionalProperties": False,
                "properties": {
                    "from": _PERIOD_DAY,
                    "to": _PERIOD_DAY,
                    "by": {"type": "string", "enum": list(REPORT_GROUPINGS)},
                    "rows": {"type": "array", "items": {
                        "type": "object",
                        "required": ["group", "label", "resolved", "due", "within", "late",
                                     "unreachable", "pending", "completed", "compliance"],
                        "properties": {
                            "group": {"type": ["string", "null"]},
                            "label": {"type": "string"},
                            **{name: {"type": "integer", "minimum": 0} for name in (
                                "resolved", "due", "within", "late", "unreachable",
                                "sms_fallback", "pending", "not_due", "completed_attempts",
                                "satisfied",
                                "basically_satisfied", "dissatisfied", "unrated", "completed")},
                            "attempts_per_completed": {"type": ["number", "null"]},
                            "compliance": {"type": ["number", "null"], "minimum": 0,
                                           "maximum": 1},
                        },
                    }},
                },
            },
            "Error": _ERROR,
            "NewAppeal": {
                "type": "object", "additionalProperties": False,
                "required": list(REQUIRED_FIELDS),
                "properties": {
                    "channel": {"type": "string", "enum": [c.value for c in API_CHANNELS],
                                "default": "web"},
                    "kind": {"type": "string", "enum": [k.value for k in AppealKind]},
                    **{name: {"type": "string", "maxLength": FIELD_MAX[name]}
                       for name in ("body", "citizen_name", "citizen_id_number", "area",
                                    "approval_item_code")},
                    "subject": {"type": "string", "minLength": 1,
                                "maxLength": FIELD_MAX["subject"]},
                    "citizen_phone": {"type": "string", "minLength": 1,
                                      "maxLength": FIELD_MAX["citizen_phone"],
                                      "examples": ["13812345678"]},
                },
            },
            "ArticleHit": {
                "type": "object", "additionalProperties": False,
                "required": ["id", "title", "item_code", "answer", "sample"],
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "title": {"type": "string"},
                    "item_code": {"type": ["string", "null"],
                                  "description": "the approval item it guides, if any"},
                    "answer": {"type": "string", "description": "the short answer"},
                    "sample": {"type": "boolean", "description": "sample content shipped with "
                               "the service, not the bureau's text (示例)"},
                },
            },
            "ArticleList": {
                "type": "object", "additionalProperties": False, "required": ["q", "articles"],
                "properties": {"q": {"type": "string"},
                               "articles": {"type": "array",
                                            "items": {"$ref": "#/components/schemas/ArticleHit"}}},
            },
            "Article": {
                "type": "object", "additionalProperties": False,
                "required": ["id", "kind", "item_code", "item_name", "sample", "version",
                             "title", *ARTICLE_TEXT_FIELDS, "unit", "valid_from", "review_by"],
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "kind": {"type": "string"},
                    "item_code": {"type": ["string", "null"]},
                    "item_name": {"type": ["string", "null"]},
                    "sample": {"type": "boolean"},
                    "version": {"type": "integer", "minimum": 1},
                    "title": {"type": "string"},
                    **{name: {"type": "string"} for name in ARTICLE_TEXT_FIELDS},
                    "unit": {"type": ["string", "null"], "description": "the unit responsible"},
                    "valid_from": {"type": ["string", "null"], "format": "date"},
                    "review_by": {"type": ["string", "null"], "format": "date"},
                },
            },
            "ProgressStep": {
                "type": "object", "additionalProperties": False,
                "required": ["step", "label", "at", "unit", "deadline_at"],
                "properties": {
                    "step": {"type": "string", "enum": list(PROGRESS_LABELS)},
                    "label": {"type": "string", "description": "the step in Chinese, as the "
                                                               "portal shows it"},
                    "at": _STAMP,
                    "unit": {"type": ["string", "null"],
                             "description": "the handling unit's name (dispatch, signing, "
                                            "return, extension, reply)"},
                    "deadline_at": {**_NULLABLE_STAMP,
                                    "description": "an extension's new deadline"},
                },
            },
            "AppealStatus": {
                "type": "object", "additionalProperties": False,
                "required": ["case_number", "status", "kind", "channel", "subject",
                             "created_at", "updated_at", "deadline_at", "resolved_at",
                             "resolution", "satisfaction", "unit", "progress"],
                "properties": {
                    "case_number": {"type": "string", "pattern": "^[0-9]{13,}$"},
                    "status": {"type": "string", "enum": [s.value for s in AppealStatus]},
                    "kind": {"type": "string", "enum": [k.value for k in AppealKind]},
                    "channel": {"type": "string", "enum": [c.value for c in AppealChannel]},
                    "subject": {"type": "string"},
                    "created_at": _STAMP, "updated_at": _STAMP, "deadline_at": _STAMP,
                    "resolved_at": _NULLABLE_STAMP,
                    "resolution": {"type": ["string", "null"]},
                    "satisfaction": {"type": ["string", "null"],
                                     "enum": [s.value for s in Satisfaction] + [None]},
                    "unit": {"type": ["string", "null"],
                             "description": "the unit handling it now, by name"},
                    "progress": {"type": "array", "description": "the steps so far, oldest "
                                                                 "first",
                                 "items": {"$ref": "#/components/schemas/ProgressStep"}},
                },
            },
        },
    },
    "security": [{"token": []}],
    "paths": {
        "/api/v1/reports/analysis": {
            "get": {
                "operationId": "getAnalysisReport",
                "summary": "The analysis (智能分析) of a period beside its comparison period",
                "parameters": [
                    {"name": "from", "in": "query", "required": True, "schema": _PERIOD_DAY,
                     "description": "first day (Asia/Shanghai), "
                                    f"{params.FIRST_DAY} to {params.LAST_DAY}"},
                    {"name": "to", "in": "query", "required": True, "schema": _PERIOD_DAY,
                     "description": "last day, included, not before `from`, at most "
                                    "366 days after it"},
                    {"name": "compare", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": list(ANALYSIS_COMPARISONS),
                                "default": "previous"},
                     "description": "previous: the period before (环比); year: the same days "
                                    "a year before (同比)"},
                ],
                "responses": {
                    "200": {"description": "The figures, with the callers' numbers masked",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/AnalysisReport"}}}},
                    "400": {"description": "A parameter is invalid, or the period is longer "
                                           "than 366 days; `field` names it",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                    "401": {"description": "Missing or wrong token",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            },
        },
        "/api/v1/reports/callbacks": {
            "get": {
                "operationId": "getCallbackReport",
                "summary": "Callback (回访) compliance for a period, by unit, agent or kind",
                "parameters": [
                    {"name": "from", "in": "query", "required": True, "schema": _PERIOD_DAY,
                     "description": "first day (Asia/Shanghai), "
                                    f"{params.FIRST_DAY} to {params.LAST_DAY}"},
                    {"name": "to", "in": "query", "required": True, "schema": _PERIOD_DAY,
                     "description": "last day, included, not before `from`"},
                    {"name": "by", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": list(REPORT_GROUPINGS),
                                "default": "unit"}},
                ],
                "responses": {
                    "200": {"description": "One row per group, then the total (group \"*\")",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/CallbackReport"}}}},
                    "400": {"description": "A parameter is invalid; `field` names it",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                    "401": {"description": "Missing or wrong token",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                    "404": {"description": "This process runs no callback report",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            },
        },
        "/api/v1/articles": {
            "get": {
                "operationId": "searchArticles",
                "summary": "Search the published knowledge articles (知识库): words, pinyin, "
                           "initials, synonyms, approval item codes",
                "parameters": [{"name": "q", "in": "query", "required": True,
                                "schema": {"type": "string", "minLength": 1,
                                           "maxLength": ARTICLE_QUERY_MAX}}],
                "responses": {
                    "200": {"description": "The published articles it finds, best first",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/ArticleList"}}}},
                    "400": {"description": "No query, or one too long; `field` names it",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                    "401": {"description": "Missing or wrong token",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            },
        },
        "/api/v1/articles/{article_id}": {
            "get": {
                "operationId": "getArticle",
                "summary": "A published knowledge article's guide",
                "parameters": [{"name": "article_id", "in": "path", "required": True,
                                "schema": {"type": "string",
                                           "pattern": f"^{ARTICLE_ID.pattern}$",
                                           "minLength": 1, "maxLength": 9}}],
                "responses": {
                    "200": {"description": "Its published version",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Article"}}}},
                    "400": {"description": "Not an article id; `field` names it",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                    "401": {"description": "Missing or wrong token",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                    "404": {"description": "No such article, or none published",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            },
        },
        "/api/v1/appeals": {
            "post": {
                "operationId": "createAppeal",
                "summary": "Open an appeal",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/NewAppeal"}}}},
                "responses": {
                    "201": {"description": "Opened",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/AppealStatus"}}}},
                    "400": {"description": "Not JSON, or unknown fields",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                    "413": {"description": f"The body is over {MAX_BODY // 1024} KiB: "
                                           "refused before it is read, and the connection "
                                           "closed",
                            "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "401": {"description": "Missing or wrong token",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                    "422": {"description": "A field is invalid; `field` names it",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            },
        },
        "/api/v1/appeals/{case_number}": {
            "get": {
                "operationId": "getAppealStatus",
                "summary": "An appeal's status and progress (received, dispatched to a unit, "
                           "signed for, returned, extended, replied, resolved, closed) by its "
                           "case number",
                "parameters": [{"name": "case_number", "in": "path", "required": True,
                                "schema": {"type": "string", "pattern": "^[0-9]+$",
                                           "minLength": 1, "maxLength": params.CASE_NUMBER_MAX}}],
                "responses": {
                    "200": {"description": "The appeal",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/AppealStatus"}}}},
                    "400": {"description": "Not a case number (digits, at most "
                                           f"{params.CASE_NUMBER_MAX}); `field` names it",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                    "401": {"description": "Missing or wrong token",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                    "404": {"description": "No such appeal",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            },
        },
    },
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field

    def document(self) -> dict:
        error = {"message": str(self)}
        if self.field:
            error["field"] = self.field
        return {"error": error}


def parse_new_appeal(document: object) -> NewAppeal:
    if not isinstance(document, dict):
        raise ApiError(400, "the body must be a JSON object")
    unknown = set(document) - CREATE_FIELDS
    if unknown:
        raise ApiError(400, f"unknown field(s): {', '.join(sorted(unknown))}",
                       sorted(unknown)[0])
    for key, value in document.items():
        if not isinstance(value, str):
            raise ApiError(422, "must be a string", key)
        if len(value) > FIELD_MAX.get(key, len(value)):
            raise ApiError(422, f"must be at most {FIELD_MAX[key]} characters", key)
    for key in REQUIRED_FIELDS:
        if not document.get(key, "").strip():
            raise ApiError(422, "is required", key)
    channel = document.get("channel", AppealChannel.WEB.value)
    if channel not in {c.value for c in API_CHANNELS}:
        raise ApiError(422, f"must be one of {', '.join(c.value for c in API_CHANNELS)}",
                       "channel")
    kind = document["kind"]
    if kind not in {k.value for k in AppealKind}:
        raise ApiError(422, f"must be one of {', '.join(k.value for k in AppealKind)}", "kind")
    return NewAppeal(channel=AppealChannel(channel), kind=AppealKind(kind),
                     subject=document["subject"], citizen_phone=document["citizen_phone"],
                     body=document.get("body", ""), citizen_name=document.get("citizen_name"),
                     citizen_id_number=document.get("citizen_id_number"),
                     area=document.get("area"),
                     approval_item_code=document.get("approval_item_code"))


def validation_error(error: AppealValidationError) -> ApiError:
    return ApiError(422, str(error).split(": ", 1)[-1], error.field)


def _stamp(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.timezone.utc).isoformat() if value else None


def status_document(appeal: AppealRecord, progress: list[dict] | None = None,
                    unit: str | None = None) -> dict:
    """The appeal as the API gives it; `progress` (from `read_status`) defaults to the steps
    the appeal itself tells (received, resolved, closed), as for one just opened."""
    if progress is None:
        progress = _own_steps(appeal)
    return {"case_number": appeal.case_number, "status": appeal.status.value,
            "kind": appeal.kind.value, "channel": appeal.channel.value,
            "subject": appeal.subject, "created_at": _stamp(appeal.created_at),
            "updated_at": _stamp(appeal.updated_at), "deadline_at": _stamp(appeal.deadline_at),
            "resolved_at": _stamp(appeal.resolved_at), "resolution": appeal.resolution,
            "satisfaction": appeal.satisfaction.value if appeal.satisfaction else None,
            "unit": unit, "progress": progress}


def _step(step: str, at: dt.datetime, unit: str | None = None,
          deadline_at: dt.datetime | None = None) -> dict:
    return {"step": step, "label": PROGRESS_LABELS[step], "at": _stamp(at), "unit": unit,
            "deadline_at": _stamp(deadline_at)}


def _own_steps(appeal: AppealRecord) -> list[dict]:
    steps = [_step("received", appeal.created_at)]
    if appeal.resolved_at is not None:
        steps.append(_step("resolved", appeal.resolved_at))
    if appeal.closed_at is not None:
        steps.append(_step("closed", appeal.closed_at))
    return steps


def progress_of(session, appeal: AppealRecord) -> tuple[list[dict], str | None]:
    """The appeal's steps through the work-order flow, oldest first, and the unit that has
    it now (by name)."""
    from sqlalchemy import select

    from schemas.enums import ExtensionStatus
    from schemas.models import Unit, WorkOrder, WorkOrderExtension

    steps = _own_steps(appeal)
    orders = list(session.scalars(select(WorkOrder).where(WorkOrder.appeal_id == appeal.id)
                                  .order_by(WorkOrder.dispatched_at, WorkOrder.id)))
    names = dict(session.execute(select(Unit.id, Unit.name).where(
        Unit.id.in_({order.unit_id for order in orders} | {appeal.unit_id or 0}))).all())
    for order in orders:
        unit = names.get(order.unit_id)
        steps.append(_step("dispatched", order.dispatched_at, unit))
        for step, at in (("signed", order.signed_at), ("returned", order.returned_at),
                         ("replied", order.replied_at)):
            if at is not None:
                steps.append(_step(step, at, unit))
    extensions = session.execute(select(WorkOrderExtension, WorkOrder.unit_id).join(
        WorkOrder, WorkOrder.id == WorkOrderExtension.work_order_id).where(
        WorkOrder.appeal_id == appeal.id,
        WorkOrderExtension.status == ExtensionStatus.APPROVED))
    for extension, unit_id in extensions:
        if extension.decided_at is not None:
            steps.append(_step("extended", extension.decided_at, names.get(unit_id),
                               extension.due_after))
    order = list(PROGRESS_LABELS)
    steps.sort(key=lambda step: (step["at"], order.index(step["step"])))
    return steps, names.get(appeal.unit_id) if appeal.unit_id else None


def read_status(session, repository, case_number: str, *,
                now: dt.datetime) -> tuple[AppealRecord, list[dict], str | None]:
    """The appeal by case number with its progress, its read audited as the API's."""
    appeal = repository.by_case_number(session, case_number)
    audit.record_access(session, at=now, actor=API_ACTOR, entity_type="appeal",
                        entity_id=appeal.id, note="status by case number")
    progress, unit = progress_of(session, appeal)
    return appeal, progress, unit


def article_hits(session, query: str) -> list[dict]:
    """The published, not retired, articles a search finds (the desk's search)."""
    from sqlalchemy import select

    from hotline.knowledge.search import search
    from schemas.knowledge import KnowledgeArticle

    hits = search(session, query)
    live = set(session.scalars(select(KnowledgeArticle.id).where(
        KnowledgeArticle.id.in_([hit.article_id for hit in hits]),
        KnowledgeArticle.retired.is_(False))))
    return [{"id": hit.article_id, "title": hit.title, "item_code": hit.item_code,
             "answer": hit.answer, "sample": hit.sample}
            for hit in hits if hit.article_id in live]


def article_document(session, article_id: int) -> dict | None:
    """The article's published version, or None (unknown, unpublished or retired)."""
    from hotline.knowledge import repository
    from hotline.knowledge.errors import KnowledgeError

    try:
        record = repository.article(session, article_id)
    except (KnowledgeError, LookupError):
        return None
    published = record.published
    if published is None or record.retired:
        return None
    fields = published.fields
    return {"id": record.id, "kind": record.kind, "item_code": record.item_code,
            "item_name": record.item_name, "sample": record.sample,
            "version": published.number, "title": fields.title,
            **{name: getattr(fields, name) or "" for name in ARTICLE_TEXT_FIELDS},
            "unit": published.unit_name,
            "valid_from": fields.valid_from.isoformat() if fields.valid_from else None,
            "review_by": fields.review_by.isoformat() if fields.review_by else None}


__all__ = ["OPENAPI", "ApiError", "parse_new_appeal", "status_document", "read_status",
           "article_hits", "article_document",
           "progress_of",
           "validation_error", "report_period", "parameter_error", "AppealNotFound"]


def report_period(args: params.Args, zone) -> tuple[dt.datetime, dt.datetime, str]:
    """`from` and `to` are local days (both included), `by` the grouping; the report takes
    UTC instants. Raises `params.ParamError` naming the parameter out of bounds."""
    by = params.choice(args, "by", REPORT_GROUPINGS, default="unit")
    first, last = params.required_day(args, "from"), params.required_day(args, "to")
    params.ordered(first, last, "from", "to")
    start = dt.datetime.combine(first, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc), by


def parameter_error(error: params.ParamError) -> ApiError:
    return ApiError(400, str(error), error.name)


def analysis_document(report) -> dict:
    """The analysis report (`hotline.analysis.insights.AnalysisReport`) as the API gives it."""
    def stamp(value: dt.datetime) -> str:
        return value.astimezone(dt.timezone.utc).isoformat()

    def follow_up(row) -> dict:
        document = {"phone": row.phone, "appeals": row.appeals, "first": stamp(row.first),
                    "last": stamp(row.last), "case_numbers": list(row.case_numbers)}
        if hasattr(row, "matter"):
            document["matter"] = row.matter
        return document

    def satisfaction(rows) -> list[dict]:
        return [{"label": r.label, "satisfied": r.satisfied, "basically_satisfied": r.basically,
                 "dissatisfied": r.dissatisfied, "rated": r.rated, "rate": r.rate,
                 "small_sample": r.small} for r in rows]

    def terms(rows) -> list[dict]:
        return [{"term": r.term, "current": r.current, "previous": r.previous,
                 "delta": r.delta, "change": r.change, "expected": r.expected} for r in rows]

    return {
        "from": report.current.first.isoformat(), "to": report.current.last.isoformat(),
        "compare": report.compare,
        "comparison": {"from": report.comparison.first.isoformat(),
                       "to": report.comparison.last.isoformat()},
        "breakdowns": {b.dimension: [{"key": r.key, "label": r.label, "current": r.current,
                                      "previous": r.previous, "delta": r.delta,
                                      "change": r.change} for r in (*b.rows, b.total)]
                       for b in report.breakdowns},
        "satisfaction": {"by_category": satisfaction(report.satisfaction_by_category),
                         "by_unit": satisfaction(report.satisfaction_by_unit)},
        "hot_terms": terms(report.topics.hot), "rising_terms": terms(report.topics.rising),
        "repeat_callers": [follow_up(r) for r in report.repeat_callers],
        "repeated_matters": [follow_up(r) for r in report.repeated_matters],
        "heat_map": [{"weekday": day + 1, "hour": hour, "offered": cell.offered,
                      "abandoned": cell.abandoned}
                     for (day, hour), cell in sorted(report.heat.cells.items())],
    }
