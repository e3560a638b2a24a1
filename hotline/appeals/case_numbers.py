"""Case numbers: the Asia/Shanghai date and a sequence, digits only, e.g. 2026112800001.

Digits only so that a caller can key one on a phone pad in the IVR's progress query. The
sequence per day lives in `case_number_counters` and is incremented under the row's lock in
the same transaction that inserts the appeal, so every process draws distinct numbers and a
rolled-back appeal simply leaves a gap.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from schemas.models import CaseNumberCounter

SEQUENCE_DIGITS = 5


def case_day(now: dt.datetime, zone: ZoneInfo) -> dt.date:
    return now.astimezone(zone).date()


def next_case_number(session: Session, now: dt.datetime, zone: ZoneInfo) -> str:
    day = case_day(now, zone)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(CaseNumberCounter)
                    .values(day=day, last_value=0)
                    .on_conflict_do_nothing(index_elements=["day"]))
    value = session.execute(update(CaseNumberCounter)
                            .where(CaseNumberCounter.day == day)
                            .values(last_value=CaseNumberCounter.last_value + 1)
                            .returning(CaseNumberCounter.last_value)).scalar_one()
    return f"{day:%Y%m%d}{value:0{SEQUENCE_DIGITS}d}"


def looks_like_case_number(text: str) -> bool:
    return text.isdigit() and len(text) >= 8 + SEQUENCE_DIGITS
