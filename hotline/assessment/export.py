"""The supervisors' reports as XLSX: a title row, a period row, the headers, the rows.

`titled_workbook` is the one writer (every cell through `hotline.spreadsheet`, so that a
unit or agent named like a formula stays text); the assessment and the call-centre report
describe their sheets with it here, and the web's other lists (overdue, dissatisfied) with
it in agents. The files go to the bureau's spreadsheets: Chinese whatever a page's language.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from hotline.assessment.callcentre import (
    ANSWER_WITHIN_S,
    ANSWER_WITHIN_TARGET,
    CONNECTION_RATE_GOAL,
    CallCentreReport,
    QueueFigures,
)
from hotline.assessment.periods import Period
from hotline.assessment.units import Assessment, UnitRow
from hotline.spreadsheet import append_xlsx_row

ASSESSMENT_TITLE = "承办单位监督考核"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The assessment's columns: (key of Figures, Chinese header, a rate). The page's words are
# the catalog's `assessment.col.<key>`, whose Chinese a test holds equal to these.
UNIT_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("dispatched", "派单数", False),
    ("received", "接收诉求数", False),
    ("signed_on_time", "按时签收", False),
    ("signed_late", "超时签收", False),
    ("unsigned_late", "超时未签收", False),
    ("sign_on_time_rate", "按时签收率", True),
    ("returned", "退单数", False),
    ("late_returns", "超时退单", False),
    ("extension_requests", "延期申请", False),
    ("extended", "批准延期", False),
    ("extended_days", "批准延期工作日", False),
    ("resolved", "办结数", False),
    ("resolved_on_time", "按期办结", False),
    ("on_time_rate", "按期办结率", True),
    ("overdue", "超期数", False),
    ("urged", "催办", False),
    ("supervised", "督办", False),
    ("reworked", "重办", False),
    ("callbacks_due", "应回访", False),
    ("callbacks_within", "按时回访", False),
    ("callbacks_not_due", "回访未到期", False),
    ("callback_rate", "按时回访率", True),
    ("satisfied", "满意", False),
    ("basically_satisfied", "基本满意", False),
    ("dissatisfied", "不满意", False),
    ("satisfaction_rate", "满意率", True),
)
# Compared with the period before: these measures, this period, the last and the change.
COMPARED = ("dispatched", "resolved", "overdue", "sign_on_time_rate", "on_time_rate",
            "callback_rate", "satisfaction_rate")
RANKING_NAMES = {"on_time_rate": "按期办结率", "sign_on_time_rate": "按时签收率",
                 "callback_rate": "按时回访率", "satisfaction_rate": "满意率"}

CALLCENTRE_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("calls_in", "进线量", False),
    ("offered", "呼入排队", False),
    ("answered", "接通", False),
    ("answered_within", f"{ANSWER_WITHIN_S}秒内接通", False),
    ("abandoned", "放弃", False),
    ("short_abandoned", "短时放弃（另计）", False),
    ("left", "超时离队", False),
    ("connection_rate", "接通率", True),
    ("within_of_offered", f"{ANSWER_WITHIN_S}秒接通率（占呼入）", True),
    ("within_of_answered", f"{ANSWER_WITHIN_S}秒接通率（占接通）", True),
    ("hold_avg_s", "平均等待（秒）", False),
)
AGENT_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("answered", "接通", False),
    ("answered_within", f"{ANSWER_WITHIN_S}秒内接通", False),
    ("within_of_answered", f"{ANSWER_WITHIN_S}秒接通率（占接通）", True),
    ("talk_avg_s", "平均通话（秒）", False),
    ("talk_total_s", "通话总时长（秒）", False),
    ("hold_avg_s", "平均等待（秒）", False),
)
GOALS_NOTE = (f"目标（GB/T 33358-2016）：{ANSWER_WITHIN_S}秒内接通，接通率不低于"
              f"{CONNECTION_RATE_GOAL:.0%}；本中心{ANSWER_WITHIN_S}秒接通率（占呼入）目标"
              f"{ANSWER_WITHIN_TARGET:.0%}")


@dataclass(frozen=True)
class Sheet:
    name: str  # the tab's
    title: str  # the first row
    period: str  # the second row
    headers: Sequence[str]
    rows: Sequence[Sequence[object]]
    percent_columns: Sequence[int] = field(default_factory=tuple)  # 1-based
    first_width: int = 28
    notes: Sequence[str] = ()  # rows under the table


def titled_workbook(sheets: Sequence[Sheet]) -> bytes:
    """The sheets as an XLSX file's bytes: on each, the title (row 1, bold), the period (row
    2), the headers (row 3, bold, frozen) and the rows, rates as percentages."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    for index, spec in enumerate(sheets):
        sheet = book.active if index == 0 else book.create_sheet()
        assert sheet is not None
        sheet.title = spec.name
        append_xlsx_row(sheet, [spec.title])
        sheet.cell(row=1, column=1).font = Font(bold=True, size=14)
        append_xlsx_row(sheet, [spec.period])
        append_xlsx_row(sheet, spec.headers)
        for cell in sheet[3]:
            cell.font = Font(bold=True)
        for row in spec.rows:
            append_xlsx_row(sheet, row)
        for column in spec.percent_columns:
            for (cell,) in sheet.iter_rows(min_row=4, min_col=column, max_col=column):
                cell.number_format = "0.00%"
        for note in spec.notes:
            append_xlsx_row(sheet, [note])
        sheet.column_dimensions["A"].width = spec.first_width
        sheet.freeze_panes = "B4"
    if sheets:
        book.properties.title = sheets[0].title
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _percent(columns: Sequence[tuple[str, str, bool]], offset: int) -> tuple[int, ...]:
    return tuple(n + offset for n, (_, _, rate) in enumerate(columns, start=1) if rate)


def assessment_xlsx(report: Assessment, current: Period, previous: Period) -> bytes:
    """The assessment: the ranking (this period), the same table for the period before, and
    the comparison of the main measures."""
    headers = ["排名", "单位", *(title for _, title, _ in UNIT_COLUMNS)]
    period_row = (f"统计期间：{current.label}（上期：{previous.label}）；"
                  f"排名依据：{RANKING_NAMES[report.ranking]}")

    def line(row: UnitRow, previous_figures: bool = False) -> list[object]:
        figures = row.previous if previous_figures else row.figures
        rank = "" if previous_figures or row.rank is None else row.rank
        return [rank, row.label, *(figures.value(key) for key, _, _ in UNIT_COLUMNS)]

    ranked = Sheet("考核排名", ASSESSMENT_TITLE, period_row, headers,
                   [line(r) for r in (*report.units, report.total)],
                   _percent(UNIT_COLUMNS, 2))
    last = Sheet("上期", ASSESSMENT_TITLE + "（上期）", f"统计期间：{previous.label}",
                 headers, [line(r, True) for r in (*report.units, report.total)],
                 _percent(UNIT_COLUMNS, 2))
    names = dict((key, title) for key, title, _ in UNIT_COLUMNS)
    rates = {key for key, _, rate in UNIT_COLUMNS if rate}
    compare_headers = ["单位"]
    percent: list[int] = []
    for key in COMPARED:
        for suffix in ("本期", "上期", "变化"):
            compare_headers.append(f"{names[key]}{suffix}")
            if key in rates:
                percent.append(len(compare_headers))
    compare_rows = []
    for row in (*report.units, report.total):
        values: list[object] = [row.label]
        for key in COMPARED:
            now, before = row.figures.value(key), row.previous.value(key)
            values += [now, before, change(now, before)]
        compare_rows.append(values)
    compared = Sheet("本期与上期", ASSESSMENT_TITLE + "：本期与上期",
                     f"本期：{current.label}；上期：{previous.label}", compare_headers,
                     compare_rows, percent)
    return titled_workbook([ranked, last, compared])


def change(now: int | float | None, before: int | float | None) -> int | float | None:
    """This period less the last; None when either has no figure."""
    if now is None or before is None:
        return None
    return round(now - before, 4) if isinstance(now, float) or isinstance(before, float) \
        else now - before


def queue_values(figures: QueueFigures) -> list[object]:
    return [getattr(figures, key) for key, _, _ in CALLCENTRE_COLUMNS]


def callcentre_xlsx(report: CallCentreReport) -> bytes:
    """The call-centre report: by day (with the period's total) and by agent."""
    period_row = f"统计期间：{report.period.label}"
    days = Sheet("按日", "话务统计报表（按日）", period_row,
                 ["日期", *(title for _, title, _ in CALLCENTRE_COLUMNS)],
                 [[d.day.isoformat(), *queue_values(d.figures)] for d in report.days]
                 + [["合计", *queue_values(report.total)]],
                 _percent(CALLCENTRE_COLUMNS, 1), first_width=14, notes=[GOALS_NOTE])
    agents = Sheet("按坐席", "话务统计报表（按坐席）", period_row,
                   ["坐席", "分机", *(title for _, title, _ in AGENT_COLUMNS)],
                   [[a.name, a.interface, *(getattr(a, key) for key, _, _ in AGENT_COLUMNS)]
                    for a in report.agents],
                   _percent(AGENT_COLUMNS, 2), first_width=20)
    return titled_workbook([days, agents])
