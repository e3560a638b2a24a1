"""In a real browser, against the real service as a process: an agent logs in, joins the
queue, an AgentConnect from the AMI peer pops the caller's card (recorded in
the database by the service's live recorder, pushed by its terminal hub), the agent opens an
appeal from it and resolves it; the resolution's callback is then in the agent's worklist,
and a supervisor sees it in the compliance report. Screenshots go to test-artifacts/browser/.
How fast the card pops is bench/ami_to_browser.py's figure, not this test's."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from hotline.agents_admin import add_agent
from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine, upgrade
from schemas.calls import CallRecord
from schemas.enums import AgentRole, CallOutcome
from tests.browser.support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    MARKS,
    PASSWORD,
    browser_environment,
    healthy,
    press_save,
)
from tests.support.appeals import add_unit
from tests.support.processes import ROOT, TWISTD, service_environment, wait_for, wait_for_ports

API_TOKEN = "browser-test-token-" + "y" * 20

pytestmark = MARKS


class AmiPeer:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "tests.browser.ami_peer",
                                         "--port", "0", "--secret", "secret"], cwd=ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            self.process.kill()
            raise RuntimeError(f"AMI peer did not start: {line!r}")
        self.port = int(line.split()[-1])

    def command(self, cmd: str, **fields) -> list[str]:
        self.process.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self.process.stdin.flush()
        lines = []
        while True:
            line = self.process.stdout.readline().strip()
            if line == "ok":
                return lines
            if line.startswith("error") or not line:
                raise RuntimeError(f"AMI peer: {line!r}")
            lines.append(line)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


def prepare_database(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(DatabaseConfig(url=url))
    upgrade(engine)
    db = Database(engine, reactor=None)
    now = dt.datetime.now(dt.timezone.utc)
    db.write_now(add_unit)
    db.write_now(add_agent, username="li", display_name="李警官", role=AgentRole.AGENT,
                 password=PASSWORD, unit_code=None, interface="PJSIP/1001", actor="test", now=now)
    db.write_now(add_agent, username="wang", display_name="王科长", role=AgentRole.SUPERVISOR,
                 password=PASSWORD, unit_code=None, interface=None, actor="test", now=now)

    def seed(session):
        session.add(CallRecord(call_id="call-4711", flow="hotline", caller="13812345678",
                               started_at=now, path="menu:3", menu_choice="complaint",
                               outcome=CallOutcome.TO_QUEUE))
        # A consultation (menu 1) from another citizen: the desk's one-step answer.
        session.add(CallRecord(call_id="call-4720", flow="hotline", caller="13700001234",
                               started_at=now, path="menu:1", menu_choice="consultation",
                               outcome=CallOutcome.TO_QUEUE))

    db.write_now(seed)
    engine.dispose()
    return url


def start_service(tmp_path: Path, db_url: str, ami_port: int) -> tuple[subprocess.Popen, int]:
    ports_file = tmp_path / "ports.json"
    env = service_environment(ports_file, HOTLINE_CONFIG="", HOTLINE_DATABASE_URL=db_url,
                              HOTLINE_AMI_PORT=str(ami_port), HOTLINE_AMI_SECRET="secret",
                              HOTLINE_AUTH_SECRET_KEY="k" * 48, HOTLINE_AUTH_API_TOKEN=API_TOKEN,
                              # A complaint's callback opens at once, whatever the hour
                              # the test runs: it is in the worklist right after resolving.
                              HOTLINE_CALLBACKS_DELAY_H="complaint=0",
                              HOTLINE_CALLBACKS_CALLING_HOURS="00:00-24:00",
                              HOTLINE_CALLBACKS_CALL_ON_HOLIDAYS="true")
    log = open(tmp_path / "service.log", "ab")
    process = subprocess.Popen([TWISTD, "--pidfile=", "-n", "-y", "twisted_app.tac"], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, wait_for_ports(ports_file, process, ("web",))["web"]



def api_status(base: str, case_number: str) -> dict:
    request = urllib.request.Request(f"{base}/api/v1/appeals/{case_number}",
                                     headers={"Authorization": f"Bearer {API_TOKEN}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_card_pops_and_the_agent_opens_and_resolves_an_appeal_from_it(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    db_url = prepare_database(tmp_path / "hotline.sqlite3")
    peer = AmiPeer()
    service, web_port = start_service(tmp_path, db_url, peer.port)
    base = f"http://127.0.0.1:{web_port}"
    try:
        wait_for(lambda: healthy(base), 60, "the service's /healthz")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                env=browser_environment())
            page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
            problems: list[str] = []
            # A CSP violation or script error shows as a console error; the expected 409 of
            # the refused transition and the absent favicon are "Failed to load resource".
            page.on("console", lambda m: problems.append(m.text)
                    if m.type == "error" and not m.text.startswith("Failed to load resource")
                    else None)
            page.goto(f"{base}/terminal")
            expect(page.locator("h1")).to_have_text("坐席登录")
            page.fill("#username", "li")
            page.fill("#password", PASSWORD)
            page.click("#login")
            expect(page.locator("h1")).to_have_text("坐席终端")
            page.screenshot(path=str(ARTIFACTS / "01-terminal.png"), full_page=True)

            page.click("#queue-login")
            expect(page.locator("#queue-state")).to_have_attribute("data-state", "available")
            assert json.loads(peer.command("members")[0]) == \
                {"PJSIP/1001": {"paused": False, "reason": ""}}
            page.fill("#pause-reason", "整理工单")
            page.click("#queue-pause")
            expect(page.locator("#queue-state")).to_have_attribute("data-state", "paused")
            expect(page.locator("#queue-reason")).to_have_text("整理工单")
            page.click("#queue-unpause")
            expect(page.locator("#queue-state")).to_have_attribute("data-state", "available")
            expect(page.locator("#card-slot")).to_have_attribute("data-connected", "1")

            started = time.monotonic()
            peer.command("agent_connect", interface="PJSIP/1001", caller="02112345678",
                         call_id="call-4711")
            # The pop must come (a generous bound: tests do not time a loaded machine); how
            # fast it comes is measured by bench/ami_to_browser.py, not asserted here.
            page.wait_for_selector("#card-phone", timeout=15000)
            popped_in = time.monotonic() - started
            print(f"the card popped in {popped_in:.3f}s")
            expect(page.locator("#card-phone")).to_have_text("13812345678")
            expect(page.locator("#card-menu-choice")).to_have_text("投诉")
            expect(page.locator("#queue-state")).to_have_attribute("data-state", "on_call")
            page.screenshot(path=str(ARTIFACTS / "02-screen-pop.png"), full_page=True)

            page.keyboard.press("Alt+N")  # the shortcut for "new appeal from this call"
            expect(page.locator("#citizen_phone")).to_have_value("13812345678")
            expect(page.locator("#kind")).to_have_value("complaint")
            page.fill("#subject", "<b>出租车拒载</b>")
            page.fill("#body", "晚上九点在火车站东广场")
            page.screenshot(path=str(ARTIFACTS / "03-new-appeal.png"), full_page=True)
            press_save(page)  # the shortcut for "save"
            expect(page.locator("#notice")).to_contain_text("已受理，工单编号")
            case_number = page.locator("#case-number").inner_text()
            expect(page.locator("#subject")).to_have_text("<b>出租车拒载</b>")  # shown, not markup

            # Received: only the steps it allows (no 开始办理 or 办结 yet); 交办 asks for the
            # unit, none chosen for the officer.
            expect(page.locator("#start")).to_have_count(0)
            expect(page.locator("#resolve")).to_have_count(0)
            expect(page.locator("#reopen")).to_have_count(0)
            expect(page.locator("#assign-unit")).to_have_value("")
            page.locator("#assign-unit").select_option(index=1)
            page.click("#assign")
            expect(page.locator("#status")).to_have_attribute("data-status", "assigned")
            page.click("#start")
            expect(page.locator("#status")).to_have_attribute("data-status", "in_progress")
            page.fill("#resolution-text", "已联系出租车公司，司机已受处理")
            page.click("#resolve")
            expect(page.locator("#status")).to_have_attribute("data-status", "resolved")
            expect(page.locator("#trail")).to_contain_text("办结")
            page.screenshot(path=str(ARTIFACTS / "04-resolved.png"), full_page=True)

            page.click("#language")
            expect(page.locator("#status")).to_have_text("Resolved")

            # The resolution owes the citizen a callback by an agent (a complaint).
            page.goto(f"{base}/callbacks")
            expect(page.locator("#worklist")).to_contain_text(case_number)
            page.screenshot(path=str(ARTIFACTS / "05-worklist.png"), full_page=True)

            supervisor = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
            supervisor.on("console", lambda m: problems.append(m.text)
                          if m.type == "error" and not m.text.startswith("Failed to load resource")
                          else None)
            supervisor.goto(f"{base}/supervisor/callbacks")
            supervisor.fill("#username", "wang")
            supervisor.fill("#password", PASSWORD)
            supervisor.click("#login")
            total = supervisor.locator("#report tr.total")
            # Resolved in the period, its callback not due yet (a day of calling hours).
            expect(total.locator('td[data-col="resolved"]')).to_have_text("1")
            expect(total.locator('td[data-col="due"]')).to_have_text("0")
            supervisor.screenshot(path=str(ARTIFACTS / "06-compliance-report.png"),
                                  full_page=True)
            browser.close()
        assert api_status(base, case_number)["status"] == "resolved"
        assert not problems, problems  # no CSP violation or script error in the console
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(30)
        except subprocess.TimeoutExpired:
            service.kill()
        peer.stop()
    log = (tmp_path / "service.log").read_text(errors="replace")
    assert "Traceback" not in log, log
    assert "13812345678" not in log, "a phone number reached the log unmasked"
