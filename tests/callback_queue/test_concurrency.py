"""Several dispatchers on one PostgreSQL: no task is claimed twice, and a trunk's limit of
calls in the air holds across them all."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from sqlalchemy import select
from twisted.internet import defer

from callback_queue import CallbackDispatcher
from callback_queue.config import CallbacksConfig
from callback_queue.policy import CallbackPolicy
from callback_queue.repository import CallbackRepository
from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine
from hotline.workdays import WorkCalendar
from schemas.callbacks import (
    CallbackAttempt,
    CallbackMode,
    CallbackOrigin,
    CallbackState,
    CallbackTask,
)
from tests.callback_queue.support import MONDAY_10, make_world
from tests.support.appeals import SHANGHAI, make_repository

PG = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def due_tasks(session, count, now=MONDAY_10):
    for n in range(count):
        session.add(CallbackTask(
            citizen_phone=f"139{n:08d}", origin=CallbackOrigin.RESOLUTION,
            mode=CallbackMode.AUTOMATED, state=CallbackState.PENDING, window_start=now,
            due_by=now + dt.timedelta(hours=24), next_attempt_at=now - dt.timedelta(seconds=n),
            attempts=0, max_attempts=3, resolved_at=now, created_at=now, updated_at=now))


def repository(**config):
    policy = CallbackPolicy(CallbacksConfig(**config), WorkCalendar(), SHANGHAI)
    return CallbackRepository(policy, make_repository())


@PG
def test_eight_claimers_on_two_engines_never_take_the_same_task(db_url):
    engines = [Database(make_engine(DatabaseConfig(url=db_url)), reactor=None, threads=4)
               for _ in range(2)]
    engines[0].write_now(due_tasks, 400)
    repo = repository(calls_per_trunk=500)
    claimed: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker(n):
        db = engines[n % 2]
        start.wait()
        while True:
            claims = db.write_now(repo.claim, owner=f"worker-{n}", now=MONDAY_10, trunk="trunk",
                                  limit=7)
            if not claims:
                return
            with lock:
                claimed.extend(c.task_id for c in claims)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(claimed) == 400 and len(set(claimed)) == 400
    attempts = engines[0].read_now(lambda s: Counter(s.scalars(select(CallbackAttempt.task_id))))
    assert set(attempts.values()) == {1}
    for db in engines:
        db.engine.dispose()


@PG
def test_trunk_limit_holds_across_concurrent_claimers(db_url):
    engines = [Database(make_engine(DatabaseConfig(url=db_url)), reactor=None, threads=4)
               for _ in range(2)]
    engines[0].write_now(due_tasks, 100)
    repo = repository(calls_per_trunk=10)
    start = threading.Barrier(6)
    claimed: list[int] = []
    lock = threading.Lock()

    def worker(n):
        start.wait()
        for _ in range(5):
            claims = engines[n % 2].write_now(repo.claim, owner=f"w{n}", now=MONDAY_10,
                                              trunk="trunk", limit=4)
            with lock:
                claimed.extend(c.task_id for c in claims)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(claimed) == 10 == len(set(claimed))
    for db in engines:
        db.engine.dispose()


@PG
def test_two_dispatcher_services_polling_together_dial_each_task_once(database, db_url, pumped_reactor):
    world = make_world(database, pumped_reactor, calls_per_trunk=50)
    database.write_now(due_tasks, 40)
    other_db = Database(make_engine(DatabaseConfig(url=db_url)), pumped_reactor, threads=4)
    other_db.startService()
    other = CallbackDispatcher(other_db, world.repo, world.ami, world.wall, world.clock,
                               world.repo.config, owner="other-dispatcher")
    try:
        for _ in range(3):
            both = defer.gatherResults([world.dispatcher.tick(), other.tick()])
            world.wait(both)
        world.endpoint.flush()
        world.settle()
        world.pump.wait(other.idle())
    finally:
        other_db.stopService()
    dialled = [o.getall("Variable")[0] for o in world.originates()]
    assert len(dialled) == 40 and len(set(dialled)) == 40
    owners = database.read_now(lambda s: Counter(s.scalars(select(CallbackAttempt.owner))))
    assert set(owners) == {"test-dispatcher", "other-dispatcher"}
    assert sum(owners.values()) == 40


@PG
def test_an_originate_result_waits_for_a_survey_answer_holding_the_task_without_deadlock(db_url):
    """The survey answer locks the task, then ends the attempt; the OriginateResponse for the
    same dial arrives in between. Both lock the task first, so the result simply waits: with
    the attempt locked first PostgreSQL found a deadlock and cancelled one of them (a rating
    lost under load, found by bench/mixed_load.py)."""
    from sqlalchemy import text

    from schemas.callbacks import AttemptResult

    engine = make_engine(DatabaseConfig(url=db_url))
    db = Database(engine, reactor=None, threads=2)
    db.write_now(due_tasks, 1)
    repo = repository(calls_per_trunk=5)
    [claim] = db.write_now(repo.claim, owner="w", now=MONDAY_10, trunk="trunk", limit=1)
    survey = engine.connect()
    survey_tx = survey.begin()
    survey.execute(text("SELECT id FROM callback_tasks WHERE id = :id FOR UPDATE"),
                   {"id": claim.task_id})
    outcome: dict[str, object] = {}

    def result():
        try:
            outcome["task"] = db.write_now(repo.originate_result, claim.attempt_id, "w",
                                           AttemptResult.ANSWERED, MONDAY_10)
        except Exception as error:  # the deadlock, if it comes back
            outcome["error"] = error

    writer = threading.Thread(target=result)
    writer.start()
    waiting = "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid " \
              "WHERE NOT l.granted AND a.datname = current_database()"
    for _ in range(500):
        if survey.execute(text(waiting)).scalar():
            break
        writer.join(0.01)
    else:
        pytest.fail("the result never waited for the task's lock")
    # The survey answer ends the attempt while it holds the task: this must not wait.
    survey.execute(text("SET LOCAL lock_timeout = '5s'"))
    survey.execute(text("UPDATE callback_attempts SET ended_at = now(), result = 'rated' "
                        "WHERE id = :id"), {"id": claim.attempt_id})
    survey_tx.commit()
    survey.close()
    writer.join(30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["task"].id == claim.task_id
    db.engine.dispose()
