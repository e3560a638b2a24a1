"""Cells of exported files: text a spreadsheet would run as a formula is written inert, in
CSV and in XLSX; numbers, negative ones included, stay numbers."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from hotline.spreadsheet import append_xlsx_row, csv_row

RUNNABLE = ['=HYPERLINK("http://x")', "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"]
PLAIN = ["甲派出所", "PS-A 1", "a=b", " =1"]


@pytest.mark.parametrize("text", RUNNABLE)
def test_csv_text_that_would_run_gets_a_leading_quote(text):
    out = io.StringIO()
    csv.writer(out).writerow(csv_row([text, -3, 0.25, None]))
    [row] = csv.reader(io.StringIO(out.getvalue(), newline=""))
    assert row == ["'" + text, "-3", "0.25", ""]


@pytest.mark.parametrize("text", PLAIN)
def test_csv_plain_text_is_written_as_it_is(text):
    assert csv_row([text]) == [text]


def test_xlsx_text_that_would_run_is_a_quote_prefixed_string_and_numbers_stay_numbers():
    book = Workbook()
    for text in RUNNABLE + PLAIN:
        append_xlsx_row(book.active, [text, -3, -0.5])
    out = io.BytesIO()
    book.save(out)
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    for n, text in enumerate(RUNNABLE + PLAIN, start=1):
        label, count, rate = sheet[n]
        assert label.data_type == "s" and label.value == text.replace("\r", "\n")
        assert label.quotePrefix == (text in RUNNABLE)
        assert (count.data_type, count.value) == ("n", -3)
        assert (rate.data_type, rate.value) == ("n", -0.5)
