"""In a real browser, against the real service as a process and the AMI peer simulator: the
agent's phone stops being reachable (Asterisk reports it Unavailable, as an unregistered
phone): the terminal warns the agent (话机未注册/不可达) and shows the state in Chinese, the
supervisor's wallboard shows the member 话机不可达 with its phone's state, and both clear once
the phone is back, with no script error or CSP violation. Screenshots go to
test-artifacts/browser/."""

from __future__ import annotations

import signal
import subprocess

from tests.browser.support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    MARKS,
    browser_environment,
    healthy,
)
from tests.browser.test_hall_terminal import AmiPeer, prepare_database
from tests.browser.test_hall_wrap_up import login, start_service
from tests.support.processes import wait_for

pytestmark = MARKS


def test_an_unreachable_phone_warns_the_agent_and_shows_on_the_wallboard(tmp_path):
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
            state, device = page.locator("#queue-state"), page.locator("#queue-device")
            warning = page.locator("#phone-warning")
            expect(state).to_have_attribute("data-state", "available")
            expect(device).to_have_text("空闲")
            expect(warning).to_be_hidden()
            expect(page.locator("#card-slot")).to_have_attribute("data-connected", "1")

            board = watch(browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900}))
            login(board, base, "/supervisor/wallboard", "wang")
            expect(board.locator("#wb-state-available")).to_have_text("1")

            peer.command("device_state", interface="PJSIP/1001", status=5)
            expect(state).to_have_attribute("data-state", "unreachable")
            expect(state).to_have_text("话机不可达")
            expect(device).to_have_text("不可用（不可达）")
            expect(warning).to_be_visible()
            expect(warning).to_contain_text("话机未注册/不可达")
            page.screenshot(path=str(ARTIFACTS / "phone-01-terminal-warning.png"), full_page=True)

            row = board.locator('#wb-members tr[data-interface="PJSIP/1001"]')
            expect(row.locator("td[data-state]")).to_have_text("话机不可达", timeout=4000)
            expect(row.locator("td[data-device]")).to_have_text("不可用（不可达）")
            expect(board.locator("#wb-state-unreachable")).to_have_text("1")
            expect(board.locator("#wb-state-available")).to_have_text("0")
            board.screenshot(path=str(ARTIFACTS / "phone-02-wallboard.png"), full_page=True)

            peer.command("device_state", interface="PJSIP/1001", status=4)
            expect(device).to_have_text("无效（未注册）")
            expect(warning).to_be_visible()

            peer.command("device_state", interface="PJSIP/1001", status=1)
            expect(state).to_have_attribute("data-state", "available")
            expect(warning).to_be_hidden()
            expect(device).to_have_text("空闲")
            expect(row.locator("td[data-device]")).to_have_text("空闲", timeout=4000)
            expect(board.locator("#wb-state-unreachable")).to_have_text("0")
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
