"""Recordings made as Asterisk makes them, by the simulators, on the test database: an agent's
call through the real IVR flow and backend (the FastAGI simulator's queue records it as
queues.conf monitor-format does), a callback's attempt (the AMI simulator records the
dialplan's MixMonitor) and a voice message (RECORD FILE)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from twisted.internet.task import Clock

from hotline.appeals import AppealService
from hotline.config import IvrConfig
from hotline.workdays import WorkCalendar
from ivr import call_records
from ivr.backend import HotlineBackend
from ivr.flows.hotline import HotlineFlow
from ivr.hours import ServiceHours
from ivr.simulator import CallSetup
from schemas.callbacks import (
    CallbackAttempt,
    CallbackMode,
    CallbackOrigin,
    CallbackState,
    CallbackTask,
)
from schemas.enums import AppealKind, CallOutcome
from schemas.models import Appeal
from tests.ivr.helpers import pump, run_call
from tests.support.appeals import SHANGHAI, make_repository, new_appeal, utc

CITIZEN = "13812345678"
DAY = utc(2026, 11, 27, 2, 0)  # Friday 10:00 in Shanghai: the hall is open
NIGHT = utc(2026, 11, 27, 14, 0)  # Friday 22:00: after hours, a voice message
REPO = make_repository()


class FixedClock:
    def __init__(self, now: dt.datetime) -> None:
        self.at = now

    def now(self) -> dt.datetime:
        return self.at


def ivr_call(database, pumped_reactor, *, call_id: str, script: str, setup: CallSetup,
             spool: str, now: dt.datetime):
    """One call through the real flow and backend; returns its call record."""
    clock = Clock()
    wall = FixedClock(now)
    appeals = AppealService(database, REPO, wall)
    backend = HotlineBackend(database, appeals, wall, clock, timeout_s=30)
    ivr = IvrConfig(voice_message_dir=spool)
    flow = HotlineFlow(backend, ServiceHours(ivr, WorkCalendar(), SHANGHAI), ivr, "hotline",
                       new_call_id=lambda: call_id)
    call = run_call(flow, script, setup, clock=clock)

    def recorded():
        pump(call)
        record = database.read_now(call_records.get_call, call_id)
        return record is not None and record.outcome is not CallOutcome.IN_PROGRESS and \
            call.server_transport.disconnecting

    pumped_reactor.pump(recorded)
    return call, database.read_now(call_records.get_call, call_id)


def agent_call(database, pumped_reactor, recordings: Path, call_id: str = "c0ffee01"):
    """A complaint call an agent takes: the dialplan's MONITOR_FILENAME, the queue's record."""
    setup = CallSetup(callerid=CITIZEN, queue_status="", monitor_format="wav",
                      write_recordings=True, queue_talk_s=2.5,
                      variables={"MONITOR_FILENAME": f"{recordings}/call-^{{HOTLINE_CALL_ID}}"})
    return ivr_call(database, pumped_reactor, call_id=call_id, script="_ 3", setup=setup,
                    spool=str(recordings.parent / "spool"), now=DAY)


def voice_message(database, pumped_reactor, spool: Path, call_id: str = "b0a710ad"):
    setup = CallSetup(callerid="13900001111", speech_s=3.0, write_recordings=True)
    return ivr_call(database, pumped_reactor, call_id=call_id, script="1H", setup=setup,
                    spool=str(spool), now=NIGHT)


def appeal_from_call(database, call_id: str, agent_id: int | None = None,
                     kind: AppealKind = AppealKind.COMPLAINT) -> int:
    """The appeal the agent writes during the call (the terminal sets its call id)."""
    def create(session):
        appeal = REPO.create(session, new_appeal(kind=kind, call_id=call_id), actor="li",
                             now=DAY)
        if agent_id is not None:
            session.get(Appeal, appeal.id).agent_id = agent_id
        return appeal.id
    return database.write_now(create)


def callback_task(database, appeal_id: int | None, *, agent_id: int | None = None,
                  number: int = 1) -> tuple[int, int]:
    """A survey task of the appeal with one attempt being dialled: (task id, attempt id)."""
    def create(session):
        task = CallbackTask(appeal_id=appeal_id, citizen_phone=CITIZEN,
                            origin=CallbackOrigin.RESOLUTION, mode=CallbackMode.AUTOMATED,
                            state=CallbackState.IN_CALL, window_start=DAY, due_by=DAY,
                            next_attempt_at=DAY, attempts=number, max_attempts=3,
                            assigned_agent_id=agent_id, created_at=DAY, updated_at=DAY)
        session.add(task)
        session.flush()
        attempt = CallbackAttempt(task_id=task.id, number=number, owner="test", started_at=DAY,
                                  agent_id=agent_id)
        session.add(attempt)
        session.flush()
        return task.id, attempt.id
    return database.write_now(create)


def appeal_kind(database, appeal_id: int) -> AppealKind:
    return database.read_now(lambda s: s.scalar(select(Appeal.kind)
                                                .where(Appeal.id == appeal_id)))
