"""Recordings end to end on both databases: a recording of each kind, made by the
simulators as Asterisk makes it, is indexed once complete (size, duration, SHA-256), tied to
its call, task and appeal; a changed file shows as altered and a vanished one as missing;
retention purges each kind after its period (complaints later), keeps the row, and a legal
hold keeps the appeal's recordings until it is released."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

import pytest
from sqlalchemy import select
from twisted.internet import task

from hotline import audit
from hotline.ami import actions
from hotline.ami.simulator import AsteriskManagerSimulator
from hotline.recordings import index, names, retention
from hotline.recordings.config import RecordingsConfig
from schemas.enums import AppealKind
from schemas.recordings import Recording, RecordingKind
from tests.recordings.support import (
    DAY,
    agent_call,
    appeal_from_call,
    callback_task,
    voice_message,
)

CONFIG = RecordingsConfig(keep_calls_days=30, keep_callbacks_days=60,
                          keep_voice_messages_days=90, keep_complaints_days=365)


@pytest.mark.parametrize("source, name, expected", [
    ("recordings", "call-c0ffee01.wav", names.Named(RecordingKind.CALL, call_id="c0ffee01")),
    ("recordings", "callback-12-345.wav",
     names.Named(RecordingKind.CALLBACK, task_id=12, attempt_id=345)),
    ("voice_messages", "b0a710ad.wav",
     names.Named(RecordingKind.VOICE_MESSAGE, call_id="b0a710ad")),
    ("recordings", "call-.wav", None),  # the service never reached: no call id
    ("recordings", "call-c0ffee01.wav.tmp", None),
    ("recordings", "b0a710ad.wav", None),
    ("recordings", "callback-12.wav", None),
    ("voice_messages", "../x.wav", None),
])
def test_a_file_name_says_which_call_it_records(source, name, expected):
    assert names.parse(source, name) == expected


def settle(*paths, at: dt.datetime = DAY) -> None:
    """Files written at `at` (the simulators write now; the tests' clock is fixed)."""
    for path in paths:
        os.utime(path, (at.timestamp(), at.timestamp()))


def survey_recorded(recordings, task_id: int, attempt_id: int, talk_s: float = 4.0):
    """The AMI simulator runs the survey the callback queue originates: [hotline-survey]'s
    MixMonitor writes callback-TASK-ATTEMPT.wav when the citizen hangs up."""
    clock = task.Clock()
    sim = AsteriskManagerSimulator(clock, wall=clock.seconds, recordings_dir=str(recordings))
    sim.script_originate("13812345678", delay=1.0, talk_time=talk_s)
    sim.originate(None, actions.originate(
        "PJSIP/13812345678@trunk", context="hotline-survey", exten="s", priority=1,
        variables={"TASK_ID": task_id, "TASK_ATTEMPT": attempt_id}, channel_id="cb-1"))
    clock.advance(1.0)
    clock.advance(talk_s)
    return recordings / names.callback_file(task_id, attempt_id)


@pytest.fixture
def made(database, pumped_reactor, tmp_path):
    """One recording of each kind, on disk as Asterisk leaves them, none indexed yet."""
    recordings, spool = tmp_path / "monitor", tmp_path / "spool"
    recordings.mkdir()
    spool.mkdir()
    call, record = agent_call(database, pumped_reactor, recordings)
    appeal_id = appeal_from_call(database, "c0ffee01")
    task_id, attempt_id = callback_task(database, appeal_id)
    survey = survey_recorded(recordings, task_id, attempt_id)
    voice_message(database, pumped_reactor, spool)
    files = [recordings / "call-c0ffee01.wav", survey, spool / "b0a710ad.wav"]
    settle(*files)
    roots = names.roots(str(recordings), str(spool))
    return dict(roots=roots, files=files, appeal_id=appeal_id, task_id=task_id,
                attempt_id=attempt_id, record=record, call=call)


def rows(database) -> dict[RecordingKind, Recording]:
    def load(session):
        found = {}
        for row in session.scalars(select(Recording).order_by(Recording.id)):
            session.expunge(row)
            found[row.kind] = row
        return found
    return database.read_now(load)


def test_the_simulators_make_a_recording_of_each_kind_where_the_dialplan_says(made):
    call, survey, message = made["files"]
    assert [h.value for h in made["call"].simulator.heard if h.kind == "queue-recording"] == \
        [f"{call.parent}/call-c0ffee01.wav"]
    assert survey.name == f"callback-{made['task_id']}-{made['attempt_id']}.wav"
    assert all(path.stat().st_size > 44 for path in made["files"])


def test_each_recording_is_indexed_once_with_its_hash_and_tied_to_its_call_and_appeal(
        database, made):
    now = DAY + dt.timedelta(minutes=1)
    result = database.write_now(index.scan, made["roots"], now, 10.0)
    assert len(result.indexed) == 3 and result.problems == []
    found = rows(database)
    call = found[RecordingKind.CALL]
    assert (call.call_id, call.appeal_id) == ("c0ffee01", made["appeal_id"])
    assert call.duration_s == 2.5 and call.started_at == made["record"].started_at
    assert call.sha256 == hashlib.sha256(made["files"][0].read_bytes()).hexdigest()
    assert call.size_bytes == made["files"][0].stat().st_size
    survey = found[RecordingKind.CALLBACK]
    assert (survey.task_id, survey.attempt_id, survey.appeal_id) == (
        made["task_id"], made["attempt_id"], made["appeal_id"])
    assert survey.duration_s == 4.0
    message = found[RecordingKind.VOICE_MESSAGE]
    assert message.call_id == "b0a710ad" and message.appeal_id is not None
    assert message.appeal_id != made["appeal_id"]  # the voice message's own appeal
    again = database.write_now(index.scan, made["roots"], now + dt.timedelta(minutes=1), 10.0)
    assert again.indexed == [] and again.altered == [] and again.missing == []


def test_a_file_still_being_written_waits_and_an_appeal_written_later_is_tied_later(
        database, pumped_reactor, tmp_path):
    recordings = tmp_path / "monitor"
    recordings.mkdir()
    agent_call(database, pumped_reactor, recordings, call_id="late0001")
    path = recordings / "call-late0001.wav"
    settle(path, at=DAY + dt.timedelta(seconds=55))
    roots = names.roots(str(recordings), "")
    early = database.write_now(index.scan, roots, DAY + dt.timedelta(seconds=60), 10.0)
    assert early.indexed == []  # written 5 s ago: MixMonitor may still be writing
    first = database.write_now(index.scan, roots, DAY + dt.timedelta(seconds=70), 10.0)
    assert len(first.indexed) == 1 and rows(database)[RecordingKind.CALL].appeal_id is None
    appeal_id = appeal_from_call(database, "late0001")  # saved in the wrap-up
    later = database.write_now(index.scan, roots, DAY + dt.timedelta(seconds=90), 10.0)
    assert later.linked == 1 and rows(database)[RecordingKind.CALL].appeal_id == appeal_id


def test_a_changed_file_is_marked_altered_and_a_vanished_one_missing(database, made):
    now = DAY + dt.timedelta(minutes=1)
    database.write_now(index.scan, made["roots"], now, 10.0)
    call, survey, _message = made["files"]
    with open(call, "ab") as file:
        file.write(b"\0\0edited")
    settle(call, at=now)
    survey.unlink()
    result = database.write_now(index.scan, made["roots"], now + dt.timedelta(minutes=5), 10.0)
    found = rows(database)
    assert result.altered == [found[RecordingKind.CALL].id]
    assert result.missing == [found[RecordingKind.CALLBACK].id]
    assert found[RecordingKind.CALL].altered_at == now + dt.timedelta(minutes=5)


def test_a_scan_without_verify_only_looks_for_new_files(database, made):
    now = DAY + dt.timedelta(minutes=1)
    database.write_now(index.scan, made["roots"], now, 10.0)
    made["files"][1].unlink()
    quick = database.write_now(index.scan, made["roots"], now, 10.0, verify=False)
    assert quick.missing == [] and quick.indexed == []
    assert len(database.write_now(index.scan, made["roots"], now, 10.0).missing) == 1


def test_an_unreadable_directory_is_a_problem_not_a_failure(database, tmp_path):
    result = database.write_now(index.scan, {"recordings": str(tmp_path / "absent")},
                                DAY, 10.0)
    assert result.indexed == [] and result.problems and "absent" in result.problems[0]


def purge(database, roots, days: float):
    return database.write_now(retention.purge, CONFIG, roots, DAY + dt.timedelta(days=days))


def test_retention_purges_each_kind_after_its_period_and_keeps_the_rows(database, made):
    database.write_now(index.scan, made["roots"], DAY + dt.timedelta(minutes=1), 10.0)
    # The call and the survey are of a complaint: 365 days; the voice message is a
    # consultation of its own: 90 days.
    assert purge(database, made["roots"], 89).purged == []
    ninety = purge(database, made["roots"], 91)
    found = rows(database)
    assert ninety.purged == [found[RecordingKind.VOICE_MESSAGE].id]
    assert not made["files"][2].exists() and made["files"][0].exists()
    assert found[RecordingKind.VOICE_MESSAGE].purged_at == DAY + dt.timedelta(days=91)
    assert found[RecordingKind.VOICE_MESSAGE].sha256  # the hash stays with the row
    year = purge(database, made["roots"], 366)
    assert sorted(year.purged) == sorted([found[RecordingKind.CALL].id,
                                          found[RecordingKind.CALLBACK].id])
    assert not any(path.exists() for path in made["files"])
    trail = database.read_now(audit.trail, "recording", found[RecordingKind.CALL].id)
    assert [(e.actor, e.action) for e in trail] == [("retention", "purge")]
    rescan = database.write_now(index.scan, made["roots"], DAY + dt.timedelta(days=367), 10.0)
    assert rescan.missing == []  # purged, not missing


def test_a_consultation_call_goes_after_the_calls_period(database, pumped_reactor, tmp_path):
    recordings = tmp_path / "monitor"
    recordings.mkdir()
    agent_call(database, pumped_reactor, recordings, call_id="ask00001")
    appeal_from_call(database, "ask00001", kind=AppealKind.CONSULTATION)
    settle(recordings / "call-ask00001.wav")
    roots = names.roots(str(recordings), "")
    database.write_now(index.scan, roots, DAY + dt.timedelta(minutes=1), 10.0)
    assert purge(database, roots, 29).purged == []
    assert len(purge(database, roots, 31).purged) == 1


def test_a_legal_hold_keeps_the_appeals_recordings_until_released(database, made):
    database.write_now(index.scan, made["roots"], DAY + dt.timedelta(minutes=1), 10.0)
    appeal_id = made["appeal_id"]
    database.write_now(retention.hold, appeal_id, "诉讼证据保全", "wang",
                       DAY + dt.timedelta(days=300))
    with pytest.raises(retention.HoldError):
        database.write_now(retention.hold, appeal_id, "again", "wang", DAY)
    with pytest.raises(retention.HoldError):
        database.write_now(retention.hold, appeal_id, "  ", "wang", DAY)
    held = purge(database, made["roots"], 400)
    found = rows(database)
    assert sorted(held.held) == sorted([found[RecordingKind.CALL].id,
                                        found[RecordingKind.CALLBACK].id])
    assert held.purged == [found[RecordingKind.VOICE_MESSAGE].id]  # another appeal's
    assert made["files"][0].exists() and made["files"][1].exists()
    database.write_now(retention.release, appeal_id, "wang", DAY + dt.timedelta(days=401))
    released = purge(database, made["roots"], 402)
    assert sorted(released.purged) == sorted(held.held)
    actions_ = [e.action for e in database.read_now(audit.trail, "appeal", appeal_id)]
    assert "recording_hold" in actions_ and "recording_release" in actions_
