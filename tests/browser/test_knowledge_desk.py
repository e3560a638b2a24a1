"""In a real browser, against the real service as a process: while a call is up, the officer
searches the knowledge base from the card (initials), opens the article beside the
work-order form, inserts its answer and an answer template into 答复内容 and sends its guide to the caller by SMS in
one click; the SMS is in the outbox for the caller's number, and a sample article's guide is
refused. Waits are expect()s, never sleeps."""

from __future__ import annotations

import signal
import subprocess

import pytest
from sqlalchemy import select

from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine
from hotline.knowledge import ArticleFields
from hotline.knowledge import repository as kb
from hotline.knowledge.cli import SAMPLE
from hotline.knowledge.sample import load_sample
from hotline.reference_data import load_catalogue, shipped_catalogue
from schemas.enums import AppealKind, SmsKind
from schemas.sms import SmsMessage
from tests.browser.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MARKS,
    PASSWORD,
    browser_environment,
    healthy,
)
from tests.browser.test_hall_terminal import AmiPeer, prepare_database, start_service
from tests.support.appeals import utc
from tests.support.processes import wait_for

pytestmark = MARKS

WAIT_MS = 15000
NOW = utc(2026, 12, 1, 2, 0)
ANSWER = "持居民身份证和居住证明到居住地派出所申领。"


def seed_knowledge(db_url: str) -> None:
    db = Database(make_engine(DatabaseConfig(url=db_url)), reactor=None)

    def seed(session):
        load_catalogue(session, shipped_catalogue())
        article_id = kb.create_article(session, ArticleFields(
            title="居住证申领", answer=ANSWER, materials="居民身份证、居住证明",
            location="居住地派出所", fee="免费"), actor="wang", now=NOW)
        version_id = kb.article(session, article_id).latest.id
        kb.submit(session, version_id, actor="wang", now=NOW)
        kb.publish(session, version_id, reviewer="zhao", now=NOW)
        load_sample(session, SAMPLE.read_text("utf-8"), now=NOW)
        kb.save_template(session, kind=AppealKind.CONSULTATION, field="answer", title="补充告知",
                         text="如有疑问请再拨9600110。", actor="wang", now=NOW)
        return article_id
    db.write_now(seed)
    db.engine.dispose()


def guides(db_url: str) -> list[tuple[str, str]]:
    db = Database(make_engine(DatabaseConfig(url=db_url)), reactor=None)
    rows = db.read_now(lambda s: [(m.destination, m.text) for m in s.scalars(
        select(SmsMessage).where(SmsMessage.kind == SmsKind.KNOWLEDGE_GUIDE))])
    db.engine.dispose()
    return rows


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    tmp_path = tmp_path_factory.mktemp("kbdesk")
    db_url = prepare_database(tmp_path / "hotline.sqlite3")
    seed_knowledge(db_url)
    peer = AmiPeer()
    service, web_port = start_service(tmp_path, db_url, peer.port)
    base = f"http://127.0.0.1:{web_port}"
    try:
        wait_for(lambda: healthy(base), 60, "the service's /healthz")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                env=browser_environment())
            yield base, peer, browser, db_url
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
    assert "13700001234" not in log, "a phone number reached the log unmasked"


def test_search_during_a_call_insert_the_answer_and_send_the_guide(desk):
    from playwright.sync_api import expect

    base, peer, browser, db_url = desk
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        page.goto(f"{base}/terminal")
        page.fill("#username", "li")
        page.fill("#password", PASSWORD)
        page.click("#login")
        expect(page.locator("#call-bar")).to_have_attribute("data-connected", "1")
        peer.command("agent_connect", interface="PJSIP/1001", caller="13700001234",
                     call_id="call-4720", name="kb")
        card = page.locator("#card-slot #card")
        expect(card.locator("#card-phone")).to_have_text("13700001234")
        page.fill("#kb-desk-q", "jzz")
        page.press("#kb-desk-q", "Enter")
        hit = page.locator("#kb-desk-hits button").first
        expect(hit).to_contain_text("居住证申领")
        hit.click()
        expect(page.locator("#kb-desk-answer")).to_have_text(ANSWER)
        expect(page.locator("#kb-desk-guide")).to_contain_text("居民身份证、居住证明")
        page.fill("#card-answer", "经查询：")
        page.locator("#card-answer").evaluate("f => f.setSelectionRange(4, 4)")
        page.click("#kb-desk-insert")
        expect(page.locator("#card-answer")).to_have_value("经查询：" + ANSWER)
        # An answer template (常用答复) of the form's kind goes after it.
        page.focus("#card-answer-template")
        expect(page.locator("#card-answer-template")).to_have_attribute("data-loaded", "1")
        page.select_option("#card-answer-template", label="补充告知")
        expect(page.locator("#card-answer")).to_have_value("经查询：" + ANSWER + "如有疑问请再拨9600110。")
        page.click("#kb-desk-sms")
        expect(page.locator("#kb-desk-status")).to_have_text("办事指南短信已进入发送队列。")
        wait_for(lambda: guides(db_url), 10, "the guide in the outbox")
        ((destination, text),) = guides(db_url)
        assert destination == "13700001234" and "【办事指南】居住证申领" in text
        # A sample's guide is not sent as the bureau's word.
        page.fill("#kb-desk-q", "出生登记")
        page.press("#kb-desk-q", "Enter")
        sample = page.locator("#kb-desk-hits button", has_text="示例").first
        sample.click()
        expect(page.locator("#kb-desk-sample")).to_be_visible()
        page.click("#kb-desk-sms")
        expect(page.locator("#kb-desk-status")).to_have_text("示例内容不能作为正式答复发送。")
        # Still on the call, the form untouched.
        expect(card.locator("#card-phone")).to_have_text("13700001234")
        expect(page.locator("#card-answer")).to_have_value("经查询：" + ANSWER + "如有疑问请再拨9600110。")
        peer.command("agent_complete", name="kb")
    finally:
        context.close()
