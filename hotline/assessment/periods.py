"""Report periods: days of the business time zone (Asia/Shanghai), both ends included, as
the UTC instants the queries compare with, and the period before one, to compare with."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

# A period longer than this is refused (the call-centre report buckets rows by day).
MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    first: dt.date  # the first day, in the business zone
    last: dt.date  # the last day, included
    start: dt.datetime  # UTC: the first day's local midnight
    end: dt.datetime  # UTC: the local midnight after the last day (excluded)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        return f"{self.first.isoformat()} 至 {self.last.isoformat()}"


def period(first: dt.date, last: dt.date, zone: ZoneInfo) -> Period:
    """Days `first` to `last`, both included, in `zone`."""
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValueError(f"a period covers at most {MAX_DAYS} days")
    start = dt.datetime.combine(first, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return Period(first, last, start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc))


def day_bounds(first: dt.date, last: dt.date, zone: ZoneInfo) -> list[dt.datetime]:
    """The local midnight of each day from `first` to `last` and of the day after, in UTC:
    a row's day is found by comparing instants, so the database needs no zone of its own."""
    days = (last - first).days + 1
    return [dt.datetime.combine(first + dt.timedelta(days=n), dt.time(0), tzinfo=zone)
            .astimezone(dt.timezone.utc) for n in range(days + 1)]


def previous_days(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """The period to compare [first, last] with:

    - whole calendar months (from the 1st to a month's last day): as many whole months
      before (November: October; the third quarter: the second);
    - the 1st of a month to a day of that month (this month so far): the same days of the
      month before, cut at its end (1 to 30 March: 1 to 28 February);
    - any other period: as many days, ending the day before it starts.
    """
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    if first.day == 1 and _month_end(last) == last:
        previous_first = _add_months(first, -months)
        return previous_first, _month_end(_add_months(previous_first, months - 1))
    if first.day == 1 and months == 1:
        previous_first = _add_months(first, -1)
        return previous_first, previous_first.replace(
            day=min(last.day, _month_end(previous_first).day))
    length = (last - first).days + 1
    return first - dt.timedelta(days=length), first - dt.timedelta(days=1)


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _add_months(day: dt.date, months: int) -> dt.date:
    """The 1st of the month `months` after `day`'s (negative: before)."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)
