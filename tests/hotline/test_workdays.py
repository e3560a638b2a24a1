"""The working-day calendar's sources in order (a loaded year, then the configured days and
the library, then Monday to Friday), the years it was asked about without data, and the
yearly holiday file it is loaded from."""

import datetime as dt
from pathlib import Path

import pytest
from twisted.logger import capturedLogs

from hotline.holidays import MAX_SPAN_DAYS, HolidayFileError, parse_holiday_file
from hotline.workdays import WorkCalendar, YearList
from tests.support.holidays import TEST_2027

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "holidays-2027.example.toml"


def year_2027() -> dict[int, YearList]:
    listed = parse_holiday_file(TEST_2027)
    return {2027: YearList(frozenset(d.day for d in listed.holidays),
                           frozenset(d.day for d in listed.workdays))}


def test_a_loaded_year_skips_its_spring_festival_and_counts_its_make_up_saturday():
    calendar = WorkCalendar(years=year_2027())
    assert not calendar.is_workday(dt.date(2027, 2, 8))  # a Monday of the break
    assert calendar.is_workday(dt.date(2027, 2, 20))  # the make-up Saturday
    assert calendar.is_workday(dt.date(2027, 2, 12))  # the Friday after the break
    # Fri 29 Jan: Mon 1 .. Thu 4 Feb (4), Fri 12 (5), Mon 15 .. Fri 19 (10), Sat 20 (11),
    # Mon 22 .. Thu 25 (15); Monday to Friday alone would say Fri 19 Feb.
    assert calendar.add_working_days(dt.date(2027, 1, 29), 15) == dt.date(2027, 2, 25)
    assert calendar.unknown_years() == ()


def test_a_loaded_year_is_decided_by_its_list_alone_before_the_configuration_and_library():
    loaded = {2027: YearList(frozenset({dt.date(2027, 1, 1)}), frozenset()),
              2026: YearList(frozenset({dt.date(2026, 3, 2)}), frozenset())}
    calendar = WorkCalendar(extra_holidays=[dt.date(2027, 1, 4)],
                            extra_workdays=[dt.date(2027, 1, 2)], years=loaded)
    assert calendar.is_workday(dt.date(2027, 1, 4))  # configured holiday: not in the list
    assert not calendar.is_workday(dt.date(2027, 1, 2))  # configured make-up day: likewise
    assert not calendar.is_workday(dt.date(2026, 3, 2))  # the list overrides the library
    assert calendar.is_workday(dt.date(2026, 10, 8))  # wholly: a library holiday it omits
    assert not calendar.is_workday(dt.date(2025, 10, 8))  # a year not loaded: the library's


def test_a_year_without_data_is_remembered_and_warned_once_until_its_list_is_loaded():
    calendar = WorkCalendar()
    with capturedLogs() as events:
        deadline = calendar.add_working_days(dt.date(2027, 1, 29), 15)
        calendar.is_workday(dt.date(2027, 3, 1))
    assert deadline == dt.date(2027, 2, 19)  # Spring Festival counted as working days
    assert calendar.unknown_years() == (2027,)
    warnings = [e for e in events if "no data for" in e["log_format"]]
    assert len(warnings) == 1 and warnings[0]["year"] == 2027
    assert "hotline calendar load" in warnings[0]["log_format"]
    calendar.is_workday(dt.date(2026, 12, 31))  # the library knows 2026
    assert calendar.unknown_years() == (2027,)
    calendar.use_years(year_2027())
    assert calendar.unknown_years() == ()
    assert calendar.loaded_years == (2027,)
    assert calendar.add_working_days(dt.date(2027, 1, 29), 15) == dt.date(2027, 2, 25)


def test_the_holiday_file_lists_spans_single_days_and_make_up_days():
    listed = parse_holiday_file(TEST_2027)
    assert listed.year == 2027 and listed.notice.startswith("test list")
    assert [d.day.isoformat() for d in listed.holidays] == [
        "2027-01-01", "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08", "2027-02-09",
        "2027-02-10", "2027-02-11"]
    assert {d.name for d in listed.holidays} == {"元旦", "春节"}
    assert [(d.day, d.name, d.line) for d in listed.workdays] == [
        (dt.date(2027, 2, 20), "春节", 14)]


BAD = """\
year = 2027
notice = "test"
colour = "red"

[[holiday]]
name = "元旦"
date = 2026-12-31

[[holiday]]
name = "春节"
start = 2027-02-05
end = 2027-02-11

[[workday]]
date = 2027-02-07

[[workday]]
date = 2027-02-17
nmae = "春节"

[[holiday]]
name = "国庆节"
start = 2027-10-01
end = 2027-12-07

[[holiday]]
date = "2027-13-01"
name = "x"

[[holiday]]
name = "春节"
date = 2027-02-06
"""


def test_every_bad_entry_is_named_by_its_line():
    with pytest.raises(HolidayFileError) as raised:
        parse_holiday_file(BAD, "h.toml")
    assert str(raised.value).splitlines() == [
        "h.toml line 3: unknown key 'colour'; expected year, notice, [[holiday]], [[workday]]",
        "h.toml line 7: 2026-12-31 is not in 2027, the file's year",
        "h.toml line 15: 2027-02-07 is both a holiday (line 9) and a make-up working day",
        "h.toml line 18: 2027-02-17 is a Wednesday, already a working day; a make-up working "
        "day (调休) is a Saturday or Sunday",
        "h.toml line 19: unknown key 'nmae' in [[workday]]; expected date, or start and end, "
        "and name",
        f"h.toml line 24: 2027-10-01 to 2027-12-07 is 68 days; no official break is longer "
        f"than {MAX_SPAN_DAYS} (a typo in the month?)",
        "h.toml line 27: date must be a date YYYY-MM-DD, got '2027-13-01'",
        "h.toml line 32: 2027-02-06 is listed twice as a holiday (line 9)",
    ]


@pytest.mark.parametrize("text, message", [
    ("year = 2027\nnotice = \"n\"\n[holiday]\nname = \"元旦\"\ndate = 2027-01-01\n",
     "f line 3: write [[holiday]] (one table per entry), not [holiday]"),
    ("year = 2027\nnotice = \"n\"\n", "f: the file lists no [[holiday]]"),
    ("notice = \"n\"\n[[holiday]]\nname = \"元旦\"\ndate = 2027-01-01\n",
     "f: year must be a year such as 2027, got None"),
    ("year = 2027\n[[holiday]]\nname = \"元旦\"\ndate = 2027-01-01\n",
     "f: notice must name the State Council notice"),
    ("year = 2027\nnotice = \"n\"\n[[holiday]]\ndate = 2027-01-01\n",
     "f line 3: a holiday needs its name"),
    ("year = 2027\nnotice = \"n\"\n[[holiday]]\nname = \"元旦\"\ndate = 2027-01-01\n"
     "start = 2027-01-01\nend = 2027-01-02\n", "f line 3: give either date, or start and end"),
    ("year = 2027\nnotice = \"n\"\n[[holiday]]\nname = \"a\"\nstart = 2027-01-03\n"
     "end = 2027-01-01\n", "f line 6: end 2027-01-01 is before start 2027-01-03"),
    ("year = 2027\nnotice = \"n\"\nholiday = [{name = \"a\", date = 2028-01-01}]\n",
     "f: holiday #1: 2028-01-01 is not in 2027"),
    ("year = 2027\nnotice = \"n\"\n[[holiday]\n", "f: not valid TOML"),
])
def test_a_malformed_file_is_refused_whole_with_a_message_naming_the_problem(text, message):
    with pytest.raises(HolidayFileError) as raised:
        parse_holiday_file(text, "f")
    assert message in str(raised.value)


def test_the_shipped_example_is_refused_as_it_is_and_well_formed_without_its_marker():
    text = EXAMPLE.read_text("utf-8")
    with pytest.raises(HolidayFileError) as raised:
        parse_holiday_file(text, EXAMPLE.name)
    assert "this is an example, not the official list" in str(raised.value)
    listed = parse_holiday_file(text.replace("example = true\n", ""), EXAMPLE.name)
    assert listed.year == 2027
    assert dt.date(2027, 2, 6) in {d.day for d in listed.holidays}  # 正月初一
