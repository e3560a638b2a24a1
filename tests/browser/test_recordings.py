"""In a real browser, against the real service as a process: a survey callback's recording,
made by the AMI simulator where the dialplan's MixMonitor writes it, is indexed by the
running service, linked from the appeal page, and played in headless Chromium (its media
requests are range requests answered 206), the listen on the recording's audit trail.
Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
from pathlib import Path

from sqlalchemy import select

from hotline.agents_admin import add_agent
from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine, upgrade
from schemas.enums import AgentRole, AppealKind
from schemas.models import AuditEvent
from schemas.recordings import Recording
from tests.browser.support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    MARKS,
    PASSWORD,
    browser_environment,
    healthy,
)
from tests.recordings.support import REPO, callback_task
from tests.recordings.test_recordings import survey_recorded
from tests.support.appeals import new_appeal
from tests.support.processes import ROOT, TWISTD, service_environment, wait_for, wait_for_ports

pytestmark = MARKS


def prepare(path: Path, recordings: Path) -> tuple[str, int]:
    """An officer, a complaint resolved and surveyed: the survey's recording on disk."""
    url = f"sqlite:///{path}"
    engine = make_engine(DatabaseConfig(url=url))
    upgrade(engine)
    db = Database(engine, reactor=None)
    now = dt.datetime.now(dt.timezone.utc)
    li = db.write_now(add_agent, username="li", display_name="李警官", role=AgentRole.AGENT,
                      password=PASSWORD, unit_code=None, interface=None, actor="test", now=now)
    appeal = db.write_now(REPO.create, new_appeal(kind=AppealKind.COMPLAINT,
                                                  subject="窗口办事态度差"), actor="li", now=now)
    task_id, attempt_id = callback_task(db, appeal.id, agent_id=li.id)
    survey_recorded(recordings, task_id, attempt_id, talk_s=3.0)
    engine.dispose()
    return url, appeal.id


def read(db_url: str, work):
    engine = make_engine(DatabaseConfig(url=db_url))
    try:
        return Database(engine, reactor=None).read_now(work)
    finally:
        engine.dispose()


def test_a_callbacks_recording_is_indexed_linked_and_played_in_the_browser(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    recordings = tmp_path / "monitor"
    recordings.mkdir()
    db_url, appeal_id = prepare(tmp_path / "hotline.sqlite3", recordings)
    ports_file = tmp_path / "ports.json"
    env = service_environment(ports_file, HOTLINE_CONFIG="", HOTLINE_DATABASE_URL=db_url,
                              HOTLINE_AMI_SECRET="secret", HOTLINE_AUTH_SECRET_KEY="k" * 48,
                              HOTLINE_RECORDINGS_DIR=str(recordings),
                              HOTLINE_RECORDINGS_SCAN_S="1", HOTLINE_RECORDINGS_LEASE_S="3",
                              HOTLINE_RECORDINGS_SETTLE_S="0",
                              HOTLINE_IVR_VOICE_MESSAGE_DIR=str(tmp_path / "spool"))
    log = open(tmp_path / "service.log", "ab")
    service = subprocess.Popen([TWISTD, "--pidfile=", "-n", "-y", "twisted_app.tac"], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{wait_for_ports(ports_file, service, ('web',))['web']}"
        wait_for(lambda: healthy(base), 60, "the service's /healthz")
        recording_id = wait_for(lambda: read(db_url, lambda s: s.scalar(select(Recording.id))),
                                30, "the recording indexed by the service")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                env=browser_environment())
            problems: list[str] = []
            media: list[tuple[int, str | None]] = []
            page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(m.text)
                    if m.type == "error"
                    and not m.text.startswith("Failed to load resource") else None)
            page.on("response", lambda r: media.append((r.status, r.request.headers.get("range")))
                    if "/audio" in r.url else None)
            page.goto(f"{base}/appeals/{appeal_id}")
            page.fill("#username", "li")
            page.fill("#password", PASSWORD)
            page.click("#login")
            page.click("#recordings-link")
            audio = page.locator(f"#audio-{recording_id}")
            expect(audio).to_be_visible()
            expect(page.locator(f"#recording-{recording_id}")).to_contain_text("回访/回电")
            audio.evaluate("a => { a.muted = true; return a.play(); }")
            page.wait_for_function(
                f"() => document.querySelector('#audio-{recording_id}').duration > 2.9")
            page.screenshot(path=str(ARTIFACTS / "recordings-01-played.png"), full_page=True)
            browser.close()
        assert not problems, problems
        assert media and all(status == 206 and (rng or "").startswith("bytes=")
                             for status, rng in media), media

        def listens(session):
            return session.execute(select(AuditEvent.actor, AuditEvent.action).where(
                AuditEvent.entity_type == "recording",
                AuditEvent.entity_id == str(recording_id))).all()

        assert wait_for(lambda: read(db_url, listens), 10, "the listen's audit row") == [
            ("li", "listen")]
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(30)
        except subprocess.TimeoutExpired:
            service.kill()
        log.close()
