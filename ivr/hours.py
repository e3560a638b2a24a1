"""When agents answer the hotline: opening hours on working days (holidays per configuration)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hotline.config import IvrConfig
from hotline.workdays import WorkCalendar


class ServiceHours:
    def __init__(self, config: IvrConfig, calendar: WorkCalendar, zone: ZoneInfo) -> None:
        self._start, self._end = config.hours  # minutes after midnight; the end may be 24:00
        self._open_on_holidays = config.open_on_holidays
        self._calendar = calendar
        self.zone = zone

    def is_open(self, now: dt.datetime) -> bool:
        local = now.astimezone(self.zone)
        if not self._open_on_holidays and not self._calendar.is_workday(local.date()):
            return False
        return self._start <= local.hour * 60 + local.minute < self._end
