"""bench/mixed_load.py end to end for a few seconds on one real service process: calls go
through the IVR, the SMS reach the SMSC simulator, the resolved appeals' callbacks are placed
through AMI and completed by the survey, and after draining nothing is lost or done twice."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.postgres
def test_mixed_load_on_one_process_completes_everything_once(tmp_path):
    if not PG_URL:
        pytest.skip("HOTLINE_TEST_PG_URL is not set (CI sets it)")
    figures = tmp_path / "figures.json"
    run = subprocess.run(
        [sys.executable, "bench/mixed_load.py", "--processes", "1", "--duration", "3",
         "--warmup", "1", "--callers", "5", "--sms-rate", "20", "--callback-rate", "3",
         "--callback-poll", "0.5", "--ring", "0.2", "--drain", "60", "--json", str(figures)],
        cwd=ROOT, capture_output=True, text=True, timeout=110)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    [row] = json.loads(figures.read_text(encoding="utf-8"))
    assert row["processes"] == 1 and row["alive"] and row["drained"]
    assert row["calls"] > 0 and row["sms_queued"] > 0 and row["callbacks_resolved"] > 0
    assert row["surveys_completed"] == row["callbacks_resolved"]
    assert (row["sms_duplicates"], row["sms_lost"]) == (0, 0)
    assert (row["callback_duplicates"], row["callback_lost"]) == (0, 0)
    assert row["tracebacks"] == 0
    assert "| processes | calls/s |" in run.stdout
