"""bench/ivr_bench.py labels each gap by the command that ended it, in the order the flow
sends them (FLOW_ORDER): the labels name what the flow sends on the benchmark's path today,
the unit by Playback and the date with the service's own prompts (no SAY DATE), and a
command reads the same from the service as from the pyst2 baseline, which quotes it."""

from __future__ import annotations

import importlib.util

import pytest

from hotline.config import PROJECT_DIR
from ivr.simulator import CallSetup
from tests.ivr.helpers import run_call
from tests.ivr.test_hotline_flow import MemoryBackend, make_flow


def bench():
    spec = importlib.util.spec_from_file_location("ivr_bench",
                                                  PROJECT_DIR / "bench" / "ivr_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("case", ["2026112000001", "2026112500003"])  # resolved, assigned
def test_the_labels_name_every_command_of_the_benchmarks_path_in_order(case):
    ivr_bench = bench()
    backend = MemoryBackend()
    # The benchmark's caller: a number with no appeal, silent at the greeting, 4, the number.
    call = run_call(make_flow(backend), f"_ 4 {case}#",
                    CallSetup(callerid="13900000001", queue_status=""), marks_done=True)
    keys = [ivr_bench.command_key(line.encode()) for line in call.all_commands()]
    assert set(keys) <= set(ivr_bench.FLOW_ORDER), set(keys) - set(ivr_bench.FLOW_ORDER)
    first_seen = list(dict.fromkeys(keys))
    assert first_seen == [k for k in ivr_bench.FLOW_ORDER if k in first_seen]
    assert "SAY DATE" not in ivr_bench.FLOW_ORDER


@pytest.mark.parametrize("service, baseline, key", [
    ("EXEC Playback hotline/unit-bench00", 'EXEC Playback "hotline/unit-bench00"',
     "EXEC Playback unit-*"),
    ("GET VARIABLE PLAYBACKSTATUS", 'GET VARIABLE "PLAYBACKSTATUS"',
     "GET VARIABLE PLAYBACKSTATUS"),
    ('STREAM FILE hotline/date-day-20 "0"', 'STREAM FILE hotline/date-day-20 "0" 0',
     "STREAM FILE date-day-*"),
    ('STREAM FILE hotline/date-year "0"', 'STREAM FILE hotline/date-year "0" 0',
     "STREAM FILE date-year"),
])
def test_a_command_reads_the_same_from_the_service_and_the_baseline(service, baseline, key):
    ivr_bench = bench()
    assert ivr_bench.command_key(service.encode()) == key
    assert ivr_bench.command_key(baseline.encode()) == key
