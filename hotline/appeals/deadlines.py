"""Deadlines of the appeal domain on the working-day calendar, in the business time zone:
the end of the N-th working day after a moment's day (an appeal's deadline, a work order's
handling and return limits, an extension), and a moment N working hours on (the sign-for
limit). Stored times are UTC; the counting is done in `zone`."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hotline.workdays import WorkCalendar

END_OF_DAY = dt.time(23, 59, 59)


def end_of_working_day(calendar: WorkCalendar, zone: ZoneInfo, start: dt.datetime,
                       days: int) -> dt.datetime:
    """The end of the `days`-th working day after `start`'s day (the day itself not counted;
    0: the end of that very day), in UTC."""
    day = calendar.add_working_days(start.astimezone(zone).date(), days)
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=zone).astimezone(dt.timezone.utc)


def add_working_hours(calendar: WorkCalendar, zone: ZoneInfo, start: dt.datetime,
                      hours: float, span: tuple[int, int]) -> dt.datetime:
    """The moment `hours` working hours after `start`, counting only the minutes within
    `span` (minutes after midnight, e.g. (510, 1050) for 08:30-17:30) of working days: a
    dispatch at 17:00 on a Friday with two hours to go is due at 10:00 on Monday (with
    08:30-17:30). In UTC."""
    remaining = dt.timedelta(hours=hours)
    opens, closes = (dt.timedelta(minutes=m) for m in span)
    moment = start.astimezone(zone)
    while True:
        day = moment.date()
        if calendar.is_workday(day):
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=zone)
            moment = max(moment, midnight + opens)
            left_today = midnight + closes - moment
            if remaining <= left_today:
                return (moment + remaining).astimezone(dt.timezone.utc)
            if left_today > dt.timedelta(0):
                remaining -= left_today
        moment = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)


def subtract_working_hours(calendar: WorkCalendar, zone: ZoneInfo, end: dt.datetime,
                           hours: float, span: tuple[int, int]) -> dt.datetime:
    """The moment `hours` working hours before `end`, counted as `add_working_hours` counts
    (only the minutes within `span` of working days): with 08:30-17:30, nine working hours
    before the end of a Friday is 08:30 that Friday, and one hour before it is 16:30. In UTC."""
    remaining = dt.timedelta(hours=hours)
    opens, closes = (dt.timedelta(minutes=m) for m in span)
    moment = end.astimezone(zone)
    while True:
        day = moment.date()
        if calendar.is_workday(day):
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=zone)
            moment = min(moment, midnight + closes)
            left_today = moment - (midnight + opens)
            if remaining <= left_today:
                return (moment - remaining).astimezone(dt.timezone.utc)
            if left_today > dt.timedelta(0):
                remaining -= left_today
        # The end of the day before: the walk goes on from there.
        moment = dt.datetime.combine(day, dt.time(), tzinfo=zone) - dt.timedelta(microseconds=1)


def first_working_day_after(calendar: WorkCalendar, zone: ZoneInfo, moment: dt.datetime,
                            span: tuple[int, int]) -> dt.datetime:
    """The opening (`span`'s start) of the first working day after `moment`'s day, in UTC:
    when a deadline missed on a Friday is supervised (督办), on Monday morning."""
    day = calendar.add_working_days(moment.astimezone(zone).date(), 1)
    opens = dt.datetime.combine(day, dt.time(), tzinfo=zone) + dt.timedelta(minutes=span[0])
    return opens.astimezone(dt.timezone.utc)
