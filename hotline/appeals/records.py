"""Plain, frozen views of appeals that leave the database thread (ORM objects never do)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from schemas.enums import AppealChannel, AppealKind, AppealStatus, Satisfaction
from schemas.models import Appeal


@dataclass(frozen=True)
class NewAppeal:
    """What an agent, the IVR, the web portal or an SMS supplies to open an appeal."""

    channel: AppealChannel
    kind: AppealKind
    subject: str
    citizen_phone: str
    body: str = ""
    citizen_name: str | None = None
    citizen_id_number: str | None = None
    area: str | None = None
    approval_item_code: str | None = None
    unit_id: int | None = None
    agent_id: int | None = None
    call_id: str | None = None
    recording_path: str | None = None


@dataclass(frozen=True)
class AppealRecord:
    id: int
    case_number: str
    channel: AppealChannel
    kind: AppealKind
    status: AppealStatus
    subject: str
    body: str
    citizen_phone: str
    citizen_name: str | None
    citizen_id_number: str | None
    area: str | None
    approval_item_id: int | None
    unit_id: int | None
    agent_id: int | None
    call_id: str | None
    recording_path: str | None
    deadline_at: dt.datetime
    resolution: str | None
    satisfaction: Satisfaction | None
    reopen_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None

    @classmethod
    def of(cls, appeal: Appeal) -> "AppealRecord":
        return cls(**{f.name: getattr(appeal, f.name) for f in fields(cls)})
