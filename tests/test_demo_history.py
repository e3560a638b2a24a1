"""The demo's month of history (demo_history): written through the service's own steps, each
at a moment before `now`, nothing sent, the same month for the same seed."""

import datetime as dt
import shutil
from collections import Counter

from sqlalchemy import func, select

import demo_app
import demo_history
from hotline.agents_admin import add_agent
from hotline.config import DatabaseConfig, load_config
from hotline.db import Database, make_engine
from hotline.reference_data import load_units
from schemas.callbacks import CallbackOutcome, CallbackTask
from schemas.calls import CallRecord
from schemas.enums import AgentRole, WorkOrderStatus
from schemas.live import QueueCall
from schemas.models import Appeal, AuditEvent, WorkOrder
from schemas.sms import SmsMessage

NOW = dt.datetime(2026, 6, 17, 9, 30, tzinfo=dt.timezone.utc)  # a Wednesday, 17:30 in Shanghai


def seed_month(database, seed=demo_history.SEED):
    database.write_now(load_units, demo_app.ROOT / "config" / "units.example.toml")
    for username, name, role, password, interface, unit in demo_app.demo_accounts():
        database.write_now(add_agent, username=username, display_name=name,
                           role=AgentRole(role), password=password, unit_code=unit,
                           interface=interface, actor="test", now=NOW - dt.timedelta(days=60))
    officers = {unit: username for unit, username, _ in demo_app.DEMO_OFFICERS}
    return demo_history.seed_history(database, load_config(None), now=NOW, officers=officers,
                                     hall_actor="demo", supervisor="demo_sup", days=10,
                                     seed=seed)


def test_a_month_is_written_step_by_step_before_now_and_nothing_is_sent(database):
    summary = seed_month(database)

    def look(session):
        appeals = list(session.scalars(select(Appeal.created_at)))
        orders = Counter(o.status for o in session.scalars(select(WorkOrder)))
        latest_audit = session.scalar(select(func.max(AuditEvent.at)))
        outcomes = Counter(t.outcome for t in session.scalars(select(CallbackTask)))
        passages = Counter(q.outcome for q in session.scalars(select(QueueCall)))
        records = session.scalar(select(func.count()).select_from(CallRecord))
        sms = session.scalar(select(func.count()).select_from(SmsMessage))
        return appeals, orders, latest_audit, outcomes, passages, records, sms

    appeals, orders, latest_audit, outcomes, passages, records, sms = database.read_now(look)
    assert summary.appeals == len(appeals) > 40
    assert all(NOW - dt.timedelta(days=11) <= at < NOW for at in appeals)
    assert latest_audit < NOW  # no step is dated after the moment the month ends
    # The flow's every outcome is there: accepted replies (resolved appeals with their
    # callbacks, rated), orders still at the units, returns and withdrawals.
    assert orders[WorkOrderStatus.ACCEPTED] == summary.resolved > 15
    assert orders[WorkOrderStatus.DISPATCHED] + orders[WorkOrderStatus.SIGNED] \
        + orders[WorkOrderStatus.REPLIED] + orders[WorkOrderStatus.SENT_BACK] >= summary.at_units > 0
    assert orders[WorkOrderStatus.RETURNED] >= 1
    assert outcomes[CallbackOutcome.RATED] == summary.rated > 5
    assert set(passages) == {"completed", "abandoned"} and records == summary.queue_calls
    assert sms == 0  # the past sends nothing: no resolved SMS, no survey SMS


def test_the_same_seed_writes_the_same_month(database, sqlite_template, tmp_path):
    copy = tmp_path / "again.sqlite3"
    shutil.copyfile(sqlite_template, copy)
    again = Database(make_engine(DatabaseConfig(url=f"sqlite:///{copy}")), reactor=None,
                     threads=1)

    def walked(session):
        return [(a.kind, a.subject, a.status, a.created_at, a.unit_id)
                for a in session.scalars(select(Appeal).order_by(Appeal.id))]

    try:
        assert seed_month(database) == seed_month(again)
        assert database.read_now(walked) == again.read_now(walked)
    finally:
        again.engine.dispose()
