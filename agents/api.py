"""The JSON API for the bureau's other systems (the public web portal): open an appeal,
read its status by case number. Bearer-token authenticated; described by `OPENAPI`,
served at /api/openapi.json and checked against the responses by the tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hotline import audit
from hotline.appeals import AppealNotFound, AppealRecord, AppealValidationError, NewAppeal
from schemas.enums import AppealChannel, AppealKind, AppealStatus, Satisfaction

API_ACTOR = "api"
CREATE_FIELDS = {"channel", "kind", "subject", "body", "citizen_phone", "citizen_name",
                 "citizen_id_number", "area", "approval_item_code"}
REQUIRED_FIELDS = ("kind", "subject", "citizen_phone")
API_CHANNELS = (AppealChannel.WEB, AppealChannel.LETTER, AppealChannel.VISIT)

_ERROR = {"type": "object", "required": ["error"], "additionalProperties": False,
          "properties": {"error": {"type": "object", "required": ["message"],
                                   "additionalProperties": False,
                                   "properties": {"field": {"type": "string"},
                                                  "message": {"type": "string"}}}}}
_STAMP = {"type": "string", "format": "date-time"}
_NULLABLE_STAMP = {"type": ["string", "null"], "format": "date-time"}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "9600110 hotline appeals API", "version": "1.0.0",
             "description": "For the bureau's other systems: the public portal opens appeals "
                            "and reads their status by case number."},
    "servers": [{"url": "/"}],
    "components": {
        "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "CallbackReport": {
                "type": "object", "required": ["from", "to", "by", "rows"],
                "additionalProperties": False,
                "properties": {
                    "from": {"type": "string", "format": "date"},
                    "to": {"type": "string", "format": "date"},
                    "by": {"type": "string", "enum": ["unit", "agent", "kind"]},
                    "rows": {"type": "array", "items": {
                        "type": "object",
                        "required": ["group", "label", "resolved", "due", "within", "late",
                                     "unreachable", "pending", "completed", "compliance"],
                        "properties": {
                            "group": {"type": ["string", "null"]},
                            "label": {"type": "string"},
                            **{name: {"type": "integer", "minimum": 0} for name in (
                                "resolved", "due", "within", "late", "unreachable",
                                "sms_fallback", "pending", "completed_attempts", "satisfied",
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
                    "subject": {"type": "string", "minLength": 1, "maxLength": 200},
                    "body": {"type": "string"},
                    "citizen_phone": {"type": "string", "examples": ["13812345678"]},
                    "citizen_name": {"type": "string"},
                    "citizen_id_number": {"type": "string"},
                    "area": {"type": "string"},
                    "approval_item_code": {"type": "string"},
                },
            },
            "AppealStatus": {
                "type": "object", "additionalProperties": False,
                "required": ["case_number", "status", "kind", "channel", "subject",
                             "created_at", "updated_at", "deadline_at", "resolved_at",
                             "resolution", "satisfaction"],
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
                },
            },
        },
    },
    "security": [{"token": []}],
    "paths": {
        "/api/v1/reports/callbacks": {
            "get": {
                "operationId": "getCallbackReport",
                "summary": "Callback (回访) compliance for a period, by unit, agent or kind",
                "parameters": [
                    {"name": "from", "in": "query", "required": True,
                     "schema": {"type": "string", "format": "date"},
                     "description": "first day (Asia/Shanghai)"},
                    {"name": "to", "in": "query", "required": True,
                     "schema": {"type": "string", "format": "date"},
                     "description": "last day, included"},
                    {"name": "by", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": ["unit", "agent", "kind"]}},
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
                "summary": "An appeal's status by its case number",
                "parameters": [{"name": "case_number", "in": "path", "required": True,
                                "schema": {"type": "string", "pattern": "^[0-9]+$"}}],
                "responses": {
                    "200": {"description": "The appeal",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/AppealStatus"}}}},
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


def status_document(appeal: AppealRecord) -> dict:
    def stamp(value: dt.datetime | None) -> str | None:
        return value.astimezone(dt.timezone.utc).isoformat() if value else None

    return {"case_number": appeal.case_number, "status": appeal.status.value,
            "kind": appeal.kind.value, "channel": appeal.channel.value,
            "subject": appeal.subject, "created_at": stamp(appeal.created_at),
            "updated_at": stamp(appeal.updated_at), "deadline_at": stamp(appeal.deadline_at),
            "resolved_at": stamp(appeal.resolved_at), "resolution": appeal.resolution,
            "satisfaction": appeal.satisfaction.value if appeal.satisfaction else None}


def read_status(session, repository, case_number: str, *, now: dt.datetime) -> AppealRecord:
    """The appeal by case number, its read audited as the API's."""
    appeal = repository.by_case_number(session, case_number)
    audit.record_access(session, at=now, actor=API_ACTOR, entity_type="appeal",
                        entity_id=appeal.id, note="status by case number")
    return appeal


__all__ = ["OPENAPI", "ApiError", "parse_new_appeal", "status_document", "read_status",
           "validation_error", "AppealNotFound"]


def report_period(args: dict[str, str], zone) -> tuple[dt.datetime, dt.datetime, str]:
    """`from` and `to` are local days (both included); the report takes UTC instants."""
    by = args.get("by") or "unit"
    if by not in ("unit", "agent", "kind"):
        raise ApiError(400, "by must be unit, agent or kind", "by")
    days = {}
    for name in ("from", "to"):
        try:
            days[name] = dt.date.fromisoformat(args.get(name) or "")
        except ValueError:
            raise ApiError(400, f"{name} must be a date YYYY-MM-DD", name) from None
    if days["to"] < days["from"]:
        raise ApiError(400, "to must not be before from", "to")
    start = dt.datetime.combine(days["from"], dt.time(), tzinfo=zone)
    end = dt.datetime.combine(days["to"] + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc), by
