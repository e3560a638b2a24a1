"""`hotline report analysis` (智能分析) on the hand-made month of test_analysis_insights, on
both databases: the table, the CSV and the XLSX, each with the figures worked out there;
the districts from an areas file named in the configuration."""

from __future__ import annotations

import csv
import io

import pytest

from tests.hotline.test_analysis_insights import build

AREAS = ('[[district]]\nname = "兰山区"\nplaces = ["兰山街道"]\nunits = ["PS-LS"]\n'
         '[[district]]\nname = "河东区"\nplaces = ["九曲街道"]\nunits = ["PS-HD"]\n')


def hotline(db_url, tmp_path, monkeypatch, capsysbinary, *argv) -> bytes:
    from hotline.cli import main

    areas = tmp_path / "areas.toml"
    areas.write_text(AREAS, "utf-8")
    config = tmp_path / "hotline.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n[analysis]\nareas = "{areas}"\n',
                      encoding="utf-8")
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    monkeypatch.delenv("HOTLINE_DATABASE_URL", raising=False)
    capsysbinary.readouterr()
    code = main(["--config", str(config), "report", "analysis", "--from", "2026-11-01",
                 "--to", "2026-11-30", *argv])
    out = capsysbinary.readouterr()
    assert code == 0, out.err
    return out.out


@pytest.fixture
def built(database):
    database.write_now(build)
    return database


def test_the_table_shows_each_section_with_its_change(built, db_url, tmp_path, monkeypatch,
                                                      capsysbinary):
    text = hotline(db_url, tmp_path, monkeypatch, capsysbinary).decode("utf-8")
    assert "本期：2026-11-01 至 2026-11-30；对比期（环比）：2026-10-01 至 2026-10-31" in text
    assert "== 按诉求类型统计诉求量 ==" in text
    lines = text.splitlines()
    report = next(line for line in lines if line.startswith("举报 "))
    assert report.split() == ["举报", "16", "1", "15", "1500.0%"]
    assert next(line for line in lines if line.startswith("兰山区")).split()[:3] == [
        "兰山区", "13", "1"]
    assert "139****0001" in text and "13900000001" not in text
    assert "电动车充电" in text


def test_the_csv_against_the_year_before(built, db_url, tmp_path, monkeypatch, capsysbinary):
    raw = hotline(db_url, tmp_path, monkeypatch, capsysbinary, "--compare", "year",
                  "--format", "csv")
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    at = rows.index(["按诉求类型统计诉求量"])
    assert rows[at + 1] == ["本期：2026-11-01 至 2026-11-30；对比期（同比）：2025-11-01 至 2025-11-30"]
    assert rows[at + 2] == ["诉求类型", "本期", "对比期（同比）", "增减", "变化率"]
    assert rows[at + 3] == ["举报", "16", "0", "16", ""]
    repeat = rows.index(["重复来电（待跟进）"])
    assert rows[repeat + 3][:2] == ["139****0001", "3"]


def test_the_xlsx_has_a_sheet_per_section(built, db_url, tmp_path, monkeypatch, capsysbinary):
    from openpyxl import load_workbook

    out = tmp_path / "analysis.xlsx"
    hotline(db_url, tmp_path, monkeypatch, capsysbinary, "--format", "xlsx", "--output",
            str(out))
    book = load_workbook(out)
    assert book.sheetnames[:6] == ["诉求类型", "审批事项大类", "审批事项小类", "区县", "承办单位",
                                   "受理渠道"]
    rows = list(book["区县"].iter_rows(values_only=True))
    assert rows[3] == ("兰山区", 13, 1, 12, 12.0)
    assert rows[-1] == ("合计", 31, 11, 20, 1.8182)
    assert book["区县"].cell(row=4, column=5).number_format == "0.00%"
    heat = list(book["话务热力图"].iter_rows(values_only=True))
    assert heat[3][0] == "周一" and heat[3][10] == 3  # Monday 09:00, 3 offered


def test_a_bad_comparison_is_refused(db_url, tmp_path, monkeypatch, capsys):
    from hotline.cli import main

    with pytest.raises(SystemExit):
        main(["report", "analysis", "--from", "2026-11-01", "--to", "2026-11-30",
              "--compare", "month"])
    assert "invalid choice" in capsys.readouterr().err
