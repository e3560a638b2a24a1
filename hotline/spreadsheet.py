"""Cells of the files supervisors open in a spreadsheet (CSV, XLSX): text stays text.

A spreadsheet runs a cell whose text starts with `=`, `+`, `-` or `@` as a formula, and some
skip a leading tab or carriage return before looking. A unit, agent or subject is named by
people, so a unit called `=HYPERLINK("http://x")` would become a live link in the bureau's
spreadsheet (formula injection). Such text is written inert: in CSV behind a single quote,
which spreadsheets take as "this is text"; in XLSX as a string cell carrying the quote
prefix, so that it stays text even when someone edits it. Numbers are never touched: -3 is
a count, not a formula.

Every export goes through here (the callback report in `callback_queue.export`, the
overdue list in `agents`), so the rule has one home.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def runs_as_formula(value: object) -> bool:
    """Whether a spreadsheet would take `value`, text, for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value: Any) -> Any:
    """`value` as a CSV field: None is empty, text that would run gets a leading quote."""
    if value is None:
        return ""
    return "'" + value if runs_as_formula(value) else value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(value) for value in values]


def append_xlsx_row(sheet: Any, values: Iterable[Any]) -> None:
    """Appends `values` to an openpyxl worksheet; openpyxl takes text starting with "=" for a
    formula, so such text is set back to a string cell, quote-prefixed."""
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        if runs_as_formula(cell.value):
            cell.data_type = "s"
            cell.quotePrefix = True
