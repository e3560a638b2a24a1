"""The JSON API, fuzzed from its own OpenAPI document: schemathesis reads /api/openapi.json
from the real service and runs every phase (the document's examples, the coverage of each
bound, fuzzing, and create-then-read sequences), sending what the document allows and
what it forbids: days in year 1 and 9999, numbers and strings past every bound, wrong
types, missing, blank and repeated parameters, no token. Every check passes: no 500, no
undocumented status or content type, every body valid against its schema, every request
the document forbids refused and every one it allows accepted (`schemathesis.toml` beside
this file names the two refusals no schema can foresee).

Deterministic (no random seed, no example database) and bounded: at most `EXAMPLES`
examples per operation and phase, one worker, against a service process of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.agents.running import API_TOKEN, running_service

# The fuzzing run is one long subprocess (its own limit: 300 s); the suite's 120 s per test
# cut it short on a loaded machine (seen: a CI run sharing two cores with other work).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(360)]

EXAMPLES = 60  # about 700 requests in all: some 15 s
CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with running_service(tmp_path_factory.mktemp("openapi")) as running:
        yield running


def test_every_answer_of_the_api_is_one_its_document_describes(service, tmp_path):
    run = subprocess.run(
        [SCHEMATHESIS, "--config-file", str(CONFIG), "run", f"{service.base}/api/openapi.json",
         "--header", f"Authorization: Bearer {API_TOKEN}", "--checks", "all",
         "--max-examples", str(EXAMPLES), "--generation-deterministic", "--workers", "1",
         "--request-timeout", "10", "--no-color"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    # Any failed check, or an error reaching the service, is a non-zero exit with the cases
    # (each with its curl command to reproduce it) in the output.
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
