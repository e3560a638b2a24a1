"""`hotline analysis run --hour YYYY-MM-DDTHH`: analyse one hour (local time, the
configured zone) now, as the hourly job would: the same claim, so an hour the job already
analysed is not analysed twice. `--dry-run` prints every cell tested and writes nothing
(for tuning the thresholds on a site's own data)."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
from zoneinfo import ZoneInfo

from hotline.config import Config


def _hour(text: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an hour YYYY-MM-DDTHH, got {text!r}") from None


def cmd_analysis_run(config: Config, args: argparse.Namespace) -> int:
    from hotline.analysis import repository
    from hotline.analysis.config import AnalysisConfig
    from hotline.calendar_store import stored_years
    from hotline.clock import SystemClock
    from hotline.db import Database, make_engine
    from hotline.workdays import WorkCalendar

    settings = getattr(config, "analysis", None) or AnalysisConfig()
    zone = ZoneInfo(config.service.timezone)
    hour = args.hour.replace(tzinfo=zone).astimezone(dt.timezone.utc)
    now = SystemClock().now()
    if hour + repository.HOUR > now:
        raise ValueError(f"the hour {args.hour:%Y-%m-%d %H}:00 has not ended yet")
    db = Database(make_engine(config.database), reactor=None, threads=1)
    # The same calendar as the running service: the holiday lists loaded with
    # `hotline calendar load` decide their years (the baseline compares like days).
    calendar = WorkCalendar(config.calendar.extra_holidays, config.calendar.extra_workdays,
                            years=db.read_now(stored_years))
    label = f"{args.hour:%Y-%m-%d %H}:00 ({zone.key})"
    if args.dry_run:
        analysis = db.read_now(repository.analyse_hour, hour, zone=zone, calendar=calendar,
                               thresholds=settings.thresholds)
        _print_cells(analysis, label)
        return 0
    result = db.write_now(repository.run_hour, hour, zone=zone, calendar=calendar,
                          thresholds=settings.thresholds, now=now,
                          runner=f"cli:{getpass.getuser()}")
    if result.already_done:
        print(f"{label}: analysed before; nothing written")
        return 0
    _print_cells(result.analysis, label, flagged_only=True)
    print(f"{len(result.alert_ids)} alert(s) raised")
    return 0


def _print_cells(analysis, label: str, flagged_only: bool = False) -> None:
    print(f"{label}: {len(analysis.cells)} cells, {analysis.days} baseline days, "
          f"p threshold {analysis.threshold:.3g}")
    for cell in analysis.flagged if flagged_only else analysis.cells:
        print(f"{'!' if cell.alert else ' '} {cell.kind:<18} {cell.area or '-':<20} "
              f"count {cell.count:>4}  baseline {cell.expected:6.2f}  p {cell.p_value:.3g}")


def cmd_report_analysis(config: Config, args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from hotline.analysis import insights
    from hotline.analysis.context import analysis_context
    from hotline.analysis.report_files import render
    from hotline.assessment.periods import period
    from hotline.clock import SystemClock
    from hotline.db import Database, make_engine

    zone = ZoneInfo(config.service.timezone)
    current = period(args.start, args.end, zone)
    context = analysis_context(getattr(config, "analysis", None))
    db = Database(make_engine(config.database), reactor=None, threads=1)
    report = db.read_now(insights.analysis_report, current, args.compare, zone=zone,
                         areas=context.areas, index=context.index, settings=context.settings,
                         now=SystemClock().now())
    data = render(report, args.format)
    if args.output in (None, "-"):
        if args.format == "xlsx" and sys.stdout.isatty():
            raise ValueError("XLSX is binary: give --output FILE")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        Path(args.output).write_bytes(data)
        print(f"analysis {args.start}..{args.end} ({report.compare_name} "
              f"{report.comparison.label}) -> {args.output}", file=sys.stderr)
    return 0


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def register_report(report) -> None:
    """`hotline report analysis` (智能分析), added to the `report` group that
    callback_queue.cli creates."""
    from hotline.analysis.insights import COMPARISONS
    from hotline.analysis.report_files import FORMATS

    analysis = report.add_parser("analysis", help="appeals by kind, category, area, unit and "
                                                  "channel against a comparison period, hot "
                                                  "topics, repeat callers, satisfaction, the "
                                                  "call heat map (智能分析)")
    analysis.add_argument("--from", dest="start", type=_day, required=True,
                          help="first day (YYYY-MM-DD, the service's zone)")
    analysis.add_argument("--to", dest="end", type=_day, required=True, help="last day, included")
    analysis.add_argument("--compare", choices=COMPARISONS, default="previous",
                          help="previous: the period before (环比); year: a year before (同比)")
    analysis.add_argument("--format", choices=FORMATS, default="table")
    analysis.add_argument("--output", "-o", help="file to write (default: standard output)")
    analysis.set_defaults(handler=cmd_report_analysis)


def register(commands) -> None:
    analysis = commands.add_parser("analysis", help="early-warning analysis (预警研判)") \
        .add_subparsers(required=True)
    run = analysis.add_parser("run", help="analyse one hour for unusual appeal counts now")
    run.add_argument("--hour", type=_hour, required=True,
                     help="the hour's start, local time: YYYY-MM-DDTHH (e.g. 2026-11-28T13)")
    run.add_argument("--dry-run", action="store_true",
                     help="print every cell's statistic; write nothing")
    run.set_defaults(handler=cmd_analysis_run)
