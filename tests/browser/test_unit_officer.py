"""In a real browser, against the real service as a process: an appeal the hall dispatched to a
police station is in the station officer's list to sign for; the officer opens it, signs for
it and replies; the hall officer sees the reply, accepts it, and the appeal is resolved with
its callback task. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
from pathlib import Path

from sqlalchemy import select

from hotline.agents_admin import add_agent
from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine, upgrade
from schemas.callbacks import CallbackTask
from schemas.enums import AgentRole, AppealKind, AppealStatus, WorkOrderStatus
from schemas.models import Appeal, WorkOrder
from tests.browser.support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    MARKS,
    PASSWORD,
    browser_environment,
    healthy,
)
from tests.support.appeals import add_unit, make_repository, new_appeal
from tests.support.processes import ROOT, TWISTD, service_environment, wait_for, wait_for_ports

pytestmark = MARKS


def prepare_database(path: Path) -> tuple[str, int, str]:
    """Units, a hall officer and a station officer, and an appeal dispatched to the station
    (now, by the wall clock the service also reads)."""
    url = f"sqlite:///{path}"
    engine = make_engine(DatabaseConfig(url=url))
    upgrade(engine)
    db = Database(engine, reactor=None)
    now = dt.datetime.now(dt.timezone.utc)
    unit = db.write_now(add_unit)
    db.write_now(add_unit, "PS-XY", "西苑派出所")
    for username, name, role, unit_code in (("li", "李警官", AgentRole.AGENT, None),
                                            ("ls1", "兰山所赵警官", AgentRole.UNIT_OFFICER,
                                             "PS-LS")):
        db.write_now(add_agent, username=username, display_name=name, role=role,
                     password=PASSWORD, unit_code=unit_code, interface=None, actor="test",
                     now=now)
    repo = make_repository()
    appeal = db.write_now(repo.create, new_appeal(kind=AppealKind.COMPLAINT,
                                                  subject="小区门口占道经营",
                                                  citizen_name="张三"), actor="li", now=now)
    db.write_now(repo.dispatch, appeal.id, unit, reason="属地管辖", instruction="请核实处理并答复",
                 actor="li", now=now)
    engine.dispose()
    return url, appeal.id, appeal.case_number


def read(db_url: str, work):
    engine = make_engine(DatabaseConfig(url=db_url))
    try:
        return Database(engine, reactor=None).read_now(work)
    finally:
        engine.dispose()


def test_the_unit_officer_signs_for_and_replies_and_the_hall_accepts(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    db_url, appeal_id, case_number = prepare_database(tmp_path / "hotline.sqlite3")
    ports_file = tmp_path / "ports.json"
    env = service_environment(ports_file, HOTLINE_CONFIG="", HOTLINE_DATABASE_URL=db_url,
                              HOTLINE_AMI_SECRET="secret", HOTLINE_AUTH_SECRET_KEY="k" * 48)
    log = open(tmp_path / "service.log", "ab")
    service = subprocess.Popen([TWISTD, "--pidfile=", "-n", "-y", "twisted_app.tac"], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{wait_for_ports(ports_file, service, ('web',))['web']}"
        wait_for(lambda: healthy(base), 60, "the service's /healthz")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                env=browser_environment())
            problems: list[str] = []

            def new_page():
                page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
                page.on("console", lambda m: problems.append(m.text)
                        if m.type == "error"
                        and not m.text.startswith("Failed to load resource") else None)
                return page

            page = new_page()
            page.goto(f"{base}/")
            page.fill("#username", "ls1")
            page.fill("#password", PASSWORD)
            page.click("#login")
            expect(page.locator("h1")).to_have_text("本单位工单")
            expect(page.locator("#list-to_sign")).to_have_attribute("data-count", "1")
            expect(page.locator("#work")).to_contain_text(case_number)
            expect(page.locator("#nav-unit")).to_be_visible()
            expect(page.locator("#nav-appeals")).to_have_count(0)  # no hall pages
            page.screenshot(path=str(ARTIFACTS / "unit-01-to-sign.png"), full_page=True)

            page.click(f"#row-{appeal_id} a")
            expect(page.locator("#case-number")).to_have_text(case_number)
            expect(page.locator("#order")).to_have_attribute("data-state", "dispatched")
            expect(page.locator("#order")).to_contain_text("属地管辖")
            expect(page.locator("#citizen-phone")).to_have_text("13812345678")
            page.click("#sign")
            expect(page.locator("#notice")).to_have_text("已签收")
            expect(page.locator("#order")).to_have_attribute("data-state", "signed")
            expect(page.locator("#trail")).to_contain_text("签收")
            page.screenshot(path=str(ARTIFACTS / "unit-02-signed.png"), full_page=True)

            page.fill("#note-text", "已到现场查看")
            page.click("#add-note")
            expect(page.locator("#notice")).to_have_text("已记录")
            page.fill("#reply-text", "已劝离占道摊贩，并安排巡逻")
            page.click("#reply")
            expect(page.locator("#notice")).to_contain_text("等待服务大厅审核")
            expect(page.locator("#order")).to_have_attribute("data-state", "replied")
            expect(page.locator("#reply-form")).to_have_count(0)
            page.screenshot(path=str(ARTIFACTS / "unit-03-replied.png"), full_page=True)

            hall = new_page()
            hall.goto(f"{base}/workorders/to_review")
            hall.fill("#username", "li")
            hall.fill("#password", PASSWORD)
            hall.click("#login")
            expect(hall.locator("#work")).to_contain_text("已劝离占道摊贩")
            hall.click(f"#row-{appeal_id} a")
            expect(hall.locator("#accept-resolution")).to_have_value("已劝离占道摊贩，并安排巡逻")
            hall.click("#accept")
            expect(hall.locator("#status")).to_have_attribute("data-status", "resolved")
            expect(hall.locator("#notice")).to_contain_text("回访已安排")
            hall.screenshot(path=str(ARTIFACTS / "unit-04-accepted.png"), full_page=True)
            browser.close()
        assert not problems, problems  # no CSP violation or script error in the console

        def outcome(session):
            appeal = session.get(Appeal, appeal_id)
            order = session.scalars(select(WorkOrder).where(WorkOrder.appeal_id == appeal_id)).one()
            tasks = session.scalars(select(CallbackTask.appeal_id)).all()
            return appeal.status, order.status, order.signed_by, tasks

        assert read(db_url, outcome) == (AppealStatus.RESOLVED, WorkOrderStatus.ACCEPTED, "ls1",
                                         [appeal_id])
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(30)
        except subprocess.TimeoutExpired:
            service.kill()
        log.close()
