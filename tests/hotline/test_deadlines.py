"""Deadlines in working days: weekends, public holidays and make-up working days (调休)."""

import datetime as dt

from freezegun import freeze_time

from hotline.workdays import WorkCalendar
from schemas.enums import AppealKind
from tests.support.appeals import SHANGHAI, make_repository, new_appeal

REPO = make_repository()


def shanghai(*args):
    return dt.datetime(*args, tzinfo=SHANGHAI)


def test_help_deadline_skips_national_day_and_counts_the_makeup_saturday(database):
    # Received Wed 30 Sep 2026; 1-7 Oct are holidays; Sat 10 Oct is a make-up working day.
    # Working days after receipt: Thu 8, Fri 9, Sat 10, Mon 12, Tue 13 -> due Tue 13 Oct.
    with freeze_time("2026-09-30T02:00:00Z"):
        now = dt.datetime.now(dt.timezone.utc)
        record = database.write_now(REPO.create, new_appeal(kind=AppealKind.HELP), actor="a", now=now)
    assert record.deadline_at == shanghai(2026, 10, 13, 23, 59, 59)


def test_consultation_received_friday_evening_is_due_tuesday():
    # Fri 27 Nov 2026 22:00 Shanghai: Mon 30 Nov is day 1, Tue 1 Dec day 2.
    deadline = REPO.deadline_for(AppealKind.CONSULTATION, shanghai(2026, 11, 27, 22, 0))
    assert deadline == shanghai(2026, 12, 1, 23, 59, 59)


def test_complaint_deadline_is_fifteen_working_days():
    deadline = REPO.deadline_for(AppealKind.COMPLAINT, shanghai(2026, 9, 28, 9, 0))
    # Tue 29, Wed 30 Sep (2); Thu 8, Fri 9, Sat 10 (5); Mon 12 .. Fri 16 (10); Mon 19 .. Fri 23 (15)
    assert deadline == shanghai(2026, 10, 23, 23, 59, 59)


def test_shanghai_date_decides_the_day_of_receipt():
    # 16:30 UTC on Wed 30 Sep is 00:30 Thu 1 Oct in Shanghai, a holiday: day 1 is Thu 8 Oct.
    deadline = REPO.deadline_for(AppealKind.CONSULTATION, dt.datetime(2026, 9, 30, 16, 30,
                                                                      tzinfo=dt.timezone.utc))
    assert deadline == shanghai(2026, 10, 9, 23, 59, 59)


def test_year_unknown_to_the_library_uses_weekdays_and_configured_days():
    calendar = WorkCalendar(extra_holidays=[dt.date(2027, 1, 1)],
                            extra_workdays=[dt.date(2027, 1, 2)])
    assert calendar.is_workday(dt.date(2027, 1, 1)) is False  # configured holiday (a Friday)
    assert calendar.is_workday(dt.date(2027, 1, 2)) is True   # configured make-up Saturday
    assert calendar.is_workday(dt.date(2027, 1, 3)) is False  # Sunday
    assert calendar.add_working_days(dt.date(2026, 12, 31), 2) == dt.date(2027, 1, 4)
