"""In a real browser, against the real service as a process and the AMI peer simulator: when
the agent's call ends, the terminal shows 话后处理 with the seconds of the queue's wrap-up
([agi] queue_wrapup_s; Asterisk's member events say only the member's own, 0) counting down,
then 空闲 once it is over, with no script error or CSP violation; the supervisor's wallboard
shows the same. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

from tests.browser.support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    MARKS,
    PASSWORD,
    browser_environment,
    healthy,
)
from tests.browser.test_hall_terminal import API_TOKEN, AmiPeer, prepare_database
from tests.support.processes import ROOT, TWISTD, service_environment, wait_for, wait_for_ports

pytestmark = MARKS

WRAP_UP_S = 12  # long enough that a loaded machine still sees it on both pages


def start_service(tmp_path: Path, db_url: str, ami_port: int) -> tuple[subprocess.Popen, int]:
    ports_file = tmp_path / "ports.json"
    env = service_environment(ports_file, HOTLINE_CONFIG="", HOTLINE_DATABASE_URL=db_url,
                              HOTLINE_AMI_PORT=str(ami_port), HOTLINE_AMI_SECRET="secret",
                              HOTLINE_AUTH_SECRET_KEY="k" * 48, HOTLINE_AUTH_API_TOKEN=API_TOKEN,
                              HOTLINE_AGI_QUEUE_WRAPUP_S=str(WRAP_UP_S))
    log = open(tmp_path / "service.log", "ab")
    process = subprocess.Popen([TWISTD, "--pidfile=", "-n", "-y", "twisted_app.tac"], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, wait_for_ports(ports_file, process, ("web",))["web"]


def login(page, base: str, path: str, username: str) -> None:
    page.goto(f"{base}{path}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")


def test_wrap_up_counts_down_on_the_terminal_and_the_wallboard(tmp_path):
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
            problems: list[str] = []

            def watch(page):
                page.on("console", lambda m: problems.append(m.text)
                        if m.type == "error" and not m.text.startswith("Failed to load resource")
                        else None)
                page.on("pageerror", lambda error: problems.append(str(error)))
                return page

            page = watch(browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900}))
            login(page, base, "/terminal", "li")
            expect(page.locator("h1")).to_have_text("坐席终端")
            page.click("#queue-login")
            expect(page.locator("#queue-state")).to_have_attribute("data-state", "available")
            expect(page.locator("#queue-wrap-up")).to_be_hidden()
            expect(page.locator("#card-slot")).to_have_attribute("data-connected", "1")
            peer.command("agent_connect", interface="PJSIP/1001", caller="13812345678",
                         call_id="call-4711", name="c1")
            expect(page.locator("#queue-state")).to_have_attribute("data-state", "on_call")

            board = watch(browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900}))
            login(board, base, "/supervisor/wallboard", "wang")
            expect(board.locator("h1")).to_have_text("话务实时监控")

            peer.command("agent_complete", name="c1")
            state = page.locator("#queue-state")
            expect(state).to_have_attribute("data-state", "wrap_up")
            expect(state).to_have_text("话后处理")
            left = page.locator("#queue-wrap-up")
            expect(left).to_be_visible()
            expect(left).to_have_text(re.compile(r"^剩余 ([1-9]|1[0-2]) 秒$"))
            first = int(left.get_attribute("data-left"))
            # The page counts down by itself, between the server's state events (on a loaded
            # machine a tick may come late and skip a second: any smaller count will do).
            page.wait_for_function(
                "first => Number(document.getElementById('queue-wrap-up').dataset.left) < first",
                arg=first, timeout=5000)
            page.screenshot(path=str(ARTIFACTS / "wrap-up-01-terminal.png"), full_page=True)

            cell = board.locator('#wb-members tr[data-interface="PJSIP/1001"] td[data-state]')
            expect(cell).to_have_attribute("data-state", "wrap_up", timeout=5000)
            expect(cell).to_have_text(re.compile(r"^话后处理 剩余 ([0-9]|1[0-2]) 秒$"))
            board.screenshot(path=str(ARTIFACTS / "wrap-up-02-wallboard.png"), full_page=True)

            # Wrap-up over: no event from Asterisk says so; the hall's time does.
            expect(state).to_have_attribute("data-state", "available",
                                            timeout=(WRAP_UP_S + 3) * 1000)
            expect(left).to_be_hidden()
            expect(cell).to_have_attribute("data-state", "available", timeout=4000)
            expect(cell).to_have_text("空闲")
            browser.close()
        assert not problems, problems
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(30)
        except subprocess.TimeoutExpired:
            service.kill()
        peer.stop()
    log = (tmp_path / "service.log").read_text(errors="replace")
    assert "Traceback" not in log, log
