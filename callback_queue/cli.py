"""`hotline report callbacks`: the compliance report as CSV or XLSX, Chinese headers."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from hotline.config import Config

from callback_queue.report import compliance_report, headers, period


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def render_csv(rows, by: str) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel shows the Chinese headers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers(by))
    for row in rows:
        writer.writerow(["" if v is None else v for v in row.values()])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def render_xlsx(rows, by: str, title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "回访统计"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True)
    sheet.append(headers(by))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row.values())
    rate_column = len(headers(by))
    for (cell,) in sheet.iter_rows(min_row=3, min_col=rate_column, max_col=rate_column):
        cell.number_format = "0.00%"
    sheet.column_dimensions["A"].width = 28
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def cmd_report_callbacks(config: Config, args: argparse.Namespace) -> int:
    from hotline.db import Database, make_engine

    zone = ZoneInfo(config.service.timezone)
    start, end = period(args.start, args.end, zone)
    db = Database(make_engine(config.database), reactor=None, threads=1)
    rows = db.read_now(compliance_report, start, end, args.by)
    if args.format == "csv":
        data = render_csv(rows, args.by)
    else:
        data = render_xlsx(rows, args.by, f"回访合规统计 {args.start} 至 {args.end}")
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
    report = commands.add_parser("report", help="reports for supervisors").add_subparsers(
        required=True)
    callbacks = report.add_parser("callbacks", help="callback (回访) compliance by unit, agent "
                                                    "or appeal kind")
    callbacks.add_argument("--from", dest="start", type=_date, required=True,
                           help="first day (YYYY-MM-DD, Asia/Shanghai)")
    callbacks.add_argument("--to", dest="end", type=_date, required=True,
                           help="last day, included")
    callbacks.add_argument("--by", choices=("unit", "agent", "kind"), default="unit")
    callbacks.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    callbacks.add_argument("--output", "-o", help="file to write (default: standard output)")
    callbacks.set_defaults(handler=cmd_report_callbacks)
