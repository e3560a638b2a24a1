"""`python demo_app.py --seconds N` (`hotline demo`): the service with simulated traffic
answers /healthz while it runs, prints a demo login, records calls, and stops by itself."""

import json
import sqlite3
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.support.processes import ROOT, service_environment, wait_for_ports


@pytest.mark.slow
def test_demo_runs_traffic_prints_a_login_and_stops_by_itself(tmp_path):
    database = tmp_path / "demo.sqlite3"
    ports_file = tmp_path / "ports.json"
    env = service_environment(ports_file, HOTLINE_DATABASE_URL=f"sqlite:///{database}",
                              HOTLINE_CONFIG="", HOTLINE_AMI_PORT="0",
                              # callers nobody takes within 3 s leave a voice message
                              HOTLINE_IVR_QUEUE_TIMEOUT_S="3")
    for name in ("HOTLINE_IVR_OPENING_TIME", "HOTLINE_IVR_CLOSING_TIME",
                 "HOTLINE_IVR_OPEN_ON_HOLIDAYS", "HOTLINE_AMI_SECRET", "HOTLINE_AMI_ENABLED"):
        env.pop(name, None)
    process = subprocess.Popen([sys.executable, "demo_app.py", "--seconds", "8",
                                "--interval", "1"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    health = []
    try:
        web = f"http://127.0.0.1:{wait_for_ports(ports_file, process, ('web',))['web']}/healthz"
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(web, timeout=2) as response:
                    health.append((response.status, json.loads(response.read())))
            except OSError:
                pass
            time.sleep(0.3)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    assert "demo login (agent): demo / " in output, output
    assert "demo login (supervisor): demo_sup / " in output, output
    assert "demo login (admin): demo_admin / " in output, output
    assert "demo login (unit_officer): ls_officer / " in output, output
    # A month of the hall's work behind the live traffic: work orders accepted and still
    # at the units, and callbacks answered with a rating.
    assert "a month of history: " in output, output
    assert "Traceback" not in output, output
    assert health, f"/healthz never answered while the demo ran\n{output}"
    assert any(status == 200 and body.get("status") == "ok" for status, body in health), health
    # The service's AMI link logged in to the demo's AMI peer simulator.
    assert any(body.get("links", {}).get("ami", {}).get("up") for _, body in health), health
    with sqlite3.connect(database) as connection:
        # The demo's own calls, apart from the month of history written before it starts.
        calls = connection.execute("select count(*) from call_records where process is null "
                                   "or process != 'demo-history'").fetchone()[0]
        history = dict(connection.execute(
            "select status, count(*) from work_orders group by status").fetchall())
        rated = connection.execute("select count(*) from callback_tasks where outcome = "
                                   "'rated'").fetchone()[0]
        appeals = connection.execute("select count(*) from appeals").fetchone()[0]
        # The hall came alive: queued callers' passages and the members, as recorded from
        # the AMI simulator's events by the service's live recorder.
        passages = dict(connection.execute(
            "select outcome, count(*) from queue_calls group by outcome").fetchall())
        members = dict(connection.execute("select interface, state from queue_members"))
        outcomes = dict(connection.execute(
            "select outcome, count(*) from call_records group by outcome").fetchall())
        messages = connection.execute("select count(*) from appeals where channel = "
                                      "'voice_message'").fetchone()[0]
        notes = connection.execute("select count(*) from audit_events where action = 'note' "
                                   "and note like '语音留言%'").fetchone()[0]
    assert calls >= 1, output
    assert history.get("accepted", 0) >= 50 and history.get("signed", 0) + history.get(
        "dispatched", 0) + history.get("replied", 0) >= 1, history
    assert rated >= 20, rated
    assert appeals >= 5, output
    # The queue holds each caller as Asterisk's does: a colleague takes the first calls
    # (the demo agent is not logged in), and a caller nobody takes before the queue's
    # timeout leaves a voice message that says something: an appeal of its own, or a note
    # on the caller's open one. Those still waiting when the demo stops hang up.
    assert "queued: connected; the agent hangs up first" in output, output
    assert passages.get("completed", 0) >= 1 and passages.get("abandoned", 0) >= 1, passages
    assert "left a voice message" in output, output
    assert outcomes.get("message_left", 0) >= 1 and "message_empty" not in outcomes, outcomes
    assert messages + notes >= 1, (messages, notes)
    assert set(passages) <= {"waiting", "answered", "completed", "abandoned", "left"}, passages
    if "reached the queue" in output:  # each queued caller joins the simulator's queue
        assert sum(passages.values()) >= 1, output
        assert members.get("PJSIP/1002") in {"available", "on_call", "wrap_up"}, members
