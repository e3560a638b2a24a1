"""In a real browser, against the real service as a process: the hall officer's desk keeps
what the officer typed and the call in front of them. Ctrl+S saves the form that has focus
(the 办理结果 too), Enter in the pause reason pauses; the current call survives a reload and
reaches the officer on any page of the desk; a lost session keeps the typed text for after the
login. Waits are expect()s with generous timeouts, never sleeps."""

from __future__ import annotations

import re
import signal
import subprocess

import pytest

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
from tests.browser.test_hall_terminal import AmiPeer, prepare_database, start_service
from tests.support.processes import wait_for

pytestmark = MARKS

WAIT_MS = 15000


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """The service with its AMI peer, and a Chromium; each test opens its own context."""
    from playwright.sync_api import sync_playwright

    tmp_path = tmp_path_factory.mktemp("desk")
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
            yield base, peer, browser
            browser.close()
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


def open_desk(browser, base: str, path: str = "/terminal"):
    from playwright.sync_api import expect

    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{base}{path}")
    expect(page.locator("#username")).to_be_visible()
    page.fill("#username", "li")
    page.fill("#password", PASSWORD)
    page.click("#login")
    expect(page.locator("#logout")).to_be_visible()
    return context, page


def new_appeal(page, base: str, subject: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/appeals/new?citizen_phone=13812345678&channel=phone&kind=consultation")
    page.fill("#subject", subject)
    press_save(page, "#subject")
    expect(page.locator("#case-number")).to_be_visible()


def test_ctrl_s_in_the_resolution_field_saves_the_resolution(desk):
    from playwright.sync_api import expect

    base, _peer, browser = desk
    context, page = open_desk(browser, base)
    try:
        new_appeal(page, base, "咨询护照办理")
        page.locator("#assign-unit").select_option(index=1)
        page.click("#assign")
        expect(page.locator("#status")).to_have_attribute("data-status", "assigned")
        page.click("#start")
        expect(page.locator("#status")).to_have_attribute("data-status", "in_progress")
        page.fill("#resolution-text", "已告知所需材料")
        press_save(page, "#resolution-text")
        expect(page.locator("#status")).to_have_attribute("data-status", "resolved",
                                                          timeout=WAIT_MS)
        expect(page.locator("#resolution")).to_have_text("已告知所需材料")
        # The note form was not the one submitted: no empty note on the trail.
        page.fill("#note-text", "已电话告知")
        press_save(page, "#note-text")
        expect(page.locator("#trail")).to_contain_text("已电话告知", timeout=WAIT_MS)
    finally:
        context.close()


def test_enter_in_the_pause_reason_pauses_with_that_reason(desk):
    from playwright.sync_api import expect

    base, _peer, browser = desk
    context, page = open_desk(browser, base)
    try:
        page.click("#queue-login")
        expect(page.locator("#queue-state")).to_have_attribute("data-state", "available")
        page.fill("#pause-reason", "就餐")
        page.locator("#pause-reason").press("Enter")
        expect(page.locator("#queue-state")).to_have_attribute("data-state", "paused")
        expect(page.locator("#queue-reason")).to_have_text("就餐")
        expect(page.locator("#error")).to_have_count(0)
        page.click("#queue-unpause")
        expect(page.locator("#queue-state")).to_have_attribute("data-state", "available")
    finally:
        context.close()


def test_a_session_lost_while_typing_keeps_the_text_for_after_the_login(desk):
    from playwright.sync_api import expect

    base, _peer, browser = desk
    context, page = open_desk(browser, base)
    try:
        new_appeal(page, base, "咨询户口迁移")
        appeal_page = page.url
        page.fill("#note-text", "来电人补充：需要迁入证明")
        # The session ends on the server (a logout elsewhere: the session is revoked for every
        # holder of its cookie). Clearing the browser's cookies is not enough: a response in
        # flight (the live feed, the call bar) may set the still-valid cookie again.
        token = page.locator('input[name="_csrf"]').first.input_value()
        ended = context.request.post(f"{base}/logout", form={"_csrf": token},
                                     headers={"Origin": base}, max_redirects=0)
        assert ended.status in (302, 303), ended.status
        context.clear_cookies()
        press_save(page, "#note-text")
        expect(page.locator("#submission-lost h1")).to_have_text("登录已过期")
        expect(page.locator("#lost-kept")).to_contain_text("您填写的内容仍保留在本浏览器中")
        page.fill("#username", "li")
        page.fill("#password", PASSWORD)
        page.click("#login")
        expect(page).to_have_url(appeal_page)
        expect(page.locator("#note-text")).to_have_value("来电人补充：需要迁入证明")
        expect(page.locator("#note .draft-restored")).to_be_visible()
        press_save(page, "#note-text")
        expect(page.locator("#trail")).to_contain_text("来电人补充：需要迁入证明")
        # Saved: the draft is gone, a reload shows an empty field.
        page.reload()
        expect(page.locator("#note-text")).to_have_value("")
        expect(page.locator(".draft-restored")).to_have_count(0)
    finally:
        context.close()


def test_a_stale_form_keeps_the_typed_appeal_for_the_page_it_came_from(desk):
    from playwright.sync_api import expect

    base, _peer, browser = desk
    context, page = open_desk(browser, base)
    try:
        page.goto(f"{base}/appeals/new?citizen_phone=13812345678&channel=phone")
        page.fill("#subject", "噪音扰民")
        page.fill("#body", "楼下商铺夜间施工")
        # The token the page was given is no longer the session's (a login elsewhere).
        page.locator('#new-appeal input[name="_csrf"]').evaluate("e => e.value = 'stale'")
        press_save(page, "#body")
        expect(page.locator("#submission-lost h1")).to_have_text("页面已过期")
        page.click("#lost-back")
        expect(page.locator("#subject")).to_have_value("噪音扰民")
        expect(page.locator("#body")).to_have_value("楼下商铺夜间施工")
        press_save(page, "#body")
        expect(page.locator("#notice")).to_contain_text("已受理，工单编号")
        expect(page.locator("#subject")).to_have_text("噪音扰民")
    finally:
        context.close()


def test_a_reload_during_a_call_keeps_the_card_and_the_call_bar(desk):
    from playwright.sync_api import expect

    base, peer, browser = desk
    context, page = open_desk(browser, base)
    try:
        expect(page.locator("#call-bar")).to_have_attribute("data-connected", "1")
        peer.command("agent_connect", interface="PJSIP/1001", caller="02112345678",
                     call_id="call-4711", name="reload")
        expect(page.locator("#card-slot #card-phone")).to_have_text("13812345678")
        expect(page.locator("#call-bar-caller")).to_have_text("13812345678")
        expect(page.locator("#call-bar-choice")).to_have_text("投诉")
        page.reload()
        expect(page.locator("#card-slot #card-phone")).to_have_text("13812345678")
        expect(page.locator("#card-slot #card-menu-choice")).to_have_text("投诉")
        expect(page.locator("#card-waiting")).to_have_count(0)
        expect(page.locator("#queue-state")).to_have_attribute("data-state", "on_call")
        expect(page.locator("#call-bar-caller")).to_have_text("13812345678")
        expect(page.locator("#call-bar-since")).to_contain_text("通话")
        page.screenshot(path=str(ARTIFACTS / "desk-reload-during-call.png"), full_page=True)
        peer.command("agent_complete", name="reload")
        expect(page.locator("#call-bar")).to_have_attribute("data-on-call", "")
        expect(page.locator("#call-bar-none")).to_be_visible()
    finally:
        context.close()


def test_a_call_connected_while_typing_a_new_appeal_pops_on_that_page(desk):
    from playwright.sync_api import expect

    base, peer, browser = desk
    context, page = open_desk(browser, base, "/appeals/new?citizen_phone=13900001111"
                                             "&channel=phone")
    try:
        page.fill("#subject", "上一通来电：咨询居住证")
        page.fill("#body", "正在记录")
        expect(page.locator("#call-bar")).to_have_attribute("data-connected", "1")
        peer.command("agent_connect", interface="PJSIP/1001", caller="02112345678",
                     call_id="call-4711", name="typing")
        expect(page.locator("#pop-panel")).to_be_visible()
        expect(page.locator("#pop-slot #card-phone")).to_have_text("13812345678")
        expect(page.locator("body")).to_have_attribute("data-call-alert", re.compile(".+"))
        expect(page.locator("#call-bar-choice")).to_have_text("投诉")
        # Nothing typed was lost, and the page is still the form.
        expect(page.locator("#subject")).to_have_value("上一通来电：咨询居住证")
        expect(page.locator("#body")).to_have_value("正在记录")
        page.screenshot(path=str(ARTIFACTS / "desk-pop-on-new-appeal.png"), full_page=True)
        page.click("#pop-close")
        expect(page.locator("#pop-panel")).to_be_hidden()
        page.click("#call-bar-card")  # the call bar opens the card again
        expect(page.locator("#pop-panel")).to_be_visible()
        expect(page.locator("#pop-slot #card-phone")).to_have_text("13812345678")
        peer.command("agent_complete", name="typing")
        expect(page.locator("#call-bar")).to_have_attribute("data-on-call", "")
    finally:
        context.close()


class CountedPage:
    """The officer's actions on a page, counted: each fill, click, check or key press is one
    (what a person does with the mouse or the keyboard to move the work on)."""

    def __init__(self, page) -> None:
        self.page = page
        self.actions = 0

    def fill(self, selector: str, text: str) -> None:
        self.actions += 1
        self.page.fill(selector, text)

    def click(self, selector: str) -> None:
        self.actions += 1
        self.page.click(selector)


def test_a_consultation_is_recorded_and_closed_from_the_card_in_three_actions(desk):
    from playwright.sync_api import expect

    base, peer, browser = desk
    context, page = open_desk(browser, base)
    try:
        expect(page.locator("#call-bar")).to_have_attribute("data-connected", "1")
        peer.command("agent_connect", interface="PJSIP/1001", caller="13700001234",
                     call_id="call-4720", name="consult")
        card = page.locator("#card-slot #card")
        expect(card.locator("#card-phone")).to_have_text("13700001234")
        # The summary line first, and the form prefilled from the IVR choice.
        expect(card.locator("#card-summary")).to_contain_text("近30天来电1次，在办0件")
        expect(card.locator("#card-kind")).to_have_value("consultation")
        officer = CountedPage(page)
        officer.fill("#card-subject", "咨询机动车年检需带材料")
        officer.fill("#card-answer", "已告知：行驶证、交强险保单，可在任一检测站办理")
        officer.click("#card-answer-close")
        notice = page.locator("#notice")
        expect(notice).to_contain_text("已当场答复办结")
        assert officer.actions <= 3, officer.actions
        case_number = re.search(r"\d{13}", notice.inner_text()).group(0)
        # Closed with its answer, as the search shows it; and the card is still there.
        page.goto(f"{base}/appeals?case_number={case_number}")
        expect(page.locator("body")).to_contain_text("已关闭")
        page.goto(f"{base}/terminal")
        expect(page.locator("#card-slot #card-summary")).to_contain_text("近30天来电1次")
        for width, height in ((1024, 768), (1440, 900), (1920, 1080)):
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=str(ARTIFACTS / f"desk-card-{width}.png"), full_page=True)
        peer.command("agent_complete", name="consult")
        expect(page.locator("#call-bar")).to_have_attribute("data-on-call", "")
    finally:
        context.close()


def test_the_receipt_prints_without_the_desk_around_it(desk):
    from playwright.sync_api import expect

    base, _peer, browser = desk
    context, page = open_desk(browser, base)
    try:
        new_appeal(page, base, "咨询出入境证件办理")
        case_number = page.locator("#case-number").inner_text()
        page.click("#receipt-link")
        expect(page.locator("#receipt-case")).to_have_text(case_number)
        expect(page.locator("#receipt-phone")).to_have_text("138****5678")
        page.emulate_media(media="print")
        expect(page.locator("header")).to_be_hidden()
        expect(page.locator("#call-bar")).to_be_hidden()
        expect(page.locator("#print-receipt")).to_be_hidden()
        expect(page.locator("#receipt")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "desk-receipt-print.png"), full_page=True)
    finally:
        context.close()
