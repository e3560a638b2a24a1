"""`hotline calendar load FILE`: load a year's official holidays and make-up working days
(调休) from the file the bureau fills from the State Council's notice (format:
`hotline.holidays`); it replaces that year's list, is audited, and every running process
uses it from its next refresh. A yearly task, each December. `hotline calendar list`: which
years are known, from where (exit 1 while the current year is unknown); `hotline calendar
show YEAR`: one loaded year's days."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
from pathlib import Path

from hotline.config import Config


def _database(config: Config):
    from hotline.cli import _database

    return _database(config)


def cmd_calendar_load(config: Config, args: argparse.Namespace) -> int:
    from hotline.calendar_store import store_year
    from hotline.clock import SystemClock
    from hotline.holidays import HolidayFileError, parse_holiday_file

    path = Path(args.file)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise HolidayFileError(f"{path}: {error}") from None
    listed = parse_holiday_file(text, path.name)
    summary = _database(config).write_now(store_year, listed, source=str(path), text=text,
                                          actor=f"cli:{getpass.getuser()}",
                                          now=SystemClock().now())
    replaced = (f" (replaced {summary.replaced[0]} holidays, {summary.replaced[1]} make-up "
                f"days)" if summary.replaced else "")
    print(f"calendar {summary.year}: {summary.holidays} holidays, {summary.workdays} make-up "
          f"working days loaded from {path.name}{replaced}; running services use them from "
          f"their next refresh")
    return 0


def cmd_calendar_list(config: Config, args: argparse.Namespace) -> int:
    import chinese_calendar

    from hotline.calendar_store import year_summaries
    from hotline.clock import SystemClock, local_zone
    from hotline.workdays import library_years

    zone = local_zone(config.service.timezone)
    stored = {y.year: y for y in _database(config).read_now(year_summaries)}
    library = library_years()
    print(f"{library.start}-{library.stop - 1}  chinese_calendar {chinese_calendar.__version__}"
          f"{' (loaded lists override it)' if any(y in library for y in stored) else ''}")
    for year in stored.values():
        print(f"{year.year}       loaded {year.loaded_at.astimezone(zone):%Y-%m-%d %H:%M} by "
              f"{year.loaded_by}: {year.holidays} holidays, {year.workdays} make-up days "
              f"({year.notice})")
    this_year = SystemClock().now().astimezone(zone).year
    missing = [y for y in (this_year, this_year + 1) if y not in stored and y not in library]
    for year in missing:
        print(f"{year}       unknown: counted Monday to Friday, its holidays as working days; "
              f"load the State Council's list with `hotline calendar load FILE`")
    return 1 if this_year in missing else 0


def cmd_calendar_show(config: Config, args: argparse.Namespace) -> int:
    from hotline.calendar_store import year_days

    days = _database(config).read_now(year_days, args.year)
    if not days:
        print(f"calendar {args.year}: no loaded list")
        return 1
    for day, kind, name in days:
        label = "holiday" if kind == "holiday" else "make-up working day"
        print(f"{day}  {day:%a}  {label:<19} {name or ''}".rstrip())
    return 0


def _year(text: str) -> int:
    try:
        return dt.date(int(text), 1, 1).year
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a year such as 2027, got {text!r}") from None


def register(commands) -> None:
    calendar = commands.add_parser("calendar", help="public holidays and make-up working days "
                                                    "(节假日, 调休)").add_subparsers(required=True)
    load = calendar.add_parser("load", help="load a year's official list (TOML), replacing it; "
                                            "audited")
    load.add_argument("file")
    load.set_defaults(handler=cmd_calendar_load)
    calendar.add_parser("list", help="the years known, and from where").set_defaults(
        handler=cmd_calendar_list)
    show = calendar.add_parser("show", help="one loaded year's holidays and make-up days")
    show.add_argument("year", type=_year)
    show.set_defaults(handler=cmd_calendar_show)
