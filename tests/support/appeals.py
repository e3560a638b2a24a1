"""Building the appeal core on a test database."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hotline.appeals import AppealRepository, NewAppeal, ResolveHook
from hotline.config import AppealsConfig
from hotline.workdays import WorkCalendar
from schemas.enums import AppealChannel, AppealKind, UnitKind
from schemas.models import Unit

SHANGHAI = ZoneInfo("Asia/Shanghai")


def make_repository(hook: ResolveHook | None = None) -> AppealRepository:
    return AppealRepository(zone=SHANGHAI, calendar=WorkCalendar(),
                            deadline_working_days=AppealsConfig().deadline_working_days,
                            resolve_hook=hook or ResolveHook())


def new_appeal(**overrides) -> NewAppeal:
    values = dict(channel=AppealChannel.PHONE, kind=AppealKind.HELP, subject="邻居噪音扰民",
                  citizen_phone="13812345678", body="每晚十一点后仍有装修噪音")
    values.update(overrides)
    return NewAppeal(**values)


def add_unit(session, code: str = "PS-LS", name: str = "兰山派出所") -> int:
    unit = Unit(code=code, name=name, kind=UnitKind.STATION, active=True)
    session.add(unit)
    session.flush()
    return unit.id


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.timezone.utc)
