"""The analysis page (智能分析) through HTTP on both databases, on the hand-made month of
tests/hotline/test_analysis_insights.py: its tables and charts, the printable monthly
report, the downloads, a hot topic's appeals, the JSON API against its OpenAPI document,
and refusals in Chinese; a supervisor's page only."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest

from hotline.analysis.context import AnalysisContext
from hotline.analysis.insights import Settings
from hotline.analysis.terms import Segmenter, TermIndex, load_lexicon
from schemas.enums import AgentRole
from tests.agents.support import Browser, create_agent, make_app
from tests.agents.test_api import AUTH, check
from tests.hotline.test_analysis_insights import AREAS, build

SVG = "{http://www.w3.org/2000/svg}"
QUERY = "from=2026-11-01&to=2026-11-30"


@pytest.fixture(scope="module")
def segmenter():
    return Segmenter(load_lexicon())


@pytest.fixture
def app(core, database, segmenter):
    database.write_now(build)
    app = make_app(core)
    app._analysis_context = AnalysisContext(AREAS, TermIndex(segmenter), Settings())
    return app


@pytest.fixture
def zhao(app, database, pumped_reactor):
    create_agent(database, "zhao", AgentRole.SUPERVISOR)
    browser = Browser(app, pumped_reactor)
    assert browser.login("zhao").status == 303
    return browser


def cells(body: str, table: str) -> dict[str, list[str]]:
    """A table's rows by their first cell: the texts of the other cells."""
    import re

    part = body.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", part, re.S):
        texts = [re.sub(r"<[^>]+>", "", c).strip()
                 for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        if texts:
            rows[texts[0]] = texts[1:]
    return rows


def test_the_page_shows_each_dimension_beside_the_month_before(zhao):
    page = zhao.get(f"/supervisor/insights?{QUERY}")
    assert page.status == 200
    assert "本期：2026-11-01 至 2026-11-30；对比期（环比）：2026-10-01 至 2026-10-31" in page.body
    kinds = cells(page.body, "table-kind")
    assert kinds["举报"] == ["16", "1", "+15", "+1500.0%"]
    assert kinds["咨询"] == ["4", "0", "+4", "—"]
    assert kinds["合计"] == ["31", "11", "+20", "+181.8%"]
    assert cells(page.body, "table-area")["兰山区"] == ["13", "1", "+12", "+1200.0%"]
    assert cells(page.body, "table-item")["户政 / 户口迁移"][:2] == ["2", "0"]
    assert cells(page.body, "satisfaction-unit")["兰山派出所"] == ["5", "0", "2", "7",
                                                               "71.4% 样本少"]
    callers = cells(page.body, "repeat-callers")
    assert set(callers) >= {"139****0001", "139****0004"}
    assert "13900000001" not in page.body
    assert "139****0005" in cells(page.body, "repeated-matters")


def test_the_charts_are_svg_with_chinese_labels(zhao):
    page = zhao.get(f"/supervisor/insights?{QUERY}")
    for chart in ("kind", "area", "unit", "channel", "category", "hot", "heat", "abandon"):
        svg = page.body.split(f'id="chart-{chart}">', 1)[1].split("</figure>", 1)[0]
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG}svg" and root.get("width") == "760"
        texts = [t.text for t in root.iter(f"{SVG}text") if t.text]
        assert texts, chart
    heat = ET.fromstring(page.body.split('id="chart-heat">', 1)[1].split("</figure>", 1)[0])
    labels = [t.text for t in heat.iter(f"{SVG}text")]
    assert labels[:1] == ["呼入排队量（星期 × 小时）"] and "周一" in labels and "周日" in labels
    hovers = [t.text for t in heat.iter(f"{SVG}title")]
    assert "周一 9 时：呼入排队 3 通，放弃 1 通" in hovers
    assert "style=" not in page.body.split("<main>", 1)[1]  # the CSP allows none


def test_a_hot_topic_links_to_its_appeals_with_the_numbers_masked(zhao):
    page = zhao.get(f"/supervisor/insights?{QUERY}")
    link = "/supervisor/insights/term?term=%E9%AB%98%E7%A9%BA%E6%8A%9B%E7%89%A9&amp;" \
           "from=2026-11-01&amp;to=2026-11-30"
    assert link in page.body  # 高空抛物, rising
    listed = zhao.get(link.replace("&amp;", "&"))
    assert listed.status == 200 and "热点词「高空抛物」的诉求" in listed.body
    assert listed.body.count("小区高空抛物") == 4 and "138****0303" in listed.body
    assert "13800000303" not in listed.body
    assert zhao.get("/supervisor/insights/term?from=2026-11-01&to=2026-11-30").status == 400


def test_the_same_month_a_year_before(zhao):
    page = zhao.get(f"/supervisor/insights?{QUERY}&compare=year")
    assert "对比期（同比）：2025-11-01 至 2025-11-30" in page.body
    assert cells(page.body, "table-kind")["举报"] == ["16", "0", "+16", "—"]


def test_the_printable_monthly_report_is_laid_out_for_a4(zhao):
    page = zhao.get("/supervisor/insights/print?month=2026-11")
    assert page.status == 200
    assert "<h1>月度分析报告</h1>" in page.body and 'class="insights insights-print"' in page.body
    assert "2026-11-01 至 2026-11-30" in page.body and "打印时间" in page.body
    css = zhao.get("/static/insights.css").body
    assert "@page { size: A4 portrait" in css
    assert zhao.get("/supervisor/insights/print").status == 200  # last month (October)


def test_the_downloads_have_the_page_s_figures(zhao):
    from openpyxl import load_workbook

    raw = zhao.get(f"/supervisor/insights.csv?{QUERY}")
    assert raw.status == 200 and raw.response.content_type.startswith("text/csv")
    rows = list(csv.reader(io.StringIO(raw.response.body.decode("utf-8-sig"))))
    assert ["举报", "16", "1", "15", "15.0"] in rows
    xlsx = zhao.get(f"/supervisor/insights.xlsx?{QUERY}")
    assert 'filename="analysis-2026-11-01-2026-11-30.xlsx"' in xlsx.header("Content-Disposition")
    book = load_workbook(io.BytesIO(xlsx.response.body))
    assert list(book["诉求类型"].iter_rows(values_only=True))[3] == ("举报", 16, 1, 15, 15.0)


@pytest.mark.parametrize("query, words", [
    ("from=2026-11-30&to=2026-11-01", "查询条件有误"),
    ("from=2026-11-01&to=2026-11-30&compare=month", "查询条件有误"),
    ("from=2024-01-01&to=2026-11-30", "查询条件有误"),
])
def test_bad_parameters_are_refused_in_chinese(zhao, query, words):
    page = zhao.get(f"/supervisor/insights?{query}")
    assert page.status == 400 and words in page.body
    assert zhao.get(f"/supervisor/insights.xlsx?{query}").status == 400


def test_an_agent_may_not_open_the_analysis(app, database, pumped_reactor):
    create_agent(database, "li", AgentRole.AGENT)
    browser = Browser(app, pumped_reactor)
    browser.login("li")
    assert browser.get(f"/supervisor/insights?{QUERY}").status == 403


def test_the_api_gives_the_report_as_its_document_describes(app, pumped_reactor):
    client = Browser(app, pumped_reactor)
    document = json.loads(client.get("/api/openapi.json").body)
    operation = "/api/v1/reports/analysis"
    path = f"{operation}?{QUERY}"
    body = check(document, "GET", operation, client.request("GET", path, headers=AUTH))
    assert body["comparison"] == {"from": "2026-10-01", "to": "2026-10-31"}
    report = next(r for r in body["breakdowns"]["kind"] if r["label"] == "举报")
    assert (report["current"], report["previous"], report["change"]) == (16, 1, 15.0)
    assert [c["phone"] for c in body["repeat_callers"]] == ["139****0001", "139****0004"]
    assert {"weekday": 1, "hour": 9, "offered": 3, "abandoned": 1} in body["heat_map"]
    bad = "/api/v1/reports/analysis?from=2020-01-01&to=2026-11-30"
    refused = check(document, "GET", operation, client.request("GET", bad, headers=AUTH))
    assert refused["error"]["field"] == "to"
    assert client.request("GET", path).status == 401
