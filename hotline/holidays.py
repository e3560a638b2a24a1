"""The yearly holiday file: one year's public holidays and make-up working days (调休), as
the bureau copies them from the State Council's notice (国务院办公厅关于YYYY年部分节假日安排的
通知, published each November or December), in TOML:

    year = 2027
    notice = "国办发明电〔2026〕N号"        # where the dates come from

    [[holiday]]
    name = "春节"
    start = 2027-02-05                     # a span, both ends included; or `date = ...`
    end = 2027-02-11

    [[workday]]                            # a Saturday or Sunday worked instead
    date = 2027-02-20
    name = "春节"                          # optional: the holiday it makes up for

Parsing refuses the whole file at the first look if anything is wrong, and names every bad
entry by its line: a date outside the stated year, a day listed as both holiday and working
day or listed twice, a make-up day that is not a weekend day (a typo: a weekday already is a
working day), a span longer than `MAX_SPAN_DAYS` (a typo in a month), an unknown key, a
file with no holiday at all. A shipped example carries `example = true`, which is refused,
so that a sample is never loaded as the official schedule.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass

from hotline.toml_lines import TomlLines as _Lines

# The longest official break (Spring Festival, with the weekends around it) is 9 days.
MAX_SPAN_DAYS = 14

_TOP_KEYS = {"year", "notice", "holiday", "workday", "example"}
_ENTRY_KEYS = {"date", "start", "end", "name"}


class HolidayFileError(ValueError):
    """The file is refused; the message names each bad entry by its line."""


@dataclass(frozen=True)
class ListedDay:
    day: dt.date
    name: str | None
    line: int | None  # where the file lists it, for messages


@dataclass(frozen=True)
class HolidayList:
    """A validated year: every date in `year`, no date twice, at least one holiday."""

    year: int
    notice: str
    holidays: tuple[ListedDay, ...]
    workdays: tuple[ListedDay, ...]


def parse_holiday_file(text: str, source: str = "holiday file") -> HolidayList:
    """The year in `text`, validated; raises `HolidayFileError` naming every bad line."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise HolidayFileError(f"{source}: not valid TOML: {error}") from None
    lines = _Lines(text)
    errors: list[tuple[int | None, str]] = []

    def bad(line: int | None, message: str) -> None:
        errors.append((line, message))

    for key in document:
        if key not in _TOP_KEYS:
            bad(lines.top.get(key, lines.single_tables.get(key)),
                f"unknown key {key!r}; expected year, notice, [[holiday]], [[workday]]")
    if document.get("example", False) is not False:
        bad(lines.top.get("example"), "this is an example, not the official list: replace its "
            "dates with the State Council notice's and delete the `example` line")
    year = document.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2099:
        bad(lines.top.get("year"), f"year must be a year such as 2027, got {year!r}")
        year = None
    notice = document.get("notice")
    if not isinstance(notice, str) or not notice.strip():
        bad(lines.top.get("notice"), "notice must name the State Council notice the dates come "
            "from, e.g. notice = \"国办发明电〔2026〕N号\"")
        notice = ""
    elif len(notice) > 200:
        bad(lines.top.get("notice"), "notice is longer than 200 characters")

    listed: dict[str, list[ListedDay]] = {"holiday": [], "workday": []}
    for kind in ("holiday", "workday"):
        entries = document.get(kind, [])
        if isinstance(entries, dict):
            bad(lines.single_tables.get(kind),
                f"write [[{kind}]] (one table per entry), not [{kind}]")
            continue
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            bad(lines.top.get(kind), f"{kind} must be [[{kind}]] tables")
            continue
        for index, entry in enumerate(entries):
            listed[kind].extend(_entry_days(kind, index, entry, year, lines, bad))

    if not document.get("holiday"):
        bad(None, "the file lists no [[holiday]]: an official list always has some")
    _check_repeats(listed, bad)
    if errors:
        raise HolidayFileError("\n".join(
            f"{source} line {line}: {message}" if line is not None else f"{source}: {message}"
            for line, message in sorted(errors, key=lambda e: (e[0] or 0, e[1]))))
    assert year is not None
    return HolidayList(year=year, notice=notice.strip(),
                       holidays=tuple(sorted(listed["holiday"], key=lambda d: d.day)),
                       workdays=tuple(sorted(listed["workday"], key=lambda d: d.day)))


def _entry_days(kind: str, index: int, entry: dict, year: int | None, lines: _Lines,
                bad) -> list[ListedDay]:
    where = lines.entry(kind, index)
    label = "" if where is not None else f"{kind} #{index + 1}: "

    def line_of(key: str) -> int | None:
        return lines.entry(kind, index, key)

    for key in entry:
        if key not in _ENTRY_KEYS:
            bad(line_of(key), f"{label}unknown key {key!r} in [[{kind}]]; expected date, or "
                f"start and end, and name")
    name = entry.get("name")
    if kind == "holiday" and (not isinstance(name, str) or not name.strip()):
        bad(line_of("name"), f"{label}a holiday needs its name, e.g. name = \"春节\"")
        name = None
    elif name is not None and (not isinstance(name, str) or len(name) > 64):
        bad(line_of("name"), f"{label}name must be text of at most 64 characters")
        name = None

    if "date" in entry and ("start" in entry or "end" in entry):
        bad(where, f"{label}give either date, or start and end, not both")
        return []
    if "date" in entry:
        first = last = _date(entry["date"], "date", line_of("date"), label, bad)
    elif "start" in entry and "end" in entry:
        first = _date(entry["start"], "start", line_of("start"), label, bad)
        last = _date(entry["end"], "end", line_of("end"), label, bad)
    else:
        bad(where, f"{label}needs date = YYYY-MM-DD, or start and end")
        return []
    if first is None or last is None:
        return []
    if last < first:
        bad(line_of("end"), f"{label}end {last} is before start {first}")
        return []
    single = "date" in entry
    outside = [(day, line_of("date" if single else end)) for day, end in
               ((first, "start"), (last, "end")) if year is not None and day.year != year]
    for day, line in dict(outside).items():
        bad(line, f"{label}{day} is not in {year}, the file's year")
    if outside:
        return []
    if (last - first).days + 1 > MAX_SPAN_DAYS:
        bad(line_of("end"), f"{label}{first} to {last} is {(last - first).days + 1} days; no "
            f"official break is longer than {MAX_SPAN_DAYS} (a typo in the month?)")
        return []
    line = line_of("date") if single else where
    days = []
    for offset in range((last - first).days + 1):
        day = first + dt.timedelta(days=offset)
        if kind == "workday" and day.weekday() < 5:
            bad(line, f"{label}{day} is a {day:%A}, already a working day; a make-up working "
                f"day (调休) is a Saturday or Sunday")
        else:
            days.append(ListedDay(day, name.strip() if name else None, line))
    return days


def _date(value, key: str, line: int | None, label: str, bad) -> dt.date | None:
    """A TOML date (2027-02-05) or the same written as a string."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    bad(line, f"{label}{key} must be a date YYYY-MM-DD, got {value!r}")
    return None


def _check_repeats(listed: dict[str, list[ListedDay]], bad) -> None:
    first_seen: dict[dt.date, tuple[str, ListedDay]] = {}
    for kind in ("holiday", "workday"):
        for entry in listed[kind]:
            seen = first_seen.get(entry.day)
            if seen is None:
                first_seen[entry.day] = (kind, entry)
                continue
            other_kind, other = seen
            where = f" (line {other.line})" if other.line is not None else ""
            if other_kind == kind:
                bad(entry.line, f"{entry.day} is listed twice as a {kind}{where}")
            else:
                bad(entry.line, f"{entry.day} is both a holiday{where} and a make-up working day")
