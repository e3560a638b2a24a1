"""Three real service processes on one PostgreSQL share the work with no double work, and
one of them SIGKILLed in the middle loses nothing.

Scripted FastAGI calls go round robin to the three (a refused connection moves on to the
next, as `hagi://` does), 450 SMS wait in the outbox, and resolved appeals schedule their
follow-up calls while it runs. Then:
- every SMS reached the SMSC (its own record of submit_sm) at least once, and twice only
  if the killed process held its lease at the kill (the duplicate window: at most
  `[sms] max_in_flight` messages, resent only after their lease ran out);
- every follow-up call was originated (the AMI peer's record), and twice only if the killed
  process was dialling it (its lease still running at the kill), never before that lease
  ran out;
- every call that ended before the kill, or on a process that lived, has its call record
  with its outcome; calls cut by the kill are counted, not required.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

import callback_queue
from callback_queue.config import CallbacksConfig
from hotline.appeals import ResolveHook
from hotline.config import IvrConfig
from hotline.workdays import WorkCalendar
from schemas.callbacks import (
    AttemptResult,
    CallbackAttempt,
    CallbackOrigin,
    CallbackState,
    CallbackTask,
)
from schemas.calls import CallRecord
from schemas.enums import CallOutcome, SmsKind, SmsState
from schemas.sms import SmsMessage
from sms_gateway import outbox
from tests.support.appeals import SHANGHAI, add_unit, make_repository, new_appeal
from tests.support.cluster import process_config, start_cluster
from tests.support.processes import ROOT, wait_for

pytestmark = [
    pytest.mark.scale,
    pytest.mark.skipif(not os.environ.get("HOTLINE_TEST_PG_URL"),
                       reason="HOTLINE_TEST_PG_URL is not set (CI sets it)"),
]

MESSAGES = 450
APPEALS = 24
CALLS = 40
MAX_IN_FLIGHT = 40
SMS_LEASE_S = 5.0
CALLBACK_LEASE_S = 6.0
CONFIG = {
    "sms": {"lease_s": SMS_LEASE_S, "max_in_flight": MAX_IN_FLIGHT, "dispatch_batch": 20,
            "binds": {"smsc": {"rate": 20.0, "window": 10}}},
    "callbacks": {"lease_s": CALLBACK_LEASE_S, "originate_response_s": 5.0},
}


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)



class Appeals:
    """Resolves appeals from the test, with the callback queue's participant in the resolving
    transaction as in the service (the same [callbacks] configuration as the processes)."""

    def __init__(self, db) -> None:
        self.db = db
        hook = ResolveHook()
        self.repository = make_repository(hook)
        config = CallbacksConfig(**process_config(1, 0, 0, CONFIG)["callbacks"])
        ivr = IvrConfig(**process_config(1, 0, 0, CONFIG).get("ivr", {}))
        core = SimpleNamespace(config=SimpleNamespace(ivr=ivr),
            calendar=WorkCalendar(), zone=SHANGHAI, db=db, clock=None, reactor=None,
            appeals=SimpleNamespace(repository=self.repository))
        queue, _ = callback_queue.build(core, ami=None, config=config)
        hook.register(callback_queue.RESOLVE_PARTICIPANT, queue.repository.on_resolved)
        self.unit_id = db.write_now(add_unit)
        self.created = 0

    def resolve_one(self) -> None:
        n = self.created
        self.created += 1
        repo, at = self.repository, now()

        def work(session):
            appeal = repo.create(session, new_appeal(citizen_phone=f"137{n:08d}"),
                                 actor="agent:li", now=at)
            repo.assign(session, appeal.id, self.unit_id, actor="agent:li", now=at)
            repo.start(session, appeal.id, actor="agent:li", now=at)
            repo.resolve(session, appeal.id, "已处理完毕", actor="agent:li", now=at)
        self.db.write_now(work)


def sms_leases(session, owner_prefix: str) -> dict[int, dt.datetime]:
    rows = session.execute(select(SmsMessage.id, SmsMessage.lease_until).where(
        SmsMessage.state == SmsState.QUEUED, SmsMessage.lease_owner.like(owner_prefix + "%")))
    return dict(rows.all())


def dialling(session, pid: int) -> dict[int, dt.datetime]:
    rows = session.execute(select(CallbackTask.id, CallbackTask.lease_until).where(
        CallbackTask.state == CallbackState.DIALING,
        CallbackTask.lease_owner.like(f"%:{pid}:%")))
    return dict(rows.all())


def task_states(session) -> Counter:
    return Counter(dict(session.execute(
        select(CallbackTask.state, func.count()).group_by(CallbackTask.state)).all()))


def sms_states(session) -> Counter:
    """The test's own messages by state (calls that leave a voice message queue an appeal's
    SMS too, which quiet hours may hold back)."""
    return Counter(dict(session.execute(
        select(SmsMessage.state, func.count()).where(SmsMessage.kind == SmsKind.TEST)
        .group_by(SmsMessage.state)).all()))


def answered_tasks(session) -> set[int]:
    return set(session.scalars(select(CallbackAttempt.task_id).where(
        CallbackAttempt.result == AttemptResult.ANSWERED)))


def call_records(session) -> dict[str, tuple[CallOutcome, dt.datetime | None]]:
    return {r.asterisk_uniqueid: (r.outcome, r.ended_at) for r in session.scalars(select(CallRecord))}


def test_three_processes_share_calls_sms_and_callbacks_and_survive_a_sigkill(tmp_path):
    started = time.monotonic()
    with start_cluster(tmp_path, 3, config=CONFIG, originate_delay=1.5) as cluster:
        cluster.wait_healthy(links=("ami", "smsc:smsc"))
        print(f"cluster up in {time.monotonic() - started:.1f}s")
        db = cluster.db
        appeals = Appeals(db)

        def enqueue_all(session):
            for n in range(MESSAGES):
                outbox.enqueue(session, kind=SmsKind.TEST, destination=f"138{n:08d}",
                               text=f"集群测试短信 {n}", now=now())
        db.write_now(enqueue_all)
        calls_out = tmp_path / "calls.jsonl"
        driver = subprocess.Popen(
            [sys.executable, "-m", "tests.scale.callers", "--calls", str(CALLS),
             "--interval", "0.3", "--out", str(calls_out),
             "--ports", ",".join(str(p.agi_port) for p in cluster.processes)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        victim = None

        def every_process_took_a_call() -> bool:
            ended = [json.loads(line) for line in calls_out.read_text(encoding="utf-8")
                     .splitlines()] if calls_out.exists() else []
            return {c["port"] for c in ended} == {p.agi_port for p in cluster.processes}

        try:
            # Appeals resolved while everything runs; the kill once every process has taken
            # a call and a third of the SMS are out (or every appeal is in), of a process
            # that is dialling a follow-up call.
            killed_at = signalled_at = None
            while appeals.created < APPEALS or killed_at is None:
                if appeals.created < APPEALS:
                    appeals.resolve_one()
                if killed_at is None and every_process_took_a_call() and (
                        len(cluster.smsc.submits()) >= MESSAGES // 3
                        or appeals.created == APPEALS):
                    victim = next((p for p in cluster.processes
                                   if db.read_now(dialling, p.process.pid)), None)
                if victim is not None and killed_at is None:
                    # A call ended before the signal ended cleanly; one the caller saw end
                    # after it may have been cut. The caller stamps its end in its own process
                    # as soon as the socket closes, which can come before this process wakes
                    # from the kill: the time is taken before the signal, not after.
                    signalled_at = time.time()
                    victim.kill()
                    killed_at = time.time()
                    held_sms = db.read_now(sms_leases, f"{victim.name}:")
                    held_calls = db.read_now(dialling, victim.process.pid)
                assert time.monotonic() - started < 60, (
                    f"no moment to kill the victim came: {len(cluster.smsc.submits())} SMS "
                    f"submitted, tasks {db.read_now(task_states)}, "
                    f"{len(cluster.ami.originates())} originated")
                time.sleep(0.15)

            wait_for(lambda: db.read_now(sms_states)[SmsState.QUEUED] == 0, 30,
                     "every SMS to leave the outbox")
            wait_for(lambda: len(db.read_now(answered_tasks)) == APPEALS, 30,
                     "every follow-up call to be answered")
            output, _ = driver.communicate(timeout=30)
            assert output.strip().endswith("done"), output
        finally:
            if driver.poll() is None:
                driver.kill()
        states = db.read_now(sms_states)
        submits = cluster.smsc.submits()
        originates = cluster.ami.originates()
        records = db.read_now(call_records)
        tasks = db.read_now(lambda s: set(s.scalars(select(CallbackTask.id).where(
            CallbackTask.origin == CallbackOrigin.RESOLUTION))))
        ids_by_text = dict(db.read_now(lambda s: s.execute(select(SmsMessage.text, SmsMessage.id)
                                                            .where(SmsMessage.kind == SmsKind.TEST)).all()))

    # SMS: all out, and twice only within the killed process's leases, after they ran out.
    assert states[SmsState.FAILED] == 0 and states[SmsState.QUEUED] == 0, states
    sent = defaultdict(list)
    for submit in submits:
        if submit["text"] not in ids_by_text:
            continue  # an appeal's own SMS (a voice message left by a call)
        sent[ids_by_text[submit["text"]]].append(submit["t"])
    assert set(sent) == set(ids_by_text.values()), "some SMS never reached the SMSC"
    assert {s["system_id"] for s in submits} == {"hotline1", "hotline2", "hotline3"}, \
        "the SMS were not shared by the three processes"
    twice = {message for message, times in sent.items() if len(times) > 1}
    assert 0 < len(held_sms) <= MAX_IN_FLIGHT, "the victim held no SMS lease: not killed mid-batch"
    assert twice <= set(held_sms), f"resent outside the killed process's leases: {twice - set(held_sms)}"
    for message in twice:
        assert len(sent[message]) == 2
        assert max(sent[message]) >= held_sms[message].timestamp() - 0.05, \
            f"SMS {message} resent before its lease ran out"

    # Callbacks: each originated, twice only if the victim was dialling it, after its lease.
    dialled = defaultdict(list)
    for originate in originates:
        dialled[int(originate["variables"]["TASK_ID"])].append(originate["t"])
    assert set(dialled) == set(tasks), "some follow-up calls were never placed"
    again = {task for task, times in dialled.items() if len(times) > 1}
    assert again <= set(held_calls), f"dialled twice outside the victim's leases: {again - set(held_calls)}"
    for task_id in again:
        assert len(dialled[task_id]) == 2
        assert max(dialled[task_id]) >= held_calls[task_id].timestamp() - 0.05

    # Calls: every call that ended before the kill, or on a live process, is recorded.
    calls = [json.loads(line) for line in calls_out.read_text(encoding="utf-8").splitlines()]
    assert len(calls) == CALLS and all(c["port"] is not None for c in calls), calls
    ports = {p.agi_port for p in cluster.processes}
    assert {c["port"] for c in calls} == ports, "the calls did not reach every process"
    cut = [c for c in calls if c["port"] == victim.agi_port and c["ended"] >= signalled_at]
    for call in calls:
        if call in cut:
            continue
        outcome, ended_at = records.get(call["uniqueid"], (None, None))
        assert outcome not in (None, CallOutcome.IN_PROGRESS) and ended_at is not None, \
            f"call {call['n']} on port {call['port']} has no closed record: {outcome}"
    after_kill = [c for c in calls if c["started"] > killed_at + 0.5]
    assert after_kill and all(c["port"] != victim.agi_port for c in after_kill)
    assert time.monotonic() - started < 90
    print(f"scale: {len(twice)} SMS resent of {len(held_sms)} leased by the victim; "
          f"{len(again)} callbacks redialled of {len(held_calls)}; {len(cut)} calls cut; "
          f"{time.monotonic() - started:.1f}s")
