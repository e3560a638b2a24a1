"""`hotline units load` rebuilds the units' names as IVR prompts (`unit-<code>`) where it
can: `[ivr] sounds_dir` set and espeak-ng and sox installed; otherwise it says in one line
what to run. Through the real `hotline` command, as an operator types it."""

from __future__ import annotations

import os

import pytest

from tests.ivr.test_unit_prompts import HOTLINE, needs_tools

UNITS = ('[[unit]]\ncode = "PS-LS"\nname = "兰山派出所"\nkind = "station"\n'
         '[[unit]]\ncode = "JJ-1"\nname = "交警一大队"\nkind = "squad"\n')


def hotline(db_url, *args, **environment):
    import subprocess

    env = dict(os.environ, HOTLINE_DATABASE_URL=db_url, HOTLINE_CONFIG="", **environment)
    return subprocess.run([HOTLINE, *args], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def units(tmp_path):
    path = tmp_path / "units.toml"
    path.write_text(UNITS, "utf-8")
    return path


@needs_tools
def test_units_load_builds_the_units_prompts_into_the_sounds_dir(database, db_url, units,
                                                                 tmp_path):
    sounds = tmp_path / "asterisk-sounds"
    loaded = hotline(db_url, "units", "load", str(units), HOTLINE_IVR_SOUNDS_DIR=str(sounds))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines() == [
        "units: 2 added, 0 updated",
        f"unit prompts: 2 built, 0 up to date, 0 site recordings kept, in {sounds}/hotline "
        "(2 units)"]
    assert sorted(p.name for p in (sounds / "hotline").glob("*.wav")) == [
        "unit-jj-1.wav", "unit-ps-ls.wav"]

    units.write_text(UNITS.replace("兰山派出所", "兰山区派出所"), "utf-8")
    again = hotline(db_url, "units", "load", str(units), HOTLINE_IVR_SOUNDS_DIR=str(sounds))
    assert again.returncode == 0, again.stderr
    assert "unit prompts: 1 built, 1 up to date" in again.stdout  # the renamed one


def test_units_load_without_a_sounds_dir_says_in_one_line_what_to_run(database, db_url,
                                                                      units):
    loaded = hotline(db_url, "units", "load", str(units))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines() == [
        "units: 2 added, 0 updated",
        "unit prompts: not built, [ivr] sounds_dir is not set: where Asterisk's sounds are, "
        "run `hotline prompts build --sounds <Asterisk's sounds directory>/hotline`"]


def test_units_load_without_espeak_or_sox_says_in_one_line_what_to_run(database, db_url,
                                                                       units, tmp_path):
    sounds = tmp_path / "asterisk-sounds"
    loaded = hotline(db_url, "units", "load", str(units), HOTLINE_IVR_SOUNDS_DIR=str(sounds),
                     PATH=str(tmp_path / "no-tools-here"))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines()[1:] == [
        "unit prompts: not built, espeak-ng and sox not installed: apt-get install espeak-ng "
        "sox, then run `hotline prompts build`"]
    assert not sounds.exists()


def test_units_load_can_leave_the_prompts_alone(database, db_url, units, tmp_path):
    sounds = tmp_path / "asterisk-sounds"
    loaded = hotline(db_url, "units", "load", "--no-prompts", str(units),
                     HOTLINE_IVR_SOUNDS_DIR=str(sounds))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines() == ["units: 2 added, 0 updated"]
    assert not sounds.exists()


def test_prompts_build_with_a_tool_missing_says_so_without_a_traceback(tmp_path):
    built = hotline(f"sqlite:///{tmp_path}/none.sqlite3", "prompts", "build", "--no-units",
                    "--sounds", str(tmp_path / "s"), PATH=str(tmp_path / "no-tools-here"))
    assert built.returncode == 1
    assert built.stderr.strip() == ("hotline: espeak-ng is not installed: apt-get install "
                                    "espeak-ng sox")
