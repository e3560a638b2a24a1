"""The analysis report (智能分析) as a terminal table, CSV or XLSX, in Chinese: the same
sections as the page, each a titled table (the CLI's `--format`, and the page's downloads).
Cells go through `hotline.spreadsheet`, so that a subject cannot become a formula."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence

from hotline.analysis.insights import WEEKDAYS, AnalysisReport
from hotline.assessment.export import Sheet, titled_workbook
from hotline.spreadsheet import csv_row

FORMATS = ("table", "csv", "xlsx")
TITLE = "智能分析报告"


def _stamp(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") + " UTC"


def sections(report: AnalysisReport, zone=None) -> list[Sheet]:
    """Each section's sheet: (tab name, title, headers, rows)."""
    compare = report.compare_name
    period_row = (f"本期：{report.current.label}；对比期（{compare}）：{report.comparison.label}")
    change_headers = ["本期", f"对比期（{compare}）", "增减", "变化率"]
    sheets = []
    for b in report.breakdowns:
        sheets.append(Sheet(b.title, f"按{b.title}统计诉求量", period_row,
                            [b.title, *change_headers],
                            [[r.label, r.current, r.previous, r.delta, r.change]
                             for r in (*b.rows, b.total)], (5,)))
    for name, rows in (("按大类满意度", report.satisfaction_by_category),
                       ("按单位满意度", report.satisfaction_by_unit)):
        sheets.append(Sheet(name, name, period_row,
                            ["名称", "满意", "基本满意", "不满意", "评价数", "满意率", "样本"],
                            [[r.label, r.satisfied, r.basically, r.dissatisfied, r.rated, r.rate,
                              "样本少" if r.small else ""] for r in rows], (6,)))
    topics = report.topics
    term_headers = ["热点词", "本期诉求数", f"对比期（{compare}）", "增减", "变化率"]
    sheets.append(Sheet("热点词", "热点词（出现最多）", period_row, term_headers,
                        [[t.term, t.current, t.previous, t.delta, t.change] for t in topics.hot],
                        (5,), notes=[f"本期分词诉求 {topics.appeals} 件，对比期 "
                                     f"{topics.previous_appeals} 件"]))
    sheets.append(Sheet("上升最快", "热点词（上升最快）", period_row,
                        [*term_headers, "按期长折算的对比期"],
                        [[t.term, t.current, t.previous, t.delta, t.change, t.expected]
                         for t in topics.rising], (5,)))
    sheets.append(Sheet("重复来电", "重复来电（待跟进）", period_row,
                        ["来电号码", "诉求数", "首次", "末次", "工单编号"],
                        [[r.phone, r.appeals, _stamp(r.first), _stamp(r.last),
                          " ".join(r.case_numbers)] for r in report.repeat_callers]))
    sheets.append(Sheet("重复诉求", "同一事项重复诉求（待跟进）", period_row,
                        ["来电号码", "事项", "诉求数", "首次", "末次", "工单编号"],
                        [[r.phone, r.matter, r.appeals, _stamp(r.first), _stamp(r.last),
                          " ".join(r.case_numbers)] for r in report.repeated_matters]))
    heat = report.heat
    sheets.append(Sheet("话务热力图", "话务热力图：呼入排队量（星期 x 小时）", period_row,
                        ["星期", *(f"{h}时" for h in range(24)), "合计"],
                        [[WEEKDAYS[d], *(heat.cell(d, h).offered for h in range(24)),
                          sum(heat.cell(d, h).offered for h in range(24))] for d in range(7)],
                        first_width=10,
                        notes=[f"呼入排队 {heat.offered} 通，放弃 {heat.abandoned} 通"
                               + (f"，放弃率 {heat.abandoned / heat.offered:.1%}"
                                  if heat.offered else "")]))
    sheets.append(Sheet("放弃率", "放弃率（星期 x 小时）", period_row,
                        ["星期", *(f"{h}时" for h in range(24))],
                        [[WEEKDAYS[d], *(heat.cell(d, h).abandon_rate for h in range(24))]
                         for d in range(7)], tuple(range(2, 26)), first_width=10))
    return sheets


def render(report: AnalysisReport, fmt: str) -> bytes:
    if fmt == "xlsx":
        return titled_workbook(sections(report))
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([TITLE])
        for sheet in sections(report):
            writer.writerow([])
            writer.writerow(csv_row([sheet.title]))
            writer.writerow(csv_row([sheet.period]))
            writer.writerow(csv_row(sheet.headers))
            for row in sheet.rows:
                writer.writerow(csv_row(_plain(v) for v in row))
            for note in sheet.notes:
                writer.writerow(csv_row([note]))
        return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM: Excel reads it as UTF-8
    if fmt == "table":
        lines = [TITLE]
        for sheet in sections(report):
            lines += ["", f"== {sheet.title} ==", sheet.period,
                      *_table(sheet.headers,
                              [[_text(v, n in sheet.percent_columns)
                                for n, v in enumerate(row, start=1)] for row in sheet.rows]),
                      *sheet.notes]
        return ("\n".join(lines) + "\n").encode("utf-8")
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")


def _plain(value):
    return "" if value is None else value


def _text(value, percent: bool) -> str:
    if value is None:
        return "—"
    if percent and isinstance(value, (int, float)):
        return f"{value * 100:.1f}%"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(headers: Sequence[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return ["  ".join(headers), "（无）"]
    widths = [max(_width(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c) + " " * (w - _width(str(c))) for c, w in zip(cells, widths,
                                                                              strict=False)).rstrip()

    return [line(headers), *(line(r) for r in rows)]
