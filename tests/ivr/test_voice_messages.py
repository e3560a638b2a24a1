"""Voice messages, through the real flow, backend and database against the simulated Asterisk:
a caller with an open appeal adds to it (a note with the recording) instead of opening a new
one, and a recording with no audio becomes no work and is recorded as such on the call."""

from __future__ import annotations

import datetime as dt

import pytest
from twisted.internet.task import Clock

from hotline import audit
from hotline.appeals import AppealService, InvalidTransition
from hotline.config import IvrConfig
from hotline.workdays import WorkCalendar
from ivr import call_records
from ivr.agi.channel import RecordingResult
from ivr.backend import HotlineBackend
from ivr.flows import prompts as P
from ivr.flows.hotline import HotlineFlow, recording_has_no_audio, wav_has_no_audio
from ivr.hours import ServiceHours
from ivr.simulator import CallSetup
from schemas.enums import AppealChannel, AppealStatus, CallOutcome
from schemas.models import Appeal
from tests.ivr.helpers import pump, run_call
from tests.support.appeals import SHANGHAI, add_unit, make_repository, new_appeal, utc

CITIZEN = "13812345678"
NIGHT = utc(2026, 11, 27, 14, 0)  # Friday 22:00 in Shanghai: after hours, a message
REPO = make_repository()


class FixedClock:
    def now(self):
        return NIGHT


def caller(**setup) -> CallSetup:
    return CallSetup(callerid=CITIZEN, **setup)


def place_call(database, pumped_reactor, script: str, setup: CallSetup, appeals=None,
               spool: str = "/var/spool/asterisk/hotline"):
    """The real backend over the test database: the simulated call and the database's
    thread pool are pumped together until the call's record is written."""
    clock = Clock()
    appeals = appeals or AppealService(database, REPO, FixedClock())
    backend = HotlineBackend(database, appeals, FixedClock(), clock, timeout_s=30)
    ivr = IvrConfig(voice_message_dir=spool)
    flow = HotlineFlow(backend, ServiceHours(ivr, WorkCalendar(), SHANGHAI), ivr, "hotline",
                       new_call_id=lambda: "call-7")
    call = run_call(flow, script, setup, clock=clock)

    def recorded():
        pump(call)
        record = database.read_now(call_records.get_call, "call-7")
        return record is not None and record.outcome is not CallOutcome.IN_PROGRESS and \
            call.server_transport.disconnecting

    pumped_reactor.pump(recorded)
    return call, database.read_now(call_records.get_call, "call-7")


def appeals_of(database):
    """(id, channel, recording_path) of every appeal, oldest first."""
    from sqlalchemy import select

    columns = select(Appeal.id, Appeal.channel, Appeal.recording_path).order_by(Appeal.id)
    return database.read_now(lambda session: list(session.execute(columns)))


def played(call) -> list[str]:
    return [h.value.removeprefix("hotline/") for h in call.simulator.heard if h.kind == "play"]


def open_appeal(database, status: AppealStatus = AppealStatus.IN_PROGRESS):
    def seed(session):
        unit = add_unit(session)
        appeal = REPO.create(session, new_appeal(), actor="li", now=NIGHT - dt.timedelta(days=2))
        if status is AppealStatus.RECEIVED:
            return appeal
        REPO.assign(session, appeal.id, unit, actor="li", now=NIGHT)
        REPO.start(session, appeal.id, actor="unit", now=NIGHT)
        if status is AppealStatus.IN_PROGRESS:
            return REPO.get(session, appeal.id)
        REPO.resolve(session, appeal.id, "已处理", actor="unit", now=NIGHT)
        return REPO.close(session, appeal.id, actor="hall", now=NIGHT)
    return database.write_now(seed)


def test_a_message_from_a_caller_with_an_open_appeal_is_a_note_on_it(database, pumped_reactor):
    existing = open_appeal(database)
    call, record = place_call(database, pumped_reactor, "#", caller(speech_s=6))
    assert [a.id for a in appeals_of(database)] == [existing.id]  # no second appeal
    notes = [e for e in database.read_now(audit.trail, "appeal", existing.id) if e.action == "note"]
    assert [n.note for n in notes] == [
        "语音留言，录音文件：/var/spool/asterisk/hotline/call-7.wav (call call-7)"]
    assert record.outcome is CallOutcome.MESSAGE_LEFT and record.appeal_id == existing.id
    assert record.path.endswith("voice-message:joined>goodbye")
    assert P.MESSAGE_JOINED in played(call) and P.MESSAGE_SAVED not in played(call)


def test_a_message_from_a_caller_without_an_open_appeal_opens_one(database, pumped_reactor):
    closed = open_appeal(database, AppealStatus.CLOSED)
    call, record = place_call(database, pumped_reactor, "#", caller(speech_s=6))
    (old, new) = appeals_of(database)
    assert old.id == closed.id and new.channel is AppealChannel.VOICE_MESSAGE
    assert new.recording_path == "/var/spool/asterisk/hotline/call-7.wav"
    assert record.appeal_id == new.id and "voice-message>goodbye" in record.path
    assert P.MESSAGE_SAVED in played(call)


def test_an_appeal_closed_between_the_lookup_and_the_note_gets_a_new_appeal(database,
                                                                             pumped_reactor):
    existing = open_appeal(database, AppealStatus.RECEIVED)

    class ClosingFirst(AppealService):
        async def _closed(self, appeal_id):
            raise InvalidTransition("add a note to", "closed", frozenset({"received"}))

        def add_note(self, appeal_id, text, **kwargs):
            from twisted.internet.defer import Deferred

            return Deferred.fromCoroutine(self._closed(appeal_id))

    appeals = ClosingFirst(database, REPO, FixedClock())
    _, record = place_call(database, pumped_reactor, "#", caller(speech_s=6), appeals=appeals)
    (old, new) = appeals_of(database)
    assert old.id == existing.id and record.appeal_id == new.id


@pytest.mark.parametrize("script, speech_s, why", [
    ("#", None, "the channel sent no audio: endpos=0"),
    ("_", 0.0, "silence only: Asterisk kept 1.02 s of it"),
    ("#", 0.1, "# pressed at once"),
])
def test_a_recording_with_no_audio_becomes_no_work(database, pumped_reactor, script, speech_s,
                                                   why):
    existing = open_appeal(database)
    call, record = place_call(database, pumped_reactor, script, caller(speech_s=speech_s))
    assert [a.id for a in appeals_of(database)] == [existing.id], why
    assert not [e for e in database.read_now(audit.trail, "appeal", existing.id)
                if e.action == "note"], why
    assert record.outcome is CallOutcome.MESSAGE_EMPTY, why
    assert "voice-message:empty" in record.path and record.appeal_id is None
    assert P.MESSAGE_EMPTY in played(call) and call.commands()[-1] == "HANGUP"


def test_half_a_second_of_speech_before_the_silence_is_a_message(database, pumped_reactor):
    _, record = place_call(database, pumped_reactor, "_", caller(speech_s=0.5))
    assert record.outcome is CallOutcome.MESSAGE_LEFT
    assert len(appeals_of(database)) == 1


@pytest.mark.parametrize("speech_s, outcome, appeals", [
    (0.0, CallOutcome.MESSAGE_EMPTY, 0),  # hung up at the beep: a header-only file
    (3.0, CallOutcome.MESSAGE_LEFT, 1),
])
def test_a_hang_up_during_the_recording_is_judged_by_the_file_where_it_is_visible(
        database, pumped_reactor, tmp_path, speech_s, outcome, appeals):
    spool = tmp_path / "spool"
    spool.mkdir()
    # "1H": a key that is not the escape key, then the hang-up, lands on RECORD FILE (a bare
    # "H" would hang up during the first prompt)
    _, record = place_call(database, pumped_reactor, "1H",
                           caller(speech_s=speech_s, write_recordings=True), spool=str(spool))
    assert (spool / "call-7.wav").exists()
    assert record.outcome is outcome and len(appeals_of(database)) == appeals
    assert record.abandoned_at is None


def test_a_hang_up_with_the_spool_out_of_sight_keeps_the_message(database, pumped_reactor,
                                                                tmp_path):
    _, record = place_call(database, pumped_reactor, "1H", caller(speech_s=0.0),
                           spool=str(tmp_path / "on-the-asterisk-host"))
    assert record.outcome is CallOutcome.MESSAGE_LEFT and len(appeals_of(database)) == 1


@pytest.mark.parametrize("result, silence_s, empty", [
    (RecordingResult("", "timeout", 0), 5, True),
    (RecordingResult("", "timeout", 8160), 5, True),  # 5 s of silence, 1.02 s of it kept
    (RecordingResult("", "timeout", 12160), 5, False),  # 0.5 s said first
    (RecordingResult("#", "dtmf", 800), 5, True),
    (RecordingResult("#", "dtmf", 8000), 5, False),
    (RecordingResult("", "timeout", 8160), 0, False),  # no silence limit: a full second said
    (RecordingResult("", "", None), 5, None),
    (None, 5, None),
])
def test_what_record_files_answer_says_of_the_audio(result, silence_s, empty):
    assert recording_has_no_audio(result, silence_s) is empty


def test_what_the_files_size_says_of_the_audio():
    assert wav_has_no_audio(None) is None
    assert wav_has_no_audio(44) is True
    assert wav_has_no_audio(44 + 2 * 8000) is False
