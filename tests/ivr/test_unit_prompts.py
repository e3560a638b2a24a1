"""Unit prompts (`hotline/unit-<code>`): made by `hotline prompts build` from the units
table, rebuilt when a unit's name changes; and a progress query whose unit has no prompt
still ends well: the flow says the rest another way, Asterisk's AGI does not end FAILURE,
and the log says once what to run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from twisted.logger import LogLevel

from hotline.reference_data import load_units
from ivr.flows import prompts as P
from ivr.prompts import (
    PromptCatalogError,
    parse_catalog,
    prompt_ids,
    unit_prompt_id,
    unit_prompts,
)
from ivr.prompts.builder import MANIFEST
from schemas.enums import CallOutcome
from tests.ivr.helpers import LogCapture, run_call
from tests.ivr.test_hotline_flow import MemoryBackend, citizen, make_flow, played

HOTLINE = os.path.join(os.path.dirname(sys.executable), "hotline")
ASSIGNED_TO_PS_LS = "_ 4 2026112500003# _"  # APPEALS in test_hotline_flow: assigned to PS-LS
SMALL_CATALOGUE = '[[prompt]]\nid = "thanks-goodbye"\nzh = "再见。"\nen = "Goodbye."\n'
needs_tools = pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("sox") is None,
                                 reason="espeak-ng and sox are not installed")


def test_a_units_prompt_id_is_its_code_in_lower_case_and_never_shared():
    assert unit_prompt_id("PS-LS") == "unit-ps-ls"
    assert unit_prompt_id("JJ-1") == "unit-jj-1"
    odd = {unit_prompt_id(code) for code in ("PS_LS", "ps ls", "兰山", "PS-LS")}
    assert len(odd) == 4
    for prompt in unit_prompts([("PS_LS", "兰山派出所"), ("兰山", "兰山派出所"), ("X", "  ")]):
        parse_catalog(f'[[prompt]]\nid = "x-{prompt.id}"\nzh = "{prompt.zh}"\nen = "e"\n')
    assert [p.zh for p in unit_prompts([("PS-LS", "兰山 派出所")])] == ["兰山 派出所"]


def test_the_catalogue_may_not_take_an_id_of_the_units():
    with pytest.raises(PromptCatalogError, match="ids starting 'unit-' are the units' names"):
        parse_catalog('[[prompt]]\nid = "unit-hall"\nzh = "大厅"\nen = "hall"\n', "c.toml")
    assert not any(prompt_id.startswith("unit-") for prompt_id in prompt_ids())


def hotline(db_url, *args):
    environment = dict(os.environ, HOTLINE_DATABASE_URL=db_url, HOTLINE_CONFIG="")
    return subprocess.run([HOTLINE, *args], env=environment, capture_output=True, text=True,
                          timeout=120)


@needs_tools
def test_prompts_build_makes_every_units_name_and_rebuilds_a_renamed_one(database, db_url,
                                                                         tmp_path):
    units = tmp_path / "units.toml"
    units.write_text('[[unit]]\ncode = "PS-LS"\nname = "兰山派出所"\nkind = "station"\n'
                     '[[unit]]\ncode = "JJ-1"\nname = "交警一大队"\nkind = "squad"\n', "utf-8")
    database.write_now(load_units, units)
    catalogue = tmp_path / "catalog.toml"
    catalogue.write_text(SMALL_CATALOGUE, "utf-8")
    sounds = tmp_path / "sounds"
    build = ("prompts", "build", "--sounds", str(sounds), "--catalogue", str(catalogue))

    first = hotline(db_url, *build)
    assert first.returncode == 0, first.stderr
    assert "3 built" in first.stdout and "2 units' names among them" in first.stdout
    assert {p.name for p in sounds.glob("*.wav")} == {"thanks-goodbye.wav", "unit-ps-ls.wav",
                                                      "unit-jj-1.wav"}
    assert set(json.loads((sounds / MANIFEST).read_text("utf-8"))) == {
        "thanks-goodbye", "unit-ps-ls", "unit-jj-1"}

    units.write_text('[[unit]]\ncode = "PS-LS"\nname = "兰山区派出所"\nkind = "station"\n',
                     "utf-8")
    database.write_now(load_units, units)
    again = hotline(db_url, *build)
    assert again.returncode == 0, again.stderr
    assert "1 built, 2 up to date" in again.stdout


@needs_tools
def test_prompts_build_without_units_needs_no_database(tmp_path):
    catalogue = tmp_path / "catalog.toml"
    catalogue.write_text(SMALL_CATALOGUE, "utf-8")
    nowhere = f"sqlite:///{tmp_path}/no/such/dir/hotline.sqlite3"
    built = hotline(nowhere, "prompts", "build", "--no-units", "--catalogue", str(catalogue),
                    "--sounds", str(tmp_path / "sounds"))
    assert built.returncode == 0, built.stderr
    assert "1 built" in built.stdout and "units" not in built.stdout
    assert [p.name for p in (tmp_path / "sounds").glob("*.wav")] == ["thanks-goodbye.wav"]


def sounds_without(*missing: str) -> dict[str, int]:
    every = [*P.USED, unit_prompt_id("PS-LS")]
    return {f"hotline/{p}": 16000 for p in every if p not in missing}


def test_an_assigned_appeal_names_its_unit_from_the_units_prompt():
    backend = MemoryBackend()
    call = run_call(make_flow(backend), ASSIGNED_TO_PS_LS, citizen(sounds=sounds_without()))
    assert "EXEC Playback hotline/unit-ps-ls" in call.commands()
    assert played(call)[-4:-2] == [P.STATUS_ASSIGNED, "unit-ps-ls"]
    assert P.UNIT_UNNAMED not in played(call)
    assert call.simulator.agistatus == "HANGUP"  # ended by the flow's own HANGUP


def test_a_missing_unit_prompt_is_said_another_way_and_the_call_goes_on():
    backend = MemoryBackend()
    with LogCapture() as logs:
        call = run_call(make_flow(backend), ASSIGNED_TO_PS_LS,
                        citizen(sounds=sounds_without("unit-ps-ls")))
    assert played(call)[-4:-1] == [P.STATUS_ASSIGNED, P.UNIT_UNNAMED, P.PROGRESS_MORE]
    assert backend.record.outcome is CallOutcome.QUERY_ANSWERED
    assert call.commands()[-1] == "HANGUP"
    # Playback skips a file it cannot open; a STREAM FILE of it would end the AGI FAILURE
    assert call.simulator.agistatus == "HANGUP"  # ended by the flow's own HANGUP
    warnings = [e for e in logs.at(LogLevel.warn) if "hotline/unit-ps-ls" in str(e)]
    assert len(warnings) == 1 and "hotline prompts build" in logs.text()


def test_a_missing_prompt_is_logged_once_with_its_fix_however_many_calls_miss_it():
    backend = MemoryBackend()
    flow = make_flow(backend)
    with LogCapture() as logs:
        for _ in range(3):
            run_call(flow, "1", citizen(sounds=sounds_without(P.GREETING)))
    lines = [line for line in logs.text().splitlines() if "hotline/greeting" in line]
    assert len(lines) == 1
    assert "hotline prompts build --sounds" in lines[0] and "skipped it" in lines[0]


def test_the_simulator_fails_the_agi_for_a_missing_stream_file_as_asterisk_does():
    """res_agi.c: `200 result=-1 endpos=0`, RESULT_FAILURE, the AGI goes on and ends FAILURE;
    Playback of the same file only sets PLAYBACKSTATUS=FAILED."""
    from twisted.internet.testing import StringTransport

    from ivr.simulator import AsteriskCallSimulator, CallSetup

    def ask(simulator, transport, line):
        transport.clear()
        simulator.dataReceived(line.encode() + b"\n")
        return transport.value().decode()

    played_back = AsteriskCallSimulator(CallSetup(sounds={"beep": 8000}))
    transport = StringTransport()
    played_back.makeConnection(transport)
    assert ask(played_back, transport, "EXEC Playback nosuchfile") == "200 result=0\n"
    assert ask(played_back, transport, "GET VARIABLE PLAYBACKSTATUS") == "200 result=1 (FAILED)\n"
    assert ask(played_back, transport, "STREAM FILE beep \"\"") == "200 result=0 endpos=8000\n"
    assert ask(played_back, transport, "GET VARIABLE PLAYBACKSTATUS") == "200 result=1 (SUCCESS)\n"
    assert played_back.agistatus == "SUCCESS"
    assert ask(played_back, transport, "STREAM FILE nosuchfile \"\"") == "200 result=-1 endpos=0\n"
    assert ask(played_back, transport, "CHANNEL STATUS") == "200 result=6\n"
    assert played_back.agistatus == "FAILURE"
    played_back.caller_hangs_up()
    assert played_back.agistatus == "FAILURE"
