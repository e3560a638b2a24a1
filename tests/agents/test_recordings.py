"""A voice message's recording played from the appeal page: served from the spool only,
with range requests as an <audio> element makes them, and each listen on the trail."""

import dataclasses
import datetime as dt

import pytest

from agents.app import WebApp
from agents.config import AuthConfig
from agents.pages.recordings import RangeNotSatisfiable, byte_range
from hotline import audit
from schemas.enums import AgentRole, AppealChannel, AppealKind
from tests.agents.support import API_TOKEN, SECRET, Browser, SettableClock, create_agent, make_core
from tests.support.appeals import new_appeal

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)
AUDIO = b"RIFF" + bytes(range(256)) * 4  # 1028 bytes, each position telling itself apart


@pytest.mark.parametrize("header, expected", [
    (None, None), ("", None), ("bytes=0-", (0, 1027)), ("bytes=0-99", (0, 99)),
    ("bytes=100-", (100, 1027)), ("bytes=-28", (1000, 1027)), ("bytes=1000-5000", (1000, 1027)),
    ("bytes=-5000", (0, 1027)), ("bytes=0-1,5-6", None), ("items=0-5", None),
])
def test_byte_range_reads_the_one_range_an_audio_element_asks_for(header, expected):
    assert byte_range(header, len(AUDIO)) == expected


@pytest.mark.parametrize("header", ["bytes=1028-", "bytes=5-2", "bytes=-0"])
def test_a_range_past_the_end_is_not_satisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        byte_range(header, len(AUDIO))


@pytest.fixture
def hall(database, pumped_reactor, tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "call-7.wav").write_bytes(AUDIO)
    (tmp_path / "secret.wav").write_bytes(b"not a voice message")
    clock = SettableClock(NOW)
    base = make_core(database, pumped_reactor, clock)
    config = dataclasses.replace(base.config, ivr=dataclasses.replace(
        base.config.ivr, voice_message_dir=str(spool)))
    core = dataclasses.replace(base, config=config)
    create_agent(database, "li", AgentRole.AGENT)
    message = pumped_reactor.wait(core.appeals.create(new_appeal(
        channel=AppealChannel.VOICE_MESSAGE, kind=AppealKind.CONSULTATION, subject="语音留言",
        recording_path=str(spool / "call-7.wav")), actor="system:ivr"))
    outside = pumped_reactor.wait(core.appeals.create(new_appeal(
        recording_path=str(spool / ".." / "secret.wav")), actor="li"))
    browser = Browser(WebApp(core, AuthConfig(secret_key=SECRET, api_token=API_TOKEN)),
                      pumped_reactor)
    assert browser.login("li").status == 303
    return browser, database, message, outside


def listens(database, appeal_id):
    return [e for e in database.read_now(audit.trail, "appeal", appeal_id) if e.action == "listen"]


def test_the_appeal_page_plays_the_recording_and_opens_the_classification(hall):
    browser, _, message, _ = hall
    page = browser.get(f"/appeals/{message.id}")
    assert f'<audio controls preload="none" id="recording" src="/appeals/{message.id}/recording">' \
        in page.body
    assert '<details class="correct" id="correct" open>' in page.body


def test_the_whole_recording_and_its_ranges(hall):
    browser, database, message, _ = hall
    whole = browser.request("GET", f"/appeals/{message.id}/recording")
    assert whole.status == 200 and whole.response.body == AUDIO
    assert whole.response.content_type == "audio/wav"
    assert whole.header("Accept-Ranges") == "bytes"
    part = browser.request("GET", f"/appeals/{message.id}/recording",
                           headers={"range": "bytes=100-199"})
    assert part.status == 206 and part.response.body == AUDIO[100:200]
    assert part.header("Content-Range") == "bytes 100-199/1028"
    tail = browser.request("GET", f"/appeals/{message.id}/recording",
                           headers={"range": "bytes=-28"})
    assert tail.status == 206 and tail.response.body == AUDIO[-28:]
    past = browser.request("GET", f"/appeals/{message.id}/recording",
                           headers={"range": "bytes=5000-"})
    assert past.status == 416 and past.header("Content-Range") == "bytes */1028"
    # Listening is audited once per play from the start, not for every seek.
    assert [(e.actor, e.note) for e in listens(database, message.id)] == [
        ("li", "voice message recording")]


def test_a_recording_path_outside_the_spool_is_not_served(hall):
    browser, database, _, outside = hall
    refused = browser.request("GET", f"/appeals/{outside.id}/recording")
    assert refused.status == 404 and "没有可播放的录音" in refused.body
    assert listens(database, outside.id) == []
    assert browser.request("GET", "/appeals/999/recording").status == 404
