"""When agents answer the hotline: opening hours on working days (holidays per configuration)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hotline.config import IvrConfig
from hotline.workdays import WorkCalendar


class ServiceHours:
    def __init__(self, config: IvrConfig, calendar: WorkCalendar, zone: ZoneInfo) -> None:
        self._opening = config.opening
        self._closing = config.closing
        self._open_on_holidays = config.open_on_holidays
        self._calendar = calendar
        self._zone = zone

    def is_open(self, now: dt.datetime) -> bool:
        local = now.astimezone(self._zone)
        if not self._open_on_holidays and not self._calendar.is_workday(local.date()):
            return False
        return self._opening <= local.time() < self._closing
