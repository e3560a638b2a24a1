"""Migration 0013 fills the no-call-placed flags from what earlier rows already say: an
agent's attempt without a channel id never went through Asterisk, and a task that attempt
completed was reached without a call."""

from __future__ import annotations

from sqlalchemy import text

from hotline.config import DatabaseConfig
from hotline.db import make_engine, upgrade

AT = "2026-11-30 02:00:00+00:00"


def insert_task(connection, task_id: int, state: str, attempts: int) -> None:
    connection.execute(text(
        "INSERT INTO callback_tasks (id, citizen_phone, origin, mode, state, window_start, "
        "due_by, next_attempt_at, attempts, max_attempts, created_at, updated_at) VALUES "
        "(:id, '13812345678', 'resolution', 'agent', :state, :at, :at, :at, :attempts, 3, "
        ":at, :at)"), {"id": task_id, "state": state, "attempts": attempts, "at": AT})


def insert_attempt(connection, task_id: int, number: int, result: str, *, agent: bool,
                   channel: str | None) -> None:
    connection.execute(text(
        "INSERT INTO callback_attempts (task_id, number, owner, agent_id, channel_id, "
        "started_at, ended_at, result) VALUES (:task, :number, :owner, :agent, :channel, :at, "
        ":at, :result)"), {"task": task_id, "number": number, "channel": channel, "at": AT,
                           "result": result, "agent": 7 if agent else None,
                           "owner": "agent:7" if agent else "hotline:x"})


def test_0013_marks_earlier_agent_outcomes_without_a_call(db_url):
    from alembic import command

    from hotline.db import alembic_config

    engine = make_engine(DatabaseConfig(url=db_url))
    try:
        command.downgrade(alembic_config(engine), "0012")
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO agents (id, username, display_name, role, active, created_at) "
                "VALUES (7, 'li', 'li', 'agent', :yes, :at)"), {"yes": True, "at": AT})
            insert_task(connection, 1, "completed", 1)  # reached, recorded at the desk
            insert_attempt(connection, 1, 1, "agent_reached", agent=True, channel=None)
            insert_task(connection, 2, "completed", 1)  # reached through click-to-call
            insert_attempt(connection, 2, 1, "agent_reached", agent=True, channel="callback-2-1-x")
            insert_task(connection, 3, "pending", 1)  # not reached, recorded at the desk
            insert_attempt(connection, 3, 1, "agent_not_reached", agent=True, channel=None)
            insert_task(connection, 4, "completed", 1)  # the dispatcher's survey
            insert_attempt(connection, 4, 1, "answered", agent=False, channel="callback-4-1-y")
        upgrade(engine)
        with engine.connect() as connection:
            tasks = dict(connection.execute(text(
                "SELECT id, reached_without_call FROM callback_tasks ORDER BY id")).all())
            placed = dict(connection.execute(text(
                "SELECT task_id, call_placed FROM callback_attempts ORDER BY task_id")).all())
        assert {k: bool(v) for k, v in tasks.items()} == {1: True, 2: False, 3: False, 4: False}
        assert {k: bool(v) for k, v in placed.items()} == {1: False, 2: True, 3: False, 4: True}
    finally:
        upgrade(engine)  # the shared database stays at head whatever happened
        engine.dispose()
