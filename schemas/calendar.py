"""The official holiday lists loaded by `hotline calendar load`: one row per year (which
notice it came from, who loaded it when) and one per listed day. A year that has a row here
is decided wholly by these rows, before the `chinese_calendar` library's data."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from schemas.base import Base, UtcDateTime
from schemas.models import _enum


class CalendarDayKind(enum.StrEnum):
    HOLIDAY = "holiday"  # a day off, whatever day of the week (春节, 国庆 ...)
    WORKDAY = "workday"  # a make-up working day (调休) on a Saturday or Sunday


class CalendarYear(Base):
    """A year whose list was loaded; loading it again replaces its days in one transaction."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    notice: Mapped[str] = mapped_column(String(200))  # the State Council notice it follows
    source: Mapped[str] = mapped_column(String(255))  # the file it was loaded from
    loaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    loaded_by: Mapped[str] = mapped_column(String(64))


class CalendarDay(Base):
    """One holiday or make-up working day of a loaded year; every other day of that year is
    a working day from Monday to Friday."""

    __tablename__ = "calendar_days"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("calendar_years.year"), index=True)
    kind: Mapped[CalendarDayKind] = mapped_column(_enum(CalendarDayKind))
    name: Mapped[str | None] = mapped_column(String(64))  # 春节, 国庆节; a make-up day's holiday
