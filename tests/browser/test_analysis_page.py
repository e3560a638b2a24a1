"""In a real browser at 1024 px, against the real service as a process, on the hand-made
month of tests/hotline/test_analysis_insights.py: a supervisor opens the analysis page
(智能分析), reads the changes and the charts without the page scrolling sideways, follows a
hot topic to its appeals, downloads the CSV and the XLSX, and opens the printable monthly
report (月度分析报告), printed to an A4 PDF; no script error or CSP violation. Screenshots
and the PDF go to test-artifacts/browser/."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
from pathlib import Path

from hotline.agents_admin import add_agent
from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine, upgrade
from schemas.enums import AgentRole
from tests.browser.support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    MARKS,
    PASSWORD,
    browser_environment,
    healthy,
)
from tests.hotline.test_analysis_insights import build
from tests.support.processes import ROOT, TWISTD, service_environment, wait_for, wait_for_ports

pytestmark = MARKS
WIDTH = 1024
AREAS = ('[[district]]\nname = "兰山区"\nplaces = ["兰山街道"]\nunits = ["PS-LS"]\n'
         '[[district]]\nname = "河东区"\nplaces = ["九曲街道"]\nunits = ["PS-HD"]\n')


def prepare_database(path: Path) -> Database:
    engine = make_engine(DatabaseConfig(url=f"sqlite:///{path}"))
    upgrade(engine)
    db = Database(engine, reactor=None)
    db.write_now(add_agent, username="wang", display_name="王班长", role=AgentRole.SUPERVISOR,
                 password=PASSWORD, unit_code=None, interface=None, actor="test",
                 now=dt.datetime.now(dt.timezone.utc))
    db.write_now(build)
    return db


def start_service(tmp_path: Path, db_path: Path) -> tuple[subprocess.Popen, str]:
    ports_file = tmp_path / "ports.json"
    areas = tmp_path / "areas.toml"
    areas.write_text(AREAS, "utf-8")
    env = service_environment(ports_file, HOTLINE_CONFIG="",
                              HOTLINE_DATABASE_URL=f"sqlite:///{db_path}",
                              HOTLINE_AMI_SECRET="secret", HOTLINE_AUTH_SECRET_KEY="k" * 48,
                              HOTLINE_AUTH_API_TOKEN="analysis-test-token-" + "z" * 20,
                              HOTLINE_ANALYSIS_AREAS=str(areas))
    log = open(tmp_path / "service.log", "ab")
    process = subprocess.Popen([TWISTD, "--pidfile=", "-n", "-y", "twisted_app.tac"], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{wait_for_ports(ports_file, process, ('web',))['web']}"


def test_the_analysis_page_and_its_printable_report_at_1024_px(tmp_path):
    from openpyxl import load_workbook
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    db_path = tmp_path / "hotline.sqlite3"
    db = prepare_database(db_path)
    service, base = start_service(tmp_path, db_path)
    try:
        wait_for(lambda: healthy(base), 60, "the service's /healthz")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                env=browser_environment())
            context = browser.new_context(locale="zh-CN", accept_downloads=True,
                                          viewport={"width": WIDTH, "height": 800})
            page = context.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text)
                    if m.type == "error" and not m.text.startswith("Failed to load resource")
                    else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(f"{base}/supervisor/insights?from=2026-11-01&to=2026-11-30")
            page.fill("#username", "wang")
            page.fill("#password", PASSWORD)
            page.click("#login")
            expect(page.locator("h1")).to_have_text("智能分析")
            page.goto(f"{base}/supervisor/insights?from=2026-11-01&to=2026-11-30")
            expect(page.locator("#insights-period")).to_contain_text("对比期（环比）：2026-10-01")
            row = page.locator("#table-kind tr", has_text="举报")
            expect(row.locator("td").nth(0)).to_have_text("16")
            expect(row.locator("td").nth(3)).to_have_text("+1500.0%")
            expect(page.locator("#table-area tr", has_text="兰山区").locator("td").nth(0)) \
                .to_have_text("13")
            expect(page.locator("#chart-heat svg")).to_be_visible()
            expect(page.locator("#repeat-callers")).to_contain_text("139****0001")
            # Readable at 1024 px: nothing wider than the window, every chart inside it.
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= WIDTH, overflow
            for chart in ("kind", "hot", "heat"):
                box = page.locator(f"#chart-{chart} svg").bounding_box()
                assert box is not None and box["x"] + box["width"] <= WIDTH, (chart, box)
            page.screenshot(path=str(ARTIFACTS / "analysis-01-page-1024.png"), full_page=True)
            page.locator("#chart-heat").screenshot(path=str(ARTIFACTS / "analysis-02-heat.png"))

            with page.expect_download() as download:
                page.click("#insights-csv")
            rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
            assert ["举报", "16", "1", "15", "15.0"] in rows
            with page.expect_download() as download:
                page.click("#insights-xlsx")
            assert download.value.suggested_filename == "analysis-2026-11-01-2026-11-30.xlsx"
            book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
            assert list(book["区县"].iter_rows(values_only=True))[3][:2] == ("兰山区", 13)

            page.click("#hot-terms a.term:text-is('高空抛物')")
            expect(page.locator("h1")).to_have_text("热点词「高空抛物」的诉求")
            expect(page.locator("#term-appeals tbody tr")).to_have_count(4)
            expect(page.locator("#term-appeals")).to_contain_text("138****0300")
            page.screenshot(path=str(ARTIFACTS / "analysis-03-term.png"), full_page=True)

            page.goto(f"{base}/supervisor/insights/print?month=2026-11")
            expect(page.locator("h1")).to_have_text("月度分析报告")
            page.screenshot(path=str(ARTIFACTS / "analysis-04-print-screen.png"), full_page=True)
            page.emulate_media(media="print")
            expect(page.locator("header")).to_be_hidden()  # app.css: no menus on paper
            expect(page.locator("#insights-print-form")).to_be_hidden()
            page.screenshot(path=str(ARTIFACTS / "analysis-05-print-a4.png"), full_page=True)
            pdf = page.pdf(path=str(ARTIFACTS / "analysis-monthly-report.pdf"),
                           prefer_css_page_size=True)
            pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
            assert 2 <= pages <= 12, pages
            # A4 portrait: 595 x 842 points, as the print stylesheet's @page says.
            boxes = {tuple(round(float(n)) for n in box.split()[2:])
                     for box in re.findall(rb"/MediaBox ?\[([^\]]*)\]", pdf)}
            assert boxes == {(595, 842)}, boxes
            assert not problems, problems
            browser.close()
    finally:
        service.terminate()
        service.wait(15)
        db.engine.dispose()
