"""In a real browser, against the real service as a process: an officer calls back a voice
message from the worklist and records the 回电: what the citizen said goes onto their open
appeal, and the 不满意 they gave reaches that appeal, the supervisors' dissatisfied list and
the alerts (it used to be confirmed and dropped). Waits are expect()s, never sleeps."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess

import pytest

from hotline.appeals import NewAppeal
from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine
from schemas.callbacks import CallbackMode, CallbackOrigin, CallbackState, CallbackTask
from schemas.enums import AppealChannel, AppealKind
from tests.browser.support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    MARKS,
    PASSWORD,
    browser_environment,
    healthy,
)
from tests.browser.test_hall_terminal import AmiPeer, prepare_database, start_service
from tests.support.appeals import make_repository
from tests.support.processes import wait_for

pytestmark = MARKS

WAIT_MS = 15000
CITIZEN = "13812345678"


def seed_voice_message(db_url: str) -> tuple[str, str]:
    """The citizen's open appeal, and a voice message as the IVR files it (its own appeal
    awaiting classification, and its 回电 task, due now). Gives both case numbers."""
    engine = make_engine(DatabaseConfig(url=db_url))
    db = Database(engine, reactor=None)
    now = dt.datetime.now(dt.timezone.utc)
    repo = make_repository()

    def work(session):
        older = repo.create(session, NewAppeal(
            channel=AppealChannel.PHONE, kind=AppealKind.HELP, subject="楼下烧烤油烟扰民",
            citizen_phone=CITIZEN), actor="li", now=now - dt.timedelta(days=3))
        message = repo.create(session, NewAppeal(
            channel=AppealChannel.VOICE_MESSAGE, kind=AppealKind.CONSULTATION,
            subject="语音留言（待坐席回听分类）", citizen_phone=CITIZEN, call_id="call-4712",
            recording_path="/var/spool/asterisk/hotline/call-4712.wav"), actor="system:ivr",
            now=now - dt.timedelta(minutes=5))
        session.add(CallbackTask(
            appeal_id=message.id, citizen_phone=CITIZEN, origin=CallbackOrigin.VOICE_MESSAGE,
            mode=CallbackMode.AGENT, state=CallbackState.PENDING, call_id="call-4712",
            window_start=now - dt.timedelta(minutes=5), due_by=now + dt.timedelta(minutes=25),
            next_attempt_at=now - dt.timedelta(minutes=5), attempts=0, max_attempts=3,
            created_at=now, updated_at=now))
        return older.case_number, message.case_number

    numbers = db.write_now(work)
    engine.dispose()
    return numbers


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    tmp_path = tmp_path_factory.mktemp("return-call")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    db_url = prepare_database(tmp_path / "hotline.sqlite3")
    cases = seed_voice_message(db_url)
    peer = AmiPeer()
    service, web_port = start_service(tmp_path, db_url, peer.port)
    base = f"http://127.0.0.1:{web_port}"
    try:
        wait_for(lambda: healthy(base), 60, "the service's /healthz")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                env=browser_environment())
            yield base, browser, cases
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
    assert CITIZEN not in log, "a phone number reached the log unmasked"


def logged_in(browser, base: str, username: str, path: str):
    from playwright.sync_api import expect

    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{base}{path}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")
    expect(page.locator("#logout")).to_be_visible()
    return context, page


def test_a_dissatisfied_word_on_a_return_call_reaches_the_appeal_the_list_and_the_alerts(hall):
    from playwright.sync_api import expect

    base, browser, (older_case, message_case) = hall
    context, page = logged_in(browser, base, "li", "/callbacks")
    form = page.locator("form.return-call")
    expect(form).to_have_count(1)
    expect(page.locator("#worklist")).to_contain_text("语音留言")
    form.locator("input[name=reached][value=yes]").check()
    form.locator("textarea[name=notes]").fill("市民留言是催办油烟问题，说半个月没人来")
    form.locator("input[name=disposition][value=joined]").check()
    older_id = form.locator("select[name=appeal] option",
                            has_text=older_case).get_attribute("value")
    form.locator("select[name=appeal]").select_option(older_id)
    form.locator("select[name=rating]").select_option("3")
    form.locator("input[name=reason]").fill("半个月没人处理")
    page.screenshot(path=str(ARTIFACTS / "return_call_form.png"), full_page=True)
    form.locator("button[type=submit]").click()
    expect(page.locator(".notice")).to_contain_text("回电结果已保存")
    expect(page.locator("form.return-call")).to_have_count(0)

    page.goto(f"{base}/appeals/{older_id}")
    expect(page.locator("body")).to_contain_text("市民留言是催办油烟问题")
    expect(page.locator("body")).to_contain_text("半个月没人处理")
    context.close()

    context, page = logged_in(browser, base, "wang", "/supervisor/dissatisfied")
    expect(page.locator("body")).to_contain_text(older_case)
    expect(page.locator("body")).to_contain_text("半个月没人处理")
    page.goto(f"{base}/supervisor/alerts")
    expect(page.locator("body")).to_contain_text(older_case)
    page.screenshot(path=str(ARTIFACTS / "return_call_alert.png"), full_page=True)
    context.close()
