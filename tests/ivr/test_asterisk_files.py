"""What the IVR needs in Asterisk's directories (the prompts, the beep, the voice-message
spool): checked at start and every minute where this host sees them, warned of in the log and
on /healthz with the fix; and a call that meets one missing (RECORD FILE's `(writefile)`, a
missing beep's `(randomerror)`) ends well for the caller, its record saying why, the log
naming the fix once per process."""

from __future__ import annotations

import json

import pytest
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel
from twisted.web.test.requesthelper import DummyRequest

from hotline.config import AmiConfig, Config, DatabaseConfig, IvrConfig
from hotline.core import make_core
from ivr.agi import AGIRecordFailed
from ivr.asterisk_files import (
    CHECK_INTERVAL_S,
    AsteriskFilesCheck,
    AsteriskFileWarnings,
    check_sounds,
    check_spool,
    warnings_of,
)
from ivr.flows import prompts as P
from ivr.flows.hotline import HotlineFlow
from ivr.hours import ServiceHours
from ivr.prompts import load_catalog
from ivr.simulator import AsteriskCallSimulator, CallSetup
from schemas.enums import CallOutcome
from tests.ivr.helpers import LogCapture, run_call
from tests.ivr.test_hotline_flow import (
    CLOSED_NOW,
    QUEUED,
    MemoryBackend,
    citizen,
    commands,
    played,
)
from tests.ivr.test_voice_messages import caller, place_call
from tests.support.appeals import SHANGHAI

CATALOGUE = [prompt.id for prompt in load_catalog()]


def flow(backend, warnings=None, **config):
    from hotline.workdays import WorkCalendar

    ivr = IvrConfig(**config)
    return HotlineFlow(backend, ServiceHours(ivr, WorkCalendar(), SHANGHAI), ivr, "hotline",
                       new_call_id=lambda: "call-1", warnings=warnings)


def warned(logs, text):
    return [e for e in logs.at(LogLevel.warn) if text in str(e)]


# A voice message Asterisk cannot write -----------------------------------------------------

def test_a_message_asterisk_cannot_write_sends_the_caller_to_the_agents_with_an_apology(
        tmp_path):
    backend = MemoryBackend()  # opening hours: menu 5, then an agent answers
    spool = tmp_path / "spool" / "hotline"  # not created: Asterisk answers (writefile)
    with LogCapture() as logs:
        call = run_call(flow(backend, voice_message_dir=str(spool)), "_ 5 #",
                        citizen(speech_s=4, write_recordings=True))
    assert not logs.failures()  # no traceback
    assert "200 result=-1 (writefile)\n" in b"".join(call.asterisk_wire).decode()
    assert played(call)[-3:] == [P.LEAVE_MESSAGE, P.SORRY_TECHNICAL, P.TRANSFER_AGENT]
    assert commands(call, "EXEC Queue") == [QUEUED]
    assert len(commands(call, "RECORD FILE")) == 1 and not backend.voice_messages
    record = backend.record
    assert record.outcome is CallOutcome.TO_QUEUE
    assert record.path == ("greeting", "menu:5", "voice-message:not-recorded-writefile", "queue")
    (line,) = warned(logs, "voice messages are lost")
    text = logs.text()
    assert f"install -d -o asterisk -g asterisk -m 0750 {spool}" in text
    assert f"could not write {spool}/call-1.wav" in text


def test_the_fix_is_logged_once_however_many_calls_meet_it(tmp_path):
    spool = tmp_path / "missing"
    calls = flow(MemoryBackend(), voice_message_dir=str(spool))
    with LogCapture() as logs:
        for _ in range(3):
            run_call(calls, "_ 5 #", citizen(speech_s=4, write_recordings=True))
    assert len(warned(logs, "voice messages are lost")) == 1


def test_after_hours_a_message_that_cannot_be_written_and_no_agent_end_the_call_kindly(
        database, pumped_reactor, tmp_path):
    spool = tmp_path / "spool" / "hotline"
    with LogCapture() as logs:
        call, record = place_call(database, pumped_reactor, "#",
                                  caller(speech_s=4, write_recordings=True,
                                         queue_status="JOINEMPTY"),
                                  spool=str(spool))
    assert not logs.failures()
    assert played(call)[-4:] == [P.SORRY_TECHNICAL, P.TRANSFER_AGENT, P.MESSAGE_NOT_RECORDED,
                                 P.THANKS_GOODBYE]
    assert call.commands()[-1] == "HANGUP"
    assert len([c for c in call.commands() if c.startswith("RECORD FILE")]) == 1  # no retry
    assert record.outcome is CallOutcome.FAILED
    assert record.path == ("after-hours>voice-message:not-recorded-writefile>queue>"
                           "queue:joinempty>no-message>goodbye")


def test_a_queue_that_gives_the_caller_back_meets_the_same_and_is_not_joined_again(tmp_path):
    backend = MemoryBackend()
    call = run_call(flow(backend, voice_message_dir=str(tmp_path / "missing")), "_ 1 #",
                    citizen(speech_s=4, write_recordings=True, queue_status="TIMEOUT"))
    assert commands(call, "EXEC Queue") == [QUEUED]
    assert played(call)[-2:] == [P.MESSAGE_NOT_RECORDED, P.THANKS_GOODBYE]
    assert backend.record.outcome is CallOutcome.FAILED
    assert "voice-message:not-recorded-writefile" in backend.record.path


def test_the_problem_is_on_healthz_until_a_message_is_recorded_again(tmp_path):
    warnings = AsteriskFileWarnings()
    spool = tmp_path / "spool"
    calls = flow(MemoryBackend(), warnings, voice_message_dir=str(spool))
    run_call(calls, "_ 5 #", citizen(speech_s=4, write_recordings=True))
    (line,) = warnings()
    assert "voice messages are lost" in line and "install -d -o asterisk" in line
    spool.mkdir()
    run_call(calls, "_ 5 #", citizen(speech_s=4, write_recordings=True))
    assert (spool / "call-1.wav").exists()
    assert warnings() == []


# A missing beep ----------------------------------------------------------------------------

def without_beep():
    return {f"hotline/{p}": 16000 for p in P.USED}  # the prompts, not Asterisk's core sounds


def test_the_simulator_answers_a_missing_beep_as_asterisk_does():
    """res_agi.c: ast_streamfile("beep") fails, `(randomerror)` with its -1 and the offset;
    nothing is recorded and the AGI is not failed."""
    simulator = AsteriskCallSimulator(CallSetup(sounds={}))
    transport = StringTransport()
    simulator.makeConnection(transport)
    transport.clear()
    simulator.dataReceived(b'RECORD FILE /tmp/x wav "#" 1000 BEEP s=5\n')
    assert transport.value() == b"200 result=-1 (randomerror) endpos=0\n"
    assert simulator.agistatus == "SUCCESS"


def test_the_channel_raises_record_failed_with_the_reason_on_a_live_channel():
    seen = []

    async def record(channel, env):
        try:
            await channel.record_file("/tmp/x", "wav", "#", 1000, beep=True)
        except AGIRecordFailed as failure:
            seen.append((failure.path, failure.reason))

    call = run_call(record, "", CallSetup(sounds={}))
    assert seen == [("/tmp/x.wav", "randomerror")]
    assert call.commands()[-1] == "CHANNEL STATUS"  # told from a hang-up the usual way


def test_without_a_beep_the_message_is_recorded_without_it(tmp_path):
    backend = MemoryBackend(now=CLOSED_NOW)
    warnings = AsteriskFileWarnings()
    with LogCapture() as logs:
        call = run_call(flow(backend, warnings), "#", citizen(speech_s=4, sounds=without_beep()))
        run_call(flow(backend, warnings), "#", citizen(speech_s=4, sounds=without_beep()))
    assert not logs.failures()
    assert [c.endswith(" BEEP s=5") for c in commands(call, "RECORD FILE")] == [True, False]
    assert backend.record.outcome is CallOutcome.MESSAGE_LEFT
    assert backend.record.path == ("after-hours", "voice-message", "no-beep", "goodbye")
    assert len(backend.voice_messages) == 2
    assert len(warned(logs, "beep")) == 1 and "asterisk-core-sounds-en" in logs.text()
    assert any("`beep`" in line for line in warnings())


# The directories, where this host sees them -------------------------------------------------

def built(sounds, *ids):
    (sounds / "hotline").mkdir(parents=True, exist_ok=True)
    for prompt_id in ids:
        (sounds / "hotline" / f"{prompt_id}.wav").write_bytes(b"RIFF")


def test_sounds_are_not_checked_where_this_host_cannot_see_them():
    assert check_sounds(IvrConfig(sounds_dir=""), CATALOGUE) == {}


def test_missing_prompts_are_counted_named_and_told_how_to_build(tmp_path):
    sounds = tmp_path / "sounds"
    built(sounds, *CATALOGUE[2:])
    (sounds / "en").mkdir()
    (sounds / "en" / "beep.gsm").write_bytes(b"")
    found = check_sounds(IvrConfig(sounds_dir=str(sounds)), CATALOGUE)
    assert list(found) == ["prompts"]
    assert found["prompts"].startswith(f"ivr: 2 of {len(CATALOGUE)} prompts are not in "
                                       f"{sounds}/hotline ({CATALOGUE[0]}, {CATALOGUE[1]})")
    assert f"`hotline prompts build --sounds {sounds}/hotline`" in found["prompts"]
    built(sounds, *CATALOGUE[:2])
    assert check_sounds(IvrConfig(sounds_dir=str(sounds)), CATALOGUE) == {}


def test_a_sounds_dir_without_the_prompts_or_the_beep_or_at_all(tmp_path):
    sounds = tmp_path / "sounds"
    assert list(check_sounds(IvrConfig(sounds_dir=str(sounds)), CATALOGUE)) == ["sounds"]
    sounds.mkdir()
    found = check_sounds(IvrConfig(sounds_dir=str(sounds)), CATALOGUE)
    assert set(found) == {"prompts", "beep"}
    assert f"{len(CATALOGUE)} of {len(CATALOGUE)}" in found["prompts"]
    assert "and " in found["prompts"] and " more)" in found["prompts"]


@pytest.mark.parametrize("parent, shared, create, warned_of", [
    (False, False, False, False),  # Asterisk's spool is not on this host
    (True, False, False, True),  # it is, without the directory
    (True, False, True, False),
    (False, True, False, True),  # a shared mount that is not there
])
def test_the_spool_is_checked_where_this_host_sees_it(tmp_path, parent, shared, create,
                                                      warned_of):
    spool = tmp_path / "asterisk" / "hotline"
    if parent:
        spool.parent.mkdir()
    if create:
        spool.mkdir()
    found = check_spool(IvrConfig(voice_message_dir=str(spool), voice_message_dir_shared=shared))
    assert bool(found) is warned_of
    if warned_of:
        assert f"{spool} does not exist" in found["spool"]
        assert f"install -d -o asterisk -g asterisk -m 0750 {spool}" in found["spool"]


class Reactor(Clock):
    """Timers by hand; the database's thread results run when the test pumps them."""

    def __init__(self, pumped) -> None:
        super().__init__()
        self.callFromThread = pumped.callFromThread


def healthz(core, pumped_reactor) -> dict:
    from agents.web import make_root

    request = DummyRequest([b""])
    done = request.notifyFinish()
    make_root(core).getChildWithDefault(b"healthz", request).render(request)
    pumped_reactor.wait(done)
    return json.loads(b"".join(request.written))


def test_the_service_warns_at_start_and_on_healthz_until_the_operator_fixes_it(
        db_url, pumped_reactor, tmp_path):
    sounds, spool = tmp_path / "sounds", tmp_path / "spool" / "hotline"
    sounds.mkdir()
    spool.parent.mkdir()
    reactor = Reactor(pumped_reactor)
    config = Config(database=DatabaseConfig(url=db_url), ami=AmiConfig(enabled=False),
                    ivr=IvrConfig(sounds_dir=str(sounds), voice_message_dir=str(spool)))
    core = make_core(config, reactor)
    core.db.startService()
    check = AsteriskFilesCheck(core, warnings_of(core))
    try:
        with LogCapture() as logs:
            check.startService()
            pumped_reactor.pump(lambda: len(warnings_of(core)()) == 3)
        assert len(logs.at(LogLevel.warn)) == 3  # at start-up, each once
        lines = healthz(core, pumped_reactor)["warnings"]
        assert [line.split(":")[0] for line in lines] == ["ivr"] * 3
        assert any(f"prompts build --sounds {sounds}/hotline" in line for line in lines)
        assert any("`beep`" in line for line in lines)
        assert any(f"install -d -o asterisk -g asterisk -m 0750 {spool}" in line
                   for line in lines)

        built(sounds, *CATALOGUE)
        (sounds / "beep.wav").write_bytes(b"")
        spool.mkdir()
        with LogCapture() as logs:
            reactor.advance(CHECK_INTERVAL_S)
            pumped_reactor.pump(lambda: warnings_of(core)() == [])
        assert len([e for e in logs.at(LogLevel.info) if "Fixed" in str(e)]) == 3
        assert healthz(core, pumped_reactor)["warnings"] == []
    finally:
        check.stopService()
        core.db.stopService()


def test_nothing_is_checked_or_warned_where_asterisk_is_out_of_sight(db_url, pumped_reactor,
                                                                     tmp_path):
    config = Config(database=DatabaseConfig(url=db_url), ami=AmiConfig(enabled=False),
                    ivr=IvrConfig(voice_message_dir=str(tmp_path / "elsewhere" / "hotline")))
    core = make_core(config, Reactor(pumped_reactor))
    core.db.startService()
    check = AsteriskFilesCheck(core, warnings_of(core))
    try:
        with LogCapture() as logs:
            check.startService()
            pumped_reactor.wait(check.check())
        assert not logs.at(LogLevel.warn)
        assert healthz(core, pumped_reactor)["warnings"] == []
    finally:
        check.stopService()
        core.db.stopService()


def test_the_ivr_service_checks_and_its_flow_notes_into_the_one_healthz_entry(db_url):
    from ivr.service import make_registry, makeService

    core = make_core(Config(database=DatabaseConfig(url=db_url), ami=AmiConfig(enabled=False)),
                     Clock())
    registry = make_registry(core)
    tree = makeService(core, registry)
    assert [type(s) for s in tree if isinstance(s, AsteriskFilesCheck)] == [AsteriskFilesCheck]
    entry = core.warnings["ivr"]
    assert entry is warnings_of(core)
    assert registry.lookup("hotline")._warnings is entry


# A prompt that asks for keys, missing ---------------------------------------------------

@pytest.mark.parametrize("missing, script, step", [
    (P.MAIN_MENU, "_", "menu:prompt-missing"),
    (P.ENTER_CASE_NUMBER, "_ 4", "case-number:prompt-missing"),
])
def test_a_missing_prompt_that_asks_for_keys_sends_the_caller_to_the_agents(missing, script,
                                                                            step):
    """Asterisk's GET DATA reads no key when it cannot play the prompt: the caller, who
    heard nothing to answer, goes to an agent instead of a traceback and the apology."""
    backend = MemoryBackend()
    calls = flow(backend)
    sounds = {f"hotline/{p}": 16000 for p in P.USED if p != missing}
    with LogCapture() as logs:
        for _ in range(2):
            call = run_call(calls, script, citizen(sounds=sounds))
    assert not logs.failures()
    assert f"missing hotline/{missing}" in [str(h) for h in call.simulator.heard]
    assert played(call)[-1] == P.TRANSFER_AGENT and P.SORRY_TECHNICAL not in played(call)
    assert commands(call, "EXEC Queue") == [QUEUED]
    assert backend.record.path[-2:] == (step, "queue")
    assert backend.record.outcome is CallOutcome.TO_QUEUE
    (line,) = warned(logs, f"hotline/{missing}")
    assert "went to the agents" in logs.text() and "hotline prompts build --sounds" in logs.text()
