"""SIGTERM to a real service process in the middle of its work: it stops taking calls at
once, serves the call in progress to its end, waits for the SMSC's answers to what it sent
and for the OriginateResponse of the call it placed, gives back every lease it holds (the
messages are claimable at once, not when the lease runs out), unbinds from the SMSC, and
exits cleanly well within the stop bound (systemd's TimeoutStopSec)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import time
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from ivr.simulator.asterisk import CallSetup
from schemas.callbacks import AttemptResult, CallbackAttempt, CallbackState, CallbackTask
from schemas.calls import CallRecord
from schemas.enums import CallOutcome, SmsKind, SmsState
from schemas.sms import SmsMessage
from sms_gateway import outbox
from tests.scale.test_three_processes import Appeals
from tests.support.cluster import start_cluster
from tests.support.processes import wait_for

pytestmark = [
    pytest.mark.scale,
    pytest.mark.skipif(not os.environ.get("HOTLINE_TEST_PG_URL"),
                       reason="HOTLINE_TEST_PG_URL is not set (CI sets it)"),
]

LEASE_S = 120.0  # long: a lease left behind would keep its message for two minutes
STOP_BOUND_S = 45.0


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)



def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_sigterm_mid_batch_finishes_in_flight_work_and_gives_back_every_lease(tmp_path):
    config = {"sms": {"lease_s": LEASE_S, "binds": {"smsc": {"rate": 20.0, "window": 10}}},
              "callbacks": {"lease_s": LEASE_S, "originate_response_s": 30.0}}
    with start_cluster(tmp_path, 1, config=config, smsc_response_delay=0.5,
                       originate_delay=2.0) as cluster:
        cluster.wait_healthy(links=("ami", "smsc:smsc"))
        (process,) = cluster.processes
        db = cluster.db

        def enqueue_all(session):
            for n in range(200):
                outbox.enqueue(session, kind=SmsKind.TEST, destination=f"138{n:08d}",
                               text=f"停机测试 {n}", now=now())
        db.write_now(enqueue_all)
        Appeals(db).resolve_one()
        wait_for(lambda: db.read_now(lambda s: s.scalar(select(func.count()).select_from(
            CallbackTask).where(CallbackTask.state == CallbackState.DIALING))), 10,
            "the follow-up call to be dialled")
        wait_for(lambda: len(cluster.smsc.submits()) >= 20, 20, "the first SMS to go out")
        # A call in progress: the service has sent ANSWER and waits for Asterisk's reply.
        call = socket.create_connection(("127.0.0.1", process.agi_port), timeout=10)
        call.sendall(replace(CallSetup(), uniqueid="1795887564.99",
                             callerid="13912345678").header())
        lines = call.makefile("rb")
        assert lines.readline() == b"ANSWER\n"

        process.terminate()
        signalled = time.monotonic()
        wait_for(lambda: refused(process.agi_port), 5, "the FastAGI port to refuse new calls")
        call.sendall(b"200 result=0\n")  # the command in flight completes ...
        assert lines.readline().strip(), "the call in progress was not served after SIGTERM"
        call.shutdown(socket.SHUT_RDWR)  # ... and the caller hangs up
        lines.close()
        call.close()
        returncode = process.wait(STOP_BOUND_S)
        stopped_in = time.monotonic() - signalled

        log = process.log_text()
        leased = db.read_now(lambda s: s.scalar(select(func.count()).select_from(SmsMessage)
                                                 .where(SmsMessage.lease_owner.is_not(None))))
        states = dict(db.read_now(lambda s: s.execute(select(SmsMessage.state, func.count())
                                                       .group_by(SmsMessage.state)).all()))
        unanswered = db.read_now(lambda s: s.scalar(select(func.count()).select_from(
            CallbackAttempt).where(CallbackAttempt.result.is_(None))))
        results = db.read_now(lambda s: s.scalars(select(CallbackAttempt.result)).all())
        outcome = db.read_now(lambda s: s.scalar(select(CallRecord.outcome).where(
            CallRecord.asterisk_uniqueid == "1795887564.99")))
        claimable = db.write_now(outbox.claim_due, owner="next", now=now(),
                                 lease=dt.timedelta(seconds=60), limit=1000)
        unbinds = cluster.smsc.unbinds()
        submits = len(cluster.smsc.submits())

    # twistd ends by re-raising the signal after a clean shutdown; systemd counts that clean.
    assert returncode in (0, -signal.SIGTERM), log[-3000:]
    assert "Main loop terminated." in log and "Traceback" not in log, log[-3000:]
    assert stopped_in < 25, f"stop took {stopped_in:.1f}s"
    assert leased == 0, "leases left behind: another process would wait for them to run out"
    assert states.get(SmsState.QUEUED, 0) > 0, "everything was sent before the stop"
    assert len(claimable) == states[SmsState.QUEUED]  # every queued message, at once
    sent = states.get(SmsState.SUBMITTED, 0) + states.get(SmsState.DELIVERED, 0)
    assert sent == submits, "an SMS the SMSC accepted was not recorded as sent"
    assert [u["system_id"] for u in unbinds] == ["hotline1"]
    assert unanswered == 0 and results == [AttemptResult.ANSWERED]
    assert outcome is CallOutcome.ABANDONED  # recorded, at the step the caller left
