"""`hotline report callbacks`: the compliance report as CSV or XLSX, Chinese headers (the
file is rendered by `callback_queue.export`, as the supervisor's downloads are)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from callback_queue.export import FORMATS, render
from callback_queue.report import compliance_report, period
from hotline.clock import SystemClock
from hotline.config import Config


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def cmd_report_callbacks(config: Config, args: argparse.Namespace) -> int:
    from hotline.db import Database, make_engine

    zone = ZoneInfo(config.service.timezone)
    start, end = period(args.start, args.end, zone)
    db = Database(make_engine(config.database), reactor=None, threads=1)
    rows = db.read_now(compliance_report, start, end, args.by, now=SystemClock().now())
    data = render(rows, args.by, args.format, args.start, args.end)
    if args.output in (None, "-"):
        if args.format == "xlsx" and sys.stdout.isatty():
            raise ValueError("XLSX is binary: give --output FILE")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        Path(args.output).write_bytes(data)
        print(f"callback report {args.start}..{args.end} by {args.by}: {len(rows) - 1} groups "
              f"-> {args.output}", file=sys.stderr)
    return 0


def register(commands) -> None:
    from hotline.analysis.cli import register_report as register_analysis
    from hotline.staffing import register_report

    report = commands.add_parser("report", help="reports for supervisors").add_subparsers(
        required=True)
    register_report(report)  # `hotline report staffing` (Erlang C), the core's own sum
    register_analysis(report)  # `hotline report analysis` (智能分析), the core's analysis
    callbacks = report.add_parser("callbacks", help="callback (回访) compliance by unit, agent "
                                                    "or appeal kind")
    callbacks.add_argument("--from", dest="start", type=_date, required=True,
                           help="first day (YYYY-MM-DD, Asia/Shanghai)")
    callbacks.add_argument("--to", dest="end", type=_date, required=True,
                           help="last day, included")
    callbacks.add_argument("--by", choices=("unit", "agent", "kind"), default="unit")
    callbacks.add_argument("--format", choices=FORMATS, default="csv")
    callbacks.add_argument("--output", "-o", help="file to write (default: standard output)")
    callbacks.set_defaults(handler=cmd_report_callbacks)
