"""The callback compliance report as a file, CSV or XLSX under Chinese headers: the one
renderer behind `hotline report callbacks` and the supervisor's download links (which the
wiring hands the web as `reports["callbacks_file"]`).

Both files have the same rows: a header, a row per group, the total; labels are names people
chose, so every cell goes through `hotline.spreadsheet`, which keeps text from running as a
formula. The files go to the bureau's spreadsheets: Chinese whatever a page's language.

Completed callbacks recorded with no call placed are counted by group on a second sheet of
the XLSX (未经系统拨号), beside the table, whose columns stay as they are.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence

from sqlalchemy.orm import Session

from callback_queue.report import (
    COLUMNS,
    GROUP_HEADERS,
    REACHED_WITHOUT_CALL,
    ReportRow,
    compliance_report,
    headers,
)
from hotline.spreadsheet import append_xlsx_row, csv_row

FORMATS = ("csv", "xlsx")
SHEET_TITLE = "回访统计"
WITHOUT_CALL_SHEET_TITLE = "未经系统拨号"


def title(first_day: dt.date, last_day: dt.date) -> str:
    return f"回访合规统计 {first_day} 至 {last_day}"


def render(rows: Sequence[ReportRow], by: str, file_format: str, first_day: dt.date,
           last_day: dt.date) -> bytes:
    """The report's rows (`compliance_report`) as the bytes of a CSV or XLSX file."""
    if file_format == "csv":
        return _csv(rows, by)
    if file_format == "xlsx":
        return _xlsx(rows, by, title(first_day, last_day))
    raise ValueError(f"report format must be one of {', '.join(FORMATS)}, got {file_format!r}")


def export(session: Session, start: dt.datetime, end: dt.datetime, by: str, file_format: str,
           zone: dt.tzinfo, *, now: dt.datetime) -> bytes:
    """The report of [start, end) as a file, in the database's thread: openpyxl's work has no
    place on the reactor thread either. The title names the period's days in `zone`."""
    first_day = start.astimezone(zone).date()
    last_day = (end.astimezone(zone) - dt.timedelta(days=1)).date()
    return render(compliance_report(session, start, end, by, now=now), by, file_format, first_day,
                  last_day)


def _csv(rows: Sequence[ReportRow], by: str) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel shows the Chinese headers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(csv_row(headers(by)))
    for row in rows:
        writer.writerow(csv_row(row.values()))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx(rows: Sequence[ReportRow], by: str, book_title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    book.properties.title = book_title
    append_xlsx_row(sheet, headers(by))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        append_xlsx_row(sheet, row.values())
    rate_column = len(COLUMNS) + 1
    for (cell,) in sheet.iter_rows(min_row=2, min_col=rate_column, max_col=rate_column):
        cell.number_format = "0.00%"
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions[sheet.cell(row=1, column=rate_column).column_letter].width = 12
    sheet.freeze_panes = "B2"
    without_call = book.create_sheet(WITHOUT_CALL_SHEET_TITLE)
    append_xlsx_row(without_call, [GROUP_HEADERS[by], "完成回访数", REACHED_WITHOUT_CALL])
    for row in rows:
        append_xlsx_row(without_call, [row.label, row.completed, row.reached_without_call])
    without_call.column_dimensions["A"].width = 28
    without_call.column_dimensions["C"].width = 36
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
