"""Indexed recordings in the browser (both databases): the appeal page links its recordings;
the officer who took the call, a supervisor and the unit the appeal went to may play them
(range requests, one audit row per listen, on the recording's and the appeal's trail), other
officers may not; a download carries its watermark into the trail; a supervisor places and
releases a legal hold; a purged recording shows as such."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os

import pytest
from sqlalchemy import update

from hotline import audit
from hotline.recordings import index, names, retention
from hotline.recordings.config import RecordingsConfig
from schemas.enums import AgentRole
from schemas.live import QueueCall
from schemas.models import Appeal
from schemas.recordings import Recording
from tests.agents.support import Browser, SettableClock, create_agent, make_app, make_core
from tests.recordings.support import DAY, agent_call, appeal_from_call, callback_task
from tests.support.appeals import add_unit

LATER = DAY + dt.timedelta(days=2)


@pytest.fixture
def hall(database, pumped_reactor, tmp_path):
    recordings = tmp_path / "monitor"
    recordings.mkdir()
    agent_call(database, pumped_reactor, recordings)
    unit_id = database.write_now(add_unit)
    database.write_now(add_unit, "PS-YT", "义堂派出所")
    taker = create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    create_agent(database, "zhao", AgentRole.AGENT, interface="PJSIP/1002")
    create_agent(database, "wang", AgentRole.SUPERVISOR)
    create_agent(database, "lsunit", AgentRole.UNIT_OFFICER, unit_code="PS-LS")
    create_agent(database, "ytunit", AgentRole.UNIT_OFFICER, unit_code="PS-YT")
    appeal_id = appeal_from_call(database, "c0ffee01")

    def dispatch(session):
        session.execute(update(Appeal).where(Appeal.id == appeal_id).values(unit_id=unit_id))
        # The queue's passage: li's phone answered the call.
        session.add(QueueCall(caller_uniqueid="1764208800.1", queue="hotline", caller=None,
                              call_id="c0ffee01", joined_at=DAY, outcome="completed",
                              answered_at=DAY, interface="PJSIP/1001"))
    database.write_now(dispatch)
    task_id, _attempt = callback_task(database, appeal_id, agent_id=taker.id)
    path = recordings / "call-c0ffee01.wav"
    os.utime(path, (DAY.timestamp(), DAY.timestamp()))
    roots = names.roots(str(recordings), "")
    database.write_now(index.scan, roots, DAY + dt.timedelta(minutes=1), 10.0)
    recording_id = database.read_now(lambda s: s.query(Recording.id).scalar())
    base = make_core(database, pumped_reactor, SettableClock(LATER))
    config = dataclasses.replace(base.config, recordings=RecordingsConfig(dir=str(recordings)))
    core = dataclasses.replace(base, config=config)

    def browser(username):
        b = Browser(make_app(core), pumped_reactor)
        assert b.login(username).status == 303
        return b
    return dict(browser=browser, appeal_id=appeal_id, recording_id=recording_id, path=path,
                audio=path.read_bytes(), database=database, roots=roots, task_id=task_id)


def trail(database, kind, entity_id):
    return [(e.actor, e.action, e.note) for e in database.read_now(audit.trail, kind, entity_id)
            if e.action in ("listen", "download")]


def test_the_appeal_page_links_its_recordings_and_the_list_plays_them(hall):
    li = hall["browser"]("li")
    page = li.get(f"/appeals/{hall['appeal_id']}")
    assert f'href="/appeals/{hall["appeal_id"]}/recordings" id="recordings-link"' in page.body
    listing = li.get(f"/appeals/{hall['appeal_id']}/recordings")
    rid = hall["recording_id"]
    assert listing.status == 200 and "坐席通话" in listing.body
    assert f'<audio controls preload="none" id="audio-{rid}" src="/recordings/{rid}/audio">' \
        in listing.body
    assert 'id="hold-form"' not in listing.body  # holds are a supervisor's


def test_the_officer_who_took_the_call_plays_it_with_ranges_and_each_listen_is_audited(hall):
    li, rid, audio = hall["browser"]("li"), hall["recording_id"], hall["audio"]
    whole = li.get(f"/recordings/{rid}/audio")
    assert whole.status == 200 and whole.response.body == audio
    assert whole.response.content_type == "audio/wav" and whole.header("Accept-Ranges") == "bytes"
    part = li.get(f"/recordings/{rid}/audio", headers={"range": "bytes=100-199"})
    assert part.status == 206 and part.response.body == audio[100:200]
    assert part.header("Content-Range") == f"bytes 100-199/{len(audio)}"
    past = li.get(f"/recordings/{rid}/audio", headers={"range": f"bytes={len(audio)}-"})
    assert past.status == 416
    assert trail(hall["database"], "recording", rid) == [
        ("li", "listen", "call recording call-c0ffee01.wav")]
    assert [a for a, *_ in trail(hall["database"], "appeal", hall["appeal_id"])] == ["li"]


@pytest.mark.parametrize("username, status", [("wang", 200), ("lsunit", 200),
                                              ("zhao", 403), ("ytunit", 403)])
def test_who_may_hear_a_call(hall, username, status):
    result = hall["browser"](username).get(f"/recordings/{hall['recording_id']}/audio")
    assert result.status == status
    heard = trail(hall["database"], "recording", hall["recording_id"])
    assert heard == ([(username, "listen", "call recording call-c0ffee01.wav")]
                     if status == 200 else [])


def test_another_units_officer_does_not_find_the_appeals_recordings(hall):
    assert hall["browser"]("ytunit").get(
        f"/appeals/{hall['appeal_id']}/recordings").status == 404
    page = hall["browser"]("lsunit").get(f"/appeals/{hall['appeal_id']}/recordings")
    assert page.status == 200 and f"audio-{hall['recording_id']}" in page.body


def test_another_officer_sees_the_list_without_the_call_they_did_not_take(hall):
    page = hall["browser"]("zhao").get(f"/appeals/{hall['appeal_id']}/recordings")
    assert page.status == 200 and 'id="no-recordings"' in page.body


def test_a_download_is_audited_with_its_watermark(hall):
    li, rid = hall["browser"]("li"), hall["recording_id"]
    got = li.get(f"/recordings/{rid}/download")
    assert got.status == 200 and got.response.body == hall["audio"]
    assert got.header("Content-Disposition") == 'attachment; filename="call-c0ffee01.wav"'
    (actor, action, note), = trail(hall["database"], "recording", rid)
    mark = got.header("X-Hotline-Watermark")
    assert (actor, action) == ("li", "download") and len(mark) == 16
    assert note.startswith(f"watermark {mark} li 2026-11-29T02:00:00Z #{rid} call-c0ffee01.wav")


def test_the_callback_tasks_recordings_are_listed_for_its_officer(hall):
    page = hall["browser"]("li").get(f"/callbacks/{hall['task_id']}/recordings")
    assert page.status == 200 and f"audio-{hall['recording_id']}" in page.body  # its call's


def test_a_supervisor_holds_and_releases_and_a_purged_recording_shows_as_such(hall):
    wang, appeal_id = hall["browser"]("wang"), hall["appeal_id"]
    page = wang.get(f"/appeals/{appeal_id}/recordings")
    empty = wang.post(f"/appeals/{appeal_id}/recording-hold", {"reason": " "})
    assert empty.location.endswith("done=hold_reason")
    held = wang.post(f"/appeals/{appeal_id}/recording-hold", {"reason": "行政诉讼证据"})
    assert held.status == 303
    page = wang.get(held.location)
    assert "法律保全中" in page.body and "行政诉讼证据" in page.body and "已设置法律保全" in page.body
    config = RecordingsConfig(keep_calls_days=1, keep_callbacks_days=1,
                              keep_voice_messages_days=1, keep_complaints_days=1)
    database = hall["database"]
    kept = database.write_now(retention.purge, config, hall["roots"], LATER)
    assert kept.held == [hall["recording_id"]] and hall["path"].exists()
    released = wang.post(f"/appeals/{appeal_id}/recording-hold", {"action": "release"})
    assert "已解除法律保全" in wang.get(released.location).body
    database.write_now(retention.purge, config, hall["roots"], LATER)
    page = wang.get(f"/appeals/{appeal_id}/recordings")
    assert "按保存期限清理" in page.body and f"audio-{hall['recording_id']}" not in page.body
    assert wang.get(f"/recordings/{hall['recording_id']}/audio").status == 404
